//! What the JSON webhooks share besides the pipeline ([`crate::ingest`]):
//! their dependencies, built once per cold start
//! ([`crate::ingest::edge::webhook_deps_from_env`]).

use crate::auth::SharedSecret;
use crate::store::Store;

/// What a webhook that records deliveries needs, built once per cold start
/// and shared by every invocation.
pub struct WebhookDeps {
    pub store: Store,
    pub secret: SharedSecret,
    pub retention_days: u32,
    pub deadline: crate::runtime::Deadline,
}
