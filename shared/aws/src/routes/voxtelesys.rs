//! GET or POST /voxtelesys/{hook}: authenticate, read, keep, answer VoXML.
//!
//! The callback is kept and the number's configuration read at the same
//! time (one transaction, one GetItem; none when the configuration was read
//! less than `NUMBER_CONFIG_CACHE_SECONDS` ago), both within the deadline.
//! A live call (`voice`, `dial`) is never answered with an error: when the
//! configuration cannot be read it is answered from the last configuration
//! this function read, else from the fallback (`VOXTELESYS_FALLBACK_FORWARD_NUMBER`,
//! `VOXTELESYS_FALLBACK_VOICEMAIL`), else with the default message; when the
//! table cannot take the callback it goes to the spillway. `status` and
//! `recording` answer 503 only when neither the table nor the spillway kept
//! the callback (Voxtelesys retries them; nobody is listening).

use crate::auth::{Credential, SharedSecret};
use crate::config::{NumberConfig, VoicemailConfig, VoxtelesysConfig};
use crate::config_cache::NumberConfigCache;
use crate::http::{header_str, respond, ApiError};
use crate::ingest::edge::{accept, log_delivery, Credentials};
use crate::ingest::keep::keep;
use crate::ingest::read::read_voxtelesys;
use crate::ingest::Route;
use crate::phone::PhoneNumber;
use crate::providers::voxtelesys::{self, CallAnswer, Hook};
use crate::runtime::Deadline;
use crate::store::Store;
use crate::time::Timestamp;
use crate::voxml::{self, CallbackLinks, Origin};
use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::Instant;

/// Built once per cold start and shared by every invocation.
pub struct VoxtelesysDeps {
    pub store: Store,
    pub secret: SharedSecret,
    pub retention_days: u32,
    pub deadline: Deadline,
    /// Number configurations read lately (`NUMBER_CONFIG_CACHE_SECONDS`).
    pub config_cache: NumberConfigCache,
    /// Said, before hanging up, to callers of a number without a Voxtelesys
    /// configuration (`VOXTELESYS_DEFAULT_MESSAGE`).
    pub default_message: String,
    /// How a live call is answered when its number's configuration cannot
    /// be read and was never read by this function.
    pub fallback: Option<VoxtelesysConfig>,
}

impl VoxtelesysDeps {
    /// The default message from the environment, else the built-in one.
    pub fn default_message_from_env() -> String {
        std::env::var("VOXTELESYS_DEFAULT_MESSAGE")
            .ok()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| voxtelesys::DEFAULT_MESSAGE.to_string())
    }

    /// The fallback from `VOXTELESYS_FALLBACK_FORWARD_NUMBER` (one E.164
    /// number to forward to) and `VOXTELESYS_FALLBACK_VOICEMAIL` (`true`:
    /// voicemail when nobody answers). Neither set: no fallback.
    pub fn fallback_from_env() -> Result<Option<VoxtelesysConfig>, String> {
        let forward = std::env::var("VOXTELESYS_FALLBACK_FORWARD_NUMBER").unwrap_or_default();
        let voicemail = std::env::var("VOXTELESYS_FALLBACK_VOICEMAIL")
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
        fallback(&forward, voicemail)
    }
}

/// The fallback configuration for a forward number (may be empty) and a
/// voicemail switch.
pub fn fallback(forward: &str, voicemail: bool) -> Result<Option<VoxtelesysConfig>, String> {
    let forward_to = match forward.trim() {
        "" => Vec::new(),
        number => vec![PhoneNumber::parse(number)
            .map_err(|e| format!("VOXTELESYS_FALLBACK_FORWARD_NUMBER: {e}"))?],
    };
    if forward_to.is_empty() && !voicemail {
        return Ok(None);
    }
    Ok(Some(VoxtelesysConfig {
        forward_to,
        voicemail: voicemail.then(|| VoicemailConfig {
            enabled: true,
            prompt: None,
            max_length_s: crate::config::default_voicemail_max_length_s(),
        }),
        ..VoxtelesysConfig::default()
    }))
}

pub async fn handle(deps: &VoxtelesysDeps, req: Request, now: Timestamp) -> Response<Body> {
    respond(handle_hook(deps, &req, now).await)
}

