//! Zonitel: the SMS webhook (seed 001), inbound messages and the status
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
//! A text over [`MAX_MESSAGE_TEXT_BYTES`] is refused: far beyond any SMS or
//! MMS, and what keeps the transaction (raw body plus split text) inside
//! DynamoDB's 4 MB. Media URLs and the provider's `message` are bounded so
//! the summary stays under the 400 KB item limit.

use crate::event::{Channel, Direction, Event, Provider, SmsStatus};
use crate::http::{parse_json, ApiError};
use crate::phone::PhoneNumber;
use crate::store::keys::{self, PK, SK};
use crate::store::plan::{n, s, split_utf8, Condition, GuardedPut, Item, SummaryUpdate, WritePlan};
use crate::time::{self, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

/// A message text up to this many bytes is kept on the summary item itself.
/// Every delivery re-sends the text in its `if_not_exists` update: DynamoDB
/// counts the item after the update, but moto (the local endpoint) counts an
/// overwritten value twice, so the summary and each part stay under half of
/// the 400 KB limit and the local stack behaves like DynamoDB.
pub const INLINE_TEXT_BYTES: usize = 100_000;
/// Each part of a longer text holds at most this many bytes.
pub const TEXT_PART_BYTES: usize = 150_000;
/// The longest text accepted: 1 MiB of UTF-8. An SMS joins at most 255
/// segments (under 40,000 characters); this leaves room for any MMS text
/// while the raw body (up to 2 MiB) and the text's split copy stay inside
/// DynamoDB's 4 MB transaction limit.
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

/// The notification as Zonitel documents it. Fields Zonitel may add later
/// are ignored (and kept in the raw payload), not refused.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SmsNotification {
    pub status: String,
    pub data: SmsData,
    /// A human sentence about the status; for `failed`, why.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct SmsData {
    pub id: String,
    /// How many SMS segments the text took; a positive integer when given.
    #[serde(default)]
    pub segments: Option<u32>,
    pub direction: String,
    #[serde(default, rename = "messageText")]
    pub message_text: Option<String>,
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub medias: Option<Vec<String>>,
}

/// One validated delivery: the normalized event plus what the message
/// summary and status history keep.
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

/// Parses and validates the body; every error names its field.
pub fn parse_notification(body: &[u8]) -> Result<SmsNotification, ApiError> {
    parse_json(body)
}

/// Validates a notification and normalizes it into a delivery.
pub fn sms_delivery(
    notification: &SmsNotification,
    raw: &str,
    received_at: Timestamp,
) -> Result<SmsDelivery, ApiError> {
    let status_text = notification.status.trim();
    if status_text.is_empty() {
        return Err(ApiError::invalid_field("status", "is empty"));
    }
    if status_text.chars().count() > MAX_STATUS_CHARS {
        return Err(ApiError::invalid_field(
            "status",
            format!("is longer than {MAX_STATUS_CHARS} characters"),
        ));
    }
    let status = SmsStatus::parse(status_text);
    let kind = match status {
        Some(known) => known.as_str().to_string(),
        None => status_text.to_string(),
    };

    let data = &notification.data;
    let id = data.id.trim();
    if id.is_empty() {
        return Err(ApiError::invalid_field("data.id", "is empty"));
    }
    if id.chars().count() > MAX_ID_CHARS {
        return Err(ApiError::invalid_field(
            "data.id",
            format!("is longer than {MAX_ID_CHARS} characters"),
        ));
    }
    if data.segments == Some(0) {
        return Err(ApiError::invalid_field(
            "data.segments",
            "must be a positive integer",
        ));
    }
    let direction = parse_direction(&data.direction)?;
    let from =
        PhoneNumber::parse(&data.from).map_err(|e| ApiError::invalid_field("data.from", e))?;
    let to = PhoneNumber::parse(&data.to).map_err(|e| ApiError::invalid_field("data.to", e))?;
    if let Some(text) = &data.message_text {
        if text.len() > MAX_MESSAGE_TEXT_BYTES {
            return Err(ApiError::invalid_field(
                "data.messageText",
                format!(
                    "is {} bytes; the limit is {MAX_MESSAGE_TEXT_BYTES} bytes",
                    text.len()
                ),
            ));
        }
    }
    if let Some(medias) = &data.medias {
        let bytes: usize = medias.iter().map(String::len).sum();
        if medias.len() > MAX_MEDIAS || bytes > MAX_MEDIAS_BYTES {
            return Err(ApiError::invalid_field(
                "data.medias",
                format!(
                    "has {} URLs in {bytes} bytes; the limit is {MAX_MEDIAS} URLs in {MAX_MEDIAS_BYTES} bytes",
                    medias.len()
                ),
            ));
        }
    }
    let provider_message = notification
        .message
        .as_deref()
        .filter(|m| !m.trim().is_empty());
    if let Some(message) = provider_message {
        if message.len() > MAX_PROVIDER_MESSAGE_BYTES {
            return Err(ApiError::invalid_field(
                "message",
                format!(
                    "is {} bytes; the limit is {MAX_PROVIDER_MESSAGE_BYTES} bytes",
                    message.len()
                ),
            ));
        }
    }

    let event = Event {
        provider: Provider::Zonitel,
        channel: Channel::Sms,
        provider_id: id.to_string(),
        direction: Some(direction),
        from: Some(from),
        to: Some(to),
        caller_name: None,
        // Zonitel sends no time: the status happened when it reached us.
        occurred_at: received_at,
        received_at,
        is_test: false,
        // One record per status: a repeated status is the same delivery.
        delivery_key: kind.clone(),
        kind,
        raw: raw.to_string(),
        anomalies: Vec::new(),
    };
    Ok(SmsDelivery {
        event,
        status,
        segments: data.segments,
        message_text: data.message_text.clone(),
        medias: data.medias.clone(),
        provider_message: provider_message.map(str::to_string),
    })
}

