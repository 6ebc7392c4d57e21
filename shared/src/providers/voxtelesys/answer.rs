//! The VoXML answer to a callback, and where its `action` callbacks point.

use super::{CallParams, Callback, Hook, Method, DEFAULT_VOICEMAIL_PROMPT};
use crate::config::{NumberConfig, VoicemailConfig, VoxtelesysConfig};
use crate::voxml::Verb;

impl Callback {
    /// The VoXML answer, derived from the request and the number's
    /// configuration only (never from what storage holds), so a retry gets
    /// the same answer as the first delivery.
    pub fn answer(
        &self,
        config: Option<&NumberConfig>,
        links: &CallbackLinks,
        default_message: &str,
    ) -> Vec<Verb> {
        let vox = config.and_then(|c| c.voxtelesys.as_ref());
        match self.hook {
            Hook::Voice => answer_voice(vox, links, default_message),
            Hook::Dial => match dial_outcome(&self.params) {
                DialOutcome::NotAnswered => {
                    voicemail(vox.and_then(|v| v.voicemail.as_ref()), links)
                }
                DialOutcome::Answered | DialOutcome::Other => vec![Verb::Hangup],
            },
            // The recording hook is the `<Record>` action: the call is over.
            Hook::Recording => vec![Verb::Hangup],
            // Voxtelesys ignores the answer to a status callback.
            Hook::Status => Vec::new(),
        }
    }
}
/// The answer to an incoming call: greet, forward, else voicemail; the
/// default message when the number has no Voxtelesys configuration (also
/// what a live call the function could not read or configure hears).
pub fn answer_voice(
    vox: Option<&VoxtelesysConfig>,
    links: &CallbackLinks,
    default_message: &str,
) -> Vec<Verb> {
    let Some(vox) = vox else {
        return vec![Verb::Say(default_message.to_string()), Verb::Hangup];
    };
    let mut verbs = Vec::new();
    if let Some(greeting) = vox.greeting.as_deref().filter(|g| !g.trim().is_empty()) {
        verbs.push(Verb::Say(greeting.to_string()));
    }
    if !vox.forward_to.is_empty() {
        verbs.push(Verb::Dial {
            numbers: vox.forward_to.iter().map(|n| n.to_string()).collect(),
            timeout_s: vox.ring_timeout_s,
            action: links.url(Hook::Dial),
            method: links.method.clone(),
        });
    } else {
        // Nobody to forward to: straight to voicemail, if on.
        verbs.extend(voicemail(vox.voicemail.as_ref(), links));
    }
    verbs
}

/// The prompt and `<Record>` when voicemail is on, else a hang-up.
fn voicemail(config: Option<&VoicemailConfig>, links: &CallbackLinks) -> Vec<Verb> {
    match config {
        Some(vm) if vm.enabled => vec![
            Verb::Say(
                vm.prompt
                    .as_deref()
                    .filter(|p| !p.trim().is_empty())
                    .unwrap_or(DEFAULT_VOICEMAIL_PROMPT)
                    .to_string(),
            ),
            Verb::Record {
                action: links.url(Hook::Recording),
                method: links.method.clone(),
                max_length_s: vm.max_length_s,
            },
        ],
        _ => vec![Verb::Hangup],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DialOutcome {
    Answered,
    NotAnswered,
    Other,
}

pub(super) fn dial_outcome(params: &CallParams) -> DialOutcome {
    match params
        .dial_call_status
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
        .as_str()
    {
        "completed" | "answered" => DialOutcome::Answered,
        "no-answer" | "busy" | "failed" | "canceled" | "cancelled" => DialOutcome::NotAnswered,
        _ => DialOutcome::Other,
    }
}

/// Where a request came in, as plain text from its headers and API
/// Gateway's context (the function reads them off the request).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Origin<'a> {
    /// The `Host` header: what the provider called.
    pub host: Option<&'a str>,
    /// API Gateway's `domainName`.
    pub domain_name: Option<&'a str>,
    /// API Gateway's stage (`$default` for none).
    pub stage: Option<&'a str>,
    /// `X-Forwarded-Proto`.
    pub forwarded_proto: Option<&'a str>,
}

/// Where the VoXML's `action` callbacks point: absolute URLs on the host
/// and stage the request came in on, with the request's method, carrying
/// the `token` query parameter when the request authenticated with one (or
/// Voxtelesys's callbacks would be refused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackLinks {
    /// `https://host[/stage]`, no trailing slash.
    pub origin: String,
    pub token: Option<String>,
    pub method: String,
}

impl CallbackLinks {
    pub fn url(&self, hook: Hook) -> String {
        let mut url = format!("{}/voxtelesys/{}", self.origin, hook.as_str());
        if let Some(token) = &self.token {
            url.push_str("?token=");
            url.extend(form_urlencoded::byte_serialize(token.as_bytes()));
        }
        url
    }

    /// From where the request came in: the Host header, else API Gateway's
    /// `domainName`; the stage unless it is `$default`; the scheme from
    /// `X-Forwarded-Proto`, else http for a local host and https for any
    /// other; the request's method; and the `token` the request
    /// authenticated with, if it used the query parameter.
    pub fn new(origin: &Origin, method: Method, token: Option<&str>) -> Self {
        let host = [origin.host, origin.domain_name]
            .into_iter()
            .flatten()
            .find(|h| is_host(h))
            .unwrap_or("localhost");
        let local = ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|l| host == *l || host.starts_with(&format!("{l}:")));
        let scheme = match origin.forwarded_proto {
            Some("http") => "http",
            Some("https") => "https",
            _ if local => "http",
            _ => "https",
        };
        let mut origin_url = format!("{scheme}://{host}");
        if let Some(stage) = origin.stage.filter(|s| {
            *s != "$default"
                && !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }) {
            origin_url.push('/');
            origin_url.push_str(stage);
        }
        CallbackLinks {
            origin: origin_url,
            token: token.map(str::to_string),
            method: method.as_str().to_string(),
        }
    }
}

/// A host name, IPv4 or bracketed IPv6 address, with an optional port.
fn is_host(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}
