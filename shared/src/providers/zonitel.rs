//! Zonitel: the incoming-call webhook (seed 000).
//!
//! Zonitel posts `{caller_id_name, caller_id_number, destination_number}`
//! for every incoming call and wants a 200 within 5 s. The payload carries
//! no call id and no time, so:
//!
//! * the call id is derived from the moment the first delivery arrived and
//!   the caller's number (`20261123T155122123Z-14155552671`);
//! * a delivery with the same caller number, caller name and destination as
//!   one accepted less than [`RETRY_WINDOW`] earlier is a retry of it and is
//!   not recorded again; after the window it is a new call. Zonitel retries
//!   a delivery that got no 200 within its 5 s, so its retries arrive well
//!   inside the window, while a caller who hangs up and dials again needs
//!   longer than that. The guard is one conditional put in the same
//!   transaction as the event, never a read.

use crate::event::{Channel, Direction, Event, Provider};
use crate::http::{parse_json, ApiError};
use crate::phone::PhoneNumber;
use crate::store::keys;
use crate::store::plan::{self, s, GuardedPut, WritePlan};
use crate::time::{self, Timestamp};
use serde::Deserialize;

/// Deliveries of the same call within this long of the first are retries.
pub const RETRY_WINDOW_MS: i64 = 30_000;
/// For documentation and tests: [`RETRY_WINDOW_MS`] as a duration.
pub const RETRY_WINDOW: std::time::Duration =
    std::time::Duration::from_millis(RETRY_WINDOW_MS as u64);

/// Caller-ID names are 15 characters in North America and rarely over 50
/// anywhere; anything beyond this is not a caller name.
pub const MAX_CALLER_NAME_CHARS: usize = 256;

/// The incoming-call payload as Zonitel documents it. Fields Zonitel may add
/// later are ignored, not refused.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct IncomingCall {
    /// The caller's name if available: missing, null, empty or any Unicode.
    #[serde(default)]
    pub caller_id_name: Option<String>,
    pub caller_id_number: String,
    pub destination_number: String,
}

/// Parses and validates the body; every error names its field.
pub fn parse_incoming_call(body: &[u8]) -> Result<IncomingCall, ApiError> {
    parse_json(body)
}

/// The normalized event of one incoming-call delivery.
pub fn incoming_call_event(
    call: &IncomingCall,
    raw: &str,
    received_at: Timestamp,
) -> Result<Event, ApiError> {
    let from = PhoneNumber::parse_caller_id(&call.caller_id_number)
        .map_err(|e| ApiError::invalid_field("caller_id_number", e))?;
    let to = PhoneNumber::parse(&call.destination_number)
        .map_err(|e| ApiError::invalid_field("destination_number", e))?;
    let caller_name = match call.caller_id_name.as_deref().map(str::trim) {
        Some(name) if name.chars().count() > MAX_CALLER_NAME_CHARS => {
            return Err(ApiError::invalid_field(
                "caller_id_name",
                format!("is longer than {MAX_CALLER_NAME_CHARS} characters"),
            ))
        }
        Some(name) if !name.is_empty() => Some(name.to_string()),
        _ => None,
    };
    let caller = from.as_ref().map_or("anonymous", PhoneNumber::digits);
    let stamp = time::to_id_stamp(received_at);
    Ok(Event {
        provider: Provider::Zonitel,
        channel: Channel::Call,
        provider_id: format!("{stamp}-{caller}"),
        direction: Some(Direction::Inbound),
        from,
        to: Some(to),
        caller_name,
        kind: "incoming_call".into(),
        occurred_at: received_at,
        received_at,
        is_test: false,
        delivery_key: "1".into(),
        raw: raw.to_string(),
        anomalies: Vec::new(),
    })
}

/// What one delivery writes: the retry guard, the event, and the call's
/// summary (an incoming call is ringing).
pub fn incoming_call_plan(event: &Event, retention_days: u32) -> WritePlan {
    let mut plan = WritePlan::for_event(event, retention_days);
    plan.summary_mut()
        .set_once("ringing_at", s(time::to_key(event.occurred_at)));
    plan.guard_with(retry_guard(event));
    plan
}

