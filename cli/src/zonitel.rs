//! `callhooks register zonitel`: puts our two URLs into Zonitel through its
//! API (docs/operating.md#registering-with-zonitel), then reads both back and compares.
//!
//! | webhook | register | read back |
//! |---|---|---|
//! | incoming calls | `POST /api/v3/calls/webhooks` `{"url"}` | `GET /api/v3/calls/webhooks` |
//! | SMS | `PUT /api/v3/integrations/sms/webhooks` `{"url"}` | `GET /api/v3/integrations/sms/webhooks` |
//!
//! Every request carries `X-Client-Id` and `Authorization: Bearer`.

use crate::CliError;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

pub const DEFAULT_API_BASE: &str = "https://api.zonitel.com";
pub const CALLS_PATH: &str = "/api/v3/calls/webhooks";
pub const SMS_PATH: &str = "/api/v3/integrations/sms/webhooks";

/// Credentials for Zonitel's API, from the environment.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub access_token: String,
}

impl Credentials {
    /// `ZONITEL_CLIENT_ID` and `ZONITEL_ACCESS_TOKEN`; a missing or empty
    /// one is a usage error naming it.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, CliError> {
        let need = |name: &str, what: &str| {
            get(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                CliError::Invalid(format!(
                    "{name} is not set: export {name}=<{what}> (from your Zonitel account's API settings) and run again"
                ))
            })
        };
        Ok(Credentials {
            client_id: need("ZONITEL_CLIENT_ID", "your client id, a UUID")?,
            access_token: need("ZONITEL_ACCESS_TOKEN", "an API access token")?,
        })
    }
}

/// Which of the two webhooks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Webhook {
    Calls,
    Sms,
}

impl Webhook {
    fn path(self) -> &'static str {
        match self {
            Webhook::Calls => CALLS_PATH,
            Webhook::Sms => SMS_PATH,
        }
    }
    fn method(self) -> reqwest::Method {
        match self {
            Webhook::Calls => reqwest::Method::POST,
            Webhook::Sms => reqwest::Method::PUT,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Webhook::Calls => "incoming calls",
            Webhook::Sms => "SMS",
        }
    }
}

