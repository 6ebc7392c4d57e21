//! Retell's inbound webhook: `call_inbound` (a call about to ring one of the
//! user's Retell numbers) and `chat_inbound` (an SMS to a number with an SMS
//! agent), both on `POST /retell/inbound`:
//!
//! ```json
//! {"event": "call_inbound", "event_timestamp": 1795449082000,
//!  "call_inbound": {"agent_id": "agent_12345", "agent_version": 1,
//!   "from_number": "+12137771234", "to_number": "+12137771235",
//!   "custom_sip_headers": {"x-campaign": "fall"}}}
//! ```
//!
//! Read tolerantly: a missing, empty or withheld `from_number` is an
//! anonymous caller; an unreadable number, agent version or header is kept
//! raw and named in the event's anomalies. Only a body that is not a JSON
//! object, names no known event or has no payload object is refused.
//!
//! Retell gives no call id (the call does not exist yet), so the id is
//! derived from the moment the first delivery arrived and the caller's
//! digits (`20261123T155122123Z-14155552671`). Two guards make a delivery
//! count once: a retry guard (same caller to the same number within
//! [`RETRY_WINDOW_MS`] of an accepted one: Retell's own retries, each freshly
//! signed) and a replay guard (the same signature digest, for as long as
//! the signature is accepted: a captured request replayed later).

use crate::event::{Channel, Direction, Event, Provider};
use crate::lifecycle;
use crate::phone::PhoneNumber;
use crate::providers::{parse_json, ReadError};
use crate::signature::MAX_SKEW_MS;
use crate::store::keys;
use crate::store::plan::{
    self, n, s, Condition, GuardedPut, Item, RetryGuard, SummaryUpdate, WritePlan,
};
use crate::time::{self, Timestamp};
use std::collections::BTreeMap;

/// Deliveries from one caller to one number within this long of an accepted
/// one are retries. Retell waits 10 s and retries up to 3 times, so its
/// retries land within about 40 s.
pub const RETRY_WINDOW_MS: i64 = 60_000;

/// Bounds on `custom_sip_headers` copied onto the event item (the raw body
/// keeps them all).
const MAX_SIP_HEADERS: usize = 32;
const MAX_SIP_HEADER_NAME_BYTES: usize = 128;
const MAX_SIP_HEADER_VALUE_BYTES: usize = 1024;
/// `agent_id` longer than this is not an agent id; it is kept raw only.
const MAX_AGENT_ID_BYTES: usize = 256;

/// What Retell is about to connect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InboundKind {
    Call,
    Chat,
}

impl InboundKind {
    /// The event name, which is also the payload's and the answer's key.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundKind::Call => "call_inbound",
            InboundKind::Chat => "chat_inbound",
        }
    }

    /// A chat is an SMS conversation on the caller's timeline.
    pub fn channel(self) -> Channel {
        match self {
            InboundKind::Call => Channel::Call,
            InboundKind::Chat => Channel::Sms,
        }
    }

    fn guard_name(self) -> &'static str {
        match self {
            InboundKind::Call => "retell-inbound",
            InboundKind::Chat => "retell-chat",
        }
    }
}

/// A checked inbound request.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundRequest {
    pub kind: InboundKind,
    /// `None` when the caller withheld their number (or Retell sent none).
    pub from: Option<PhoneNumber>,
    /// `None` when Retell's `to_number` could not be read: answered without
    /// the number's configuration.
    pub to: Option<PhoneNumber>,
    /// The number's own inbound agent, as Retell reports it.
    pub agent_id: Option<String>,
    pub agent_version: Option<u64>,
    /// When Retell says the call or chat arrived.
    pub event_timestamp: Option<Timestamp>,
    /// Retell's `custom_sip_headers`, bounded (see the module doc).
    pub custom_sip_headers: BTreeMap<String, String>,
    /// What was read around (`call_inbound.from_number: missing`...).
    pub anomalies: Vec<String>,
}

/// The verified signature of a request: its replay guard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedDelivery {
    pub signed_ms: i64,
    /// The 64 lowercase hex digits of the signature.
    pub digest_hex: String,
}

