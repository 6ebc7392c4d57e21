//! Voxtelesys voice webhooks (seed 003): `GET` or `POST /voxtelesys/{hook}`
//! with hook = `voice` (an incoming call asks what to do), `status` (the
//! call's status changed), `dial` (the `<Dial>` we answered has ended) and
//! `recording` (the voicemail we asked for is ready).
//!
//! Parameters come as form fields of a POST or as the query string of a
//! GET, and read the same either way ([`read_request`]). The seed lists the
//! basic and geographic parameters; where it lists no values (call
//! statuses, the Dial, Gather and recording parameters), Voxtelesys mirrors
//! Twilio's names, which are accepted, and any other value is stored as it
//! came instead of being refused.
//!
//! What "answered" means: our own VoXML taking the call (CallStatus
//! `in-progress` on an inbound call) is not a person answering, so it is
//! kept as `in_progress_at`, never `answered_at`. An inbound call is
//! answered when the `<Dial>` to the forward numbers reports `completed` or
//! `answered`; it is unanswered (and so missed) when the dial reports
//! no-answer, busy, failed or canceled, or the call's own status does.
//!
//! Retries: Voxtelesys sends no time of its own, so a retried callback
//! arrives with a new time and its event key alone would not collide. Each
//! distinct callback (CallSid + hook + status, dial outcome or recording)
//! therefore puts a guard item `DELIVERY#...` in the call's partition in the
//! same transaction: a retry collides and writes nothing, and its answer is
//! derived again from the request and the number's configuration, so it is
//! the same.

use crate::auth::{Credential, TOKEN_QUERY_PARAM};
use crate::config::{NumberConfig, VoicemailConfig, VoxtelesysConfig};
use crate::event::{Channel, Direction, Event, Provider};
use crate::http::{body_bytes, media_type, ApiError};
use crate::phone::PhoneNumber;
use crate::store::keys::{self, PK, SK, TTL};
use crate::store::plan::{
    is_storable, is_storable_number, n, s, Condition, GuardedPut, Item, WritePlan,
};
use crate::time::{self, Timestamp};
use crate::voxml::Verb;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::{header, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// Said when a number has no Voxtelesys configuration and
/// `VOXTELESYS_DEFAULT_MESSAGE` is not set.
pub const DEFAULT_MESSAGE: &str =
    "Thank you for calling. We cannot take your call right now. Please try again later.";
/// Said before the beep when voicemail is on and its prompt is not set.
pub const DEFAULT_VOICEMAIL_PROMPT: &str =
    "Nobody is available to take your call. Please leave a message after the beep.";
/// Caller-ID names are 15 characters in North America; longer is not a name.
pub const MAX_CALLER_NAME_CHARS: usize = 256;
/// Ids and statuses become parts of keys: bounded so keys stay small.
pub const MAX_TOKEN_CHARS: usize = 128;
/// A parsed `Vars` is also kept as a structured attribute up to this size;
/// a larger one stays in the raw payload only (which is split, never cut).
pub const MAX_STRUCTURED_VARS_BYTES: usize = 64 * 1024;

/// The four callbacks of `/voxtelesys/{hook}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Voice,
    Status,
    Dial,
    Recording,
}

impl Hook {
    pub const ALL: [Hook; 4] = [Hook::Voice, Hook::Status, Hook::Dial, Hook::Recording];

    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Voice => "voice",
            Hook::Status => "status",
            Hook::Dial => "dial",
            Hook::Recording => "recording",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == value)
    }

    /// The hook a request's path names (its last segment), or a 404.
    pub fn of_path(path: &str) -> Result<Self, ApiError> {
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        Self::parse(last).ok_or_else(|| {
            ApiError::not_found(format!(
                "unknown hook {last:?}: use /voxtelesys/voice, /voxtelesys/status, /voxtelesys/dial or /voxtelesys/recording"
            ))
        })
    }

    /// Whether the answer depends on the number's configuration.
    pub fn needs_config(self) -> bool {
        matches!(self, Hook::Voice | Hook::Dial)
    }
}

/// Declares [`CallParams`] from one list of (wire name, field), so reading
/// and looking up a parameter by its wire name cannot drift apart.
macro_rules! call_params {
    ($($wire:literal => $field:ident),* $(,)?) => {
        /// Every parameter Voxtelesys sends, as it sent it (each `None` when
        /// absent): the seed's basic and geographic parameters, plus the
        /// Twilio names it mirrors for Dial, Record and Gather.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub struct CallParams {
            $(pub $field: Option<String>,)*
        }

        impl CallParams {
            /// The wire names, in the order of the seed.
            pub const NAMES: &'static [&'static str] = &[$($wire),*];

            fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $($wire => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// A parameter by its wire name (`CallSid`), if it was sent.
            pub fn get(&self, name: &str) -> Option<&str> {
                match name {
                    $($wire => self.$field.as_deref(),)*
                    _ => None,
                }
            }
        }
    };
}

