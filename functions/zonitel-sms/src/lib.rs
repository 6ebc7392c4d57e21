//! POST /zonitel/sms: authenticate, parse, record, answer.

use callhooks::http::{json_response, respond, ApiError};
use callhooks::phone::mask;
use callhooks::providers::zonitel_sms;
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
    respond(handle_sms(deps, &req, now).await)
}

async fn handle_sms(
    deps: &Deps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (body, _) = accept_json_post(req, &deps.secret)?;
    let notification = zonitel_sms::parse_notification(body)?;
    let delivery = zonitel_sms::sms_delivery(&notification, body_text(body)?, now)?;
    let event = &delivery.event;
    if delivery.status.is_none() {
        tracing::warn!(
            status = %event.kind,
            id = %event.provider_id,
            "Zonitel SMS status not in its documents: stored as it came"
        );
    } else if delivery.status_contradicts_direction() {
        tracing::warn!(
            status = %event.kind,
            direction = event.direction.map_or("", |d| d.as_str()),
            id = %event.provider_id,
            from = %mask(event.from.as_ref()),
            "Zonitel SMS status does not fit its direction: stored as it came"
        );
    }
    let plan = zonitel_sms::sms_plan(&delivery, deps.retention_days);
    let outcome = record(&deps.store, &plan, deps.deadline.total).await?;
    log_outcome(event, outcome, started);
    let answer = match outcome {
        WriteOutcome::Recorded => json!({
            "status": "recorded",
            "message_id": event.provider_id,
            "sms_status": event.kind,
        }),
        WriteOutcome::Duplicate => json!({
            "status": "duplicate",
            "message_id": event.provider_id,
            "sms_status": event.kind,
        }),
    };
    Ok(json_response(StatusCode::OK, &answer))
}
