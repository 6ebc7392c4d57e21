//! POST /salpre/events: Salpre's custom webhook (call lifecycle, transcripts, errors). The whole path is the shared pipeline
//! ([`callhooks::ingest`]) with this provider's reader: authenticate,
//! read, keep (table, else the spillway), answer 200 JSON.

use callhooks::ingest::{edge::handle_json, Route};
use callhooks::time::Timestamp;
use lambda_http::{Body, Request, Response};

/// Built once per cold start and shared by every invocation.
pub type Deps = callhooks::webhook::WebhookDeps;

pub async fn handle(deps: &Deps, req: Request, now: Timestamp) -> Response<Body> {
    handle_json(Route::SalpreEvents, deps, req, now).await
}
