//! Twilio's call requests: the voice URL (an incoming call), the `<Dial>`
//! action, the call status callback and the recording callbacks, all keyed
//! by the call's `CallSid` (`CALL#twilio#<CallSid>`), the dial leg's
//! `DialCallSid` joined to its parent.
//!
//! What "answered" means, as for Voxtelesys: our own TwiML taking the call
//! (`CallStatus=in-progress` on an inbound call) is not a person answering,
//! so it is kept as `in_progress_at`, never `answered_at`. An inbound call
//! is answered when the `<Dial>` to the forward numbers reports `completed`
//! (or `answered`); it is unanswered, and so missed, when the dial reports
//! `no-answer`, `busy`, `failed` or `canceled`, or the call's own final
//! status is `no-answer`, `busy` or `canceled` before anybody answered.
//!
//! Retries: Twilio's form carries no per-delivery id and its retries come
//! at a new time, so, as for Voxtelesys, each distinct callback (CallSid +
//! hook + status, dial outcome or recording) puts a guard item
//! `DELIVERY#...` in the call's partition in the same transaction: a retry
//! collides and writes nothing.

use super::{Hook, MAX_CALLER_NAME_CHARS, MAX_TOKEN_CHARS};
use crate::call_answer::{dial_outcome, DialOutcome};
use crate::event::{Channel, Direction, Event, Provider};
use crate::lifecycle;
use crate::providers::form::{self, normalized, number_param, seconds, Form};
use crate::providers::ReadError;
use crate::store::keys;
use crate::store::plan::{n, s, WritePlan};
use crate::time::{self, Timestamp};
use sha2::{Digest, Sha256};

/// Wire name, attribute name on the stored event, for the parameters kept
/// as they came (From, To and CallerName are kept normalized, Direction
/// both ways).
const STORED_AS_IS: &[(&str, &str)] = &[
    ("CallSid", "call_sid"),
    ("AccountSid", "account_sid"),
    ("CallStatus", "call_status"),
    ("ApiVersion", "api_version"),
    ("Direction", "twilio_direction"),
    ("ForwardedFrom", "forwarded_from"),
    ("ParentCallSid", "parent_call_sid"),
    ("FromCity", "from_city"),
    ("FromState", "from_state"),
    ("FromZip", "from_zip"),
    ("FromCountry", "from_country"),
    ("ToCity", "to_city"),
    ("ToState", "to_state"),
    ("ToZip", "to_zip"),
    ("ToCountry", "to_country"),
    ("CallDuration", "call_duration"),
    ("Timestamp", "twilio_timestamp"),
    ("SequenceNumber", "sequence_number"),
    ("CallbackSource", "callback_source"),
    ("AnsweredBy", "answered_by"),
    ("SipResponseCode", "sip_response_code"),
    ("StirVerstat", "stir_verstat"),
    ("DialCallStatus", "dial_call_status"),
    ("DialCallSid", "dial_call_sid"),
    ("DialCallDuration", "dial_call_duration"),
    ("DialBridged", "dial_bridged"),
    ("RecordingUrl", "recording_url"),
    ("RecordingSid", "recording_sid"),
    ("RecordingStatus", "recording_status"),
    ("RecordingDuration", "recording_duration"),
    ("RecordingChannels", "recording_channels"),
    ("RecordingSource", "recording_source"),
    ("RecordingStartTime", "recording_start_time"),
    ("ErrorCode", "error_code"),
    ("Digits", "digits"),
    ("SpeechResult", "speech_result"),
];

/// The call statuses Twilio documents; any other is kept and named.
pub const CALL_STATUSES: &[&str] = &[
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "canceled",
    "failed",
];

fn key_part(value: &str, field: &str, anomalies: &mut Vec<String>) -> String {
    form::key_part(value, field, MAX_TOKEN_CHARS, anomalies)
}

