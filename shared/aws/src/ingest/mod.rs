//! The one pipeline every webhook runs: authenticate, accept, read
//! tolerantly, normalize, plan, write or spill, answer.
//!
//! - [`edge`] is the only part that sees an HTTP request: it refuses what
//!   must be refused (401, 405, 413) and hands on a plain [`Delivery`].
//! - [`read`] asks the route's provider module for the normalized event and
//!   its write plan; what no module can read is [`unrecognized`], kept raw
//!   with the reason, never refused.
//! - [`keep`] writes it within the provider's deadline; when DynamoDB
//!   refuses the item itself it keeps the unrecognized record instead, and
//!   when the table cannot be reached it sends the delivery to the
//!   [`spill`]way queue, from which the `spillway` function writes it later
//!   through the same reader, once.
//!
//! The contract, for every route: an authenticated delivery within the size
//! limit is answered 2xx and kept; 503 only when neither the table nor the
//! queue kept it (see docs/ingest.md).

pub mod call_events;
pub mod drain;
pub mod edge;
pub mod keep;
pub mod spill;
pub mod spill_key;
pub mod spill_message;

pub use callhooks_model::ingest::{decode, delivery, identity, read, unrecognized, Identity};

pub use delivery::{Delivery, Route};
pub use keep::Outcome;
