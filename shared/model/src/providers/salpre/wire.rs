//! Reading a Salpre body tolerantly: from bytes to a [`SalpreDelivery`], every
//! field that cannot be read left out and named as an anomaly. Refused
//! (`Err`) only when there is nothing to go on: not a JSON object, or no
//! usable `event_type`.

use super::{
    CallInfo, FinalTurn, Payload, Phase, SalpreDelivery, MAX_CALL_ID_CHARS, MAX_EVENT_TYPE_CHARS,
    MAX_LABEL_CHARS,
};
use crate::event::Direction;
use crate::phone::PhoneNumber;
use crate::providers::ReadError;
use crate::time::Timestamp;
use serde_json::{Map, Value};

/// A UTF-8 byte order mark some senders put before JSON.
const BOM: &[u8] = b"\xEF\xBB\xBF";
/// Above this a `timestamp_utc` number is read as milliseconds (seconds
/// this large are thousands of years away).
const MILLISECONDS_FROM: i64 = 100_000_000_000;

/// Reads a body; refuses only what cannot be any Salpre event.
pub fn parse_delivery(body: &[u8]) -> Result<SalpreDelivery, ReadError> {
    let mut anomalies = Vec::new();
    let body = match body.strip_prefix(BOM) {
        Some(rest) => {
            anomalies.push("body: began with a UTF-8 byte order mark".to_string());
            rest
        }
        None => body,
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::field("body", "is empty; expected a JSON object"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ReadError::field("body", format!("is not valid JSON ({e})")))?;
    let Value::Object(envelope) = value else {
        return Err(ReadError::field("body", "must be a JSON object"));
    };
    let event_type = event_type(envelope.get("event_type"), &mut anomalies)?;
    let occurred_at = timestamp(envelope.get("timestamp_utc"), &mut anomalies);
    let is_test = is_test(envelope.get("is_test"), &mut anomalies);
    let empty = Map::new();
    let payload = match envelope.get("payload") {
        Some(Value::Object(map)) => map,
        other => {
            anomalies.push(format!("payload: {}; read as empty", describe(other)));
            &empty
        }
    };
    let call = call_info(payload, &mut anomalies);
    let payload = match event_type.as_str() {
        "call_initiated" => Payload::Lifecycle(Phase::Initiated),
        "call_ringing" => Payload::Lifecycle(Phase::Ringing),
        "call_answered" => Payload::Lifecycle(Phase::Answered),
        "call_ended" => final_transcript(payload.get("transcript"), &mut anomalies),
        "transcript" => {
            let line = text(payload.get("transcript"));
            if line.as_deref().is_none_or(|t| t.trim().is_empty()) {
                anomalies.push("payload.transcript: no text in the line".to_string());
            }
            Payload::Transcript {
                speaker: label(payload.get("type"), "payload.type", &mut anomalies),
                text: line.filter(|t| !t.trim().is_empty()),
                line_time: text(
                    payload
                        .get("timestamp_utc")
                        .or_else(|| payload.get("utc_timestamp")),
                ),
            }
        }
        "error" => {
            let message = match payload.get("error_message") {
                Some(Value::String(message)) => Some(message.clone()),
                Some(Value::Null) | None => None,
                Some(other) => {
                    anomalies.push("payload.error_message: not a string; kept as JSON".into());
                    Some(other.to_string())
                }
            };
            Payload::Error { message }
        }
        other => {
            anomalies.push(format!("event_type: {other:?} is not a documented event"));
            Payload::Unknown
        }
    };
    Ok(SalpreDelivery {
        event_type,
        occurred_at,
        is_test,
        call,
        payload,
        anomalies,
    })
}

/// The event type: a short name. A documented one in another letter case
/// is read as documented.
fn event_type(value: Option<&Value>, anomalies: &mut Vec<String>) -> Result<String, ReadError> {
    let Some(Value::String(text)) = value else {
        return Err(ReadError::field(
            "event_type",
            format!("{}; expected the event's name", describe(value)),
        ));
    };
    let name = text.trim();
    if name.is_empty() {
        return Err(ReadError::field("event_type", "is empty"));
    }
    if name.chars().count() > MAX_EVENT_TYPE_CHARS
        || name.chars().any(|c| c.is_control() || c == '#')
    {
        return Err(ReadError::field(
            "event_type",
            format!("must be a name of at most {MAX_EVENT_TYPE_CHARS} characters without '#'"),
        ));
    }
    let lower = name.to_ascii_lowercase();
    let documented = [
        "call_initiated",
        "call_ringing",
        "call_answered",
        "call_ended",
        "transcript",
        "error",
    ];
    if lower != name && documented.contains(&lower.as_str()) {
        anomalies.push(format!("event_type: {name:?} read as {lower:?}"));
        return Ok(lower);
    }
    Ok(name.to_string())
}

/// `timestamp_utc` in Unix seconds as documented; a float, a string of
/// either, an RFC 3339 text or milliseconds are read too and named. `None`
/// (named) when missing or unreadable.
fn timestamp(value: Option<&Value>, anomalies: &mut Vec<String>) -> Option<Timestamp> {
    let from_number = |number: &serde_json::Number| -> Option<(Timestamp, Option<&str>)> {
        if let Some(whole) = number.as_i64() {
            return if whole >= MILLISECONDS_FROM {
                Timestamp::from_millisecond(whole)
                    .ok()
                    .map(|t| (t, Some("read as milliseconds")))
            } else {
                Timestamp::from_second(whole).ok().map(|t| (t, None))
            };
        }
        let seconds = number.as_f64().filter(|f| f.is_finite())?;
        let ms = (seconds * 1000.0).round();
        if ms.abs() > 1e17 {
            return None;
        }
        Timestamp::from_millisecond(ms as i64)
            .ok()
            .map(|t| (t, Some("a fraction of seconds")))
    };
    let read = match value {
        None | Some(Value::Null) => {
            anomalies.push("timestamp_utc: missing; the received time stands in".into());
            return None;
        }
        Some(Value::Number(number)) => from_number(number),
        Some(Value::String(text)) => {
            let text = text.trim();
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Number(number)) => from_number(&number),
                _ => text.parse::<Timestamp>().ok().map(|t| (t, None)),
            }
            .map(|(t, _)| (t, Some("a string")))
        }
        Some(_) => None,
    };
    match read {
        Some((at, None)) => Some(at),
        Some((at, Some(how))) => {
            anomalies.push(format!("timestamp_utc: {how}"));
            Some(at)
        }
        None => {
            anomalies.push(format!(
                "timestamp_utc: {} is not a time; the received time stands in",
                value.map(shown).unwrap_or_default()
            ));
            None
        }
    }
}

