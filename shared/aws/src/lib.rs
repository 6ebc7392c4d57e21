//! The callhooks pipeline: the crate that talks to AWS. Every webhook runs
//! the same way: [`ingest::edge`] authenticates the request and turns it
//! into a plain delivery, the route's provider (in the model crate,
//! `callhooks_model`) reads it into events and a write plan, [`store`]
//! writes the plan idempotently (or [`ingest::spill`] queues the delivery
//! when the table cannot take it), and the edge answers. [`alerts`] turns
//! the table's stream into SNS messages.
//!
//! The model's modules are re-exported here under their own names, so a
//! function names one crate for both.

pub use callhooks_model::{
    attribute, auth, call_answer, config, config_cache, deadline, event, fail_closed, lifecycle,
    phone, providers, route_table, schedule, signature, time, twiml, voxml,
};

pub mod alerts;
pub mod daily_counts;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod routes;
pub mod runtime;
pub mod store;
pub mod sweep;
pub mod webhook;
