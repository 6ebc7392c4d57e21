//! Zonitel: the SMS webhook (docs/providers/zonitel.md), inbound messages and the status
//! changes of outbound ones, all posted to one URL.
//!
//! Zonitel posts `{status, data: {id, segments, direction, messageText,
//! from, to, medias}, message}` and wants a 200 within 5 s. Documented
//! statuses: `received` (inbound), `sent`, `delivered`, `failed`
//! (outbound). A status the documents do not list is stored as it came.
//!
//! One delivery writes, in one transaction:
//! * the event (raw body kept exactly, split when large);
//! * the status-history entry `STATUS#<status>`, put only if absent: a
//!   repeated status collides with it, so the delivery is a duplicate and
//!   nothing is written;
//! * the message summary: identity, text and media set once, and the
//!   moment of each known status set once. The current status is derived
//!   from those moments ([`SmsMoments::status`]), so it never moves
//!   backwards whatever order the statuses arrive in.
//!
//! Sizes: the text is kept whole on the summary up to [`INLINE_TEXT_BYTES`]
//! and split across `SUMMARY#PART#nnnn` items beyond (each part set once).
//! A text over [`MAX_MESSAGE_TEXT_BYTES`] is stored cut to that on the
//! summary (whole in the raw body): far beyond any SMS or MMS, and what
//! keeps the transaction (raw body plus split text) inside DynamoDB's 4 MB.
//! Media URLs and the provider's `message` are bounded the same way so the
//! summary stays under the 400 KB item limit.
//!
//! Real senders differ from the documents: numbers without `+`, short codes
//! and sender ids, `segments` as a string, `medias` as one string, ids as
//! numbers, statuses nobody documented. Each is read around and named in
//! the event's `anomalies`; only a body that names no message (no `data`
//! object, no `data.id`) or no status is refused, for the pipeline to keep
//! as an unrecognized delivery.

use crate::event::{Channel, Direction, Event, Provider, SmsStatus};
use crate::lifecycle;
use crate::phone::{self, json_type, shown};
use crate::providers::zonitel::present;
use crate::providers::{parse_json, ReadError};
use crate::store::keys::{self, PK, SK};
use crate::store::plan::{
    b, n, s, split_utf8, string_list, Condition, GuardedPut, Item, SummaryUpdate, WritePlan,
};
use crate::time::{self, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// A message text up to this many bytes is kept on the summary item itself.
/// Every delivery re-sends the text in its `if_not_exists` update: DynamoDB
/// counts the item after the update, but moto (the local endpoint) counts an
/// overwritten value twice, so the summary and each part stay under half of
/// the 400 KB limit and the local stack behaves like DynamoDB.
pub const INLINE_TEXT_BYTES: usize = 100_000;
/// Each part of a longer text holds at most this many bytes.
pub const TEXT_PART_BYTES: usize = 150_000;
/// The longest text stored on the summary: 1 MiB of UTF-8. An SMS joins at
/// most 255 segments (under 40,000 characters); this leaves room for any
/// MMS text while the raw body (up to 2 MiB) and the text's split copy stay
/// inside DynamoDB's 4 MB transaction limit. A longer text is cut here.
pub const MAX_MESSAGE_TEXT_BYTES: usize = 1024 * 1024;
/// Media URLs: at most this many, and this many bytes in all.
pub const MAX_MEDIAS: usize = 100;
pub const MAX_MEDIAS_BYTES: usize = 64 * 1024;
/// The provider's `message` is a sentence ("SMS message delivered
/// successfully"); this is generous.
pub const MAX_PROVIDER_MESSAGE_BYTES: usize = 16 * 1024;
/// Message ids are UUIDs; statuses are single words.
pub const MAX_ID_CHARS: usize = 256;
pub const MAX_STATUS_CHARS: usize = 64;

/// The notification: each documented field as whatever JSON value came
/// (`None` when missing), read tolerantly by [`sms_delivery`]. Fields
/// Zonitel may add later are ignored (and kept in the raw payload).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SmsNotification {
    #[serde(default, deserialize_with = "present")]
    pub status: Option<Value>,
    /// `{id, segments, direction, messageText, from, to, medias}`.
    #[serde(default, deserialize_with = "present")]
    pub data: Option<Value>,
    /// A human sentence about the status; for `failed`, why.
    #[serde(default, deserialize_with = "present")]
    pub message: Option<Value>,
}