fn text_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Parses the body. Refuses (for the pipeline to keep as an unrecognized
/// delivery) only what cannot be an inbound request at all.
pub fn parse_inbound(body: &[u8]) -> Result<InboundRequest, ReadError> {
    let mut envelope: serde_json::Map<String, serde_json::Value> = parse_json(body)?;
    let kind = match envelope.get("event") {
        Some(serde_json::Value::String(event)) if event == "call_inbound" => InboundKind::Call,
        Some(serde_json::Value::String(event)) if event == "chat_inbound" => InboundKind::Chat,
        Some(serde_json::Value::String(event)) => {
            return Err(ReadError::field(
                "event",
                format!(
                    "{event:?} is not handled here; this URL takes \"call_inbound\" and \"chat_inbound\""
                ),
            ))
        }
        Some(_) => return Err(ReadError::field("event", "is not a string")),
        None => return Err(ReadError::field("event", "is missing")),
    };
    let key = kind.as_str();
    let payload = match envelope.remove(key) {
        Some(serde_json::Value::Object(payload)) => payload,
        None | Some(serde_json::Value::Null) => return Err(ReadError::field(key, "is missing")),
        Some(_) => return Err(ReadError::field(key, "is not an object")),
    };
    let mut anomalies = Vec::new();
    let mut number = |field: &str, caller: bool| -> Option<PhoneNumber> {
        let path = format!("{key}.{field}");
        let Some(value) = payload.get(field) else {
            anomalies.push(format!("{path}: missing"));
            return None;
        };
        let Some(text) = text_of(value) else {
            if !value.is_null() {
                anomalies.push(format!("{path}: not a string"));
            } else {
                anomalies.push(format!("{path}: null"));
            }
            return None;
        };
        let parsed = if caller {
            PhoneNumber::parse_caller_id(&text)
        } else {
            PhoneNumber::parse(&text).map(Some)
        };
        match parsed {
            Ok(found) => found,
            Err(error) => {
                anomalies.push(format!("{path}: {error}"));
                None
            }
        }
    };
    let from = number("from_number", true);
    let to = number("to_number", false);

    let agent_id = match payload.get("agent_id") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(id)) if !id.is_empty() && id.len() <= MAX_AGENT_ID_BYTES => {
            Some(id.clone())
        }
        Some(_) => {
            anomalies.push(format!("{key}.agent_id: not an agent id"));
            None
        }
    };
    let agent_version = match payload.get("agent_version") {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => match text_of(value).and_then(|t| t.trim().parse::<u64>().ok()) {
            Some(version) => Some(version),
            None => {
                anomalies.push(format!("{key}.agent_version: not a whole number"));
                None
            }
        },
    };
    let event_timestamp = match envelope.get("event_timestamp") {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => {
            let parsed = text_of(value)
                .and_then(|t| t.trim().parse::<f64>().ok())
                .filter(|ms| ms.is_finite())
                .and_then(|ms| Timestamp::from_millisecond(ms as i64).ok());
            if parsed.is_none() {
                anomalies.push("event_timestamp: not a millisecond time".into());
            }
            parsed
        }
    };
    let mut custom_sip_headers = BTreeMap::new();
    match payload.get("custom_sip_headers") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(headers)) => {
            let mut dropped = 0;
            for (name, value) in headers {
                let text = text_of(value).or_else(|| Some(value.to_string()));
                match text {
                    Some(text)
                        if custom_sip_headers.len() < MAX_SIP_HEADERS
                            && !name.is_empty()
                            && name.len() <= MAX_SIP_HEADER_NAME_BYTES
                            && text.len() <= MAX_SIP_HEADER_VALUE_BYTES =>
                    {
                        custom_sip_headers.insert(name.clone(), text);
                    }
                    _ => dropped += 1,
                }
            }
            if dropped > 0 {
                anomalies.push(format!(
                    "{key}.custom_sip_headers: {dropped} too many or too large, kept raw only"
                ));
            }
        }
        Some(_) => anomalies.push(format!("{key}.custom_sip_headers: not an object")),
    }
    Ok(InboundRequest {
        kind,
        from,
        to,
        agent_id,
        agent_version,
        event_timestamp,
        custom_sip_headers,
        anomalies,
    })
}

