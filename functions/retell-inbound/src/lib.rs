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
//! The logic is in `callhooks::providers::retell`; the user documentation
//! in `docs/providers/retell.md`.

use callhooks::config::AgentChoice;
use callhooks::config_cache::NumberConfigCache;
use callhooks::event::{Channel, Provider};
use callhooks::http::{body_bytes, json_response, require_method, respond, ApiError};
use callhooks::ingest;
use callhooks::phone::{mask, redact, PhoneNumber};
use callhooks::providers::retell::{self, events, ConfigLookup, SignedDelivery};
use callhooks::runtime::Deadline;
use callhooks::signature::{signature_parts, SigningKey};
use callhooks::store::keys;
use callhooks::store::plan::Item;
use callhooks::store::{Store, StoreError, WriteOutcome};
use callhooks::time::Timestamp;
use callhooks::webhook::body_text;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::time::{Duration, Instant};

/// The path of the call-events route; every other path is the inbound one.
pub const EVENTS_PATH: &str = "/retell/events";

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

/// What the operator chose beyond the clients (environment, once).
#[derive(Clone, Debug)]
pub struct Options {
    /// `RETELL_FALLBACK_AGENT_ID` (template `FallbackAgentId`): the agent
    /// named when a number's configuration cannot be read in time.
    pub fallback_call_agent: Option<AgentChoice>,
    /// `RETELL_FALLBACK_CHAT_AGENT_ID` (`FallbackChatAgentId`), for chats.
    pub fallback_chat_agent: Option<AgentChoice>,
    /// How many more times an inbound call's event looks for its inbound
    /// record when it is not there yet (the inbound write may still be in
    /// flight, and an index is read a moment behind the table), and how
    /// long it waits before each look.
    pub join_retries: u32,
    pub join_retry_delay: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            fallback_call_agent: None,
            fallback_chat_agent: None,
            join_retries: 3,
            join_retry_delay: Duration::from_millis(400),
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

pub async fn handle(deps: &Deps, req: Request, now: Timestamp) -> Response<Body> {
    handle_with(deps, &Options::default(), req, now).await
}

pub async fn handle_with(
    deps: &Deps,
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

/// The request's raw body once its method and signature are checked:
/// over the raw bytes, before anything reads them.
fn accept<'r>(
    deps: &Deps,
    req: &'r Request,
    now: Timestamp,
) -> Result<(&'r [u8], Option<SignedDelivery>), ApiError> {
    require_method(req, &[Method::POST])?;
    let body = body_bytes(req)?;
    deps.key.verify_request(req.headers(), body, now)?;
    // No Content-Type check: the body is read by what it is (senders
    // mislabel), and what cannot be read is kept, not refused.
    let signed = if deps.key.is_enabled() {
        signature_parts(req.headers()).map(|(signed_ms, digest_hex)| SignedDelivery {
            signed_ms,
            digest_hex,
        })
    } else {
        None
    };
    Ok((body, signed))
}

async fn handle_inbound(
    deps: &Deps,
    options: &Options,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (body, signed) = accept(deps, req, now)?;
    let delivery = ingest::edge::delivery(req, ingest::Route::RetellInbound, now);
    let request = match retell::parse_inbound(body) {
        Ok(request) => request,
        // Kept raw, never refused: Retell proved who it is. An empty answer
        // overrides nothing (the number's own agent takes the call).
        Err(error) => return keep_unreadable(deps, &delivery, error, started).await,
    };
    let event = retell::inbound_event(&request, body_text(body)?, now);
    let plan = retell::inbound_plan(&event, &request, deps.retention_days, signed.as_ref());
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
    let decision = retell::decide(
        &request,
        lookup,
        contact.as_ref(),
        history.as_ref(),
        fallback,
        decided_at,
    );
    match (recorded, decision.rejected_by) {
        (None, _) => {
            // Not written in time: the spillway keeps it; the caller still
            // gets the answer.
            let kept = ingest::keep::spill(&deps.store, &delivery, "not written in time").await;
            if kept.is_ok() {
                callhooks::metrics::note(callhooks::metrics::Outcome::Spilled);
            }
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
    deps: &Deps,
    delivery: &ingest::Delivery,
    error: ApiError,
    started: Instant,
) -> Result<Response<Body>, ApiError> {
    let unreadable = ingest::read::Unreadable::from(error);
    let kept = ingest::keep::keep(
        &deps.store,
        delivery,
        Err(&unreadable),
        deps.retention_days,
        deps.deadline.total,
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
    deps: &Deps,
    options: &Options,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (body, _) = accept(deps, req, now)?;
    let raw = body_text(body)?;
    let budget = deps.deadline.total;
    let parsed = match events::parse_call_event(body) {
        Ok(parsed) => parsed,
        Err(error) => {
            let delivery = ingest::edge::delivery(req, ingest::Route::RetellEvents, now);
            return keep_unreadable(deps, &delivery, error, started).await;
        }
    };
    let (plan, kind, record) = match parsed {
        events::ParsedCallEvent::Unattached { event, anomaly } => {
            // Once per body: Retell retries the same bytes, freshly signed.
            let key = events::body_key(body);
            let stored = events::unattached_event(&event, &anomaly, raw, &key, now);
            let plan = events::unattached_plan(&stored, deps.retention_days);
            (plan, event, None)
        }
        events::ParsedCallEvent::Call(event) => {
            let record_id = join_record(deps, options, &event, now)
                .await
                .ok_or_else(ApiError::storage_unavailable)?;
            let joined = record_id != event.call_id;
            let stored = events::call_event(&event, &record_id, raw, now);
            let plan = events::call_event_plan(&event, &stored, deps.retention_days);
            (plan, event.event.clone(), Some((record_id, joined)))
        }
    };
    let outcome = match within(budget, "recording", deps.store.write(&plan)).await {
        Some(outcome) => outcome,
        None => {
            // spill: the lead wires the spillway here; until then Retell
            // retries on the 503 and the retry is recorded once.
            return Err(ApiError::storage_unavailable());
        }
    };
    let outcome = match outcome {
        WriteOutcome::Recorded => "recorded",
        WriteOutcome::Duplicate => "duplicate",
    };
    tracing::info!(
        provider = "retell",
        kind = %kind,
        joined = record.as_ref().is_some_and(|(_, joined)| *joined),
        outcome,
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "status": outcome }),
    ))
}

/// The call id of the partition this event goes to: the inbound record it
/// joins, else Retell's own. `None` when storage could not be read (the
/// delivery is then refused with a 503 and retried, rather than split
/// from its call).
async fn join_record(
    deps: &Deps,
    options: &Options,
    event: &events::CallEvent,
    now: Timestamp,
) -> Option<String> {
    // Our number: the callee of an inbound call, the caller of an outbound one.
    let ours = match event.direction {
        Some(callhooks::event::Direction::Outbound) => event.from.as_ref(),
        _ => event.to.as_ref(),
    };
    let Some(ours) = ours else {
        return Some(event.call_id.clone());
    };
    let reference = event.reference_time(now);
    // Only a call that began moments ago may still have its inbound
    // record in flight.
    let recent = now.as_millisecond() - reference.as_millisecond() < 30_000;
    let mut attempt = 0;
    loop {
        let items = within(
            deps.deadline.total,
            "join",
            timeline_around(&deps.store, ours, reference),
        )
        .await?;
        let candidates: Vec<events::JoinCandidate> = items
            .iter()
            .filter_map(events::JoinCandidate::from_item)
            .collect();
        if let Some(found) = events::choose_record(&candidates, event, now) {
            return Some(found.to_string());
        }
        if !event.wants_join() || !recent || attempt >= options.join_retries {
            return Some(event.call_id.clone());
        }
        attempt += 1;
        tokio::time::sleep(options.join_retry_delay).await;
    }
}

/// The call summaries on `number`'s GSI2 timeline (calls to it) first seen
/// around `reference` (see [`events::join_window`]).
async fn timeline_around(
    store: &Store,
    number: &PhoneNumber,
    reference: Timestamp,
) -> Result<Vec<Item>, StoreError> {
    let (lower, upper) = events::join_window(reference);
    let output = store
        .client()
        .query()
        .table_name(store.table())
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
        .index_name(keys::GSI2)
        .key_condition_expression("#pk = :pk AND #sk BETWEEN :lower AND :upper")
        .expression_attribute_names("#pk", keys::GSI2PK)
        .expression_attribute_names("#sk", keys::GSI2SK)
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(keys::phone_pk(number)),
        )
        .expression_attribute_values(":lower", aws_sdk_dynamodb::types::AttributeValue::S(lower))
        .expression_attribute_values(":upper", aws_sdk_dynamodb::types::AttributeValue::S(upper))
        .scan_index_forward(false)
        .limit(100)
        .send()
        .await
        .map_err(|e| {
            StoreError(
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    .to_string()
                    .chars()
                    .take(300)
                    .collect(),
            )
        })?;
    Ok(output
        .items
        .unwrap_or_default()
        .into_iter()
        .filter(|item| {
            item.get(keys::PK)
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| {
                    pk.starts_with(&keys::conversation_pk(Channel::Call, Provider::Retell, ""))
                })
        })
        .collect())
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
