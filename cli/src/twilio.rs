//! `callhooks register twilio --number +1...`: points one of the account's
//! Twilio numbers at the stack through Twilio's REST API (the
//! IncomingPhoneNumbers resource), then reads the number back and compares.
//!
//! | step | request |
//! |---|---|
//! | find the number's Sid | `GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json?PhoneNumber=+1...` |
//! | set its URLs | `POST /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json` (form: `VoiceUrl`, `VoiceMethod`, `StatusCallback`, `StatusCallbackMethod`, `SmsUrl`, `SmsMethod`) |
//! | read back | `GET /2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json` |
//!
//! Every request carries HTTP basic auth: the account SID and its auth
//! token, which is never printed. The message status callback is not a
//! setting of the number: the application passes it (`StatusCallback`)
//! with each message it sends, so it is said, not set.

use crate::table::{Table, Tone};
use crate::{CliError, Context};
use callhooks::phone::PhoneNumber;
use callhooks::providers::twilio::Hook;
use callhooks::route_table::Route;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// The environment variable holding the account's auth token (never a
/// flag: command lines end up in shell histories and process lists).
pub const AUTH_TOKEN_VARIABLE: &str = "TWILIO_AUTH_TOKEN";
/// Twilio requests every URL we set with POST: our routes accept it
/// (a unit test holds them to it).
pub const METHOD: &str = "POST";

/// One of the number's settings that points at a route of ours.
#[derive(Clone, Copy, Debug)]
pub struct NumberSetting {
    pub hook: Hook,
    /// As Twilio's Console labels it.
    pub label: &'static str,
    /// The update's form parameters.
    pub url_parameter: &'static str,
    pub method_parameter: &'static str,
    /// The resource's JSON properties, read back.
    pub url_property: &'static str,
    pub method_property: &'static str,
}

/// The number's settings `register twilio` makes, in Twilio's order.
pub const NUMBER_SETTINGS: [NumberSetting; 3] = [
    NumberSetting {
        hook: Hook::Voice,
        label: "A call comes in",
        url_parameter: "VoiceUrl",
        method_parameter: "VoiceMethod",
        url_property: "voice_url",
        method_property: "voice_method",
    },
    NumberSetting {
        hook: Hook::CallStatus,
        label: "Call status changes",
        url_parameter: "StatusCallback",
        method_parameter: "StatusCallbackMethod",
        url_property: "status_callback",
        method_property: "status_callback_method",
    },
    NumberSetting {
        hook: Hook::Messages,
        label: "A message comes in",
        url_parameter: "SmsUrl",
        method_parameter: "SmsMethod",
        url_property: "sms_url",
        method_property: "sms_method",
    },
];

/// The hook whose URL the application passes when it sends a message.
pub const SENDER_HOOK: Hook = Hook::MessageStatus;

