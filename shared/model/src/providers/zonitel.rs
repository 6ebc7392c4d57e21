//! Zonitel: the incoming-call webhook (docs/providers/zonitel.md).
//!
//! Zonitel posts `{caller_id_name, caller_id_number, destination_number}`
//! for every incoming call and wants a 200 within 5 s. The payload carries
//! no call id and no time, so:
//!
//! * the call id is derived from the moment the first delivery arrived and
//!   the caller's number (`20261123T155122123Z-14155552671`), or for a
//!   withheld caller `anonymous` and the destination's digits
//!   (`20261123T155122123Z-anonymous-18339664835`);
//! * a delivery with the same caller number, caller name and destination as
//!   one accepted less than [`RETRY_WINDOW`] earlier is a retry of it and is
//!   not recorded again; after the window it is a new call. Zonitel retries
//!   a delivery that got no 200 within its 5 s, so its retries arrive well
//!   inside the window, while a caller who hangs up and dials again needs
//!   longer than that. The guard is one conditional put in the same
//!   transaction as the event, never a read.

use crate::event::{Channel, Direction, Event, Provider};
use crate::phone::{self, PhoneNumber};
use crate::providers::{parse_json, ReadError};
use crate::store::plan::{s, RetryGuard, WritePlan};
use crate::time::{self, Timestamp};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deliveries of the same call within this long of the first are retries.
pub const RETRY_WINDOW_MS: i64 = 30_000;
/// For documentation and tests: [`RETRY_WINDOW_MS`] as a duration.
pub const RETRY_WINDOW: std::time::Duration =
    std::time::Duration::from_millis(RETRY_WINDOW_MS as u64);

/// Caller-ID names are 15 characters in North America and rarely over 50
/// anywhere; a longer one is stored cut to this (whole in the raw body).
pub const MAX_CALLER_NAME_CHARS: usize = 256;

/// The incoming-call payload: each documented field as whatever JSON value
/// came (`None` when missing), so a delivery that differs from the
/// documents is read around rather than refused. Fields Zonitel may add
/// later are ignored (and kept in the raw body).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct IncomingCall {
    /// The caller's name if available: missing, null, empty or any Unicode.
    #[serde(default, deserialize_with = "present")]
    pub caller_id_name: Option<Value>,
    /// The caller's number; missing, null, empty or a marker such as
    /// `anonymous` when withheld.
    #[serde(default, deserialize_with = "present")]
    pub caller_id_number: Option<Value>,
    /// Our number that was called: the one field a call cannot do without.
    #[serde(default, deserialize_with = "present")]
    pub destination_number: Option<Value>,
}

/// A field that is present, even as `null` (`Some(Value::Null)`); with
/// `#[serde(default)]` a missing one is `None`, so the two can be told apart.
pub fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Parses the body: refused only when it is not a JSON object.
pub fn parse_incoming_call(body: &[u8]) -> Result<IncomingCall, ReadError> {
    parse_json(body)
}

/// The normalized event of one incoming-call delivery. Whatever was odd
/// (a withheld caller, a number not in E.164, a name cut or cleaned) is
/// named in `anomalies`; the only refusal is a delivery without a
/// destination number, which names no call of ours.
pub fn incoming_call_event(
    call: &IncomingCall,
    raw: &str,
    received_at: Timestamp,
) -> Result<Event, ReadError> {
    let mut anomalies = Vec::new();
    let to = match &call.destination_number {
        None => {
            return Err(ReadError::field(
                "destination_number",
                "is missing: the call names no number it was made to",
            ))
        }
        Some(value @ (Value::String(_) | Value::Number(_))) => {
            phone::read_json_number("destination_number", Some(value), &mut anomalies).ok_or_else(
                || {
                    ReadError::field(
                        "destination_number",
                        "is empty or withheld: the call names no number it was made to",
                    )
                },
            )?
        }
        Some(other) => {
            return Err(ReadError::field(
                "destination_number",
                format!("is a JSON {}, not a phone number", phone::json_type(other)),
            ))
        }
    };
    let from = phone::read_json_number(
        "caller_id_number",
        call.caller_id_number.as_ref(),
        &mut anomalies,
    );
    let caller_name = caller_name(call.caller_id_name.as_ref(), &mut anomalies);
    let stamp = time::to_id_stamp(received_at);
    // A withheld caller names no one, so the destination tells two such
    // calls arriving in the same millisecond apart.
    let provider_id = match &from {
        Some(caller) => format!("{stamp}-{}", caller.digits()),
        None => format!("{stamp}-anonymous-{}", to.digits()),
    };
    Ok(Event {
        provider: Provider::Zonitel,
        channel: Channel::Call,
        provider_id,
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
        anomalies,
    })
}

