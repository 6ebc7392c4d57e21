//! `X-Twilio-Signature`, as Twilio's webhook security page documents it:
//! base64 of HMAC-SHA1, keyed by the account's auth token, over the full
//! URL Twilio requested (scheme, host, path, query string, and a `#`
//! connection override if the configured URL has one) followed, for a
//! form-encoded POST, by every parameter's name and value sorted by name.
//! A GET is signed over the URL alone (its parameters are in it). A JSON
//! body is not in the signed string: the URL carries `bodySHA256`, the hex
//! SHA-256 of the body, and the signature covers the URL.
//!
//! Twilio may sign a URL with or without its port, so both are accepted
//! (a URL with a port is also tried without it, one without it with the
//! scheme's default port), as Twilio's own libraries do. Everything else
//! in the URL is kept exactly as given. Comparisons are constant-time
//! (`subtle`); a missing token refuses every request (fail closed).
//!
//! The URL Twilio signed is the public one ([`public_url`]): behind API
//! Gateway the request's host and path, or, when a custom domain sits in
//! front, the configured [`PublicBaseUrl`] and the route's path.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha1 = Hmac<Sha1>;

/// The header, as HTTP/2 and API Gateway deliver header names.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
/// The query parameter carrying a JSON body's hex SHA-256.
pub const BODY_SHA256_PARAM: &str = "bodySHA256";
/// HMAC-SHA1 is 20 bytes.
const SIGNATURE_BYTES: usize = 20;

/// Why a request's signature was refused. Every variant is a 401 to the
/// sender; the variant says which check failed, for the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Twilio auth token is configured (TWILIO_AUTH_TOKEN): every request is refused")]
    NotConfigured,
    #[error("missing X-Twilio-Signature header")]
    Missing,
    #[error("X-Twilio-Signature is not base64 of a 20-byte HMAC-SHA1")]
    Malformed,
    #[error("X-Twilio-Signature does not match the URL and parameters")]
    Mismatch,
    #[error("the body's SHA-256 is not the URL's bodySHA256")]
    BodyMismatch,
}

/// What Twilio signed: the public URL it requested and what it sent.
#[derive(Clone, Copy, Debug)]
pub struct SignedRequest<'a> {
    /// The full public URL ([`public_url`]), query string included.
    pub url: &'a str,
    /// A POST's form parameters are signed; a GET's are in the URL.
    pub is_post: bool,
    /// The body as received (before any decoding of its fields).
    pub body: &'a [u8],
}

/// Checks `signature` (the header's value, if any) for `request` with the
/// account's `auth_token` (`None` or empty: not configured, refused).
pub fn verify(
    auth_token: Option<&str>,
    signature: Option<&str>,
    request: &SignedRequest,
) -> Result<(), SignatureError> {
    let token = auth_token
        .filter(|t| !t.is_empty())
        .ok_or(SignatureError::NotConfigured)?;
    let signature = signature
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(SignatureError::Missing)?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature)
        .ok()
        .filter(|bytes| bytes.len() == SIGNATURE_BYTES)
        .ok_or(SignatureError::Malformed)?;

    let params: Vec<(String, String)> = match body_sha256(request.url) {
        Some(expected) => {
            let actual = hex::encode(Sha256::digest(request.body));
            let expected = expected.to_ascii_lowercase();
            if !bool::from(actual.as_bytes().ct_eq(expected.as_bytes())) {
                return Err(SignatureError::BodyMismatch);
            }
            Vec::new()
        }
        None if request.is_post => form_params(request.body),
        None => Vec::new(),
    };
    let mut matched = subtle::Choice::from(0);
    for url in url_variants(request.url) {
        let computed = compute(token, &url, &params);
        matched |= computed.as_slice().ct_eq(&given);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The signature of `url` and `params` as Twilio computes it (base64):
/// for tests, `make dev`'s local signer and the CLI.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(compute(auth_token, url, params))
}