/// One read delivery: the normalized event plus what the message summary
/// and status history keep.
#[derive(Clone, Debug, PartialEq)]
pub struct SmsDelivery {
    pub event: Event,
    /// The documented status, or `None` for one the documents do not list
    /// (then `event.kind` holds it as it came).
    pub status: Option<SmsStatus>,
    pub segments: Option<u32>,
    pub message_text: Option<String>,
    pub medias: Option<Vec<String>>,
    /// The provider's `message`, if not empty.
    pub provider_message: Option<String>,
}

impl SmsDelivery {
    /// The status as stored: canonical for a documented one, else as it came
    /// (trimmed).
    pub fn status_name(&self) -> &str {
        &self.event.kind
    }

    /// A documented status that does not fit the direction (`received` on an
    /// outbound message, or the reverse): stored all the same.
    pub fn status_contradicts_direction(&self) -> bool {
        match (self.status, self.event.direction) {
            (Some(SmsStatus::Received), Some(Direction::Outbound)) => true,
            (Some(s), Some(Direction::Inbound)) => s != SmsStatus::Received,
            _ => false,
        }
    }
}

/// Parses the body: refused only when it is not a JSON object.
pub fn parse_notification(body: &[u8]) -> Result<SmsNotification, ReadError> {
    parse_json(body)
}

/// Reads a notification into a delivery. Refused only when it names no
/// message (`data` not an object, no usable `data.id`) or no status; every
/// other oddity is read around and named in `event.anomalies`.
pub fn sms_delivery(
    notification: &SmsNotification,
    raw: &str,
    received_at: Timestamp,
) -> Result<SmsDelivery, ReadError> {
    let mut anomalies = Vec::new();
    let kind_text = read_status(notification.status.as_ref(), &mut anomalies)?;
    let status = SmsStatus::parse(&kind_text);
    let kind = match status {
        Some(known) => known.as_str().to_string(),
        None => {
            anomalies.push(format!(
                "status: {} is not in Zonitel's documents, kept as sent",
                shown(&kind_text)
            ));
            kind_text
        }
    };

    let data = match &notification.data {
        Some(Value::Object(data)) => data,
        Some(other) => {
            return Err(ReadError::field(
                "data",
                format!(
                    "is a JSON {}; expected an object naming the message",
                    json_type(other)
                ),
            ))
        }
        None => {
            return Err(ReadError::field(
                "data",
                "is missing: the delivery names no message",
            ))
        }
    };
    let id = read_id(data.get("id"), &mut anomalies)?;
    let segments = read_segments(data.get("segments"), &mut anomalies);
    let direction = read_direction(data.get("direction"), status, &mut anomalies);
    let from = phone::read_json_number("data.from", data.get("from"), &mut anomalies);
    let to = phone::read_json_number("data.to", data.get("to"), &mut anomalies);
    let message_text = read_text(
        "data.messageText",
        data.get("messageText"),
        MAX_MESSAGE_TEXT_BYTES,
        &mut anomalies,
    );
    let medias = read_medias(data.get("medias"), &mut anomalies);
    let provider_message = read_text(
        "message",
        notification.message.as_ref(),
        MAX_PROVIDER_MESSAGE_BYTES,
        &mut anomalies,
    )
    .filter(|m| !m.trim().is_empty());

    let event = Event {
        provider: Provider::Zonitel,
        channel: Channel::Sms,
        provider_id: id,
        direction,
        from,
        to,
        caller_name: None,
        // Zonitel sends no time: the status happened when it reached us.
        occurred_at: received_at,
        received_at,
        is_test: false,
        // One record per status: a repeated status is the same delivery.
        delivery_key: kind.clone(),
        kind,
        raw: raw.to_string(),
        anomalies,
    };
    Ok(SmsDelivery {
        event,
        status,
        segments,
        message_text,
        medias,
        provider_message,
    })
}

/// The status as text: a string (or a number or boolean, as text), cleaned
/// of control characters and bounded. Refused when missing or empty: the
/// status is what tells one delivery of a message from another.
fn read_status(value: Option<&Value>, anomalies: &mut Vec<String>) -> Result<String, ReadError> {
    let text = match value {
        Some(Value::String(text)) => text.clone(),
        Some(value @ (Value::Number(_) | Value::Bool(_))) => {
            anomalies.push(format!("status: a JSON {}, read as text", json_type(value)));
            value.to_string()
        }
        Some(Value::Null) | None => {
            return Err(ReadError::field(
                "status",
                "is missing: the delivery names no status",
            ))
        }
        Some(other) => {
            return Err(ReadError::field(
                "status",
                format!("is a JSON {}; expected a status name", json_type(other)),
            ))
        }
    };
    let safe = phone::safe_display_text(&text, MAX_STATUS_CHARS);
    note_cleaning("status", &safe, MAX_STATUS_CHARS, anomalies);
    safe.text
        .ok_or_else(|| ReadError::field("status", "is empty"))
}

