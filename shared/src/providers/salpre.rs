//! Salpre: the Custom Webhook (seed 002).
//!
//! Every delivery is `{event_type, timestamp_utc, payload, is_test}`. Two
//! payload shapes:
//!
//! * lifecycle events (`call_initiated`, `call_ringing`, `call_answered`,
//!   `call_ended`) carry `payload.call_id` (a number in Salpre's examples; a
//!   string is accepted too and the id is stored as text) with flat `from`,
//!   `to`, `direction`, `source`; `call_ended` adds the whole conversation in
//!   `payload.transcript` (a list of `{type, message, utc_timestamp}` turns);
//! * `transcript` (one live line) and `error` carry `payload.call.{id, from,
//!   to, source, direction}`.
//!
//! Mapping (all into the call `CALL#salpre#<call_id>`):
//!
//! * `occurred_at` is the envelope's `timestamp_utc`; the phase it marks is
//!   set once on the summary (`initiated_at`, `ringing_at`, `answered_at`,
//!   `ended_at`; `failed_at` and `error_message` for `error`), so the status
//!   (derived) only moves forward whatever the arrival order.
//! * Delivery keys (what makes a retry collide and two different events not):
//!   a lifecycle event happens once per call, so its type is enough (`1`);
//!   an `error` adds a short hash of its message; a live `transcript` line
//!   its own timestamp plus a hash of speaker and text; an unknown event a
//!   hash of the whole body.
//! * `call_ended` without any `customer` turn in its final transcript sets
//!   `unanswered_at` (whatever the direction: the derived `is_missed` keeps
//!   only inbound calls that were never answered).
//! * The final transcript is not copied: it is read back, exactly as sent,
//!   from the raw body kept on the `call_ended` event (split across part
//!   items above 300 kB), by [`crate::store::Store::final_transcript`]. One
//!   copy keeps a 2 MiB body inside DynamoDB's 4 MB transaction limit.
//! * An unknown `event_type` is kept raw: in its call when a call id can be
//!   found (`payload.call_id` or `payload.call.id`), else in the provider's
//!   partition `UNMATCHED#salpre` ([`crate::store::keys::unmatched_events_pk`]).

use crate::event::{Channel, Direction, Event, Provider};
use crate::http::{parse_json, ApiError};
use crate::phone::PhoneNumber;
use crate::store::keys::{self, PK};
use crate::store::plan::{n, s, Item, WritePlan};
use crate::time::{self, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// Where the final transcript sits in a `call_ended` body (a JSON pointer,
/// stored on the event item so the reader needs no Salpre knowledge).
pub const TRANSCRIPT_POINTER: &str = "/payload/transcript";
/// The event-item attribute holding that pointer.
pub const TRANSCRIPT_POINTER_ATTR: &str = "transcript_pointer";

/// Ids and event types go into keys; no real one is anywhere near this.
pub const MAX_CALL_ID_CHARS: usize = 128;
pub const MAX_EVENT_TYPE_CHARS: usize = 64;
/// `timestamp_utc` before this (2020-01-01) is no Salpre event: a zero, a
/// small count, or a unit mix-up. Salpre's own samples date from 2025.
pub const EARLIEST_TIMESTAMP_UTC: i64 = 1_577_836_800;
/// How far after our own clock `timestamp_utc` may be (clock skew): a day.
/// Later than that is not a real event and would sort after every real one.
pub const MAX_FUTURE_SKEW_S: i64 = 86_400;
/// `source`, speaker `type`: short labels (`salprebox:SALPRE_AABBCCDD`).
pub const MAX_LABEL_CHARS: usize = 256;
/// Text copied into an attribute (live line text, error message) beside the
/// raw body: above this it stays only in the raw body, so the event item
/// (raw up to 300 kB inline) stays under DynamoDB's 400 KB item limit.
pub const MAX_TEXT_ATTRIBUTE_BYTES: usize = 64 * 1024;

/// The envelope of every delivery.
#[derive(Debug, Deserialize)]
struct Envelope {
    event_type: String,
    timestamp_utc: i64,
    payload: Map<String, Value>,
    #[serde(default)]
    is_test: Option<bool>,
}

/// `call_initiated`, `call_ringing`, `call_answered`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct LifecyclePayload {
    #[serde(deserialize_with = "call_id")]
    pub call_id: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// `call_ended`: the lifecycle fields and the whole conversation.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CallEndedPayload {
    #[serde(deserialize_with = "call_id")]
    pub call_id: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// Missing or null: the call ended with no conversation.
    #[serde(default)]
    pub transcript: Option<Vec<FinalTurn>>,
}

/// One turn of a final transcript.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct FinalTurn {
    /// `ai` or `customer` in Salpre's examples.
    #[serde(rename = "type", default)]
    pub speaker: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    pub utc_timestamp: Option<String>,
}

