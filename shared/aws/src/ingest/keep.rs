//! Keeping a delivery: write what it writes within the budget; when
//! DynamoDB refuses the item itself (too large, invalid), keep it as an
//! unrecognized delivery instead of retrying into the same wall; when the
//! table cannot be reached in time, spill it to the queue. Only when the
//! queue fails too is the delivery not kept, and the webhook answers 503.

use super::decode::{BodyDecoding, DECODED_FROM_ATTRIBUTE};
use super::delivery::Delivery;
use super::read::Unreadable;
use super::unrecognized;
use crate::store::plan::{s, WritePlan};
use crate::store::{Store, StoreError, WriteOutcome};
use std::borrow::Cow;
use std::time::Duration;

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written as its normalized event.
    Recorded,
    /// Written before (a retry): nothing new.
    Duplicate,
    /// Written as an unrecognized delivery (raw, with the reason).
    Unrecognized,
    /// In the spillway queue; the spillway function writes it later.
    Spilled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Recorded => "recorded",
            Outcome::Duplicate => "duplicate",
            Outcome::Unrecognized => "unrecognized",
            Outcome::Spilled => "spilled",
        }
    }
}

/// Neither the table nor the spillway kept the delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotKept(pub String);

/// Writes a read delivery (or, when it could not be read, its unrecognized
/// record) within `budget`; a refusal of the item itself is reduced to the
/// unrecognized record and written in the time left. An error means the
/// table could not be reached in time: the caller spills or retries.
pub async fn write(
    store: &Store,
    delivery: &Delivery,
    read: Result<&WritePlan, &Unreadable>,
    retention_days: u32,
    budget: Duration,
) -> Result<Outcome, StoreError> {
    let started = tokio::time::Instant::now();
    // A body the edge could not decode is kept as it came, with the reason.
    let undecodable;
    let read = match delivery.decoding.unreadable_reason() {
        Some(reason) => {
            undecodable = Unreadable {
                reason: reason.to_string(),
            };
            Err(&undecodable)
        }
        None => read,
    };
    let plan = match read {
        Ok(plan) => plan,
        Err(unreadable) => {
            let plan = unrecognized::plan(delivery, &unreadable.reason, retention_days);
            return write_within(store, &plan, budget)
                .await
                .map(|o| recognized_as(o, Outcome::Unrecognized));
        }
    };
    let plan = name_decoding(delivery, plan);
    match write_within(store, &plan, budget).await {
        Ok(outcome) => Ok(recognized_as(outcome, Outcome::Recorded)),
        Err(error) if error.is_refusal() => {
            tracing::warn!(%error, "DynamoDB refused the event: kept as an unrecognized delivery");
            let reason = format!("DynamoDB refused the event ({error})");
            let reduced = unrecognized::plan(delivery, &reason, retention_days);
            let left = budget.saturating_sub(started.elapsed());
            write_within(store, &reduced, left.max(MIN_REDUCED_BUDGET))
                .await
                .map(|o| recognized_as(o, Outcome::Unrecognized))
        }
        Err(error) => Err(error),
    }
}

/// The plan with the decoding named beside the raw body it stores (on the
/// item that holds `raw` or its `raw_parts`), when the edge decoded the
/// body: the stored raw body is then the decoded text.
pub fn name_decoding<'p>(delivery: &Delivery, plan: &'p WritePlan) -> Cow<'p, WritePlan> {
    let BodyDecoding::Decoded { from } = &delivery.decoding else {
        return Cow::Borrowed(plan);
    };
    let mut named = plan.clone();
    for put in &mut named.puts {
        let holds_raw = ["raw", "raw_parts"]
            .iter()
            .any(|name| put.item.contains_key(*name));
        let is_part = put.item.get(crate::store::keys::SK).is_some_and(|sk| {
            sk.as_s()
                .is_ok_and(|sk| crate::store::transaction::is_part_sk(sk))
        });
        if holds_raw && !is_part {
            put.item.insert(DECODED_FROM_ATTRIBUTE.into(), s(from));
        }
    }
    Cow::Owned(named)
}

/// The reduced record gets at least this long, even when the refusal came
/// late: it is one small item.
const MIN_REDUCED_BUDGET: Duration = Duration::from_millis(300);

/// [`write`], and when the table could not take the delivery, the spillway.
pub async fn keep(
    store: &Store,
    delivery: &Delivery,
    read: Result<&WritePlan, &Unreadable>,
    retention_days: u32,
    budget: Duration,
) -> Result<Outcome, NotKept> {
    let table_error = match write(store, delivery, read, retention_days, budget).await {
        Ok(outcome) => return Ok(outcome),
        Err(error) => error,
    };
    spill(store, delivery, &table_error.to_string()).await
}

/// Sends a delivery the table could not take to the spillway queue.
pub async fn spill(
    store: &Store,
    delivery: &Delivery,
    table_error: &str,
) -> Result<Outcome, NotKept> {
    let Some(spillway) = store.spillway() else {
        tracing::error!(error = %table_error, "delivery not kept: no spillway");
        return Err(NotKept(table_error.to_string()));
    };
    match tokio::time::timeout(spillway.deadline().total, spillway.send(delivery)).await {
        Ok(Ok(messages)) => {
            tracing::warn!(error = %table_error, messages, "table unavailable: delivery spilled");
            // Counted here, whatever the route answers (Retell's inbound
            // answer, for one, is decided without it).
            crate::metrics::note(Outcome::Spilled.into());
            Ok(Outcome::Spilled)
        }
        Ok(Err(spill_error)) => {
            tracing::error!(error = %table_error, %spill_error, "delivery not kept: table and spillway failed");
            Err(NotKept(format!("{table_error}; spillway: {spill_error}")))
        }
        Err(_) => {
            tracing::error!(error = %table_error, "delivery not kept: table failed and spillway deadline passed");
            Err(NotKept(format!("{table_error}; spillway: deadline passed")))
        }
    }
}

fn recognized_as(outcome: WriteOutcome, written: Outcome) -> Outcome {
    match outcome {
        WriteOutcome::Recorded => written,
        WriteOutcome::Duplicate => Outcome::Duplicate,
    }
}

async fn write_within(
    store: &Store,
    plan: &WritePlan,
    budget: Duration,
) -> Result<WriteOutcome, StoreError> {
    match tokio::time::timeout(budget, store.write(plan)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError(format!(
            "storage deadline of {} ms passed",
            budget.as_millis()
        ))),
    }
}

/// The metrics line counts each delivery by what became of it.
impl From<Outcome> for crate::metrics::RequestOutcome {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Recorded => crate::metrics::RequestOutcome::Recorded,
            Outcome::Duplicate => crate::metrics::RequestOutcome::Duplicate,
            Outcome::Unrecognized => crate::metrics::RequestOutcome::Unrecognized,
            Outcome::Spilled => crate::metrics::RequestOutcome::Spilled,
        }
    }
}
