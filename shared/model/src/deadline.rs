//! How long a function may spend on storage before it answers, as plain
//! durations: the route table names each route's, and the AWS crate turns
//! one into the SDK's timeouts and retries.

use std::time::Duration;

/// How long a function may spend on storage before it must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The whole budget for storage in one invocation; past it the handler
    /// answers 503 (or its degraded answer) so the provider can retry.
    pub total: Duration,
    /// One HTTP attempt to DynamoDB.
    pub attempt: Duration,
    pub connect: Duration,
    pub max_attempts: u32,
}

impl Deadline {
    /// Zonitel and Salpre want a 200 within 5 s: the table gets 2.6 s at
    /// most (up to three attempts of up to 1 s each, with backoff), then the
    /// spillway up to [`Deadline::SPILL`]'s 1.2 s, leaving room for a cold
    /// start and the answer.
    pub const FIVE_SECOND_PROVIDER: Deadline = Deadline {
        total: Duration::from_millis(2600),
        attempt: Duration::from_millis(1000),
        connect: Duration::from_millis(500),
        max_attempts: 3,
    };

    /// Retell waits up to 10 s for its inbound-call answer while the caller
    /// hears ringing, and a late answer is retried (more ringing). Lookups
    /// and the recording run concurrently and get 2 s in all (two attempts
    /// of up to 1 s); past that the handler answers with what it knows.
    pub const CALLER_WAITING: Deadline = Deadline {
        total: Duration::from_millis(2000),
        attempt: Duration::from_millis(1000),
        connect: Duration::from_millis(300),
        max_attempts: 2,
    };

    /// Retell's call events: Retell waits 10 s for a 2xx and retries, and no
    /// caller is waiting on them. The join and the write get 6 s in all
    /// (attempts of up to 2 s), then the spillway its 1.2 s.
    pub const CALL_EVENTS: Deadline = Deadline {
        total: Duration::from_millis(6000),
        attempt: Duration::from_millis(2000),
        connect: Duration::from_millis(500),
        max_attempts: 3,
    };

    /// The alerts function answers no provider: it may wait longer for
    /// SNS, but never so long that one slow publish holds its shard. A
    /// publish that still fails is that record's batch item failure, and
    /// Lambda retries it. (The label lookup gets [`Deadline::BEST_EFFORT_READ`].)
    pub const ALERTS: Deadline = Deadline {
        total: Duration::from_secs(10),
        attempt: Duration::from_secs(3),
        connect: Duration::from_secs(1),
        max_attempts: 3,
    };

    /// Sending a delivery to the spillway queue after the table failed:
    /// what is left of a five-second provider's budget.
    pub const SPILL: Deadline = Deadline {
        total: Duration::from_millis(1200),
        attempt: Duration::from_millis(550),
        connect: Duration::from_millis(250),
        max_attempts: 2,
    };

    /// A read whose answer is nice to have and never waited for long: one
    /// attempt, half a second.
    pub const BEST_EFFORT_READ: Deadline = Deadline {
        total: Duration::from_millis(500),
        attempt: Duration::from_millis(500),
        connect: Duration::from_millis(250),
        max_attempts: 1,
    };
}
