//! Who may talk to the console: the console listens on 127.0.0.1 only, and
//! every request must also name this console in its `Host` (a page of
//! another site whose name was pointed at 127.0.0.1, DNS rebinding, names
//! its own host) and carry this run's random token (in the URL the console
//! printed, then in a cookie). A request that changes something also needs
//! the token in its form and an `Origin` of this console (no other page can
//! submit a form to it).

use subtle::ConstantTimeEq;

/// The per-run secret: 32 random bytes as hex.
pub fn new_token() -> Result<String, NoRandomness> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(NoRandomness)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The system gave no random bytes for the token.
#[derive(Debug, thiserror::Error)]
#[error("no randomness for the token: {0}")]
pub struct NoRandomness(getrandom::Error);

/// What a request must match.
#[derive(Clone, Debug)]
pub struct Guard {
    pub port: u16,
    pub token: String,
}

/// Why a request was turned away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The `Host` is not this console's.
    WrongHost,
    /// No token, or another one.
    NoToken,
    /// A state-changing request from another origin (or none named).
    CrossOrigin,
}

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Refusal::WrongHost => 421,
            Refusal::NoToken | Refusal::CrossOrigin => 403,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::WrongHost => {
                "this console answers only as 127.0.0.1 or localhost on its own port"
            }
            Refusal::NoToken => {
                "open the console with the URL it printed (it carries this run's token)"
            }
            Refusal::CrossOrigin => "changes are accepted only from the console's own pages",
        }
    }
}

impl Guard {
    /// The cookie the token is kept in; its name carries the port, since
    /// cookies are shared between ports of one host.
    pub fn cookie_name(&self) -> String {
        format!("callhooks_console_{}", self.port)
    }

    /// The `Set-Cookie` value keeping the token: not readable by scripts,
    /// never sent with a request another site starts.
    pub fn set_cookie(&self) -> String {
        format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie_name(),
            self.token
        )
    }

    fn origins(&self) -> [String; 2] {
        [
            format!("http://127.0.0.1:{}", self.port),
            format!("http://localhost:{}", self.port),
        ]
    }

    /// The URL printed (and opened): the token once in the query.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/?token={}", self.port, self.token)
    }

    pub fn host_ok(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        self.origins()
            .iter()
            .any(|o| o.strip_prefix("http://") == Some(host.to_ascii_lowercase().as_str()))
    }

    fn same(&self, given: &str) -> bool {
        given.as_bytes().ct_eq(self.token.as_bytes()).into()
    }

    /// The token of the request: from the query's `token` or the cookie.
    pub fn token_ok(&self, query_token: Option<&str>, cookie_header: Option<&str>) -> bool {
        if query_token.is_some_and(|t| self.same(t)) {
            return true;
        }
        let name = self.cookie_name();
        cookie_header.is_some_and(|header| {
            header.split(';').any(|pair| {
                pair.trim()
                    .split_once('=')
                    .is_some_and(|(k, v)| k == name && self.same(v))
            })
        })
    }

    /// A state-changing request: the token in its form and the console's
    /// own origin.
    pub fn change_ok(&self, origin: Option<&str>, form_token: Option<&str>) -> bool {
        let same_origin = origin.is_some_and(|o| self.origins().iter().any(|ours| ours == o));
        same_origin && form_token.is_some_and(|t| self.same(t))
    }

    /// The whole check of a request; `changes` for POST.
    pub fn check(&self, request: &RequestFacts<'_>) -> Result<(), Refusal> {
        if !self.host_ok(request.host) {
            return Err(Refusal::WrongHost);
        }
        if !self.token_ok(request.query_token, request.cookie) {
            return Err(Refusal::NoToken);
        }
        if request.changes && !self.change_ok(request.origin, request.form_token) {
            return Err(Refusal::CrossOrigin);
        }
        Ok(())
    }
}

/// What the guard looks at in a request.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFacts<'a> {
    pub host: Option<&'a str>,
    pub query_token: Option<&'a str>,
    pub cookie: Option<&'a str>,
    pub origin: Option<&'a str>,
    pub form_token: Option<&'a str>,
    pub changes: bool,
}

/// The Content-Security-Policy of every answer: nothing but this console's
/// own stylesheet and images, no script at all, forms only to itself, never
/// framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard {
            port: 8787,
            token: "a".repeat(64),
        }
    }

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn only_our_host_and_port() {
        let g = guard();
        assert!(g.host_ok(Some("127.0.0.1:8787")));
        assert!(g.host_ok(Some("LOCALHOST:8787")));
        assert!(!g.host_ok(Some("evil.example:8787")));
        assert!(!g.host_ok(Some("127.0.0.1:8788")));
        assert!(!g.host_ok(Some("127.0.0.1")));
        assert!(!g.host_ok(None));
    }

    #[test]
    fn the_token_from_the_url_or_our_cookie() {
        let g = guard();
        let token = g.token.clone();
        assert!(g.token_ok(Some(&token), None));
        let cookie = format!("other=1; callhooks_console_8787={token}");
        assert!(g.token_ok(None, Some(&cookie)));
        // Another port's console cookie is not ours.
        assert!(!g.token_ok(None, Some(&format!("callhooks_console_9999={token}"))));
        assert!(!g.token_ok(Some("b"), Some("callhooks_console_8787=b")));
        assert!(!g.token_ok(None, None));
    }

    #[test]
    fn changes_need_the_form_token_and_our_origin() {
        let g = guard();
        let token = g.token.clone();
        let cookie = format!("callhooks_console_8787={token}");
        let post = |origin, form| RequestFacts {
            host: Some("127.0.0.1:8787"),
            cookie: Some(&cookie),
            origin,
            form_token: form,
            changes: true,
            ..Default::default()
        };
        assert_eq!(
            g.check(&post(Some("http://127.0.0.1:8787"), Some(&token))),
            Ok(())
        );
        assert_eq!(
            g.check(&post(Some("http://evil.example"), Some(&token))),
            Err(Refusal::CrossOrigin)
        );
        assert_eq!(
            g.check(&post(None, Some(&token))),
            Err(Refusal::CrossOrigin)
        );
        assert_eq!(
            g.check(&post(Some("http://127.0.0.1:8787"), None)),
            Err(Refusal::CrossOrigin)
        );
        let rebound = RequestFacts {
            host: Some("attacker.example:8787"),
            cookie: Some(&cookie),
            ..Default::default()
        };
        assert_eq!(g.check(&rebound), Err(Refusal::WrongHost));
    }
}