impl FinalTurn {
    fn is_customer_speaking(&self) -> bool {
        self.speaker
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("customer"))
            && self
                .message
                .as_deref()
                .is_some_and(|m| !m.trim().is_empty())
    }
}

/// The call block of `transcript` and `error`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CallRef {
    #[serde(deserialize_with = "call_id")]
    pub id: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub direction: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// `transcript`: one live line.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TranscriptPayload {
    pub call: CallRef,
    #[serde(rename = "type", default)]
    pub speaker: Option<String>,
    pub transcript: String,
    /// The line's own time (`"111111"` in Salpre's example: a string).
    #[serde(default, deserialize_with = "scalar_text")]
    pub timestamp_utc: Option<String>,
}

/// `error`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ErrorPayload {
    pub call: CallRef,
    #[serde(default)]
    pub error_message: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Initiated,
    Ringing,
    Answered,
}

impl Phase {
    fn attribute(self) -> &'static str {
        match self {
            Phase::Initiated => "initiated_at",
            Phase::Ringing => "ringing_at",
            Phase::Answered => "answered_at",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Lifecycle(Phase, LifecyclePayload),
    CallEnded(CallEndedPayload),
    Transcript(TranscriptPayload),
    Error(ErrorPayload),
    /// An event type Salpre added after this was written: kept raw.
    Unknown(Map<String, Value>),
}

/// One parsed, validated delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub event_type: String,
    pub occurred_at: Timestamp,
    pub is_test: bool,
    pub payload: Payload,
}

impl Delivery {
    pub fn is_known(&self) -> bool {
        !matches!(self.payload, Payload::Unknown(_))
    }
}

/// Parses and validates a body; every error names its field.
pub fn parse_delivery(body: &[u8]) -> Result<Delivery, ApiError> {
    let envelope: Envelope = parse_json(body)?;
    let event_type = envelope.event_type.trim().to_string();
    if event_type.is_empty() {
        return Err(ApiError::invalid_field("event_type", "is empty"));
    }
    if event_type.chars().count() > MAX_EVENT_TYPE_CHARS
        || event_type.chars().any(|c| c.is_control() || c == '#')
    {
        return Err(ApiError::invalid_field(
            "event_type",
            format!("must be a name of at most {MAX_EVENT_TYPE_CHARS} characters without '#'"),
        ));
    }
    let occurred_at = Some(envelope.timestamp_utc)
        .filter(|t| *t >= EARLIEST_TIMESTAMP_UTC)
        .and_then(time::from_unix_seconds)
        .ok_or_else(|| {
            ApiError::invalid_field(
                "timestamp_utc",
                "is not a Unix time in seconds after 2020-01-01",
            )
        })?;
    let map = envelope.payload;
    let payload = match event_type.as_str() {
        "call_initiated" => Payload::Lifecycle(Phase::Initiated, payload_as(map)?),
        "call_ringing" => Payload::Lifecycle(Phase::Ringing, payload_as(map)?),
        "call_answered" => Payload::Lifecycle(Phase::Answered, payload_as(map)?),
        "call_ended" => Payload::CallEnded(payload_as(map)?),
        "transcript" => {
            let line: TranscriptPayload = payload_as(map)?;
            if line.transcript.trim().is_empty() {
                return Err(ApiError::invalid_field("payload.transcript", "has no text"));
            }
            Payload::Transcript(line)
        }
        "error" => Payload::Error(payload_as(map)?),
        _ => Payload::Unknown(map),
    };
    Ok(Delivery {
        event_type,
        occurred_at,
        is_test: envelope.is_test.unwrap_or(false),
        payload,
    })
}

/// The payload as `T`, errors naming `payload.<field>`.
fn payload_as<T: de::DeserializeOwned>(map: Map<String, Value>) -> Result<T, ApiError> {
    let value = Value::Object(map);
    // Without tracking the path first (it allocates for every field); only
    // a payload that does not fit `T` needs it, for the message.
    if let Ok(payload) = T::deserialize(&value) {
        return Ok(payload);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "payload".to_string()
        } else {
            format!("payload.{path}")
        };
        ApiError::invalid_field(&field, e.into_inner())
    })
}

/// The call a delivery belongs to, normalized.
#[derive(Clone, Debug, PartialEq)]
pub struct CallInfo {
    pub call_id: String,
    pub from: Option<PhoneNumber>,
    pub to: Option<PhoneNumber>,
    pub direction: Option<Direction>,
    pub source: Option<String>,
}

