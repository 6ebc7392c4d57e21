//! Retell's two webhooks in one small binary:
//!
//! * `POST /retell/inbound`: authenticate, read, then look up, record and
//!   answer at once. A caller hears ringing (or a texter waits) until this
//!   answers, so every storage step has the same short budget and the
//!   answer is built from whatever arrived in time: never an error once the
//!   request is authenticated and readable.
//! * `POST /retell/events`: Retell's call events, recorded once each and
//!   joined to the inbound record of the same call.
//!
//! The logic is in `crate::providers::retell`; the user documentation
//! in `docs/providers/retell.md`.

use crate::auth::Credential;
use crate::config::AgentChoice;
use crate::config_cache::NumberConfigCache;
use crate::http::{json_response, respond, ApiError};
use crate::ingest::edge::{self, Credentials};
use crate::ingest::{
    self, call_events, call_events::CallEventError, call_events::JoinPatience, Delivery, Route,
};
use crate::phone::{mask, redact};
use crate::providers::retell::{self, ConfigLookup, SignedDelivery};
use crate::runtime::Deadline;
use crate::signature::SigningKey;
use crate::store::{Store, StoreError, WriteOutcome};
use crate::time::Timestamp;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::time::{Duration, Instant};

/// The path of the call-events route; every other path is the inbound one.
pub const EVENTS_PATH: &str = "/retell/events";

/// Built once per cold start and shared by every invocation.
pub struct RetellDeps {
    /// For the inbound route: its SDK client gives up within `deadline`.
    pub store: Store,
    /// For call events, which Retell waits longer for: a client with
    /// `events_deadline`'s more patient timeouts (same table, same spillway).
    pub events_store: Store,
    /// `RETELL_API_KEY`; unset or empty turns the signature check off.
    pub key: SigningKey,
    pub retention_days: u32,
    /// `deadline.total` bounds each lookup and the recording (run together).
    pub deadline: Deadline,
    /// `events_deadline.total` bounds a call event's join and write.
    pub events_deadline: Deadline,
    /// Number configurations read lately (`NUMBER_CONFIG_CACHE_SECONDS`).
    pub config_cache: NumberConfigCache,
}

/// What the operator chose beyond the clients (environment, once).
#[derive(Clone, Debug)]
pub struct Options {
    /// `RETELL_FALLBACK_AGENT_ID` (template `FallbackAgentId`): the agent
    /// named when a number's configuration cannot be read in time.
    pub fallback_call_agent: Option<AgentChoice>,
    /// `RETELL_FALLBACK_CHAT_AGENT_ID` (`FallbackChatAgentId`), for chats.
    pub fallback_chat_agent: Option<AgentChoice>,
    /// How long a call event waits for its inbound record.
    pub join: JoinPatience,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fallback_call_agent: None,
            fallback_chat_agent: None,
            join: JoinPatience::WEBHOOK,
        }
    }
}

impl Options {
    pub fn from_env() -> Self {
        let agent = |name: &str| {
            std::env::var(name)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .map(|agent_id| AgentChoice {
                    agent_id,
                    ..Default::default()
                })
        };
        Options {
            fallback_call_agent: agent("RETELL_FALLBACK_AGENT_ID"),
            fallback_chat_agent: agent("RETELL_FALLBACK_CHAT_AGENT_ID"),
            ..Default::default()
        }
    }
}

pub async fn handle(deps: &RetellDeps, req: Request, now: Timestamp) -> Response<Body> {
    handle_with(deps, &Options::default(), req, now).await
}

pub async fn handle_with(
    deps: &RetellDeps,
    options: &Options,
    req: Request,
    now: Timestamp,
) -> Response<Body> {
    if req
        .uri()
        .path()
        .trim_end_matches('/')
        .ends_with(EVENTS_PATH)
    {
        respond(handle_event(deps, options, &req, now).await)
    } else {
        respond(handle_inbound(deps, options, &req, now).await)
    }
}

/// The delivery once the signature (over the raw bytes, before anything
/// reads them), the method and the size are checked, through the same edge
/// as every route; and, for a signed request, what names its signature.
fn accept(
    deps: &RetellDeps,
    req: &Request,
    route: Route,
    now: Timestamp,
) -> Result<(Delivery, Option<SignedDelivery>), ApiError> {
    let (delivery, credential) =
        edge::accept(req, route, Credentials::RetellSignature(&deps.key), now)?;
    // No Content-Type check: the body is read by what it is (senders
    // mislabel), and what cannot be read is kept, not refused.
    let signed = match credential {
        Credential::Signed {
            signed_ms,
            digest_hex,
        } => Some(SignedDelivery {
            signed_ms,
            digest_hex,
        }),
        _ => None,
    };
    Ok((delivery, signed))
}

