//! The spillway function's work: one queue message at a time, back into the
//! table through the same reader and writer as the webhook, so a spilled
//! delivery is stored exactly as it would have been (its own arrival time
//! included), and once: a delivery the provider also retried meanwhile
//! meets its own event key or retry guard and writes nothing new.

use super::call_events::{plan_call_event, CallEventError, JoinPatience};
use super::delivery::Route;
use super::keep::{write, Outcome};
use super::read::read;
use super::spill::{assemble, parse_message, SpilledMessage};
use super::spill_key::SpillKey;
use crate::store::keys::{self, PK, SK, TTL};
use crate::store::plan::{n, s, GuardedPut, Item, WritePlan};
use crate::store::Store;
use crate::time::Timestamp;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use std::time::Duration;

/// How long the parts of a large delivery wait in the table for the rest:
/// the queue's own retention.
pub const PART_RETENTION_DAYS: u32 = 14;

/// What the spillway needs, built once per cold start.
pub struct DrainDeps {
    pub store: Store,
    pub retention_days: u32,
    /// For one delivery's writes; the queue retries a message that fails.
    pub budget: Duration,
    /// Every message must carry this key's MAC to be written.
    pub key: SpillKey,
    /// Where a message that fails the check goes, whole and unwritten.
    pub dead_letters: Option<DeadLetters>,
}

/// The spillway's dead-letter queue (`SPILLWAY_DEAD_LETTER_QUEUE_URL`).
#[derive(Clone, Debug)]
pub struct DeadLetters {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

/// The environment variable naming the spillway's dead-letter queue.
pub const DEAD_LETTER_QUEUE_URL_ENV: &str = "SPILLWAY_DEAD_LETTER_QUEUE_URL";

/// What became of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drained {
    /// The delivery is in the table (or was already).
    Kept(Outcome),
    /// One part of a large delivery, kept until the others arrive.
    PartKept,
    /// Its MAC did not verify: moved to the dead-letter queue, unwritten.
    Forged,
}