/// The form body's decoded pairs, in the order sent. The signed string
/// takes them sorted by name, and the values of a repeated name sorted too
/// (as Twilio's libraries sort them), so the order does not matter.
pub fn form_params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> [u8; SIGNATURE_BYTES] {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    // HMAC accepts keys of any length; this cannot fail.
    let mut mac =
        HmacSha1::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// The URL's `bodySHA256` query parameter, if it has one.
fn body_sha256(url: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or("");
    let query = without_fragment.split_once('?')?.1;
    form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == BODY_SHA256_PARAM)
        .map(|(_, value)| value.trim().to_string())
}

/// The URL as given, then with its port toggled: removed when it has one,
/// the scheme's default added when it has none (Twilio may sign either).
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    if let Some(other) = port_toggled(url) {
        variants.push(other);
    }
    variants
}

fn port_toggled(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    // Userinfo (`user:pass@`) is not the port's colon.
    let host_start = authority.rfind('@').map_or(0, |at| at + 1);
    let (userinfo, host_port) = authority.split_at(host_start);
    // A bracketed IPv6 host has colons of its own; the port follows `]`.
    let port_colon = match host_port.rfind(']') {
        Some(bracket) => host_port[bracket..].find(':').map(|c| bracket + c),
        None => host_port.rfind(':'),
    };
    let host_port = match port_colon {
        Some(colon) if host_port[colon + 1..].bytes().all(|b| b.is_ascii_digit()) => {
            host_port[..colon].to_string()
        }
        Some(_) => return None,
        None if host_port.is_empty() => return None,
        None => format!("{host_port}:{default_port}"),
    };
    Some(format!("{scheme}://{userinfo}{host_port}{tail}"))
}

/// The public base of the webhooks when a custom domain (or anything else
/// that rewrites the host) sits in front of API Gateway: the template's
/// `PublicBaseUrl`, e.g. `https://hooks.example.com/prod`. A `#` fragment
/// (Twilio's connection overrides, `#rc=2&ct=1000`) is kept and appended
/// to every route's URL, since Twilio signs the URL with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicBaseUrl {
    /// Scheme, host and base path, without a trailing slash.
    base: String,
    fragment: Option<String>,
}

/// Why a `PublicBaseUrl` setting cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublicBaseUrlError {
    #[error("PublicBaseUrl must start with https:// (or http:// for a local run), not {0:?}")]
    Scheme(String),
    #[error("PublicBaseUrl has no host")]
    NoHost,
    #[error("PublicBaseUrl must not have a query string: each request's own query is appended")]
    Query,
}

impl PublicBaseUrl {
    pub fn parse(text: &str) -> Result<Self, PublicBaseUrlError> {
        let text = text.trim();
        let (url, fragment) = match text.split_once('#') {
            Some((url, fragment)) => (url, Some(fragment.to_string())),
            None => (text, None),
        };
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            let shown: String = url.chars().take(40).collect();
            return Err(PublicBaseUrlError::Scheme(shown));
        }
        if url.contains('?') {
            return Err(PublicBaseUrlError::Query);
        }
        let after_scheme = url.split_once("://").map_or("", |(_, rest)| rest);
        if after_scheme.split('/').next().unwrap_or("").is_empty() {
            return Err(PublicBaseUrlError::NoHost);
        }
        Ok(PublicBaseUrl {
            base: url.trim_end_matches('/').to_string(),
            fragment: fragment.filter(|f| !f.is_empty()),
        })
    }

    /// The base, without a trailing slash or fragment.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The connection-override fragment, if the setting has one.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }

    /// The public URL of a route path (`/twilio/dial`), with an optional
    /// raw query string and the fragment: also where the TwiML's `action`
    /// callbacks point.
    pub fn url(&self, route_path: &str, query: &str) -> String {
        let mut url = format!("{}{route_path}", self.base);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        if let Some(fragment) = &self.fragment {
            url.push('#');
            url.push_str(fragment);
        }
        url
    }
}

