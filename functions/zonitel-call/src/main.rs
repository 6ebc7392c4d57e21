use callhooks::runtime::{run_http, Deadline};
use callhooks::time::Timestamp;
use lambda_http::{service_fn, Error, Request};
use zonitel_call::{handle, Deps};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = Deps::from_env("ZONITEL_WEBHOOK_TOKEN", Deadline::FIVE_SECOND_PROVIDER).await?;
    run_http(service_fn(|req: Request| async {
        Ok::<_, Error>(handle(&deps, req, Timestamp::now()).await)
    }))
    .await
}
