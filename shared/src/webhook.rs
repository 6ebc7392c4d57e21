//! The steps every webhook shares: accept the request (method, credentials,
//! content type, size), record its plan within the provider's deadline, and
//! log the outcome.

use crate::auth::{Credential, SharedSecret, TOKEN_QUERY_PARAM};
use crate::event::Event;
use crate::http::{body_bytes, query_param, require_json, require_method, ApiError};
use crate::phone::{mask, redact};
use crate::store::plan::WritePlan;
use crate::store::{Store, WriteOutcome};
use lambda_http::http::Method;
use lambda_http::Request;
use std::time::{Duration, Instant};

/// Checks a JSON webhook POST in the order a provider can fix it: method
/// (405), credentials (401), content type (415), size (413). Returns the raw
/// body bytes, still unparsed, and how the request authenticated.
pub fn accept_json_post<'r>(
    req: &'r Request,
    secret: &SharedSecret,
) -> Result<(&'r [u8], Credential), ApiError> {
    require_method(req, &[Method::POST])?;
    let credential = secret.verify(
        req.headers(),
        query_param(req, TOKEN_QUERY_PARAM).as_deref(),
    )?;
    require_json(req.headers())?;
    Ok((body_bytes(req)?, credential))
}

/// The body as text: JSON and form bodies are UTF-8 by definition.
pub fn body_text(bytes: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(bytes)
        .map_err(|e| ApiError::invalid(format!("body: is not valid UTF-8 ({e})")))
}

/// Writes the plan, giving up after `budget` (the SDK's own timeouts stop
/// it earlier; this is the last guard). Any storage failure becomes a 503 so
/// the provider retries; the retry is then recorded exactly once.
pub async fn record(
    store: &Store,
    plan: &WritePlan,
    budget: Duration,
) -> Result<WriteOutcome, ApiError> {
    match tokio::time::timeout(budget, store.write(plan)).await {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(error)) => {
            tracing::error!(%error, "event not recorded");
            Err(ApiError::storage_unavailable())
        }
        Err(_) => {
            tracing::error!(
                budget_ms = budget.as_millis() as u64,
                "event not recorded: storage deadline passed"
            );
            Err(ApiError::storage_unavailable())
        }
    }
}

/// One structured log line per delivery; numbers masked, no payloads.
pub fn log_outcome(event: &Event, outcome: WriteOutcome, started: Instant) {
    crate::metrics::note(outcome.into());
    tracing::info!(
        provider = event.provider.as_str(),
        kind = %event.kind,
        id = %redact(&event.provider_id, &[event.from.as_ref(), event.to.as_ref()]),
        from = %mask(event.from.as_ref()),
        to = %mask(event.to.as_ref()),
        is_test = event.is_test,
        outcome = match outcome {
            WriteOutcome::Recorded => "recorded",
            WriteOutcome::Duplicate => "duplicate",
        },
        duration_ms = started.elapsed().as_millis() as u64,
        "webhook handled"
    );
}

/// What a webhook that records deliveries needs, built once per cold start
/// and shared by every invocation.
pub struct WebhookDeps {
    pub store: Store,
    pub secret: SharedSecret,
    pub retention_days: u32,
    pub deadline: crate::runtime::Deadline,
}

impl WebhookDeps {
    /// From the environment: `TABLE_NAME`, `RETENTION_DAYS`, the provider's
    /// secret in `secret_var`, and the Lambda SDK configuration (region,
    /// credentials and endpoint from the environment only: see
    /// [`crate::runtime::lambda_sdk_config`]) with the timeouts of `deadline`.
    pub async fn from_env(
        secret_var: &str,
        deadline: crate::runtime::Deadline,
    ) -> Result<Self, String> {
        let settings = crate::runtime::Settings::from_env()?;
        let config = crate::runtime::lambda_sdk_config(deadline);
        Ok(WebhookDeps {
            store: Store::new(aws_sdk_dynamodb::Client::new(&config), settings.table_name),
            secret: SharedSecret::from_env(secret_var),
            retention_days: settings.retention_days,
            deadline,
        })
    }
}
