//! Twilio's messaging requests: an inbound SMS or MMS on the number's
//! messaging URL (`/twilio/messages`), and an outbound message's status
//! callback (`/twilio/message-status`), keyed by `MessageSid`
//! (`SMS#twilio#<MessageSid>`) and written exactly like Zonitel's SMS
//! (`providers::zonitel_sms`):
//!
//! * the event (raw form kept exactly);
//! * the status-history entry `STATUS#<MessageStatus>`, put only if absent:
//!   a repeated status collides with it, so the delivery is a duplicate and
//!   nothing is written;
//! * the message summary: identity, text and media set once, and the moment
//!   of each status the model ranks set once (`received` → `inbound_at`,
//!   `sent` → `sent_at`, `delivered` and `read` → `delivered_at`, `failed`
//!   and `undelivered` → `failed_at`), so the derived status never moves
//!   backwards whatever order the callbacks arrive in. Twilio's other
//!   statuses (queued, accepted, scheduled, sending, canceled...) keep their
//!   history entry only.
//!
//! A `failed` or `undelivered` outbound message carries `failure_message`
//! (Twilio's `ErrorCode` and `ErrorMessage`) and `error_code` on its
//! summary: what the `sms_failed` alert says.

use super::{Hook, MAX_TOKEN_CHARS};
use crate::event::{Channel, Direction, Event, Provider, SmsStatus};
use crate::lifecycle;
use crate::providers::form::{self, normalized, number_param, Form};
use crate::providers::zonitel_sms::{INLINE_TEXT_BYTES, MAX_MEDIAS, MAX_MEDIAS_BYTES};
use crate::providers::ReadError;
use crate::store::keys::{self, PK, SK};
use crate::store::plan::{
    b, n, prefix_within, s, string_list, Condition, GuardedPut, Item, WritePlan,
};
use crate::time::{self, Timestamp};

/// The message statuses Twilio documents; any other is kept and named.
pub const MESSAGE_STATUSES: &[&str] = &[
    "queued",
    "sending",
    "sent",
    "failed",
    "delivered",
    "undelivered",
    "receiving",
    "received",
    "accepted",
    "scheduled",
    "read",
    "partially_delivered",
    "canceled",
];

/// Statuses are single words; a longer one is keyed by its digest.
pub const MAX_STATUS_CHARS: usize = 64;
/// Twilio's error messages are a sentence; this is generous.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 16 * 1024;

/// Wire name, attribute name on the stored event, kept as they came.
const STORED_AS_IS: &[(&str, &str)] = &[
    ("MessageSid", "message_sid"),
    ("SmsSid", "sms_sid"),
    ("AccountSid", "account_sid"),
    ("MessagingServiceSid", "messaging_service_sid"),
    ("MessageStatus", "message_status"),
    ("SmsStatus", "sms_status"),
    ("ApiVersion", "api_version"),
    ("NumMedia", "num_media"),
    ("NumSegments", "num_segments"),
    ("ErrorCode", "error_code"),
    ("ErrorMessage", "error_message"),
    ("FromCity", "from_city"),
    ("FromState", "from_state"),
    ("FromZip", "from_zip"),
    ("FromCountry", "from_country"),
    ("ToCity", "to_city"),
    ("ToState", "to_state"),
    ("ToZip", "to_zip"),
    ("ToCountry", "to_country"),
    ("ProfileName", "profile_name"),
    ("WaId", "wa_id"),
    ("RawDlrDoneDate", "raw_dlr_done_date"),
];

/// One read messaging request: the normalized event plus what the message
/// summary and status history keep.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageDelivery {
    pub event: Event,
    /// The status as the model ranks it, if it ranks it (then `event.kind`
    /// holds Twilio's own word: `undelivered`, `read`, `queued`...).
    pub status: Option<SmsStatus>,
    /// Whether Twilio documents the status.
    pub known: bool,
    pub form: Form,
    pub body: Option<String>,
    pub segments: Option<u32>,
    pub medias: Vec<String>,
    pub media_content_types: Vec<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// The model's rank of a Twilio status.
