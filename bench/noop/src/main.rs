//! A function that does nothing at all, for `make bench`: what the Lambda
//! runtime's own start-up and one round trip to the Runtime API cost.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(serde_json::json!({"statusCode": 200}))
    }))
    .await
}
