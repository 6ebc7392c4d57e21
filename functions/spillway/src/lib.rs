//! The spillway queue's consumer: each message back into the table through
//! the shared pipeline ([`callhooks::ingest::drain`]); a message that fails
//! is reported as a batch item failure, so SQS retries only it (and moves
//! it, whole, to the dead-letter queue after its receive limit).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use callhooks::ingest::drain::{drain, DrainDeps};
use callhooks::time::Timestamp;

pub type Deps = DrainDeps;

pub async fn handle(deps: &Deps, event: SqsEvent, now: Timestamp) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or("");
        if let Err(error) = drain(deps, body, now).await {
            tracing::error!(message_id = %id, %error, "spilled delivery not kept yet: left on the queue");
            response.add_failure(id);
        }
    }
    response
}
