//! The `callhooks` binary's integration tests as one test binary: one build
//! and link, and one moto server for the whole process
//! (`callhooks_tests::moto_endpoint`). Each test makes its own table, topic
//! and queues (`TestStack::new`), so the tests share nothing and run in
//! parallel threads. `cargo test -p callhooks-cli --test it operating::`
//! runs one module's tests.

mod alerts;
mod cli;
mod lifecycles;
mod operating;
mod ops;
mod pipes_and_profiles;
mod retell_calls;
mod twilio;
