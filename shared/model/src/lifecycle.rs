//! Expected lifecycles: for each provider and kind of conversation, the
//! facts that must follow one another and how long each may take, as data
//! in one place ([`LIFECYCLES`]). Everything else reads this table: the
//! providers' write plans note each fact ([`note`]), the sweeper finds the
//! lifecycles whose next fact is overdue ([`standing`], [`due_at`]), and
//! the operator's view and the docs (`docs/lifecycles.md`) name what is
//! missing.
//!
//! How a lifecycle is found without scanning the table: while it is open,
//! its summary carries the sparse index key `GSI4PK = OPEN#<lifecycle>#<next
//! fact>`, `GSI4SK = <moment the wait began>#<PK>` ([`open_pk`],
//! [`open_sk`]); the fact that closes it removes the key. The sweeper reads
//! one partition per (lifecycle, fact) from the oldest moment up to now
//! minus that fact's wait: exactly the overdue ones. A flagged summary
//! moves to `GSI4PK = INCOMPLETE#<provider>` (`calls list --incomplete`)
//! until a late closing fact removes the key.
//!
//! Facts arrive out of order and twice. Each fact's moment is set once
//! (`seen_<fact>_at`), a fact implies every fact before it, and the key a
//! late delivery of an earlier fact writes back is corrected by the sweeper
//! from the summary's facts when it comes due (it never flags a lifecycle
//! whose later facts it can see).

use crate::event::{Channel, Direction, Provider, SmsStatus};
use crate::store::keys;
use crate::store::plan::{s, text, Item, SummaryUpdate};
use crate::time::{self, Timestamp};
use std::fmt;

/// The waits, each a template parameter with its default; locally
/// `LIFECYCLE_WAIT_SECONDS` replaces them all with one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wait {
    /// From Retell's `call_inbound` to `call_started`: ringing and the
    /// agent picking up.
    CallStart,
    /// From a call's start to its end: the longest call we expect, plus a
    /// grace for the provider's retries.
    CallEnd,
    /// From Retell's `call_ended` to `call_analyzed` (Retell analyses a call
    /// within minutes of its end).
    CallAnalysis,
    /// From an outbound SMS `sent` to `delivered` or `failed` (carriers'
    /// delivery receipts).
    SmsFinalStatus,
}

impl Wait {
    pub const ALL: [Wait; 4] = [
        Wait::CallStart,
        Wait::CallEnd,
        Wait::CallAnalysis,
        Wait::SmsFinalStatus,
    ];

    /// The sweeper's environment variable.
    pub fn env_name(self) -> &'static str {
        match self {
            Wait::CallStart => "CALL_START_WAIT_SECONDS",
            Wait::CallEnd => "CALL_END_WAIT_SECONDS",
            Wait::CallAnalysis => "CALL_ANALYSIS_WAIT_SECONDS",
            Wait::SmsFinalStatus => "SMS_STATUS_WAIT_SECONDS",
        }
    }

    /// The template parameter that sets it.
    pub fn parameter_name(self) -> &'static str {
        match self {
            Wait::CallStart => "CallStartWaitSeconds",
            Wait::CallEnd => "CallEndWaitSeconds",
            Wait::CallAnalysis => "CallAnalysisWaitSeconds",
            Wait::SmsFinalStatus => "SmsStatusWaitSeconds",
        }
    }

    /// The default (the template's too; a test compares them).
    pub fn default_seconds(self) -> u64 {
        match self {
            // Five minutes of ringing and queueing.
            Wait::CallStart => 5 * 60,
            // Four hours (the longest call) and fifteen minutes of grace.
            Wait::CallEnd => 4 * 3600 + 15 * 60,
            // Ten minutes after the end, and five of grace.
            Wait::CallAnalysis => 15 * 60,
            // Four hours: carriers' receipts are late, rarely that late.
            Wait::SmsFinalStatus => 4 * 3600,
        }
    }
}

/// Every wait in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waits {
    seconds: [u64; 4],
}

/// The local override: one wait for every expected fact.
pub const ONE_WAIT_ENV: &str = "LIFECYCLE_WAIT_SECONDS";

impl Default for Waits {
    fn default() -> Self {
        Waits {
            seconds: Wait::ALL.map(Wait::default_seconds),
        }
    }
}

impl Waits {
    /// The same wait for everything.
    pub fn uniform(seconds: u64) -> Self {
        Waits {
            seconds: [seconds; 4],
        }
    }

