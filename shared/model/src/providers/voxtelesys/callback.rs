//! From parameters to the normalized callback and what it writes.

use super::{CallParams, Hook, MAX_CALLER_NAME_CHARS, MAX_STRUCTURED_VARS_BYTES, MAX_TOKEN_CHARS};
use crate::call_answer::{dial_outcome, DialOutcome};
use crate::event::{Channel, Direction, Event, Provider};
use crate::lifecycle;
use crate::phone::PhoneNumber;
use crate::providers::form::{self, normalized, number_param, seconds};
use crate::providers::ReadError;
use crate::store::keys;
use crate::store::plan::{self, n, s, Item, WritePlan};
use crate::time::{self, Timestamp};
use sha2::{Digest, Sha256};

/// Wire name, attribute name on the stored event, for the parameters kept
/// as attributes as they came (From, To and CallerName are kept
/// normalized, Direction both ways, Vars parsed).
const STORED_AS_IS: &[(&str, &str)] = &[
    ("CallSid", "call_sid"),
    ("AccountID", "account_id"),
    ("TrunkID", "trunk_id"),
    ("CallStatus", "call_status"),
    ("ApiVersion", "api_version"),
    ("Direction", "voxtelesys_direction"),
    ("ParentCallSid", "parent_call_sid"),
    ("FromCity", "from_city"),
    ("FromState", "from_state"),
    ("FromZip", "from_zip"),
    ("FromCountry", "from_country"),
    ("ToCity", "to_city"),
    ("ToState", "to_state"),
    ("ToZip", "to_zip"),
    ("ToCountry", "to_country"),
    ("DialCallStatus", "dial_call_status"),
    ("DialCallSid", "dial_call_sid"),
    ("DialCallDuration", "dial_call_duration"),
    ("RecordingUrl", "recording_url"),
    ("RecordingSid", "recording_sid"),
    ("RecordingStatus", "recording_status"),
    ("RecordingDuration", "recording_duration"),
    ("Digits", "digits"),
    ("SpeechResult", "speech_result"),
];

/// `Vars` as kept: parsed when it is JSON, else the text as it came.
#[derive(Clone, Debug, PartialEq)]
pub enum Vars {
    Json(serde_json::Value),
    NotJson(String),
}

impl Vars {
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).map_or_else(|_| Vars::NotJson(text.to_string()), Vars::Json)
    }
}

/// A validated callback: what it says, normalized, ready to record and
/// answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Callback {
    pub hook: Hook,
    pub params: CallParams,
    pub vars: Option<Vars>,
    pub event: Event,
}

/// A value that becomes part of a key, bounded at [`MAX_TOKEN_CHARS`].
fn key_part(value: &str, field: &str, anomalies: &mut Vec<String>) -> String {
    form::key_part(value, field, MAX_TOKEN_CHARS, anomalies)
}

/// A parameter's value, trimmed; `None` when absent or empty.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// The one place a Voxtelesys number is read: the caller's may be
/// withheld (`Ok(None)`), ours must be a number. `Err` says why it is not
/// one.
pub fn phone_number(text: &str, is_caller: bool) -> Result<Option<PhoneNumber>, String> {
    // Short codes, numbers without `+` and sender ids are numbers too
    // (docs/phone-numbers.md); other text is left out and named.
    PhoneNumber::read_field(text, is_caller)
}

/// Statuses Voxtelesys (like Twilio) sends; any other is kept and named.
const CALL_STATUSES: &[&str] = &[
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "answered",
    "completed",
    "busy",
    "no-answer",
    "canceled",
    "cancelled",
    "failed",
];

