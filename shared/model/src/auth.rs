//! Authentication of webhook requests.
//!
//! Zonitel, Salpre and Voxtelesys sign nothing, so they prove themselves with
//! a shared secret: `Authorization: Bearer <token>` where the provider can
//! send headers, or a `token` query parameter where it only takes a URL.
//! Secrets are compared in constant time over their SHA-256 digests, so
//! neither the content nor the length of the secret leaks through timing.
//!
//! Fail closed: a deployed function whose secret variable is unset or empty
//! refuses every request with 401 (and says so in its log at start-up and
//! once per refused request) unless the operator explicitly chose an open
//! route with `ALLOW_UNAUTHENTICATED=true` ([`crate::fail_closed`], which
//! Retell's and Twilio's signature checks follow too).

use crate::fail_closed::{unauthenticated_allowed, NOT_CONFIGURED};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The name of the query parameter that may carry the shared secret.
pub const TOKEN_QUERY_PARAM: &str = "token";

/// A provider's shared secret, or what stands in for it: nothing to check
/// (the operator chose an open route), or a secret that should be set and
/// is not, which refuses every request (fail closed).
#[derive(Clone)]
pub struct SharedSecret {
    state: SecretState,
}

#[derive(Clone)]
enum SecretState {
    Required([u8; 32]),
    /// Explicitly open: `new(None)` in code, or `ALLOW_UNAUTHENTICATED=true`.
    Open,
    /// The variable that should hold the secret is unset or empty.
    Missing(String),
}

/// How a request proved itself, so callbacks we hand out can do the same.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// The route is explicitly open; nothing was checked.
    NotRequired,
    BearerHeader,
    /// The token came in the query string; callback URLs must carry it too.
    QueryToken(String),
    /// A signed request (Retell): when it was signed, and the digest that
    /// names these signed bytes (a replay of them carries the same).
    Signed {
        signed_ms: i64,
        digest_hex: String,
    },
}

impl std::fmt::Debug for Credential {
    /// The token never reaches a log line or a panic message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::NotRequired => f.write_str("NotRequired"),
            Credential::BearerHeader => f.write_str("BearerHeader"),
            Credential::QueryToken(_) => f.write_str("QueryToken(<redacted>)"),
            Credential::Signed { signed_ms, .. } => write!(f, "Signed(at {signed_ms})"),
        }
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret, not even its digest.
        match &self.state {
            SecretState::Required(_) => f.write_str("SharedSecret(configured)"),
            SecretState::Open => f.write_str("SharedSecret(open)"),
            SecretState::Missing(variable) => write!(f, "SharedSecret(missing {variable})"),
        }
    }
}

/// Why a request did not prove itself: every one is a 401 at the edge, and
/// its text is what the sender reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("{NOT_CONFIGURED}")]
    NotConfigured,
    #[error("Authorization header must be \"Bearer <token>\"")]
    MalformedAuthorization,
    #[error("wrong credentials")]
    WrongCredentials,
    #[error(
        "missing credentials: send \"Authorization: Bearer <token>\" or the token query parameter"
    )]
    MissingCredentials,
    /// A signed provider's signature (Retell) did not verify.
    #[error(transparent)]
    Signature(#[from] crate::signature::SignatureError),
}

impl SharedSecret {
    /// A secret to require; `None` or an empty value is an explicitly open
    /// route (tests, tools). Deployed functions use [`Self::from_env`],
    /// which never opens a route unless the operator asked for it.
    pub fn new(token: Option<&str>) -> Self {
        SharedSecret {
            state: match token.filter(|t| !t.is_empty()) {
                Some(token) => SecretState::Required(digest(token)),
                None => SecretState::Open,
            },
        }
    }

    /// A secret that should be in `variable` and is not: refuses everything.
    pub fn missing(variable: &str) -> Self {
        SharedSecret {
            state: SecretState::Missing(variable.to_string()),
        }
    }

    /// Reads the secret from the environment variable `name`. Unset or
    /// empty, it refuses every request unless `ALLOW_UNAUTHENTICATED=true`;
    /// either way it says so once, at start-up.
    pub fn from_env(name: &str) -> Self {
        Self::from_vars(name, |var| std::env::var(var).ok())
    }

    /// [`Self::from_env`] over any source of variables.
    pub fn from_vars(name: &str, get: impl Fn(&str) -> Option<String>) -> Self {
        match get(name).filter(|t| !t.is_empty()) {
            Some(token) => Self::new(Some(&token)),
            None if unauthenticated_allowed(&get) => {
                tracing::warn!(
                    variable = name,
                    "secret not set and ALLOW_UNAUTHENTICATED=true: requests are accepted without authentication"
                );
                Self::new(None)
            }
            None => {
                tracing::error!(
                    variable = name,
                    "secret not set: every request is refused with 401; set {name}, or ALLOW_UNAUTHENTICATED=true to accept requests without authentication"
                );
                Self::missing(name)
            }
        }
    }

    /// Whether requests must prove themselves (also when the secret is
    /// missing: then none can).
    pub fn is_enabled(&self) -> bool {
        !matches!(self.state, SecretState::Open)
    }