/// Where a request came in, as the function sees it.
#[derive(Clone, Copy, Debug)]
pub struct RequestTarget<'a> {
    /// The `Host` header (or API Gateway's domain name).
    pub host: &'a str,
    /// The path as requested, stage included (`/prod/twilio/voice`).
    pub path: &'a str,
    /// The route's own path (`/twilio/voice`), appended to a
    /// [`PublicBaseUrl`].
    pub route_path: &'a str,
    /// The raw query string as received (without `?`), every byte kept:
    /// it is part of what Twilio signed.
    pub query: &'a str,
}

/// The URL Twilio requested: the [`PublicBaseUrl`] and the route's path
/// when one is configured, else `https://{host}{path}` (`http` for a
/// loopback host, as `make dev` serves), with the query string.
pub fn public_url(base: Option<&PublicBaseUrl>, target: &RequestTarget) -> String {
    if let Some(base) = base {
        return base.url(target.route_path, target.query);
    }
    let host = target.host.trim();
    let loopback = ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|l| host == *l || host.starts_with(&format!("{l}:")));
    let scheme = if loopback { "http" } else { "https" };
    let mut url = format!("{scheme}://{host}{}", target.path);
    if !target.query.is_empty() {
        url.push('?');
        url.push_str(target.query);
    }
    url
}

/// The account's auth token as the function holds it: configured, explicitly
/// open (`ALLOW_UNAUTHENTICATED=true` with no token), or missing, which
/// refuses every request (fail closed).
#[derive(Clone)]
pub struct AuthToken {
    state: TokenState,
}

#[derive(Clone)]
enum TokenState {
    Configured(String),
    Open,
    /// The variable that should have held the token.
    Missing(String),
}

impl std::fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself.
        let state = match self.state {
            TokenState::Configured(_) => "configured",
            TokenState::Open => "open",
            TokenState::Missing(_) => "missing",
        };
        f.debug_struct("AuthToken").field("state", &state).finish()
    }
}

impl AuthToken {
    /// A token (`None` or empty: open, as in tests and `new(None)`).
    pub fn new(token: Option<&str>) -> Self {
        let state = match token.filter(|t| !t.is_empty()) {
            Some(token) => TokenState::Configured(token.to_string()),
            None => TokenState::Open,
        };
        AuthToken { state }
    }

    /// From the variable `name` of `get`: set, or open only when the
    /// operator opted in with `ALLOW_UNAUTHENTICATED=true`, else missing;
    /// either of the last two is said once, at start-up, as the other
    /// providers' secrets say it.
    pub fn from_vars(name: &str, get: impl Fn(&str) -> Option<String>) -> Self {
        match get(name).filter(|t| !t.is_empty()) {
            Some(token) => Self::new(Some(&token)),
            None if crate::fail_closed::unauthenticated_allowed(&get) => {
                tracing::warn!(
                    variable = name,
                    "secret not set and ALLOW_UNAUTHENTICATED=true: requests are accepted without authentication"
                );
                AuthToken {
                    state: TokenState::Open,
                }
            }
            None => {
                tracing::error!(
                    variable = name,
                    "secret not set: every request is refused with 401; set {name}, or ALLOW_UNAUTHENTICATED=true to accept requests without authentication"
                );
                AuthToken {
                    state: TokenState::Missing(name.to_string()),
                }
            }
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, TokenState::Open)
    }

    /// Checks a request's `X-Twilio-Signature` (its value, if any).
    pub fn verify(
        &self,
        signature: Option<&str>,
        request: &SignedRequest,
    ) -> Result<(), SignatureError> {
        match &self.state {
            TokenState::Configured(token) => verify(Some(token), signature, request),
            TokenState::Open => Ok(()),
            TokenState::Missing(variable) => {
                tracing::warn!(variable = %variable, "refused: secret not set");
                Err(SignatureError::NotConfigured)
            }
        }
    }
}

#[cfg(test)]
mod tests;
