//! Alert rules: from one stream record of the table (its old and new images)
//! to zero or one alert, and the SNS message that carries it.
//!
//! An alert fires on the TRANSITION of a summary into an incident: the old
//! image was not yet one, the new image is. Every phase moment is written
//! once and a retried delivery writes nothing (so produces no stream record),
//! which is what makes each incident alert exactly once, whatever the order
//! and number of deliveries. One call is at most one incident: a call that
//! is first missed and then also reported failed does not alert twice.
//!
//! | alert | item | becomes an incident when |
//! |---|---|---|
//! | `call_error` | call summary | it gains `failed_at` (a provider's error event or failed call) |
//! | `missed_call` | call summary | it becomes missed: inbound, `unanswered_at`, no `answered_at` |
//! | `missed_call` | call summary | an inbound call gains `missed_at`: answered by an agent but nobody was reached (Retell: transfer not answered, voicemail, caller hung up before anyone spoke; see `providers::retell::events::outcome`) |
//! | `sms_failed` | sms summary | an outbound message's derived status becomes failed (a `failed` after `delivered` is not one: both are final) |
//! | `call_incomplete` | call summary | the sweeper flags it: it gains `incomplete_at` (its lifecycle's next fact is overdue; `missing` names what: see [`crate::lifecycle`]) |
//! | `sms_stuck` | sms summary | the sweeper flags it: an outbound message gains `incomplete_at` with no final status |
//!
//! A late closing fact leaves `incomplete_at` in place (the summary keeps
//! its history), so the transition never happens twice: one alert.
//!
//! Summaries marked `is_test` never alert; removals (TTL) never alert.
//!
//! This file is the decision (stream image -> alert) and the message an
//! alert makes. Getting it out exactly once is the ledger's part:
//! [`ledger`] (the alert's item in the table), [`outgoing`] (the message
//! fitted to SNS, the dead-letter copy) and [`delivery`] (claim, publish,
//! mark, or keep it failed). [`stream`] is the alerts function's handler:
//! a batch of stream records through these, and the daily counters.

use crate::event::{CallPhases, Direction, SmsMoments, SmsStatus};
use crate::store::keys;
use crate::time::{self, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

pub mod delivery;
pub mod ledger;
pub mod outgoing;
pub mod stream;

/// A stream image, as Lambda's DynamoDB event carries it.
pub type Image = serde_dynamo::Item;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    MissedCall,
    CallError,
    SmsFailed,
    CallIncomplete,
    SmsStuck,
}

impl AlertType {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::MissedCall => "missed_call",
            AlertType::CallError => "call_error",
            AlertType::SmsFailed => "sms_failed",
            AlertType::CallIncomplete => "call_incomplete",
            AlertType::SmsStuck => "sms_stuck",
        }
    }
}

impl fmt::Display for AlertType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One incident, as published (the JSON body of the SNS message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_type: AlertType,
    /// The provider's name as stored, so providers added later alert too.
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// E.164, or null when the caller withheld their number.
    pub from: Option<String>,
    pub to: Option<String>,
    /// `inbound` or `outbound`, as stored (null if no provider said).
    pub direction: Option<String>,
    pub caller_name: Option<String>,
    /// RFC 3339 (UTC, milliseconds): the moment that made it an incident.
    pub occurred_at: String,
    /// The provider's error message, the SMS failure message, or the
    /// voicemail recording URL of a missed call; null when there is none.
    pub detail: Option<String>,
    /// The configured label of our number, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_label: Option<String>,
    /// `call_incomplete` and `sms_stuck`: the expected facts that never
    /// came, in order (`["call_ended", "call_analyzed"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// A stream record the rules cannot read. It is reported as a failed batch
/// item, so the event source mapping retries it a bounded number of times
/// and then hands it to the dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedRecord(pub String);

impl fmt::Display for MalformedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed stream record: {}", self.0)
    }
}

impl std::error::Error for MalformedRecord {}

