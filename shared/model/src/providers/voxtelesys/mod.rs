//! Voxtelesys voice webhooks: `GET` or `POST /voxtelesys/{hook}` with hook =
//! `voice` (an incoming call asks what to do), `status` (the call's status
//! changed), `dial` (the `<Dial>` we answered has ended) and `recording`
//! (the voicemail we asked for is ready).
//!
//! The provider's interface is plain data ([`Inbound`]: method, path, query
//! string, body bytes, content type), read by [`read`] into a [`Callback`]
//! (the normalized event), whose [`Callback::plan`] is what it writes and
//! whose [`Callback::answer`] is what the call hears ([`CallAnswer`], plain
//! data decided in `crate::call_answer`, shared with Twilio, that
//! `crate::voxml` writes as VoXML).
//!
//! Parameters come as form fields of a POST or as the query string of a
//! GET, and read the same either way ([`params`]). Voxtelesys documents the
//! basic and geographic parameters; where it lists no values (call
//! statuses, the Dial, Gather and recording parameters), it mirrors
//! Twilio's names, which are accepted, and any other value is stored as it
//! came instead of being refused. Reading is tolerant: a repeated
//! parameter is read as its first value, a number that cannot be read is
//! kept as text, a missing status is kept, each oddity named on the event
//! (`anomalies`). Only a callback without a usable `CallSid` cannot be tied
//! to a call and is refused (`Err`; the pipeline keeps it as an
//! unrecognized delivery), as is a body that is JSON or not UTF-8.
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

mod answer;
mod callback;
mod params;

/// A hook's callback from a plain payload: its form body (POST) or query
/// string (GET).
pub fn read_callback(
    hook: Hook,
    payload: &crate::providers::Payload,
) -> Result<Callback, ReadError> {
    let path = format!("/voxtelesys/{}", hook.as_str());
    let inbound = Inbound {
        method: if payload.is_post {
            Method::Post
        } else {
            Method::Get
        },
        path: &path,
        query: payload.query,
        body: payload.body,
        content_type: payload.content_type,
    };
    read(&inbound, payload.received_at)
}

/// A hook's [`crate::providers::Reader`] (the route table gives each hook
/// its own).
pub fn read_payload(
    hook: Hook,
    payload: &crate::providers::Payload,
    retention_days: u32,
) -> Result<crate::providers::Reading, ReadError> {
    let callback = read_callback(hook, payload)?;
    Ok(crate::providers::Reading {
        plan: callback.plan(retention_days),
        answer: serde_json::json!({"call_id": callback.event.provider_id}),
        event: callback.event,
    })
}

#[cfg(test)]
mod tests;

pub use crate::call_answer::{answer_voice, CallAnswer, DEFAULT_MESSAGE, DEFAULT_VOICEMAIL_PROMPT};
pub use callback::{parse_callback, phone_number, Callback, Vars};
pub use params::{read_inbound, without_token, CallParams, Inbound, Method};

use crate::providers::ReadError;
use crate::time::Timestamp;

/// Caller-ID names are 15 characters in North America; longer is not a name.
pub const MAX_CALLER_NAME_CHARS: usize = 256;
/// Ids and statuses become parts of keys: bounded so keys stay small.
pub const MAX_TOKEN_CHARS: usize = 128;
/// A parsed `Vars` is also kept as a structured attribute up to this size;
/// a larger one stays in the raw payload only (which is split, never cut).
pub const MAX_STRUCTURED_VARS_BYTES: usize = 64 * 1024;

/// The whole reading of one request: its hook, its parameters, the
/// normalized callback.
pub fn read(inbound: &Inbound, received_at: Timestamp) -> Result<Callback, ReadError> {
    let hook = Hook::of_path(inbound.path)
        .ok_or_else(|| ReadError::field("path", format!("names no hook: {:?}", inbound.path)))?;
    let (params, raw, anomalies) = read_inbound(inbound)?;
    let mut callback = parse_callback(hook, params, &raw, received_at)?;
    // What the request's shape said comes first, then the parameters'.
    callback.event.anomalies.splice(0..0, anomalies);
    Ok(callback)
}

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

    /// The hook a request's path names (its last segment), if it names
    /// one.
    pub fn of_path(path: &str) -> Option<Self> {
        let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        Self::parse(last)
    }

    /// Whether the answer depends on the number's configuration.
    pub fn needs_config(self) -> bool {
        matches!(self, Hook::Voice | Hook::Dial)
    }
}
