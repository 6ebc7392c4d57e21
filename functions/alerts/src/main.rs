use alerts::{handle, Deps};
use aws_lambda_events::event::dynamodb::Event;
use callhooks::runtime::{lambda_sdk_config, Deadline};
use callhooks::store::Store;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let topic_arn = std::env::var("ALERTS_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty())
        .ok_or("ALERTS_TOPIC_ARN is not set")?;
    let sns = aws_sdk_sns::Client::new(&lambda_sdk_config(Deadline::ALERTS));
    let labels = match std::env::var("TABLE_NAME") {
        Ok(table) if !table.is_empty() => {
            let config = lambda_sdk_config(Deadline::BEST_EFFORT_READ);
            Some(Store::new(aws_sdk_dynamodb::Client::new(&config), table))
        }
        _ => {
            tracing::warn!("TABLE_NAME is not set: alerts go out without line labels");
            None
        }
    };
    let deps = Deps {
        sns,
        topic_arn,
        labels,
    };
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async {
        Ok::<_, Error>(handle(&deps, event.payload).await)
    }))
    .await
}