/// Why `register twilio` did not (fully) happen. The auth token is in none
/// of them.
#[derive(Debug, thiserror::Error)]
pub enum TwilioError {
    #[error("{variable} is not set: export {variable}=<{what}> (the Twilio Console's account info) and run again")]
    MissingCredential {
        variable: &'static str,
        what: &'static str,
    },
    #[error("--account-sid / TWILIO_ACCOUNT_SID {0:?}: an account SID is AC and 32 hexadecimal digits (the Twilio Console's account info)")]
    BadAccountSid(String),
    #[error("--number {input:?}: {why}; give the number in E.164, e.g. +14155552671")]
    BadNumber { input: String, why: String },
    #[error("{flag} {url:?}: {why}")]
    BadUrl {
        flag: &'static str,
        url: String,
        why: String,
    },
    #[error("no URLs to set: pass --stack NAME (the stack given to `sam deploy`) or --base-url URL (its ApiUrl output, or the custom domain Twilio calls)")]
    NoUrls,
    #[error("stack {stack:?} has no {output} output: deployed from an older template? run `make deploy` again, or pass --base-url")]
    MissingOutput { stack: String, output: &'static str },
    #[error("{request}: {why} ({base}); check --api-base / TWILIO_API_BASE and your network, then run again")]
    Unreachable {
        request: String,
        base: String,
        why: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(String),
    #[error("{request}: Twilio answered {status}{said}: {advice}")]
    Refused {
        request: String,
        status: u16,
        /// Twilio's own words and error code, quoted.
        said: String,
        advice: String,
    },
    #[error("{request}: Twilio's answer is not the JSON it documents ({why}); check --api-base / TWILIO_API_BASE")]
    Unreadable { request: String, why: String },
    #[error("the account {account_sid} has no number {number}: check --number, and --account-sid (a subaccount's numbers need the subaccount's SID)")]
    NumberNotFound { number: String, account_sid: String },
    #[error("{number}'s {what} are handled by {by}: Twilio ignores the number's own URLs while they are; configure the number with webhooks instead (Twilio Console, the number's configuration) and run again; nothing was changed")]
    HandledElsewhere {
        number: String,
        what: &'static str,
        by: String,
    },
    #[error("{shown}\nTwilio reads back different settings than the ones sent: run `callhooks register twilio` again; if it repeats, contact Twilio support")]
    Mismatch { shown: String },
}

impl From<TwilioError> for CliError {
    fn from(error: TwilioError) -> Self {
        let message = error.to_string();
        match error {
            TwilioError::MissingCredential { .. }
            | TwilioError::BadAccountSid(_)
            | TwilioError::BadNumber { .. }
            | TwilioError::BadUrl { .. }
            | TwilioError::NoUrls => CliError::Invalid(message),
            TwilioError::MissingOutput { .. }
            | TwilioError::Unreachable { .. }
            | TwilioError::HttpClient(_)
            | TwilioError::Refused { .. }
            | TwilioError::Unreadable { .. }
            | TwilioError::NumberNotFound { .. }
            | TwilioError::HandledElsewhere { .. }
            | TwilioError::Mismatch { .. } => CliError::Failure(message),
        }
    }
}

/// The number, as Twilio must have it: E.164.
pub fn number_of(input: &str) -> Result<String, TwilioError> {
    PhoneNumber::parse(input)
        .map(|n| n.as_str().to_string())
        .map_err(|e| TwilioError::BadNumber {
            input: input.to_string(),
            why: e.to_string(),
        })
}

/// The account SID: `AC` and 32 hexadecimal digits, so it is safe in a path.
pub fn account_sid_of(value: Option<&str>) -> Result<String, TwilioError> {
    let value =
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(TwilioError::MissingCredential {
                variable: "TWILIO_ACCOUNT_SID",
                what: "the account SID, AC... (or pass --account-sid)",
            })?;
    let well_formed = value.len() == 34
        && value.starts_with("AC")
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if well_formed {
        Ok(value.to_string())
    } else {
        Err(TwilioError::BadAccountSid(value.to_string()))
    }
}

/// The auth token from the environment; its value is never said.
pub fn auth_token_of(env: impl Fn(&str) -> Option<String>) -> Result<String, TwilioError> {
    env(AUTH_TOKEN_VARIABLE)
        .filter(|v| !v.trim().is_empty())
        .ok_or(TwilioError::MissingCredential {
            variable: AUTH_TOKEN_VARIABLE,
            what: "the account's auth token",
        })
}

/// Checks a URL Twilio will call: public HTTPS (callers' numbers and
/// messages travel in it), no query or fragment (the routes' URLs are
/// what Twilio signs).
fn check_url(flag: &'static str, url: &str) -> Result<reqwest::Url, TwilioError> {
    let bad = |why: String| TwilioError::BadUrl {
        flag,
        url: url.to_string(),
        why,
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(format!("not a URL ({e})")))?;
    if parsed.scheme() != "https" {
        return Err(bad(
            "Twilio should call an https:// URL: use the stack's (`callhooks urls --stack NAME`)"
                .into(),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host".into()));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad(
            "no query or fragment: Twilio signs its requests, no token goes in the URL".into(),
        ));
    }
    Ok(parsed)
}

/// The URL of each Twilio hook we register or name, from `--base-url`: the
/// route table's paths under it.
pub fn urls_of_base(base: &str) -> Result<HashMap<Hook, String>, TwilioError> {
    check_url("--base-url", base)?;
    let base = base.trim_end_matches('/');
    Ok(registered_hooks()
        .map(|hook| (hook, format!("{base}{}", Route::Twilio(hook).path())))
        .collect())
}

/// The URL of each Twilio hook we register or name, from the stack's
/// outputs (the route table names each route's output).
pub fn urls_of_stack(
    stack: &str,
    outputs: &HashMap<String, String>,
) -> Result<HashMap<Hook, String>, TwilioError> {
    let mut urls = HashMap::new();
    for hook in registered_hooks() {
        let entry = Route::Twilio(hook).entry();
        let value = outputs
            .get(entry.output)
            .ok_or_else(|| TwilioError::MissingOutput {
                stack: stack.to_string(),
                output: entry.output,
            })?;
        let url = crate::urls::route_url(value, entry);
        check_url("the stack's output", &url)?;
        urls.insert(hook, url);
    }
    Ok(urls)
}

/// The hooks whose URLs this command sets or says.
fn registered_hooks() -> impl Iterator<Item = Hook> {
    NUMBER_SETTINGS
        .iter()
        .map(|s| s.hook)
        .chain(std::iter::once(SENDER_HOOK))
}

/// The number as Twilio has it: what we set, and what would make Twilio
/// ignore it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NumberState {
    #[serde(default)]
    pub sid: String,
    #[serde(default)]
    pub phone_number: String,
    /// The JSON properties by name, as strings (`null` is absent).
    #[serde(flatten)]
    pub properties: HashMap<String, Value>,
}

impl NumberState {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Deserialize)]
struct NumberList {
    #[serde(default)]
    incoming_phone_numbers: Vec<NumberState>,
}

