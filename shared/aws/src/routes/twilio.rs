//! GET or POST /twilio/{hook}: authenticate (`X-Twilio-Signature`), read,
//! keep, answer TwiML.
//!
//! The same path as Voxtelesys's call control: the callback is kept and
//! the number's configuration read at the same time, both within the
//! deadline; the answer is the one plain decision (`crate::call_answer`)
//! written as TwiML. A live call (`voice`, `dial`) is never answered with
//! an error: when the configuration cannot be read it is answered from the
//! last configuration this function read, else from the fallback, else with
//! the default message; when the table cannot take the callback it goes to
//! the spillway. Status callbacks, recordings and messages are answered
//! `<Response/>`, or 503 only when neither the table nor the spillway kept
//! them (Twilio then retries where it retries).

use super::voxtelesys::{configured_answer_source, request_origin, xml_answer};
use crate::config::{NumberConfig, VoxtelesysConfig};
use crate::config_cache::NumberConfigCache;
use crate::http::{respond, ApiError};
use crate::ingest::edge::{accept, log_delivery, Credentials};
use crate::ingest::keep::keep;
use crate::ingest::read::Unreadable;
use crate::ingest::Route;
use crate::providers::twilio::signature::{AuthToken, PublicBaseUrl};
use crate::providers::twilio::{self, Hook, Inbound};
use crate::providers::voxtelesys;
use crate::runtime::Deadline;
use crate::store::Store;
use crate::time::Timestamp;
use crate::{call_answer, twiml, voxml};
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::Instant;

/// What the Twilio function needs, built once per cold start.
pub struct TwilioDeps {
    pub store: Store,
    /// `TWILIO_AUTH_TOKEN`: missing refuses every request unless the
    /// operator opened the routes.
    pub token: AuthToken,
    /// `PUBLIC_BASE_URL`: the URL Twilio calls when a custom domain sits in
    /// front of API Gateway (its signature covers that URL).
    pub public_base: Option<PublicBaseUrl>,
    pub retention_days: u32,
    pub deadline: Deadline,
    pub config_cache: NumberConfigCache,
    /// Said to callers of a number without call-control configuration.
    pub default_message: String,
    /// How a live call is answered when its number's configuration cannot
    /// be read and was never read by this function.
    pub fallback: Option<VoxtelesysConfig>,
}

/// The variable naming the public base URL.
pub const PUBLIC_BASE_URL_VAR: &str = "PUBLIC_BASE_URL";

impl TwilioDeps {
    /// `PUBLIC_BASE_URL` from the environment: unset or empty is none; a
    /// value that is not an http(s) URL stops the function at start-up.
    pub fn public_base_from_env() -> Result<Option<PublicBaseUrl>, String> {
        match std::env::var(PUBLIC_BASE_URL_VAR) {
            Ok(value) if !value.trim().is_empty() => PublicBaseUrl::parse(value.trim())
                .map(Some)
                .map_err(|e| format!("{PUBLIC_BASE_URL_VAR}: {e}")),
            _ => Ok(None),
        }
    }
}

pub async fn handle(deps: &TwilioDeps, req: Request, now: Timestamp) -> Response<Body> {
    respond(handle_hook(deps, &req, now).await)
}

async fn handle_hook(
    deps: &TwilioDeps,
    req: &Request,
    now: Timestamp,
) -> Result<Response<Body>, ApiError> {
    let started = Instant::now();
    let credentials = Credentials::TwilioSignature {
        token: &deps.token,
        public_base: deps.public_base.as_ref(),
    };
    // Credentials before the hook: a stranger learns nothing of the routes.
    let path = req.raw_http_path();
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let Some(hook) = Hook::parse(last) else {
        accept(req, Route::Twilio(Hook::Voice), credentials, now)?;
        return Err(ApiError::not_found(format!(
            "unknown hook {last:?}: use /twilio/voice, /twilio/dial, /twilio/call-status, /twilio/recording, /twilio/messages or /twilio/message-status"
        )));
    };
    let (delivery, _) = accept(req, Route::Twilio(hook), credentials, now)?;
    let payload = delivery.as_payload();
    let inbound = Inbound {
        hook,
        is_post: payload.is_post,
        query: payload.query,
        body: payload.body,
        content_type: payload.content_type,
    };
    let reading = twilio::read(&inbound, now, deps.retention_days).map_err(Unreadable::from);
    let our_number = reading.as_ref().ok().and_then(|r| r.event.to.clone());
    let read_config = async {
        match our_number {
            Some(number) if hook.needs_config() => Some(
                configured_answer_source(
                    &deps.store,
                    &deps.config_cache,
                    deps.fallback.as_ref(),
                    deps.deadline,
                    &number,
                )
                .await,
            ),
            _ => None,
        }
    };
    let (kept, config) = tokio::join!(
        keep(
            &deps.store,
            &delivery,
            reading.as_ref().map(|r| &r.plan),
            deps.retention_days,
            deps.deadline.total,
        ),
        read_config
    );
    log_delivery(
        &delivery,
        reading.as_ref().ok().map(|r| &r.event),
        kept.as_ref().map(|o| *o).map_err(|e| e.0.as_str()),
        started,
    );
    if kept.is_err() && !hook.needs_config() {
        // Nobody is listening: a retry is kept once.
        return Err(ApiError::storage_unavailable());
    }
    let answer = match &reading {
        Ok(reading) => {
            let config: Option<NumberConfig> = config.flatten();
            reading.answer(config.as_ref(), &deps.default_message)
        }
        // A live call we cannot read still gets the fallback's answer.
        Err(_) if hook == Hook::Voice => {
            call_answer::answer_voice(deps.fallback.as_ref(), &deps.default_message)
        }
        Err(_) if hook == Hook::Dial => call_answer::CallAnswer::HangUp { message: None },
        Err(_) => call_answer::CallAnswer::Nothing,
    };
    let origin =
        voxml::CallbackLinks::new(&request_origin(req), voxtelesys::Method::Post, None).origin;
    let links = twiml::CallbackLinks::new(deps.public_base.as_ref(), &origin);
    Ok(xml_answer(
        twiml::render_answer(&answer, &links),
        twiml::CONTENT_TYPE,
    ))
}
