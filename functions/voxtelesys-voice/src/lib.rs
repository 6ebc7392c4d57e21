//! GET or POST /voxtelesys/{hook}: authenticate, parse, record, answer VoXML.
//!
//! The call is recorded and the number's configuration read at the same
//! time (one transaction, one GetItem; none when the configuration was read
//! less than `NUMBER_CONFIG_CACHE_SECONDS` ago), both within the deadline. Any
//! storage failure, of the write or of the read, is a 503: Voxtelesys
//! retries, the retry is recognised as a duplicate and gets the answer the
//! configuration gives. A guessed default answer could hang up on a caller
//! who should have been forwarded.

use callhooks::auth::{Credential, SharedSecret, TOKEN_QUERY_PARAM};
use callhooks::config::NumberConfig;
use callhooks::config_cache::NumberConfigCache;
use callhooks::http::{body_bytes, header_str, query_param, require_method, respond, ApiError};
use callhooks::providers::voxtelesys::{self, CallbackLinks, Hook, Inbound, Origin};
use callhooks::runtime::Deadline;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use callhooks::voxml;
use callhooks::webhook::{log_outcome, record};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::Instant;

/// Built once per cold start and shared by every invocation.
pub struct Deps {
    pub store: Store,
    pub secret: SharedSecret,
    pub retention_days: u32,
    pub deadline: Deadline,
    /// Number configurations read lately (`NUMBER_CONFIG_CACHE_SECONDS`).
    pub config_cache: NumberConfigCache,
    /// Said, before hanging up, to callers of a number without a Voxtelesys
    /// configuration (`VOXTELESYS_DEFAULT_MESSAGE`).
    pub default_message: String,
}

impl Deps {
    /// The default message from the environment, else the built-in one.
    pub fn default_message_from_env() -> String {
        std::env::var("VOXTELESYS_DEFAULT_MESSAGE")
            .ok()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| voxtelesys::DEFAULT_MESSAGE.to_string())
    }
}

pub async fn handle(deps: &Deps, req: Request, now: Timestamp) -> Response<Body> {
    respond(handle_hook(deps, &req, now).await)
}

async fn handle_hook(
    deps: &Deps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    require_method(req, &[Method::GET, Method::POST])?;
    let hook = Hook::of_path(req.raw_http_path())?;
    let credential = deps.secret.verify(
        req.headers(),
        query_param(req, TOKEN_QUERY_PARAM).as_deref(),
    )?;
    let callback = voxtelesys::read(&inbound(req)?, now)?;
    let plan = callback.plan(deps.retention_days);
    let our_number = callback.event.to.clone();
    let read_config = async {
        match our_number {
            Some(number) if hook.needs_config() => number_config(deps, &number).await,
            _ => Ok(None),
        }
    };
    let (outcome, config) =
        tokio::join!(record(&deps.store, &plan, deps.deadline.total), read_config);
    let outcome = outcome?;
    log_outcome(&callback.event, outcome, started);
    let config = config?;
    let links = callback_links(req, &credential);
    let verbs = callback.answer(config.as_ref(), &links, &deps.default_message);
    Ok(xml_response(voxml::render(&verbs)))
}

/// Access pattern 5 within the deadline; a failure is a 503.
async fn number_config(
    deps: &Deps,
    number: &callhooks::phone::PhoneNumber,
) -> Result<Option<NumberConfig>, ApiError> {
    match tokio::time::timeout(
        deps.deadline.total,
        deps.store.number_config_cached(&deps.config_cache, number),
    )
    .await
    {
        Ok(Ok(config)) => Ok(config),
        Ok(Err(error)) => {
            tracing::error!(%error, "number configuration not read");
            Err(ApiError::storage_unavailable())
        }
        Err(_) => {
            tracing::error!("number configuration not read: storage deadline passed");
            Err(ApiError::storage_unavailable())
        }
    }
}

fn xml_response(xml: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(xml));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(voxml::CONTENT_TYPE),
    );
    response
}

/// The request as the provider module reads it: plain parts.
fn inbound(req: &Request) -> Result<Inbound<'_>, ApiError> {
    Ok(Inbound {
        method: if req.method() == Method::GET {
            voxtelesys::Method::Get
        } else {
            voxtelesys::Method::Post
        },
        path: req.raw_http_path(),
        query: req.uri().query().unwrap_or(""),
        body: body_bytes(req)?,
        content_type: header_str(req.headers(), header::CONTENT_TYPE.as_str()),
    })
}

/// Where the answer's callbacks point: read off the request's headers and
/// API Gateway's context.
fn callback_links(req: &Request, credential: &Credential) -> CallbackLinks {
    let (domain_name, stage) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.domain_name.as_deref(), ctx.stage.as_deref())
        }
        _ => (None, None),
    };
    let origin = Origin {
        host: header_str(req.headers(), header::HOST.as_str()),
        domain_name,
        stage,
        forwarded_proto: header_str(req.headers(), "x-forwarded-proto"),
    };
    let token = match credential {
        Credential::QueryToken(token) => Some(token.as_str()),
        _ => None,
    };
    let method = if req.method() == Method::GET {
        voxtelesys::Method::Get
    } else {
        voxtelesys::Method::Post
    };
    CallbackLinks::new(&origin, method, token)
}