call_params! {
    "CallSid" => call_sid,
    "AccountID" => account_id,
    "TrunkID" => trunk_id,
    "From" => from,
    "To" => to,
    "CallStatus" => call_status,
    "ApiVersion" => api_version,
    "Direction" => direction,
    "CallerName" => caller_name,
    "ParentCallSid" => parent_call_sid,
    "Vars" => vars,
    "FromCity" => from_city,
    "FromState" => from_state,
    "FromZip" => from_zip,
    "FromCountry" => from_country,
    "ToCity" => to_city,
    "ToState" => to_state,
    "ToZip" => to_zip,
    "ToCountry" => to_country,
    "DialCallStatus" => dial_call_status,
    "DialCallSid" => dial_call_sid,
    "DialCallDuration" => dial_call_duration,
    "RecordingUrl" => recording_url,
    "RecordingSid" => recording_sid,
    "RecordingStatus" => recording_status,
    "RecordingDuration" => recording_duration,
    "Digits" => digits,
    "SpeechResult" => speech_result,
}

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

impl CallParams {
    /// Reads decoded name/value pairs. A parameter Voxtelesys documents that
    /// appears twice is refused (400 naming it): which of two `To` numbers is
    /// meant cannot be guessed. Names it does not document are ignored.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> Result<Self, ApiError> {
        let mut params = CallParams::default();
        for (name, value) in pairs {
            if let Some(slot) = params.slot(&name) {
                if slot.is_some() {
                    return Err(ApiError::invalid_field(&name, "is given more than once"));
                }
                *slot = Some(value.into_owned());
            }
        }
        Ok(params)
    }

    /// Parses an `application/x-www-form-urlencoded` body or query string.
    pub fn from_form(form: &[u8]) -> Result<Self, ApiError> {
        Self::from_pairs(form_urlencoded::parse(form))
    }
}

/// Reads the parameters of a request, already checked for method and
/// credentials: a POST's form body (a missing Content-Type is read as a
/// form too, the way JSON routes read a missing one as JSON; JSON or any
/// other type is a 415), or a GET's query string. Returns them with the raw
/// payload to keep: the body, or the query string without the `token`
/// parameter (a secret is never stored).
pub fn read_request(req: &Request) -> Result<(CallParams, String), ApiError> {
    if req.method() == Method::POST {
        match media_type(req.headers()) {
            None => {}
            Some(found) if found == "application/x-www-form-urlencoded" => {}
            Some(found) => {
                return Err(ApiError::unsupported_media_type(
                    &found,
                    "application/x-www-form-urlencoded (Voxtelesys form parameters)",
                ))
            }
        }
        let bytes = body_bytes(req)?;
        let text = std::str::from_utf8(bytes)
            .map_err(|e| ApiError::invalid(format!("body: is not valid UTF-8 ({e})")))?;
        Ok((CallParams::from_form(bytes)?, text.to_string()))
    } else {
        let query = req.uri().query().unwrap_or("");
        Ok((
            CallParams::from_form(query.as_bytes())?,
            without_token(query),
        ))
    }
}

/// The query string without its `token` pairs, every other byte kept.
pub fn without_token(query: &str) -> String {
    let mut kept = String::with_capacity(query.len());
    let mut first = true;
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or("");
        // Only a name with a `%` escape needs decoding to be compared.
        let is_token = if name.contains('%') {
            form_urlencoded::parse(name.as_bytes())
                .next()
                .is_some_and(|(k, _)| k == TOKEN_QUERY_PARAM)
        } else {
            name == TOKEN_QUERY_PARAM
        };
        if !is_token {
            if !first {
                kept.push('&');
            }
            kept.push_str(pair);
            first = false;
        }
    }
    kept
}

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

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, ApiError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(ApiError::invalid_field(field, "is empty")),
        None => Err(ApiError::invalid_field(field, "is missing")),
    }
}

/// A value that becomes part of a key: printable ASCII, bounded.
fn check_token(value: Option<&str>, field: &str) -> Result<(), ApiError> {
    match value {
        Some(v) if v.chars().count() > MAX_TOKEN_CHARS => Err(ApiError::invalid_field(
            field,
            format!("is longer than {MAX_TOKEN_CHARS} characters"),
        )),
        Some(v) if v.chars().any(|c| c.is_control()) => Err(ApiError::invalid_field(
            field,
            "must not contain control characters",
        )),
        _ => Ok(()),
    }
}

/// Durations are whole or decimal seconds; anything else is malformed.
fn check_seconds(value: Option<&str>, field: &str) -> Result<(), ApiError> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() && !v.parse::<f64>().is_ok_and(|s| s.is_finite() && s >= 0.0) => {
            Err(ApiError::invalid_field(
                field,
                "must be a number of seconds",
            ))
        }
        _ => Ok(()),
    }
}