/// Reads a call request into its normalized event. Refuses only a request
/// that cannot be tied to a call: no `CallSid`, or one that is not
/// printable ASCII without spaces. `anomalies` holds what the request's
/// shape already said.
pub fn read_call(
    hook: Hook,
    form: &Form,
    raw: &str,
    received_at: Timestamp,
    mut anomalies: Vec<String>,
) -> Result<Event, ReadError> {
    let call_sid = form::call_sid(form.get("CallSid"), MAX_TOKEN_CHARS)?;
    anomalies.extend(
        form.repeated
            .iter()
            .map(|name| format!("{name}: sent more than once; the first value is read")),
    );
    let from = number_param("From", form.get("From"), true, &mut anomalies);
    let to = number_param("To", form.get("To"), false, &mut anomalies);
    for field in ["CallDuration", "DialCallDuration", "RecordingDuration"] {
        if form
            .present(field)
            .is_some_and(|v| seconds(Some(v)).is_none())
        {
            anomalies.push(format!("{field}: not a number of seconds; kept as text"));
        }
    }
    let caller_name = form::caller_name(
        form.get("CallerName"),
        MAX_CALLER_NAME_CHARS,
        &mut anomalies,
    );
    let outcome = |field: &str, anomalies: &mut Vec<String>| match form.present(field) {
        Some(v) => key_part(v, field, anomalies),
        None => {
            anomalies.push(format!("{field}: missing"));
            "-".to_string()
        }
    };
    let kind = match hook {
        Hook::Voice => "voice".to_string(),
        Hook::CallStatus => {
            let status = outcome("CallStatus", &mut anomalies);
            if status != "-" && !CALL_STATUSES.contains(&normalized(Some(&status)).as_str()) {
                anomalies.push(format!(
                    "CallStatus: {status:?} is not a known status; kept as sent"
                ));
            }
            format!("status:{status}")
        }
        Hook::Dial => format!("dial:{}", outcome("DialCallStatus", &mut anomalies)),
        Hook::Recording => {
            if form.present("RecordingUrl").is_none() {
                anomalies.push("RecordingUrl: missing".into());
            }
            // The `<Record>` action sends no status; the callback does.
            let status = form.present("RecordingStatus").unwrap_or("received");
            format!(
                "recording:{}",
                key_part(status, "RecordingStatus", &mut anomalies)
            )
        }
        Hook::Messages | Hook::MessageStatus => {
            return Err(ReadError::new(format!(
                "{} is a message route, not a call route",
                hook.path()
            )))
        }
    };
    // outbound-api, outbound-dial: outbound.
    let direction =
        form::call_direction(form.get("Direction"), hook == Hook::Voice, &mut anomalies);
    Ok(Event {
        provider: Provider::Twilio,
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
        // Retries are told apart by the delivery guard (call_plan).
        delivery_key: "1".into(),
        raw: raw.to_string(),
        anomalies,
    })
}

/// What makes a callback distinct from another of the same call: a retry
/// has the same parts, a new fact different ones.
pub fn delivery_parts(hook: Hook, form: &Form) -> Vec<String> {
    let part = |name: &str| key_part(form.get(name).unwrap_or(""), "", &mut Vec::new());
    match hook {
        Hook::Voice => vec!["voice".into()],
        Hook::CallStatus => vec!["status".into(), part("CallStatus")],
        Hook::Dial => vec!["dial".into(), part("DialCallStatus"), part("DialCallSid")],
        Hook::Recording => {
            // A recording without an id is told apart by its URL, hashed to
            // keep the key short.
            let id = match form.present("RecordingSid") {
                Some(sid) => sid.to_string(),
                None => hex::encode(
                    &Sha256::digest(form.present("RecordingUrl").unwrap_or("").as_bytes())[..16],
                ),
            };
            vec!["recording".into(), id, part("RecordingStatus")]
        }
        Hook::Messages | Hook::MessageStatus => vec![hook.as_str().into()],
    }
}

