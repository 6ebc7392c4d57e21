//! From a read [`SalpreDelivery`] to the normalized event and its write plan.

use super::transcript::line_time_key;
use super::{
    parse_delivery, CallInfo, FinalTurn, Payload, SalpreDelivery, EARLIEST_TIMESTAMP_UTC,
    ERROR_WITHOUT_CALL_PREFIX, MAX_FUTURE_SKEW_S, TRANSCRIPT_POINTER, TRANSCRIPT_POINTER_ATTR,
};
use crate::event::{Channel, Event, Provider};
use crate::lifecycle;
use crate::providers::ReadError;
use crate::store::keys::{self, PK};
use crate::store::plan::{self, b, n, prefix_within, s, Item, WritePlan};
use crate::time::{self, Timestamp};
use sha2::{Digest, Sha256};

/// A delivery normalized, and what it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    pub event: Event,
    pub plan: WritePlan,
    /// The call it belongs to (`None`: stored under the provider's
    /// partition, no call id found).
    pub call: Option<CallInfo>,
}

/// The whole reading: the body's bytes and when it arrived, to the event
/// and its plan. `Err` only for a body that is no Salpre event at all.
pub fn read(body: &[u8], received_at: Timestamp, retention_days: u32) -> Result<Mapped, ReadError> {
    let delivery = parse_delivery(body)?;
    let raw = String::from_utf8_lossy(body);
    map_delivery(&delivery, &raw, received_at, retention_days)
}

