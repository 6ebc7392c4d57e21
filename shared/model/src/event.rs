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
    Twilio,
}

impl Provider {
    /// The one list of providers: every other list (routes, the CLI's
    /// choices, tests) is derived from it or checked against it.
    pub const ALL: [Provider; 5] = [
        Provider::Zonitel,
        Provider::Salpre,
        Provider::Voxtelesys,
        Provider::Retell,
        Provider::Twilio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Zonitel => "zonitel",
            Provider::Salpre => "salpre",
            Provider::Voxtelesys => "voxtelesys",
            Provider::Retell => "retell",
            Provider::Twilio => "twilio",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == value)
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
    /// What was odd about the delivery and read around rather than refused
    /// (`caller_id_number: withheld`, `timestamp_utc: was a string`...):
    /// stored on the event item so an operator can find partly understood
    /// deliveries. Empty for a delivery exactly as documented.
    pub anomalies: Vec<String>,
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

/// Where an SMS stands. Inbound messages are `received`; outbound ones go
/// `sent`, then `delivered` or `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsStatus {
    Received,
    Sent,
    Delivered,
    Failed,
}

impl SmsStatus {
    pub const ALL: [SmsStatus; 4] = [
        SmsStatus::Received,
        SmsStatus::Sent,
        SmsStatus::Delivered,
        SmsStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SmsStatus::Received => "received",
            SmsStatus::Sent => "sent",
            SmsStatus::Delivered => "delivered",
            SmsStatus::Failed => "failed",
        }
    }

    /// A known status, whatever its letter case; `None` for one the
    /// provider's documents do not list.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
    }

    /// The summary attribute holding the moment this status was first seen.
    pub fn moment_attribute(self) -> &'static str {
        match self {
            SmsStatus::Received => "inbound_at",
            SmsStatus::Sent => "sent_at",
            SmsStatus::Delivered => "delivered_at",
            SmsStatus::Failed => "failed_at",
        }
    }

    /// Delivered and failed end a message: nothing moves it on from them.
    pub fn is_final(self) -> bool {
        matches!(self, SmsStatus::Delivered | SmsStatus::Failed)
    }
}

impl fmt::Display for SmsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status moments of an SMS summary, as stored (each set once, RFC 3339
/// millisecond UTC strings, so string order is time order).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SmsMoments {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
}

impl SmsMoments {
    /// The current status by rank, whatever order the statuses arrived in:
    /// a final status (delivered, failed) over sent over received. When a
    /// provider reported both final statuses, the one it reported first
    /// stands (a tie counts as failed, the one a person must hear about).
    /// `None` while only statuses the documents do not list were seen.
    pub fn status(&self) -> Option<SmsStatus> {
        match (&self.delivered_at, &self.failed_at) {
            (Some(delivered), Some(failed)) if delivered < failed => Some(SmsStatus::Delivered),
            (_, Some(_)) => Some(SmsStatus::Failed),
            (Some(_), None) => Some(SmsStatus::Delivered),
            (None, None) if self.sent_at.is_some() => Some(SmsStatus::Sent),
            (None, None) if self.inbound_at.is_some() => Some(SmsStatus::Received),
            (None, None) => None,
        }
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
        for p in Provider::ALL {
            assert_eq!(Provider::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provider::parse("Twilio"), None, "names are lower-case");
        assert_eq!(Provider::parse("vapi"), None);
    }

    #[test]
    fn sms_status_never_moves_backwards() {
        let mut moments = SmsMoments::default();
        assert_eq!(moments.status(), None);
        // Delivered arrives before sent: a late sent moves nothing back.
        moments.delivered_at = at("2026-01-01T00:00:02.000Z");
        assert_eq!(moments.status(), Some(SmsStatus::Delivered));
        moments.sent_at = at("2026-01-01T00:00:03.000Z");
        assert_eq!(moments.status(), Some(SmsStatus::Delivered));
        // Delivered is final: a failure reported after it does not replace it.
        moments.failed_at = at("2026-01-01T00:00:04.000Z");
        assert_eq!(moments.status(), Some(SmsStatus::Delivered));

        let mut failed = SmsMoments {
            sent_at: at("2026-01-01T00:00:01.000Z"),
            ..Default::default()
        };
        assert_eq!(failed.status(), Some(SmsStatus::Sent));
        failed.failed_at = at("2026-01-01T00:00:02.000Z");
        assert_eq!(failed.status(), Some(SmsStatus::Failed));
        // Failed is final too.
        failed.delivered_at = at("2026-01-01T00:00:05.000Z");
        assert_eq!(failed.status(), Some(SmsStatus::Failed));
        // Reported at the same instant: failed.
        failed.delivered_at = failed.failed_at.clone();
        assert_eq!(failed.status(), Some(SmsStatus::Failed));
    }

    #[test]
    fn sms_status_ranks_every_arrival_order() {
        // Whatever order the four statuses of a message arrive in, the
        // status after each arrival is the highest rank seen so far, and a
        // final status stays once reached.
        let statuses = [SmsStatus::Received, SmsStatus::Sent, SmsStatus::Delivered];
        let rank = |s: SmsStatus| match s {
            SmsStatus::Received => 0,
            SmsStatus::Sent => 1,
            SmsStatus::Delivered | SmsStatus::Failed => 2,
        };
        for order in [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ] {
            let mut moments = SmsMoments::default();
            let mut best: Option<SmsStatus> = None;
            for (second, index) in order.into_iter().enumerate() {
                let status = statuses[index];
                let stamp = at(&format!("2026-01-01T00:00:0{second}.000Z"));
                match status {
                    SmsStatus::Received => moments.inbound_at = stamp,
                    SmsStatus::Sent => moments.sent_at = stamp,
                    _ => moments.delivered_at = stamp,
                }
                if best.is_none_or(|b| rank(status) > rank(b)) {
                    best = Some(status);
                }
                assert_eq!(moments.status(), best, "{order:?}");
            }
        }
    }

    #[test]
    fn sms_statuses_parse_in_any_case_and_name_their_moment() {
        for status in SmsStatus::ALL {
            assert_eq!(SmsStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                SmsStatus::parse(&status.as_str().to_uppercase()),
                Some(status)
            );
            assert!(status.moment_attribute().ends_with("_at"));
        }
        assert_eq!(SmsStatus::parse(" Delivered "), Some(SmsStatus::Delivered));
        assert_eq!(SmsStatus::parse("queued"), None);
        assert_eq!(SmsStatus::Received.moment_attribute(), "inbound_at");
        assert!(SmsStatus::Failed.is_final() && !SmsStatus::Sent.is_final());
    }
}
