use callhooks::config_cache::NumberConfigCache;
use callhooks::ingest::spill::Spillway;
use callhooks::route_table::Route;
use callhooks::routes::retell::{handle_with, Options, RetellDeps};
use callhooks::runtime::{dynamodb_with_deadline, lambda_sdk_config, run_http, Settings};
use callhooks::signature::SigningKey;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use lambda_http::{service_fn, Error, Request};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    let spillway = Spillway::from_env();
    // The route table's deadlines: a caller waits on the inbound answer.
    let deadline = Route::RetellInbound.entry().deadline;
    let events_deadline = Route::RetellEvents.entry().deadline;
    let inbound = aws_sdk_dynamodb::Client::new(&lambda_sdk_config(deadline));
    let events = dynamodb_with_deadline(&inbound, events_deadline);
    let store =
        |client| Store::new(client, settings.table_name.clone()).with_spillway(spillway.clone());
    let deps = RetellDeps {
        store: store(inbound),
        events_store: store(events),
        key: SigningKey::from_env("RETELL_API_KEY"),
        retention_days: settings.retention_days,
        deadline,
        events_deadline,
        config_cache: NumberConfigCache::from_env()?,
    };
    let options = Options::from_env();
    run_http(service_fn(|req: Request| async {
        Ok::<_, Error>(handle_with(&deps, &options, req, Timestamp::now()).await)
    }))
    .await
}
