//! One module per provider: its wire types as the provider documents them,
//! and their mapping to the normalized model. The contract is one function
//! per route, a [`Reader`]: a plain [`Payload`] (body bytes, content type,
//! query without the credential, arrival time) and the retention in, a
//! [`Reading`] (the normalized event, what it writes as a `WritePlan` built
//! with `store::plan`'s constructors, and what the JSON answer says) out, or
//! a [`ReadError`]. The route table (`crate::route_table`) names each
//! route's reader. A provider names no HTTP, VoXML, pipeline or SDK type: the
//! model crate has none to name. Each provider's protocol and our answers:
//! `docs/providers/<name>.md`.

pub mod form;
pub mod retell;
pub mod salpre;
pub mod twilio;
pub mod voxtelesys;
pub mod zonitel;
pub mod zonitel_sms;

mod read_error;

mod payload;

pub use payload::{json_body, raw_text, Payload, Reader, Reading};
#[cfg(test)]
pub(crate) use read_error::parse_json_checked;
pub use read_error::{parse_json, ReadError};
