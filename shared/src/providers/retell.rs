//! Retell AI: the inbound-call webhook (seed 004).
//!
//! Retell posts `{"event": "call_inbound", "call_inbound": {agent_id?,
//! from_number, to_number}}` before it connects a call to one of the user's
//! Retell numbers, and waits (the caller hears ringing) for
//! `{"call_inbound": {override_agent_id?, override_agent_version?,
//! dynamic_variables?, metadata?}}`. An empty `call_inbound` lets the
//! number's own agent take the call.
//!
//! * Routing, first match wins: the caller's entry in the number's
//!   `retell.contacts`, the first schedule window containing now, the
//!   number's `retell.default_agent`; no match, no override.
//! * Caller context as dynamic variables (always strings; see
//!   [`inbound_answer`]): the contact record's name, variables and metadata,
//!   and what earlier calls from the number, from any provider, tell.
//! * Retell gives no call id (the call does not exist yet), so the id is
//!   derived like Zonitel's: the moment the first delivery arrived and the
//!   caller's digits (`20261123T155122123Z-14155552671`). A delivery from the
//!   same caller to the same number within [`RETRY_WINDOW_MS`] of an
//!   accepted one is a retry and is not recorded again (a conditional guard
//!   put in the event's transaction, never a read); its answer is the same
//!   because the history ignores this call's own record.

use crate::config::{AgentChoice, Contact, NumberConfig};
use crate::event::{Channel, Direction, Event, Provider};
use crate::http::{parse_json, ApiError};
use crate::phone::PhoneNumber;
use crate::schedule;
use crate::store::keys;
use crate::store::plan::{self, s, GuardedPut, WritePlan};
use crate::store::CallSummary;
use crate::time::{self, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Deliveries from one caller to one number within this long of an accepted
/// one are retries. Retell waits 10 s and retries up to 3 times, so its
/// retries land within about 40 s.
pub const RETRY_WINDOW_MS: i64 = 60_000;

/// How many timeline items (calls and messages) from the caller one lookup
/// reads; when there are more, the count ends in `+`.
pub const HISTORY_LIMIT: usize = 100;

/// The names of the dynamic variables this system sets (documented in the
/// README). A contact record's own variables override them.
pub mod variables {
    pub const CALLER_NUMBER: &str = "caller_number";
    pub const CALLER_NAME: &str = "caller_name";
    pub const PREVIOUS_CALL_COUNT: &str = "previous_call_count";
    pub const LAST_CALL_AT: &str = "last_call_at";
}

#[derive(Debug, Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    call_inbound: Option<serde_json::Value>,
}

/// `call_inbound` as Retell documents it. `agent_id` and anything Retell adds
/// are kept in the raw body, not interpreted.
#[derive(Debug, Deserialize)]
struct CallInboundPayload {
    from_number: String,
    to_number: String,
}

/// A checked inbound-call request.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundCall {
    /// `None` when the caller withheld their number.
    pub from: Option<PhoneNumber>,
    pub to: PhoneNumber,
}

/// Parses and validates the body; every error names its field.
pub fn parse_inbound(body: &[u8]) -> Result<InboundCall, ApiError> {
    let envelope: Envelope = parse_json(body)?;
    if envelope.event != "call_inbound" {
        return Err(ApiError::invalid_field(
            "event",
            format!(
                "{:?} is not handled here; this URL takes \"call_inbound\"",
                envelope.event
            ),
        ));
    }
    let payload = match envelope.call_inbound {
        None | Some(serde_json::Value::Null) => {
            return Err(ApiError::invalid_field("call_inbound", "is missing"))
        }
        Some(value) => value,
    };
    let payload: CallInboundPayload = serde_path_to_error::deserialize(payload).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "call_inbound".to_string()
        } else {
            format!("call_inbound.{path}")
        };
        ApiError::invalid_field(&field, e.into_inner())
    })?;
    let from = PhoneNumber::parse_caller_id(&payload.from_number)
        .map_err(|e| ApiError::invalid_field("call_inbound.from_number", e))?;
    let to = PhoneNumber::parse(&payload.to_number)
        .map_err(|e| ApiError::invalid_field("call_inbound.to_number", e))?;
    Ok(InboundCall { from, to })
}

/// The normalized event of one delivery: an inbound call, ringing.
pub fn inbound_event(call: &InboundCall, raw: &str, received_at: Timestamp) -> Event {
    let caller = call.from.as_ref().map_or("anonymous", PhoneNumber::digits);
    let stamp = time::to_id_stamp(received_at);
    Event {
        provider: Provider::Retell,
        channel: Channel::Call,
        provider_id: format!("{stamp}-{caller}"),
        direction: Some(Direction::Inbound),
        from: call.from.clone(),
        to: Some(call.to.clone()),
        caller_name: None,
        kind: "call_inbound".into(),
        occurred_at: received_at,
        received_at,
        is_test: false,
        delivery_key: "1".into(),
        raw: raw.to_string(),
        anomalies: Vec::new(),
    }
}