pub fn ranked(status: &str) -> Option<SmsStatus> {
    match status {
        "received" => Some(SmsStatus::Received),
        "sent" => Some(SmsStatus::Sent),
        "delivered" | "read" => Some(SmsStatus::Delivered),
        "failed" | "undelivered" => Some(SmsStatus::Failed),
        _ => None,
    }
}

/// Reads a messaging request. Refused only when it names no message (no
/// usable `MessageSid`, nor the older `SmsSid`) or, on the status callback,
/// no status. `anomalies` holds what the request's shape already said.
pub fn read_message(
    hook: Hook,
    form: &Form,
    raw: &str,
    received_at: Timestamp,
    mut anomalies: Vec<String>,
) -> Result<MessageDelivery, ReadError> {
    anomalies.extend(
        form.repeated
            .iter()
            .map(|name| format!("{name}: sent more than once; the first value is read")),
    );
    let sid = match (form.present("MessageSid"), form.present("SmsSid")) {
        (Some(sid), _) => sid,
        (None, Some(sid)) => {
            anomalies.push("MessageSid: missing; SmsSid read instead".into());
            sid
        }
        (None, None) => {
            return Err(ReadError::field(
                "MessageSid",
                "is missing: the request names no message",
            ))
        }
    };
    if sid.chars().any(|c| !c.is_ascii_graphic()) || sid.len() > MAX_TOKEN_CHARS {
        return Err(ReadError::field(
            "MessageSid",
            format!("must be printable ASCII without spaces, at most {MAX_TOKEN_CHARS} characters"),
        ));
    }
    let status_text = match hook {
        // The messaging URL is, by definition, a message that arrived.
        Hook::Messages => {
            let said = form.present("SmsStatus").or(form.present("MessageStatus"));
            if let Some(other) =
                said.filter(|v| !matches!(normalized(Some(v)).as_str(), "received" | "receiving"))
            {
                let shown: String = other.chars().take(40).collect();
                anomalies.push(format!(
                    "SmsStatus: {shown:?} on the messaging URL; read as received"
                ));
            }
            "received".to_string()
        }
        Hook::MessageStatus => match (form.present("MessageStatus"), form.present("SmsStatus")) {
            (Some(status), _) => status.to_string(),
            (None, Some(status)) => {
                anomalies.push("MessageStatus: missing; SmsStatus read instead".into());
                status.to_string()
            }
            (None, None) => {
                return Err(ReadError::field(
                    "MessageStatus",
                    "is missing: the request names no status",
                ))
            }
        },
        _ => {
            return Err(ReadError::new(format!(
                "{} is a call route, not a message route",
                hook.path()
            )))
        }
    };
    let lower = normalized(Some(&status_text));
    let known = MESSAGE_STATUSES.contains(&lower.as_str());
    let kind = if known {
        lower.clone()
    } else {
        let shown: String = status_text.chars().take(40).collect();
        anomalies.push(format!(
            "MessageStatus: {shown:?} is not in Twilio's documents, kept as sent"
        ));
        form::key_part(
            &status_text,
            "MessageStatus",
            MAX_STATUS_CHARS,
            &mut anomalies,
        )
    };
    let status = ranked(&lower);
    let direction = match (hook, status) {
        (Hook::Messages, _) => Direction::Inbound,
        (_, Some(SmsStatus::Received)) => {
            anomalies
                .push("MessageStatus: received on the status callback; read as inbound".into());
            Direction::Inbound
        }
        _ => Direction::Outbound,
    };
    let from = number_param("From", form.get("From"), true, &mut anomalies);
    let to = number_param("To", form.get("To"), false, &mut anomalies);
    let body = form.get("Body").map(|text| {
        if text.len() > INLINE_TEXT_BYTES {
            anomalies.push(format!(
                "Body: {} bytes, the first {INLINE_TEXT_BYTES} kept (whole in raw)",
                text.len()
            ));
        }
        prefix_within(text, INLINE_TEXT_BYTES).to_string()
    });
    let segments = form.present("NumSegments").and_then(|v| {
        let read = v.parse::<u32>().ok().filter(|n| *n > 0);
        if read.is_none() {
            anomalies.push("NumSegments: not a positive integer, ignored".into());
        }
        read
    });
    let (medias, media_content_types) = read_medias(form, &mut anomalies);
    let error_code = form
        .present("ErrorCode")
        .map(|code| form::key_part(code, "ErrorCode", MAX_STATUS_CHARS, &mut anomalies));
    let error_message = form.present("ErrorMessage").map(|text| {
        if text.len() > MAX_ERROR_MESSAGE_BYTES {
            anomalies.push(format!(
                "ErrorMessage: longer than {MAX_ERROR_MESSAGE_BYTES} bytes, cut (whole in raw)"
            ));
        }
        prefix_within(text, MAX_ERROR_MESSAGE_BYTES).to_string()
    });
    let event = Event {
        provider: Provider::Twilio,
        channel: Channel::Sms,
        provider_id: sid.to_string(),
        direction: Some(direction),
        from,
        to,
        caller_name: None,
        // Twilio's form carries no time: the status happened when it came.
        occurred_at: received_at,
        received_at,
        is_test: false,
        // One record per status: a repeated status is the same delivery.
        delivery_key: kind.clone(),
        kind,
        raw: raw.to_string(),
        anomalies,
    };
    Ok(MessageDelivery {
        event,
        status,
        known,
        form: form.clone(),
        body,
        segments,
        medias,
        media_content_types,
        error_code,
        error_message,
    })
}