async fn handle_inbound(
    deps: &RetellDeps,
    options: &Options,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (delivery, signed) = accept(deps, req, Route::RetellInbound, now)?;
    let body = delivery.body.as_slice();
    let request = match retell::parse_inbound(body) {
        Ok(request) => request,
        // Kept raw, never refused: Retell proved who it is. An empty answer
        // overrides nothing (the number's own agent takes the call).
        Err(error) => {
            return keep_unreadable(
                deps,
                &deps.store,
                deps.deadline.total,
                &delivery,
                error.into(),
                started,
            )
            .await
        }
    };
    let raw = match std::str::from_utf8(body) {
        Ok(raw) => raw,
        Err(error) => {
            let unreadable = ingest::read::Unreadable {
                reason: format!("body is not UTF-8 text ({error})"),
            };
            let budget = deps.deadline.total;
            return keep_unreadable(deps, &deps.store, budget, &delivery, unreadable, started)
                .await;
        }
    };
    let event = retell::inbound_event(&request, raw, now);
    let plan = retell::inbound_plan(&event, &request, deps.retention_days, signed.as_ref());
    let plan = ingest::keep::name_decoding(&delivery, &plan);
    // The answer is decided as of the signed moment: a replay of the same
    // signed bytes minutes later gets the answer the original got.
    let decided_at = signed
        .as_ref()
        .and_then(|s| Timestamp::from_millisecond(s.signed_ms).ok())
        .unwrap_or(now);

    let budget = deps.deadline.total;
    let store = &deps.store;
    // The number's configuration (from memory when read lately), the
    // caller's contact and calls (one Query) and the write, all at once,
    // each cut off at the budget.
    let (config, caller, recorded) = tokio::join!(
        async {
            match &request.to {
                Some(to) => {
                    within(
                        budget,
                        "configuration",
                        store.number_config_cached(&deps.config_cache, to),
                    )
                    .await
                }
                None => Some(None),
            }
        },
        async {
            match &request.from {
                Some(from) => {
                    within(
                        budget,
                        "caller",
                        store.caller_contact_and_calls(from, retell::HISTORY_LIMIT),
                    )
                    .await
                }
                None => None,
            }
        },
        within(budget, "recording", store.write(&plan)),
    );
    let lookup = match &config {
        Some(Some(config)) => ConfigLookup::Found(config),
        Some(None) => ConfigLookup::Absent,
        None => ConfigLookup::Unavailable,
    };
    let (contact, history) = match caller {
        Some(records) => (
            records.contact,
            Some(retell::caller_history(
                &records.calls,
                records.more,
                request.to.as_ref(),
                decided_at,
            )),
        ),
        None => (None, None),
    };
    let fallback = match request.kind {
        retell::InboundKind::Call => options.fallback_call_agent.as_ref(),
        retell::InboundKind::Chat => options.fallback_chat_agent.as_ref(),
    };
    // The same signed bytes again (the signature's digest already kept):
    // a replay, not Retell's retry (which is signed afresh). It gets the
    // bare answer: nothing about the caller goes to whoever replayed it.
    let replayed = match (&recorded, &signed) {
        (Some(WriteOutcome::Duplicate), Some(signed)) => {
            let (pk, sk) = retell::inbound::replay_guard_key(signed);
            // Unknown (the read failed): answered bare, the safe side.
            within(budget, "replay", store.item_exists(&pk, sk))
                .await
                .unwrap_or(true)
        }
        _ => false,
    };
    let (contact, history) = if replayed {
        (None, None)
    } else {
        (contact, history)
    };
    let decision = retell::decide(
        &request,
        lookup,
        contact.as_ref(),
        history.as_ref(),
        fallback,
        decided_at,
    );
    if let Some(outcome) = recorded {
        crate::metrics::note(outcome.into());
    }
    match (recorded, decision.rejected_by) {
        (None, _) => {
            // Not written in time: the spillway keeps it; the caller still
            // gets the answer.
            let _ = ingest::keep::spill(&deps.store, &delivery, "not written in time").await;
        }
        (Some(_), Some(rule)) => {
            let remaining = budget.saturating_sub(started.elapsed());
            let update = retell::rejection_update(&event, rule);
            within(remaining, "rejection", store.write(&update)).await;
        }
        (Some(_), None) => {}
    }

    tracing::info!(
        provider = "retell",
        kind = %event.kind,
        id = %redact(&event.provider_id, &[event.from.as_ref(), event.to.as_ref()]),
        from = %mask(event.from.as_ref()),
        to = %mask(event.to.as_ref()),
        outcome = match recorded {
            Some(WriteOutcome::Recorded) => "recorded",
            Some(WriteOutcome::Duplicate) => "duplicate",
            None => "not_recorded",
        },
        agent = decision.answer.body().override_agent_id.as_deref().unwrap_or(""),
        agent_source = decision.agent_source,
        rejected_by = decision.rejected_by.unwrap_or(""),
        configured = matches!(lookup, ConfigLookup::Found(_)),
        known_contact = contact.is_some(),
        history = history.is_some(),
        anomalies = event.anomalies.len(),
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
    Ok(json_response(StatusCode::OK, &decision.answer))
}

/// An inbound delivery no reader understands: kept as an unrecognized
/// delivery (table, else spillway) and answered with an empty object; a 503
/// only when neither kept it.
async fn keep_unreadable(
    deps: &RetellDeps,
    store: &Store,
    budget: Duration,
    delivery: &ingest::Delivery,
    unreadable: ingest::read::Unreadable,
    started: Instant,
) -> Result<Response<Body>, ApiError> {
    let kept = ingest::keep::keep(
        store,
        delivery,
        Err(&unreadable),
        deps.retention_days,
        budget,
    )
    .await;
    ingest::edge::log_delivery(
        delivery,
        None,
        kept.as_ref().map(|o| *o).map_err(|e| e.0.as_str()),
        started,
    );
    kept.map_err(|_| ApiError::storage_unavailable())?;
    Ok(json_response(StatusCode::OK, &serde_json::json!({})))
}

async fn handle_event(
    deps: &RetellDeps,
    options: &Options,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (delivery, _) = accept(deps, req, Route::RetellEvents, now)?;
    let store = &deps.events_store;
    let budget = deps.events_deadline.total;
    let planned = tokio::time::timeout(
        budget,
        call_events::plan_call_event(store, &delivery, deps.retention_days, options.join),
    )
    .await
    .unwrap_or_else(|_| {
        Err(CallEventError::Storage(StoreError(format!(
            "join deadline of {} ms passed",
            budget.as_millis()
        ))))
    });
    let planned = match planned {
        Ok(planned) => planned,
        Err(CallEventError::Unreadable(unreadable)) => {
            return keep_unreadable(deps, store, budget, &delivery, unreadable, started).await;
        }
        // The join could not be read: the spillway joins it later, rather
        // than the event being split from its call now.
        Err(CallEventError::Storage(error)) => {
            ingest::keep::spill(store, &delivery, &error.to_string())
                .await
                .map_err(|_| ApiError::storage_unavailable())?;
            return Ok(event_answer(ingest::Outcome::Spilled));
        }
    };
    let left = budget.saturating_sub(started.elapsed());
    let kept = ingest::keep::keep(
        store,
        &delivery,
        Ok(&planned.plan),
        deps.retention_days,
        left.max(MIN_EVENT_WRITE_BUDGET),
    )
    .await;
    tracing::info!(
        provider = "retell",
        kind = %planned.kind,
        joined = planned.joined,
        outcome = kept.as_ref().map_or("not_kept", |o| o.as_str()),
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
    let outcome = kept.map_err(|_| ApiError::storage_unavailable())?;
    crate::metrics::note(outcome.into());
    Ok(event_answer(outcome))
}

/// A call event's write gets at least this long, even after a slow join.
const MIN_EVENT_WRITE_BUDGET: Duration = Duration::from_millis(500);

fn event_answer(outcome: ingest::Outcome) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &serde_json::json!({ "status": outcome.as_str() }),
    )
}

/// The step's result, or `None` (logged) when it failed or took longer
/// than `budget`.
async fn within<T>(
    budget: Duration,
    step: &'static str,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Option<T> {
    match tokio::time::timeout(budget, work).await {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            tracing::error!(step, %error, "storage step failed; answering without it");
            None
        }
        Err(_) => {
            tracing::error!(
                step,
                budget_ms = budget.as_millis() as u64,
                "storage step too late; answering without it"
            );
            None
        }
    }
}