    /// From the environment (`lookup` is `std::env::var` in a function):
    /// [`ONE_WAIT_ENV`] when set, else each wait's own variable, else its
    /// default. A value that is not a whole number of seconds is an error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, WaitSecondsError> {
        let parse = |name: &'static str| -> Result<Option<u64>, WaitSecondsError> {
            match lookup(name).map(|v| v.trim().to_string()) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(value) => value
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| WaitSecondsError { name, value }),
            }
        };
        if let Some(one) = parse(ONE_WAIT_ENV)? {
            return Ok(Waits::uniform(one));
        }
        let mut waits = Waits::default();
        for (slot, wait) in waits.seconds.iter_mut().zip(Wait::ALL) {
            if let Some(value) = parse(wait.env_name())? {
                *slot = value;
            }
        }
        Ok(waits)
    }

    pub fn seconds(&self, wait: Wait) -> u64 {
        self.seconds[wait as usize]
    }
}

/// A wait's variable holds something other than whole seconds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be a whole number of seconds, not {value:?}")]
pub struct WaitSecondsError {
    pub name: &'static str,
    pub value: String,
}

/// One expected fact of a lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fact {
    /// Its name, as `missing` lists it (the provider's event name where
    /// there is one).
    pub name: &'static str,
    /// How long it may take after the fact before it.
    pub wait: Wait,
    /// What counts as this fact, in words (the docs' table).
    pub counts: &'static str,
}

/// The alert a lifecycle raises when it is flagged incomplete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncompleteAlert {
    CallIncomplete,
    SmsStuck,
}

impl IncompleteAlert {
    pub fn as_str(self) -> &'static str {
        match self {
            IncompleteAlert::CallIncomplete => "call_incomplete",
            IncompleteAlert::SmsStuck => "sms_stuck",
        }
    }
}

/// One expected lifecycle: its facts in order. The first opens it, the
/// last closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    /// Its name in keys and on the summary (`lifecycle`).
    pub name: &'static str,
    pub provider: Provider,
    pub channel: Channel,
    /// Only conversations in this direction have it (`None`: either).
    pub direction: Option<Direction>,
    pub alert: IncompleteAlert,
    pub facts: &'static [Fact],
}

pub const RETELL_CALL: Lifecycle = Lifecycle {
    name: "retell_call",
    provider: Provider::Retell,
    channel: Channel::Call,
    direction: None,
    alert: IncompleteAlert::CallIncomplete,
    facts: &[
        Fact {
            name: "call_inbound",
            wait: Wait::CallStart,
            counts: "the `call_inbound` webhook (inbound calls only; a call without it opens at `call_started`)",
        },
        Fact {
            name: "call_started",
            wait: Wait::CallStart,
            counts: "`call_started`",
        },
        Fact {
            name: "call_ended",
            wait: Wait::CallEnd,
            counts: "`call_ended`",
        },
        Fact {
            name: "call_analyzed",
            wait: Wait::CallAnalysis,
            counts: "`call_analyzed`",
        },
    ],
};

pub const SALPRE_CALL: Lifecycle = Lifecycle {
    name: "salpre_call",
    provider: Provider::Salpre,
    channel: Channel::Call,
    direction: None,
    alert: IncompleteAlert::CallIncomplete,
    facts: &[
        Fact {
            name: "call_initiated",
            wait: Wait::CallEnd,
            counts: "any event of the call (`call_initiated` first, normally)",
        },
        Fact {
            name: "call_ended",
            wait: Wait::CallEnd,
            counts: "`call_ended`",
        },
    ],
};

pub const VOXTELESYS_CALL: Lifecycle = Lifecycle {
    name: "voxtelesys_call",
    provider: Provider::Voxtelesys,
    channel: Channel::Call,
    direction: None,
    alert: IncompleteAlert::CallIncomplete,
    facts: &[
        Fact {
            name: "voice",
            wait: Wait::CallEnd,
            counts: "the `voice` hook",
        },
        Fact {
            name: "status",
            wait: Wait::CallEnd,
            counts: "the `status` hook with a final `CallStatus`: completed, no-answer, busy, failed or canceled",
        },
    ],
};

pub const ZONITEL_SMS_OUTBOUND: Lifecycle = Lifecycle {
    name: "zonitel_sms_outbound",
    provider: Provider::Zonitel,
    channel: Channel::Sms,
    direction: Some(Direction::Outbound),
    alert: IncompleteAlert::SmsStuck,
    facts: &[
        Fact {
            name: "sent",
            wait: Wait::SmsFinalStatus,
            counts: "status `sent`",
        },
        Fact {
            name: "final_status",
            wait: Wait::SmsFinalStatus,
            counts: "status `delivered` or `failed`",
        },
    ],
};

