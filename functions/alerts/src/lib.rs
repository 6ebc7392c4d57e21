//! The table's DynamoDB stream to SNS: each record the rules of
//! [`callhooks::alerts`] turn into an alert is published to the topic once.
//!
//! Records are handled in stream order. Lambda retries a partly failed batch
//! from the first reported failure, records after it included, so handling
//! stops at the first failure: a record published now and delivered again
//! in the retry would alert twice.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;
use callhooks::alerts::{alert_for_record, Alert};
use callhooks::phone::{redact, PhoneNumber};
use callhooks::store::Store;

pub struct Deps {
    pub sns: aws_sdk_sns::Client,
    pub topic_arn: String,
    /// Where our numbers' labels are read, with a short deadline; `None`
    /// leaves labels out. A failed read never holds an alert back.
    pub labels: Option<Store>,
}

/// Why a record failed; it is reported as a batch item failure.
#[derive(Debug)]
pub enum RecordFailure {
    /// The rules cannot read it: retried a bounded number of times, then
    /// the event source mapping hands it to the dead-letter queue.
    Malformed(String),
    /// SNS did not take the message: Lambda retries the record.
    Publish(String),
}

/// Handles one batch; the response names the first record that failed.
pub async fn handle(deps: &Deps, event: Event) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for record in &event.records {
        let Err(failure) = handle_record(deps, record).await else {
            continue;
        };
        let sequence_number = record.change.sequence_number.clone();
        match &failure {
            RecordFailure::Malformed(reason) => tracing::error!(
                event_id = %record.event_id,
                sequence_number = sequence_number.as_deref().unwrap_or(""),
                "{reason}; reporting it failed so it ends in the dead-letter queue"
            ),
            RecordFailure::Publish(reason) => tracing::warn!(
                event_id = %record.event_id,
                sequence_number = sequence_number.as_deref().unwrap_or(""),
                "publish failed, Lambda will retry: {reason}"
            ),
        }
        let mut item = DynamoDbBatchItemFailure::default();
        item.item_identifier = sequence_number;
        response.batch_item_failures.push(item);
        break;
    }
    response
}

/// The alert of one record, published; `Ok(None)` when it raises none.
pub async fn handle_record(
    deps: &Deps,
    record: &EventRecord,
) -> Result<Option<Alert>, RecordFailure> {
    let Some(mut alert) = alert_for_record(
        &record.event_name,
        &record.change.old_image,
        &record.change.new_image,
    )
    .map_err(|e| RecordFailure::Malformed(e.to_string()))?
    else {
        return Ok(None);
    };
    alert.line_label = line_label(deps, &alert).await;
    publish(deps, &alert).await?;
    callhooks::metrics::emit_alert(alert.alert_type.as_str(), &alert.provider);
    tracing::info!(
        alert_type = %alert.alert_type,
        provider = %alert.provider,
        id = %loggable_id(&alert),
        "alert published"
    );
    Ok(Some(alert))
}

/// The alert's call or message id with any number it embeds masked
/// (Zonitel and Retell call ids end with the caller's digits).
fn loggable_id(alert: &Alert) -> String {
    let id = alert
        .call_id
        .as_deref()
        .or(alert.message_id.as_deref())
        .unwrap_or("");
    let from = alert
        .from
        .as_deref()
        .and_then(|n| PhoneNumber::parse(n).ok());
    let to = alert.to.as_deref().and_then(|n| PhoneNumber::parse(n).ok());
    redact(id, &[from.as_ref(), to.as_ref()])
}

/// The configured label of our number in the conversation, if it can be
/// read quickly; anything else (no document, no label, an error) is none.
async fn line_label(deps: &Deps, alert: &Alert) -> Option<String> {
    let store = deps.labels.as_ref()?;
    let number = PhoneNumber::parse(alert.our_number()?).ok()?;
    match store.number_config(&number).await {
        Ok(config) => config?.label.filter(|l| !l.trim().is_empty()),
        Err(error) => {
            tracing::warn!(
                "label of {} not read, alerting without it: {error}",
                number.masked()
            );
            None
        }
    }
}

pub async fn publish(deps: &Deps, alert: &Alert) -> Result<(), RecordFailure> {
    let mut request = deps
        .sns
        .publish()
        .topic_arn(&deps.topic_arn)
        .subject(alert.subject())
        .message(alert.message_body());
    for (name, value) in alert.message_attributes() {
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| RecordFailure::Publish(e.to_string()))?;
        request = request.message_attributes(name, attribute);
    }
    request.send().await.map(|_| ()).map_err(|error| {
        RecordFailure::Publish(match error.as_service_error() {
            Some(service) => format!(
                "{}: {}",
                service.code().unwrap_or("unknown"),
                service.message().unwrap_or("")
            ),
            None => aws_sdk_sns::error::DisplayErrorContext(&error).to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_is_lambdas_dynamodb_event_and_alerts() {
        let event: Event =
            serde_json::from_str(include_str!("../../../events/alerts-missed-call.json")).unwrap();
        let record = &event.records[0];
        assert_eq!(
            record.change.sequence_number.as_deref(),
            Some("111000000000000000002")
        );
        let alert = alert_for_record(
            &record.event_name,
            &record.change.old_image,
            &record.change.new_image,
        )
        .unwrap()
        .unwrap();
        assert_eq!(alert.call_id.as_deref(), Some("sal-1001"));
    }
}
