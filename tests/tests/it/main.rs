//! The integration tests of every function, the template and the harness,
//! as one test binary: one build and link instead of one per file, and one
//! moto server for the whole process (`callhooks_tests::moto_endpoint`).
//! Each test makes its own table, topic and queues (`TestStack::new`), so
//! the tests share nothing and run in parallel threads. A test's full name
//! is its module and function: `cargo test -p callhooks-tests --test it
//! zonitel_call::` runs one module's tests.
//!
//! The outage tests are a binary of their own (`tests/tests/outages.rs`):
//! they hold moto to the functions' real deadlines, so they get a moto
//! that no other test loads.

mod alerts;
mod auth_everywhere;
mod docs_stack;
mod documents;
mod hostile_input;
mod lifecycles;
mod operations;
mod reproducible;
mod retell_events;
mod retell_inbound;
mod retention;
mod route_table;
mod salpre_events;
mod sam_local;
mod sizes_and_encodings;
mod spill_integrity;
mod template_production;
mod template_security;
mod twilio;
mod units;
mod voxtelesys_voice;
mod zonitel_call;
mod zonitel_sms;
