//! Retell's call events (`POST /retell/events`): `{"event": "call_started"
//! | "call_ended" | "call_analyzed" | "transfer_cancelled" | ..., "call":
//! {call_id, call_type, direction, from_number, to_number, agent_id,
//! call_status, start_timestamp, end_timestamp, duration_ms,
//! disconnection_reason, transcript, recording_url, call_analysis: {...},
//! ...}}`, signed like the inbound webhook.
//!
//! * Every event is kept, known or not, once: a guard item keyed by
//!   Retell's `call_id` and the event name sits in the call's partition
//!   (Retell retries a delivery that got no 2xx in 10 s).
//! * Joined to the inbound record: `call_inbound` carries no call id, so an
//!   inbound phone call's events look for the inbound record of the same
//!   call on our number's timeline (GSI2): same caller (or both withheld),
//!   Retell provider, first seen in [`JOIN_BEFORE_MS`] before to
//!   [`JOIN_AFTER_MS`] after the call started, not yet claimed by another
//!   Retell call. The record that already names this call wins, so every
//!   event of a call lands in the same partition. Found, the event goes
//!   into that record's partition and the call reads as one from ringing to
//!   analysis; not found (outbound and web calls, numbers without the
//!   inbound webhook), into the partition of Retell's own call id.
//! * CallOutcome on the summary (each set once, so the summary never moves
//!   back): `answered_at` (the agent connected), `ended_at`, `duration_ms`,
//!   `disconnection_reason`, `recording_url`; from `call_analyzed`
//!   `call_summary`, `user_sentiment`, `call_successful`, `in_voicemail`,
//!   `custom_analysis` (JSON text). And the alert fields, see [`outcome`].

use crate::event::{Channel, Direction, Event, Provider};
use crate::ingest::Identity;
use crate::lifecycle;
use crate::phone::PhoneNumber;
use crate::providers::{parse_json, ReadError};
use crate::store::keys;
use crate::store::plan::{b, n, s, Item, WritePlan, TRANSCRIPT_POINTER_ATTR};
use crate::time::{self, Timestamp};
use serde_json::Value;

/// How long before the call started its inbound record may have been
/// written: Retell rings while it waits for the inbound answer (up to 10 s
/// and 3 retries), then connects.
pub const JOIN_BEFORE_MS: i64 = 5 * 60 * 1000;
/// And after: our clock and Retell's may differ a little.
pub const JOIN_AFTER_MS: i64 = 60 * 1000;

/// Summary copies of free text are capped (the raw event keeps it whole).
const MAX_TEXT_BYTES: usize = 8 * 1024;
const MAX_URL_BYTES: usize = 2048;
const MAX_CUSTOM_ANALYSIS_BYTES: usize = 32 * 1024;

/// Disconnection reasons that are failures whatever else happened
/// (Retell's `error_*` family and the account-level refusals).
pub const ERROR_REASONS: &[&str] = &[
    "concurrency_limit_reached",
    "no_valid_payment",
    "scam_detected",
    "sip_routing_error",
    "telephony_provider_permission_denied",
    "telephony_provider_unavailable",
    "invalid_destination",
    "marked_as_spam",
];

/// Where a call event's transcript text sits in its raw body.
pub const TRANSCRIPT_POINTER: &str = "/call/transcript";

/// What Retell's `call_analysis` says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallAnalysis {
    pub call_summary: Option<String>,
    pub user_sentiment: Option<String>,
    pub call_successful: Option<bool>,
    pub in_voicemail: Option<bool>,
    /// `custom_analysis_data` as compact JSON text.
    pub custom_analysis_data: Option<String>,
}

/// One call event, read tolerantly.
#[derive(Clone, Debug, PartialEq)]
pub struct CallEvent {
    pub event: String,
    pub call_id: String,
    /// `phone_call` or `web_call`.
    pub call_type: Option<String>,
    pub direction: Option<Direction>,
    pub from: Option<PhoneNumber>,
    pub to: Option<PhoneNumber>,
    pub agent_id: Option<String>,
    pub call_status: Option<String>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub duration_ms: Option<i64>,
    pub disconnection_reason: Option<String>,
    /// Whether the transcript has any words; `None` when the event carries
    /// no transcript.
    pub spoke: Option<bool>,
    /// Where the transcript text sits in the raw body
    /// ([`TRANSCRIPT_POINTER`]), when the event carries one: the call's
    /// transcript is read from its latest such event.
    pub transcript_pointer: Option<&'static str>,
    pub recording_url: Option<String>,
    pub analysis: Option<CallAnalysis>,
    pub transfer_destination: Option<String>,
    pub anomalies: Vec<String>,
}

