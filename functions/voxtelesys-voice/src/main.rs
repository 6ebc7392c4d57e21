use callhooks::auth::SharedSecret;
use callhooks::config_cache::NumberConfigCache;
use callhooks::ingest::spill::Spillway;
use callhooks::providers::voxtelesys::Hook;
use callhooks::route_table::Route;
use callhooks::routes::voxtelesys::{handle, VoxtelesysDeps};
use callhooks::runtime::{lambda_sdk_config, run_http, Settings};
use callhooks::store::Store;
use callhooks::time::Timestamp;
use lambda_http::{service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    // The route table's: a caller is listening.
    let deadline = Route::Voxtelesys(Hook::Voice).entry().deadline;
    let config = lambda_sdk_config(deadline);
    let deps = VoxtelesysDeps {
        store: Store::new(aws_sdk_dynamodb::Client::new(&config), settings.table_name)
            .with_spillway(Spillway::from_env()),
        secret: SharedSecret::from_env("VOXTELESYS_WEBHOOK_TOKEN"),
        retention_days: settings.retention_days,
        deadline,
        config_cache: NumberConfigCache::from_env()?,
        default_message: VoxtelesysDeps::default_message_from_env(),
        fallback: VoxtelesysDeps::fallback_from_env()?,
    };
    run_http(service_fn(|req: Request| async {
        Ok::<_, Error>(handle(&deps, req, Timestamp::now()).await)
    }))
    .await
}
