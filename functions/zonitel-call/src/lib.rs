//! POST /zonitel/calls: authenticate, parse, record, answer.

use callhooks::http::{json_response, respond, ApiError};
use callhooks::providers::zonitel;
use callhooks::store::WriteOutcome;
use callhooks::time::Timestamp;
use callhooks::webhook::{accept_json_post, body_text, log_outcome, record};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use std::time::Instant;

/// Built once per cold start and shared by every invocation.
pub type Deps = callhooks::webhook::WebhookDeps;

pub async fn handle(deps: &Deps, req: Request, now: Timestamp) -> Response<Body> {
    respond(handle_call(deps, &req, now).await)
}

async fn handle_call(
    deps: &Deps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (body, _) = accept_json_post(req, &deps.secret)?;
    let call = zonitel::parse_incoming_call(body)?;
    let event = zonitel::incoming_call_event(&call, body_text(body)?, now)?;
    let plan = zonitel::incoming_call_plan(&event, deps.retention_days);
    let outcome = record(&deps.store, &plan, deps.deadline.total).await?;
    log_outcome(&event, outcome, started);
    let answer = match outcome {
        WriteOutcome::Recorded => json!({"status": "recorded", "call_id": event.provider_id}),
        WriteOutcome::Duplicate => json!({"status": "duplicate"}),
    };
    Ok(json_response(StatusCode::OK, &answer))
}