/// A delivery: a call's event, or an event that names no call (kept apart).
#[derive(Clone, Debug, PartialEq)]
pub enum ParsedCallEvent {
    Call(Box<CallEvent>),
    Unattached { event: String, anomaly: String },
}

fn string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

fn millis(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|f| f as i64)),
        Value::String(text) => text.trim().parse::<f64>().ok().map(|f| f as i64),
        _ => None,
    }
}

fn boolean(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(b) => Some(*b),
        Value::String(text) => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Whether `text` can be part of a key as it is: 1 to `max` ASCII letters,
/// digits, `_`, `-` and `.` (Retell's event names and call ids are).
fn is_key_safe(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Parses a call event. Refuses only a body that is not a JSON object or
/// names no event.
pub fn parse_call_event(body: &[u8]) -> Result<ParsedCallEvent, ReadError> {
    let envelope: serde_json::Map<String, Value> = parse_json(body)?;
    // Retell's pages show both `event` and `event_type`.
    let named = string(envelope.get("event"))
        .or_else(|| string(envelope.get("event_type")))
        .ok_or_else(|| ReadError::field("event", "is missing"))?;
    // An inbound request on the events route (a misconfigured webhook, or
    // a signed inbound body sent again here) is no call event: it is kept
    // as an unrecognized delivery, never as an event of a call.
    if matches!(named.as_str(), "call_inbound" | "chat_inbound") {
        return Err(ReadError::field(
            "event",
            format!("{named} is an inbound request, answered on /retell/inbound"),
        ));
    }
    let mut anomalies = Vec::new();
    // The name and the call id become key parts: anything that cannot be
    // one is kept raw and named, never put in a key.
    let event = if is_key_safe(&named, 64) {
        named
    } else {
        anomalies.push("event: not an event name".to_string());
        "unreadable_event".to_string()
    };
    let Some(Value::Object(call)) = envelope.get("call") else {
        return Ok(ParsedCallEvent::Unattached {
            event,
            anomaly: "call: missing".into(),
        });
    };
    let call_id = match string(call.get("call_id")) {
        Some(id) if is_key_safe(&id, 128) => id,
        Some(_) => {
            return Ok(ParsedCallEvent::Unattached {
                event,
                anomaly: "call.call_id: not a call id".into(),
            })
        }
        None => {
            return Ok(ParsedCallEvent::Unattached {
                event,
                anomaly: "call.call_id: missing".into(),
            })
        }
    };
    let mut number = |field: &str| -> Option<PhoneNumber> {
        let text = string(call.get(field))?;
        match PhoneNumber::parse_caller_id(&text) {
            Ok(found) => found,
            Err(error) => {
                anomalies.push(format!("call.{field}: {error}"));
                None
            }
        }
    };
    let from = number("from_number");
    let to = number("to_number");
    let direction = match string(call.get("direction")).as_deref() {
        Some("inbound") => Some(Direction::Inbound),
        Some("outbound") => Some(Direction::Outbound),
        Some(other) => {
            anomalies.push(format!("call.direction: unknown {other:?}"));
            None
        }
        None => None,
    };
    let mut moment = |field: &str| -> Option<Timestamp> {
        let ms = millis(call.get(field))?;
        let at = Timestamp::from_millisecond(ms).ok();
        if at.is_none() {
            anomalies.push(format!("call.{field}: out of range"));
        }
        at
    };
    let start = moment("start_timestamp");
    let end = moment("end_timestamp");
    let transcript_pointer =
        matches!(call.get("transcript"), Some(Value::String(_))).then_some(TRANSCRIPT_POINTER);
    let spoke = match call.get("transcript") {
        Some(Value::String(text)) => Some(!text.trim().is_empty()),
        Some(Value::Null) | None => match call.get("transcript_object") {
            Some(Value::Array(turns)) => Some(!turns.is_empty()),
            _ => None,
        },
        Some(_) => None,
    };
    let analysis = match call.get("call_analysis") {
        Some(Value::Object(a)) => Some(CallAnalysis {
            call_summary: string(a.get("call_summary")),
            user_sentiment: string(a.get("user_sentiment")),
            call_successful: boolean(a.get("call_successful")),
            in_voicemail: boolean(a.get("in_voicemail")),
            custom_analysis_data: match a.get("custom_analysis_data") {
                None | Some(Value::Null) => None,
                Some(Value::Object(m)) if m.is_empty() => None,
                Some(value) => Some(value.to_string()),
            },
        }),
        _ => None,
    };
    let transfer_destination = string(envelope.get("transfer_destination"))
        .or_else(|| string(call.get("transfer_destination")));
    Ok(ParsedCallEvent::Call(Box::new(CallEvent {
        event,
        call_id,
        call_type: string(call.get("call_type")),
        direction,
        from,
        to,
        agent_id: string(call.get("agent_id")),
        call_status: string(call.get("call_status")),
        start,
        end,
        duration_ms: millis(call.get("duration_ms")),
        disconnection_reason: string(call.get("disconnection_reason")),
        spoke,
        transcript_pointer,
        recording_url: string(call.get("recording_url")),
        analysis,
        transfer_destination,
        anomalies,
    })))
}

impl CallEvent {
    /// When the call began as far as this event knows: its start, else its
    /// end, else when the event reached us.
    pub fn reference_time(&self, received_at: Timestamp) -> Timestamp {
        self.start.or(self.end).unwrap_or(received_at)
    }

    /// Inbound phone calls have an inbound record to join.
    pub fn wants_join(&self) -> bool {
        self.direction == Some(Direction::Inbound)
            && self.call_type.as_deref().is_none_or(|t| t == "phone_call")
    }

    /// When this event happened: the call's start or end for the events
    /// that mark them, else when it reached us (analysis, transfers and
    /// transcript updates carry no moment of their own). A retry's event key
    /// may then differ; its delivery guard does not.
    fn occurred_at(&self, received_at: Timestamp) -> Timestamp {
        self.own_moment().unwrap_or(received_at)
    }

    /// The moment the body itself gives this event, if any.
    fn own_moment(&self) -> Option<Timestamp> {
        match self.event.as_str() {
            "call_started" => self.start,
            "call_ended" => self.end,
            _ => None,
        }
    }

    fn is_final(&self) -> bool {
        matches!(self.event.as_str(), "call_ended" | "call_analyzed")
    }
}

/// The bounds of the GSI2 sort keys (timeline keys of our number) a join
/// reads around `reference`.
pub fn join_window(reference: Timestamp) -> (String, String) {
    let at = |ms: i64| {
        Timestamp::from_millisecond(reference.as_millisecond() + ms)
            .map(time::to_key)
            .unwrap_or_default()
    };
    // Timeline keys are `<first seen>#call#...`: `~` sorts after `#`.
    (at(-JOIN_BEFORE_MS), format!("{}~", at(JOIN_AFTER_MS)))
}

/// A call summary the join may pick, as read from GSI2.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JoinCandidate {
    pub provider: String,
    pub call_id: String,
    pub direction: Option<String>,
    pub from: Option<String>,
    pub first_seen_at: String,
    pub retell_call_id: Option<String>,
    pub rejected: bool,
}

impl JoinCandidate {
    pub fn from_item(item: &Item) -> Option<Self> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        Some(JoinCandidate {
            provider: text("provider")?,
            call_id: text("call_id")?,
            direction: text("direction"),
            from: text("from"),
            first_seen_at: text("first_seen_at")?,
            retell_call_id: text("retell_call_id"),
            rejected: item.contains_key("rejected_by"),
        })
    }
}