/// The caller's name safe to store and show (controls and bidi overrides
/// removed, at most [`MAX_CALLER_NAME_CHARS`]); the raw body keeps it whole.
fn caller_name(value: Option<&Value>, anomalies: &mut Vec<String>) -> Option<String> {
    const FIELD: &str = "caller_id_name";
    let text = match value? {
        Value::Null => return None,
        Value::String(text) => text.clone(),
        Value::Number(number) => {
            anomalies.push(format!("{FIELD}: a JSON number, read as text"));
            number.to_string()
        }
        other => {
            anomalies.push(format!(
                "{FIELD}: a JSON {}, ignored",
                phone::json_type(other)
            ));
            return None;
        }
    };
    let safe = phone::safe_display_text(&text, MAX_CALLER_NAME_CHARS);
    if safe.cleaned {
        anomalies.push(format!(
            "{FIELD}: control or bidi characters removed (as sent in raw)"
        ));
    }
    if safe.cut {
        anomalies.push(format!(
            "{FIELD}: longer than {MAX_CALLER_NAME_CHARS} characters, cut (whole in raw)"
        ));
    }
    safe.text
}

/// What one delivery writes: the retry guard, the event, and the call's
/// summary (an incoming call is ringing).
pub fn incoming_call_plan(event: &Event, retention_days: u32) -> WritePlan {
    let mut plan = WritePlan::for_event(event, retention_days);
    plan.summary_mut()
        .set_once("ringing_at", s(time::to_key(event.occurred_at)));
    plan.guard_retries(&retry_guard(event), event);
    plan
}

/// One guard per (caller, destination, caller name): see [`RetryGuard`].
fn retry_guard(event: &Event) -> RetryGuard {
    let caller = event.from.as_ref().map_or("anonymous", PhoneNumber::as_str);
    let destination = event.to.as_ref().map_or("", PhoneNumber::as_str);
    let name = event.caller_name.as_deref().unwrap_or("");
    RetryGuard {
        scope: "zonitel-call",
        key_parts: vec![caller.into(), destination.into(), name.into()],
        window_ms: RETRY_WINDOW_MS,
    }
}

