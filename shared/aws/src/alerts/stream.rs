//! The table's DynamoDB stream to SNS: each record the rules of
//! [`crate::alerts`] turn into an alert is published to the topic once,
//! through the alert ledger ([`super::delivery`]).
//!
//! Records are handled in stream order. Lambda retries a partly failed batch
//! from the first reported failure, records after it included, so handling
//! stops at the first failure. A record is handled when its alert was
//! published (now or before) or is kept as failed (in the ledger and the
//! dead-letter queue), and when a record the rules cannot read is in the
//! dead-letter queue whole. Only what can still change is retried: a
//! publish with attempts left, a ledger or queue that did not answer.

use super::delivery::{AlertDispatch, Clock, DeadLetters, Delivered, NotYet, Publisher, SendError};
use super::ledger::Ledger;
use super::outgoing::Outgoing;
use super::{alert_for_record, Alert};
use crate::phone::{redact, PhoneNumber};
use crate::store::Store;
use crate::time::Timestamp;
use aws_config::SdkConfig;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;
use std::sync::OnceLock;

/// Publishes to the alerts topic.
pub struct SnsPublisher {
    pub sns: aws_sdk_sns::Client,
    pub topic_arn: String,
}

impl Publisher for SnsPublisher {
    async fn publish(&self, message: &Outgoing) -> Result<String, SendError> {
        let mut request = self
            .sns
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&message.subject)
            .message(&message.body);
        for (name, value) in message.attributes() {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| SendError::Unanswered(e.to_string()))?;
            request = request.message_attributes(name, attribute);
        }
        match request.send().await {
            Ok(output) => Ok(output.message_id.unwrap_or_default()),
            Err(error) => Err(match error.as_service_error() {
                Some(service) => refused(service),
                None => SendError::Unanswered(
                    aws_sdk_sns::error::DisplayErrorContext(&error).to_string(),
                ),
            }),
        }
    }
}

/// The dead-letter queue. Its client is built on the first copy sent: a
/// function that never fails to publish never pays for it.
pub struct SqsDeadLetters {
    config: SdkConfig,
    queue_url: String,
    client: OnceLock<aws_sdk_sqs::Client>,
}

impl SqsDeadLetters {
    pub fn new(config: SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsDeadLetters {
            config,
            queue_url: queue_url.into(),
            client: OnceLock::new(),
        }
    }
}

impl DeadLetters for SqsDeadLetters {
    async fn send(&self, body: String) -> Result<(), SendError> {
        let client = self
            .client
            .get_or_init(|| aws_sdk_sqs::Client::new(&self.config));
        client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| match error.as_service_error() {
                Some(service) => refused(service),
                None => SendError::Unanswered(
                    aws_sdk_sqs::error::DisplayErrorContext(&error).to_string(),
                ),
            })
    }
}

/// A service's own error, by its code and message.
fn refused(service: &impl ProvideErrorMetadata) -> SendError {
    SendError::Refused {
        code: service.code().unwrap_or("unknown").to_string(),
        message: service.message().unwrap_or("").to_string(),
    }
}

/// What the stream handler needs: where alerts go, the ledger that makes
/// each go once, and where labels are read.
pub struct AlertStreamDeps<P = SnsPublisher, D = SqsDeadLetters> {
    pub publisher: P,
    pub ledger: Ledger,
    /// `None` keeps failed alerts in the ledger only (and leaves records
    /// the rules cannot read to the event source mapping's retries).
    pub dead_letters: Option<D>,
    /// Where our numbers' labels are read, with a short deadline; `None`
    /// leaves labels out. A failed read never holds an alert back.
    pub labels: Option<Store>,
    pub clock: Clock,
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    /// It raises no alert.
    NoAlert,
    Alert(Delivered),
    /// The rules cannot read it: the whole record is in the dead-letter
    /// queue (it is in the table too, until its TTL).
    Unreadable(String),
}