/// What one delivery writes: the retry guard, the event and the call's
/// summary (ringing), in one transaction.
pub fn inbound_plan(event: &Event, retention_days: u32) -> WritePlan {
    let mut plan = WritePlan::for_event(event, retention_days);
    plan.summary_mut()
        .set_once("ringing_at", s(time::to_key(event.occurred_at)));
    plan.guard_with(retry_guard(event));
    plan
}

fn retry_guard(event: &Event) -> GuardedPut {
    let caller = event.from.as_ref().map_or("anonymous", PhoneNumber::as_str);
    let destination = event.to.as_ref().map_or("", PhoneNumber::as_str);
    let pk = keys::retry_guard_pk("retell-inbound", &[caller, destination]);
    plan::retry_guard(pk, &event.provider_id, event.received_at, RETRY_WINDOW_MS)
}

/// What earlier calls from the caller tell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallerHistory {
    pub previous_calls: usize,
    /// Older calls were left unread: the count is a lower bound.
    pub more: bool,
    /// `first_seen_at` of the latest earlier call.
    pub last_call_at: Option<String>,
    /// The latest non-empty caller-ID name any provider reported.
    pub caller_name: Option<String>,
}

/// Summarizes the caller's calls (newest first, as [`crate::store::Store::
/// caller_contact_and_calls`] reads them). Ignored: test calls, calls first seen
/// after now, and Retell calls to the same number within the retry window
/// (this call's own record, or the one an earlier delivery of it wrote), so
/// a retried request gets the same answer.
pub fn caller_history(
    calls: &[CallSummary],
    more: bool,
    to: &PhoneNumber,
    now: Timestamp,
) -> CallerHistory {
    let now_key = time::to_key(now);
    let window_start = Timestamp::from_millisecond(now.as_millisecond() - RETRY_WINDOW_MS)
        .map(time::to_key)
        .unwrap_or_default();
    let mut earlier: Vec<&CallSummary> = calls
        .iter()
        .filter(|c| !c.is_test && c.first_seen_at <= now_key)
        .filter(|c| {
            !(c.provider == Provider::Retell.as_str()
                && c.to.as_deref() == Some(to.as_str())
                && c.first_seen_at >= window_start)
        })
        .collect();
    earlier.sort_by(|a, b| b.first_seen_at.cmp(&a.first_seen_at));
    CallerHistory {
        previous_calls: earlier.len(),
        more,
        last_call_at: earlier.first().map(|c| c.first_seen_at.clone()),
        caller_name: earlier.iter().find_map(|c| {
            c.caller_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        }),
    }
}

/// The answer Retell reads.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InboundAnswer {
    pub call_inbound: CallInboundAnswer,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallInboundAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_agent_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub override_agent_version: Option<u32>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub dynamic_variables: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

/// The agent for this call: the caller's contact agent, else the first
/// schedule window containing `now`, else the default; `None` leaves the
/// number's own agent.
pub fn choose_agent<'c>(
    config: Option<&'c NumberConfig>,
    caller: Option<&PhoneNumber>,
    now: Timestamp,
) -> Option<&'c AgentChoice> {
    let retell = config?.retell.as_ref()?;
    caller
        .and_then(|c| retell.contacts.get(c))
        .or_else(|| schedule::first_matching(&retell.schedules, now).map(|w| &w.agent))
        .or(retell.default_agent.as_ref())
}