/// Normalizes a delivery and builds its write plan. Never refuses: what it
/// cannot place is kept under the provider's partition.
pub fn map_delivery(
    delivery: &SalpreDelivery,
    raw: &str,
    received_at: Timestamp,
    retention_days: u32,
) -> Result<Mapped, ReadError> {
    let mut anomalies = delivery.anomalies.clone();
    let occurred_at = match delivery.occurred_at {
        Some(at) if at.as_second() < EARLIEST_TIMESTAMP_UTC => {
            anomalies.push(format!(
                "timestamp_utc: {} is before 2020; the received time stands in",
                at.as_second()
            ));
            None
        }
        Some(at) if at.as_second() > received_at.as_second() + MAX_FUTURE_SKEW_S => {
            anomalies.push(format!(
                "timestamp_utc: {} is more than a day in the future; the received time stands in",
                at.as_second()
            ));
            None
        }
        other => other,
    };
    // The received time differs on every retry: a guard keyed by the body
    // makes a retry collide all the same.
    let guard_by_body = occurred_at.is_none();
    let occurred_at = occurred_at.unwrap_or(received_at);

    let call = match (&delivery.call, &delivery.payload) {
        (Some(call), _) => Some(call.clone()),
        // A configuration error names no call: its own, so it is kept and
        // alerted on like any failed call, and a retry (same body) collides.
        (None, Payload::Error { .. }) => {
            anomalies.push("payload.call: missing; stored as an error without a call".into());
            Some(CallInfo {
                call_id: format!("{ERROR_WITHOUT_CALL_PREFIX}{}", short_hash(&[raw])),
                from: None,
                to: None,
                direction: None,
                source: None,
                from_text: None,
                to_text: None,
            })
        }
        (None, Payload::Unknown) => None,
        (None, _) => {
            anomalies.push(format!(
                "payload.call_id: missing; kept under {}",
                keys::unmatched_events_pk(Provider::Salpre)
            ));
            None
        }
    };
    let delivery_key = match &delivery.payload {
        Payload::Lifecycle(_) | Payload::CallEnded { .. } => "1".to_string(),
        Payload::Error { message } => short_hash(&[message.as_deref().unwrap_or("")]),
        Payload::Transcript {
            speaker,
            text,
            line_time,
        } => format!(
            "{}.{}",
            line_time_key(line_time.as_deref()),
            short_hash(&[
                speaker.as_deref().unwrap_or(""),
                text.as_deref().unwrap_or("")
            ])
        ),
        Payload::Unknown => short_hash(&[raw]),
    };
    let mut event = Event {
        provider: Provider::Salpre,
        channel: Channel::Call,
        // Salpre's "Test Webhook Integration" button sends fixed ids (call 1):
        // kept apart from a real call with the same id, which it would
        // otherwise mark tested, failed or ended.
        provider_id: match (&call, delivery.is_test) {
            (Some(c), true) => format!("test-{}", c.call_id),
            (Some(c), false) => c.call_id.clone(),
            (None, _) => String::new(),
        },
        direction: call.as_ref().and_then(|c| c.direction),
        from: call.as_ref().and_then(|c| c.from.clone()),
        to: call.as_ref().and_then(|c| c.to.clone()),
        caller_name: None,
        kind: delivery.event_type.clone(),
        occurred_at,
        received_at,
        is_test: delivery.is_test,
        delivery_key,
        raw: raw.to_string(),
        anomalies,
    };

    let mut plan = WritePlan::for_event(&event, retention_days);
    let Some(info) = &call else {
        // No call to attach it to: the event (and its raw parts) alone, in
        // the provider's own partition; no summary.
        let pk = keys::unmatched_events_pk(Provider::Salpre);
        for put in &mut plan.puts {
            put.item.insert(PK.into(), s(&pk));
        }
        event_item(&mut plan).insert(keys::ITEM_TYPE.into(), s("provider_event"));
        plan.updates.clear();
        finish(&mut plan, &mut event, guard_by_body, &pk, retention_days);
        return Ok(Mapped {
            event,
            plan,
            call: None,
        });
    };
    let item = event_item(&mut plan);
    for (name, value) in [("from_text", &info.from_text), ("to_text", &info.to_text)] {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    if let Some(source) = &info.source {
        event_item(&mut plan).insert("source".into(), s(source));
        plan.summary_mut().set_once("source", s(source));
    }
    let at = s(time::to_key(occurred_at));
    match &delivery.payload {
        Payload::Lifecycle(phase) => {
            plan.summary_mut().set_once(phase.attribute(), at);
        }
        Payload::CallEnded { turns, readable } => {
            let summary = plan.summary_mut();
            summary.set_once("ended_at", at.clone());
            let spoke = turns
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(FinalTurn::is_customer_speaking);
            // A transcript that cannot be judged marks nothing unanswered.
            if *readable && !spoke {
                summary.set_once("unanswered_at", at);
            }
            if let Some(turns) = turns {
                summary.set_once("final_transcript_turns", n(turns.len()));
                let item = event_item(&mut plan);
                item.insert(TRANSCRIPT_POINTER_ATTR.into(), s(TRANSCRIPT_POINTER));
                item.insert("transcript_turns".into(), n(turns.len()));
            }
        }
        Payload::Transcript {
            speaker,
            text,
            line_time,
        } => {
            let item = event_item(&mut plan);
            if let Some(speaker) = speaker {
                item.insert("speaker".into(), s(speaker));
            }
            if let Some(line_time) = line_time {
                item.insert("line_timestamp".into(), s(prefix_within(line_time, 256)));
            }
            if let Some(text) = text {
                // Over the attribute cap it is left to the raw body by
                // `bound` (named there).
                item.insert("text".into(), s(text));
            }
        }
        Payload::Error { message } => {
            plan.summary_mut().set_once("failed_at", at);
            if let Some(message) = message.as_deref() {
                plan.summary_mut().set_once("error_message", s(message));
                event_item(&mut plan).insert("error_message".into(), s(message));
            }
            if info.call_id.starts_with(ERROR_WITHOUT_CALL_PREFIX) && delivery.call.is_none() {
                plan.summary_mut().set_once("without_call", b(true));
            }
        }
        Payload::Unknown => {}
    }
    // Every event of a real call opens its lifecycle (or moves its wait on);
    // `call_ended` closes it. Test deliveries and errors without a call
    // have none.
    if !delivery.is_test && !info.call_id.starts_with(ERROR_WITHOUT_CALL_PREFIX) {
        let fact = match &delivery.payload {
            Payload::CallEnded { .. } => "call_ended",
            _ => "call_initiated",
        };
        lifecycle::note(
            plan.summary_mut(),
            &lifecycle::SALPRE_CALL,
            fact,
            received_at,
        );
    }
    let pk = keys::conversation_pk(Channel::Call, Provider::Salpre, &event.provider_id);
    finish(&mut plan, &mut event, guard_by_body, &pk, retention_days);
    Ok(Mapped {
        event,
        plan,
        call: Some(info.clone()),
    })
}

/// The last steps of every plan: the body guard when the time is ours, and
/// the bounds (what they cut is named on the event too).
fn finish(
    plan: &mut WritePlan,
    event: &mut Event,
    guard_by_body: bool,
    pk: &str,
    retention_days: u32,
) {
    if guard_by_body {
        plan.guard_delivery(
            pk,
            &["body", &short_hash(&[&event.raw])],
            event.received_at,
            retention_days,
        );
    }
    let cut = plan.bound();
    event.anomalies.extend(cut);
}

/// The event's own item in its plan (not a raw part, not a guard).
fn event_item(plan: &mut WritePlan) -> &mut Item {
    plan.puts
        .iter_mut()
        .map(|put| &mut put.item)
        .find(|item| plan::text(item, keys::ITEM_TYPE).is_some_and(|t| t.ends_with("_event")))
        .expect("WritePlan::for_event always has the event item")
}

/// 16 hex digits of SHA-256 over the parts (each length-prefixed, so
/// `("ab", "c")` and `("a", "bc")` differ): stable across deliveries.
pub(super) fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}