async fn handle_hook(
    deps: &VoxtelesysDeps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    // Credentials before the hook: a stranger learns nothing of the routes.
    let path = req.raw_http_path();
    let (delivery, credential) = match Hook::of_path(path) {
        Some(hook) => accept(
            req,
            Route::Voxtelesys(hook),
            Credentials::Token(&deps.secret),
            now,
        )?,
        None => {
            accept(
                req,
                Route::Voxtelesys(Hook::Voice),
                Credentials::Token(&deps.secret),
                now,
            )?;
            return Err(unknown_hook(path));
        }
    };
    let Route::Voxtelesys(hook) = delivery.route else {
        return Err(unknown_hook(path));
    };
    let reading = read_voxtelesys(&delivery, hook);
    let plan = reading
        .as_ref()
        .map(|callback| callback.plan(deps.retention_days));
    let our_number = reading.as_ref().ok().and_then(|c| c.event.to.clone());
    let read_config = async {
        match our_number {
            Some(number) if hook.needs_config() => Some(number_config(deps, &number).await),
            _ => None,
        }
    };
    let (kept, config) = tokio::join!(
        keep(
            &deps.store,
            &delivery,
            plan.as_ref().map_err(|e| *e),
            deps.retention_days,
            deps.deadline.total,
        ),
        read_config
    );
    log_delivery(
        &delivery,
        reading.as_ref().ok().map(|c| &c.event),
        kept.as_ref().map(|o| *o).map_err(|e| e.0.as_str()),
        started,
    );
    if kept.is_err() && !hook.needs_config() {
        // Nobody is listening: Voxtelesys retries, the retry is kept once.
        return Err(ApiError::storage_unavailable());
    }
    let links = callback_links(req, &credential);
    let answer = match &reading {
        Ok(callback) => {
            let config = config.flatten();
            callback.answer(config.as_ref(), &deps.default_message)
        }
        // A live call we cannot read still gets the fallback's answer.
        Err(_) if hook == Hook::Voice => {
            voxtelesys::answer_voice(deps.fallback.as_ref(), &deps.default_message)
        }
        Err(_) if hook == Hook::Dial => CallAnswer::HangUp { message: None },
        Err(_) => CallAnswer::Nothing,
    };
    Ok(xml_response(voxml::render_answer(&answer, &links)))
}

/// 404 for a path that names none of the four hooks.
fn unknown_hook(path: &str) -> ApiError {
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    ApiError::not_found(format!(
        "unknown hook {last:?}: use /voxtelesys/voice, /voxtelesys/status, /voxtelesys/dial or /voxtelesys/recording"
    ))
}

/// Access pattern 5 within the deadline (see [`configured_answer_source`]).
async fn number_config(deps: &VoxtelesysDeps, number: &PhoneNumber) -> Option<NumberConfig> {
    configured_answer_source(
        &deps.store,
        &deps.config_cache,
        deps.fallback.as_ref(),
        deps.deadline,
        number,
    )
    .await
}

/// A number's configuration for a live call, within `deadline`. When the
/// table cannot answer, the configuration this function read last (however
/// old), else the fallback's, so a live call is still forwarded. Shared by
/// the call-control routes (Voxtelesys, Twilio).
pub async fn configured_answer_source(
    store: &Store,
    cache: &NumberConfigCache,
    fallback: Option<&VoxtelesysConfig>,
    deadline: Deadline,
    number: &PhoneNumber,
) -> Option<NumberConfig> {
    let read =
        tokio::time::timeout(deadline.total, store.number_config_cached(cache, number)).await;
    let error = match read {
        Ok(Ok(config)) => return config,
        Ok(Err(error)) => error.to_string(),
        Err(_) => "storage deadline passed".to_string(),
    };
    if let Some(stale) = cache.get_stale(number) {
        tracing::warn!(%error, "number configuration not read: answered from the last one read");
        return stale;
    }
    tracing::error!(
        %error,
        fallback = fallback.is_some(),
        "number configuration not read: answered from the fallback"
    );
    fallback.map(|vox| NumberConfig {
        number: number.clone(),
        label: None,
        voxtelesys: Some(vox.clone()),
        retell: None,
    })
}

fn xml_response(xml: String) -> Response<Body> {
    xml_answer(xml, voxml::CONTENT_TYPE)
}

/// A call-control document with 200.
pub fn xml_answer(xml: String, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(xml));
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Where a request came in: its headers and API Gateway's context.
pub fn request_origin(req: &Request) -> Origin<'_> {
    let (domain_name, stage) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => {
            (ctx.domain_name.as_deref(), ctx.stage.as_deref())
        }
        _ => (None, None),
    };
    Origin {
        host: header_str(req.headers(), header::HOST.as_str()),
        domain_name,
        stage,
        forwarded_proto: header_str(req.headers(), "x-forwarded-proto"),
    }
}

/// Where the answer's callbacks point: read off the request's headers and
/// API Gateway's context.
fn callback_links(req: &Request, credential: &Credential) -> CallbackLinks {
    let origin = request_origin(req);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_forwards_and_or_takes_voicemail_or_is_absent() {
        assert_eq!(fallback("", false), Ok(None));
        let forward = fallback("+14155552671", false).unwrap().unwrap();
        assert_eq!(forward.forward_to.len(), 1);
        assert!(forward.voicemail.is_none());
        let voicemail = fallback(" ", true).unwrap().unwrap();
        assert!(voicemail.forward_to.is_empty() && voicemail.voicemail.unwrap().enabled);
        assert!(fallback("not a number", false).is_err());
    }
}
