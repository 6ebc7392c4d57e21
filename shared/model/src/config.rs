//! The documents operators keep in the table: one configuration per number
//! of ours (access pattern 5) and one contact record per caller (pattern 6).
//! Both are JSON documents loaded with `callhooks numbers put FILE` and
//! `callhooks contacts put FILE`; unknown fields are refused with the field
//! named, so a typo never silently turns a feature off.

use crate::phone::PhoneNumber;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How one of our numbers is handled, per provider.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberConfig {
    /// The number this document configures, in E.164.
    pub number: PhoneNumber,
    /// A short name people know the line by ("Support"), used in alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voxtelesys: Option<VoxtelesysConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retell: Option<RetellConfig>,
}

/// What Voxtelesys callers hear and where they are forwarded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoxtelesysConfig {
    /// Text said before forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// Numbers dialled at once; the first to answer takes the call.
    #[serde(default)]
    pub forward_to: Vec<PhoneNumber>,
    /// Seconds to ring the forward numbers before giving up.
    #[serde(default = "default_ring_timeout_s")]
    pub ring_timeout_s: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail: Option<VoicemailConfig>,
}

pub fn default_ring_timeout_s() -> u32 {
    20
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoicemailConfig {
    pub enabled: bool,
    /// Said before the beep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Longest recording, in seconds.
    #[serde(default = "default_voicemail_max_length_s")]
    pub max_length_s: u32,
}

pub fn default_voicemail_max_length_s() -> u32 {
    120
}

/// Which Retell agent takes a call to this number. First match wins:
/// the caller's entry in `contacts`, then the first matching schedule
/// window, then `default_agent`; no match leaves the number's own agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetellConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_agent: Option<AgentChoice>,
    #[serde(default)]
    pub schedules: Vec<ScheduleWindow>,
    /// Per-caller agents, keyed by the caller's E.164 number.
    #[serde(default)]
    pub contacts: BTreeMap<PhoneNumber, AgentChoice>,
    /// Inbound SMS (`chat_inbound`) routing: the same three steps with chat
    /// agents. Absent, chats keep the number's own chat agent (a voice
    /// agent cannot take a chat, so call routing is never reused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<RetellChatRouting>,
    /// Callers and senders to turn away, for calls and chats separately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject: Option<RetellRejectRules>,
}

/// Which Retell chat agent takes an inbound SMS (same rules as calls).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetellChatRouting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_agent: Option<AgentChoice>,
    #[serde(default)]
    pub schedules: Vec<ScheduleWindow>,
    #[serde(default)]
    pub contacts: BTreeMap<PhoneNumber, AgentChoice>,
}

/// Block lists, one for calls and one for chats.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetellRejectRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<RejectRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chats: Option<RejectRule>,
}