/// The normalized event of one delivery: an inbound call ringing, or an
/// inbound chat, on the caller's timeline.
pub fn inbound_event(request: &InboundRequest, raw: &str, received_at: Timestamp) -> Event {
    let caller = request
        .from
        .as_ref()
        .map_or("anonymous", PhoneNumber::digits);
    let stamp = time::to_id_stamp(received_at);
    Event {
        provider: Provider::Retell,
        channel: request.kind.channel(),
        provider_id: format!("{stamp}-{caller}"),
        direction: Some(Direction::Inbound),
        from: request.from.clone(),
        to: request.to.clone(),
        caller_name: None,
        kind: request.kind.as_str().into(),
        occurred_at: request.event_timestamp.unwrap_or(received_at),
        received_at,
        is_test: false,
        delivery_key: "1".into(),
        raw: raw.to_string(),
        anomalies: request.anomalies.clone(),
    }
}

/// What one delivery writes, in one transaction: the replay guard (when
/// signed), the retry guard, the event (with Retell's agent, version and
/// SIP headers) and the summary (ringing call, or received chat).
pub fn inbound_plan(
    event: &Event,
    request: &InboundRequest,
    retention_days: u32,
    signed: Option<&SignedDelivery>,
) -> WritePlan {
    let mut plan = WritePlan::for_event(event, retention_days);
    let item = &mut plan.puts[0].item;
    if let Some(agent) = &request.agent_id {
        item.insert("retell_agent_id".into(), s(agent));
    }
    if let Some(version) = request.agent_version {
        item.insert("retell_agent_version".into(), n(version));
    }
    if !request.custom_sip_headers.is_empty() {
        item.insert(
            "custom_sip_headers".into(),
            plan::string_map(&request.custom_sip_headers),
        );
    }
    // When the request arrived, not when Retell signed or said it happened:
    // a timeline sorts by it and the guard windows count from it.
    let received = s(time::to_key(event.received_at));
    match request.kind {
        InboundKind::Call => plan.summary_mut().set_once("ringing_at", received),
        InboundKind::Chat => plan.summary_mut().set_once("inbound_at", received),
    };
    if request.kind == InboundKind::Call {
        let summary = plan.summary_mut();
        lifecycle::note(
            summary,
            &lifecycle::RETELL_CALL,
            "call_inbound",
            event.received_at,
        );
    }
    plan.guard_retries(&retry_guard(event, request.kind), event);
    if let Some(signed) = signed {
        plan.guard_with(replay_guard(signed));
    }
    plan
}

/// One guard per (caller, destination) and kind: see [`RetryGuard`].
fn retry_guard(event: &Event, kind: InboundKind) -> RetryGuard {
    let caller = event.from.as_ref().map_or("anonymous", PhoneNumber::as_str);
    let destination = event.to.as_ref().map_or("", PhoneNumber::as_str);
    RetryGuard {
        scope: kind.guard_name(),
        key_parts: vec![caller.into(), destination.into()],
        window_ms: RETRY_WINDOW_MS,
    }
}

/// One item per signature digest, absent until this request: a replay of
/// the same signed bytes fails its condition for as long as the signature
/// could be accepted (5 minutes either side of its time), so it is
/// recognized anywhere in that window. It expires a while after.
pub fn replay_guard(signed: &SignedDelivery) -> GuardedPut {
    let (pk, sk) = replay_guard_key(signed);
    let mut item = Item::with_capacity(5);
    item.insert(keys::PK.into(), s(pk));
    item.insert(keys::SK.into(), s(sk));
    item.insert(keys::ITEM_TYPE.into(), s("replay_guard"));
    item.insert("signed_ms".into(), n(signed.signed_ms));
    let window_end_s = (signed.signed_ms + MAX_SKEW_MS) / 1000;
    item.insert(keys::TTL.into(), n(window_end_s + 3600));
    GuardedPut {
        item,
        condition: Some(Condition::item_absent()),
    }
}

/// The key (partition, sort) of [`replay_guard`]'s item: its presence
/// says these signed bytes were kept before.
pub fn replay_guard_key(signed: &SignedDelivery) -> (String, &'static str) {
    (
        keys::retry_guard_pk("retell-signature", &[&signed.digest_hex]),
        keys::GUARD_SK,
    )
}