/// `MediaUrl0..N` and `MediaContentType0..N`, in index order, bounded at
/// [`MAX_MEDIAS`] URLs and [`MAX_MEDIAS_BYTES`]; `NumMedia` disagreeing
/// with what came is named.
fn read_medias(form: &Form, anomalies: &mut Vec<String>) -> (Vec<String>, Vec<String>) {
    let indexed = |prefix: &str| -> Vec<(usize, String)> {
        let mut found: Vec<(usize, String)> = form
            .pairs()
            .filter_map(|(name, value)| {
                let index = name.strip_prefix(prefix)?.parse::<usize>().ok()?;
                Some((index, value.to_string()))
            })
            .collect();
        found.sort_by_key(|(index, _)| *index);
        found
    };
    let urls = indexed("MediaUrl");
    let types = indexed("MediaContentType");
    let declared = form.present("NumMedia").map(|v| v.parse::<usize>().ok());
    match declared {
        Some(Some(count)) if count != urls.len() => anomalies.push(format!(
            "NumMedia: {count}, but {} MediaUrl parameters came; those that came are read",
            urls.len()
        )),
        Some(None) => anomalies.push("NumMedia: not a number, ignored".into()),
        _ => {}
    }
    let (mut medias, mut content_types, mut bytes) = (Vec::new(), Vec::new(), 0);
    for (index, url) in &urls {
        if medias.len() == MAX_MEDIAS || bytes + url.len() > MAX_MEDIAS_BYTES {
            anomalies.push(format!(
                "MediaUrl: more than {MAX_MEDIAS} URLs or {MAX_MEDIAS_BYTES} bytes, the first {} kept (all in raw)",
                medias.len()
            ));
            break;
        }
        bytes += url.len();
        medias.push(url.clone());
        let content_type = types
            .iter()
            .find(|(i, _)| i == index)
            .map_or("", |(_, t)| t.as_str());
        content_types.push(prefix_within(content_type, 255).to_string());
    }
    (medias, content_types)
}

