//! The floor for `make bench`: the least any webhook that records its event
//! can do. It builds the same SDK client the functions build
//! (`callhooks::runtime::lambda_sdk_config`) and makes one PutItem per
//! event, keeping the body as the functions keep the raw payload; nothing
//! else: no credential check, no parsing, no duplicate check, no summary.

use aws_sdk_dynamodb::types::AttributeValue;
use callhooks::runtime::{lambda_sdk_config, Deadline};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = lambda_sdk_config(Deadline::FIVE_SECOND_PROVIDER);
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    let client = &client;
    let table = table.as_str();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let raw = event.payload["body"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        client
            .put_item()
            .table_name(table)
            .item(
                "PK",
                AttributeValue::S(format!("FLOOR#{}", event.context.request_id)),
            )
            .item("SK", AttributeValue::S("EVENT".into()))
            .item("raw", AttributeValue::S(raw))
            .send()
            .await?;
        Ok::<_, Error>(serde_json::json!({"statusCode": 200}))
    }))
    .await
}