/// The message id: a string, or a number as its digits; cleaned of control
/// characters and bounded. Refused when missing or empty.
fn read_id(value: Option<&Value>, anomalies: &mut Vec<String>) -> Result<String, ReadError> {
    let text = match value {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => {
            anomalies.push("data.id: a JSON number, read as text".to_string());
            number.to_string()
        }
        Some(Value::Null) | None => {
            return Err(ReadError::field(
                "data.id",
                "is missing: the delivery names no message",
            ))
        }
        Some(other) => {
            return Err(ReadError::field(
                "data.id",
                format!("is a JSON {}; expected the message id", json_type(other)),
            ))
        }
    };
    let safe = phone::safe_display_text(&text, MAX_ID_CHARS);
    note_cleaning("data.id", &safe, MAX_ID_CHARS, anomalies);
    safe.text
        .ok_or_else(|| ReadError::field("data.id", "is empty"))
}

fn note_cleaning(
    field: &str,
    safe: &phone::SafeText,
    max_chars: usize,
    anomalies: &mut Vec<String>,
) {
    if safe.cleaned {
        anomalies.push(format!(
            "{field}: control characters removed (as sent in raw)"
        ));
    }
    if safe.cut {
        anomalies.push(format!(
            "{field}: longer than {max_chars} characters, cut (whole in raw)"
        ));
    }
}

/// A positive integer, also when sent as a string (`"2"`) or a float with
/// no fraction; anything else is ignored and named.
fn read_segments(value: Option<&Value>, anomalies: &mut Vec<String>) -> Option<u32> {
    let positive = |n: u64| u32::try_from(n).ok().filter(|n| *n > 0);
    let (read, note) = match value? {
        Value::Null => return None,
        Value::Number(number) => match number.as_u64() {
            Some(n) => (positive(n), None),
            None => match number.as_f64() {
                Some(f) if f.fract() == 0.0 && f > 0.0 && f <= f64::from(u32::MAX) => {
                    (positive(f as u64), Some("a float, read as an integer"))
                }
                _ => (None, None),
            },
        },
        Value::String(text) => (
            text.trim().parse::<u64>().ok().and_then(positive),
            Some("a string, read as a number"),
        ),
        _ => (None, None),
    };
    match (read, note) {
        (Some(_), Some(note)) => anomalies.push(format!("data.segments: {note}")),
        (Some(_), None) => {}
        (None, _) => anomalies.push(format!(
            "data.segments: {} is not a positive integer, ignored",
            shown(&value?.to_string())
        )),
    }
    read
}

/// `inbound` or `outbound` in any letter case; otherwise what the status
/// implies (`received` is inbound, the others outbound), named.
fn read_direction(
    value: Option<&Value>,
    status: Option<SmsStatus>,
    anomalies: &mut Vec<String>,
) -> Option<Direction> {
    if let Some(Value::String(text)) = value {
        let text = text.trim();
        if let Some(direction) = [Direction::Inbound, Direction::Outbound]
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(text))
        {
            return Some(direction);
        }
    }
    let what = match value {
        None => "missing".to_string(),
        Some(Value::String(text)) => format!("{} is not inbound or outbound", shown(text)),
        Some(other) => format!("a JSON {}", json_type(other)),
    };
    let implied = status.map(|s| match s {
        SmsStatus::Received => Direction::Inbound,
        _ => Direction::Outbound,
    });
    match implied {
        Some(d) => anomalies.push(format!(
            "data.direction: {what}, read as {} from the status",
            d.as_str()
        )),
        None => anomalies.push(format!("data.direction: {what}, left unknown")),
    }
    implied
}

/// A text field: a string (a number or boolean as text), cut at `max_bytes`
/// on a character boundary; a list or object is ignored. Each named.
fn read_text(
    field: &str,
    value: Option<&Value>,
    max_bytes: usize,
    anomalies: &mut Vec<String>,
) -> Option<String> {
    let text = match value? {
        Value::Null => return None,
        Value::String(text) => text.clone(),
        value @ (Value::Number(_) | Value::Bool(_)) => {
            anomalies.push(format!(
                "{field}: a JSON {}, read as text",
                json_type(value)
            ));
            value.to_string()
        }
        other => {
            anomalies.push(format!(
                "{field}: a JSON {}, ignored (kept in raw)",
                json_type(other)
            ));
            return None;
        }
    };
    if text.len() <= max_bytes {
        return Some(text);
    }
    anomalies.push(format!(
        "{field}: {} bytes, the first {max_bytes} kept (whole in raw)",
        text.len()
    ));
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(text[..end].to_string())
}