/// The call id of the record this event belongs to (see the module doc),
/// or `None` for Retell's own call id.
pub fn choose_record<'c>(
    candidates: &'c [JoinCandidate],
    event: &CallEvent,
    received_at: Timestamp,
) -> Option<&'c str> {
    let retell = Provider::Retell.as_str();
    if let Some(claimed) = candidates.iter().find(|c| {
        c.provider == retell
            && (c.retell_call_id.as_deref() == Some(&event.call_id) || c.call_id == event.call_id)
    }) {
        return Some(&claimed.call_id);
    }
    if !event.wants_join() {
        return None;
    }
    let (lower, upper) = join_window(event.reference_time(received_at));
    let from = event.from.as_ref().map(PhoneNumber::as_str);
    candidates
        .iter()
        .filter(|c| {
            c.provider == retell
                && c.direction.as_deref() == Some("inbound")
                && c.retell_call_id.is_none()
                && !c.rejected
                && c.from.as_deref() == from
                && c.first_seen_at >= lower
                && c.first_seen_at <= upper
        })
        // The latest inbound record before the call: a caller who called
        // twice in the window rang the later one last.
        .max_by(|a, b| a.first_seen_at.cmp(&b.first_seen_at))
        .map(|c| c.call_id.as_str())
}

/// What a call's events say about it, for the alert rules (see
/// `docs/providers/retell.md`, "Alert rules").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallOutcome {
    /// `call_error`: the reason, in words.
    pub failure: Option<String>,
    /// `missed_call`: the detail (the recording of a voicemail, else why).
    pub missed: Option<String>,
}