/// Checks a webhook URL before anything is sent: Zonitel takes only
/// public HTTPS URLs, and a typo found after registering costs calls.
pub fn check_webhook_url(flag: &str, url: &str) -> Result<reqwest::Url, CliError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| CliError::Invalid(format!("{flag} {url:?}: not a URL ({e})")))?;
    if parsed.scheme() != "https" {
        return Err(CliError::Invalid(format!(
            "{flag} {}: Zonitel only calls HTTPS URLs; use the https:// URL from `callhooks urls --stack <name>`",
            redact(url)
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(CliError::Invalid(format!("{flag} {url:?}: no host")));
    }
    Ok(parsed)
}

/// The URL with the value of a `token` query parameter hidden, for output.
pub fn redact(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return url.to_string();
    };
    if !parsed.query_pairs().any(|(k, _)| k == "token") {
        return url.to_string();
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "token" {
                "…".to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string().replace("%E2%80%A6", "…")
}

/// The outcome for one webhook.
#[derive(Clone, Debug, Serialize)]
pub struct Registered {
    pub webhook: Webhook,
    pub sent: String,
    pub read_back: Option<String>,
    pub matches: bool,
}

pub struct Zonitel {
    http: reqwest::Client,
    base: reqwest::Url,
    credentials: Credentials,
}

impl Zonitel {
    pub fn new(api_base: &str, credentials: Credentials) -> Result<Self, CliError> {
        let base = reqwest::Url::parse(api_base)
            .map_err(|e| CliError::Invalid(format!("--api-base {api_base:?}: not a URL ({e})")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("callhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Failure(format!("cannot build the HTTP client: {e}")))?;
        Ok(Zonitel {
            http,
            base,
            credentials,
        })
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    async fn call(
        &self,
        method: reqwest::Method,
        webhook: Webhook,
        body: Option<&str>,
    ) -> Result<Value, CliError> {
        let path = webhook.path();
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .header("X-Client-Id", &self.credentials.client_id)
            .bearer_auth(&self.credentials.access_token)
            .header("Accept", "application/json");
        if let Some(url) = body {
            request = request.json(&serde_json::json!({ "url": url }));
        }
        let what = format!("{method} {path}");
        let response = request.send().await.map_err(|e| {
            let why = if e.is_timeout() {
                "no answer in time".to_string()
            } else if e.is_connect() {
                "cannot connect".to_string()
            } else {
                e.to_string()
            };
            CliError::Failure(format!(
                "{what}: {why} ({}); check --api-base / ZONITEL_API_BASE and your network, then run again",
                self.base
            ))
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let said = body
            .get("message")
            .and_then(Value::as_str)
            .map(|m| format!(" \"{m}\""))
            .unwrap_or_default();
        let reading = method == reqwest::Method::GET;
        let advice = match status {
            200..=299 => return Ok(body),
            400 => "Zonitel found the request invalid; check the URL is a public HTTPS URL (`callhooks urls`) and run again".to_string(),
            401 => "ZONITEL_ACCESS_TOKEN is missing, wrong or expired; create a new access token in Zonitel's API settings, export it and run again".to_string(),
            403 => format!(
                "the access token is not allowed to manage webhooks for client {}; check that ZONITEL_CLIENT_ID is the client the token belongs to and that the account may use the API",
                self.credentials.client_id
            ),
            404 if reading => format!(
                "Zonitel has no {} webhook URL configured: the registration did not take; run `callhooks register zonitel` again, and if this repeats contact Zonitel support",
                webhook.label()
            ),
            404 => format!(
                "Zonitel has no such endpoint at {}; check --api-base / ZONITEL_API_BASE (default {DEFAULT_API_BASE})",
                self.base
            ),
            500..=599 => "Zonitel had an internal error; nothing may have changed; wait a minute and run again, and if it persists contact Zonitel support".to_string(),
            _ => format!("unexpected answer: {}", text.chars().take(200).collect::<String>()),
        };
        Err(CliError::Failure(format!(
            "{what}: Zonitel answered {status}{said}: {advice}"
        )))
    }

    /// Registers `url` for `webhook`, then reads it back.
    pub async fn register(&self, webhook: Webhook, url: &str) -> Result<Registered, CliError> {
        self.call(webhook.method(), webhook, Some(url)).await?;
        let read = self.call(reqwest::Method::GET, webhook, None).await?;
        let read_back = read
            .pointer("/data/url")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Registered {
            webhook,
            sent: url.to_string(),
            matches: read_back.as_deref() == Some(url),
            read_back,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_are_registered() {
        assert!(
            check_webhook_url("--calls-url", "https://x.example/zonitel/calls?token=a").is_ok()
        );
        let err = check_webhook_url("--calls-url", "http://x.example/zonitel/calls?token=secret")
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains("HTTPS"), "{}", err.message());
        assert!(!err.message().contains("secret"), "{}", err.message());
        assert!(check_webhook_url("--sms-url", "not a url").is_err());
    }

    #[test]
    fn tokens_are_hidden_in_output() {
        assert_eq!(
            redact("https://x.example/zonitel/sms?token=s3cret&a=1"),
            "https://x.example/zonitel/sms?token=…&a=1"
        );
        assert_eq!(redact("https://x.example/a"), "https://x.example/a");
    }

    #[test]
    fn missing_credentials_are_named() {
        let err = Credentials::from_env(|n| (n == "ZONITEL_CLIENT_ID").then(|| "c".into()))
            .err()
            .unwrap();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains("ZONITEL_ACCESS_TOKEN"));
    }

    #[test]
    fn api_base_may_carry_a_path() {
        let creds = Credentials {
            client_id: "c".into(),
            access_token: "t".into(),
        };
        let z = Zonitel::new("http://127.0.0.1:9/prefix/", creds).unwrap();
        assert_eq!(
            z.url(CALLS_PATH).as_str(),
            "http://127.0.0.1:9/prefix/api/v3/calls/webhooks"
        );
    }
}
