//! The normalized event model every provider maps into, and the forward-only
//! rules of a call's summary.
//!
//! A call's summary never stores a "current status" that a late delivery
//! could overwrite. It stores the moment each phase was first seen (set once,
//! never cleared) and the status is derived from which phases exist. An
//! answered call therefore stays answered when a late `ringing` arrives, and
//! the same delivery twice changes nothing.

use crate::phone::PhoneNumber;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Zonitel,
    Salpre,
    Voxtelesys,
    Retell,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Zonitel => "zonitel",
            Provider::Salpre => "salpre",
            Provider::Voxtelesys => "voxtelesys",
            Provider::Retell => "retell",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Provider::Zonitel,
            Provider::Salpre,
            Provider::Voxtelesys,
            Provider::Retell,
        ]
        .into_iter()
        .find(|p| p.as_str() == value)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an event belongs to a phone call or to a text message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Call,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Call => "call",
            Channel::Sms => "sms",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// One delivery from a provider, normalized. What is stored for it is this
/// plus the raw body exactly as it came.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub provider: Provider,
    pub channel: Channel,
    /// The provider's call or message id (or, where the provider sends none,
    /// the id this system derives for it: see the provider's module).
    pub provider_id: String,
    pub direction: Option<Direction>,
    /// `None` when the caller withheld their number.
    pub from: Option<PhoneNumber>,
    pub to: Option<PhoneNumber>,
    pub caller_name: Option<String>,
    /// What happened, in the provider's own words where it has some
    /// (`call_ringing`, `delivered`, ...), else ours (`incoming_call`).
    pub kind: String,
    /// When the provider says it happened (or when we received it, where the
    /// provider does not say).
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    /// Sent by a provider's "test webhook" button: stored, never alerted on.
    pub is_test: bool,
    /// Distinguishes two different deliveries of the same kind at the same
    /// instant; identical for a retried delivery, so the retry collides.
    pub delivery_key: String,
    /// The body exactly as received.
    pub raw: String,
}

/// Where a call stands, derived from the phases its summary has seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Initiated,
    Ringing,
    Answered,
    Ended,
    Failed,
}

impl CallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Initiated => "initiated",
            CallStatus::Ringing => "ringing",
            CallStatus::Answered => "answered",
            CallStatus::Ended => "ended",
            CallStatus::Failed => "failed",
        }
    }
}

/// The phase moments of a call summary, as stored (each set once).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CallPhases {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ringing_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// A provider reported the call failed (error event, failed status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
    /// A provider reported that nobody picked up (no-answer, busy, an ended
    /// call without a customer turn...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unanswered_at: Option<String>,
}

impl CallPhases {
    /// The furthest phase seen; a failure outranks everything.
    pub fn status(&self) -> CallStatus {
        if self.failed_at.is_some() {
            CallStatus::Failed
        } else if self.ended_at.is_some() {
            CallStatus::Ended
        } else if self.answered_at.is_some() {
            CallStatus::Answered
        } else if self.ringing_at.is_some() {
            CallStatus::Ringing
        } else {
            CallStatus::Initiated
        }
    }

    /// An inbound call that somebody reported unanswered and nobody reported
    /// answered. A late `answered` clears it, which is why alerts decide on
    /// the transition into missed and never on the state alone.
    pub fn is_missed(&self, direction: Option<Direction>) -> bool {
        direction == Some(Direction::Inbound)
            && self.unanswered_at.is_some()
            && self.answered_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn status_is_the_furthest_phase_whatever_the_arrival_order() {
        let mut phases = CallPhases {
            answered_at: at("2026-01-01T00:00:02.000Z"),
            ..Default::default()
        };
        assert_eq!(phases.status(), CallStatus::Answered);
        // A late ringing delivery fills its own phase and moves nothing back.
        phases.ringing_at = at("2026-01-01T00:00:01.000Z");
        assert_eq!(phases.status(), CallStatus::Answered);
        phases.ended_at = at("2026-01-01T00:00:09.000Z");
        assert_eq!(phases.status(), CallStatus::Ended);
        phases.failed_at = at("2026-01-01T00:00:03.000Z");
        assert_eq!(phases.status(), CallStatus::Failed);
    }

    #[test]
    fn missed_needs_inbound_unanswered_and_never_answered() {
        let mut phases = CallPhases {
            ended_at: at("x"),
            unanswered_at: at("x"),
            ..Default::default()
        };
        assert!(phases.is_missed(Some(Direction::Inbound)));
        assert!(!phases.is_missed(Some(Direction::Outbound)));
        assert!(!phases.is_missed(None));
        phases.answered_at = at("x");
        assert!(!phases.is_missed(Some(Direction::Inbound)));
    }

    #[test]
    fn providers_round_trip_through_their_names() {
        for p in [
            Provider::Zonitel,
            Provider::Salpre,
            Provider::Voxtelesys,
            Provider::Retell,
        ] {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("twilio"), None);
    }
}
