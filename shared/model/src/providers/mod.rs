//! One module per provider: its wire types as the provider documents them,
//! and their mapping to the normalized model. Pure: plain bytes or
//! parameters and a time in, the normalized event(s) and what they write (a
//! `WritePlan`, built with `store::plan`'s constructors) out, or a
//! [`ReadError`]. A provider names no HTTP, VoXML, pipeline or SDK type: the
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

#[cfg(test)]
pub(crate) use read_error::parse_json_checked;
pub use read_error::{parse_json, ReadError};
