//! POST /retell/inbound: authenticate, parse, then look up, record and
//! answer at once. A caller hears ringing until this answers, so every
//! storage step has the same short budget and the answer is built from
//! whatever arrived in time: never an error once the request is valid.

use callhooks::config_cache::NumberConfigCache;
use callhooks::http::{body_bytes, json_response, require_json, require_method, respond, ApiError};
use callhooks::phone::{mask, redact};
use callhooks::providers::retell;
use callhooks::runtime::Deadline;
use callhooks::signature::SigningKey;
use callhooks::store::{Store, StoreError, WriteOutcome};
use callhooks::time::Timestamp;
use callhooks::webhook::body_text;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::time::{Duration, Instant};

/// Built once per cold start and shared by every invocation.
pub struct Deps {
    pub store: Store,
    /// `RETELL_API_KEY`; unset or empty turns the signature check off.
    pub key: SigningKey,
    pub retention_days: u32,
    /// `deadline.total` bounds each lookup and the recording (run together).
    pub deadline: Deadline,
    /// Number configurations read lately (`NUMBER_CONFIG_CACHE_SECONDS`).
    pub config_cache: NumberConfigCache,
}

pub async fn handle(deps: &Deps, req: Request, now: Timestamp) -> Response<Body> {
    respond(handle_inbound(deps, &req, now).await)
}

async fn handle_inbound(
    deps: &Deps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    require_method(req, &[Method::POST])?;
    let body = body_bytes(req)?;
    // Over the raw bytes, before anything reads them.
    deps.key.verify_request(req.headers(), body, now)?;
    require_json(req.headers())?;
    let call = retell::parse_inbound(body)?;
    let event = retell::inbound_event(&call, body_text(body)?, now);
    let plan = retell::inbound_plan(&event, deps.retention_days);

    let budget = deps.deadline.total;
    let store = &deps.store;
    // The number's configuration (from memory when read lately), the
    // caller's contact and calls (one Query) and the write, all at once,
    // each cut off at the budget: two requests when the configuration is
    // known, three when not.
    let (config, caller, recorded) = tokio::join!(
        within(
            budget,
            "configuration",
            store.number_config_cached(&deps.config_cache, &call.to)
        ),
        async {
            match &call.from {
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
    let config = config.flatten();
    let (contact, history) = match caller {
        Some(records) => (
            records.contact,
            Some(retell::caller_history(
                &records.calls,
                records.more,
                &call.to,
                now,
            )),
        ),
        None => (None, None),
    };
    let answer = retell::inbound_answer(
        &call,
        config.as_ref(),
        contact.as_ref(),
        history.as_ref(),
        now,
    );

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
        agent = answer.call_inbound.override_agent_id.as_deref().unwrap_or(""),
        configured = config.is_some(),
        known_contact = contact.is_some(),
        history = history.is_some(),
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
    Ok(json_response(StatusCode::OK, &answer))
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