    /// Checks the Authorization header (its value, `Some("")` when present
    /// but not text), else the `token` query parameter. A present but wrong
    /// header is refused even if the query is right.
    pub fn verify(
        &self,
        authorization: Option<&str>,
        query_token: Option<&str>,
    ) -> Result<Credential, AuthError> {
        let expected = match &self.state {
            SecretState::Required(digest) => digest,
            SecretState::Open => return Ok(Credential::NotRequired),
            SecretState::Missing(variable) => {
                tracing::warn!(variable = %variable, "refused: secret not set");
                return Err(AuthError::NotConfigured);
            }
        };
        if let Some(value) = authorization {
            let token = bearer_token(value).ok_or(AuthError::MalformedAuthorization)?;
            return if matches(expected, token) {
                Ok(Credential::BearerHeader)
            } else {
                Err(AuthError::WrongCredentials)
            };
        }
        match query_token {
            Some(token) if matches(expected, token) => {
                Ok(Credential::QueryToken(token.to_string()))
            }
            Some(_) => Err(AuthError::WrongCredentials),
            None => Err(AuthError::MissingCredentials),
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
    use crate::fail_closed::ALLOW_UNAUTHENTICATED_VAR;

    fn with_auth(value: &str) -> Option<&str> {
        Some(value)
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn refuses_everything(secret: &SharedSecret) {
        for (headers, query) in [
            (None, None),
            (with_auth("Bearer anything"), None),
            (with_auth("Bearer "), None),
            (None, Some("")),
            (None, Some("anything")),
        ] {
            let err = secret.verify(headers, query).unwrap_err();
            assert_eq!(err, AuthError::NotConfigured, "{headers:?} {query:?}");
            assert_eq!(err.to_string(), NOT_CONFIGURED);
        }
    }

    #[test]
    fn an_unset_secret_refuses_every_request() {
        let secret = SharedSecret::from_vars("ZONITEL_WEBHOOK_TOKEN", vars(&[]));
        assert!(secret.is_enabled());
        refuses_everything(&secret);
        assert_eq!(
            format!("{secret:?}"),
            "SharedSecret(missing ZONITEL_WEBHOOK_TOKEN)"
        );
    }

    #[test]
    fn an_empty_secret_refuses_every_request() {
        let secret = SharedSecret::from_vars(
            "SALPRE_WEBHOOK_TOKEN",
            vars(&[("SALPRE_WEBHOOK_TOKEN", "")]),
        );
        refuses_everything(&secret);
    }

    #[test]
    fn only_an_explicit_true_opens_a_route_without_secret() {
        for value in ["true", "TRUE", " True "] {
            let secret = SharedSecret::from_vars(
                "VOXTELESYS_WEBHOOK_TOKEN",
                vars(&[(ALLOW_UNAUTHENTICATED_VAR, value)]),
            );
            assert!(!secret.is_enabled(), "{value:?}");
            assert_eq!(secret.verify(None, None), Ok(Credential::NotRequired));
        }
        for value in ["", "1", "yes", "false", "ture"] {
            let secret = SharedSecret::from_vars(
                "VOXTELESYS_WEBHOOK_TOKEN",
                vars(&[(ALLOW_UNAUTHENTICATED_VAR, value)]),
            );
            refuses_everything(&secret);
        }
    }

    #[test]
    fn a_set_secret_is_required_whatever_the_opt_in_says() {
        let secret = SharedSecret::from_vars(
            "ZONITEL_WEBHOOK_TOKEN",
            vars(&[
                ("ZONITEL_WEBHOOK_TOKEN", "s3cret"),
                (ALLOW_UNAUTHENTICATED_VAR, "true"),
            ]),
        );
        assert!(secret.verify(None, None).is_err());
        assert_eq!(
            secret.verify(with_auth("Bearer s3cret"), None),
            Ok(Credential::BearerHeader)
        );
        assert!(!format!("{secret:?}").contains("s3cret"));
    }

    #[test]
    fn explicitly_open_secret_accepts_anything() {
        let secret = SharedSecret::new(None);
        assert_eq!(secret.verify(None, None), Ok(Credential::NotRequired));
        assert_eq!(
            SharedSecret::new(Some("")).verify(with_auth("Bearer x"), None),
            Ok(Credential::NotRequired)
        );
    }

    #[test]
    fn bearer_header_is_accepted() {
        let secret = SharedSecret::new(Some("s3cret"));
        assert_eq!(
            secret.verify(with_auth("Bearer s3cret"), None),
            Ok(Credential::BearerHeader)
        );
        assert_eq!(
            secret.verify(with_auth("bearer  s3cret "), None),
            Ok(Credential::BearerHeader)
        );
    }

    #[test]
    fn query_token_is_accepted_and_remembered() {
        let secret = SharedSecret::new(Some("s3cret"));
        assert_eq!(
            secret.verify(None, Some("s3cret")),
            Ok(Credential::QueryToken("s3cret".into()))
        );
    }

    #[test]
    fn every_wrong_credential_is_401() {
        let secret = SharedSecret::new(Some("s3cret"));
        let cases: Vec<(Option<&str>, Option<&str>)> = vec![
            (None, None),                                // missing
            (with_auth("Bearer wrong"), None),           // wrong token
            (with_auth("Bearer s3cre"), None),           // prefix of the token
            (with_auth("Bearer s3cret2"), None),         // token plus more
            (with_auth("Basic s3cret"), None),           // wrong scheme
            (with_auth("s3cret"), None),                 // no scheme
            (with_auth("Bearer "), None),                // empty token
            (None, Some("wrong")),                       // wrong query token
            (None, Some("")),                            // empty query token
            (with_auth("Bearer wrong"), Some("s3cret")), // wrong header wins
        ];
        for (headers, query) in cases {
            let err = secret.verify(headers, query).unwrap_err();
            assert!(!err.to_string().contains("s3cret"), "{headers:?} {query:?}");
        }
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let printed = format!("{:?}", SharedSecret::new(Some("s3cret")));
        assert!(!printed.contains("s3cret"));
    }

    #[test]
    fn a_query_token_credential_debugs_without_its_token() {
        let printed = format!("{:?}", Credential::QueryToken("s3cret-token".into()));
        assert_eq!(printed, "QueryToken(<redacted>)");
        assert_eq!(format!("{:?}", Credential::BearerHeader), "BearerHeader");
    }
}