/// The route's [`crate::providers::Reader`]: an incoming-call webhook.
pub fn read_payload(
    payload: &crate::providers::Payload,
    retention_days: u32,
) -> Result<crate::providers::Reading, ReadError> {
    let (body, anomaly) = crate::providers::json_body(payload)?;
    let call = parse_incoming_call(&body)?;
    let event = incoming_call_event(
        &call,
        crate::providers::raw_text(payload)?,
        payload.received_at,
    )?;
    let plan = incoming_call_plan(&event, retention_days);
    let answer = serde_json::json!({"call_id": event.provider_id});
    Ok(crate::providers::Reading {
        event,
        plan,
        answer,
    }
    .with_anomaly(anomaly))
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

    fn event_of(body: &str) -> Result<Event, ReadError> {
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

    fn call_with(caller: &str) -> String {
        format!(r#"{{"caller_id_name":"Ann",{caller}"destination_number":"+18339664835"}}"#)
    }

    #[test]
    fn seed_has_no_anomalies() {
        assert_eq!(event_of(SEED).unwrap().anomalies, Vec::<String>::new());
    }

    #[test]
    fn withheld_caller_is_a_call_from_nobody_with_the_oddity_named() {
        for (caller, note) in [
            ("", "caller_id_number: missing, read as withheld"),
            (
                r#""caller_id_number":null,"#,
                "caller_id_number: null, read as withheld",
            ),
            (
                r#""caller_id_number":"","#,
                "caller_id_number: empty, read as withheld",
            ),
            (
                r#""caller_id_number":"anonymous","#,
                r#"caller_id_number: withheld ("anonymous")"#,
            ),
            (
                r#""caller_id_number":"Restricted","#,
                r#"caller_id_number: withheld ("Restricted")"#,
            ),
            (
                r#""caller_id_number":"Unavailable","#,
                r#"caller_id_number: withheld ("Unavailable")"#,
            ),
            (
                r#""caller_id_number":"private","#,
                r#"caller_id_number: withheld ("private")"#,
            ),
            (
                r#""caller_id_number":["+14155552671"],"#,
                "caller_id_number: a JSON array, read as withheld",
            ),
        ] {
            let body = call_with(caller);
            let event = event_of(&body).unwrap();
            assert_eq!(event.from, None, "{body}");
            assert!(
                event.provider_id.ends_with("-anonymous-18339664835"),
                "{body}"
            );
            assert_eq!(event.anomalies, vec![note.to_string()], "{body}");
            assert_eq!(event.raw, body);
        }
    }

    #[test]
    fn callers_are_kept_as_sent_with_e164_where_unambiguous() {
        for (caller, key, e164, note) in [
            (
                r#""447700900123""#,
                "+447700900123",
                true,
                Some(r#"caller_id_number: "447700900123" read as +447700900123"#),
            ),
            (
                r#"" +14155552671 ""#,
                "+14155552671",
                true,
                Some(r#"caller_id_number: " +14155552671 " read as +14155552671"#),
            ),
            (
                "14155552671",
                "+14155552671",
                true,
                Some("caller_id_number: a JSON number, read as its digits"),
            ),
            (
                r#""sip:+14155552671@pbx.example.com""#,
                "+14155552671",
                true,
                Some(
                    r#"caller_id_number: "sip:+14155552671@pbx.example.com" read as +14155552671"#,
                ),
            ),
            (
                r#""07700 900123""#,
                "07700 900123",
                false,
                Some("caller_id_number: not E.164, kept as sent"),
            ),
            (
                r#""72345""#,
                "72345",
                false,
                Some("caller_id_number: not E.164, kept as sent"),
            ),
            (
                r#""ACMEBANK""#,
                "ACMEBANK",
                false,
                Some("caller_id_number: not E.164, kept as sent"),
            ),
            (r#""+14155552671""#, "+14155552671", true, None),
        ] {
            let body = call_with(&format!(r#""caller_id_number":{caller},"#));
            let event = event_of(&body).unwrap();
            let from = event.from.as_ref().unwrap();
            assert_eq!(from.as_str(), key, "{body}");
            assert_eq!(from.is_e164(), e164, "{body}");
            assert_eq!(event.anomalies.first().map(String::as_str), note, "{body}");
            assert!(event.provider_id.ends_with(from.digits()), "{body}");
        }
    }

    #[test]
    fn a_call_without_a_destination_is_not_read() {
        for body in [
            r#"{"caller_id_number":"+14155552671"}"#,
            r#"{"caller_id_number":"+14155552671","destination_number":null}"#,
            r#"{"caller_id_number":"+14155552671","destination_number":""}"#,
            r#"{"caller_id_number":"+14155552671","destination_number":"anonymous"}"#,
            r#"{"caller_id_number":"+14155552671","destination_number":true}"#,
            r#"{"caller_id_number":"+14155552671","destination_number":{"n":"+18339664835"}}"#,
            r#"{"surprise": {"deep": [1, 2]}}"#,
        ] {
            let err = event_of(body).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("destination_number"), "{body}");
            assert!(
                err.to_string().starts_with("destination_number: "),
                "{body}: {err}"
            );
        }
        for body in ["", "{", "[1, 2]", "\"+18339664835\"", "null"] {
            assert!(event_of(body).is_err(), "{body}");
        }
    }

    #[test]
    fn an_odd_destination_is_kept_as_sent() {
        let event =
            event_of(r#"{"caller_id_number":"+14155552671","destination_number":"not a number"}"#)
                .unwrap();
        assert_eq!(event.to.as_ref().unwrap().as_str(), "not a number");
        assert_eq!(
            event.anomalies,
            vec!["destination_number: not E.164, kept as sent".to_string()]
        );
        let event =
            event_of(r#"{"caller_id_number":"+14155552671","destination_number":18339664835}"#)
                .unwrap();
        assert_eq!(event.to.as_ref().unwrap().as_str(), "+18339664835");
    }

    #[test]
    fn long_or_unsafe_names_are_stored_cut_and_clean() {
        let long = "x".repeat(MAX_CALLER_NAME_CHARS + 50);
        let body = format!(
            r#"{{"caller_id_name":"{long}","caller_id_number":"+14155552671","destination_number":"+18339664835"}}"#
        );
        let event = event_of(&body).unwrap();
        assert_eq!(
            event.caller_name.as_deref(),
            Some(&long[..MAX_CALLER_NAME_CHARS])
        );
        assert_eq!(
            event.anomalies,
            vec!["caller_id_name: longer than 256 characters, cut (whole in raw)".to_string()]
        );
        assert_eq!(event.raw, body);

        let body = r#"{"caller_id_name":"Eve\u202e\u0000\nMallory\u0007","caller_id_number":"+14155552671","destination_number":"+18339664835"}"#;
        let event = event_of(body).unwrap();
        assert_eq!(event.caller_name.as_deref(), Some("Eve Mallory"));
        assert_eq!(
            event.anomalies,
            vec!["caller_id_name: control or bidi characters removed (as sent in raw)".to_string()]
        );
        for (name, stored) in [("5", Some("5")), ("true", None), ("[\"Ann\"]", None)] {
            let body = format!(
                r#"{{"caller_id_name":{name},"caller_id_number":"+14155552671","destination_number":"+18339664835"}}"#
            );
            let event = event_of(&body).unwrap();
            assert_eq!(event.caller_name.as_deref(), stored, "{body}");
            assert_eq!(event.anomalies.len(), 1, "{body}");
        }
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