/// One setting's outcome.
#[derive(Clone, Debug, Serialize)]
pub struct Setting {
    /// As Twilio's Console labels it.
    pub setting: &'static str,
    pub parameter: &'static str,
    pub sent: String,
    pub read_back: Option<String>,
    pub matches: bool,
}

/// What `register twilio` did (or, with `--dry-run`, would do).
#[derive(Clone, Debug, Serialize)]
pub struct Registered {
    pub number: String,
    /// The number's Sid (absent on a dry run: nothing was asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub dry_run: bool,
    pub settings: Vec<Setting>,
    /// Passed as `StatusCallback` by the application with each message it
    /// sends: not a setting of the number.
    pub message_status_callback: String,
}

/// The form `register twilio` sends: each setting's URL and method.
pub fn form(urls: &HashMap<Hook, String>) -> Vec<(&'static str, String)> {
    let mut form = Vec::new();
    for setting in &NUMBER_SETTINGS {
        if let Some(url) = urls.get(&setting.hook) {
            form.push((setting.url_parameter, url.clone()));
            form.push((setting.method_parameter, METHOD.to_string()));
        }
    }
    form
}

/// Twilio's REST API for one account.
pub struct Twilio {
    http: reqwest::Client,
    base: reqwest::Url,
    account_sid: String,
    auth_token: String,
}

