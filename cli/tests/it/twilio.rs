//! Twilio in the operator's command: `urls` lists its four URLs from a
//! stack's outputs (moto's CloudFormation), and `register twilio` points a
//! number at the stack through a fake Twilio REST API on 127.0.0.1 (the
//! IncomingPhoneNumbers resource as Twilio documents it); nothing here
//! contacts Twilio.

use crate::operating::{
    callhooks, deployed_outputs, line_with, ok_json, ok_text, stack_with_outputs, stderr, stdout,
};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Json;
use callhooks_tests::TestStack;
use serde_json::{json, Map, Value};
use std::process::Output;
use std::sync::{Arc, Mutex};

const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "s3cr3t-auth-t0ken";
/// `Basic` of `ACCOUNT_SID:AUTH_TOKEN`.
const BASIC: &str =
    "Basic QUMwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjpzM2NyM3QtYXV0aC10MGtlbg==";
const NUMBER: &str = "+14155550100";
const SID: &str = "PN0123456789abcdef0123456789abcdef";
const BASE: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";
const SIGNED: &str = "X-Twilio-Signature with the account's auth token (TwilioAuthToken)";

/// The Twilio outputs a deployed stack has; added to template.yaml's where
/// it lacks them.
fn twilio_outputs() -> Vec<(String, String)> {
    [
        ("TwilioVoiceUrl", "/twilio/voice"),
        ("TwilioCallStatusUrl", "/twilio/call-status"),
        ("TwilioMessagesUrl", "/twilio/messages"),
        ("TwilioMessageStatusUrl", "/twilio/message-status"),
    ]
    .into_iter()
    .map(|(output, path)| (output.to_string(), format!("{BASE}{path}")))
    .collect()
}

fn stack_outputs() -> Vec<(String, String)> {
    let mut outputs: Vec<(String, String)> = deployed_outputs()
        .into_iter()
        .filter(|(k, _)| k != callhooks_cli::urls::OPEN_ROUTES_OUTPUT)
        .collect();
    for (output, value) in twilio_outputs() {
        if !outputs.iter().any(|(k, _)| *k == output) {
            outputs.push((output, value));
        }
    }
    outputs
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_list_twilios_four_urls_with_their_signature() {
    let stack = TestStack::new().await;
    let name = stack_with_outputs(&stack, &stack_outputs(), "twilio").await;
    let urls = ok_json(&stack, &["urls", "--stack", &name]).await;
    let twilio: Vec<&Value> = urls
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["provider"] == "twilio")
        .collect();
    let listed: Vec<(&str, &str)> = twilio
        .iter()
        .map(|u| (u["output"].as_str().unwrap(), u["url"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("TwilioVoiceUrl", &*format!("{BASE}/twilio/voice")),
            (
                "TwilioCallStatusUrl",
                &*format!("{BASE}/twilio/call-status")
            ),
            ("TwilioMessagesUrl", &*format!("{BASE}/twilio/messages")),
            (
                "TwilioMessageStatusUrl",
                &*format!("{BASE}/twilio/message-status")
            ),
        ],
        "{urls}"
    );
    for (u, field) in twilio.iter().zip([
        "\"A call comes in\"",
        "\"Call status changes\"",
        "\"A message comes in\"",
        "StatusCallback",
    ]) {
        assert!(u["field"].as_str().unwrap().contains(field), "{u}");
        assert_eq!(u["auth"], SIGNED);
        assert!(u["token"].is_null(), "signed, no token: {u}");
        assert!(u["warning"].is_null(), "a closed stack: {u}");
    }

    let table = ok_text(&stack, &["urls", "--stack", &name]).await;
    let voice = line_with(&table, "/twilio/voice");
    assert!(voice.starts_with("twilio"), "{table}");
    assert!(voice.contains("A call comes in"), "{table}");
    assert!(voice.contains("X-Twilio-Signature"), "{table}");
    assert!(!table.contains("/twilio/dial"), "ours to name: {table}");
    assert!(
        !table.contains("/twilio/recording"),
        "ours to name: {table}"
    );
}

/// The fake Twilio API: one account with `numbers` (the resource's JSON by
/// Sid), HTTP basic auth checked, `PhoneNumber` matched partially as Twilio
/// does; `fail` answers every request, `read_back` replaces what a fetch
/// returns.
#[derive(Default)]
struct FakeTwilio {
    requests: Vec<Request>,
    numbers: Vec<Map<String, Value>>,
    fail: Option<(u16, u64, &'static str)>,
    read_back: Option<(&'static str, &'static str)>,
}

#[derive(Clone, Debug)]
struct Request {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: String,
}

type Shared = Arc<Mutex<FakeTwilio>>;

fn twilio_error(status: u16, code: u64, message: &str) -> (StatusCode, Json<Value>) {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        })),
    )
}