/// Media URLs: a list of strings as documented; also one string, and list
/// entries `{"url": ...}`. Other entries are dropped, and the list is cut
/// at [`MAX_MEDIAS`] URLs and [`MAX_MEDIAS_BYTES`]; each named.
fn read_medias(value: Option<&Value>, anomalies: &mut Vec<String>) -> Option<Vec<String>> {
    let entries: Vec<&Value> = match value? {
        Value::Null => return None,
        Value::Array(entries) => entries.iter().collect(),
        one @ Value::String(_) => {
            anomalies.push("data.medias: one string, read as a list of one".to_string());
            vec![one]
        }
        other => {
            anomalies.push(format!(
                "data.medias: a JSON {}, ignored (kept in raw)",
                json_type(other)
            ));
            return None;
        }
    };
    let mut medias = Vec::with_capacity(entries.len().min(MAX_MEDIAS));
    let (mut bytes, mut dropped, mut objects, mut cut) = (0, 0, 0, false);
    for entry in entries {
        let url = match entry {
            Value::String(url) => url.clone(),
            Value::Object(fields) => match fields.get("url").and_then(Value::as_str) {
                Some(url) => {
                    objects += 1;
                    url.to_string()
                }
                None => {
                    dropped += 1;
                    continue;
                }
            },
            _ => {
                dropped += 1;
                continue;
            }
        };
        if medias.len() == MAX_MEDIAS || bytes + url.len() > MAX_MEDIAS_BYTES {
            cut = true;
            break;
        }
        bytes += url.len();
        medias.push(url);
    }
    if objects > 0 {
        anomalies.push(format!(
            "data.medias: {objects} entries as {{\"url\": ...}} objects, read as their URLs"
        ));
    }
    if dropped > 0 {
        anomalies.push(format!(
            "data.medias: {dropped} entries not URLs, dropped (kept in raw)"
        ));
    }
    if cut {
        anomalies.push(format!(
            "data.medias: more than {MAX_MEDIAS} URLs or {MAX_MEDIAS_BYTES} bytes, the first {} kept (all in raw)",
            medias.len()
        ));
    }
    Some(medias)
}

/// What one delivery writes, in one request: the event (and raw parts), the
/// status-history entry (absent, or the delivery is a duplicate), the
/// message summary, and the text's parts when it is long.
pub fn sms_plan(delivery: &SmsDelivery, retention_days: u32) -> WritePlan {
    let event = &delivery.event;
    let mut plan = WritePlan::for_event(event, retention_days);
    let pk = keys::conversation_pk(event.channel, event.provider, &event.provider_id);
    let at = time::to_key(event.received_at);
    let occurred = time::to_key(event.occurred_at);

    let mut entry = Item::with_capacity(10);
    entry.insert(PK.into(), s(&pk));
    entry.insert(SK.into(), s(keys::status_sk(delivery.status_name())));
    entry.insert(keys::ITEM_TYPE.into(), s("sms_status"));
    entry.insert("provider".into(), s(event.provider.as_str()));
    entry.insert("message_id".into(), s(&event.provider_id));
    entry.insert("status".into(), s(delivery.status_name()));
    entry.insert("known".into(), b(delivery.status.is_some()));
    entry.insert("at".into(), s(&at));
    let expires = n(time::expires_at(event.received_at, retention_days));
    entry.insert(keys::TTL.into(), expires.clone());
    entry.insert(
        "event_sk".into(),
        s(keys::event_sk(&occurred, &event.kind, &event.delivery_key)),
    );
    if let Some(message) = &delivery.provider_message {
        entry.insert("message".into(), s(message));
    }
    plan.puts.push(GuardedPut {
        item: entry,
        condition: Some(Condition::item_absent()),
    });

    let mut text_parts = Vec::new();
    let summary = plan.summary_mut();
    if let Some(status) = delivery.status {
        summary.set_once(status.moment_attribute(), s(&at));
        if status == SmsStatus::Failed {
            if let Some(message) = &delivery.provider_message {
                summary.set_once("failure_message", s(message));
            }
        }
    }
    if let (Some(status), Some(Direction::Outbound), false) =
        (delivery.status, event.direction, event.is_test)
    {
        if let Some(fact) = lifecycle::zonitel_sms_fact(status) {
            lifecycle::note(
                summary,
                &lifecycle::ZONITEL_SMS_OUTBOUND,
                fact,
                event.received_at,
            );
        }
    }
    if let Some(segments) = delivery.segments {
        summary.set_once("segments", n(segments));
    }
    if let Some(medias) = &delivery.medias {
        summary.set_once("medias", string_list(medias));
    }
    if let Some(text) = &delivery.message_text {
        if text.len() <= INLINE_TEXT_BYTES {
            summary.set_once("message_text", s(text));
        } else {
            let parts = split_utf8(text, TEXT_PART_BYTES);
            summary.set_once("message_text_parts", n(parts.len()));
            for (index, part) in parts.into_iter().enumerate() {
                // Updates, not conditional puts: the first text written
                // stays, and a later delivery never collides on it.
                let mut update =
                    SummaryUpdate::new(&pk, keys::part_sk(keys::SUMMARY_SK, index + 1));
                update
                    .set_once(keys::ITEM_TYPE, s("sms_text_part"))
                    .set_once("text", s(part))
                    .set(keys::TTL, expires.clone());
                text_parts.push(update);
            }
        }
    }
    plan.updates.extend(text_parts);
    plan
}