/// One guard per (caller, caller name, destination): see
/// [`plan::retry_guard`].
fn retry_guard(event: &Event) -> GuardedPut {
    let caller = event.from.as_ref().map_or("anonymous", PhoneNumber::as_str);
    let destination = event.to.as_ref().map_or("", PhoneNumber::as_str);
    let name = event.caller_name.as_deref().unwrap_or("");
    let pk = keys::retry_guard_pk("zonitel-call", &[caller, destination, name]);
    plan::retry_guard(pk, &event.provider_id, event.received_at, RETRY_WINDOW_MS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::PK;
    use crate::store::plan::n;

    const SEED: &str = r#"{ "caller_id_name": "John Doe", "caller_id_number": "+14155552671", "destination_number": "+18339664835" }"#;

    fn at_ms(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    fn event_of(body: &str) -> Result<Event, ApiError> {
        let call = parse_incoming_call(body.as_bytes())?;
        incoming_call_event(&call, body, at_ms(1_763_913_082_123))
    }

    #[test]
    fn seed_payload_normalizes() {
        let event = event_of(SEED).unwrap();
        assert_eq!(event.provider_id, "20251123T155122123Z-14155552671");
        assert_eq!(event.from.as_ref().unwrap().as_str(), "+14155552671");
        assert_eq!(event.to.as_ref().unwrap().as_str(), "+18339664835");
        assert_eq!(event.caller_name.as_deref(), Some("John Doe"));
        assert_eq!(event.direction, Some(Direction::Inbound));
        assert_eq!(event.raw, SEED);
    }

    #[test]
    fn caller_name_may_be_missing_null_empty_or_any_unicode() {
        for (body, name) in [
            (
                r#"{"caller_id_number":"+14155552671","destination_number":"+18339664835"}"#,
                None,
            ),
            (
                r#"{"caller_id_name":null,"caller_id_number":"+14155552671","destination_number":"+18339664835"}"#,
                None,
            ),
            (
                r#"{"caller_id_name":"  ","caller_id_number":"+14155552671","destination_number":"+18339664835"}"#,
                None,
            ),
            (
                r#"{"caller_id_name":"Zoë 山田 🚀","caller_id_number":"+14155552671","destination_number":"+18339664835"}"#,
                Some("Zoë 山田 🚀"),
            ),
        ] {
            assert_eq!(
                event_of(body).unwrap().caller_name.as_deref(),
                name,
                "{body}"
            );
        }
    }

    #[test]
    fn withheld_caller_is_a_call_from_nobody() {
        let event =
            event_of(r#"{"caller_id_number":"anonymous","destination_number":"+18339664835"}"#)
                .unwrap();
        assert_eq!(event.from, None);
        assert!(event.provider_id.ends_with("-anonymous"));
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            (
                r#"{"destination_number":"+18339664835"}"#,
                "caller_id_number",
            ),
            (
                r#"{"caller_id_number":"+14155552671"}"#,
                "destination_number",
            ),
            (
                r#"{"caller_id_number":null,"destination_number":"+18339664835"}"#,
                "caller_id_number",
            ),
            (
                r#"{"caller_id_number":14155552671,"destination_number":"+18339664835"}"#,
                "caller_id_number",
            ),
            (
                r#"{"caller_id_number":"+14155552671","destination_number":"call me"}"#,
                "destination_number",
            ),
            (
                r#"{"caller_id_number":"12","destination_number":"+18339664835"}"#,
                "caller_id_number",
            ),
            (
                r#"{"caller_id_number":"+14155552671","destination_number":"anonymous"}"#,
                "destination_number",
            ),
            (
                r#"{"caller_id_name":5,"caller_id_number":"+14155552671","destination_number":"+18339664835"}"#,
                "caller_id_name",
            ),
        ];
        for (body, field) in cases {
            let err = event_of(body).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{body}");
            assert!(err.message.contains(field), "{body}: {}", err.message);
        }
        let long = format!(
            r#"{{"caller_id_name":"{}","caller_id_number":"+14155552671","destination_number":"+18339664835"}}"#,
            "x".repeat(MAX_CALLER_NAME_CHARS + 1)
        );
        assert!(event_of(&long)
            .unwrap_err()
            .message
            .starts_with("caller_id_name: "));
    }

    #[test]
    fn plan_guards_retries_within_the_window() {
        let event = event_of(SEED).unwrap();
        let plan = incoming_call_plan(&event, 30);
        // guard, event, summary: one transaction.
        assert_eq!(plan.action_count(), 3);
        let guard = &plan.puts[0];
        let condition = guard.condition.as_ref().unwrap();
        assert_eq!(
            condition.values[":cutoff"],
            n(1_763_913_082_123 - RETRY_WINDOW_MS)
        );
        assert_eq!(
            guard.item[PK],
            s("GUARD#zonitel-call#+14155552671#+18339664835#John Doe")
        );
        assert!(plan.updates[0]
            .set_once
            .iter()
            .any(|(k, _)| k == "ringing_at"));
    }
}