/// What one messaging request writes, in one transaction: the event, the
/// status-history entry (absent, or the delivery is a duplicate) and the
/// message summary.
pub fn message_plan(delivery: &MessageDelivery, retention_days: u32) -> WritePlan {
    let event = &delivery.event;
    let mut plan = WritePlan::for_event(event, retention_days);
    let pk = keys::conversation_pk(event.channel, event.provider, &event.provider_id);
    let at = time::to_key(event.received_at);
    let occurred = time::to_key(event.occurred_at);
    let expires = n(time::expires_at(event.received_at, retention_days));

    let event_item = &mut plan.puts[0].item;
    for (wire, attribute) in STORED_AS_IS {
        if let Some(value) = delivery.form.get(wire) {
            event_item.insert((*attribute).into(), s(value));
        }
    }
    for (wire, attribute, read) in [
        ("From", "from_text", event.from.is_some()),
        ("To", "to_text", event.to.is_some()),
    ] {
        if let Some(text) = delivery.form.present(wire).filter(|_| !read) {
            event_item.insert(attribute.into(), s(text));
        }
    }

    let mut entry = Item::with_capacity(12);
    entry.insert(PK.into(), s(&pk));
    entry.insert(SK.into(), s(keys::status_sk(&event.kind)));
    entry.insert(keys::ITEM_TYPE.into(), s("sms_status"));
    entry.insert("provider".into(), s(event.provider.as_str()));
    entry.insert("message_id".into(), s(&event.provider_id));
    entry.insert("status".into(), s(&event.kind));
    entry.insert("known".into(), b(delivery.known));
    entry.insert("at".into(), s(&at));
    entry.insert(keys::TTL.into(), expires);
    entry.insert(
        "event_sk".into(),
        s(keys::event_sk(&occurred, &event.kind, &event.delivery_key)),
    );
    if let Some(code) = &delivery.error_code {
        entry.insert("error_code".into(), s(code));
    }
    if let Some(message) = &delivery.error_message {
        entry.insert("message".into(), s(message));
    }
    plan.puts.push(GuardedPut {
        item: entry,
        condition: Some(Condition::item_absent()),
    });

    let summary = plan.summary_mut();
    if let Some(status) = delivery.status {
        summary.set_once(status.moment_attribute(), s(&at));
        if status == SmsStatus::Failed {
            summary.set_once("failure_message", s(failure_message(delivery)));
            if let Some(code) = &delivery.error_code {
                summary.set_once("error_code", s(code));
            }
        }
    }
    if event.direction == Some(Direction::Outbound) && !event.is_test {
        if let Some(fact) = lifecycle::twilio_sms_fact(&event.kind) {
            lifecycle::note(
                summary,
                &lifecycle::TWILIO_SMS_OUTBOUND,
                fact,
                event.received_at,
            );
        }
    }
    if let Some(segments) = delivery.segments {
        summary.set_once("segments", n(segments));
    }
    if !delivery.medias.is_empty() {
        summary
            .set_once("medias", string_list(&delivery.medias))
            .set_once(
                "media_content_types",
                string_list(&delivery.media_content_types),
            );
    }
    if let Some(body) = &delivery.body {
        summary.set_once("message_text", s(body));
    }
    if let Some(service) = delivery.form.present("MessagingServiceSid") {
        summary.set_once("messaging_service_sid", s(service));
    }
    plan.bound();
    plan
}

/// What a failed message's alert says: Twilio's status, error code and
/// message, as far as it sent them.
fn failure_message(delivery: &MessageDelivery) -> String {
    let mut text = format!("Twilio reported {}", delivery.event.kind);
    if let Some(code) = &delivery.error_code {
        text.push_str(&format!(" (ErrorCode {code})"));
    }
    if let Some(message) = &delivery.error_message {
        text.push_str(": ");
        text.push_str(message);
    }
    text
}

#[cfg(test)]
mod tests;
