//! Twilio (docs/providers/twilio.md): Programmable Voice and Messaging
//! webhooks on six routes, each a [`Hook`]: an incoming call asks what to
//! do (`/twilio/voice`), the `<Dial>` we answered with has ended
//! (`/twilio/dial`), the call's status changed (`/twilio/call-status`), a
//! recording is ready (`/twilio/recording`), a message arrived
//! (`/twilio/messages`), an outbound message's status changed
//! (`/twilio/message-status`).
//!
//! Requests are signed ([`signature`]); parameters are form-encoded POSTs,
//! or the query string of a GET on the voice routes. [`read`] turns plain
//! request parts into a [`Reading`]: the normalized event and its write
//! plan, calls keyed by `CallSid` like Voxtelesys's ([`calls`]) and
//! messages by `MessageSid` like Zonitel's SMS ([`messages`]). A call's
//! answer is the decision shared with Voxtelesys (`crate::call_answer`),
//! written as TwiML by `crate::twiml`.

pub mod calls;
pub mod messages;
mod request;
pub mod signature;

pub use request::{read, Inbound, Reading};

/// Caller-ID names are 15 characters in North America; longer is not a name.
pub const MAX_CALLER_NAME_CHARS: usize = 256;
/// Sids and statuses become parts of keys: bounded so keys stay small
/// (Twilio's sids are 34 characters).
pub const MAX_TOKEN_CHARS: usize = 128;

/// The six Twilio webhook routes. Users paste these paths into Twilio's
/// console, so they are a contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// The number's voice URL: an incoming call.
    Voice,
    /// The `<Dial>` action: the forward numbers rang, and this is how.
    Dial,
    /// The call's status callback.
    CallStatus,
    /// The `<Record>` action and the recording status callback.
    Recording,
    /// The number's messaging URL: an inbound SMS or MMS.
    Messages,
    /// An outbound message's status callback.
    MessageStatus,
}

impl Hook {
    pub const ALL: [Hook; 6] = [
        Hook::Voice,
        Hook::Dial,
        Hook::CallStatus,
        Hook::Recording,
        Hook::Messages,
        Hook::MessageStatus,
    ];

    /// The route's last segment.
    pub fn as_str(self) -> &'static str {
        match self {
            Hook::Voice => "voice",
            Hook::Dial => "dial",
            Hook::CallStatus => "call-status",
            Hook::Recording => "recording",
            Hook::Messages => "messages",
            Hook::MessageStatus => "message-status",
        }
    }

    /// The route's path, as API Gateway serves it.
    pub const fn path(self) -> &'static str {
        match self {
            Hook::Voice => "/twilio/voice",
            Hook::Dial => "/twilio/dial",
            Hook::CallStatus => "/twilio/call-status",
            Hook::Recording => "/twilio/recording",
            Hook::Messages => "/twilio/messages",
            Hook::MessageStatus => "/twilio/message-status",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == value)
    }

    /// Whether the hook is about a call (else a message).
    pub fn is_call(self) -> bool {
        !matches!(self, Hook::Messages | Hook::MessageStatus)
    }

    /// Whether the route serves GET as well as POST: the voice routes (a
    /// number's voice URL and our TwiML's actions), whose method users set
    /// in Twilio's console; the others are POSTed.
    pub fn allows_get(self) -> bool {
        matches!(self, Hook::Voice | Hook::Dial | Hook::Recording)
    }

    /// Whether the answer depends on the number's configuration.
    pub fn needs_config(self) -> bool {
        matches!(self, Hook::Voice | Hook::Dial)
    }
}

/// A hook's [`crate::providers::Reader`] (the route table gives each hook
/// its own): the reading, and `{"call_id"}` or `{"message_id"}` for the
/// logs.
pub fn read_payload(
    hook: Hook,
    payload: &crate::providers::Payload,
    retention_days: u32,
) -> Result<crate::providers::Reading, crate::providers::ReadError> {
    let inbound = Inbound {
        hook,
        is_post: payload.is_post,
        query: payload.query,
        body: payload.body,
        content_type: payload.content_type,
    };
    let reading = read(&inbound, payload.received_at, retention_days)?;
    let id_name = if hook.is_call() {
        "call_id"
    } else {
        "message_id"
    };
    Ok(crate::providers::Reading {
        answer: serde_json::json!({ id_name: reading.event.provider_id }),
        event: reading.event,
        plan: reading.plan,
    })
}

#[cfg(test)]
mod hook_tests {
    use super::*;

    #[test]
    fn every_hook_has_its_own_path_under_twilio() {
        for hook in Hook::ALL {
            assert_eq!(Hook::parse(hook.as_str()), Some(hook));
            assert_eq!(hook.path(), format!("/twilio/{}", hook.as_str()));
        }
        assert_eq!(Hook::parse("status"), None);
        assert_eq!(
            Hook::ALL.iter().filter(|h| h.is_call()).count(),
            4,
            "four call routes, two message routes"
        );
    }
}