/// Reads the parameters of one callback and normalizes it. Refuses only a
/// callback that cannot be tied to a call: no `CallSid`, or one that is
/// not printable ASCII without spaces. Everything else odd is read around
/// and named in the event's anomalies.
pub fn parse_callback(
    hook: Hook,
    params: CallParams,
    raw: &str,
    received_at: Timestamp,
) -> Result<Callback, ReadError> {
    let call_sid = form::call_sid(params.call_sid.as_deref(), MAX_TOKEN_CHARS)?;
    let mut anomalies: Vec<String> = params
        .repeated
        .iter()
        .map(|name| format!("{name}: sent more than once; the first value is read"))
        .collect();
    let from = number_param("From", params.from.as_deref(), true, &mut anomalies);
    let to = number_param("To", params.to.as_deref(), false, &mut anomalies);
    for (field, value) in [
        ("DialCallDuration", params.dial_call_duration.as_deref()),
        ("RecordingDuration", params.recording_duration.as_deref()),
    ] {
        if value.is_some_and(|v| !v.trim().is_empty() && seconds(Some(v)).is_none()) {
            anomalies.push(format!("{field}: not a number of seconds; kept as text"));
        }
    }
    let caller_name = form::caller_name(
        params.caller_name.as_deref(),
        MAX_CALLER_NAME_CHARS,
        &mut anomalies,
    );
    let outcome =
        |field: &str, value: &Option<String>, anomalies: &mut Vec<String>| match present(value) {
            Some(v) => key_part(v, field, anomalies),
            None => {
                anomalies.push(format!("{field}: missing"));
                "-".to_string()
            }
        };
    let kind = match hook {
        Hook::Voice => "voice".to_string(),
        Hook::Status => {
            let status = outcome("CallStatus", &params.call_status, &mut anomalies);
            if status != "-" && !CALL_STATUSES.contains(&normalized(Some(&status)).as_str()) {
                anomalies.push(format!(
                    "CallStatus: {status:?} is not a known status; kept as sent"
                ));
            }
            format!("status:{status}")
        }
        Hook::Dial => format!(
            "dial:{}",
            outcome("DialCallStatus", &params.dial_call_status, &mut anomalies)
        ),
        Hook::Recording => {
            if present(&params.recording_url).is_none() {
                anomalies.push("RecordingUrl: missing".into());
            }
            let status = present(&params.recording_status).unwrap_or("received");
            format!(
                "recording:{}",
                key_part(status, "RecordingStatus", &mut anomalies)
            )
        }
    };
    let direction = form::call_direction(
        params.direction.as_deref(),
        hook == Hook::Voice,
        &mut anomalies,
    );
    let vars = params.vars.as_deref().map(Vars::parse);
    let event = Event {
        provider: Provider::Voxtelesys,
        channel: Channel::Call,
        provider_id: call_sid,
        direction,
        from,
        to,
        caller_name,
        kind,
        occurred_at: received_at,
        received_at,
        is_test: false,
        delivery_key: "1".into(),
        raw: raw.to_string(),
        anomalies,
    };
    Ok(Callback {
        hook,
        params,
        vars,
        event,
    })
}

impl Callback {
    /// What makes this callback distinct from another of the same call: a
    /// retry has the same parts, a new fact different ones.
    pub fn delivery_parts(&self) -> Vec<String> {
        let p = &self.params;
        // Each part as a key may hold it (what parse_callback named).
        let trimmed =
            |v: &Option<String>| key_part(v.as_deref().unwrap_or(""), "", &mut Vec::new());
        match self.hook {
            Hook::Voice => vec!["voice".into()],
            Hook::Status => vec!["status".into(), trimmed(&p.call_status)],
            Hook::Dial => vec![
                "dial".into(),
                trimmed(&p.dial_call_status),
                trimmed(&p.dial_call_sid),
            ],
            Hook::Recording => {
                // A recording without an id is told apart by its URL, hashed
                // to keep the key short.
                let id = match p.recording_sid.as_deref().map(str::trim) {
                    Some(sid) if !sid.is_empty() => sid.to_string(),
                    _ => hex::encode(
                        &Sha256::digest(p.recording_url.as_deref().unwrap_or("").trim().as_bytes())
                            [..16],
                    ),
                };
                vec!["recording".into(), id, trimmed(&p.recording_status)]
            }
        }
    }

