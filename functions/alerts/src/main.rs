use aws_lambda_events::event::dynamodb::Event;
use callhooks::alerts::delivery::Clock;
use callhooks::alerts::ledger::Ledger;
use callhooks::alerts::stream::{handle, AlertStreamDeps, SnsPublisher, SqsDeadLetters};
use callhooks::runtime::{lambda_sdk_config, Deadline, Settings};
use callhooks::store::Store;
use callhooks::time::Timestamp;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let topic_arn = std::env::var("ALERTS_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or("ALERTS_TOPIC_ARN is not set")?;
    // The ledger lives in the events table: no table, no alert goes out.
    let settings = Settings::from_env()?;
    let config = lambda_sdk_config(Deadline::ALERTS);
    let ledger = Ledger::new(
        Store::new(aws_sdk_dynamodb::Client::new(&config), &settings.table_name),
        settings.retention_days,
    );
    let labels = Store::new(
        aws_sdk_dynamodb::Client::new(&lambda_sdk_config(Deadline::BEST_EFFORT_READ)),
        &settings.table_name,
    );
    let dead_letters = match std::env::var("ALERTS_DEAD_LETTER_QUEUE_URL") {
        Ok(url) if !url.is_empty() => Some(SqsDeadLetters::new(config.clone(), url)),
        _ => {
            tracing::warn!(
                "ALERTS_DEAD_LETTER_QUEUE_URL is not set: failed alerts are kept in the ledger only"
            );
            None
        }
    };
    let deps = AlertStreamDeps {
        publisher: SnsPublisher {
            sns: aws_sdk_sns::Client::new(&config),
            topic_arn,
        },
        ledger,
        dead_letters,
        labels: Some(labels),
        clock: Clock::default(),
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let deadline = i64::try_from(event.context.deadline)
            .ok()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok());
        let deps = &deps;
        async move { Ok::<_, Error>(handle(deps, event.payload, deadline).await) }
    }))
    .await
}
