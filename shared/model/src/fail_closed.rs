//! Fail closed, for every kind of credential (a shared secret, Retell's
//! signing key, Twilio's auth token): a route whose credential is not
//! configured refuses every request, unless the operator explicitly chose
//! open routes.

/// The environment variable by which an operator explicitly accepts
/// unauthenticated requests on a function whose credential is not set
/// (template parameter `AllowUnauthenticated`). Only `true` opts in.
pub const ALLOW_UNAUTHENTICATED_VAR: &str = "ALLOW_UNAUTHENTICATED";

/// Whether the operator opted into open routes: `true` (any case), nothing
/// else, so a typo or an empty value keeps the routes closed.
pub fn unauthenticated_allowed(get: &impl Fn(&str) -> Option<String>) -> bool {
    get(ALLOW_UNAUTHENTICATED_VAR).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The answer to every request of a function whose credential is missing:
/// it names nothing (the log line names the variable).
pub const NOT_CONFIGURED: &str =
    "authentication is not configured on this route: every request is refused";