/// `inbound` or `outbound`, in any letter case.
fn parse_direction(value: &str) -> Result<Direction, ApiError> {
    let value = value.trim();
    [Direction::Inbound, Direction::Outbound]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(value))
        .ok_or_else(|| ApiError::invalid_field("data.direction", "must be inbound or outbound"))
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
    entry.insert(
        "known".into(),
        AttributeValue::Bool(delivery.status.is_some()),
    );
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
    if let Some(segments) = delivery.segments {
        summary.set_once("segments", n(segments));
    }
    if let Some(medias) = &delivery.medias {
        summary.set_once("medias", AttributeValue::L(medias.iter().map(s).collect()));
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

#[cfg(test)]
mod tests {
    use super::*;

    pub const INBOUND: &str = r#"{ "status": "received", "data": { "id": "11111111-aaaa-2222-bbbb-333333333333", "segments": 1, "direction": "inbound", "messageText": "Hello, this is a test SMS", "from": "+10000000010", "to": "+10000000020", "medias": [] }, "message": "SMS message received successfully" }"#;
    pub const DELIVERED: &str = r#"{ "status": "delivered", "data": { "id": "44444444-cccc-5555-dddd-666666666666", "segments": 1, "direction": "outbound", "messageText": "Test outbound SMS with media", "from": "+10000000020", "to": "+10000000030", "medias": [ "https://example.com/media1.jpg" ] }, "message": "SMS message delivered successfully" }"#;

    fn at_ms(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    fn delivery_of(body: &str) -> Result<SmsDelivery, ApiError> {
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
    fn bad_fields_are_named() {
        let cases: Vec<(String, &str)> = vec![
            (r#"{"status":"received"}"#.into(), "data"),
            (r#"{"status":"received","data":null}"#.into(), "data"),
            (r#"{"status":"received","data":"x"}"#.into(), "data"),
            (r#"{"status":"received","data":[1]}"#.into(), "data"),
            (with(INBOUND, r#""status": "received", "#, ""), "status"),
            (with(INBOUND, r#""received""#, "5"), "status"),
            (with(INBOUND, r#""received""#, r#""  ""#), "status"),
            (
                with(INBOUND, "11111111-aaaa-2222-bbbb-333333333333", ""),
                "data.id",
            ),
            (
                with(
                    INBOUND,
                    r#""11111111-aaaa-2222-bbbb-333333333333""#,
                    r#"" ""#,
                ),
                "data.id",
            ),
            (
                with(INBOUND, r#""11111111-aaaa-2222-bbbb-333333333333""#, "7"),
                "data.id",
            ),
            (
                with(INBOUND, r#""segments": 1"#, r#""segments": 0"#),
                "data.segments",
            ),
            (
                with(INBOUND, r#""segments": 1"#, r#""segments": -1"#),
                "data.segments",
            ),
            (
                with(INBOUND, r#""segments": 1"#, r#""segments": 1.5"#),
                "data.segments",
            ),
            (
                with(INBOUND, r#""segments": 1"#, r#""segments": "1""#),
                "data.segments",
            ),
            (
                with(INBOUND, r#""medias": []"#, r#""medias": "x""#),
                "data.medias",
            ),
            (
                with(INBOUND, r#""medias": []"#, r#""medias": [1]"#),
                "data.medias",
            ),
            (
                with(INBOUND, r#""medias": []"#, r#""medias": {"a":"b"}"#),
                "data.medias",
            ),
            (
                with(INBOUND, r#""inbound""#, r#""sideways""#),
                "data.direction",
            ),
            (with(INBOUND, r#""inbound""#, "null"), "data.direction"),
            (with(INBOUND, r#""from": "+10000000010", "#, ""), "from"),
            (with(INBOUND, r#""+10000000010""#, "null"), "data.from"),
            (
                with(INBOUND, r#""+10000000010""#, r#""call me""#),
                "data.from",
            ),
            (with(INBOUND, r#""+10000000020""#, r#""+1415""#), "data.to"),
            (
                with(INBOUND, r#""Hello, this is a test SMS""#, "42"),
                "data.messageText",
            ),
            (
                with(INBOUND, r#""SMS message received successfully""#, "[]"),
                "message",
            ),
        ];
        for (body, field) in cases {
            let err = delivery_of(&body).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{body}");
            assert!(err.message.contains(field), "{body}: {}", err.message);
        }
    }

    #[test]
    fn sizes_are_bounded_by_field() {
        let text = "é".repeat(MAX_MESSAGE_TEXT_BYTES / 2 + 1);
        let body = with(INBOUND, "Hello, this is a test SMS", &text);
        assert!(delivery_of(&body)
            .unwrap_err()
            .message
            .starts_with("data.messageText: "));
        let urls = vec![format!("\"https://example.com/{}\"", "a".repeat(1000)); 70].join(",");
        let body = with(
            INBOUND,
            r#""medias": []"#,
            &format!(r#""medias": [{urls}]"#),
        );
        assert!(delivery_of(&body)
            .unwrap_err()
            .message
            .starts_with("data.medias: "));
        let body = with(
            INBOUND,
            "SMS message received successfully",
            &"m".repeat(MAX_PROVIDER_MESSAGE_BYTES + 1),
        );
        assert!(delivery_of(&body)
            .unwrap_err()
            .message
            .starts_with("message: "));
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