impl CallInfo {
    /// Validates the fields of either shape; `prefix` is where they sit
    /// (`payload` or `payload.call`), for the error messages.
    fn parse(
        prefix: &str,
        call_id: &str,
        from: Option<&str>,
        to: Option<&str>,
        direction: Option<&str>,
        source: Option<&str>,
    ) -> Result<Self, ApiError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let from = match from {
            Some(value) => PhoneNumber::parse_caller_id(value)
                .map_err(|e| ApiError::invalid_field(&field("from"), e))?,
            None => None,
        };
        let to = match to {
            Some(value) => Some(
                PhoneNumber::parse(value).map_err(|e| ApiError::invalid_field(&field("to"), e))?,
            ),
            None => None,
        };
        let direction = match direction.map(str::trim).filter(|d| !d.is_empty()) {
            None => None,
            Some(d) => Some(parse_direction(d).ok_or_else(|| {
                ApiError::invalid_field(&field("direction"), "must be \"inbound\" or \"outbound\"")
            })?),
        };
        let source = label(source, &field("source"))?;
        Ok(CallInfo {
            call_id: call_id.to_string(),
            from,
            to,
            direction,
            source,
        })
    }

    fn of_ref(call: &CallRef) -> Result<Self, ApiError> {
        Self::parse(
            "payload.call",
            &call.id,
            call.from.as_deref(),
            call.to.as_deref(),
            call.direction.as_deref(),
            call.source.as_deref(),
        )
    }

    /// For an unknown event: whatever can be read, nothing refused.
    fn of_unknown(payload: &Map<String, Value>) -> Option<Self> {
        let flat = payload.get("call_id").map(|id| (id, payload));
        let nested = payload
            .get("call")
            .and_then(Value::as_object)
            .and_then(|call| call.get("id").map(|id| (id, call)));
        let (id, fields) = flat.or(nested)?;
        let call_id = match id {
            Value::String(text) => valid_call_id(text).ok()?,
            Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
            _ => return None,
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str);
        Some(CallInfo {
            call_id,
            from: text("from").and_then(|v| PhoneNumber::parse_caller_id(v).ok().flatten()),
            to: text("to").and_then(|v| PhoneNumber::parse(v).ok()),
            direction: text("direction").and_then(parse_direction),
            source: text("source")
                .filter(|v| v.chars().count() <= MAX_LABEL_CHARS)
                .map(str::to_string),
        })
    }
}

fn parse_direction(value: &str) -> Option<Direction> {
    match value.trim().to_ascii_lowercase().as_str() {
        "inbound" => Some(Direction::Inbound),
        "outbound" => Some(Direction::Outbound),
        _ => None,
    }
}

/// A short label (source, speaker): trimmed, empty as none, bounded.
fn label(value: Option<&str>, field: &str) -> Result<Option<String>, ApiError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_LABEL_CHARS => Err(ApiError::invalid_field(
            field,
            format!("is longer than {MAX_LABEL_CHARS} characters"),
        )),
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// A delivery normalized, and what it writes.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    pub event: Event,
    pub plan: WritePlan,
    /// The call it belongs to (`None`: an unknown event with no call id,
    /// stored under the provider's partition).
    pub call: Option<CallInfo>,
}