/// The writes of a call request, in one transaction: its delivery guard,
/// the event (with every documented parameter as it came), and the call's
/// summary.
pub fn call_plan(hook: Hook, form: &Form, event: &Event, retention_days: u32) -> WritePlan {
    let mut plan = WritePlan::for_event(event, retention_days);
    let at = s(time::to_key(event.occurred_at));

    let event_item = &mut plan.puts[0].item;
    event_item.insert("hook".into(), s(hook.as_str()));
    for (wire, attribute) in STORED_AS_IS {
        if let Some(value) = form.get(wire) {
            event_item.insert((*attribute).into(), s(value));
        }
    }
    // A number that could not be read is kept as sent.
    for (wire, attribute, read) in [
        ("From", "from_text", event.from.is_some()),
        ("To", "to_text", event.to.is_some()),
    ] {
        if let Some(text) = form.present(wire).filter(|_| !read) {
            event_item.insert(attribute.into(), s(text));
        }
    }

    let summary = plan.summary_mut();
    if let Some(parent) = form.present("ParentCallSid") {
        summary.set_once("parent_call_sid", s(parent));
    }
    if let Some(forwarded) = form.present("ForwardedFrom") {
        summary.set_once("forwarded_from", s(forwarded));
    }
    match hook {
        Hook::Voice => {
            summary.set_once("ringing_at", at);
        }
        Hook::CallStatus => {
            if let Some(duration) = seconds(form.get("CallDuration")).map(n) {
                summary.set_once("call_duration_s", duration);
            }
            if let Some(answered_by) = form.present("AnsweredBy") {
                summary.set_once("answered_by", s(answered_by));
            }
            match normalized(form.get("CallStatus")).as_str() {
                "queued" | "initiated" => {
                    summary.set_once("initiated_at", at);
                }
                "ringing" => {
                    summary.set_once("ringing_at", at);
                }
                "in-progress" => {
                    if event.direction == Some(Direction::Outbound) {
                        summary.set_once("answered_at", at);
                    } else {
                        // Our TwiML took the call; no person has answered.
                        summary.set_once("in_progress_at", at);
                    }
                }
                "completed" => {
                    summary.set_once("ended_at", at);
                }
                "busy" | "no-answer" | "canceled" => {
                    summary
                        .set_once("ended_at", at.clone())
                        .set_once("unanswered_at", at);
                }
                "failed" => {
                    let message = match form.present("SipResponseCode") {
                        Some(code) => format!("Twilio reported CallStatus failed (SIP {code})"),
                        None => "Twilio reported CallStatus failed".to_string(),
                    };
                    summary
                        .set_once("failed_at", at)
                        .set_once("error_message", s(message));
                }
                // Any other status is kept on its event, as it came.
                _ => {}
            }
        }
        Hook::Dial => {
            summary.set_once(
                "dial_call_status",
                s(form.get("DialCallStatus").unwrap_or("").trim()),
            );
            if let Some(sid) = form.present("DialCallSid") {
                summary.set_once("dial_call_sid", s(sid));
            }
            if let Some(duration) = seconds(form.get("DialCallDuration")).map(n) {
                summary.set_once("dial_call_duration_s", duration);
            }
            match dial_outcome(form.get("DialCallStatus")) {
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
            if let Some(url) = form.present("RecordingUrl") {
                summary.set_once("recording_url", s(url));
            }
            if let Some(sid) = form.present("RecordingSid") {
                summary.set_once("recording_sid", s(sid));
            }
            // A recording still in progress says nothing final about it.
            if let Some(status) = form
                .present("RecordingStatus")
                .filter(|v| !v.eq_ignore_ascii_case("in-progress"))
            {
                summary.set_once("recording_status", s(status));
            }
            if let Some(duration) = seconds(form.get("RecordingDuration")).map(n) {
                summary.set_once("recording_duration_s", duration);
            }
        }
        Hook::Messages | Hook::MessageStatus => {}
    }

    if let Some(fact) = lifecycle::twilio_call_fact(hook.as_str(), form.get("CallStatus")) {
        lifecycle::note(
            plan.summary_mut(),
            &lifecycle::TWILIO_CALL,
            fact,
            event.received_at,
        );
    }
    let parts = delivery_parts(hook, form);
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let pk = keys::conversation_pk(Channel::Call, Provider::Twilio, &event.provider_id);
    plan.guard_delivery(&pk, &parts, event.received_at, retention_days);
    // What the bounds cut (a huge SpeechResult...) is named on the stored
    // event's anomalies.
    plan.bound();
    plan
}

#[cfg(test)]
mod tests;