/// `VoiceUrl` → `voice_url`: a form parameter's property.
fn property_of(parameter: &str) -> String {
    let mut out = String::new();
    for (i, c) in parameter.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

async fn fake(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let mut fake = state.lock().unwrap();
    fake.requests.push(Request {
        method: method.clone(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        headers: headers.clone(),
        body: body.clone(),
    });
    if let Some((status, code, message)) = fake.fail {
        return twilio_error(status, code, message);
    }
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(BASIC) {
        return twilio_error(401, 20003, "Authenticate");
    }
    let account = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers");
    let Some(rest) = uri.path().strip_prefix(&account) else {
        return twilio_error(404, 20404, "The requested resource was not found");
    };
    if rest == ".json" && method == Method::GET {
        let wanted: String = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "PhoneNumber")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let found: Vec<Value> = fake
            .numbers
            .iter()
            .filter(|n| n["phone_number"].as_str().unwrap().contains(&wanted))
            .map(|n| Value::Object(n.clone()))
            .collect();
        return (
            StatusCode::OK,
            Json(
                json!({"incoming_phone_numbers": found, "page": 0, "page_size": 50,
                "next_page_uri": null}),
            ),
        );
    }
    let Some(sid) = rest.strip_prefix('/').and_then(|r| r.strip_suffix(".json")) else {
        return twilio_error(404, 20404, "The requested resource was not found");
    };
    let read_back = fake.read_back;
    let Some(number) = fake.numbers.iter_mut().find(|n| n["sid"] == sid) else {
        return twilio_error(404, 20404, "The requested resource was not found");
    };
    match method {
        Method::POST => {
            for (parameter, value) in form_urlencoded::parse(body.as_bytes()) {
                number.insert(property_of(&parameter), Value::String(value.into_owned()));
            }
            (StatusCode::OK, Json(Value::Object(number.clone())))
        }
        Method::GET => {
            let mut shown = number.clone();
            if let Some((property, value)) = read_back {
                shown.insert(property.into(), json!(value));
            }
            (StatusCode::OK, Json(Value::Object(shown)))
        }
        _ => twilio_error(405, 20004, "Method not allowed"),
    }
}

fn number(sid: &str, phone_number: &str) -> Map<String, Value> {
    let number = json!({
        "account_sid": ACCOUNT_SID, "sid": sid, "phone_number": phone_number,
        "voice_url": "https://old.example/voice", "voice_method": "GET",
        "status_callback": "", "status_callback_method": "POST",
        "sms_url": "https://old.example/sms", "sms_method": "POST",
        "voice_application_sid": "", "sms_application_sid": "", "trunk_sid": null,
    });
    number.as_object().unwrap().clone()
}

async fn start_fake(setup: FakeTwilio) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(setup));
    let app = axum::Router::new().fallback(fake).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

