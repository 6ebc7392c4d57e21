//! The callhooks model crate: everything a webhook function does that can be
//! tested without the network lives here as plain functions over plain types.
//!
//! Every webhook reads the same way: [`http`] authenticates and reads the
//! request, a module of [`providers`] parses and normalizes it into an
//! [`event::Event`], [`store`] records it idempotently, and [`http`] answers.

pub mod alerts;
pub mod auth;
pub mod config;
pub mod config_cache;
pub mod daily_counts;
pub mod event;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod phone;
pub mod providers;
pub mod runtime;
pub mod schedule;
pub mod signature;
pub mod store;
pub mod time;
pub mod voxml;
pub mod webhook;

#[cfg(test)]
mod proptests;