/// Why a spillway message was not taken into the table yet.
#[derive(Debug, thiserror::Error)]
pub enum DrainError {
    #[error(transparent)]
    Message(#[from] super::spill::MessageError),
    #[error(transparent)]
    Storage(#[from] crate::store::StoreError),
    #[error("a message failed its integrity check and there is no dead-letter queue")]
    NoDeadLetterQueue,
    #[error("the dead-letter queue did not take it: {0}")]
    DeadLetter(String),
}

/// Takes one spillway message into the table. An error leaves the message
/// on the queue, to be tried again (and, after the queue's receive limit,
/// moved to its dead-letter queue, whole).
pub async fn drain(deps: &DrainDeps, body: &str, now: Timestamp) -> Result<Drained, DrainError> {
    let message = parse_message(body)?;
    if !deps.key.verify(&message) {
        return set_aside(deps, body, &message).await;
    }
    let delivery = if message.parts == 1 {
        assemble(vec![message])?
    } else {
        match gather(deps, message, body, now).await? {
            Some(parts) => assemble(parts)?,
            None => return Ok(Drained::PartKept),
        }
    };
    let plan = match delivery.route {
        // A call event joins its call by a read of the table as it is now.
        Route::RetellEvents => match plan_call_event(
            &deps.store,
            &delivery,
            deps.retention_days,
            JoinPatience::NONE,
        )
        .await
        {
            Ok(planned) => Ok(planned.plan),
            Err(CallEventError::Unreadable(unreadable)) => Err(unreadable),
            Err(CallEventError::Storage(error)) => return Err(error.into()),
        },
        _ => read(&delivery, deps.retention_days).map(|recording| recording.plan),
    };
    let outcome = write(
        &deps.store,
        &delivery,
        plan.as_ref(),
        deps.retention_days,
        deps.budget,
    )
    .await?;
    tracing::info!(
        route = delivery.route.path(),
        outcome = outcome.as_str(),
        body_bytes = delivery.body.len(),
        "spilled delivery kept"
    );
    Ok(Drained::Kept(outcome))
}

/// A message whose MAC does not verify goes to the dead-letter queue as it
/// came; with no dead-letter queue it fails, and the queue's own redrive
/// moves it there after its receive limit. Never written to the table.
async fn set_aside(
    deps: &DrainDeps,
    body: &str,
    message: &SpilledMessage,
) -> Result<Drained, DrainError> {
    tracing::error!(
        route = %message.route,
        signed = message.mac.is_some(),
        "a spillway message failed its integrity check: not written, moved to the dead-letter queue"
    );
    let dead_letters = deps
        .dead_letters
        .as_ref()
        .ok_or(DrainError::NoDeadLetterQueue)?;
    dead_letters
        .client
        .send_message()
        .queue_url(&dead_letters.queue_url)
        .message_body(body)
        .send()
        .await
        .map_err(|e| {
            DrainError::DeadLetter(
                aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
            )
        })?;
    Ok(Drained::Forged)
}

use aws_sdk_dynamodb::types::AttributeValue as SdkValue;

/// How many parts of a spilled delivery are in the table (a strongly
/// consistent count, page by page).
async fn count_parts(store: &Store, pk: &str) -> Result<usize, crate::store::StoreError> {
    let mut count = 0;
    let mut start = None;
    loop {
        let output = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", SdkValue::S(pk.to_string()))
            .expression_attribute_values(":prefix", SdkValue::S(keys::parts_prefix("SPILL")))
            .select(aws_sdk_dynamodb::types::Select::Count)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(crate::store::store_error)?;
        count += output.count.max(0) as usize;
        match output.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(count),
        }
    }
}

/// Keeps one part in the table and returns every part once all are there.
/// Reads are strongly consistent, so of two parts written at once, the
/// later read sees both: the last part to arrive completes the delivery
/// (and if both see all, the second write is a duplicate).
async fn gather(
    deps: &DrainDeps,
    message: SpilledMessage,
    body: &str,
    now: Timestamp,
) -> Result<Option<Vec<SpilledMessage>>, DrainError> {
    let pk = keys::spilled_part_pk(&message.delivery_id);
    let mut item = Item::with_capacity(5);
    item.insert(PK.into(), s(&pk));
    item.insert(SK.into(), s(keys::part_sk("SPILL", message.part as usize)));
    item.insert(keys::ITEM_TYPE.into(), s("spilled_part"));
    item.insert("message".into(), s(body));
    item.insert(
        TTL.into(),
        n(crate::time::expires_at(now, PART_RETENTION_DAYS)),
    );
    let plan = WritePlan {
        puts: vec![GuardedPut {
            item,
            condition: None,
        }],
        updates: Vec::new(),
    };
    deps.store.write(&plan).await?;
    // Counted first: the parts (up to 40 of 200 KB) are read once, by the
    // message that completes them.
    if count_parts(&deps.store, &pk).await? < message.parts as usize {
        return Ok(None);
    }
    let stored = deps
        .store
        .query_prefix(&pk, &keys::parts_prefix("SPILL"))
        .await?;
    if stored.len() < message.parts as usize {
        return Ok(None);
    }
    stored
        .iter()
        .map(|item| match item.get("message") {
            Some(crate::attribute::AttributeValue::S(text)) => parse_message(text),
            _ => Err(super::spill::MessageError::StoredPartEmpty),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
        .map_err(DrainError::from)
}

/// The spillway function's batch: each message back into the table through
/// [`drain`]; a message that fails is reported as a batch item failure, so
/// SQS retries only it (and moves it, whole, to the dead-letter queue after
/// its receive limit).
pub async fn drain_batch(deps: &DrainDeps, event: SqsEvent, now: Timestamp) -> SqsBatchResponse {
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