/// Normalizes a delivery and builds its write plan.
pub fn map_delivery(
    delivery: &Delivery,
    raw: &str,
    received_at: Timestamp,
    retention_days: u32,
) -> Result<Mapped, ApiError> {
    if delivery.occurred_at.as_second() > received_at.as_second() + MAX_FUTURE_SKEW_S {
        return Err(ApiError::invalid_field(
            "timestamp_utc",
            "is more than a day in the future",
        ));
    }
    let call = match &delivery.payload {
        Payload::Lifecycle(_, p) => Some(CallInfo::parse(
            "payload",
            &p.call_id,
            p.from.as_deref(),
            p.to.as_deref(),
            p.direction.as_deref(),
            p.source.as_deref(),
        )?),
        Payload::CallEnded(p) => Some(CallInfo::parse(
            "payload",
            &p.call_id,
            p.from.as_deref(),
            p.to.as_deref(),
            p.direction.as_deref(),
            p.source.as_deref(),
        )?),
        Payload::Transcript(p) => Some(CallInfo::of_ref(&p.call)?),
        Payload::Error(p) => Some(CallInfo::of_ref(&p.call)?),
        Payload::Unknown(map) => CallInfo::of_unknown(map),
    };
    let speaker = match &delivery.payload {
        Payload::Transcript(p) => label(p.speaker.as_deref(), "payload.type")?,
        _ => None,
    };
    let delivery_key = match &delivery.payload {
        Payload::Lifecycle(..) | Payload::CallEnded(_) => "1".to_string(),
        Payload::Error(p) => short_hash(&[p.error_message.as_deref().unwrap_or("")]),
        Payload::Transcript(p) => format!(
            "{}.{}",
            line_time_key(p.timestamp_utc.as_deref()),
            short_hash(&[speaker.as_deref().unwrap_or(""), &p.transcript])
        ),
        Payload::Unknown(_) => short_hash(&[raw]),
    };
    let event = Event {
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
        occurred_at: delivery.occurred_at,
        received_at,
        is_test: delivery.is_test,
        delivery_key,
        raw: raw.to_string(),
        anomalies: Vec::new(),
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
        return Ok(Mapped {
            event,
            plan,
            call: None,
        });
    };
    if let Some(source) = &info.source {
        event_item(&mut plan).insert("source".into(), s(source));
        plan.summary_mut().set_once("source", s(source));
    }
    let at = s(time::to_key(delivery.occurred_at));
    match &delivery.payload {
        Payload::Lifecycle(phase, _) => {
            plan.summary_mut().set_once(phase.attribute(), at);
        }
        Payload::CallEnded(p) => {
            let turns = p.transcript.as_deref();
            let summary = plan.summary_mut();
            summary.set_once("ended_at", at.clone());
            if !turns
                .unwrap_or_default()
                .iter()
                .any(FinalTurn::is_customer_speaking)
            {
                summary.set_once("unanswered_at", at);
            }
            if let Some(turns) = turns {
                summary.set_once("final_transcript_turns", n(turns.len()));
                let item = event_item(&mut plan);
                item.insert(TRANSCRIPT_POINTER_ATTR.into(), s(TRANSCRIPT_POINTER));
                item.insert("transcript_turns".into(), n(turns.len()));
            }
        }
        Payload::Transcript(p) => {
            let item = event_item(&mut plan);
            if let Some(speaker) = &speaker {
                item.insert("speaker".into(), s(speaker));
            }
            if let Some(line_time) = &p.timestamp_utc {
                item.insert("line_timestamp".into(), s(line_time));
            }
            if p.transcript.len() <= MAX_TEXT_ATTRIBUTE_BYTES {
                item.insert("text".into(), s(&p.transcript));
            } else {
                item.insert("text_in_raw".into(), AttributeValue::Bool(true));
            }
        }
        Payload::Error(p) => {
            plan.summary_mut().set_once("failed_at", at);
            if let Some(message) = p.error_message.as_deref() {
                let (kept, whole) = bounded_text(message);
                plan.summary_mut().set_once("error_message", s(kept));
                let item = event_item(&mut plan);
                item.insert("error_message".into(), s(kept));
                if !whole {
                    // The whole message is in the raw body.
                    plan.summary_mut()
                        .set_once("error_message_truncated", AttributeValue::Bool(true));
                }
            }
        }
        Payload::Unknown(_) => {}
    }
    Ok(Mapped {
        event,
        plan,
        call: Some(info.clone()),
    })
}

/// The event's own item in its plan (not a raw part, not a guard).
fn event_item(plan: &mut WritePlan) -> &mut Item {
    plan.puts
        .iter_mut()
        .map(|put| &mut put.item)
        .find(|item| {
            matches!(item.get(keys::ITEM_TYPE), Some(AttributeValue::S(t)) if t.ends_with("_event"))
        })
        .expect("WritePlan::for_event always has the event item")
}

/// At most [`MAX_TEXT_ATTRIBUTE_BYTES`] of `text` (cut on a character), and
/// whether that is all of it.
fn bounded_text(text: &str) -> (&str, bool) {
    if text.len() <= MAX_TEXT_ATTRIBUTE_BYTES {
        return (text, true);
    }
    let mut cut = MAX_TEXT_ATTRIBUTE_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    (&text[..cut], false)
}

/// 16 hex digits of SHA-256 over the parts (each length-prefixed, so
/// `("ab", "c")` and `("a", "bc")` differ): stable across deliveries.
fn short_hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}

/// A live line's own timestamp as a sort-key piece: digits zero-padded so
/// lines of the same second sort by it, anything else kept to safe
/// characters; `-` when there is none.
fn line_time_key(line_time: Option<&str>) -> String {
    let Some(value) = line_time.map(str::trim).filter(|v| !v.is_empty()) else {
        return "-".into();
    };
    if value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{value:0>20}");
    }
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '+' | '_'))
        .take(40)
        .collect()
}

/// One live transcript line read back from its event item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLine {
    pub speaker: Option<String>,
    pub text: String,
    pub line_timestamp: Option<String>,
    /// The envelope's `timestamp_utc`, as stored (`occurred_at`).
    pub occurred_at: String,
}

