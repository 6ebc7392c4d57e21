//! The floor for `make bench`: the least any webhook that records its event
//! can do. It builds the same SDK client the functions build (the default
//! credential and region chain) and makes one PutItem per event, nothing else.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = std::env::var("TABLE_NAME")?;
    let client = &client;
    let table = table.as_str();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        client
            .put_item()
            .table_name(table)
            .item(
                "PK",
                AttributeValue::S(format!("FLOOR#{}", event.context.request_id)),
            )
            .item("SK", AttributeValue::S("EVENT".into()))
            .send()
            .await?;
        Ok::<_, Error>(serde_json::json!({"statusCode": 200}))
    }))
    .await
}