/// Who is turned away; the first rule that matches is recorded by name
/// (`reject.calls.numbers`, `reject.calls.prefixes`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RejectRule {
    /// Exact E.164 numbers.
    #[serde(default)]
    pub numbers: Vec<PhoneNumber>,
    /// Leading characters of the E.164 text (`+1900`, `+44`).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Callers who withheld their number.
    #[serde(default)]
    pub anonymous: bool,
    /// Anyone, when no schedule window of the same routing contains now.
    #[serde(default)]
    pub outside_schedules: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentChoice {
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<u32>,
    /// Retell's `agent_override` for this call or chat only (agent, LLM or
    /// conversation-flow settings), passed through as it is: a JSON object
    /// of at most [`MAX_AGENT_OVERRIDE_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_override: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The largest `agent_override` a document may carry, as compact JSON. A
/// prompt-sized override fits; the bound keeps every answer far below what
/// Retell reads in its 10 s and a configuration item far below 400 KB.
pub const MAX_AGENT_OVERRIDE_BYTES: usize = 16 * 1024;

/// Checks every `agent_override` of a Retell configuration against
/// [`MAX_AGENT_OVERRIDE_BYTES`], naming the one that is too large.
pub fn check_agent_overrides(config: &RetellConfig) -> Result<(), AgentChoiceError> {
    let mut choices: Vec<(String, &AgentChoice)> = Vec::new();
    if let Some(agent) = &config.default_agent {
        choices.push(("retell.default_agent".into(), agent));
    }
    for (i, window) in config.schedules.iter().enumerate() {
        choices.push((format!("retell.schedules[{i}].agent"), &window.agent));
    }
    for (number, agent) in &config.contacts {
        choices.push((format!("retell.contacts.{number}"), agent));
    }
    if let Some(chat) = &config.chat {
        if let Some(agent) = &chat.default_agent {
            choices.push(("retell.chat.default_agent".into(), agent));
        }
        for (i, window) in chat.schedules.iter().enumerate() {
            choices.push((format!("retell.chat.schedules[{i}].agent"), &window.agent));
        }
        for (number, agent) in &chat.contacts {
            choices.push((format!("retell.chat.contacts.{number}"), agent));
        }
    }
    for (path, choice) in choices {
        if choice.agent_id.trim().is_empty() {
            return Err(AgentChoiceError::EmptyAgentId { path });
        }
        if let Some(value) = &choice.agent_override {
            let bytes = serde_json::to_string(value).map_or(usize::MAX, |t| t.len());
            if bytes > MAX_AGENT_OVERRIDE_BYTES {
                return Err(AgentChoiceError::OverrideTooLarge { path, bytes });
            }
        }
    }
    Ok(())
}

/// An agent choice a document may not hold; `path` names it as the
/// document does (`retell.schedules[0].agent`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AgentChoiceError {
    #[error("{path}.agent_id: is empty")]
    EmptyAgentId { path: String },
    #[error("{path}.agent_override: is {bytes} bytes; the limit is {MAX_AGENT_OVERRIDE_BYTES}")]
    OverrideTooLarge { path: String, bytes: usize },
}

/// A weekly window in a time zone: `days` among mon..sun, `start`
/// inclusive and `end` exclusive as `HH:MM`; `end` before `start` wraps
/// past midnight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleWindow {
    pub days: Vec<String>,
    pub start: String,
    pub end: String,
    /// An IANA time zone name, e.g. `America/New_York`.
    pub time_zone: String,
    pub agent: AgentChoice,
}

/// What we know about a caller (access pattern 6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub number: PhoneNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Passed to Retell as dynamic variables; Retell takes strings only.
    #[serde(default)]
    pub dynamic_variables: BTreeMap<String, String>,
    /// Passed to Retell as call metadata; any JSON.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Turn this caller away on every Retell number (`contact.reject`).
    #[serde(default, skip_serializing_if = "ContactReject::is_empty")]
    pub reject: ContactReject,
}

/// A contact's own block: calls, chats, or both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactReject {
    #[serde(default)]
    pub calls: bool,
    #[serde(default)]
    pub chats: bool,
}

impl ContactReject {
    pub fn is_empty(&self) -> bool {
        !self.calls && !self.chats
    }
}

/// Parses a document, naming the field of any error
/// (`retell.schedules[0].agent: missing field `agent_id``).
pub fn parse_document<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, DocumentError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        DocumentError {
            // `.` is the document itself: nothing to name.
            field: (path != ".").then_some(path),
            problem: e.into_inner().to_string(),
        }
    })
}

/// A document that is not valid JSON of its type, and where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", field_prefix(.field))]
pub struct DocumentError {
    /// The field, as the document names it (`voxtelesys.forward_to[0]`).
    pub field: Option<String>,
    pub problem: String,
}