/// The live transcript of a call from its events (as
/// [`crate::store::Store::conversation_events`] returns them, in order): one
/// line per `transcript` event. A line too long to copy beside its raw body
/// is read from the raw body.
pub fn live_transcript(events: &[Item]) -> Vec<LiveLine> {
    let text_attr = |item: &Item, name: &str| match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    };
    events
        .iter()
        .filter(|item| text_attr(item, "kind").as_deref() == Some("transcript"))
        .filter_map(|item| {
            let text = match text_attr(item, "text") {
                Some(text) => text,
                None => {
                    let raw = text_attr(item, "raw")?;
                    let body: Value = serde_json::from_str(&raw).ok()?;
                    body.pointer("/payload/transcript")?.as_str()?.to_string()
                }
            };
            Some(LiveLine {
                speaker: text_attr(item, "speaker"),
                text,
                line_timestamp: text_attr(item, "line_timestamp"),
                occurred_at: text_attr(item, "occurred_at").unwrap_or_default(),
            })
        })
        .collect()
}

/// Salpre's call ids: a number in its examples; a string is taken as is.
fn call_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct CallIdVisitor;
    impl Visitor<'_> for CallIdVisitor {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a call id (an integer or a non-empty string)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            valid_call_id(v).map_err(E::custom)
        }
    }
    deserializer.deserialize_any(CallIdVisitor)
}

fn valid_call_id(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err("is empty".into());
    }
    if trimmed.chars().count() > MAX_CALL_ID_CHARS || trimmed.chars().any(char::is_control) {
        return Err(format!(
            "must be at most {MAX_CALL_ID_CHARS} printable characters"
        ));
    }
    Ok(trimmed.to_string())
}