/// Our number, and a longer one its `PhoneNumber` filter also matches.
fn account() -> FakeTwilio {
    FakeTwilio {
        numbers: vec![
            number("PN9999999999abcdef0123456789abcdef", "+141555501009"),
            number(SID, NUMBER),
        ],
        ..Default::default()
    }
}

async fn register(api: &str, extra: &[&str], credentials: bool) -> Output {
    let mut env = vec![("TWILIO_API_BASE", api)];
    if credentials {
        env.push(("TWILIO_ACCOUNT_SID", ACCOUNT_SID));
        env.push(("TWILIO_AUTH_TOKEN", AUTH_TOKEN));
    }
    let mut args = vec!["register", "twilio"];
    args.extend_from_slice(extra);
    callhooks(&env, &args).await
}

fn assert_no_token(out: &Output) {
    for text in [stdout(out), stderr(out)] {
        assert!(!text.contains(AUTH_TOKEN), "the token is printed: {text}");
        assert!(
            !text.contains(&BASIC[6..]),
            "the credentials are printed: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn register_twilio_sets_the_numbers_urls_and_reads_them_back() {
    let (api, state) = start_fake(account()).await;
    let out = register(&api, &["--number", NUMBER, "--base-url", BASE], true).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_token(&out);
    let text = stdout(&out);
    for (parameter, value) in [
        ("VoiceUrl", format!("{BASE}/twilio/voice")),
        ("VoiceMethod", "POST".into()),
        ("StatusCallback ", format!("{BASE}/twilio/call-status")),
        ("StatusCallbackMethod", "POST".into()),
        ("SmsUrl", format!("{BASE}/twilio/messages")),
        ("SmsMethod", "POST".into()),
    ] {
        let line = line_with(&text, parameter);
        assert!(line.contains(&value), "{text}");
        assert!(line.trim_end().ends_with("yes"), "{text}");
    }
    assert!(line_with(&text, "VoiceUrl").starts_with("A call comes in"));
    assert!(line_with(&text, "SmsUrl").starts_with("A message comes in"));
    assert!(
        text.contains(&format!(
            "pass StatusCallback={BASE}/twilio/message-status with each message"
        )),
        "{text}"
    );

    let requests = state.lock().unwrap().requests.clone();
    let seen: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.method.to_string(), r.path.clone()))
        .collect();
    let numbers = format!("/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers");
    assert_eq!(
        seen,
        [
            ("GET".to_string(), format!("{numbers}.json")),
            ("POST".into(), format!("{numbers}/{SID}.json")),
            ("GET".into(), format!("{numbers}/{SID}.json")),
        ]
    );
    assert_eq!(
        requests[0].query.as_deref(),
        Some("PhoneNumber=%2B14155550100")
    );
    for request in &requests {
        assert_eq!(request.headers["authorization"], BASIC);
    }
    assert_eq!(
        requests[1].headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    let form: Vec<(String, String)> = form_urlencoded::parse(requests[1].body.as_bytes())
        .into_owned()
        .collect();
    let sent = |parameter: &str| -> String {
        form.iter()
            .find(|(k, _)| k == parameter)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("{parameter} not sent: {form:?}"))
    };
    assert_eq!(form.len(), 6, "{form:?}");
    assert_eq!(sent("VoiceUrl"), format!("{BASE}/twilio/voice"));
    assert_eq!(sent("StatusCallback"), format!("{BASE}/twilio/call-status"));
    assert_eq!(sent("SmsUrl"), format!("{BASE}/twilio/messages"));
    for method in ["VoiceMethod", "StatusCallbackMethod", "SmsMethod"] {
        assert_eq!(sent(method), "POST");
    }
    // The longer number the filter also matched was left alone.
    let other = state.lock().unwrap().numbers[0].clone();
    assert_eq!(other["voice_url"], "https://old.example/voice");

    // Again, as JSON: the same settings, all matching.
    let out = register(
        &api,
        &["--number", NUMBER, "--base-url", BASE, "--json"],
        true,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["number"], NUMBER);
    assert_eq!(result["sid"], SID);
    assert_eq!(result["settings"].as_array().unwrap().len(), 6);
    assert!(result["settings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["matches"] == true));
    assert_eq!(
        result["message_status_callback"],
        format!("{BASE}/twilio/message-status")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn register_twilio_takes_the_urls_from_the_stack() {
    let stack = TestStack::new().await;
    let name = stack_with_outputs(&stack, &stack_outputs(), "twilio-register").await;
    let (api, state) = start_fake(account()).await;
    let out = callhooks(
        &[
            ("AWS_ENDPOINT_URL", &stack.endpoint),
            ("TWILIO_API_BASE", &api),
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ],
        &[
            "register",
            "twilio",
            "--stack",
            &name,
            "--number",
            "(415) 555-0100",
            "--account-sid",
            ACCOUNT_SID,
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_no_token(&out);
    let number = state.lock().unwrap().numbers[1].clone();
    assert_eq!(number["voice_url"], format!("{BASE}/twilio/voice"));
    assert_eq!(
        number["status_callback"],
        format!("{BASE}/twilio/call-status")
    );
    assert_eq!(number["sms_url"], format!("{BASE}/twilio/messages"));
    assert_eq!(number["voice_method"], "POST");
}

#[tokio::test(flavor = "multi_thread")]
async fn register_twilio_explains_each_refusal_without_the_token() {
    let args = ["--number", NUMBER, "--base-url", BASE];
    let cases: [(u16, u64, &str, &str); 4] = [
        (401, 20003, "Authenticate", "TWILIO_AUTH_TOKEN"),
        (403, 20005, "Account not active", "is the account active"),
        (429, 20429, "Too Many Requests", "wait a minute"),
        (500, 20500, "Internal Server Error", "run again"),
    ];
    for (status, code, message, advice) in cases {
        let (api, _state) = start_fake(FakeTwilio {
            fail: Some((status, code, message)),
            ..account()
        })
        .await;
        let out = register(&api, &args, true).await;
        assert_eq!(out.status.code(), Some(1), "{status}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains(&format!(
                "Twilio answered {status} \"{message}\" (error {code})"
            )),
            "{said}"
        );
        assert!(said.contains(advice), "{status}: {said}");
        assert_no_token(&out);
    }

    // Credentials that do not go together: the fake's own check.
    let (api, _state) = start_fake(account()).await;
    let out = callhooks(
        &[
            ("TWILIO_API_BASE", &api),
            ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
            ("TWILIO_AUTH_TOKEN", "an-old-token"),
        ],
        &["register", "twilio", "--number", NUMBER, "--base-url", BASE],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("\"Authenticate\""),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("an-old-token"), "{}", stderr(&out));

    // A number the account does not have.
    let out = register(
        &api,
        &["--number", "+14155550199", "--base-url", BASE],
        true,
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!(
            "the account {ACCOUNT_SID} has no number +14155550199"
        )),
        "{}",
        stderr(&out)
    );

    // A setting that reads back different is a failure, said plainly.
    let (api, _state) = start_fake(FakeTwilio {
        read_back: Some(("sms_url", "https://old.example/sms")),
        ..account()
    })
    .await;
    let out = register(&api, &args, true).await;
    assert_eq!(out.status.code(), Some(1));
    // Error messages are printed on one line, their line breaks escaped.
    let said = stderr(&out).replace("\\n", "\n");
    assert!(said.contains("different settings"), "{said}");
    assert!(
        line_with(&said, "SmsUrl").contains("https://old.example/sms"),
        "{said}"
    );
    assert!(
        line_with(&said, "SmsUrl").trim_end().ends_with("NO"),
        "{said}"
    );
    assert!(
        line_with(&said, "VoiceUrl").trim_end().ends_with("yes"),
        "{said}"
    );

    // Nobody listening.
    let closed = callhooks_tests::closed_endpoint();
    let out = register(&closed, &args, true).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("TWILIO_API_BASE"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn register_twilio_leaves_a_number_an_application_or_trunk_handles() {
    for (property, by) in [
        (
            "voice_application_sid",
            "calls are handled by the application AP",
        ),
        ("trunk_sid", "calls are handled by the SIP trunk TK"),
        (
            "sms_application_sid",
            "messages are handled by the application AP",
        ),
    ] {
        let mut setup = account();
        let value = if property == "trunk_sid" {
            "TK0123456789abcdef0123456789abcdef"
        } else {
            "AP0123456789abcdef0123456789abcdef"
        };
        setup.numbers[1].insert(property.into(), json!(value));
        let (api, state) = start_fake(setup).await;
        let out = register(&api, &["--number", NUMBER, "--base-url", BASE], true).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let said = stderr(&out);
        assert!(said.contains(by), "{said}");
        assert!(said.contains("nothing was changed"), "{said}");
        let methods: Vec<Method> = state
            .lock()
            .unwrap()
            .requests
            .iter()
            .map(|r| r.method.clone())
            .collect();
        assert_eq!(methods, [Method::GET], "only the lookup");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn register_twilio_refuses_before_any_request_and_dry_runs_without_one() {
    let (api, state) = start_fake(account()).await;
    let cases: [(&[&str], bool, &str); 6] = [
        (
            &["--number", NUMBER, "--base-url", BASE],
            false,
            "TWILIO_ACCOUNT_SID is not set",
        ),
        (
            &["--number", "555-0100", "--base-url", BASE],
            true,
            "--number \"555-0100\"",
        ),
        (
            &["--number", NUMBER, "--base-url", "http://abc.example"],
            true,
            "https://",
        ),
        (
            &[
                "--number",
                NUMBER,
                "--base-url",
                "https://abc.example/?token=x",
            ],
            true,
            "no query",
        ),
        (&["--number", NUMBER], true, "--base-url"),
        (
            &[
                "--number",
                NUMBER,
                "--base-url",
                BASE,
                "--account-sid",
                "AC12",
            ],
            true,
            "an account SID is AC and 32 hexadecimal digits",
        ),
    ];
    for (args, credentials, said) in cases {
        let out = register(&api, args, credentials).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
    }
    // An account SID without its token.
    let out = callhooks(
        &[
            ("TWILIO_API_BASE", &api),
            ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
        ],
        &["register", "twilio", "--number", NUMBER, "--base-url", BASE],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("TWILIO_AUTH_TOKEN is not set"),
        "{}",
        stderr(&out)
    );

    // A dry run needs no credentials and sends nothing.
    let out = register(
        &api,
        &["--number", NUMBER, "--base-url", BASE, "--dry-run"],
        false,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("dry run: nothing sent"), "{text}");
    assert!(
        line_with(&text, "VoiceUrl").contains(&format!("{BASE}/twilio/voice")),
        "{text}"
    );
    assert!(line_with(&text, "SmsMethod").contains("POST"), "{text}");
    assert!(text.contains("/twilio/message-status"), "{text}");
    assert!(
        state.lock().unwrap().requests.is_empty(),
        "no request was made"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn register_twilio_help_says_what_it_sets_and_needs() {
    let out = callhooks(&[], &["register", "twilio", "--help"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let help = stdout(&out);
    for said in [
        "--number",
        "--account-sid",
        "[env: TWILIO_ACCOUNT_SID=]",
        "TWILIO_AUTH_TOKEN",
        "--base-url",
        "--dry-run",
        "--api-base",
        "A call comes in",
        "Call status changes",
        "A message comes in",
        "message status callback",
    ] {
        assert!(help.contains(said), "{said}: {help}");
    }
    let out = callhooks(&[], &["register", "--help"]).await;
    assert!(stdout(&out).contains("twilio"), "{}", stdout(&out));
}
