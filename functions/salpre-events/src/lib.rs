//! POST /salpre/events: authenticate, parse, record, answer.
//!
//! Salpre counts anything but a 200 as a failed delivery, so every event it
//! documents and every event type it may add later is recorded and answered
//! 200; only a body that is not what it documents gets a 400 (nothing is
//! written), and storage trouble a 503 so it retries.

use callhooks::http::{json_response, respond, ApiError};
use callhooks::providers::salpre;
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
    respond(handle_event(deps, &req, now).await)
}

async fn handle_event(
    deps: &Deps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (body, _) = accept_json_post(req, &deps.secret)?;
    let delivery = salpre::parse_delivery(body)?;
    let mapped = salpre::map_delivery(&delivery, body_text(body)?, now, deps.retention_days)?;
    if !delivery.is_known() {
        tracing::warn!(
            event_type = %delivery.event_type,
            call_found = mapped.call.is_some(),
            "unknown Salpre event type: stored raw"
        );
    }
    let outcome = record(&deps.store, &mapped.plan, deps.deadline.total).await?;
    log_outcome(&mapped.event, outcome, started);
    let mut answer = json!({
        "status": match outcome {
            WriteOutcome::Recorded => "recorded",
            WriteOutcome::Duplicate => "duplicate",
        },
        "event_type": delivery.event_type,
    });
    if let Some(call) = &mapped.call {
        answer["call_id"] = json!(call.call_id);
    }
    Ok(json_response(StatusCode::OK, &answer))
}
