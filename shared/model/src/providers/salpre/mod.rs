//! Salpre: the Custom Webhook.
//!
//! Every delivery is `{event_type, timestamp_utc, payload, is_test}`. Two
//! payload shapes are documented:
//!
//! * lifecycle events (`call_initiated`, `call_ringing`, `call_answered`,
//!   `call_ended`) carry `payload.call_id` with flat `from`, `to`,
//!   `direction`, `source`; `call_ended` adds the whole conversation in
//!   `payload.transcript` (a list of `{type, message, utc_timestamp}` turns);
//! * `transcript` (one live line) and `error` carry `payload.call.{id, from,
//!   to, source, direction}`.
//!
//! Reading is tolerant ([`wire`]): either shape is looked for in any event,
//! ids may be numbers or strings, `timestamp_utc` an integer, a float, a
//! string or missing (the received time stands in), `is_test` a boolean, a
//! string or 0/1; a field that cannot be read is left out and named in the
//! event's `anomalies`. Only a body that is not a JSON object, or has no
//! usable `event_type`, is refused (`Err`: the pipeline keeps it as an
//! unrecognized delivery).
//!
//! Mapping ([`map`]; all into the call `CALL#salpre#<call_id>`):
//!
//! * `occurred_at` is `timestamp_utc`; the phase it marks is set once on the
//!   summary (`initiated_at`, `ringing_at`, `answered_at`, `ended_at`;
//!   `failed_at` and `error_message` for `error`), so the derived status only
//!   moves forward whatever the arrival order.
//! * Delivery keys (what makes a retry collide and two different events
//!   not): a lifecycle event happens once per call, so its type is enough
//!   (`1`); an `error` adds a short hash of its message; a live `transcript`
//!   line its own timestamp plus a hash of speaker and text; an unknown
//!   event a hash of the whole body. When the time is the received time (no
//!   usable `timestamp_utc`), a retry would land at a new time: a guard item
//!   keyed by a digest of the body makes it collide instead.
//! * `call_ended` without any `customer` turn in its final transcript sets
//!   `unanswered_at` (the derived `is_missed` keeps only inbound calls that
//!   were never answered).
//! * The final transcript is not copied: it is read back, exactly as sent,
//!   from the raw body kept on the `call_ended` event (split across part
//!   items above 300 kB), by [`crate::store::Store::final_transcript`].
//! * An `error` without any call (a configuration error) is its own call,
//!   `CALL#salpre#error-<digest of the body>`, marked failed with its
//!   message: it raises one `call_error` alert like any failed call, and a
//!   retry (the same body) writes nothing.
//! * Any other event without a call id (an event type added later, a
//!   lifecycle event missing its id) is kept raw in the provider's
//!   partition `UNMATCHED#salpre` ([`crate::store::keys::unmatched_events_pk`]).

mod map;
mod transcript;
mod wire;

#[cfg(test)]
mod tests;

pub use map::{map_delivery, read, Mapped};
pub use transcript::{live_transcript, FinalTurn, LiveLine};
pub use wire::{parse_delivery, phone_number};

use crate::event::Direction;
use crate::phone::PhoneNumber;
use crate::time::Timestamp;

/// Where the final transcript sits in a `call_ended` body (a JSON pointer,
/// stored on the event item so the reader needs no Salpre knowledge).
pub const TRANSCRIPT_POINTER: &str = "/payload/transcript";
pub use crate::store::plan::TRANSCRIPT_POINTER_ATTR;

/// Ids and event types go into keys; no real one is anywhere near this.
pub const MAX_CALL_ID_CHARS: usize = 128;
pub const MAX_EVENT_TYPE_CHARS: usize = 64;
/// `timestamp_utc` before this (2020-01-01) is no Salpre event: a zero, a
/// small count, or a unit mix-up. Salpre's own samples date from 2025.
pub const EARLIEST_TIMESTAMP_UTC: i64 = 1_577_836_800;
/// How far after our own clock `timestamp_utc` may be (clock skew): a day.
/// Later than that is not a real event and would sort after every real one.
pub const MAX_FUTURE_SKEW_S: i64 = 86_400;
/// `source`, speaker `type`: short labels (`salprebox:SALPRE_AABBCCDD`).
pub const MAX_LABEL_CHARS: usize = 256;
/// Text copied into an attribute (live line text, error message) beside the
/// raw body: above this it stays only in the raw body.
pub const MAX_TEXT_ATTRIBUTE_BYTES: usize = crate::store::plan::MAX_ATTRIBUTE_BYTES;
/// The call id given to an `error` that names no call: this prefix and a
/// digest of the body.
pub const ERROR_WITHOUT_CALL_PREFIX: &str = "error-";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Initiated,
    Ringing,
    Answered,
}

impl Phase {
    fn attribute(self) -> &'static str {
        match self {
            Phase::Initiated => "initiated_at",
            Phase::Ringing => "ringing_at",
            Phase::Answered => "answered_at",
        }
    }
}

/// What a delivery says beyond its call, by event type.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Lifecycle(Phase),
    CallEnded {
        /// The turns, when `payload.transcript` is a list (missing or null:
        /// `Some(vec![])` is not assumed; it is `None`).
        turns: Option<Vec<FinalTurn>>,
        /// Whether the transcript could be judged at all: false when it is
        /// not a list or holds something other than turns.
        readable: bool,
    },
    Transcript {
        speaker: Option<String>,
        /// `None` when the line had no text to read (named an anomaly).
        text: Option<String>,
        /// The line's own time (`"111111"` in Salpre's example: a string).
        line_time: Option<String>,
    },
    Error {
        message: Option<String>,
    },
    /// An event type Salpre added after this was written: kept raw.
    Unknown,
}

/// The call a delivery belongs to, as read.
#[derive(Clone, Debug, PartialEq)]
pub struct CallInfo {
    pub call_id: String,
    pub from: Option<PhoneNumber>,
    pub to: Option<PhoneNumber>,
    pub direction: Option<Direction>,
    pub source: Option<String>,
    /// `from`/`to` as sent when they could not be read as numbers.
    pub from_text: Option<String>,
    pub to_text: Option<String>,
}

/// One delivery, read.
#[derive(Clone, Debug, PartialEq)]
pub struct SalpreDelivery {
    pub event_type: String,
    /// `None`: missing or unreadable; the received time stands in.
    pub occurred_at: Option<Timestamp>,
    pub is_test: bool,
    /// `None`: no call id anywhere in the payload.
    pub call: Option<CallInfo>,
    pub payload: Payload,
    /// What was read around (see [`crate::event::Event::anomalies`]).
    pub anomalies: Vec<String>,
}

impl SalpreDelivery {
    pub fn is_known(&self) -> bool {
        !matches!(self.payload, Payload::Unknown)
    }
}

/// The route's [`crate::providers::Reader`]: one custom-webhook delivery.
pub fn read_payload(
    payload: &crate::providers::Payload,
    retention_days: u32,
) -> Result<crate::providers::Reading, crate::providers::ReadError> {
    let (body, anomaly) = crate::providers::json_body(payload)?;
    let parsed = parse_delivery(&body)?;
    let mapped = map_delivery(
        &parsed,
        crate::providers::raw_text(payload)?,
        payload.received_at,
        retention_days,
    )?;
    let mut answer = serde_json::json!({"event_type": parsed.event_type});
    if let Some(call) = &mapped.call {
        answer["call_id"] = serde_json::json!(call.call_id);
    }
    Ok(crate::providers::Reading {
        event: mapped.event,
        plan: mapped.plan,
        answer,
    }
    .with_anomaly(anomaly))
}