pub const TWILIO_CALL: Lifecycle = Lifecycle {
    name: "twilio_call",
    provider: Provider::Twilio,
    channel: Channel::Call,
    direction: None,
    alert: IncompleteAlert::CallIncomplete,
    facts: &[
        Fact {
            name: "voice",
            wait: Wait::CallEnd,
            counts: "the voice URL (`/twilio/voice`)",
        },
        Fact {
            name: "status",
            wait: Wait::CallEnd,
            counts: "the call status callback with a final `CallStatus`: completed, busy, failed, no-answer or canceled",
        },
    ],
};

pub const TWILIO_SMS_OUTBOUND: Lifecycle = Lifecycle {
    name: "twilio_sms_outbound",
    provider: Provider::Twilio,
    channel: Channel::Sms,
    direction: Some(Direction::Outbound),
    alert: IncompleteAlert::SmsStuck,
    facts: &[
        Fact {
            name: "sent",
            wait: Wait::SmsFinalStatus,
            counts: "`MessageStatus` queued or sent (or accepted, scheduled, sending)",
        },
        Fact {
            name: "final_status",
            wait: Wait::SmsFinalStatus,
            counts: "`MessageStatus` delivered, undelivered, failed, read or canceled",
        },
    ],
};

/// Every expected lifecycle. Zonitel's incoming-call webhook has none: it
/// is the only call event Zonitel sends (no answer, no hangup), so nothing
/// can be missing from it and it is never flagged. Inbound SMS (Zonitel's
/// `received`, Retell's `chat_inbound`) end when they arrive.
pub const LIFECYCLES: [Lifecycle; 6] = [
    RETELL_CALL,
    SALPRE_CALL,
    VOXTELESYS_CALL,
    ZONITEL_SMS_OUTBOUND,
    TWILIO_CALL,
    TWILIO_SMS_OUTBOUND,
];

/// Summary attributes the lifecycles own.
pub const LIFECYCLE_ATTR: &str = "lifecycle";
/// When the sweeper first flagged it incomplete (set once).
pub const INCOMPLETE_AT: &str = "incomplete_at";
/// When the wait it was flagged for ran out (set once).
pub const INCOMPLETE_DUE_AT: &str = "incomplete_due_at";
/// The facts it lacked when last flagged (a list of names).
pub const MISSING: &str = "missing";
/// When the closing fact arrived (set once).
pub const CLOSED_AT: &str = "lifecycle_closed_at";

/// The summary attribute of a fact's moment (when we received it).
pub fn seen_attribute(fact: &str) -> String {
    format!("seen_{fact}_at")
}

/// The index partition of lifecycles waiting for `fact`.
pub fn open_pk(lifecycle: &Lifecycle, fact: &str) -> String {
    keys::open_lifecycle_pk(lifecycle.name, fact)
}

/// The index partition of flagged lifecycles of one provider.
pub fn incomplete_pk(provider: Provider) -> String {
    keys::incomplete_lifecycle_pk(provider)
}

/// The index sort key: when the wait began (or the flag was raised), then
/// the summary's partition, so two conversations never share one.
pub fn index_sk(moment_key: &str, pk: &str) -> String {
    keys::lifecycle_sk(moment_key, pk)
}

impl Lifecycle {
    pub fn by_name(name: &str) -> Option<&'static Lifecycle> {
        LIFECYCLES.iter().find(|l| l.name == name)
    }

    /// The lifecycle a conversation has, if any.
    pub fn of(
        provider: Provider,
        channel: Channel,
        direction: Option<Direction>,
    ) -> Option<&'static Lifecycle> {
        LIFECYCLES.iter().find(|l| {
            l.provider == provider
                && l.channel == channel
                && l.direction.is_none_or(|d| Some(d) == direction)
        })
    }

    fn position(&self, fact: &str) -> Option<usize> {
        self.facts.iter().position(|f| f.name == fact)
    }

    /// The facts after the first (those the sweeper waits for).
    pub fn expected(&self) -> &'static [Fact] {
        &self.facts[1..]
    }
}