/// Handles one batch; the response names the first record that must be
/// tried again. `deadline`: when this invocation times out.
pub async fn handle<P: Publisher, D: DeadLetters>(
    deps: &AlertStreamDeps<P, D>,
    event: Event,
    deadline: Option<Timestamp>,
) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut handled = event.records.len();
    for (index, record) in event.records.iter().enumerate() {
        let Err(NotYet(reason)) = handle_record(deps, record, deadline).await else {
            continue;
        };
        handled = index;
        let sequence_number = record.change.sequence_number.clone();
        tracing::warn!(
            event_id = %record.event_id,
            sequence_number = sequence_number.as_deref().unwrap_or(""),
            "record not handled yet, Lambda will retry it: {reason}"
        );
        let mut item = DynamoDbBatchItemFailure::default();
        item.item_identifier = sequence_number;
        response.batch_item_failures.push(item);
        break;
    }
    // The overview's counters, from the records Lambda will not hand over
    // again (those before the first failure): a retry counts the rest.
    if let Err(error) = count_daily(deps, &event.records[..handled]).await {
        tracing::warn!("daily counters not written, the batch will be retried: {error}");
        if let Some(first) = event.records.first() {
            let mut item = DynamoDbBatchItemFailure::default();
            item.item_identifier = first.change.sequence_number.clone();
            response.batch_item_failures = vec![item];
        }
    }
    response
}

/// The per-day counters of `records` (see `crate::daily_counts`), one
/// `ADD` per counter item, in the ledger's table. The batch is named by its
/// first and last sequence numbers, so the same records handed over again
/// after a crash are not counted twice by an item that took them.
pub async fn count_daily<P, D>(
    deps: &AlertStreamDeps<P, D>,
    records: &[EventRecord],
) -> Result<usize, crate::store::StoreError> {
    let counts = crate::daily_counts::aggregate(records.iter().filter_map(|record| {
        crate::daily_counts::increments_for_record(
            &record.event_name,
            &record.change.old_image,
            &record.change.new_image,
        )
    }));
    if counts.is_empty() {
        return Ok(0);
    }
    let sequence = |record: Option<&EventRecord>| {
        record
            .and_then(|r| r.change.sequence_number.clone())
            .unwrap_or_default()
    };
    let batch = format!(
        "{}..{}",
        sequence(records.first()),
        sequence(records.last())
    );
    deps.ledger.store().add_daily_counts(&batch, &counts).await
}

/// The alert of one record, published through the ledger.
pub async fn handle_record<P: Publisher, D: DeadLetters>(
    deps: &AlertStreamDeps<P, D>,
    record: &EventRecord,
    deadline: Option<Timestamp>,
) -> Result<Handled, NotYet> {
    let decided = alert_for_record(
        &record.event_name,
        &record.change.old_image,
        &record.change.new_image,
    );
    let mut alert = match decided {
        Ok(Some(alert)) => alert,
        Ok(None) => return Ok(Handled::NoAlert),
        Err(malformed) => return unreadable(deps, record, &malformed.to_string()).await,
    };
    alert.line_label = line_label(deps, &alert).await;
    let dispatch = AlertDispatch {
        ledger: &deps.ledger,
        publisher: &deps.publisher,
        dead_letters: deps.dead_letters.as_ref(),
        clock: deps.clock,
        deadline,
    };
    let delivered = dispatch.deliver(&alert).await?;
    let id = loggable_id(&alert);
    match &delivered {
        Delivered::Published {
            alert_id,
            sns_message_id,
            attempt,
            cut_bytes,
        } => {
            crate::metrics::emit_alert(alert.alert_type.as_str(), &alert.provider);
            tracing::info!(
            alert_id = %alert_id,
            alert_type = %alert.alert_type,
            provider = %alert.provider,
            id = %id,
            sns_message_id = %sns_message_id,
            attempt,
            cut_bytes,
            "alert published"
            )
        }
        Delivered::AlreadyPublished { alert_id, .. } => tracing::info!(
            alert_id = %alert_id,
            id = %id,
            "alert already published: nothing sent"
        ),
        Delivered::KeptFailed {
            alert_id,
            attempts,
            error,
            dead_lettered,
        } => tracing::error!(
            alert_id = %alert_id,
            alert_type = %alert.alert_type,
            provider = %alert.provider,
            id = %id,
            attempts,
            dead_lettered,
            "alert failed, kept for `callhooks alerts replay`: {error}"
        ),
    }
    Ok(Handled::Alert(delivered))
}