/// * `call_error`: a disconnection reason of the `error_*` family or in
///   [`ERROR_REASONS`] (any direction); an inbound call that never
///   connected (`call_status` `not_connected`, a `dial_*` reason, or a
///   final event without a start).
/// * `missed_call` (inbound only): `transfer_cancelled` (the agent's
///   transfer was not answered); voicemail reached (`voicemail_reached`, or
///   `call_analysis.in_voicemail`), with the recording as detail; a caller
///   who hung up (`user_hangup`) before anyone spoke (a final event whose
///   transcript is empty).
pub fn outcome(event: &CallEvent) -> CallOutcome {
    let reason = event.disconnection_reason.as_deref().unwrap_or("");
    let inbound = event.direction == Some(Direction::Inbound);
    if reason.starts_with("error_") || ERROR_REASONS.contains(&reason) {
        return CallOutcome {
            failure: Some(format!("disconnected: {reason}")),
            missed: None,
        };
    }
    if inbound
        && (event.call_status.as_deref() == Some("not_connected")
            || reason.starts_with("dial_")
            || (event.is_final() && event.start.is_none()))
    {
        let why = if reason.is_empty() {
            "no reason given"
        } else {
            reason
        };
        return CallOutcome {
            failure: Some(format!("never connected ({why})")),
            missed: None,
        };
    }
    if !inbound {
        return CallOutcome::default();
    }
    let missed = if event.event == "transfer_cancelled" {
        Some(match &event.transfer_destination {
            Some(to) => format!("transfer to {to} not answered"),
            None => "transfer not answered".to_string(),
        })
    } else if reason == "voicemail_reached"
        || event.analysis.as_ref().and_then(|a| a.in_voicemail) == Some(true)
    {
        Some(
            event
                .recording_url
                .clone()
                .unwrap_or_else(|| "voicemail reached".into()),
        )
    } else if event.is_final() && reason == "user_hangup" && event.spoke == Some(false) {
        Some("caller hung up before anyone spoke".into())
    } else {
        None
    };
    CallOutcome {
        failure: None,
        missed,
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn capped(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// The event as stored: in the partition of `record_id` (the joined
/// inbound record's id, or Retell's call id), keyed by the delivery's
/// `identity` so that two events of one name in one call (a
/// `transcript_updated` at every turn, several `transfer_*`) are two items.
pub fn call_event(
    event: &CallEvent,
    record_id: &str,
    raw: &str,
    received_at: Timestamp,
    identity: &Identity,
) -> Event {
    Event {
        provider: Provider::Retell,
        channel: Channel::Call,
        provider_id: record_id.to_string(),
        direction: event.direction,
        from: event.from.clone(),
        to: event.to.clone(),
        caller_name: None,
        kind: event.event.clone(),
        occurred_at: event.occurred_at(received_at),
        received_at,
        is_test: false,
        delivery_key: identity.event_key(),
        raw: raw.to_string(),
        anomalies: event.anomalies.clone(),
    }
}

/// What one call event writes, in one transaction: the event, the
/// summary's outcome fields (each set once), and, when the event's key
/// holds our arrival time, a delivery guard on its identity (Retell sends
/// no id of its own, so the digest of its bytes, which a retry repeats).
/// When the body gives the moment (`call_started`, `call_ended`), the event
/// item's key is the retry's too (moment, name, digest): the item is its
/// own guard, and the plan writes one item fewer.
pub fn call_event_plan(
    event: &CallEvent,
    stored: &Event,
    identity: &Identity,
    retention_days: u32,
) -> WritePlan {
    let mut plan = WritePlan::for_event(stored, retention_days);
    let pk = keys::conversation_pk(Channel::Call, Provider::Retell, &stored.provider_id);
    if event.own_moment().is_none() {
        plan.guard_delivery(
            &pk,
            &identity.key_parts(),
            stored.received_at,
            retention_days,
        );
    }
    if let Some(pointer) = event.transcript_pointer {
        if let Some(put) = plan.puts.iter_mut().find(|p| {
            p.item
                .get(keys::ITEM_TYPE)
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("call_event")
        }) {
            put.item.insert(TRANSCRIPT_POINTER_ATTR.into(), s(pointer));
        }
    }

    let received = time::to_key(stored.received_at);
    let summary = plan.summary_mut();
    summary.set_once("retell_call_id", s(&event.call_id));
    if let Some(kind) = &event.call_type {
        summary.set_once("call_type", s(capped(kind, 64)));
    }
    if let Some(agent) = &event.agent_id {
        summary.set_once("retell_agent_id", s(capped(agent, 256)));
    }
    let connected = event.call_status.as_deref() != Some("not_connected");
    if let (Some(start), true) = (event.start, connected) {
        summary.set_once("answered_at", s(time::to_key(start)));
    }
    if event.is_final() {
        let ended = event.end.map_or_else(|| received.clone(), time::to_key);
        summary.set_once("ended_at", s(ended));
    }
    if let Some(duration) = event.duration_ms {
        summary.set_once("duration_ms", n(duration));
    }
    if let Some(reason) = &event.disconnection_reason {
        summary.set_once("disconnection_reason", s(capped(reason, 128)));
    }
    if let Some(url) = &event.recording_url {
        summary.set_once("recording_url", s(capped(url, MAX_URL_BYTES)));
    }
    if let Some(to) = &event.transfer_destination {
        summary.set_once("transfer_destination", s(capped(to, 256)));
    }
    if let Some(analysis) = &event.analysis {
        if let Some(text) = &analysis.call_summary {
            summary.set_once("call_summary", s(capped(text, MAX_TEXT_BYTES)));
        }
        if let Some(text) = &analysis.user_sentiment {
            summary.set_once("user_sentiment", s(capped(text, 64)));
        }
        if let Some(value) = analysis.call_successful {
            summary.set_once("call_successful", b(value));
        }
        if let Some(value) = analysis.in_voicemail {
            summary.set_once("in_voicemail", b(value));
        }
        if let Some(json) = &analysis.custom_analysis_data {
            if json.len() <= MAX_CUSTOM_ANALYSIS_BYTES {
                summary.set_once("custom_analysis", s(json));
            }
        }
    }
    let at = event.end.map_or_else(|| received.clone(), time::to_key);
    let result = outcome(event);
    if let Some(failure) = result.failure {
        summary
            .set_once("failed_at", s(&at))
            .set_once("error_message", s(capped(&failure, 512)));
    }
    if let Some(detail) = result.missed {
        summary
            .set_once("missed_at", s(&at))
            .set_once("missed_detail", s(capped(&detail, MAX_URL_BYTES)));
    }
    lifecycle::note(
        summary,
        &lifecycle::RETELL_CALL,
        &event.event,
        stored.received_at,
    );
    plan
}

/// An event that names no call: kept apart under
/// [`keys::unmatched_events_pk`], once per delivery (`identity`).
pub fn unattached_event(
    event_name: &str,
    anomaly: &str,
    raw: &str,
    identity: &Identity,
    received_at: Timestamp,
) -> Event {
    Event {
        provider: Provider::Retell,
        channel: Channel::Call,
        provider_id: String::new(),
        direction: None,
        from: None,
        to: None,
        caller_name: None,
        kind: capped(event_name, 64),
        occurred_at: received_at,
        received_at,
        is_test: false,
        delivery_key: identity.event_key(),
        raw: raw.to_string(),
        anomalies: vec![anomaly.to_string()],
    }
}

/// The write of an unattached event: the event item under
/// `UNMATCHED#retell` and a guard on the delivery's identity, so a retry of
/// the same body (freshly signed) is recognized whenever it comes.
pub fn unattached_plan(event: &Event, identity: &Identity, retention_days: u32) -> WritePlan {
    let mut plan = WritePlan::for_event(event, retention_days);
    let pk = keys::unmatched_events_pk(Provider::Retell);
    for put in &mut plan.puts {
        put.item.insert(keys::PK.into(), s(&pk));
    }
    if let Some(first) = plan.puts.first_mut() {
        first.item.remove("call_id");
    }
    plan.updates.clear();
    plan.guard_delivery(
        &pk,
        &identity.key_parts(),
        event.received_at,
        retention_days,
    );
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::AttributeValue;
    use crate::store::plan::Condition;
    use serde_json::json;

    const T: i64 = 1_795_449_090_000;

    fn parse(value: Value) -> CallEvent {
        match parse_call_event(value.to_string().as_bytes()).unwrap() {
            ParsedCallEvent::Call(event) => *event,
            other => panic!("{other:?}"),
        }
    }

    fn ended(reason: &str, transcript: &str) -> Value {
        json!({"event": "call_ended", "call": {
            "call_id": "call_abc", "call_type": "phone_call", "direction": "inbound",
            "from_number": "+12137771234", "to_number": "+12137771235", "agent_id": "agent_x",
            "call_status": "ended", "start_timestamp": T, "end_timestamp": T + 42_000,
            "duration_ms": 42_000, "disconnection_reason": reason, "transcript": transcript,
            "recording_url": "https://example.com/r.wav"}})
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millisecond(ms).unwrap()
    }

    /// The identity the pipeline gives these bytes on the events route.
    fn identity_of(body: &str) -> Identity {
        Identity::Digest(crate::ingest::identity::digest(&crate::ingest::Delivery {
            route: crate::ingest::Route::RetellEvents,
            is_post: true,
            content_type: None,
            query: String::new(),
            body: body.as_bytes().to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: at(T),
        }))
    }

    /// The delivery guard's and the event's sort keys of one delivery.
    fn keys_of(body: Value, received_ms: i64) -> (AttributeValue, AttributeValue) {
        let event = parse(body.clone());
        let identity = identity_of(&body.to_string());
        let stored = call_event(&event, "call_abc", "{}", at(received_ms), &identity);
        let plan = call_event_plan(&event, &stored, &identity, 30);
        (
            plan.puts[0].item[keys::SK].clone(),
            plan.puts[1].item[keys::SK].clone(),
        )
    }

    #[test]
    fn repeated_events_of_one_call_are_each_their_own_delivery() {
        let update = |transcript: &str| {
            json!({"event": "transcript_updated", "call": {"call_id": "call_abc",
                "direction": "inbound", "transcript": transcript}})
        };
        let transfer = |to: &str| {
            json!({"event": "transfer_started", "call": {"call_id": "call_abc",
                "direction": "inbound", "transfer_destination": to}})
        };
        let deliveries = [
            (update("Agent: Hi"), T),
            (update("Agent: Hi\nUser: Hello"), T + 1_000),
            (update("Agent: Hi\nUser: Hello\nAgent: Bye"), T + 2_000),
            (transfer("+14155550001"), T + 3_000),
            (transfer("+14155550002"), T + 4_000),
        ];
        let keys: Vec<_> = deliveries
            .iter()
            .map(|(body, ms)| keys_of(body.clone(), *ms))
            .collect();
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a.0, b.0, "two deliveries share a guard");
                assert_ne!(a.1, b.1, "two deliveries share an event item");
            }
        }
        // Retell's retry of the third update, a minute later: the same guard.
        let retry = keys_of(deliveries[2].0.clone(), T + 62_000);
        assert_eq!(retry.0, keys[2].0);
        // Each update names its transcript, so the latest can be read.
        let event = parse(deliveries[2].0.clone());
        assert_eq!(event.transcript_pointer, Some(TRANSCRIPT_POINTER));
        let identity = identity_of(&deliveries[2].0.to_string());
        let stored = call_event(&event, "call_abc", "{}", at(T), &identity);
        let plan = call_event_plan(&event, &stored, &identity, 30);
        assert_eq!(
            plan.puts[1].item[TRANSCRIPT_POINTER_ATTR],
            s(TRANSCRIPT_POINTER)
        );
        assert!(parse(deliveries[3].0.clone()).transcript_pointer.is_none());
    }

    #[test]
    fn an_event_keyed_by_our_arrival_time_keeps_a_guard_on_its_identity() {
        let event = parse(json!({"event": "call_analyzed", "call": {
            "call_id": "c1", "call_type": "phone_call", "direction": "inbound"}}));
        let identity = Identity::Digest("0123456789abcdef0123456789abcdef".into());
        let stored = call_event(&event, "rec", "{}", at(T + 43_000), &identity);
        let plan = call_event_plan(&event, &stored, &identity, 30);
        assert_eq!(
            plan.puts[0].item[keys::SK],
            s("DELIVERY#body#0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn call_ended_fills_the_outcome_once() {
        let event = parse(ended("agent_hangup", "Agent: Hi\nUser: Bye"));
        assert_eq!(event.start, Some(at(T)));
        assert_eq!(event.spoke, Some(true));
        assert_eq!(outcome(&event), CallOutcome::default(), "a good call");
        let identity = Identity::Digest("0123456789abcdef0123456789abcdef".into());
        let stored = call_event(
            &event,
            "20261123T155122000Z-12137771234",
            "{}",
            at(T + 43_000),
            &identity,
        );
        assert_eq!(stored.occurred_at, at(T + 42_000));
        let plan = call_event_plan(&event, &stored, &identity, 30);
        // The body gives the moment: the event item, keyed by moment, name
        // and digest, is its own guard; no separate guard item.
        assert_eq!(
            plan.puts[0].item[keys::SK],
            s("EVENT#2026-11-23T15:52:12.000Z#call_ended#0123456789abcdef")
        );
        assert_eq!(plan.puts[0].condition, Some(Condition::item_absent()));
        assert_eq!(
            plan.puts[0].item[keys::PK],
            s("CALL#retell#20261123T155122000Z-12137771234")
        );
        assert!(plan.puts.iter().all(|p| !matches!(
            &p.item[keys::SK],
            AttributeValue::S(sk) if sk.starts_with("DELIVERY#")
        )));
        let names: Vec<&str> = plan.updates[0]
            .set_once
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        for expected in [
            "retell_call_id",
            "answered_at",
            "ended_at",
            "duration_ms",
            "disconnection_reason",
            "recording_url",
        ] {
            assert!(names.contains(&expected), "{expected} missing: {names:?}");
        }
        assert!(!names.contains(&"failed_at") && !names.contains(&"missed_at"));
    }

    #[test]
    fn call_analyzed_adds_retells_analysis() {
        let mut body = ended("user_hangup", "Agent: Hi\nUser: thanks");
        body["event"] = json!("call_analyzed");
        body["call"]["call_analysis"] = json!({"call_summary": "Booked a table.",
            "user_sentiment": "Positive", "call_successful": true, "in_voicemail": false,
            "custom_analysis_data": {"party_size": 4}});
        let event = parse(body);
        let identity = identity_of("analyzed");
        let stored = call_event(&event, "call_abc", "{}", at(T + 60_000), &identity);
        let plan = call_event_plan(&event, &stored, &identity, 30);
        let set: std::collections::HashMap<_, _> =
            plan.updates[0].set_once.iter().cloned().collect();
        assert_eq!(set["call_summary"], s("Booked a table."));
        assert_eq!(set["user_sentiment"], s("Positive"));
        assert_eq!(set["call_successful"], AttributeValue::Bool(true));
        assert_eq!(set["custom_analysis"], s(r#"{"party_size":4}"#));
        assert_eq!(outcome(&event), CallOutcome::default());
    }

    #[test]
    fn alert_rules() {
        let failure = |v: Value| outcome(&parse(v)).failure;
        let missed = |v: Value| outcome(&parse(v)).missed;
        assert_eq!(
            failure(ended("error_llm_websocket_open", "x")).as_deref(),
            Some("disconnected: error_llm_websocket_open")
        );
        assert!(failure(ended("concurrency_limit_reached", "")).is_some());
        let mut never = ended("dial_failed", "");
        never["call"]["call_status"] = json!("not_connected");
        never["call"]
            .as_object_mut()
            .unwrap()
            .remove("start_timestamp");
        assert_eq!(
            failure(never.clone()).as_deref(),
            Some("never connected (dial_failed)")
        );
        // Outbound calls that did not connect are not our errors.
        never["call"]["direction"] = json!("outbound");
        assert_eq!(failure(never), None);

        assert_eq!(
            missed(ended("user_hangup", "  ")).as_deref(),
            Some("caller hung up before anyone spoke")
        );
        assert_eq!(missed(ended("user_hangup", "Agent: Hello")), None);
        assert_eq!(
            missed(ended("voicemail_reached", "Agent: Hi")).as_deref(),
            Some("https://example.com/r.wav")
        );
        let mut transfer = ended("", "");
        transfer["event"] = json!("transfer_cancelled");
        transfer["transfer_destination"] = json!("+14155550100");
        assert_eq!(
            missed(transfer).as_deref(),
            Some("transfer to +14155550100 not answered")
        );
        let mut started = ended("", "");
        started["event"] = json!("call_started");
        started["call"]
            .as_object_mut()
            .unwrap()
            .remove("transcript");
        assert_eq!(outcome(&parse(started)), CallOutcome::default());
    }

    #[test]
    fn the_join_prefers_the_claimed_record_then_the_latest_unclaimed() {
        let event = parse(ended("agent_hangup", "x"));
        let candidate = |id: &str, seen_ms: i64, claimed: Option<&str>| JoinCandidate {
            provider: "retell".into(),
            call_id: id.into(),
            direction: Some("inbound".into()),
            from: Some("+12137771234".into()),
            first_seen_at: time::to_key(at(seen_ms)),
            retell_call_id: claimed.map(str::to_string),
            rejected: false,
        };
        let now = at(T + 50_000);
        let older = candidate("older", T - 200_000, None);
        let latest = candidate("latest", T - 3_000, None);
        let other_call = candidate("other", T - 1_000, Some("call_other"));
        let far = candidate("far", T - JOIN_BEFORE_MS - 1, None);
        let mut stranger = candidate("stranger", T - 500, None);
        stranger.from = Some("+14155550000".into());
        let all = vec![older.clone(), latest.clone(), other_call, far, stranger];
        assert_eq!(choose_record(&all, &event, now), Some("latest"));
        let mut claimed = older;
        claimed.retell_call_id = Some("call_abc".into());
        let with_claim = vec![claimed, latest];
        assert_eq!(choose_record(&with_claim, &event, now), Some("older"));
        assert_eq!(choose_record(&[], &event, now), None);
        // Web calls never join.
        let mut web = event.clone();
        web.call_type = Some("web_call".into());
        assert_eq!(choose_record(&all, &web, now), None);
    }

    #[test]
    fn tolerant_reading_and_unattached_events() {
        let body = json!({"event_type": "call_started", "call": {"call_id": 12, "direction": "sideways",
            "from_number": "nobody", "start_timestamp": "1795449090000"}});
        let event = parse(body);
        assert_eq!(event.call_id, "12");
        assert_eq!(event.start, Some(at(T)));
        assert_eq!(event.anomalies.len(), 2, "{:?}", event.anomalies);
        let unattached = parse_call_event(br#"{"event": "agent_updated", "agent": {}}"#).unwrap();
        let ParsedCallEvent::Unattached { event, anomaly } = unattached else {
            panic!("unattached");
        };
        assert_eq!(event, "agent_updated");
        let identity = identity_of("{}");
        let stored = unattached_event(&event, &anomaly, "{}", &identity, at(T));
        let plan = unattached_plan(&stored, &identity, 30);
        assert_eq!(plan.updates.len(), 0);
        assert_eq!(plan.puts[0].item[keys::PK], s("UNMATCHED#retell"));
        assert!(plan.puts[0].item[keys::SK]
            .as_s()
            .unwrap()
            .starts_with("DELIVERY#body#"));
        assert_eq!(plan.puts[1].item[keys::PK], s("UNMATCHED#retell"));
        let hostile = json!({"event": "call#ended", "call": {"call_id": "x#SUMMARY"}});
        let ParsedCallEvent::Unattached { event, anomaly } =
            parse_call_event(hostile.to_string().as_bytes()).unwrap()
        else {
            panic!("a call id that is no id is not attached");
        };
        assert_eq!(
            (event.as_str(), anomaly.as_str()),
            ("unreadable_event", "call.call_id: not a call id")
        );
        let odd = parse(json!({"event": "x".repeat(65), "call": {"call_id": "call_1"}}));
        assert_eq!(odd.event, "unreadable_event");
        assert_eq!(odd.anomalies, ["event: not an event name"]);
        assert!(parse_call_event(br#"{"call": {}}"#).is_err());
        let inbound =
            br#"{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234"}}"#;
        assert!(parse_call_event(inbound).is_err());
        assert!(parse_call_event(b"[]").is_err());
    }
}
