//! One Twilio request as plain parts, read into a [`Reading`]: the
//! normalized event, what it writes, and what the call hears.

use super::{calls, messages, Hook};
use crate::call_answer::{answer_dial, answer_voice, CallAnswer};
use crate::config::NumberConfig;
use crate::event::Event;
use crate::providers::form::{form_part, Form, FormPart};
use crate::providers::ReadError;
use crate::store::plan::WritePlan;
use crate::time::Timestamp;

/// A request to a Twilio route as plain parts, already authenticated
/// (`signature::verify`) and within the size limit.
#[derive(Clone, Copy, Debug)]
pub struct Inbound<'a> {
    pub hook: Hook,
    /// POST (form parameters in the body) or GET (in the query string).
    /// Twilio lets each webhook's method be configured, so a GET reads the
    /// same on every hook; which routes serve GET is the route table's.
    pub is_post: bool,
    /// The raw query string (without `?`), `""` when there is none; a GET's
    /// parameters, and kept as its raw payload.
    pub query: &'a str,
    pub body: &'a [u8],
    /// The Content-Type header as sent, if any (only a hint).
    pub content_type: Option<&'a str>,
}

/// A read request: its hook, its parameters, the normalized event and its
/// write plan (one transaction).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub hook: Hook,
    pub form: Form,
    pub event: Event,
    pub plan: WritePlan,
}

/// Reads a request. Refused (`Err`, kept by the pipeline as an
/// unrecognized delivery) only when it cannot be tied to a call or a
/// message (no usable `CallSid` / `MessageSid`), or its body is JSON, not
/// UTF-8, or multipart; every other oddity is read around and named in the
/// event's anomalies.
pub fn read(
    inbound: &Inbound,
    received_at: Timestamp,
    retention_days: u32,
) -> Result<Reading, ReadError> {
    let (part, anomalies) = form_part(
        !inbound.is_post,
        inbound.query,
        inbound.body,
        inbound.content_type,
        "Twilio",
    )?;
    let raw = match part {
        FormPart::Query(text) | FormPart::Body(text) => text,
    };
    let form = Form::parse(raw.as_bytes());
    // What the request's shape said comes first, then the parameters'.
    let (event, plan) = if inbound.hook.is_call() {
        let call = calls::read_call(inbound.hook, &form, raw, received_at, anomalies)?;
        let plan = calls::call_plan(inbound.hook, &form, &call, retention_days);
        (call, plan)
    } else {
        let message = messages::read_message(inbound.hook, &form, raw, received_at, anomalies)?;
        let plan = messages::message_plan(&message, retention_days);
        (message.event, plan)
    };
    Ok(Reading {
        hook: inbound.hook,
        form,
        event,
        plan,
    })
}

impl Reading {
    /// What the call hears, from the request and the number's configuration
    /// only (its `voxtelesys` section, shared by every provider we answer
    /// with call-control XML), so a retry gets the same answer. Messages
    /// and status callbacks get [`CallAnswer::Nothing`]: an empty
    /// `<Response/>`.
    pub fn answer(&self, config: Option<&NumberConfig>, default_message: &str) -> CallAnswer {
        let section = config.and_then(|c| c.voxtelesys.as_ref());
        match self.hook {
            Hook::Voice => answer_voice(section, default_message),
            Hook::Dial => answer_dial(section, self.form.get("DialCallStatus")),
            // The `<Record>` action: the message is left, the call is over.
            // (Twilio ignores the answer to a recording status callback.)
            Hook::Recording => CallAnswer::hang_up(),
            Hook::CallStatus | Hook::Messages | Hook::MessageStatus => CallAnswer::Nothing,
        }
    }
}