/// A timestamp Salpre may send as a string (`"111111"`) or a number.
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        other => Err(de::Error::invalid_type(
            match &other {
                Value::Bool(b) => de::Unexpected::Bool(*b),
                Value::Array(_) => de::Unexpected::Seq,
                _ => de::Unexpected::Map,
            },
            &"a timestamp (a string or a number)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::plan::Condition;

    // Salpre's own examples (seed 002), verbatim but for whitespace.
    const INITIATED: &str = r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"from":"+905555555555","to":"+905555555554","direction":"outbound","source":"salprebox:SALPRE_AABBCCDD"},"is_test":true}"#;
    const RINGING: &str = r#"{"event_type":"call_ringing","timestamp_utc":1760084555,"payload":{"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound","call_id":1},"is_test":true}"#;
    const ANSWERED: &str = r#"{"event_type":"call_answered","timestamp_utc":1760084576,"payload":{"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound","call_id":1},"is_test":true}"#;
    const TRANSCRIPT: &str = r#"{"event_type":"transcript","timestamp_utc":1760084622,"payload":{"call":{"id":1,"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound"},"type":"customer","transcript":"Hello, how are you?","timestamp_utc":"111111"},"is_test":true}"#;
    const ENDED: &str = r#"{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{"from":"+905555555555","to":"+905555555554","direction":"outbound","source":"salprebox:SALPRE_AABBCCDD","call_id":1,"transcript":[{"type":"ai","message":"Greeting message"},{"type":"customer","message":"customer message 1","utc_timestamp":"111111"},{"type":"ai","message":"Ai response 1","utc_timestamp":"111111"}]},"is_test":true}"#;
    const ERROR: &str = r#"{"event_type":"error","timestamp_utc":1760084656,"payload":{"call":{"id":1,"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound"},"error_message":"Error message"},"is_test":true}"#;

    fn received() -> Timestamp {
        Timestamp::from_second(1_760_084_700).unwrap()
    }

    #[test]
    fn timestamps_far_in_the_past_or_future_are_refused() {
        let with = |ts: i64| INITIATED.replace("1760084505", &ts.to_string());
        for ts in [0, 86_400, EARLIEST_TIMESTAMP_UTC - 1, 1_760_084_505_000] {
            let err = map(&with(ts)).unwrap_err();
            assert!(
                err.message.starts_with("timestamp_utc: "),
                "{ts}: {}",
                err.message
            );
        }
        let now = received().as_second();
        let err = map(&with(now + MAX_FUTURE_SKEW_S + 1)).unwrap_err();
        assert!(err.message.contains("future"), "{}", err.message);
        for ts in [EARLIEST_TIMESTAMP_UTC, now + MAX_FUTURE_SKEW_S, now] {
            assert!(map(&with(ts)).is_ok(), "{ts}");
        }
    }

    fn map(body: &str) -> Result<Mapped, ApiError> {
        let delivery = parse_delivery(body.as_bytes())?;
        map_delivery(&delivery, body, received(), 30)
    }

    fn set_once<'a>(mapped: &'a Mapped, name: &str) -> Option<&'a AttributeValue> {
        mapped.plan.updates[0]
            .set_once
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn event_attr<'a>(mapped: &'a Mapped, name: &str) -> Option<&'a AttributeValue> {
        mapped.plan.puts[0].item.get(name)
    }

    #[test]
    fn every_seed_example_maps_to_call_1_with_its_phase() {
        for (body, kind, phase) in [
            (INITIATED, "call_initiated", Some("initiated_at")),
            (RINGING, "call_ringing", Some("ringing_at")),
            (ANSWERED, "call_answered", Some("answered_at")),
            (TRANSCRIPT, "transcript", None),
            (ENDED, "call_ended", Some("ended_at")),
            (ERROR, "error", Some("failed_at")),
        ] {
            let mapped = map(body).unwrap();
            let event = &mapped.event;
            assert_eq!(event.provider_id, "test-1", "{kind}");
            assert_eq!(event.kind, kind);
            assert!(event.is_test);
            assert_eq!(event.direction, Some(Direction::Outbound));
            assert_eq!(event.from.as_ref().unwrap().as_str(), "+905555555555");
            assert_eq!(event.to.as_ref().unwrap().as_str(), "+905555555554");
            assert_eq!(event.raw, body);
            assert_eq!(mapped.plan.updates[0].pk, "CALL#salpre#test-1");
            assert_eq!(
                set_once(&mapped, "source"),
                Some(&s("salprebox:SALPRE_AABBCCDD"))
            );
            assert_eq!(
                event_attr(&mapped, "source"),
                Some(&s("salprebox:SALPRE_AABBCCDD"))
            );
            if let Some(phase) = phase {
                assert_eq!(
                    set_once(&mapped, phase),
                    Some(&s(time::to_key(event.occurred_at))),
                    "{kind}"
                );
            }
        }
    }

    #[test]
    fn occurred_at_is_the_envelope_time() {
        let mapped = map(INITIATED).unwrap();
        assert_eq!(
            mapped.event.occurred_at,
            Timestamp::from_second(1_760_084_505).unwrap()
        );
        assert_eq!(mapped.event.received_at, received());
    }

    #[test]
    fn call_id_may_be_a_number_or_a_string() {
        let real = |body: &str| body.replace(r#""is_test":true"#, r#""is_test":false"#);
        let text = real(&INITIATED.replace(r#""call_id":1"#, r#""call_id":"c-42""#));
        assert_eq!(map(&text).unwrap().event.provider_id, "c-42");
        let big = real(&INITIATED.replace(r#""call_id":1"#, r#""call_id":18446744073709551615"#));
        assert_eq!(map(&big).unwrap().event.provider_id, "18446744073709551615");
        let nested = real(&TRANSCRIPT.replace(r#""id":1"#, r#""id":"c-42""#));
        assert_eq!(map(&nested).unwrap().event.provider_id, "c-42");
        // The test button's fixed ids never share a call with real ones.
        assert_eq!(map(INITIATED).unwrap().event.provider_id, "test-1");
    }

    #[test]
    fn ended_with_a_customer_turn_is_not_unanswered() {
        let mapped = map(ENDED).unwrap();
        assert!(set_once(&mapped, "unanswered_at").is_none());
        assert_eq!(set_once(&mapped, "final_transcript_turns"), Some(&n(3)));
        assert_eq!(
            event_attr(&mapped, TRANSCRIPT_POINTER_ATTR),
            Some(&s(TRANSCRIPT_POINTER))
        );
    }

    #[test]
    fn ended_without_a_customer_turn_is_unanswered() {
        for transcript in [
            r#"[{"type":"ai","message":"Greeting message"}]"#,
            r#"[{"type":"ai","message":"Hi"},{"type":"customer","message":"  "}]"#,
            "[]",
            "null",
        ] {
            let body = format!(
                r#"{{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{{"call_id":7,"direction":"inbound","from":"+14155552671","to":"+18339664835","transcript":{transcript}}}}}"#
            );
            let mapped = map(&body).unwrap();
            assert!(set_once(&mapped, "unanswered_at").is_some(), "{transcript}");
            assert!(!mapped.event.is_test);
        }
        let without =
            r#"{"event_type":"call_ended","timestamp_utc":1760084597,"payload":{"call_id":7}}"#;
        let mapped = map(without).unwrap();
        assert!(set_once(&mapped, "unanswered_at").is_some());
        assert!(event_attr(&mapped, TRANSCRIPT_POINTER_ATTR).is_none());
    }

    #[test]
    fn error_marks_failed_with_its_message() {
        let mapped = map(ERROR).unwrap();
        assert_eq!(
            set_once(&mapped, "error_message"),
            Some(&s("Error message"))
        );
        assert_eq!(
            event_attr(&mapped, "error_message"),
            Some(&s("Error message"))
        );
        let long = ERROR.replace("Error message", &"é".repeat(MAX_TEXT_ATTRIBUTE_BYTES));
        let mapped = map(&long).unwrap();
        let kept = set_once(&mapped, "error_message").unwrap().as_s().unwrap();
        assert!(kept.len() <= MAX_TEXT_ATTRIBUTE_BYTES && kept.len() > 60_000);
        assert_eq!(
            set_once(&mapped, "error_message_truncated"),
            Some(&AttributeValue::Bool(true))
        );
        assert_eq!(mapped.event.raw, long, "the raw body keeps all of it");
    }

    #[test]
    fn delivery_keys_collide_for_retries_and_only_for_retries() {
        let key = |body: &str| map(body).unwrap().event.delivery_key;
        // The same delivery twice: the same key (and the same sort key).
        assert_eq!(key(TRANSCRIPT), key(TRANSCRIPT));
        assert_eq!(key(ERROR), key(ERROR));
        assert_eq!(key(INITIATED), "1");
        // Two different lines, or errors, at the same instant: different.
        let other_text = TRANSCRIPT.replace("Hello, how are you?", "Fine, thanks.");
        let other_speaker = TRANSCRIPT.replace(r#""type":"customer""#, r#""type":"ai""#);
        let other_time = TRANSCRIPT.replace(r#""111111""#, r#""111112""#);
        for other in [&other_text, &other_speaker, &other_time] {
            assert_ne!(key(TRANSCRIPT), key(other));
        }
        assert_ne!(key(ERROR), key(&ERROR.replace("Error message", "Other")));
        // Speaker and text are hashed apart: moving a character across the
        // boundary is a different line.
        assert_ne!(short_hash(&["ab", "c"]), short_hash(&["a", "bc"]));
        // The line's numeric time is padded so lines sort by it.
        assert!(key(TRANSCRIPT).starts_with("00000000000000111111."));
        assert!(line_time_key(Some("99999")) < line_time_key(Some("111111")));
        assert_eq!(line_time_key(None), "-");
        assert_eq!(
            line_time_key(Some("2026-01-01T00:00#x")),
            "2026-01-01T00:00x"
        );
    }

    #[test]
    fn live_line_keeps_speaker_text_and_its_time() {
        let mapped = map(TRANSCRIPT).unwrap();
        assert_eq!(event_attr(&mapped, "speaker"), Some(&s("customer")));
        assert_eq!(event_attr(&mapped, "text"), Some(&s("Hello, how are you?")));
        assert_eq!(event_attr(&mapped, "line_timestamp"), Some(&s("111111")));
        // No phase: a line says nothing about where the call stands.
        for phase in ["answered_at", "ended_at", "unanswered_at", "failed_at"] {
            assert!(set_once(&mapped, phase).is_none());
        }
        let numeric =
            TRANSCRIPT.replace(r#""timestamp_utc":"111111""#, r#""timestamp_utc":111111"#);
        let mapped = map(&numeric).unwrap();
        assert_eq!(event_attr(&mapped, "line_timestamp"), Some(&s("111111")));
    }

    #[test]
    fn live_transcript_reads_lines_whatever_their_length() {
        let long_text = "ş".repeat(MAX_TEXT_ATTRIBUTE_BYTES);
        let long = TRANSCRIPT.replace("Hello, how are you?", &long_text);
        let items: Vec<Item> = [TRANSCRIPT, &long, INITIATED]
            .iter()
            .map(|body| {
                let mut item = map(body).unwrap().plan.puts[0].item.clone();
                assert!(!item.contains_key("raw_parts"));
                item.insert("raw".into(), s(*body));
                item
            })
            .collect();
        assert_eq!(items[1].get("text"), None);
        let lines = live_transcript(&items);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "Hello, how are you?");
        assert_eq!(lines[0].speaker.as_deref(), Some("customer"));
        assert_eq!(lines[1].text, long_text);
    }

    #[test]
    fn unknown_event_is_kept_in_its_call_or_the_provider_partition() {
        let with_call = r#"{"event_type":"call_transferred","timestamp_utc":1760084600,"payload":{"call_id":1,"to":"not a number"}}"#;
        let mapped = map(with_call).unwrap();
        assert_eq!(mapped.event.provider_id, "1");
        assert_eq!(
            mapped.event.to, None,
            "unreadable fields of an unknown event are ignored"
        );
        assert_eq!(mapped.plan.updates.len(), 1);
        assert_eq!(mapped.plan.puts[0].item[PK], s("CALL#salpre#1"));
        assert_eq!(
            mapped.event.delivery_key,
            map(with_call).unwrap().event.delivery_key
        );

        let nested = r#"{"event_type":"sentiment","timestamp_utc":1760084600,"payload":{"call":{"id":"x9"},"score":0.4}}"#;
        assert_eq!(map(nested).unwrap().event.provider_id, "x9");

        let orphan =
            r#"{"event_type":"agent_updated","timestamp_utc":1760084600,"payload":{"agent":"a1"}}"#;
        let mapped = map(orphan).unwrap();
        assert!(mapped.call.is_none());
        assert!(mapped.plan.updates.is_empty());
        assert_eq!(mapped.plan.puts.len(), 1);
        assert_eq!(mapped.plan.puts[0].item[PK], s("UNMATCHED#salpre"));
        assert_eq!(
            mapped.plan.puts[0].item[keys::ITEM_TYPE],
            s("provider_event")
        );
        assert_eq!(
            mapped.plan.puts[0].condition,
            Some(Condition::item_absent())
        );
    }

    #[test]
    fn a_large_orphan_keeps_its_parts_together() {
        let big = format!(
            r#"{{"event_type":"export","timestamp_utc":1760084600,"payload":{{"data":"{}"}}}}"#,
            "x".repeat(700_000)
        );
        let mapped = map(&big).unwrap();
        assert_eq!(mapped.plan.puts.len(), 4);
        assert!(mapped
            .plan
            .puts
            .iter()
            .all(|p| p.item[PK] == s("UNMATCHED#salpre")));
    }

    #[test]
    fn bad_input_names_the_field() {
        let cases: &[(&str, &str)] = &[
            (
                r#"{"timestamp_utc":1760084505,"payload":{"call_id":1}}"#,
                "event_type",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505}"#,
                "payload",
            ),
            (
                r#"{"event_type":"call_initiated","payload":{"call_id":1}}"#,
                "timestamp_utc",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":"1760084505","payload":{"call_id":1}}"#,
                "timestamp_utc",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505.5,"payload":{"call_id":1}}"#,
                "timestamp_utc",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":-5,"payload":{"call_id":1}}"#,
                "timestamp_utc",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":99999999999999,"payload":{"call_id":1}}"#,
                "timestamp_utc",
            ),
            (
                r#"{"event_type":"","timestamp_utc":1760084505,"payload":{"call_id":1}}"#,
                "event_type",
            ),
            (
                r#"{"event_type":"a#b","timestamp_utc":1760084505,"payload":{}}"#,
                "event_type",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":[1]}"#,
                "payload",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"from":"+14155552671"}}"#,
                "call_id",
            ),
            (
                r#"{"event_type":"call_answered","timestamp_utc":1760084505,"payload":{"call_id":null}}"#,
                "payload.call_id",
            ),
            (
                r#"{"event_type":"call_ringing","timestamp_utc":1760084505,"payload":{"call_id":""}}"#,
                "payload.call_id",
            ),
            (
                r#"{"event_type":"call_ringing","timestamp_utc":1760084505,"payload":{"call_id":1.5}}"#,
                "payload.call_id",
            ),
            (
                r#"{"event_type":"call_ended","timestamp_utc":1760084505,"payload":{"call_id":1,"transcript":"hello"}}"#,
                "payload.transcript",
            ),
            (
                r#"{"event_type":"call_ended","timestamp_utc":1760084505,"payload":{"call_id":1,"transcript":{"type":"ai"}}}"#,
                "payload.transcript",
            ),
            (
                r#"{"event_type":"call_ended","timestamp_utc":1760084505,"payload":{"call_id":1,"transcript":["hi"]}}"#,
                "payload.transcript[0]",
            ),
            (
                r#"{"event_type":"transcript","timestamp_utc":1760084505,"payload":{"call":{"id":1},"type":"ai"}}"#,
                "transcript",
            ),
            (
                r#"{"event_type":"transcript","timestamp_utc":1760084505,"payload":{"call":{"id":1},"type":"ai","transcript":null}}"#,
                "payload.transcript",
            ),
            (
                r#"{"event_type":"transcript","timestamp_utc":1760084505,"payload":{"call":{"id":1},"type":"ai","transcript":"  "}}"#,
                "payload.transcript",
            ),
            (
                r#"{"event_type":"transcript","timestamp_utc":1760084505,"payload":{"type":"ai","transcript":"hi"}}"#,
                "call",
            ),
            (
                r#"{"event_type":"error","timestamp_utc":1760084505,"payload":{"call":{"from":"+14155552671"}}}"#,
                "payload.call",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"from":"call me"}}"#,
                "payload.from",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"direction":"sideways"}}"#,
                "payload.direction",
            ),
            (
                r#"{"event_type":"error","timestamp_utc":1760084505,"payload":{"call":{"id":1,"to":"12"}}}"#,
                "payload.call.to",
            ),
            (
                r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1},"is_test":"yes"}"#,
                "is_test",
            ),
        ];
        for (body, field) in cases {
            let err = map(body).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{body}");
            assert!(err.message.contains(field), "{body}: {}", err.message);
        }
    }
}