impl Twilio {
    pub fn new(
        api_base: &str,
        account_sid: String,
        auth_token: String,
    ) -> Result<Self, TwilioError> {
        let base = reqwest::Url::parse(api_base).map_err(|e| TwilioError::BadUrl {
            flag: "--api-base",
            url: api_base.to_string(),
            why: format!("not a URL ({e})"),
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("callhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TwilioError::HttpClient(e.to_string()))?;
        Ok(Twilio {
            http,
            base,
            account_sid,
            auth_token,
        })
    }

    /// `/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers{tail}`
    /// under the API base (which may carry a path of its own).
    fn path(&self, tail: &str) -> String {
        format!(
            "/2010-04-01/Accounts/{}/IncomingPhoneNumbers{tail}",
            self.account_sid
        )
    }

    fn url(&self, path: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        form: Option<&[(&'static str, String)]>,
    ) -> Result<Value, TwilioError> {
        let request_name = format!("{method} {path}");
        let mut url = self.url(path);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let mut request = self
            .http
            .request(method.clone(), url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header("Accept", "application/json");
        if let Some(form) = form {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            request = request
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
        }
        let response = request.send().await.map_err(|e| TwilioError::Unreachable {
            request: request_name.clone(),
            base: self.base.to_string(),
            why: if e.is_timeout() {
                "no answer in time".into()
            } else if e.is_connect() {
                "cannot connect".into()
            } else {
                // reqwest names the URL (the account SID, never the token:
                // that travels in a header).
                e.to_string()
            },
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Option<Value> = serde_json::from_str(&text).ok();
        if (200..300).contains(&status) {
            return body.ok_or_else(|| TwilioError::Unreadable {
                request: request_name,
                why: "not JSON".into(),
            });
        }
        let said = body
            .as_ref()
            .map(|b| {
                let message = b
                    .get("message")
                    .and_then(Value::as_str)
                    .map(|m| format!(" \"{}\"", m.chars().take(200).collect::<String>()))
                    .unwrap_or_default();
                let code = b
                    .get("code")
                    .and_then(Value::as_u64)
                    .map(|c| format!(" (error {c})"))
                    .unwrap_or_default();
                format!("{message}{code}")
            })
            .unwrap_or_default();
        let reading = method == reqwest::Method::GET;
        let advice = match status {
            400 => "Twilio found the request invalid; check the URLs (`callhooks urls --stack NAME`) and run again".to_string(),
            401 => "TWILIO_ACCOUNT_SID (or --account-sid) and TWILIO_AUTH_TOKEN do not go together: copy both from the Twilio Console's account info (a rotated token has a new value), export them and run again".to_string(),
            403 => format!(
                "Twilio refused these credentials for account {}: is the account active, and does the auth token belong to it?",
                self.account_sid
            ),
            404 if path.ends_with("IncomingPhoneNumbers.json") => format!(
                "Twilio has no such account or endpoint: check --account-sid and --api-base / TWILIO_API_BASE (default {DEFAULT_API_BASE})"
            ),
            404 if reading => "the number left the account after it was set (released, or moved to another account?): check it in the Twilio Console".to_string(),
            404 => "the number left the account before it was set (released, or moved to another account?): check it in the Twilio Console and run again".to_string(),
            429 => "too many requests: wait a minute and run again".to_string(),
            500..=599 => "Twilio had an internal error; nothing may have changed; wait a minute and run again, and if it persists see status.twilio.com".to_string(),
            _ => "unexpected answer; check --api-base / TWILIO_API_BASE".to_string(),
        };
        Err(TwilioError::Refused {
            request: request_name,
            status,
            said,
            advice,
        })
    }

    /// The account's number `number` (E.164), found by listing with
    /// `PhoneNumber` (which also matches partially: only an exact match is
    /// taken).
    pub async fn find_number(&self, number: &str) -> Result<NumberState, TwilioError> {
        let path = self.path(".json");
        let answer = self
            .send(
                reqwest::Method::GET,
                &path,
                &[("PhoneNumber", number)],
                None,
            )
            .await?;
        let list: NumberList =
            serde_json::from_value(answer).map_err(|e| TwilioError::Unreadable {
                request: format!("GET {path}"),
                why: e.to_string(),
            })?;
        let found = list
            .incoming_phone_numbers
            .into_iter()
            .find(|n| n.phone_number == number)
            .ok_or_else(|| TwilioError::NumberNotFound {
                number: number.to_string(),
                account_sid: self.account_sid.clone(),
            })?;
        // The Sid goes into the next requests' paths.
        if found.sid.is_empty() || !found.sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(TwilioError::Unreadable {
                request: format!("GET {path}"),
                why: format!("the number's sid {:?} is not a Sid", found.sid),
            });
        }
        Ok(found)
    }

    /// Sets the number's URLs and methods.
    pub async fn update(
        &self,
        sid: &str,
        form: &[(&'static str, String)],
    ) -> Result<(), TwilioError> {
        self.send(
            reqwest::Method::POST,
            &self.path(&format!("/{sid}.json")),
            &[],
            Some(form),
        )
        .await
        .map(drop)
    }

    /// The number as Twilio has it now.
    pub async fn fetch(&self, sid: &str) -> Result<NumberState, TwilioError> {
        let path = self.path(&format!("/{sid}.json"));
        let answer = self.send(reqwest::Method::GET, &path, &[], None).await?;
        serde_json::from_value(answer).map_err(|e| TwilioError::Unreadable {
            request: format!("GET {path}"),
            why: e.to_string(),
        })
    }
}

/// Refuses a number whose calls or messages something else handles (an
/// application or a SIP trunk): Twilio would ignore the URLs we set.
pub fn check_handled_by_its_urls(number: &NumberState) -> Result<(), TwilioError> {
    let elsewhere = |what, by: String| TwilioError::HandledElsewhere {
        number: number.phone_number.clone(),
        what,
        by,
    };
    if let Some(app) = number.property("voice_application_sid") {
        return Err(elsewhere("calls", format!("the application {app}")));
    }
    if let Some(trunk) = number.property("trunk_sid") {
        return Err(elsewhere("calls", format!("the SIP trunk {trunk}")));
    }
    if let Some(app) = number.property("sms_application_sid") {
        return Err(elsewhere("messages", format!("the application {app}")));
    }
    Ok(())
}

/// Each setting as sent, and as read back when there was a read.
pub fn settings(form: &[(&'static str, String)], read: Option<&NumberState>) -> Vec<Setting> {
    let mut out = Vec::new();
    for setting in &NUMBER_SETTINGS {
        for (parameter, property) in [
            (setting.url_parameter, setting.url_property),
            (setting.method_parameter, setting.method_property),
        ] {
            let Some((_, sent)) = form.iter().find(|(p, _)| *p == parameter) else {
                continue;
            };
            let read_back = read.and_then(|n| n.property(property)).map(str::to_string);
            out.push(Setting {
                setting: setting.label,
                parameter,
                matches: read_back.as_deref() == Some(sent.as_str()),
                sent: sent.clone(),
                read_back,
            });
        }
    }
    out
}

/// The outcome as a table (or JSON), with the message status callback to
/// pass when sending.
pub fn render(registered: &Registered, context: &Context) -> String {
    if context.json {
        return serde_json::to_string_pretty(registered).unwrap_or_default();
    }
    let mut table = if registered.dry_run {
        Table::new(&["SETTING", "PARAMETER", "WOULD BE SET TO"])
    } else {
        Table::new(&["SETTING", "PARAMETER", "SET", "TWILIO NOW HAS", "MATCH"])
    };
    for s in &registered.settings {
        let mut row = vec![
            (s.setting.to_string(), Tone::Plain),
            (s.parameter.to_string(), Tone::Dim),
            (s.sent.clone(), Tone::Plain),
        ];
        if !registered.dry_run {
            row.push((
                s.read_back.clone().unwrap_or_else(|| "(none)".into()),
                Tone::Plain,
            ));
            row.push(if s.matches {
                ("yes".into(), Tone::Good)
            } else {
                ("NO".into(), Tone::Bad)
            });
        }
        table.row(row);
    }
    let head = if registered.dry_run {
        format!(
            "dry run: nothing sent; {} would be set as below\n",
            registered.number
        )
    } else {
        format!(
            "{} ({})\n",
            registered.number,
            registered.sid.as_deref().unwrap_or("")
        )
    };
    format!(
        "{head}{}\nmessage status: pass StatusCallback={} with each message you send (Twilio keeps no per-number setting for it)",
        table.render(context.color).trim_end(),
        registered.message_status_callback
    )
}

/// `register twilio`: checks the number, the URLs and the credentials
/// before any request, finds the number, refuses one whose calls or
/// messages something else handles, sets its URLs and reads them back. A
/// setting that reads back different is a failure.
pub async fn register(
    number: &str,
    urls: HashMap<Hook, String>,
    account_sid: Option<&str>,
    api_base: &str,
    dry_run: bool,
    env: impl Fn(&str) -> Option<String>,
    context: &Context,
) -> Result<String, TwilioError> {
    let number = number_of(number)?;
    let form = form(&urls);
    let message_status_callback = urls.get(&SENDER_HOOK).cloned().unwrap_or_default();
    if dry_run {
        let registered = Registered {
            number,
            sid: None,
            dry_run,
            settings: settings(&form, None),
            message_status_callback,
        };
        return Ok(render(&registered, context));
    }
    let account_sid = account_sid_of(account_sid)?;
    let auth_token = auth_token_of(env)?;
    let api = Twilio::new(api_base, account_sid, auth_token)?;
    let found = api.find_number(&number).await?;
    check_handled_by_its_urls(&found)?;
    api.update(&found.sid, &form).await?;
    let read = api.fetch(&found.sid).await?;
    let registered = Registered {
        number,
        sid: Some(found.sid),
        dry_run,
        settings: settings(&form, Some(&read)),
        message_status_callback,
    };
    let shown = render(&registered, context);
    if registered.settings.iter().all(|s| s.matches) {
        Ok(shown)
    } else {
        Err(TwilioError::Mismatch { shown })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_a_twilio_route_that_takes_post() {
        for setting in NUMBER_SETTINGS.iter().map(|s| s.hook).chain([SENDER_HOOK]) {
            let route = Route::Twilio(setting);
            assert!(route.accepts(METHOD), "{}", route.path());
        }
    }

    #[test]
    fn urls_of_a_base_are_the_route_tables_paths() {
        let urls = urls_of_base("https://hooks.example.com/").unwrap();
        assert_eq!(urls[&Hook::Voice], "https://hooks.example.com/twilio/voice");
        assert_eq!(
            urls[&Hook::CallStatus],
            "https://hooks.example.com/twilio/call-status"
        );
        assert_eq!(
            urls[&Hook::Messages],
            "https://hooks.example.com/twilio/messages"
        );
        assert_eq!(
            urls[&Hook::MessageStatus],
            "https://hooks.example.com/twilio/message-status"
        );
        assert_eq!(urls.len(), 4, "the <Dial> and <Record> actions are ours");
        let form = form(&urls);
        assert_eq!(
            form.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
            [
                "VoiceUrl",
                "VoiceMethod",
                "StatusCallback",
                "StatusCallbackMethod",
                "SmsUrl",
                "SmsMethod"
            ]
        );
        for bad in [
            "http://hooks.example.com",
            "https://hooks.example.com/?token=x",
            "hooks.example.com",
        ] {
            let err = urls_of_base(bad).unwrap_err();
            assert_eq!(CliError::from(err).exit_code(), 2, "{bad}");
        }
    }

    #[test]
    fn urls_of_a_stack_come_from_its_outputs() {
        let outputs: HashMap<String, String> = [
            ("TwilioVoiceUrl", "https://a.example/twilio/voice"),
            (
                "TwilioCallStatusUrl",
                "https://a.example/twilio/call-status",
            ),
            ("TwilioMessagesUrl", "https://a.example/twilio/messages"),
            (
                "TwilioMessageStatusUrl",
                "https://a.example/twilio/message-status",
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let urls = urls_of_stack("hooks", &outputs).unwrap();
        assert_eq!(
            urls[&Hook::CallStatus],
            "https://a.example/twilio/call-status"
        );
        let mut without = outputs.clone();
        without.remove("TwilioMessagesUrl");
        let err = urls_of_stack("hooks", &without).unwrap_err();
        assert!(
            err.to_string().contains("no TwilioMessagesUrl output"),
            "{err}"
        );
        assert_eq!(CliError::from(err).exit_code(), 1);
    }

    #[test]
    fn credentials_are_checked_and_the_token_never_said() {
        let err = account_sid_of(None).unwrap_err();
        assert!(err.to_string().contains("TWILIO_ACCOUNT_SID is not set"));
        assert!(matches!(
            account_sid_of(Some("AC123")),
            Err(TwilioError::BadAccountSid(_))
        ));
        let sid = format!("AC{}", "a1".repeat(16));
        assert_eq!(account_sid_of(Some(&sid)).unwrap(), sid);
        let err = auth_token_of(|_| Some("  ".into())).unwrap_err();
        assert!(err.to_string().contains("TWILIO_AUTH_TOKEN is not set"));
        assert_eq!(
            auth_token_of(|n| (n == AUTH_TOKEN_VARIABLE).then(|| "tok".into())).unwrap(),
            "tok"
        );
    }

    #[test]
    fn a_number_run_by_an_application_or_trunk_is_refused() {
        let number = |property: &str| NumberState {
            sid: "PN1".into(),
            phone_number: "+14155550100".into(),
            properties: HashMap::from([
                (
                    "voice_application_sid".to_string(),
                    Value::String(String::new()),
                ),
                (property.to_string(), Value::String("AP0".into())),
            ]),
        };
        assert!(check_handled_by_its_urls(&number("voice_url")).is_ok());
        for property in ["voice_application_sid", "trunk_sid", "sms_application_sid"] {
            let err = check_handled_by_its_urls(&number(property)).unwrap_err();
            assert!(err.to_string().contains("nothing was changed"), "{err}");
        }
    }

    #[test]
    fn read_back_settings_are_compared_one_by_one() {
        let urls = urls_of_base("https://h.example").unwrap();
        let form = form(&urls);
        let mut read = NumberState::default();
        for (parameter, value) in &form {
            let property = NUMBER_SETTINGS
                .iter()
                .find_map(|s| {
                    (s.url_parameter == *parameter)
                        .then_some(s.url_property)
                        .or((s.method_parameter == *parameter).then_some(s.method_property))
                })
                .unwrap();
            read.properties
                .insert(property.to_string(), Value::String(value.clone()));
        }
        assert!(settings(&form, Some(&read)).iter().all(|s| s.matches));
        read.properties
            .insert("sms_method".into(), Value::String("GET".into()));
        let compared = settings(&form, Some(&read));
        let differing: Vec<&str> = compared
            .iter()
            .filter(|s| !s.matches)
            .map(|s| s.parameter)
            .collect();
        assert_eq!(differing, ["SmsMethod"]);
    }
}