/// The route's [`crate::providers::Reader`]: an inbound message or an
/// outbound message's status.
pub fn read_payload(
    payload: &crate::providers::Payload,
    retention_days: u32,
) -> Result<crate::providers::Reading, ReadError> {
    let (body, anomaly) = crate::providers::json_body(payload)?;
    let notification = parse_notification(&body)?;
    let sms = sms_delivery(
        &notification,
        crate::providers::raw_text(payload)?,
        payload.received_at,
    )?;
    let plan = sms_plan(&sms, retention_days);
    let answer = serde_json::json!({
        "message_id": sms.event.provider_id,
        "sms_status": sms.event.kind,
    });
    Ok(crate::providers::Reading {
        event: sms.event,
        plan,
        answer,
    }
    .with_anomaly(anomaly))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::AttributeValue;

    pub const INBOUND: &str = r#"{ "status": "received", "data": { "id": "11111111-aaaa-2222-bbbb-333333333333", "segments": 1, "direction": "inbound", "messageText": "Hello, this is a test SMS", "from": "+10000000010", "to": "+10000000020", "medias": [] }, "message": "SMS message received successfully" }"#;
    pub const DELIVERED: &str = r#"{ "status": "delivered", "data": { "id": "44444444-cccc-5555-dddd-666666666666", "segments": 1, "direction": "outbound", "messageText": "Test outbound SMS with media", "from": "+10000000020", "to": "+10000000030", "medias": [ "https://example.com/media1.jpg" ] }, "message": "SMS message delivered successfully" }"#;

    fn at_ms(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    fn delivery_of(body: &str) -> Result<SmsDelivery, ReadError> {
        let notification = parse_notification(body.as_bytes())?;
        sms_delivery(&notification, body, at_ms(1_763_913_082_123))
    }

    fn with(body: &str, from: &str, to: &str) -> String {
        body.replacen(from, to, 1)
    }

    fn set_once_names(update: &SummaryUpdate) -> Vec<&str> {
        update.set_once.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn seed_payloads_normalize() {
        let inbound = delivery_of(INBOUND).unwrap();
        assert_eq!(inbound.status, Some(SmsStatus::Received));
        assert_eq!(inbound.event.kind, "received");
        assert_eq!(inbound.event.delivery_key, "received");
        assert_eq!(
            inbound.event.provider_id,
            "11111111-aaaa-2222-bbbb-333333333333"
        );
        assert_eq!(inbound.event.channel, Channel::Sms);
        assert_eq!(inbound.event.direction, Some(Direction::Inbound));
        assert_eq!(
            inbound.event.from.as_ref().unwrap().as_str(),
            "+10000000010"
        );
        assert_eq!(inbound.event.to.as_ref().unwrap().as_str(), "+10000000020");
        assert_eq!(inbound.medias, Some(vec![]));
        assert_eq!(inbound.event.raw, INBOUND);
        assert!(!inbound.status_contradicts_direction());

        let delivered = delivery_of(DELIVERED).unwrap();
        assert_eq!(delivered.status, Some(SmsStatus::Delivered));
        assert_eq!(
            delivered.medias,
            Some(vec!["https://example.com/media1.jpg".to_string()])
        );
        assert_eq!(delivered.segments, Some(1));
        assert_eq!(
            delivered.provider_message.as_deref(),
            Some("SMS message delivered successfully")
        );
    }

    #[test]
    fn unknown_status_is_kept_as_it_came_and_known_ones_are_canonical() {
        let queued = delivery_of(&with(DELIVERED, "\"delivered\"", "\" Queued \"")).unwrap();
        assert_eq!(queued.status, None);
        assert_eq!(queued.status_name(), "Queued");
        let plan = sms_plan(&queued, 30);
        assert_eq!(plan.puts[1].item[SK], s("STATUS#Queued"));
        assert_eq!(plan.puts[1].item["known"], AttributeValue::Bool(false));
        // No status moment: the derived status ignores what it cannot rank.
        assert!(!set_once_names(&plan.updates[0])
            .iter()
            .any(|n| n.ends_with("_at") && *n != "first_seen_at"));
        let upper = delivery_of(&with(DELIVERED, "\"delivered\"", "\"DELIVERED\"")).unwrap();
        assert_eq!(upper.status, Some(SmsStatus::Delivered));
        assert_eq!(upper.status_name(), "delivered");
        let contradicting = delivery_of(&with(INBOUND, "\"received\"", "\"sent\"")).unwrap();
        assert!(contradicting.status_contradicts_direction());
    }

    #[test]
    fn optional_fields_may_be_missing_or_null() {
        let body = r#"{"status":"sent","data":{"id":"m1","direction":"outbound","from":"+10000000020","to":"+10000000030","segments":null,"messageText":null,"medias":null}}"#;
        let delivery = delivery_of(body).unwrap();
        assert_eq!(delivery.segments, None);
        assert_eq!(delivery.message_text, None);
        assert_eq!(delivery.medias, None);
        assert_eq!(delivery.provider_message, None);
        let plan = sms_plan(&delivery, 30);
        let names = set_once_names(&plan.updates[0]);
        for absent in ["segments", "message_text", "medias", "failure_message"] {
            assert!(!names.contains(&absent), "{absent}");
        }
    }

    #[test]
    fn seeds_have_no_anomalies() {
        for body in [INBOUND, DELIVERED] {
            assert_eq!(
                delivery_of(body).unwrap().event.anomalies,
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn what_names_no_message_or_status_is_not_read() {
        let cases: Vec<(String, &str)> = vec![
            (r#"{"status":"received"}"#.into(), "data"),
            (r#"{"status":"received","data":null}"#.into(), "data"),
            (r#"{"status":"received","data":"x"}"#.into(), "data"),
            (r#"{"status":"received","data":[1]}"#.into(), "data"),
            (with(INBOUND, r#""status": "received", "#, ""), "status"),
            (with(INBOUND, r#""received""#, "null"), "status"),
            (with(INBOUND, r#""received""#, "[]"), "status"),
            (with(INBOUND, r#""received""#, r#""  ""#), "status"),
            (
                with(
                    INBOUND,
                    r#""id": "11111111-aaaa-2222-bbbb-333333333333", "#,
                    "",
                ),
                "data.id",
            ),
            (
                with(INBOUND, "11111111-aaaa-2222-bbbb-333333333333", ""),
                "data.id",
            ),
            (
                with(INBOUND, r#""11111111-aaaa-2222-bbbb-333333333333""#, "{}"),
                "data.id",
            ),
            (r#"{"x": 1}"#.into(), "status"),
        ];
        for (body, field) in cases {
            let err = delivery_of(&body).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{body}");
            assert!(
                err.to_string().starts_with(&format!("{field}: ")),
                "{body}: {err}"
            );
        }
        for body in ["", "{", "[1]", "\"received\""] {
            assert!(delivery_of(body).is_err(), "{body}");
        }
    }

    /// `INBOUND` with `from` replaced, read: the delivery and its notes.
    fn read_with(from: &str, to: &str) -> SmsDelivery {
        delivery_of(&with(INBOUND, from, to)).unwrap()
    }

    #[test]
    fn short_codes_and_sender_ids_are_kept_as_sent() {
        for (from, key) in [
            (r#""72345""#, "72345"),
            (r#""ACMEBANK""#, "ACMEBANK"),
            (r#""Acme #1""#, "Acme %231"),
        ] {
            let delivery = read_with(r#""+10000000010""#, from);
            let number = delivery.event.from.as_ref().unwrap();
            assert_eq!(number.as_str(), key);
            assert!(!number.is_e164());
            assert_eq!(
                delivery.event.anomalies,
                vec!["data.from: not E.164, kept as sent".to_string()]
            );
        }
        let delivery = read_with(r#""+10000000020""#, r#""447700900123""#);
        assert_eq!(
            delivery.event.to.as_ref().unwrap().as_str(),
            "+447700900123"
        );
        assert_eq!(
            delivery.event.to.as_ref().unwrap().original(),
            "447700900123"
        );
        let delivery = read_with(r#""+10000000020""#, "14155552671");
        assert_eq!(delivery.event.to.as_ref().unwrap().as_str(), "+14155552671");
        let delivery = read_with(r#""from": "+10000000010", "#, "");
        assert_eq!(delivery.event.from, None);
        assert_eq!(
            delivery.event.anomalies,
            vec!["data.from: missing, read as withheld".to_string()]
        );
    }

    #[test]
    fn odd_fields_are_read_around_and_named() {
        let id = r#""11111111-aaaa-2222-bbbb-333333333333""#;
        for (from, to, check) in [
            (
                r#""segments": 1"#,
                r#""segments": "2""#,
                (|d: &SmsDelivery| d.segments == Some(2)) as fn(&SmsDelivery) -> bool,
            ),
            (r#""segments": 1"#, r#""segments": 3.0"#, |d| {
                d.segments == Some(3)
            }),
            (r#""segments": 1"#, r#""segments": 0"#, |d| {
                d.segments.is_none()
            }),
            (r#""segments": 1"#, r#""segments": -1"#, |d| {
                d.segments.is_none()
            }),
            (r#""segments": 1"#, r#""segments": "one""#, |d| {
                d.segments.is_none()
            }),
            (r#""segments": 1"#, r#""segments": true"#, |d| {
                d.segments.is_none()
            }),
            (r#""medias": []"#, r#""medias": "https://x/a.jpg""#, |d| {
                d.medias == Some(vec!["https://x/a.jpg".to_string()])
            }),
            (
                r#""medias": []"#,
                r#""medias": ["https://x/a.jpg", 1, null, {"url": "https://x/b.jpg"}]"#,
                |d| d.medias == Some(vec!["https://x/a.jpg".into(), "https://x/b.jpg".into()]),
            ),
            (r#""medias": []"#, r#""medias": {"a": "b"}"#, |d| {
                d.medias.is_none()
            }),
            (id, "7", |d| d.event.provider_id == "7"),
            (id, r#"" m\u0000 1 ""#, |d| d.event.provider_id == "m 1"),
            (r#""inbound""#, r#""sideways""#, |d| {
                d.event.direction == Some(Direction::Inbound)
            }),
            (r#""direction": "inbound", "#, "", |d| {
                d.event.direction == Some(Direction::Inbound)
            }),
            (r#""Hello, this is a test SMS""#, "42", |d| {
                d.message_text.as_deref() == Some("42")
            }),
            (r#""Hello, this is a test SMS""#, r#"["Hello"]"#, |d| {
                d.message_text.is_none()
            }),
            (r#""SMS message received successfully""#, "[]", |d| {
                d.provider_message.is_none()
            }),
            (r#""received""#, "7", |d| {
                d.event.kind == "7" && d.status.is_none()
            }),
        ] {
            let body = with(INBOUND, from, to);
            let delivery = delivery_of(&body).unwrap();
            assert!(check(&delivery), "{body}: {delivery:?}");
            assert!(
                !delivery.event.anomalies.is_empty(),
                "{body}: nothing named"
            );
            assert_eq!(delivery.event.raw, body);
            sms_plan(&delivery, 30);
        }
        // Missing optional fields and extra ones are not anomalies.
        let body = r#"{"status":"sent","data":{"id":"m1","direction":"outbound","from":"+10000000020","to":"+10000000030","carrier":{"name":"x"}},"extra":[1]}"#;
        let delivery = delivery_of(body).unwrap();
        assert_eq!(delivery.event.anomalies, Vec::<String>::new());
        assert_eq!(delivery.message_text, None);
    }

    #[test]
    fn unknown_statuses_are_kept_and_named() {
        let delivery = delivery_of(&with(DELIVERED, "\"delivered\"", "\"undelivered\"")).unwrap();
        assert_eq!(delivery.status, None);
        assert_eq!(delivery.status_name(), "undelivered");
        assert_eq!(
            delivery.event.anomalies,
            vec![
                r#"status: "undelivered" is not in Zonitel's documents, kept as sent"#.to_string()
            ]
        );
        let long = "q".repeat(MAX_STATUS_CHARS + 10);
        let delivery = delivery_of(&with(DELIVERED, "delivered", &long)).unwrap();
        assert_eq!(delivery.status_name().len(), MAX_STATUS_CHARS);
    }

    #[test]
    fn sizes_are_bounded_by_field() {
        let text = "é".repeat(MAX_MESSAGE_TEXT_BYTES / 2 + 1);
        let body = with(INBOUND, "Hello, this is a test SMS", &text);
        let delivery = delivery_of(&body).unwrap();
        let kept = delivery.message_text.as_deref().unwrap();
        assert_eq!(kept.len(), MAX_MESSAGE_TEXT_BYTES);
        assert!(text.starts_with(kept));
        assert!(delivery.event.anomalies[0].starts_with("data.messageText: "));
        let urls = vec![format!("\"https://example.com/{}\"", "a".repeat(1000)); 70].join(",");
        let body = with(
            INBOUND,
            r#""medias": []"#,
            &format!(r#""medias": [{urls}]"#),
        );
        let delivery = delivery_of(&body).unwrap();
        let medias = delivery.medias.as_ref().unwrap();
        assert!(
            medias.len() < 70 && medias.iter().map(String::len).sum::<usize>() <= MAX_MEDIAS_BYTES
        );
        assert!(delivery.event.anomalies[0].starts_with("data.medias: "));
        let body = with(
            INBOUND,
            "SMS message received successfully",
            &"m".repeat(MAX_PROVIDER_MESSAGE_BYTES + 1),
        );
        let delivery = delivery_of(&body).unwrap();
        assert_eq!(
            delivery.provider_message.unwrap().len(),
            MAX_PROVIDER_MESSAGE_BYTES
        );
        assert!(delivery.event.anomalies[0].starts_with("message: "));
    }

    #[test]
    fn plan_writes_event_status_entry_and_summary_in_one_request() {
        let delivery = delivery_of(DELIVERED).unwrap();
        let plan = sms_plan(&delivery, 30);
        assert_eq!(plan.action_count(), 3);
        let entry = &plan.puts[1];
        assert_eq!(
            entry.item[PK],
            s("SMS#zonitel#44444444-cccc-5555-dddd-666666666666")
        );
        assert_eq!(entry.item[SK], s("STATUS#delivered"));
        assert_eq!(entry.condition, Some(Condition::item_absent()));
        assert_eq!(
            entry.item["message"],
            s("SMS message delivered successfully")
        );
        let summary = &plan.updates[0];
        let names = set_once_names(summary);
        for expected in [
            "delivered_at",
            "segments",
            "medias",
            "message_text",
            "GSI1PK",
            "GSI2PK",
            "from",
            "to",
            "direction",
        ] {
            assert!(names.contains(&expected), "{expected} missing");
        }
        assert!(!names.contains(&"failure_message"));
        let medias = &summary
            .set_once
            .iter()
            .find(|(n, _)| n == "medias")
            .unwrap()
            .1;
        assert_eq!(
            medias,
            &AttributeValue::L(vec![s("https://example.com/media1.jpg")])
        );
    }

    #[test]
    fn failed_status_carries_the_failure_message() {
        let body = with(DELIVERED, "\"delivered\"", "\"failed\"")
            .replace("delivered successfully", "failed: carrier rejected");
        let plan = sms_plan(&delivery_of(&body).unwrap(), 30);
        let summary = &plan.updates[0];
        let value = |name: &str| {
            summary
                .set_once
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value("failed_at"), Some(s("2025-11-23T15:51:22.123Z")));
        assert_eq!(
            value("failure_message"),
            Some(s("SMS message failed: carrier rejected"))
        );
    }

    #[test]
    fn long_text_is_split_into_set_once_parts_never_truncated() {
        let text = "😀".repeat(TEXT_PART_BYTES / 2); // two text parts
        let body = with(INBOUND, "Hello, this is a test SMS", &text);
        let raw_parts = body.len().div_ceil(crate::store::plan::RAW_PART_BYTES);
        let plan = sms_plan(&delivery_of(&body).unwrap(), 30);
        let names = set_once_names(&plan.updates[0]);
        assert!(!names.contains(&"message_text"));
        assert!(names.contains(&"message_text_parts"));
        let parts = &plan.updates[1..];
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].sk, "SUMMARY#PART#0001");
        let joined: String = parts
            .iter()
            .map(|p| {
                let (_, v) = p.set_once.iter().find(|(n, _)| n == "text").unwrap();
                v.as_s().unwrap().clone()
            })
            .collect();
        assert_eq!(joined, text);
        // Event, raw parts, status entry, summary, text parts: one
        // transaction, well under DynamoDB's 100 actions.
        assert_eq!(plan.action_count(), 1 + raw_parts + 1 + 1 + 2);
    }
}