/// A status as matched: trimmed and lower-case (stored as it came).
fn normalized(value: Option<&str>) -> String {
    value.unwrap_or("").trim().to_ascii_lowercase()
}

/// Validates the parameters of one callback and normalizes it. Every error
/// is a 400 naming the field.
pub fn parse_callback(
    hook: Hook,
    params: CallParams,
    raw: &str,
    received_at: Timestamp,
) -> Result<Callback, ApiError> {
    let call_sid = required(&params.call_sid, "CallSid")?.to_string();
    if call_sid.chars().any(|c| !c.is_ascii_graphic()) {
        return Err(ApiError::invalid_field(
            "CallSid",
            "must be printable ASCII without spaces",
        ));
    }
    let from_text = params
        .from
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("From", "is missing"))?;
    let from =
        PhoneNumber::parse_caller_id(from_text).map_err(|e| ApiError::invalid_field("From", e))?;
    let to = PhoneNumber::parse(required(&params.to, "To")?)
        .map_err(|e| ApiError::invalid_field("To", e))?;
    for (field, value) in [
        ("CallSid", params.call_sid.as_deref()),
        ("CallStatus", params.call_status.as_deref()),
        ("Direction", params.direction.as_deref()),
        ("ParentCallSid", params.parent_call_sid.as_deref()),
        ("AccountID", params.account_id.as_deref()),
        ("TrunkID", params.trunk_id.as_deref()),
        ("ApiVersion", params.api_version.as_deref()),
        ("DialCallStatus", params.dial_call_status.as_deref()),
        ("DialCallSid", params.dial_call_sid.as_deref()),
        ("RecordingSid", params.recording_sid.as_deref()),
        ("RecordingStatus", params.recording_status.as_deref()),
    ] {
        check_token(value, field)?;
    }
    check_seconds(params.dial_call_duration.as_deref(), "DialCallDuration")?;
    check_seconds(params.recording_duration.as_deref(), "RecordingDuration")?;
    let caller_name = match params.caller_name.as_deref().map(str::trim) {
        Some(name) if name.chars().count() > MAX_CALLER_NAME_CHARS => {
            return Err(ApiError::invalid_field(
                "CallerName",
                format!("is longer than {MAX_CALLER_NAME_CHARS} characters"),
            ))
        }
        Some(name) if !name.is_empty() => Some(name.to_string()),
        _ => None,
    };
    let kind = match hook {
        Hook::Voice => "voice".to_string(),
        Hook::Status => format!("status:{}", required(&params.call_status, "CallStatus")?),
        Hook::Dial => format!(
            "dial:{}",
            required(&params.dial_call_status, "DialCallStatus")?
        ),
        Hook::Recording => {
            required(&params.recording_url, "RecordingUrl")?;
            format!(
                "recording:{}",
                params
                    .recording_status
                    .as_deref()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("received")
            )
        }
    };
    let direction = match normalized(params.direction.as_deref()).as_str() {
        "inbound" => Some(Direction::Inbound),
        d if d.starts_with("outbound") => Some(Direction::Outbound),
        // The voice hook is, by definition, an incoming call asking what to do.
        "" if hook == Hook::Voice => Some(Direction::Inbound),
        _ => None,
    };
    let vars = params.vars.as_deref().map(Vars::parse);
    let event = Event {
        provider: Provider::Voxtelesys,
        channel: Channel::Call,
        provider_id: call_sid,
        direction,
        from,
        to: Some(to),
        caller_name,
        kind,
        occurred_at: received_at,
        received_at,
        is_test: false,
        delivery_key: "1".into(),
        raw: raw.to_string(),
        anomalies: Vec::new(),
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
        let trimmed = |v: &Option<String>| v.as_deref().unwrap_or("").trim().to_string();
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
                    _ => hex::encode(&Sha256::digest(trimmed(&p.recording_url).as_bytes())[..16]),
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
                if let Some(seconds) = seconds(p.dial_call_duration.as_deref()) {
                    summary.set_once("dial_call_duration_s", seconds);
                }
                match dial_outcome(p) {
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
                if let Some(seconds) = seconds(p.recording_duration.as_deref()) {
                    summary.set_once("recording_duration_s", seconds);
                }
            }
        }

        let parts = self.delivery_parts();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let mut guard = Item::with_capacity(4);
        guard.insert(
            PK.into(),
            s(keys::conversation_pk(
                Channel::Call,
                Provider::Voxtelesys,
                &event.provider_id,
            )),
        );
        guard.insert(SK.into(), s(keys::delivery_sk(&parts)));
        guard.insert(keys::ITEM_TYPE.into(), s("delivery_guard"));
        guard.insert(
            TTL.into(),
            n(time::expires_at(event.received_at, retention_days)),
        );
        plan.guard_with(GuardedPut {
            item: guard,
            condition: Some(Condition::item_absent()),
        });
        plan
    }

    /// `Vars` as a map when DynamoDB can store it as one; JSON it cannot
    /// (a number past its range or precision, nesting deeper than 32) is
    /// kept as text, like `Vars` that is not JSON.
    fn vars_attributes(&self) -> Vec<(String, AttributeValue)> {
        let text = self.params.vars.as_deref().unwrap_or("");
        if text.len() > MAX_STRUCTURED_VARS_BYTES {
            return Vec::new();
        }
        match &self.vars {
            Some(Vars::Json(value)) => {
                match serde_dynamo::to_attribute_value::<_, AttributeValue>(value) {
                    Ok(attribute) if is_storable(&attribute) => vec![("vars".into(), attribute)],
                    _ => vec![("vars_raw".into(), s(text))],
                }
            }
            Some(Vars::NotJson(text)) => vec![("vars_raw".into(), s(text))],
            None => Vec::new(),
        }
    }

    /// The VoXML answer, derived from the request and the number's
    /// configuration only (never from what storage holds), so a retry gets
    /// the same answer as the first delivery.
    pub fn answer(
        &self,
        config: Option<&NumberConfig>,
        links: &CallbackLinks,
        default_message: &str,
    ) -> Vec<Verb> {
        let vox = config.and_then(|c| c.voxtelesys.as_ref());
        match self.hook {
            Hook::Voice => answer_voice(vox, links, default_message),
            Hook::Dial => match dial_outcome(&self.params) {
                DialOutcome::NotAnswered => {
                    voicemail(vox.and_then(|v| v.voicemail.as_ref()), links)
                }
                DialOutcome::Answered | DialOutcome::Other => vec![Verb::Hangup],
            },
            // The recording hook is the `<Record>` action: the call is over.
            Hook::Recording => vec![Verb::Hangup],
            // Voxtelesys ignores the answer to a status callback.
            Hook::Status => Vec::new(),
        }
    }
}