/// The summary attributes the rules read; everything else is ignored.
#[derive(Clone, Debug, Default, Deserialize)]
struct Summary {
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    direction: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    caller_name: Option<String>,
    #[serde(default)]
    is_test: bool,
    #[serde(default)]
    answered_at: Option<String>,
    #[serde(default)]
    unanswered_at: Option<String>,
    #[serde(default)]
    failed_at: Option<String>,
    #[serde(default)]
    delivered_at: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    failure_message: Option<String>,
    #[serde(default)]
    recording_url: Option<String>,
    #[serde(default)]
    missed_at: Option<String>,
    #[serde(default)]
    missed_detail: Option<String>,
    #[serde(default)]
    incomplete_at: Option<String>,
    #[serde(default)]
    missing: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SummaryKind {
    Call,
    Sms,
}

impl Summary {
    fn direction(&self) -> Option<Direction> {
        match self.direction.as_deref() {
            Some("inbound") => Some(Direction::Inbound),
            Some("outbound") => Some(Direction::Outbound),
            _ => None,
        }
    }

    /// The incident this summary is, if it is one: its type, the moment
    /// that made it one, and the detail to show.
    fn incident(&self, kind: SummaryKind) -> Option<(AlertType, &str, Option<&str>)> {
        match kind {
            SummaryKind::Call => {
                if let Some(at) = &self.failed_at {
                    return Some((AlertType::CallError, at, self.error_message.as_deref()));
                }
                let phases = CallPhases {
                    answered_at: self.answered_at.clone(),
                    unanswered_at: self.unanswered_at.clone(),
                    ..Default::default()
                };
                if phases.is_missed(self.direction()) {
                    let at = self.unanswered_at.as_deref().unwrap_or_default();
                    return Some((AlertType::MissedCall, at, self.recording_url.as_deref()));
                }
                if let (Some(at), Some(Direction::Inbound)) = (&self.missed_at, self.direction()) {
                    return Some((AlertType::MissedCall, at, self.missed_detail.as_deref()));
                }
                self.incomplete_at
                    .as_deref()
                    .map(|at| (AlertType::CallIncomplete, at, None))
            }
            // Delivered and failed are both final: a message Zonitel reported
            // delivered first stays delivered, so a later `failed` is no
            // incident (the summary's derived status decides, not failed_at).
            SummaryKind::Sms => {
                let moments = SmsMoments {
                    delivered_at: self.delivered_at.clone(),
                    failed_at: self.failed_at.clone(),
                    ..Default::default()
                };
                match (&self.failed_at, self.direction(), moments.status()) {
                    (Some(at), Some(Direction::Outbound), Some(SmsStatus::Failed)) => {
                        Some((AlertType::SmsFailed, at, self.failure_message.as_deref()))
                    }
                    _ => self
                        .incomplete_at
                        .as_deref()
                        .map(|at| (AlertType::SmsStuck, at, None)),
                }
            }
        }
    }
}

fn string_attr<'a>(image: &'a Image, name: &str) -> Option<&'a str> {
    match image.get(name) {
        Some(serde_dynamo::AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// Which summary an image is, if it is a call or SMS summary at all.
fn summary_kind(image: &Image) -> Option<SummaryKind> {
    if string_attr(image, keys::SK) != Some(keys::SUMMARY_SK) {
        return None;
    }
    match string_attr(image, keys::ITEM_TYPE) {
        Some("call") => Some(SummaryKind::Call),
        Some("sms") => Some(SummaryKind::Sms),
        _ => None,
    }
}

fn read_summary(image: &Image, which: &str) -> Result<Summary, MalformedRecord> {
    if image.is_empty() {
        return Ok(Summary::default());
    }
    serde_dynamo::from_item(image.clone())
        .map_err(|e| MalformedRecord(format!("{which} image of a summary: {e}")))
}

/// The alert a stream record raises, if any. `event_name` is the record's
/// `INSERT`, `MODIFY` or `REMOVE`; an image that is absent is empty.
pub fn alert_for_record(
    event_name: &str,
    old_image: &Image,
    new_image: &Image,
) -> Result<Option<Alert>, MalformedRecord> {
    match event_name {
        "INSERT" | "MODIFY" => {}
        // TTL expiry (or an operator's delete) is never an incident.
        "REMOVE" => return Ok(None),
        other => return Err(MalformedRecord(format!("unknown eventName {other:?}"))),
    }
    let Some(kind) = summary_kind(new_image) else {
        return Ok(None);
    };
    let new = read_summary(new_image, "new")?;
    if new.is_test {
        return Ok(None);
    }
    let Some((alert_type, occurred_at, detail)) = new.incident(kind) else {
        return Ok(None);
    };
    let old = read_summary(old_image, "old")?;
    if old.incident(kind).is_some() {
        // Already alerted when it became one.
        return Ok(None);
    }
    let provider = new
        .provider
        .clone()
        .ok_or_else(|| MalformedRecord("summary without provider".into()))?;
    let (call_id, message_id) = match kind {
        SummaryKind::Call => (Some(new.call_id.clone()), None),
        SummaryKind::Sms => (None, Some(new.message_id.clone())),
    };
    if call_id.as_ref().is_some_and(Option::is_none)
        || message_id.as_ref().is_some_and(Option::is_none)
    {
        return Err(MalformedRecord(
            "summary without its call_id or message_id".into(),
        ));
    }
    Ok(Some(Alert {
        alert_type,
        provider,
        call_id: call_id.flatten(),
        message_id: message_id.flatten(),
        from: new.from.clone(),
        to: new.to.clone(),
        direction: new.direction.clone(),
        caller_name: new.caller_name.clone().filter(|n| !n.trim().is_empty()),
        occurred_at: normalize_moment(occurred_at),
        detail: match alert_type {
            // What the lifecycle lacks: `missing: call_ended, call_analyzed`.
            AlertType::CallIncomplete | AlertType::SmsStuck => {
                Some(format!("missing: {}", new.missing.join(", ")))
            }
            _ => detail.map(str::to_string).filter(|d| !d.trim().is_empty()),
        },
        line_label: None,
        missing: match alert_type {
            AlertType::CallIncomplete | AlertType::SmsStuck => new.missing.clone(),
            _ => Vec::new(),
        },
    }))
}

/// Phase moments are stored as RFC 3339 already; one that is not is passed
/// on as it is rather than losing the alert over its format.
fn normalize_moment(value: &str) -> String {
    value
        .parse::<Timestamp>()
        .map(time::to_key)
        .unwrap_or_else(|_| value.to_string())
}

/// SNS refuses subjects of 100 characters or more.
pub const MAX_SUBJECT_CHARS: usize = 99;

impl Alert {
    /// Our own number in this conversation: the callee of an inbound call or
    /// message, the caller of an outbound one. Its label names the line.
    pub fn our_number(&self) -> Option<&str> {
        match self.direction.as_deref() {
            Some("outbound") => self.from.as_deref(),
            _ => self.to.as_deref(),
        }
    }

    /// A short line a person understands at a glance, e.g. `Missed call
    /// from +1 415 555 2671 to Support`: printable ASCII (SNS's rule),
    /// under 100 characters.
    pub fn subject(&self) -> String {
        let ours = self.our_number();
        let name = |number: Option<&str>, withheld: &str| -> String {
            match number {
                Some(n) if Some(n) == ours => match self.line_label.as_deref().map(ascii_line) {
                    Some(label) if !label.is_empty() => label,
                    _ => subject_party(n),
                },
                Some(n) => subject_party(n),
                None => withheld.to_string(),
            }
        };
        let from = name(self.from.as_deref(), "a withheld number");
        let to = name(self.to.as_deref(), "an unknown number");
        let subject = match self.alert_type {
            AlertType::MissedCall => format!("Missed call from {from} to {to}"),
            // An error that names no call (a provider's configuration error).
            AlertType::CallError if self.from.is_none() && self.to.is_none() => {
                format!("{} error without a call", self.provider)
            }
            AlertType::CallError => format!("Call failed: {from} to {to}"),
            AlertType::SmsFailed => format!("SMS from {from} to {to} failed"),
            AlertType::CallIncomplete => format!("Call from {from} to {to} never finished"),
            AlertType::SmsStuck => format!("SMS from {from} to {to} stuck without a final status"),
        };
        truncate_subject(&ascii_line(&subject))
    }

    /// The incident's id: the same for every attempt, re-run and replay of
    /// one alert, different for any other. 32 hex digits of SHA-256 over
    /// the conversation (call or message, provider, id) and the alert type,
    /// so it carries no phone number. Changing this formula re-sends every
    /// alert still within reach of the stream: keep it.
    pub fn alert_id(&self) -> String {
        let (channel, id) = match (&self.call_id, &self.message_id) {
            (Some(call_id), _) => ("call", call_id.as_str()),
            (None, Some(message_id)) => ("sms", message_id.as_str()),
            (None, None) => ("none", ""),
        };
        let incident = format!(
            "callhooks-alert\n{channel}\n{}\n{id}\n{}",
            self.provider,
            self.alert_type.as_str()
        );
        hex::encode(&Sha256::digest(incident.as_bytes())[..16])
    }

    /// The JSON body of the SNS message: the alert with its id.
    pub fn message_body(&self) -> String {
        #[derive(Serialize)]
        struct Body<'a> {
            alert_id: String,
            #[serde(flatten)]
            alert: &'a Alert,
        }
        let body = Body {
            alert_id: self.alert_id(),
            alert: self,
        };
        serde_json::to_string(&body).expect("an alert always serializes")
    }

    /// SNS message attributes (all of type String) subscribers filter on,
    /// and drop copies by (`alert_id`).
    pub fn message_attributes(&self) -> [(&'static str, String); 3] {
        [
            ("alert_id", self.alert_id()),
            ("alert_type", self.alert_type.as_str().to_string()),
            ("provider", self.provider.clone()),
        ]
    }
}

/// What the Subject says of a party: its number (readable) when it has a
/// phone number's or a short code's shape, else [`UNRECOGNISED_CALLER`]. A
/// caller ID is text the caller chose: in the one line a person reads
/// first it must not pass for a message ("Bank: call 555..."). The body
/// keeps the full text.
pub fn subject_party(caller: &str) -> String {
    if number_shaped(caller) {
        readable_number(caller)
    } else {
        UNRECOGNISED_CALLER.to_string()
    }
}

/// What the Subject says instead of a caller ID that is not number-shaped.
pub const UNRECOGNISED_CALLER: &str = "an unrecognised caller ID";

/// An optional `+` and 3 to 15 digits (short codes have 3 to 8, E.164 at
/// most 15), with the spaces, dashes, dots and brackets numbers are
/// written with.
fn number_shaped(text: &str) -> bool {
    let trimmed = text.trim();
    let rest = trimmed.strip_prefix('+').unwrap_or(trimmed);
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    rest.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        && (3..=15).contains(&digits)
}

/// `+14155552671` as `+1 415 555 2671`; other countries' numbers stay in
/// E.164 (grouping them needs each country's plan).
pub fn readable_number(e164: &str) -> String {
    let digits = e164.strip_prefix("+1").unwrap_or("");
    if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("+1 {} {} {}", &digits[..3], &digits[3..6], &digits[6..])
    } else {
        e164.to_string()
    }
}

/// Printable ASCII on one line: anything else becomes `?`, runs of
/// whitespace one space.
fn ascii_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            c if c.is_whitespace() => ' ',
            c if c.is_ascii_graphic() => c,
            _ => '?',
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate_subject(subject: &str) -> String {
    if subject.len() <= MAX_SUBJECT_CHARS {
        return subject.to_string();
    }
    // ASCII only by now, so byte and character counts agree.
    format!("{}...", &subject[..MAX_SUBJECT_CHARS - 3])
}

#[cfg(test)]
mod tests;