/// Notes on a summary update that `fact` of `lifecycle` was received at
/// `received`: its moment (set once), and the sparse key of what comes
/// next, or, for the closing fact, the key removed and the closing moment.
/// A fact the lifecycle does not list notes nothing.
pub fn note(summary: &mut SummaryUpdate, lifecycle: &Lifecycle, fact: &str, received: Timestamp) {
    let Some(position) = lifecycle.position(fact) else {
        return;
    };
    let at = time::to_key(received);
    summary
        .set_once(LIFECYCLE_ATTR, s(lifecycle.name))
        .set_once(&seen_attribute(fact), s(&at));
    match lifecycle.facts.get(position + 1) {
        Some(next) => {
            let sk = index_sk(&at, &summary.pk);
            summary
                .set(keys::GSI4PK, s(open_pk(lifecycle, next.name)))
                .set(keys::GSI4SK, s(sk));
        }
        None => {
            summary
                .remove(keys::GSI4PK)
                .remove(keys::GSI4SK)
                .set_once(CLOSED_AT, s(&at));
        }
    }
}

/// The fact of [`VOXTELESYS_CALL`] a callback is: the `voice` hook, or a
/// `status` hook with a final `CallStatus`.
pub fn voxtelesys_fact(hook: &str, call_status: Option<&str>) -> Option<&'static str> {
    let status = call_status.unwrap_or("").trim().to_ascii_lowercase();
    match hook {
        "voice" => Some("voice"),
        "status"
            if matches!(
                status.as_str(),
                "completed" | "no-answer" | "busy" | "failed" | "canceled" | "cancelled"
            ) =>
        {
            Some("status")
        }
        _ => None,
    }
}

/// The fact of [`ZONITEL_SMS_OUTBOUND`] an outbound message's status is.
pub fn zonitel_sms_fact(status: SmsStatus) -> Option<&'static str> {
    match status {
        SmsStatus::Sent => Some("sent"),
        SmsStatus::Delivered | SmsStatus::Failed => Some("final_status"),
        SmsStatus::Received => None,
    }
}

/// The fact of [`TWILIO_CALL`] a Twilio call request is: the voice URL, or
/// a call status callback with a final `CallStatus`.
pub fn twilio_call_fact(hook: &str, call_status: Option<&str>) -> Option<&'static str> {
    let status = call_status.unwrap_or("").trim().to_ascii_lowercase();
    match hook {
        "voice" => Some("voice"),
        "call-status"
            if matches!(
                status.as_str(),
                "completed" | "busy" | "failed" | "no-answer" | "canceled"
            ) =>
        {
            Some("status")
        }
        _ => None,
    }
}

/// The fact of [`TWILIO_SMS_OUTBOUND`] an outbound message's
/// `MessageStatus` is. Canceled ends a scheduled message as surely as a
/// delivery receipt ends a sent one, so it closes too.
pub fn twilio_sms_fact(message_status: &str) -> Option<&'static str> {
    match message_status.trim().to_ascii_lowercase().as_str() {
        "queued" | "accepted" | "scheduled" | "sending" | "sent" => Some("sent"),
        "delivered" | "undelivered" | "failed" | "read" | "canceled" => Some("final_status"),
        _ => None,
    }
}

/// Where a lifecycle stands, from the moments of the facts its summary has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Its closing fact came.
    Closed,
    /// Waiting for `facts[expected]` since the fact before it, at `since`.
    Waiting { expected: usize, since: Timestamp },
    /// No fact of it yet.
    NotOpened,
}

/// The standing of `lifecycle` given each fact's moment (`seen(name)`): the
/// furthest fact seen decides, since each fact implies the ones before.
pub fn standing(lifecycle: &Lifecycle, seen: impl Fn(&str) -> Option<Timestamp>) -> Standing {
    let furthest = lifecycle
        .facts
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, f)| seen(f.name).map(|at| (i, at)));
    match furthest {
        None => Standing::NotOpened,
        Some((i, _)) if i + 1 == lifecycle.facts.len() => Standing::Closed,
        Some((i, at)) => Standing::Waiting {
            expected: i + 1,
            since: at,
        },
    }
}

/// When the wait for `facts[expected]` runs out.
pub fn due_at(
    lifecycle: &Lifecycle,
    expected: usize,
    since: Timestamp,
    waits: &Waits,
) -> Timestamp {
    let seconds = waits.seconds(lifecycle.facts[expected].wait);
    since
        .checked_add(jiff::SignedDuration::from_secs(
            i64::try_from(seconds).unwrap_or(i64::MAX / 1000),
        ))
        .unwrap_or(Timestamp::MAX)
}

/// The moment before which a wait for `fact` that began has run out, at `now`.
pub fn overdue_before(
    lifecycle: &Lifecycle,
    fact: usize,
    now: Timestamp,
    waits: &Waits,
) -> Timestamp {
    let seconds = waits.seconds(lifecycle.facts[fact].wait);
    now.checked_sub(jiff::SignedDuration::from_secs(
        i64::try_from(seconds).unwrap_or(i64::MAX / 1000),
    ))
    .unwrap_or(Timestamp::MIN)
}

