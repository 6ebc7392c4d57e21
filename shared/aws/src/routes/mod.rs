//! What the routes whose answer depends on more than the delivery serve:
//! Retell's inbound and call events (the agent and the caller's context)
//! and the call-control routes of Voxtelesys (VoXML) and Twilio (TwiML),
//! both answering from the number's configuration.
//! Each function's `main.rs` builds the dependencies once and serves one of
//! these; the JSON routes are served by [`crate::ingest::edge::serve_json`].

pub mod retell;
pub mod twilio;
pub mod voxtelesys;
