//! What the JSON webhooks share besides the pipeline ([`crate::ingest`]):
//! their dependencies, built once per cold start
//! ([`crate::ingest::edge::webhook_deps_from_env`]), and reading a body as
//! text.

use crate::auth::SharedSecret;
use crate::http::ApiError;
use crate::store::Store;

/// The body as text: JSON and form bodies are UTF-8 by definition.
pub fn body_text(bytes: &[u8]) -> Result<&str, ApiError> {
    std::str::from_utf8(bytes)
        .map_err(|e| ApiError::invalid(format!("body: is not valid UTF-8 ({e})")))
}

/// What a webhook that records deliveries needs, built once per cold start
/// and shared by every invocation.
pub struct WebhookDeps {
    pub store: Store,
    pub secret: SharedSecret,
    pub retention_days: u32,
    pub deadline: crate::runtime::Deadline,
}