/// The follow-up write of a refused call or chat: its summary records the
/// rule that refused it (set once: a retry refused again changes nothing).
pub fn rejection_update(event: &Event, rule: &str) -> WritePlan {
    let pk = keys::conversation_pk(event.channel, event.provider, &event.provider_id);
    let mut update = SummaryUpdate::new(pk, keys::SUMMARY_SK);
    update
        .set_once("rejected_by", s(rule))
        .set_once("rejected_at", s(time::to_key(event.received_at)));
    WritePlan {
        puts: Vec::new(),
        updates: vec![update],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::AttributeValue;
    use crate::store::keys::PK;

    const SEED: &str = r#"{"event": "call_inbound", "call_inbound": {"agent_id": "agent_12345", "from_number": "+12137771234", "to_number": "+12137771235"}}"#;
    const NOW: &str = "2026-11-23T15:51:22.123Z";

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn number(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    #[test]
    fn seed_request_parses_and_records_a_ringing_call() {
        let request = parse_inbound(SEED.as_bytes()).unwrap();
        assert_eq!(request.kind, InboundKind::Call);
        assert_eq!(request.from, Some(number("+12137771234")));
        assert_eq!(request.to, Some(number("+12137771235")));
        assert_eq!(request.agent_id.as_deref(), Some("agent_12345"));
        assert!(request.anomalies.is_empty());
        let event = inbound_event(&request, SEED, now());
        assert_eq!(event.provider_id, "20261123T155122123Z-12137771234");
        assert_eq!(event.raw, SEED);
        let plan = inbound_plan(&event, &request, 30, None);
        assert_eq!(plan.action_count(), 3, "guard, event, summary");
        assert_eq!(
            plan.puts[0].item[PK],
            s("GUARD#retell-inbound#+12137771234#+12137771235")
        );
        assert_eq!(
            plan.puts[0].condition.as_ref().unwrap().values[":cutoff"],
            n(now().as_millisecond() - RETRY_WINDOW_MS)
        );
        assert_eq!(plan.puts[1].item["retell_agent_id"], s("agent_12345"));
        assert!(plan.updates[0]
            .set_once
            .iter()
            .any(|(k, _)| k == "ringing_at"));
        assert_eq!(
            plan.updates[0].pk,
            "CALL#retell#20261123T155122123Z-12137771234"
        );
    }

    #[test]
    fn the_current_fields_are_read() {
        let body = r#"{"event": "chat_inbound", "event_timestamp": 1795449080000,
            "chat_inbound": {"agent_id": "agent_sms", "agent_version": "4", "from_number": "+12137771234",
            "to_number": "+12137771235", "custom_sip_headers": {"x-campaign": "fall", "x-n": 7}}}"#;
        let request = parse_inbound(body.as_bytes()).unwrap();
        assert_eq!(request.kind, InboundKind::Chat);
        assert_eq!(request.agent_version, Some(4));
        assert_eq!(
            request.event_timestamp,
            Some(Timestamp::from_millisecond(1_795_449_080_000).unwrap())
        );
        assert_eq!(request.custom_sip_headers["x-campaign"], "fall");
        assert_eq!(request.custom_sip_headers["x-n"], "7");
        let event = inbound_event(&request, body, now());
        assert_eq!(event.channel, Channel::Sms);
        assert_eq!(event.kind, "chat_inbound");
        assert_eq!(event.occurred_at, request.event_timestamp.unwrap());
        let signed = SignedDelivery {
            signed_ms: 1_795_449_080_500,
            digest_hex: "ab".repeat(32),
        };
        let plan = inbound_plan(&event, &request, 30, Some(&signed));
        assert_eq!(plan.action_count(), 4, "replay, retry, event, summary");
        assert_eq!(
            plan.puts[0].item[PK],
            s(format!("GUARD#retell-signature#{}", "ab".repeat(32)))
        );
        assert_eq!(plan.puts[0].condition, Some(Condition::item_absent()));
        // Past the whole signature window.
        let ttl: i64 = plan.puts[0].item[keys::TTL]
            .as_n()
            .unwrap()
            .parse()
            .unwrap();
        assert!(ttl * 1000 > signed.signed_ms + MAX_SKEW_MS);
        assert_eq!(
            plan.puts[1].item[PK],
            s("GUARD#retell-chat#+12137771234#+12137771235")
        );
        assert_eq!(plan.puts[2].item["retell_agent_version"], n(4));
        let AttributeValue::M(headers) = &plan.puts[2].item["custom_sip_headers"] else {
            panic!("headers are a map");
        };
        assert_eq!(headers["x-campaign"], s("fall"));
        assert!(plan.updates[0]
            .set_once
            .iter()
            .any(|(k, _)| k == "inbound_at"));
        assert!(plan.updates[0].pk.starts_with("SMS#retell#"));
    }

    #[test]
    fn unreadable_parts_are_read_around_and_named() {
        let cases = [
            (
                r#"{"event": "call_inbound", "call_inbound": {"to_number": "+12137771235"}}"#,
                "call_inbound.from_number: missing",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": null, "to_number": "+12137771235"}}"#,
                "call_inbound.from_number: null",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "call me", "to_number": "+12137771235"}}"#,
                "call_inbound.from_number: ",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234", "to_number": "front desk"}}"#,
                "call_inbound.to_number: ",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234", "to_number": "+12137771235", "agent_version": "v2"}}"#,
                "call_inbound.agent_version: ",
            ),
            (
                r#"{"event": "call_inbound", "event_timestamp": "soon", "call_inbound": {"from_number": "+12137771234", "to_number": "+12137771235"}}"#,
                "event_timestamp: ",
            ),
        ];
        for (body, expected) in cases {
            let request = parse_inbound(body.as_bytes()).unwrap();
            assert!(
                request.anomalies.iter().any(|a| a.starts_with(expected)),
                "{body}: {:?}",
                request.anomalies
            );
        }
        // A withheld caller is a call from nobody and nothing odd.
        let request = parse_inbound(br#"{"event": "call_inbound", "call_inbound": {"from_number": "anonymous", "to_number": "+12137771235"}}"#).unwrap();
        assert_eq!(request.from, None);
        assert!(request.anomalies.is_empty());
        assert!(inbound_event(&request, "", now())
            .provider_id
            .ends_with("-anonymous"));
    }

    #[test]
    fn only_what_is_no_inbound_request_is_refused() {
        let cases = [
            ("{", "not valid JSON"),
            (r#"{"call_inbound": {}}"#, "event: is missing"),
            (r#"{"event": 3, "call_inbound": {}}"#, "event: "),
            (r#"{"event": "call_ended", "call": {}}"#, "event: "),
            (r#"{"event": "call_inbound"}"#, "call_inbound: is missing"),
            (
                r#"{"event": "chat_inbound", "call_inbound": {}}"#,
                "chat_inbound: is missing",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": []}"#,
                "call_inbound: is not an object",
            ),
        ];
        for (body, expected) in cases {
            let err = parse_inbound(body.as_bytes()).unwrap_err();
            assert!(err.to_string().contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn oversized_sip_headers_stay_raw() {
        let mut headers = serde_json::Map::new();
        for i in 0..40 {
            headers.insert(format!("x-h{i:02}"), serde_json::json!("v"));
        }
        headers.insert("x-big".into(), serde_json::json!("v".repeat(5000)));
        let body = serde_json::json!({"event": "call_inbound", "call_inbound": {
            "from_number": "+12137771234", "to_number": "+12137771235", "custom_sip_headers": headers}});
        let request = parse_inbound(body.to_string().as_bytes()).unwrap();
        assert_eq!(request.custom_sip_headers.len(), MAX_SIP_HEADERS);
        assert!(request.anomalies[0].contains("custom_sip_headers"));
    }

    #[test]
    fn a_refusal_is_recorded_once_on_the_summary() {
        let request = parse_inbound(SEED.as_bytes()).unwrap();
        let event = inbound_event(&request, SEED, now());
        let plan = rejection_update(&event, "reject.calls.prefixes");
        assert!(plan.puts.is_empty());
        assert_eq!(
            plan.updates[0].set_once[0],
            ("rejected_by".to_string(), s("reject.calls.prefixes"))
        );
    }
}