/// Largest dead-letter copy SQS takes (1 MiB), less room for its envelope.
const MAX_DEAD_LETTER_BYTES: usize = 1_000_000;

/// The dead-letter copy of a record the rules cannot read: the record as
/// Lambda delivered it (images included: the old one, then the new one,
/// dropped if SQS could not take them).
pub fn unreadable_body(record: &EventRecord, reason: &str) -> String {
    let mut record = record.clone();
    let body = |record: &EventRecord| {
        serde_json::json!({
            "kind": "unreadable_stream_record",
            "reason": reason,
            "record": record,
        })
        .to_string()
    };
    let mut text = body(&record);
    if text.len() > MAX_DEAD_LETTER_BYTES {
        record.change.old_image.clear();
        text = body(&record);
    }
    if text.len() > MAX_DEAD_LETTER_BYTES {
        record.change.new_image.clear();
        text = body(&record);
    }
    text
}

async fn unreadable<P, D: DeadLetters>(
    deps: &AlertStreamDeps<P, D>,
    record: &EventRecord,
    reason: &str,
) -> Result<Handled, NotYet> {
    let Some(queue) = &deps.dead_letters else {
        return Err(NotYet(format!(
            "{reason} (no dead-letter queue to keep it)"
        )));
    };
    queue
        .send(unreadable_body(record, reason))
        .await
        .map_err(|e| NotYet(format!("{reason}; dead-letter queue: {e}")))?;
    tracing::error!(
        event_id = %record.event_id,
        "{reason}: the whole record is in the dead-letter queue"
    );
    Ok(Handled::Unreadable(reason.to_string()))
}

/// The alert's call or message id with any number it embeds masked
/// (Zonitel and Retell call ids end with the caller's digits).
fn loggable_id(alert: &Alert) -> String {
    let id = alert
        .call_id
        .as_deref()
        .or(alert.message_id.as_deref())
        .unwrap_or("");
    // Read as providers send numbers (short codes, no `+`): masked all the same.
    let from = alert.from.as_deref().and_then(PhoneNumber::read);
    let to = alert.to.as_deref().and_then(PhoneNumber::read);
    redact(id, &[from.as_ref(), to.as_ref()])
}

/// The configured label of our number in the conversation, if it can be
/// read quickly; anything else (no document, no label, an error) is none.
async fn line_label<P, D>(deps: &AlertStreamDeps<P, D>, alert: &Alert) -> Option<String> {
    let store = deps.labels.as_ref()?;
    let number = PhoneNumber::read(alert.our_number()?)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_event_is_lambdas_dynamodb_event_and_alerts() {
        let event: Event =
            serde_json::from_str(include_str!("../../../../events/alerts-missed-call.json"))
                .unwrap();
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

    #[test]
    fn an_unreadable_record_is_copied_whole_or_as_much_as_sqs_takes() {
        let event: Event =
            serde_json::from_str(include_str!("../../../../events/alerts-missed-call.json"))
                .unwrap();
        let mut record = event.records[0].clone();
        let copy: serde_json::Value =
            serde_json::from_str(&unreadable_body(&record, "why")).unwrap();
        assert_eq!(copy["kind"], "unreadable_stream_record");
        assert_eq!(copy["reason"], "why");
        assert_eq!(
            copy["record"]["dynamodb"]["SequenceNumber"],
            "111000000000000000002"
        );
        assert_eq!(
            copy["record"]["dynamodb"]["NewImage"]["call_id"]["S"],
            "sal-1001"
        );
        record.change.old_image.insert(
            "huge".into(),
            serde_dynamo::AttributeValue::S("x".repeat(MAX_DEAD_LETTER_BYTES)),
        );
        let body = unreadable_body(&record, "why");
        assert!(body.len() <= MAX_DEAD_LETTER_BYTES);
        let copy: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            copy["record"]["dynamodb"]["NewImage"]["call_id"]["S"], "sal-1001",
            "the new image stays when dropping the old is enough"
        );
    }
}
