use callhooks::config_cache::NumberConfigCache;
use callhooks::ingest::spill::Spillway;
use callhooks::providers::twilio::signature::AuthToken;
use callhooks::providers::twilio::Hook;
use callhooks::route_table::Route;
use callhooks::routes::twilio::{handle, TwilioDeps};
use callhooks::routes::voxtelesys::VoxtelesysDeps;
use callhooks::runtime::{lambda_sdk_config, run_http, Settings};
use callhooks::store::Store;
use callhooks::time::Timestamp;
use lambda_http::{service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    // The route table's: a caller is listening on the voice routes.
    let deadline = Route::Twilio(Hook::Voice).entry().deadline;
    let config = lambda_sdk_config(deadline);
    let secret_variable = Route::Twilio(Hook::Voice).secret_variable();
    let deps = TwilioDeps {
        store: Store::new(aws_sdk_dynamodb::Client::new(&config), settings.table_name)
            .with_spillway(Spillway::from_env()),
        token: AuthToken::from_vars(secret_variable, |name| std::env::var(name).ok()),
        public_base: TwilioDeps::public_base_from_env()?,
        retention_days: settings.retention_days,
        deadline,
        config_cache: NumberConfigCache::from_env()?,
        // The call-control answers share Voxtelesys's default message and
        // fallback (the same number configuration section).
        default_message: VoxtelesysDeps::default_message_from_env(),
        fallback: VoxtelesysDeps::fallback_from_env()?,
    };
    run_http(service_fn(|req: Request| async {
        Ok::<_, Error>(handle(&deps, req, Timestamp::now()).await)
    }))
    .await
}