/// The answer to an incoming call: greet, forward, else voicemail; the
/// default message when the number has no Voxtelesys configuration.
pub fn answer_voice(
    vox: Option<&VoxtelesysConfig>,
    links: &CallbackLinks,
    default_message: &str,
) -> Vec<Verb> {
    let Some(vox) = vox else {
        return vec![Verb::Say(default_message.to_string()), Verb::Hangup];
    };
    let mut verbs = Vec::new();
    if let Some(greeting) = vox.greeting.as_deref().filter(|g| !g.trim().is_empty()) {
        verbs.push(Verb::Say(greeting.to_string()));
    }
    if !vox.forward_to.is_empty() {
        verbs.push(Verb::Dial {
            numbers: vox.forward_to.iter().map(|n| n.to_string()).collect(),
            timeout_s: vox.ring_timeout_s,
            action: links.url(Hook::Dial),
            method: links.method.clone(),
        });
    } else {
        // Nobody to forward to: straight to voicemail, if on.
        verbs.extend(voicemail(vox.voicemail.as_ref(), links));
    }
    verbs
}

/// The prompt and `<Record>` when voicemail is on, else a hang-up.
fn voicemail(config: Option<&VoicemailConfig>, links: &CallbackLinks) -> Vec<Verb> {
    match config {
        Some(vm) if vm.enabled => vec![
            Verb::Say(
                vm.prompt
                    .as_deref()
                    .filter(|p| !p.trim().is_empty())
                    .unwrap_or(DEFAULT_VOICEMAIL_PROMPT)
                    .to_string(),
            ),
            Verb::Record {
                action: links.url(Hook::Recording),
                method: links.method.clone(),
                max_length_s: vm.max_length_s,
            },
        ],
        _ => vec![Verb::Hangup],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DialOutcome {
    Answered,
    NotAnswered,
    Other,
}

fn dial_outcome(params: &CallParams) -> DialOutcome {
    match normalized(params.dial_call_status.as_deref()).as_str() {
        "completed" | "answered" => DialOutcome::Answered,
        "no-answer" | "busy" | "failed" | "canceled" | "cancelled" => DialOutcome::NotAnswered,
        _ => DialOutcome::Other,
    }
}

fn seconds(value: Option<&str>) -> Option<AttributeValue> {
    let value = value?.trim();
    value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        // A number DynamoDB cannot store stays text, on the event only.
        .filter(|_| is_storable_number(value))
        .map(|_| AttributeValue::N(value.to_string()))
}

/// Where the VoXML's `action` callbacks point: absolute URLs on the host
/// and stage the request came in on, with the request's method, carrying
/// the `token` query parameter when the request authenticated with one (or
/// Voxtelesys's callbacks would be refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackLinks {
    /// `https://host[/stage]`, no trailing slash.
    pub origin: String,
    pub token: Option<String>,
    pub method: String,
}

impl CallbackLinks {
    pub fn url(&self, hook: Hook) -> String {
        let mut url = format!("{}/voxtelesys/{}", self.origin, hook.as_str());
        if let Some(token) = &self.token {
            url.push_str("?token=");
            url.extend(form_urlencoded::byte_serialize(token.as_bytes()));
        }
        url
    }

    /// From the request: the Host header (what the provider called), else
    /// API Gateway's `domainName`; the stage unless it is `$default`; the
    /// scheme from `X-Forwarded-Proto`, else http for a local host and
    /// https for any other.
    pub fn for_request(req: &Request, credential: &Credential) -> Self {
        let context = req.request_context_ref();
        let (domain, stage) = match context {
            Some(RequestContext::ApiGatewayV2(ctx)) => {
                (ctx.domain_name.as_deref(), ctx.stage.as_deref())
            }
            _ => (None, None),
        };
        let host_header = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        let host = [host_header, domain]
            .into_iter()
            .flatten()
            .find(|h| is_host(h))
            .unwrap_or("localhost");
        let local = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|l| host == *l || host.starts_with(&format!("{l}:")));
        let scheme = match req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
        {
            Some("http") => "http",
            Some("https") => "https",
            _ if local => "http",
            _ => "https",
        };
        let mut origin = format!("{scheme}://{host}");
        if let Some(stage) = stage.filter(|s| {
            *s != "$default"
                && !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            origin.push('/');
            origin.push_str(stage);
        }
        CallbackLinks {
            origin,
            token: match credential {
                Credential::QueryToken(token) => Some(token.clone()),
                _ => None,
            },
            method: if req.method() == Method::GET {
                "GET".into()
            } else {
                "POST".into()
            },
        }
    }
}

/// A host name, IPv4 or bracketed IPv6 address, with an optional port.
fn is_host(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_document, NumberConfig};
    use crate::voxml::render;

    const VOICE: &str = "CallSid=CA1&AccountID=AC9&TrunkID=T1&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing&ApiVersion=v1&Direction=inbound&CallerName=John+Doe&FromCity=San+Francisco&Vars=%7B%22crm%22%3A7%7D";

    fn at() -> Timestamp {
        Timestamp::from_millisecond(1_795_449_082_000).unwrap()
    }

    fn callback(hook: Hook, form: &str) -> Result<Callback, ApiError> {
        let params = CallParams::from_form(form.as_bytes())?;
        parse_callback(hook, params, form, at())
    }

    fn links(token: Option<&str>) -> CallbackLinks {
        CallbackLinks {
            origin: "https://api.example.com/prod".into(),
            token: token.map(str::to_string),
            method: "POST".into(),
        }
    }

    fn config(vox: &str) -> NumberConfig {
        parse_document(&format!(
            r#"{{"number": "+18339664835", "voxtelesys": {vox}}}"#
        ))
        .unwrap()
    }

    fn set_once_names(plan: &WritePlan) -> Vec<String> {
        plan.updates[0]
            .set_once
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }

    #[test]
    fn every_seed_parameter_is_read() {
        let form: String = CallParams::NAMES
            .iter()
            .map(|name| format!("{name}=v-{name}"))
            .collect::<Vec<_>>()
            .join("&");
        let params = CallParams::from_form(form.as_bytes()).unwrap();
        for name in CallParams::NAMES {
            assert_eq!(params.get(name), Some(format!("v-{name}").as_str()));
        }
        for seed_name in [
            "CallSid",
            "AccountID",
            "TrunkID",
            "From",
            "To",
            "CallStatus",
            "ApiVersion",
            "Direction",
            "CallerName",
            "ParentCallSid",
            "Vars",
            "FromCity",
            "FromState",
            "FromZip",
            "FromCountry",
            "ToCity",
            "ToState",
            "ToZip",
            "ToCountry",
        ] {
            assert!(CallParams::NAMES.contains(&seed_name), "{seed_name}");
        }
    }

    #[test]
    fn seed_voice_request_normalizes() {
        let cb = callback(Hook::Voice, VOICE).unwrap();
        let e = &cb.event;
        assert_eq!(e.provider_id, "CA1");
        assert_eq!(e.from.as_ref().unwrap().as_str(), "+14155552671");
        assert_eq!(e.to.as_ref().unwrap().as_str(), "+18339664835");
        assert_eq!(e.caller_name.as_deref(), Some("John Doe"));
        assert_eq!(e.direction, Some(Direction::Inbound));
        assert_eq!(e.kind, "voice");
        assert_eq!(e.raw, VOICE);
        assert_eq!(cb.vars, Some(Vars::Json(serde_json::json!({"crm": 7}))));
        let plan = cb.plan(30);
        // guard, event, summary: one transaction.
        assert_eq!(plan.action_count(), 3);
        assert_eq!(plan.puts[0].item[SK], s("DELIVERY#voice"));
        assert_eq!(plan.puts[0].item[PK], s("CALL#voxtelesys#CA1"));
        let event_item = &plan.puts[1].item;
        assert_eq!(event_item["from_city"], s("San Francisco"));
        assert_eq!(event_item["account_id"], s("AC9"));
        assert_eq!(
            event_item["vars"],
            AttributeValue::M([("crm".to_string(), n(7))].into())
        );
        assert!(set_once_names(&plan).contains(&"ringing_at".to_string()));
    }

    #[test]
    fn query_and_form_read_the_same_and_plus_is_a_space() {
        let a = CallParams::from_form(b"CallSid=CA1&From=%2B14155552671&CallerName=A+B").unwrap();
        assert_eq!(a.from.as_deref(), Some("+14155552671"));
        assert_eq!(a.caller_name.as_deref(), Some("A B"));
        // An unencoded + is a space in a form, which the phone parser
        // refuses rather than guessing.
        let b = CallParams::from_form(b"From=+14155552671").unwrap();
        assert_eq!(b.from.as_deref(), Some(" 14155552671"));
    }

    #[test]
    fn repeated_parameters_are_refused_unknown_ones_ignored() {
        let err = CallParams::from_form(b"CallSid=CA1&To=%2B1&To=%2B2").unwrap_err();
        assert_eq!(err.message, "To: is given more than once");
        let ok = CallParams::from_form(b"CallSid=CA1&Extra=1&Extra=2").unwrap();
        assert_eq!(ok.call_sid.as_deref(), Some("CA1"));
    }

    #[test]
    fn token_is_never_kept_in_the_raw_query() {
        assert_eq!(
            without_token("token=s3cret&CallSid=CA1&tok%65n=x&tokens=1"),
            "CallSid=CA1&tokens=1"
        );
        assert_eq!(without_token(""), "");
    }

    #[test]
    fn bad_fields_are_named() {
        let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
        let cases = [
            (
                "From=%2B14155552671&To=%2B18339664835",
                Hook::Voice,
                "CallSid: is missing",
            ),
            (
                "CallSid=&From=%2B14155552671&To=%2B18339664835",
                Hook::Voice,
                "CallSid: is empty",
            ),
            (
                "CallSid=C+A&From=%2B14155552671&To=%2B18339664835",
                Hook::Voice,
                "CallSid: ",
            ),
            (
                "CallSid=CA1&To=%2B18339664835",
                Hook::Voice,
                "From: is missing",
            ),
            (
                "CallSid=CA1&From=%2B14155552671",
                Hook::Voice,
                "To: is missing",
            ),
            (
                "CallSid=CA1&From=call+me&To=%2B18339664835",
                Hook::Voice,
                "From: ",
            ),
            (
                "CallSid=CA1&From=%2B14155552671&To=anonymous",
                Hook::Voice,
                "To: ",
            ),
            (base, Hook::Status, "CallStatus: is missing"),
            (base, Hook::Dial, "DialCallStatus: is missing"),
            (base, Hook::Recording, "RecordingUrl: is missing"),
        ];
        for (form, hook, needle) in cases {
            let err = callback(hook, form).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{form}");
            assert!(err.message.starts_with(needle), "{form}: {}", err.message);
        }
        let long = format!("{base}&CallStatus={}", "x".repeat(MAX_TOKEN_CHARS + 1));
        assert!(callback(Hook::Status, &long)
            .unwrap_err()
            .message
            .starts_with("CallStatus: "));
        let duration = format!("{base}&DialCallStatus=completed&DialCallDuration=abc");
        assert!(callback(Hook::Dial, &duration)
            .unwrap_err()
            .message
            .starts_with("DialCallDuration: "));
    }

    #[test]
    fn withheld_caller_and_non_json_vars_are_accepted() {
        let cb = callback(
            Hook::Voice,
            "CallSid=CA1&From=anonymous&To=%2B18339664835&Vars=not+json",
        )
        .unwrap();
        assert_eq!(cb.event.from, None);
        assert_eq!(cb.vars, Some(Vars::NotJson("not json".into())));
        let plan = cb.plan(30);
        assert_eq!(plan.puts[1].item["vars_raw"], s("not json"));
        assert!(!plan.puts[1].item.contains_key("vars"));
    }

    fn phases(hook: Hook, form: &str) -> Vec<String> {
        let mut names = set_once_names(&callback(hook, form).unwrap().plan(30));
        names.retain(|n| n.ends_with("_at") && n != "first_seen_at");
        names
    }

    #[test]
    fn statuses_move_the_call_forward() {
        let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
        let cases: &[(&str, &str, &[&str])] = &[
            ("inbound", "queued", &["initiated_at"]),
            ("inbound", "ringing", &["ringing_at"]),
            ("inbound", "in-progress", &["in_progress_at"]),
            ("outbound-api", "in-progress", &["answered_at"]),
            ("inbound", "completed", &["ended_at"]),
            ("inbound", "no-answer", &["ended_at", "unanswered_at"]),
            ("inbound", "busy", &["ended_at", "unanswered_at"]),
            ("inbound", "Canceled", &["ended_at", "unanswered_at"]),
            ("inbound", "failed", &["failed_at"]),
            ("inbound", "teleported", &[]),
        ];
        for (direction, status, expected) in cases {
            let form = format!("{base}&Direction={direction}&CallStatus={status}");
            assert_eq!(phases(Hook::Status, &form), *expected, "{form}");
        }
        let failed = callback(
            Hook::Status,
            &format!("{base}&Direction=inbound&CallStatus=failed"),
        )
        .unwrap()
        .plan(30);
        assert!(set_once_names(&failed).contains(&"error_message".to_string()));
        // An unknown status is kept as it came, on its event.
        let odd = callback(Hook::Status, &format!("{base}&CallStatus=Teleported")).unwrap();
        assert_eq!(odd.event.kind, "status:Teleported");
        assert_eq!(odd.plan(30).puts[1].item["call_status"], s("Teleported"));
    }

    #[test]
    fn dial_outcome_answers_or_marks_unanswered() {
        let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&Direction=inbound&DialCallSid=CA2&DialCallDuration=12";
        for (status, expected) in [
            ("completed", vec!["answered_at"]),
            ("answered", vec!["answered_at"]),
            ("no-answer", vec!["unanswered_at"]),
            ("busy", vec!["unanswered_at"]),
            ("failed", vec!["unanswered_at"]),
            ("canceled", vec!["unanswered_at"]),
            ("odd", vec![]),
        ] {
            let form = format!("{base}&DialCallStatus={status}");
            assert_eq!(phases(Hook::Dial, &form), expected, "{status}");
        }
        let plan = callback(Hook::Dial, &format!("{base}&DialCallStatus=no-answer"))
            .unwrap()
            .plan(30);
        assert_eq!(plan.puts[0].item[SK], s("DELIVERY#dial#no-answer#CA2"));
        let summary = &plan.updates[0].set_once;
        assert!(summary.contains(&("dial_call_duration_s".into(), n(12))));
        assert!(summary.contains(&("dial_call_sid".into(), s("CA2"))));
    }

    /// Found by `make fuzz`: a duration or a `Vars` number past DynamoDB's
    /// range or precision, or `Vars` nested deeper than it stores, made it
    /// refuse the whole write: a 503 on every retry, the call never kept.
    #[test]
    fn numbers_and_vars_dynamodb_cannot_store_stay_text() {
        let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
        let all_storable = |plan: &WritePlan| {
            plan.puts
                .iter()
                .flat_map(|p| p.item.values())
                .all(is_storable)
                && plan.updates[0].set_once.iter().all(|(_, v)| is_storable(v))
        };
        let long = "12345678901234567890123456789012345678901";
        for (hook, form, name) in [
            (
                Hook::Dial,
                format!("{base}&DialCallStatus=completed&DialCallDuration=1e200"),
                "dial_call_duration",
            ),
            (
                Hook::Dial,
                format!("{base}&DialCallStatus=completed&DialCallDuration={long}"),
                "dial_call_duration",
            ),
            (
                Hook::Recording,
                format!("{base}&RecordingUrl=https%3A%2F%2Fr.example%2FRE1&RecordingSid=RE1&RecordingDuration=1e-200"),
                "recording_duration",
            ),
        ] {
            let plan = callback(hook, &form).unwrap().plan(30);
            assert!(all_storable(&plan), "{form}");
            assert!(
                !set_once_names(&plan).contains(&format!("{name}_s")),
                "{form}"
            );
            // Still kept, as it came, on the event.
            assert!(
                matches!(plan.puts[1].item[name], AttributeValue::S(_)),
                "{form}"
            );
        }
        let deep = format!("{}1{}", "[".repeat(40), "]".repeat(40));
        for vars in [r#"{"a":1e200}"#, r#"{"a":1e-200}"#, deep.as_str()] {
            let encoded: String = form_urlencoded::byte_serialize(vars.as_bytes()).collect();
            let form = format!("{base}&CallStatus=ringing&Vars={encoded}");
            let plan = callback(Hook::Voice, &form).unwrap().plan(30);
            assert!(all_storable(&plan), "{vars}");
            assert!(!plan.puts[1].item.contains_key("vars"), "{vars}");
            assert_eq!(plan.puts[1].item["vars_raw"], s(vars));
        }
        // Within the limits, the map as before.
        let form = format!("{base}&CallStatus=ringing&Vars=%7B%22a%22%3A1.5%7D");
        let plan = callback(Hook::Voice, &form).unwrap().plan(30);
        assert!(matches!(plan.puts[1].item["vars"], AttributeValue::M(_)));
    }

    #[test]
    fn recording_lands_on_the_summary() {
        let form = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&RecordingUrl=https%3A%2F%2Fr.example%2FRE1&RecordingSid=RE1&RecordingStatus=completed&RecordingDuration=31";
        let plan = callback(Hook::Recording, form).unwrap().plan(30);
        let summary = &plan.updates[0].set_once;
        for expected in [
            ("recording_url", s("https://r.example/RE1")),
            ("recording_sid", s("RE1")),
            ("recording_status", s("completed")),
            ("recording_duration_s", n(31)),
        ] {
            assert!(
                summary.contains(&(expected.0.to_string(), expected.1.clone())),
                "{expected:?}"
            );
        }
        assert_eq!(plan.puts[0].item[SK], s("DELIVERY#recording#RE1#completed"));
        // Without an id, the URL (hashed) tells recordings apart.
        let no_sid = callback(
            Hook::Recording,
            "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&RecordingUrl=https%3A%2F%2Fr.example%2FRE9",
        )
        .unwrap();
        let parts = no_sid.delivery_parts();
        assert_eq!(parts[1].len(), 32);
        assert_eq!(no_sid.event.kind, "recording:received");
    }

    #[test]
    fn voice_answer_greets_and_forwards_with_an_absolute_action() {
        let cb = callback(Hook::Voice, VOICE).unwrap();
        let config = config(
            r#"{"greeting": "Hello <b> & \"co\"", "forward_to": ["+14155550100", "+14155550101"], "ring_timeout_s": 25}"#,
        );
        let verbs = cb.answer(Some(&config), &links(Some("a b&c")), "default");
        assert_eq!(
            verbs,
            vec![
                Verb::Say("Hello <b> & \"co\"".into()),
                Verb::Dial {
                    numbers: vec!["+14155550100".into(), "+14155550101".into()],
                    timeout_s: 25,
                    action: "https://api.example.com/prod/voxtelesys/dial?token=a+b%26c".into(),
                    method: "POST".into(),
                },
            ]
        );
        assert!(render(&verbs).contains("Hello &lt;b&gt; &amp; &quot;co&quot;"));
    }

    #[test]
    fn voice_answer_without_configuration_is_the_default_message() {
        let cb = callback(Hook::Voice, VOICE).unwrap();
        let expected = vec![Verb::Say("Sorry".into()), Verb::Hangup];
        assert_eq!(cb.answer(None, &links(None), "Sorry"), expected);
        let retell_only: NumberConfig =
            parse_document(r#"{"number": "+18339664835", "retell": {}}"#).unwrap();
        assert_eq!(
            cb.answer(Some(&retell_only), &links(None), "Sorry"),
            expected
        );
        // Configured with nobody to forward to: voicemail when it is on.
        let vm = config(r#"{"voicemail": {"enabled": true, "max_length_s": 60}}"#);
        let verbs = cb.answer(Some(&vm), &links(None), "Sorry");
        assert_eq!(verbs[0], Verb::Say(DEFAULT_VOICEMAIL_PROMPT.into()));
        assert!(matches!(
            verbs[1],
            Verb::Record {
                max_length_s: 60,
                ..
            }
        ));
    }

    #[test]
    fn dial_answer_is_voicemail_when_unanswered_and_on() {
        let base = "CallSid=CA1&From=%2B14155552671&To=%2B18339664835";
        let on = config(
            r#"{"forward_to": ["+14155550100"], "voicemail": {"enabled": true, "prompt": "Leave it", "max_length_s": 90}}"#,
        );
        let off = config(r#"{"forward_to": ["+14155550100"], "voicemail": {"enabled": false}}"#);
        let missed = callback(Hook::Dial, &format!("{base}&DialCallStatus=no-answer")).unwrap();
        assert_eq!(
            missed.answer(Some(&on), &links(None), "d"),
            vec![
                Verb::Say("Leave it".into()),
                Verb::Record {
                    action: "https://api.example.com/prod/voxtelesys/recording".into(),
                    method: "POST".into(),
                    max_length_s: 90,
                },
            ]
        );
        assert_eq!(
            missed.answer(Some(&off), &links(None), "d"),
            vec![Verb::Hangup]
        );
        assert_eq!(missed.answer(None, &links(None), "d"), vec![Verb::Hangup]);
        let answered = callback(Hook::Dial, &format!("{base}&DialCallStatus=completed")).unwrap();
        assert_eq!(
            answered.answer(Some(&on), &links(None), "d"),
            vec![Verb::Hangup]
        );
    }

    #[test]
    fn hooks_come_from_the_last_path_segment() {
        assert_eq!(Hook::of_path("/voxtelesys/voice"), Ok(Hook::Voice));
        assert_eq!(Hook::of_path("/prod/voxtelesys/dial/"), Ok(Hook::Dial));
        let err = Hook::of_path("/voxtelesys/sms").unwrap_err();
        assert_eq!(err.status.as_u16(), 404);
        assert!(Hook::of_path("/voxtelesys/").is_err());
    }
}
