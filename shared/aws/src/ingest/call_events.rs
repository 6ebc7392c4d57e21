//! Retell's call events through the pipeline: read by the Retell module,
//! joined to the inbound record of the same call (a read of our number's
//! timeline), then planned. The webhook and the spillway both come here, so
//! a spilled event is joined and stored exactly as it would have been.

use super::read::Unreadable;
use super::{Delivery, Identity};
use crate::event::{Channel, Direction, Provider};
use crate::providers::retell::events::{self, CallEvent, JoinCandidate, ParsedCallEvent};
use crate::store::plan::WritePlan;
use crate::store::{keys, Store, StoreError};
use crate::time::Timestamp;
use std::time::Duration;

/// How long an inbound call's event waits for its inbound record when it
/// is not there yet (the inbound write may still be in flight, and an
/// index is read a moment behind the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JoinPatience {
    /// More looks after the first.
    pub retries: u32,
    /// The wait before each.
    pub delay: Duration,
}

impl JoinPatience {
    /// The webhook: the inbound answer and the call's start are moments
    /// apart, so the record may be written while the event waits.
    pub const WEBHOOK: JoinPatience = JoinPatience {
        retries: 3,
        delay: Duration::from_millis(400),
    };
    /// The spillway: the event arrived long ago; what the table holds now
    /// is all it will hold.
    pub const NONE: JoinPatience = JoinPatience {
        retries: 0,
        delay: Duration::ZERO,
    };
}

/// A call event ready to write.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedCallEvent {
    pub plan: WritePlan,
    /// The event's name (`call_started`, ...).
    pub kind: String,
    /// It went into the partition of the inbound record of its call.
    pub joined: bool,
}

/// Why a call event has no plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEventError {
    /// Not a call event the module can read: kept raw, with the reason.
    Unreadable(Unreadable),
    /// The join's read failed: the delivery is spilled (or, from the
    /// spillway, retried) rather than split from its call.
    Storage(StoreError),
}

/// Reads a call-event delivery and plans what it writes.
pub async fn plan_call_event(
    store: &Store,
    delivery: &Delivery,
    retention_days: u32,
    patience: JoinPatience,
) -> Result<PlannedCallEvent, CallEventError> {
    let (body, received_at) = (delivery.body.as_slice(), delivery.received_at);
    // Retell sends no id of its own: the delivery is its bytes.
    let identity = Identity::of(delivery, None);
    let unreadable = |reason: String| CallEventError::Unreadable(Unreadable { reason });
    let raw = std::str::from_utf8(body)
        .map_err(|e| unreadable(format!("body is not UTF-8 text ({e})")))?;
    let parsed =
        events::parse_call_event(body).map_err(|e| CallEventError::Unreadable(e.into()))?;
    Ok(match parsed {
        ParsedCallEvent::Unattached { event, anomaly } => {
            // Once per delivery: Retell retries the same bytes, freshly signed.
            let stored = events::unattached_event(&event, &anomaly, raw, &identity, received_at);
            PlannedCallEvent {
                plan: events::unattached_plan(&stored, &identity, retention_days),
                kind: event,
                joined: false,
            }
        }
        ParsedCallEvent::Call(event) => {
            let record_id = join_record(store, &event, received_at, patience)
                .await
                .map_err(CallEventError::Storage)?;
            let joined = record_id != event.call_id;
            let stored = events::call_event(&event, &record_id, raw, received_at, &identity);
            PlannedCallEvent {
                plan: events::call_event_plan(&event, &stored, &identity, retention_days),
                kind: event.event.clone(),
                joined,
            }
        }
    })
}

/// The call id of the partition this event goes to: the inbound record it
/// joins, else Retell's own.
async fn join_record(
    store: &Store,
    event: &CallEvent,
    received_at: Timestamp,
    patience: JoinPatience,
) -> Result<String, StoreError> {
    // Our number: the callee of an inbound call, the caller of an outbound one.
    let ours = match event.direction {
        Some(Direction::Outbound) => event.from.as_ref(),
        _ => event.to.as_ref(),
    };
    let Some(ours) = ours else {
        return Ok(event.call_id.clone());
    };
    let reference = event.reference_time(received_at);
    // Only a call that began moments ago may still have its inbound
    // record in flight.
    let recent = received_at.as_millisecond() - reference.as_millisecond() < 30_000;
    let (lower, upper) = events::join_window(reference);
    let retell_calls = keys::conversation_pk(Channel::Call, Provider::Retell, "");
    let mut attempt = 0;
    loop {
        let items = store
            .timeline_to_number_between(ours, &lower, &upper)
            .await?;
        let candidates: Vec<JoinCandidate> = items
            .iter()
            .filter(|item| keys::pk_of(item).starts_with(&retell_calls))
            .filter_map(JoinCandidate::from_item)
            .collect();
        if let Some(found) = events::choose_record(&candidates, event, received_at) {
            return Ok(found.to_string());
        }
        if !event.wants_join() || !recent || attempt >= patience.retries {
            return Ok(event.call_id.clone());
        }
        attempt += 1;
        tokio::time::sleep(patience.delay).await;
    }
}
