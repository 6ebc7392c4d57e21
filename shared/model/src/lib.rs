//! The callhooks model: everything a webhook does that can be decided
//! without the network, as plain functions over plain types. Its manifest
//! has no AWS, Lambda or HTTP-framework dependency, so nothing here can
//! reach one: the crate that talks to AWS (`callhooks`, beside it) turns
//! requests into [`ingest::Delivery`] values and [`store::plan::WritePlan`]s
//! into DynamoDB requests.
//!
//! - [`providers`]: one module per provider, reading a delivery into
//!   [`event::Event`]s, a write plan and, for call-control routes, a plain
//!   decision ([`call_answer`]) that [`voxml`] writes for Voxtelesys and
//!   [`twiml`] for Twilio.
//! - [`store`]: the key design, the write plan and its attribute values,
//!   the records reads return, what requests cost.
//! - [`ingest`]: a delivery as plain data, its reading and its
//!   unrecognized record.

pub mod attribute;
pub mod auth;
pub mod call_answer;
pub mod config;
pub mod config_cache;
pub mod deadline;
pub mod event;
pub mod fail_closed;
pub mod ingest;
pub mod lifecycle;
pub mod phone;
pub mod providers;
pub mod route_table;
pub mod schedule;
pub mod signature;
pub mod store;
pub mod time;
pub mod twiml;
pub mod voxml;

#[cfg(test)]
mod proptests;