fn field_prefix(field: &Option<String>) -> String {
    field
        .as_deref()
        .map(|f| format!("{f}: "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_number_document_parses() {
        let doc = r#"{
          "number": "+18339664835",
          "label": "Support",
          "voxtelesys": {
            "greeting": "Thanks for calling <Acme> & co",
            "forward_to": ["+14155550100", "+14155550101"],
            "ring_timeout_s": 25,
            "voicemail": {"enabled": true, "prompt": "Leave a message", "max_length_s": 90}
          },
          "retell": {
            "default_agent": {"agent_id": "agent_day"},
            "schedules": [{"days": ["sat", "sun"], "start": "00:00", "end": "00:00", "time_zone": "America/New_York", "agent": {"agent_id": "agent_weekend", "agent_version": 2}}],
            "contacts": {"+14155552671": {"agent_id": "agent_vip"}}
          }
        }"#;
        let config: NumberConfig = parse_document(doc).unwrap();
        assert_eq!(config.label.as_deref(), Some("Support"));
        let vox = config.voxtelesys.unwrap();
        assert_eq!(vox.forward_to.len(), 2);
        assert_eq!(vox.voicemail.unwrap().max_length_s, 90);
        let retell = config.retell.unwrap();
        assert_eq!(retell.schedules[0].agent.agent_version, Some(2));
        assert!(retell
            .contacts
            .contains_key(&PhoneNumber::parse("+14155552671").unwrap()));
    }

    #[test]
    fn defaults_apply() {
        let config: NumberConfig =
            parse_document(r#"{"number": "+18339664835", "voxtelesys": {"forward_to": ["+14155550100"], "voicemail": {"enabled": false}}}"#).unwrap();
        let vox = config.voxtelesys.unwrap();
        assert_eq!(vox.ring_timeout_s, 20);
        assert_eq!(vox.voicemail.unwrap().max_length_s, 120);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"number": "+18339664835", "voxtelesys": {"forwardto": []}}"#,
                "voxtelesys.forwardto",
            ),
            (r#"{"number": "nope"}"#, "number"),
            (
                r#"{"number": "+18339664835", "voxtelesys": {"forward_to": ["x"]}}"#,
                "voxtelesys.forward_to[0]",
            ),
            (
                r#"{"number": "+18339664835", "retell": {"schedules": [{"days": [], "start": "09:00", "end": "17:00", "time_zone": "UTC", "agent": {}}]}}"#,
                "retell.schedules[0].agent",
            ),
        ];
        for (doc, path) in cases {
            let err = parse_document::<NumberConfig>(doc).unwrap_err();
            assert!(err.to_string().starts_with(path), "{doc}: {err}");
        }
    }

    #[test]
    fn agent_overrides_are_objects_of_bounded_size() {
        let doc = |value: &str| {
            format!(
                r#"{{"number": "+18339664835", "retell": {{"chat": {{"default_agent": {{"agent_id": "c", "agent_override": {value}}}}}}}}}"#
            )
        };
        let config: NumberConfig =
            parse_document(&doc(r#"{"agent": {"language": "fr-FR"}}"#)).unwrap();
        assert_eq!(
            check_agent_overrides(config.retell.as_ref().unwrap()),
            Ok(())
        );
        let err = parse_document::<NumberConfig>(&doc(r#""voice""#)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("retell.chat.default_agent.agent_override"),
            "{err}"
        );
        let big = format!(
            r#"{{"retell_llm": {{"begin_message": "{}"}}}}"#,
            "x".repeat(MAX_AGENT_OVERRIDE_BYTES)
        );
        let config: NumberConfig = parse_document(&doc(&big)).unwrap();
        let err = check_agent_overrides(config.retell.as_ref().unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("retell.chat.default_agent.agent_override: is "),
            "{err}"
        );
        let reject: NumberConfig = parse_document(
            r#"{"number": "+18339664835", "retell": {"reject": {"calls": {"prefixes": ["+1900"], "anonymous": true}}}}"#,
        )
        .unwrap();
        assert!(
            reject
                .retell
                .unwrap()
                .reject
                .unwrap()
                .calls
                .unwrap()
                .anonymous
        );
        let err = parse_document::<NumberConfig>(
            r#"{"number": "+18339664835", "retell": {"reject": {"calls": {"prefix": ["+1900"]}}}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("retell.reject.calls.prefix"),
            "{err}"
        );
    }

    #[test]
    fn contact_variables_must_be_strings() {
        let ok: Contact = parse_document(r#"{"number": "+14155552671", "name": "John", "dynamic_variables": {"tier": "gold"}, "metadata": {"crm_id": 7}}"#).unwrap();
        assert_eq!(ok.dynamic_variables["tier"], "gold");
        let err = parse_document::<Contact>(
            r#"{"number": "+14155552671", "dynamic_variables": {"tier": 3}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("dynamic_variables.tier"),
            "{err}"
        );
        let err = parse_document::<Contact>(r#"{"number": "+14155552671", "nickname": "J"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("nickname"), "{err}");
    }
}
