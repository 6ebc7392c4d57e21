// The drain's future nests the pipeline's (read, keep, write): its layout
// is deeper than the compiler's default query depth of 128.
#![recursion_limit = "256"]

use aws_lambda_events::event::sqs::SqsEvent;
use callhooks::ingest::drain::{drain_batch, DeadLetters, DrainDeps, DEAD_LETTER_QUEUE_URL_ENV};
use callhooks::ingest::spill_key::{SpillKey, SIGNING_KEY_ENV};
use callhooks::runtime::{lambda_sdk_config, Deadline, Settings};
use callhooks::store::Store;
use callhooks::time::Timestamp;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env()?;
    // Nobody waits on the queue: the alerts function's patient deadline.
    let deadline = Deadline::ALERTS;
    let config = lambda_sdk_config(deadline);
    // Fail closed: without the key nothing could be verified, so the
    // messages wait on the queue until the function is configured.
    let key = SpillKey::from_env().ok_or(format!("{SIGNING_KEY_ENV} is not set"))?;
    let dead_letters = std::env::var(DEAD_LETTER_QUEUE_URL_ENV)
        .ok()
        .filter(|url| !url.is_empty())
        .map(|queue_url| DeadLetters {
            client: aws_sdk_sqs::Client::new(&config),
            queue_url,
        });
    let deps = DrainDeps {
        store: Store::new(aws_sdk_dynamodb::Client::new(&config), settings.table_name),
        retention_days: settings.retention_days,
        budget: deadline.total,
        key,
        dead_letters,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| async {
        Ok::<_, Error>(drain_batch(&deps, event.payload, Timestamp::now()).await)
    }))
    .await
}
