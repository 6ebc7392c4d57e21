//! Authentication of webhook requests.
//!
//! Zonitel, Salpre and Voxtelesys sign nothing, so they prove themselves with
//! a shared secret: `Authorization: Bearer <token>` where the provider can
//! send headers, or a `token` query parameter where it only takes a URL.
//! Secrets are compared in constant time over their SHA-256 digests, so
//! neither the content nor the length of the secret leaks through timing.

use crate::http::{header_str, ApiError};
use lambda_http::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The name of the query parameter that may carry the shared secret.
pub const TOKEN_QUERY_PARAM: &str = "token";

/// A provider's shared secret; `None` when it is not configured, which turns
/// the check off (the function logs a warning once at start-up).
#[derive(Clone)]
pub struct SharedSecret {
    digest: Option<[u8; 32]>,
}

/// How a request proved itself, so callbacks we hand out can do the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// No secret is configured; nothing was checked.
    NotRequired,
    BearerHeader,
    /// The token came in the query string; callback URLs must carry it too.
    QueryToken(String),
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even its digest.
        f.write_str(if self.digest.is_some() {
            "SharedSecret(configured)"
        } else {
            "SharedSecret(disabled)"
        })
    }
}

impl SharedSecret {
    /// An empty or missing value disables the check.
    pub fn new(token: Option<&str>) -> Self {
        SharedSecret {
            digest: token.filter(|t| !t.is_empty()).map(digest),
        }
    }

    /// Reads the secret from the environment variable `name`, warning once
    /// when it is not set.
    pub fn from_env(name: &str) -> Self {
        let secret = Self::new(std::env::var(name).ok().as_deref());
        if !secret.is_enabled() {
            tracing::warn!(
                variable = name,
                "secret not set: requests are accepted without authentication"
            );
        }
        secret
    }

    pub fn is_enabled(&self) -> bool {
        self.digest.is_some()
    }

    /// Checks the Authorization header, else the `token` query parameter.
    /// A present but wrong header is refused even if the query is right.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        query_token: Option<&str>,
    ) -> Result<Credential, ApiError> {
        let Some(expected) = &self.digest else {
            return Ok(Credential::NotRequired);
        };
        if headers.contains_key(header::AUTHORIZATION) {
            let value = header_str(headers, header::AUTHORIZATION.as_str()).unwrap_or("");
            let token = bearer_token(value).ok_or_else(|| {
                ApiError::unauthorized("Authorization header must be \"Bearer <token>\"")
            })?;
            return if matches(expected, token) {
                Ok(Credential::BearerHeader)
            } else {
                Err(ApiError::unauthorized("wrong credentials"))
            };
        }
        match query_token {
            Some(token) if matches(expected, token) => Ok(Credential::QueryToken(token.to_string())),
            Some(_) => Err(ApiError::unauthorized("wrong credentials")),
            None => Err(ApiError::unauthorized(
                "missing credentials: send \"Authorization: Bearer <token>\" or the token query parameter",
            )),
        }
    }
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

fn matches(expected: &[u8; 32], candidate: &str) -> bool {
    bool::from(expected.ct_eq(&digest(candidate)))
}

/// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 7235).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn with_auth(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn disabled_secret_accepts_anything() {
        let secret = SharedSecret::new(None);
        assert_eq!(
            secret.verify(&HeaderMap::new(), None),
            Ok(Credential::NotRequired)
        );
        assert_eq!(
            SharedSecret::new(Some("")).verify(&with_auth("Bearer x"), None),
            Ok(Credential::NotRequired)
        );
    }

    #[test]
    fn bearer_header_is_accepted() {
        let secret = SharedSecret::new(Some("s3cret"));
        assert_eq!(
            secret.verify(&with_auth("Bearer s3cret"), None),
            Ok(Credential::BearerHeader)
        );
        assert_eq!(
            secret.verify(&with_auth("bearer  s3cret "), None),
            Ok(Credential::BearerHeader)
        );
    }

    #[test]
    fn query_token_is_accepted_and_remembered() {
        let secret = SharedSecret::new(Some("s3cret"));
        assert_eq!(
            secret.verify(&HeaderMap::new(), Some("s3cret")),
            Ok(Credential::QueryToken("s3cret".into()))
        );
    }

    #[test]
    fn every_wrong_credential_is_401() {
        let secret = SharedSecret::new(Some("s3cret"));
        let cases: Vec<(HeaderMap, Option<&str>)> = vec![
            (HeaderMap::new(), None),                    // missing
            (with_auth("Bearer wrong"), None),           // wrong token
            (with_auth("Bearer s3cre"), None),           // prefix of the token
            (with_auth("Bearer s3cret2"), None),         // token plus more
            (with_auth("Basic s3cret"), None),           // wrong scheme
            (with_auth("s3cret"), None),                 // no scheme
            (with_auth("Bearer "), None),                // empty token
            (HeaderMap::new(), Some("wrong")),           // wrong query token
            (HeaderMap::new(), Some("")),                // empty query token
            (with_auth("Bearer wrong"), Some("s3cret")), // wrong header wins
        ];
        for (headers, query) in cases {
            let err = secret.verify(&headers, query).unwrap_err();
            assert_eq!(err.status.as_u16(), 401, "{headers:?} {query:?}");
            assert!(!err.message.contains("s3cret"));
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let printed = format!("{:?}", SharedSecret::new(Some("s3cret")));
        assert!(!printed.contains("s3cret"));
    }
}