    /// The writes of this callback, in one transaction: its delivery guard,
    /// the event (with every parameter as it came), and the call's summary.
    pub fn plan(&self, retention_days: u32) -> WritePlan {
        let event = &self.event;
        let p = &self.params;
        let mut plan = WritePlan::for_event(event, retention_days);
        let at = s(time::to_key(event.occurred_at));

        let event_item = &mut plan.puts[0].item;
        event_item.insert("hook".into(), s(self.hook.as_str()));
        for (wire, attribute) in STORED_AS_IS {
            if let Some(value) = p.get(wire) {
                event_item.insert((*attribute).into(), s(value));
            }
        }
        // A number that could not be read is kept as sent.
        for (wire, attribute, read) in [
            ("From", "from_text", event.from.is_some()),
            ("To", "to_text", event.to.is_some()),
        ] {
            match p.get(wire).map(str::trim) {
                Some(text) if !read && !text.is_empty() => {
                    event_item.insert(attribute.into(), s(text));
                }
                _ => {}
            }
        }
        let vars_attributes = self.vars_attributes();
        for (name, value) in &vars_attributes {
            event_item.insert(name.clone(), value.clone());
        }

        let summary = plan.summary_mut();
        for (name, value) in vars_attributes {
            summary.set_once(&name, value);
        }
        if let Some(parent) = p.parent_call_sid.as_deref().filter(|v| !v.is_empty()) {
            summary.set_once("parent_call_sid", s(parent));
        }
        match self.hook {
            Hook::Voice => {
                summary.set_once("ringing_at", at);
            }
            Hook::Status => match normalized(p.call_status.as_deref()).as_str() {
                "queued" | "initiated" => {
                    summary.set_once("initiated_at", at);
                }
                "ringing" => {
                    summary.set_once("ringing_at", at);
                }
                "in-progress" | "answered" => {
                    if event.direction == Some(Direction::Outbound) {
                        summary.set_once("answered_at", at);
                    } else {
                        // Our VoXML took the call; no person has answered.
                        summary.set_once("in_progress_at", at);
                    }
                }
                "completed" => {
                    summary.set_once("ended_at", at);
                }
                "busy" | "no-answer" | "canceled" | "cancelled" => {
                    summary
                        .set_once("ended_at", at.clone())
                        .set_once("unanswered_at", at);
                }
                "failed" => {
                    summary
                        .set_once("failed_at", at)
                        .set_once("error_message", s("Voxtelesys reported CallStatus failed"));
                }
                // Any other status is kept on its event, as it came.
                _ => {}
            },
            Hook::Dial => {
                summary.set_once(
                    "dial_call_status",
                    s(p.dial_call_status.as_deref().unwrap_or("").trim()),
                );
                if let Some(sid) = p.dial_call_sid.as_deref().filter(|v| !v.is_empty()) {
                    summary.set_once("dial_call_sid", s(sid));
                }
                if let Some(seconds) = seconds(p.dial_call_duration.as_deref()).map(n) {
                    summary.set_once("dial_call_duration_s", seconds);
                }
                match dial_outcome(p.dial_call_status.as_deref()) {
                    DialOutcome::Answered => {
                        summary.set_once("answered_at", at);
                    }
                    DialOutcome::NotAnswered => {
                        summary.set_once("unanswered_at", at);
                    }
                    DialOutcome::Other => {}
                }
            }
            Hook::Recording => {
                if let Some(url) = p.recording_url.as_deref() {
                    summary.set_once("recording_url", s(url.trim()));
                }
                if let Some(sid) = p.recording_sid.as_deref().filter(|v| !v.is_empty()) {
                    summary.set_once("recording_sid", s(sid));
                }
                // A recording still in progress says nothing final about it.
                if let Some(status) = p
                    .recording_status
                    .as_deref()
                    .map(str::trim)
                    .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("in-progress"))
                {
                    summary.set_once("recording_status", s(status));
                }
                if let Some(seconds) = seconds(p.recording_duration.as_deref()).map(n) {
                    summary.set_once("recording_duration_s", seconds);
                }
            }
        }

        if let Some(fact) = lifecycle::voxtelesys_fact(self.hook.as_str(), p.call_status.as_deref())
        {
            lifecycle::note(
                plan.summary_mut(),
                &lifecycle::VOXTELESYS_CALL,
                fact,
                event.received_at,
            );
        }
        let parts = self.delivery_parts();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let pk = keys::conversation_pk(Channel::Call, Provider::Voxtelesys, &event.provider_id);
        plan.guard_delivery(&pk, &parts, event.received_at, retention_days);
        // What the bounds cut (a 250 KB SpeechResult...) is named on the
        // stored event's anomalies.
        plan.bound();
        plan
    }

    /// `Vars` as a map when DynamoDB can store it as one; JSON it cannot
    /// (a number past its range or precision, nesting deeper than 32) is
    /// kept as text, like `Vars` that is not JSON.
    fn vars_attributes(&self) -> Item {
        let text = self.params.vars.as_deref().unwrap_or("");
        if text.len() > MAX_STRUCTURED_VARS_BYTES {
            return Item::new();
        }
        match &self.vars {
            Some(Vars::Json(value)) => match plan::from_json(value) {
                Some(attribute) => Item::from([("vars".into(), attribute)]),
                None => Item::from([("vars_raw".into(), s(text))]),
            },
            Some(Vars::NotJson(text)) => Item::from([("vars_raw".into(), s(text))]),
            None => Item::new(),
        }
    }
}