/// `is_test`: a boolean as documented; `"true"`/`"false"`, `1`/`0` read as
/// one (named); anything else is not a test (named: an alert too many is
/// better than a real event taken for a test).
fn is_test(value: Option<&Value>, anomalies: &mut Vec<String>) -> bool {
    let read = match value {
        None | Some(Value::Null) => return false,
        Some(Value::Bool(b)) => return *b,
        Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" | "" => Some(false),
            _ => None,
        },
        Some(Value::Number(number)) => match number.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Some(_) => None,
    };
    let shown = value.map(shown).unwrap_or_default();
    match read {
        Some(flag) => {
            anomalies.push(format!("is_test: {shown} read as {flag}"));
            flag
        }
        None => {
            anomalies.push(format!("is_test: {shown} is not a boolean; read as false"));
            false
        }
    }
}

/// The call: `payload.call_id` with flat fields, else `payload.call.id`
/// with the fields beside it (either shape, in any event).
fn call_info(payload: &Map<String, Value>, anomalies: &mut Vec<String>) -> Option<CallInfo> {
    let nested = payload.get("call").and_then(Value::as_object);
    let (prefix, id, fields) = match (payload.get("call_id"), nested) {
        (Some(id), _) if !id.is_null() => ("payload", id, payload),
        (_, Some(call)) => ("payload.call", call.get("id")?, call),
        _ => return None,
    };
    let call_id = match id {
        Value::String(text) => {
            let trimmed = text.trim();
            if trimmed.is_empty()
                || trimmed.chars().count() > MAX_CALL_ID_CHARS
                || trimmed.chars().any(char::is_control)
            {
                anomalies.push(format!(
                    "{prefix}.id: {} is not a call id (at most {MAX_CALL_ID_CHARS} printable characters)",
                    short(text)
                ));
                return None;
            }
            trimmed.to_string()
        }
        Value::Number(number) => {
            if !(number.is_i64() || number.is_u64()) {
                anomalies.push(format!("{prefix}.id: {number} is not a whole number"));
            }
            number.to_string()
        }
        Value::Null => return None,
        other => {
            anomalies.push(format!("{prefix}.id: {} is not a call id", shown(other)));
            return None;
        }
    };
    let field = |name: &str| format!("{prefix}.{name}");
    let (from, from_text) = number(fields.get("from"), true, &field("from"), anomalies);
    let (to, to_text) = number(fields.get("to"), false, &field("to"), anomalies);
    let direction = match fields.get("direction") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let read = value.as_str().and_then(direction);
            if read.is_none() {
                anomalies.push(format!(
                    "{}: {} is neither inbound nor outbound",
                    field("direction"),
                    shown(value)
                ));
            }
            read
        }
    };
    Some(CallInfo {
        call_id,
        from,
        to,
        direction,
        source: label(fields.get("source"), &field("source"), anomalies),
        from_text,
        to_text,
    })
}