/// The whole answer from what the lookups found; `None` is a lookup that
/// failed or came too late, so the answer says less, never fails.
///
/// Dynamic variables: `caller_number` (E.164), `caller_name` (contact
/// name, else the latest caller-ID name from any provider),
/// `previous_call_count` (earlier calls from the number, ending in `+` past
/// the lookup's limit) and `last_call_at` (RFC 3339 UTC), then the contact
/// record's own variables, which win over these.
pub fn inbound_answer(
    call: &InboundCall,
    config: Option<&NumberConfig>,
    contact: Option<&Contact>,
    history: Option<&CallerHistory>,
    now: Timestamp,
) -> InboundAnswer {
    let mut answer = CallInboundAnswer::default();
    if let Some(agent) = choose_agent(config, call.from.as_ref(), now) {
        answer.override_agent_id = Some(agent.agent_id.clone());
        answer.override_agent_version = agent.agent_version;
    }
    let vars = &mut answer.dynamic_variables;
    if let Some(from) = &call.from {
        vars.insert(variables::CALLER_NUMBER.into(), from.as_str().into());
    }
    let contact_name = contact
        .and_then(|c| c.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if let Some(name) = contact_name.or(history.and_then(|h| h.caller_name.as_deref())) {
        vars.insert(variables::CALLER_NAME.into(), name.to_string());
    }
    if let Some(history) = history {
        let count = if history.more {
            format!("{}+", history.previous_calls)
        } else {
            history.previous_calls.to_string()
        };
        vars.insert(variables::PREVIOUS_CALL_COUNT.into(), count);
        if let Some(at) = &history.last_call_at {
            vars.insert(variables::LAST_CALL_AT.into(), at.clone());
        }
    }
    if let Some(contact) = contact {
        vars.extend(contact.dynamic_variables.clone());
        answer.metadata = contact.metadata.clone();
    }
    InboundAnswer {
        call_inbound: answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_document;
    use crate::store::keys::PK;
    use crate::store::plan::n;
    use serde_json::json;

    const SEED: &str = r#"{"event": "call_inbound", "call_inbound": {"agent_id": "agent_12345", "from_number": "+12137771234", "to_number": "+12137771235"}}"#;
    const NOW: &str = "2026-11-23T15:51:22.123Z"; // a Monday

    fn now() -> Timestamp {
        NOW.parse().unwrap()
    }

    fn number(text: &str) -> PhoneNumber {
        PhoneNumber::parse(text).unwrap()
    }

    fn config() -> NumberConfig {
        parse_document(
            r#"{"number": "+12137771235", "retell": {
                "default_agent": {"agent_id": "agent_default"},
                "schedules": [{"days": ["mon"], "start": "09:00", "end": "17:00", "time_zone": "America/Los_Angeles", "agent": {"agent_id": "agent_office", "agent_version": 4}}],
                "contacts": {"+14155552671": {"agent_id": "agent_vip"}}}}"#,
        )
        .unwrap()
    }

    fn summary(provider: &str, at: &str, name: Option<&str>, to: &str) -> CallSummary {
        serde_json::from_value(json!({
            "provider": provider, "call_id": at, "first_seen_at": at,
            "caller_name": name, "to": to, "direction": "inbound",
        }))
        .unwrap()
    }

    #[test]
    fn seed_request_parses_and_records_a_ringing_call() {
        let call = parse_inbound(SEED.as_bytes()).unwrap();
        assert_eq!(call.from, Some(number("+12137771234")));
        assert_eq!(call.to, number("+12137771235"));
        let event = inbound_event(&call, SEED, now());
        assert_eq!(event.provider_id, "20261123T155122123Z-12137771234");
        assert_eq!(event.raw, SEED);
        let plan = inbound_plan(&event, 30);
        assert_eq!(plan.action_count(), 3, "guard, event, summary");
        assert_eq!(
            plan.puts[0].item[PK],
            s("GUARD#retell-inbound#+12137771234#+12137771235")
        );
        assert_eq!(
            plan.puts[0].condition.as_ref().unwrap().values[":cutoff"],
            n(now().as_millisecond() - RETRY_WINDOW_MS)
        );
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
    fn bad_requests_name_the_field() {
        let cases = [
            ("{", "not valid JSON"),
            (r#"{"call_inbound": {}}"#, "event"),
            (
                r#"{"event": "call_ended", "call_inbound": {"from_number": "+12137771234", "to_number": "+12137771235"}}"#,
                "event: ",
            ),
            (r#"{"event": "call_inbound"}"#, "call_inbound: "),
            (
                r#"{"event": "call_inbound", "call_inbound": null}"#,
                "call_inbound: ",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": []}"#,
                "call_inbound: ",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"to_number": "+12137771235"}}"#,
                "from_number",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234"}}"#,
                "to_number",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "call me", "to_number": "+12137771235"}}"#,
                "call_inbound.from_number: ",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234", "to_number": "anonymous"}}"#,
                "call_inbound.to_number: ",
            ),
            (
                r#"{"event": "call_inbound", "call_inbound": {"from_number": "+12137771234", "to_number": 5}}"#,
                "call_inbound.to_number: ",
            ),
        ];
        for (body, expected) in cases {
            let err = parse_inbound(body.as_bytes()).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{body}");
            assert!(err.message.contains(expected), "{body}: {}", err.message);
        }
        // A withheld caller is a call from nobody, not an error.
        let call = parse_inbound(br#"{"event": "call_inbound", "call_inbound": {"from_number": "anonymous", "to_number": "+12137771235"}}"#).unwrap();
        assert_eq!(call.from, None);
        assert!(inbound_event(&call, "", now())
            .provider_id
            .ends_with("-anonymous"));
    }

    #[test]
    fn routing_first_match_wins_contact_schedule_default() {
        let config = config();
        let vip = number("+14155552671");
        let other = number("+14155550000");
        // 15:51 UTC Monday is 07:51 in Los Angeles: before office hours.
        assert_eq!(
            choose_agent(Some(&config), Some(&vip), now())
                .unwrap()
                .agent_id,
            "agent_vip"
        );
        assert_eq!(
            choose_agent(Some(&config), Some(&other), now())
                .unwrap()
                .agent_id,
            "agent_default"
        );
        let office: Timestamp = "2026-11-23T18:00:00Z".parse().unwrap();
        let chosen = choose_agent(Some(&config), Some(&other), office).unwrap();
        assert_eq!(
            (chosen.agent_id.as_str(), chosen.agent_version),
            ("agent_office", Some(4))
        );
        assert_eq!(
            choose_agent(Some(&config), None, office).unwrap().agent_id,
            "agent_office"
        );
        assert_eq!(
            choose_agent(Some(&config), Some(&vip), office)
                .unwrap()
                .agent_id,
            "agent_vip"
        );
        let mut bare = config.clone();
        bare.retell = Some(Default::default());
        assert_eq!(choose_agent(Some(&bare), Some(&vip), office), None);
        bare.retell = None;
        assert_eq!(choose_agent(Some(&bare), Some(&vip), office), None);
        assert_eq!(choose_agent(None, Some(&vip), office), None);
    }

    #[test]
    fn history_ignores_this_call_tests_and_the_future() {
        let to = number("+12137771235");
        let mut test_call = summary(
            "zonitel",
            "2026-11-20T10:00:00.000Z",
            Some("Tester"),
            "+18339664835",
        );
        test_call.is_test = true;
        let calls = vec![
            summary("retell", "2026-11-23T15:51:50.000Z", None, "+12137771235"), // future
            summary("retell", NOW, None, "+12137771235"),                        // this call
            summary("retell", "2026-11-23T15:51:00.000Z", None, "+12137771235"), // earlier delivery
            summary("retell", "2026-11-23T15:40:00.000Z", None, "+12137771235"),
            summary(
                "zonitel",
                "2026-11-22T10:00:00.000Z",
                Some("  "),
                "+18339664835",
            ),
            summary(
                "zonitel",
                "2026-11-21T10:00:00.000Z",
                Some("John Doe"),
                "+18339664835",
            ),
            test_call,
            summary(
                "voxtelesys",
                "2026-11-01T10:00:00.000Z",
                Some("J DOE"),
                "+18339664835",
            ),
        ];
        let history = caller_history(&calls, false, &to, now());
        assert_eq!(
            history,
            CallerHistory {
                previous_calls: 4,
                more: false,
                last_call_at: Some("2026-11-23T15:40:00.000Z".into()),
                caller_name: Some("John Doe".into()),
            }
        );
        assert_eq!(
            caller_history(&[], false, &to, now()),
            CallerHistory::default()
        );
    }

    #[test]
    fn answer_carries_agent_and_string_variables() {
        let call = InboundCall {
            from: Some(number("+14155552671")),
            to: number("+12137771235"),
        };
        let contact: Contact = parse_document(
            r#"{"number": "+14155552671", "name": "Zoë", "dynamic_variables": {"tier": "gold", "caller_number": "override"}, "metadata": {"crm_id": 7}}"#,
        )
        .unwrap();
        let history = CallerHistory {
            previous_calls: 100,
            more: true,
            last_call_at: Some("2026-11-21T10:00:00.000Z".into()),
            caller_name: Some("John Doe".into()),
        };
        let answer = inbound_answer(
            &call,
            Some(&config()),
            Some(&contact),
            Some(&history),
            now(),
        );
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"call_inbound": {
                "override_agent_id": "agent_vip",
                "dynamic_variables": {
                    "caller_number": "override", "caller_name": "Zoë", "tier": "gold",
                    "previous_call_count": "100+", "last_call_at": "2026-11-21T10:00:00.000Z"},
                "metadata": {"crm_id": 7}}})
        );
        // Without a contact, the name another provider saw.
        let answer = inbound_answer(&call, None, None, Some(&history), now());
        assert_eq!(
            answer.call_inbound.dynamic_variables["caller_name"],
            "John Doe"
        );
        assert_eq!(answer.call_inbound.override_agent_id, None);
        assert!(answer.call_inbound.metadata.is_empty());
    }

    #[test]
    fn nothing_known_is_an_empty_call_inbound() {
        let call = InboundCall {
            from: None,
            to: number("+12137771235"),
        };
        let answer = inbound_answer(&call, None, None, None, now());
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"call_inbound": {}})
        );
    }
}