/// What is missing when waiting for `facts[expected]`: it and every fact
/// after it.
pub fn missing(lifecycle: &Lifecycle, expected: usize) -> Vec<&'static str> {
    lifecycle.facts[expected..].iter().map(|f| f.name).collect()
}

/// How a conversation ended, by the one rule of `docs/lifecycles.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A provider reported an error or a failed call (or SMS).
    Failed,
    /// An inbound call nobody answered (or that reached nobody).
    Missed,
    /// Flagged by the sweeper, and its closing fact has not come.
    Incomplete,
    /// Somebody answered.
    Answered,
    /// Ended without a provider saying it was answered or not (an outbound
    /// call nobody picked up, a transcript that could not be judged).
    Ended,
    /// An SMS the carrier delivered.
    Delivered,
    /// Nothing final yet, and not overdue (or, for a conversation without
    /// a lifecycle, nothing more will come).
    Open,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Failed => "failed",
            Verdict::Missed => "missed",
            Verdict::Incomplete => "incomplete",
            Verdict::Answered => "answered",
            Verdict::Ended => "ended",
            Verdict::Delivered => "delivered",
            Verdict::Open => "open",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The terminal facts a summary holds, as its attributes name them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TerminalFacts {
    pub channel: Option<Channel>,
    pub direction: Option<Direction>,
    pub answered_at: Option<String>,
    pub unanswered_at: Option<String>,
    pub ended_at: Option<String>,
    pub failed_at: Option<String>,
    pub missed_at: Option<String>,
    pub delivered_at: Option<String>,
    pub incomplete_at: Option<String>,
    pub closed_at: Option<String>,
}

/// The terminal facts of a stored summary.
pub fn terminal_facts(summary: &Item) -> TerminalFacts {
    let get = |name: &str| text(summary, name).map(str::to_string);
    TerminalFacts {
        channel: match text(summary, keys::ITEM_TYPE) {
            Some("call") => Some(Channel::Call),
            Some("sms") => Some(Channel::Sms),
            _ => None,
        },
        direction: match text(summary, "direction") {
            Some("inbound") => Some(Direction::Inbound),
            Some("outbound") => Some(Direction::Outbound),
            _ => None,
        },
        answered_at: get("answered_at"),
        unanswered_at: get("unanswered_at"),
        ended_at: get("ended_at"),
        failed_at: get("failed_at"),
        missed_at: get("missed_at"),
        delivered_at: get("delivered_at"),
        incomplete_at: get(INCOMPLETE_AT),
        closed_at: get(CLOSED_AT),
    }
}

/// The verdict, in this order (the first that holds): failed; missed
/// (inbound, and reported unanswered and never answered, or reported as
/// reaching nobody); incomplete (flagged, not closed since); answered;
/// delivered; ended; open. The alerts follow the same order: one incident
/// per conversation, the first it became.
pub fn verdict(facts: &TerminalFacts) -> Verdict {
    let inbound = facts.direction == Some(Direction::Inbound);
    if facts.channel == Some(Channel::Sms) {
        // Delivered and failed are both final: the first reported stays.
        return match (&facts.delivered_at, &facts.failed_at) {
            (Some(d), Some(f)) if d <= f => Verdict::Delivered,
            (_, Some(_)) => Verdict::Failed,
            (Some(_), None) => Verdict::Delivered,
            _ if facts.incomplete_at.is_some() && facts.closed_at.is_none() => Verdict::Incomplete,
            _ => Verdict::Open,
        };
    }
    if facts.failed_at.is_some() {
        Verdict::Failed
    } else if inbound
        && ((facts.unanswered_at.is_some() && facts.answered_at.is_none())
            || facts.missed_at.is_some())
    {
        Verdict::Missed
    } else if facts.incomplete_at.is_some() && facts.closed_at.is_none() {
        Verdict::Incomplete
    } else if facts.answered_at.is_some() {
        Verdict::Answered
    } else if facts.ended_at.is_some() || facts.unanswered_at.is_some() {
        Verdict::Ended
    } else {
        Verdict::Open
    }
}

/// How late the closing fact came after the wait it was flagged for ran
/// out (`None` unless it was flagged and then closed).
pub fn closed_late_by(incomplete_due_at: &str, closed_at: &str) -> Option<jiff::SignedDuration> {
    let due: Timestamp = incomplete_due_at.parse().ok()?;
    let closed: Timestamp = closed_at.parse().ok()?;
    Some(closed.duration_since(due))
}

#[cfg(test)]
mod tests;
