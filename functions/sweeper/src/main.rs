use callhooks::lifecycle::Waits;
use callhooks::runtime::{lambda_sdk_config, Deadline, Settings};
use callhooks::store::Store;
use callhooks::sweep::Sweeper;
use callhooks::time::Timestamp;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    let waits = Waits::from_lookup(|name| std::env::var(name).ok())?;
    // Nobody waits on a sweep: the alerts function's patient deadline for
    // each request.
    let config = lambda_sdk_config(Deadline::ALERTS);
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), settings.table_name);
    let sweeper = Sweeper::new(store, waits);
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        // A failed sweep fails the invocation (its Errors metric); what it
        // did not reach waits in the index for the next one.
        sweeper
            .sweep_and_log(Timestamp::now())
            .await
            .map_err(Error::from)
    }))
    .await
}
