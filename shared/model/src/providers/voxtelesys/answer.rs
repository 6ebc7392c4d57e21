//! What a call hears, decided from the callback and the number's
//! configuration, as a plain [`CallAnswer`]; `crate::voxml` writes it as
//! VoXML with the URLs of our own callbacks.

use super::{CallParams, Callback, Hook, DEFAULT_VOICEMAIL_PROMPT};
use crate::config::{NumberConfig, VoicemailConfig, VoxtelesysConfig};

/// What a callback's answer tells Voxtelesys to do with the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallAnswer {
    /// Nothing (Voxtelesys ignores the answer to a status callback).
    Nothing,
    /// Say `message`, if any, and hang up.
    HangUp { message: Option<String> },
    /// Say `greeting`, if any, then ring `numbers` at once for
    /// `ring_timeout_s`; the first to answer takes the call, and the dial's
    /// outcome comes back on the `dial` hook.
    Forward {
        greeting: Option<String>,
        numbers: Vec<String>,
        ring_timeout_s: u32,
    },
    /// Say `greeting`, if any, then `prompt`, and record the caller after a
    /// beep for up to `max_length_s`; the recording comes back on the
    /// `recording` hook.
    Voicemail {
        greeting: Option<String>,
        prompt: String,
        max_length_s: u32,
    },
}

impl CallAnswer {
    fn hang_up() -> Self {
        CallAnswer::HangUp { message: None }
    }
}

impl Callback {
    /// The answer, derived from the request and the number's configuration
    /// only (never from what storage holds), so a retry gets the same
    /// answer as the first delivery.
    pub fn answer(&self, config: Option<&NumberConfig>, default_message: &str) -> CallAnswer {
        let vox = config.and_then(|c| c.voxtelesys.as_ref());
        match self.hook {
            Hook::Voice => answer_voice(vox, default_message),
            Hook::Dial => match dial_outcome(&self.params) {
                DialOutcome::NotAnswered => voicemail(vox.and_then(|v| v.voicemail.as_ref()), None),
                DialOutcome::Answered | DialOutcome::Other => CallAnswer::hang_up(),
            },
            // The recording hook is the `<Record>` action: the call is over.
            Hook::Recording => CallAnswer::hang_up(),
            Hook::Status => CallAnswer::Nothing,
        }
    }
}

/// The answer to an incoming call: greet, forward, else voicemail; the
/// default message when the number has no Voxtelesys configuration (also
/// what a live call the function could not read or configure hears).
pub fn answer_voice(vox: Option<&VoxtelesysConfig>, default_message: &str) -> CallAnswer {
    let Some(vox) = vox else {
        return CallAnswer::HangUp {
            message: Some(default_message.to_string()),
        };
    };
    let greeting = vox
        .greeting
        .as_deref()
        .filter(|g| !g.trim().is_empty())
        .map(str::to_string);
    if vox.forward_to.is_empty() {
        // Nobody to forward to: straight to voicemail, if on.
        return voicemail(vox.voicemail.as_ref(), greeting);
    }
    CallAnswer::Forward {
        greeting,
        numbers: vox.forward_to.iter().map(|n| n.to_string()).collect(),
        ring_timeout_s: vox.ring_timeout_s,
    }
}

/// Voicemail when it is on, else a hang-up (after the greeting, if any).
fn voicemail(config: Option<&VoicemailConfig>, greeting: Option<String>) -> CallAnswer {
    match config {
        Some(vm) if vm.enabled => CallAnswer::Voicemail {
            greeting,
            prompt: vm
                .prompt
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .unwrap_or(DEFAULT_VOICEMAIL_PROMPT)
                .to_string(),
            max_length_s: vm.max_length_s,
        },
        _ => CallAnswer::HangUp { message: greeting },
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DialOutcome {
    Answered,
    NotAnswered,
    Other,
}

pub(super) fn dial_outcome(params: &CallParams) -> DialOutcome {
    match params
        .dial_call_status
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "completed" | "answered" => DialOutcome::Answered,
        "no-answer" | "busy" | "failed" | "canceled" | "cancelled" => DialOutcome::NotAnswered,
        _ => DialOutcome::Other,
    }
}
