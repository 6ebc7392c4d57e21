//! What a live call hears, decided once for every provider that lets us
//! answer with call-control XML: a plain [`CallAnswer`] from the number's
//! configuration (its `voxtelesys` section: greeting, forward numbers with a
//! ring timeout, voicemail), which `crate::voxml` writes as VoXML for
//! Voxtelesys and `crate::twiml` as TwiML for Twilio. The decision never
//! depends on what storage holds, so a retried request gets the same
//! answer as the first.

use crate::config::{VoicemailConfig, VoxtelesysConfig};

/// Said when a number has no configuration and the function's default
/// message (`VOXTELESYS_DEFAULT_MESSAGE`, or Twilio's) is not set.
pub const DEFAULT_MESSAGE: &str =
    "Thank you for calling. We cannot take your call right now. Please try again later.";

/// Said before the beep when voicemail is on and its prompt is not set.
pub const DEFAULT_VOICEMAIL_PROMPT: &str =
    "Nobody is available to take your call. Please leave a message after the beep.";

/// What an answer tells the provider to do with the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallAnswer {
    /// Nothing (the provider ignores the answer to a status callback).
    Nothing,
    /// Say `message`, if any, and hang up.
    HangUp { message: Option<String> },
    /// Say `greeting`, if any, then ring `numbers` at once for
    /// `ring_timeout_s`; the first to answer takes the call, and the dial's
    /// outcome comes back on the provider's dial callback.
    Forward {
        greeting: Option<String>,
        numbers: Vec<String>,
        ring_timeout_s: u32,
    },
    /// Say `greeting`, if any, then `prompt`, and record the caller after a
    /// beep for up to `max_length_s`; the recording comes back on the
    /// provider's recording callback.
    Voicemail {
        greeting: Option<String>,
        prompt: String,
        max_length_s: u32,
    },
}

impl CallAnswer {
    pub fn hang_up() -> Self {
        CallAnswer::HangUp { message: None }
    }
}

/// The answer to an incoming call: greet, forward, else voicemail; the
/// default message when the number has no configuration (also what a live
/// call the function could not read or configure hears).
pub fn answer_voice(config: Option<&VoxtelesysConfig>, default_message: &str) -> CallAnswer {
    let Some(config) = config else {
        return CallAnswer::HangUp {
            message: Some(default_message.to_string()),
        };
    };
    let greeting = config
        .greeting
        .as_deref()
        .filter(|g| !g.trim().is_empty())
        .map(str::to_string);
    if config.forward_to.is_empty() {
        // Nobody to forward to: straight to voicemail, if on.
        return voicemail(config.voicemail.as_ref(), greeting);
    }
    CallAnswer::Forward {
        greeting,
        numbers: config.forward_to.iter().map(|n| n.to_string()).collect(),
        ring_timeout_s: config.ring_timeout_s,
    }
}

/// The answer once the forward dial has ended (`DialCallStatus`): voicemail
/// (if on) when nobody took the call, else a hang-up (the call is over).
pub fn answer_dial(
    config: Option<&VoxtelesysConfig>,
    dial_call_status: Option<&str>,
) -> CallAnswer {
    match dial_outcome(dial_call_status) {
        DialOutcome::NotAnswered => voicemail(config.and_then(|c| c.voicemail.as_ref()), None),
        DialOutcome::Answered | DialOutcome::Other => CallAnswer::hang_up(),
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

/// What a `<Dial>`'s `DialCallStatus` says about the forward numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialOutcome {
    /// Somebody picked up (`completed`, or `answered` as Voxtelesys may say).
    Answered,
    /// Nobody did: `no-answer`, `busy`, `failed`, `canceled`.
    NotAnswered,
    /// Missing or a value no document lists.
    Other,
}

pub fn dial_outcome(dial_call_status: Option<&str>) -> DialOutcome {
    match dial_call_status
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_statuses_read_in_any_case() {
        assert_eq!(dial_outcome(Some(" Completed ")), DialOutcome::Answered);
        assert_eq!(dial_outcome(Some("answered")), DialOutcome::Answered);
        for status in ["no-answer", "BUSY", "failed", "canceled", "cancelled"] {
            assert_eq!(dial_outcome(Some(status)), DialOutcome::NotAnswered);
        }
        assert_eq!(dial_outcome(Some("ringing")), DialOutcome::Other);
        assert_eq!(dial_outcome(None), DialOutcome::Other);
    }

    #[test]
    fn a_dial_nobody_took_goes_to_voicemail_only_when_it_is_on() {
        let on = VoxtelesysConfig {
            voicemail: Some(VoicemailConfig {
                enabled: true,
                prompt: None,
                max_length_s: 60,
            }),
            ..Default::default()
        };
        assert_eq!(
            answer_dial(Some(&on), Some("busy")),
            CallAnswer::Voicemail {
                greeting: None,
                prompt: DEFAULT_VOICEMAIL_PROMPT.into(),
                max_length_s: 60,
            }
        );
        assert_eq!(
            answer_dial(Some(&on), Some("completed")),
            CallAnswer::hang_up()
        );
        assert_eq!(answer_dial(None, Some("no-answer")), CallAnswer::hang_up());
        let off = VoxtelesysConfig::default();
        assert_eq!(
            answer_dial(Some(&off), Some("no-answer")),
            CallAnswer::hang_up()
        );
    }
}
