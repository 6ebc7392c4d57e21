//! Retell AI: the inbound webhook (calls and SMS chats, answered at once)
//! and the call-events webhook (what became of each call). Both are signed
//! with `x-retell-signature` (see [`crate::signature`]); Retell waits 10 s
//! for a 2xx and retries up to 3 times.
//!
//! * [`inbound`]: `call_inbound` / `chat_inbound` read tolerantly into an
//!   [`inbound::InboundRequest`], the ringing record and its guards.
//! * [`answer`]: the decision (reject rules, agent routing, fallback agent)
//!   and the answer Retell reads, from what the lookups found in time.
//! * [`events`]: `call_started`, `call_ended`, `call_analyzed` and any other
//!   call event, joined to the inbound record of the same call, and the
//!   outcome fields the alert rules read.
//!
//! The user documentation is `docs/providers/retell.md`.

pub mod answer;
pub mod events;
pub mod inbound;

pub use answer::{
    caller_history, choose_agent, decide, plain_name, CallerHistory, ConfigLookup, Decision,
    InboundAnswer, InboundAnswerBody, HISTORY_LIMIT,
};
pub use inbound::{
    inbound_event, inbound_plan, parse_inbound, rejection_update, InboundKind, InboundRequest,
    SignedDelivery, RETRY_WINDOW_MS,
};

/// The names of the dynamic variables this system sets (documented in
/// `docs/providers/retell.md`). A contact record's own variables override
/// them.
pub mod variables {
    pub const CALLER_NUMBER: &str = "caller_number";
    pub const CALLER_NAME: &str = "caller_name";
    pub const PREVIOUS_CALL_COUNT: &str = "previous_call_count";
    pub const LAST_CALL_AT: &str = "last_call_at";
}

/// `/retell/inbound`'s [`crate::providers::Reader`]. The webhook answers
/// from the request itself; this reading is what it writes, and what the
/// spillway writes for a spilled copy (which carries no signature to
/// guard: the retry guard alone recognises the provider's retry of it).
pub fn read_inbound_payload(
    payload: &crate::providers::Payload,
    retention_days: u32,
) -> Result<crate::providers::Reading, crate::providers::ReadError> {
    let (body, anomaly) = crate::providers::json_body(payload)?;
    let request = parse_inbound(&body)?;
    let event = inbound_event(
        &request,
        crate::providers::raw_text(payload)?,
        payload.received_at,
    );
    let plan = inbound_plan(&event, &request, retention_days, None);
    Ok(crate::providers::Reading {
        event,
        plan,
        answer: serde_json::Value::Null,
    }
    .with_anomaly(anomaly))
}
