//! The HTTP edge of the pipeline: the only part that sees a `Request`. It
//! refuses what must be refused (405 method, 401 credentials, 413 size),
//! turns everything else into a plain [`Delivery`], and for the JSON routes
//! runs the whole pipeline: read, keep (table, else spillway), answer.

use super::decode::decode_body;
use super::delivery::{Delivery, Route};
use super::keep::{keep, Outcome};
use super::read::{read, Reading, Unreadable};
use crate::auth::{Credential, SharedSecret, TOKEN_QUERY_PARAM};
use crate::event::Event;
use crate::http::{
    header_str, header_value, json_response, platform_size, query_param, require_method, respond,
    ApiError, MAX_BODY_BYTES, REJECTED_BODY_HEADER,
};
use crate::phone::{mask, redact};
use crate::providers::twilio;
use crate::providers::voxtelesys::without_token;
use crate::runtime::{lambda_sdk_config, run_http};
use crate::signature::{signature_parts, SigningKey, SIGNATURE_HEADER};
use crate::store::Store;
use crate::time::Timestamp;
use crate::webhook::WebhookDeps;
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{service_fn, Body, Request, RequestExt, Response};
use serde_json::{json, Value};
use std::time::Instant;

/// How a route's sender proves who it is.
#[derive(Clone, Copy, Debug)]
pub enum Credentials<'a> {
    /// A shared token: `Authorization: Bearer` or the `token` query
    /// parameter (Zonitel, Salpre, Voxtelesys).
    Token(&'a SharedSecret),
    /// Retell's `x-retell-signature` over the raw body.
    RetellSignature(&'a SigningKey),
    /// Twilio's `X-Twilio-Signature` over the public URL it requested and
    /// the form parameters: the URL is the configured public base's, else
    /// the request's host and path.
    TwilioSignature {
        token: &'a twilio::signature::AuthToken,
        public_base: Option<&'a twilio::signature::PublicBaseUrl>,
    },
}

/// Checks a request, credentials first (so nothing about a route is told
/// to a sender that has not proved who it is: 401), then its method (405,
/// the route table's methods) and size (413), and takes its delivery. Nothing about the content is
/// refused: a body API Gateway flagged as base64 but could not decode
/// arrives empty, and is kept as unrecognized by the reader.
pub fn accept(
    req: &Request,
    route: Route,
    credentials: Credentials<'_>,
    received_at: Timestamp,
) -> Result<(Delivery, Credential), ApiError> {
    let body: &[u8] = req.body().as_ref();
    let credential = match credentials {
        Credentials::Token(secret) => secret.verify(
            header_value(req.headers(), header::AUTHORIZATION.as_str()),
            query_param(req, TOKEN_QUERY_PARAM).as_deref(),
        )?,
        Credentials::RetellSignature(key) => {
            let header = header_value(req.headers(), SIGNATURE_HEADER);
            key.verify_request(header, body, received_at)?;
            match (key.is_enabled(), signature_parts(header)) {
                (true, Some((signed_ms, digest_hex))) => Credential::Signed {
                    signed_ms,
                    digest_hex,
                },
                _ => Credential::NotRequired,
            }
        }
        Credentials::TwilioSignature { token, public_base } => {
            let query = req.uri().query().unwrap_or("");
            let target = twilio::signature::RequestTarget {
                host: header_str(req.headers(), header::HOST.as_str()).unwrap_or(""),
                path: req.raw_http_path(),
                route_path: route.path(),
                query,
            };
            let url = twilio::signature::public_url(public_base, &target);
            let signed = twilio::signature::SignedRequest {
                url: &url,
                is_post: req.method() == Method::POST,
                body,
            };
            token
                .verify(
                    header_value(req.headers(), twilio::signature::SIGNATURE_HEADER),
                    &signed,
                )
                .map_err(|error| ApiError::unauthorized(error.to_string()))?;
            Credential::NotRequired
        }
    };
    require_method(req, route)?;
    let size = platform_size(req.body());
    if size > MAX_BODY_BYTES {
        return Err(ApiError::too_large(size));
    }
    Ok((delivery(req, route, received_at), credential))
}

/// The delivery a request carries, once it was accepted: its bytes and the
/// few details a reader needs, the query string without its token.
pub fn delivery(req: &Request, route: Route, received_at: Timestamp) -> Delivery {
    let body: &[u8] = req.body().as_ref();
    let headers = req.headers();
    let mut content_type = header_str(headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    if headers.contains_key(REJECTED_BODY_HEADER) {
        content_type = Some("(body flagged as base64 by API Gateway but not valid base64)".into());
    }
    // Read after its Content-Encoding and charset; what cannot be decoded
    // is kept as it came (see `decode`).
    let decoded = decode_body(
        body,
        header_str(headers, header::CONTENT_ENCODING.as_str()),
        content_type.as_deref(),
        MAX_BODY_BYTES,
    );
    Delivery {
        route,
        is_post: req.method() == Method::POST,
        content_type,
        query: without_token(req.uri().query().unwrap_or("")),
        body: decoded.body,
        decoding: decoded.decoding,
        user_agent: header_str(headers, header::USER_AGENT.as_str()).map(str::to_string),
        received_at,
    }
}

/// One structured log line per delivery: route, outcome, what it was,
/// numbers masked, never a payload; the outcome is also noted for the
/// request's metrics line ([`crate::metrics`]).
pub fn log_delivery(
    delivery: &Delivery,
    event: Option<&Event>,
    outcome: Result<Outcome, &str>,
    started: Instant,
) {
    let outcome_name = match outcome {
        Ok(outcome) => {
            crate::metrics::note(outcome.into());
            outcome.as_str()
        }
        Err(_) => "not_kept",
    };
    let duration_ms = started.elapsed().as_millis() as u64;
    match event {
        Some(event) => tracing::info!(
            route = delivery.route.path(),
            provider = event.provider.as_str(),
            kind = %event.kind,
            id = %redact(&event.provider_id, &[event.from.as_ref(), event.to.as_ref()]),
            from = %mask(event.from.as_ref()),
            to = %mask(event.to.as_ref()),
            is_test = event.is_test,
            anomalies = event.anomalies.len(),
            outcome = outcome_name,
            duration_ms,
            "webhook handled"
        ),
        None => tracing::warn!(
            route = delivery.route.path(),
            provider = delivery.route.provider().as_str(),
            body_bytes = delivery.body.len(),
            outcome = outcome_name,
            duration_ms,
            "webhook handled: delivery not understood"
        ),
    }
}

/// The whole pipeline for a JSON route (Zonitel calls and SMS, Salpre):
/// accept, read, keep, answer `{"status": <outcome>, ...}` with 200, or 503
/// when neither the table nor the spillway kept it.
pub async fn handle_json(
    route: Route,
    deps: &WebhookDeps,
    req: Request,
    now: Timestamp,
) -> Response<Body> {
    respond(handle_json_request(route, deps, &req, now).await)
}

async fn handle_json_request(
    route: Route,
    deps: &WebhookDeps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let (delivery, _) = accept(req, route, Credentials::Token(&deps.secret), now)?;
    let reading: Result<Reading, Unreadable> = read(&delivery, deps.retention_days);
    let kept = keep(
        &deps.store,
        &delivery,
        reading.as_ref().map(|r| &r.plan),
        deps.retention_days,
        deps.deadline.total,
    )
    .await;
    let event = reading.as_ref().ok().map(|r| &r.event);
    log_delivery(
        &delivery,
        event,
        kept.as_ref().map(|o| *o).map_err(|e| e.0.as_str()),
        started,
    );
    let outcome = kept.map_err(|_| ApiError::storage_unavailable())?;
    Ok(json_response(
        StatusCode::OK,
        &json_answer(outcome, reading.as_ref().ok()),
    ))
}

/// `{"status": "recorded", ...what the provider's reader said}`.
pub fn json_answer(outcome: Outcome, recording: Option<&Reading>) -> Value {
    let mut answer = json!({"status": outcome.as_str()});
    if let (Some(Value::Object(fields)), Value::Object(into)) =
        (recording.map(|r| &r.answer), &mut answer)
    {
        for (name, value) in fields {
            into.insert(name.clone(), value.clone());
        }
    }
    answer
}

/// What a function serving a route needs, from the environment: the table
/// (with the spillway queue behind it), the route's secret, the retention
/// and the route's deadline (the route table's).
pub fn webhook_deps_from_env(route: Route) -> Result<WebhookDeps, crate::runtime::SettingsError> {
    let deadline = route.entry().deadline;
    let settings = crate::runtime::Settings::from_env()?;
    let config = lambda_sdk_config(deadline);
    Ok(WebhookDeps {
        store: Store::new(aws_sdk_dynamodb::Client::new(&config), settings.table_name)
            .with_spillway(super::spill::Spillway::from_env()),
        secret: SharedSecret::from_env(route.secret_variable()),
        retention_days: settings.retention_days,
        deadline,
    })
}

/// The `main` of a JSON route's function: dependencies built once, then
/// every request through [`handle_json`].
pub async fn serve_json(route: Route) -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let deps = webhook_deps_from_env(route)?;
    run_http(service_fn(|req: Request| async {
        Ok::<_, lambda_http::Error>(handle_json(route, &deps, req, Timestamp::now()).await)
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_carries_the_outcome_and_the_readers_fields() {
        assert_eq!(
            json_answer(Outcome::Spilled, None),
            json!({"status": "spilled"})
        );
        let recording = Reading {
            event: crate::event::Event {
                provider: crate::event::Provider::Zonitel,
                channel: crate::event::Channel::Call,
                provider_id: "c".into(),
                direction: None,
                from: None,
                to: None,
                caller_name: None,
                kind: "k".into(),
                occurred_at: Timestamp::from_millisecond(0).unwrap(),
                received_at: Timestamp::from_millisecond(0).unwrap(),
                is_test: false,
                delivery_key: "1".into(),
                raw: String::new(),
                anomalies: Vec::new(),
            },
            plan: crate::store::plan::WritePlan {
                puts: Vec::new(),
                updates: Vec::new(),
            },
            answer: json!({"call_id": "c"}),
        };
        assert_eq!(
            json_answer(Outcome::Recorded, Some(&recording)),
            json!({"status": "recorded", "call_id": "c"})
        );
    }
}