pub(super) fn direction(value: &str) -> Option<Direction> {
    match value.trim().to_ascii_lowercase().as_str() {
        "inbound" => Some(Direction::Inbound),
        "outbound" => Some(Direction::Outbound),
        _ => None,
    }
}

/// A number field (text, or a JSON number) through [`phone_number`]; one
/// that cannot be read is kept as sent (bounded) and named.
fn number(
    value: Option<&Value>,
    is_caller: bool,
    field: &str,
    anomalies: &mut Vec<String>,
) -> (Option<PhoneNumber>, Option<String>) {
    let text = match value {
        None | Some(Value::Null) => return (None, None),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        Some(other) => other.to_string(),
    };
    match phone_number(&text, is_caller) {
        Ok(number) => (number, None),
        Err(problem) => {
            anomalies.push(format!("{field}: {} {problem}; kept as sent", short(&text)));
            let kept: String = text.chars().take(MAX_LABEL_CHARS).collect();
            (None, Some(kept))
        }
    }
}

/// The one place a Salpre number is read: the caller's may be withheld
/// (`Ok(None)`), ours must be a number. `Err` says why it is not one.
pub fn phone_number(text: &str, is_caller: bool) -> Result<Option<PhoneNumber>, String> {
    // Short codes, numbers without `+` and sender ids are numbers too
    // (docs/phone-numbers.md); other text is left out and named.
    PhoneNumber::read_field(text, is_caller)
}

/// A short label (source, speaker): text, trimmed, empty as none; a longer
/// one or another type is left out and named.
fn label(value: Option<&Value>, field: &str, anomalies: &mut Vec<String>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            let trimmed = text.trim();
            if trimmed.chars().count() > MAX_LABEL_CHARS {
                anomalies.push(format!(
                    "{field}: longer than {MAX_LABEL_CHARS} characters; kept in the raw body only"
                ));
                None
            } else {
                Some(trimmed.to_string()).filter(|t| !t.is_empty())
            }
        }
        Some(other) => {
            anomalies.push(format!("{field}: {} is not text", shown(other)));
            None
        }
    }
}

/// Text or a number as text (a line's time, a line's words).
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// `call_ended`'s conversation: a list of turns; missing or null is no
/// conversation. Anything else cannot be judged (named).
fn final_transcript(value: Option<&Value>, anomalies: &mut Vec<String>) -> Payload {
    let list = match value {
        None | Some(Value::Null) => {
            return Payload::CallEnded {
                turns: None,
                readable: true,
            }
        }
        Some(Value::Array(list)) => list,
        Some(other) => {
            anomalies.push(format!(
                "payload.transcript: {}, not a list of turns",
                describe(Some(other))
            ));
            return Payload::CallEnded {
                turns: None,
                readable: false,
            };
        }
    };
    let mut readable = true;
    let turns = list
        .iter()
        .enumerate()
        .map(|(index, turn)| {
            let Value::Object(turn) = turn else {
                readable = false;
                anomalies.push(format!("payload.transcript[{index}]: not a turn"));
                return FinalTurn::default();
            };
            FinalTurn {
                speaker: text(turn.get("type")),
                message: text(turn.get("message")),
                utc_timestamp: text(turn.get("utc_timestamp")),
            }
        })
        .collect();
    Payload::CallEnded {
        turns: Some(turns),
        readable,
    }
}

/// What a value is, for an anomaly (never the value itself when large).
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "missing".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::Bool(_)) => "a boolean".into(),
        Some(Value::Number(_)) => "a number".into(),
        Some(Value::String(_)) => "a string".into(),
        Some(Value::Array(_)) => "a list".into(),
        Some(Value::Object(_)) => "an object".into(),
    }
}

/// A JSON value as written, in an anomaly: at most 40 characters.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 40 {
        return text;
    }
    format!("{}...", text.chars().take(40).collect::<String>())
}

/// A text quoted in an anomaly: at most 40 characters.
fn short(text: &str) -> String {
    if text.chars().count() <= 40 {
        return format!("{text:?}");
    }
    let head: String = text.chars().take(40).collect();
    format!("{head:?}...")
}
