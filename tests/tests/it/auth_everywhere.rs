//! With every secret set, every route refuses a missing or wrong credential
//! (Retell: also a stale, malformed or foreign signature) with 401 and
//! writes nothing; the right credential is accepted. Neither the answers
//! nor the log lines (captured as the JSON a deployed function writes)
//! contain a secret or a caller's whole number.

use callhooks::auth::SharedSecret;
use callhooks::providers::twilio::signature::AuthToken;
use callhooks::signature::{sign, SigningKey, SIGNATURE_HEADER};
use callhooks::time::Timestamp;
use callhooks_tests::{
    answer, api_request, capture_logs, Credentials, Functions, Hook, Route, TestStack,
};
use lambda_http::Request;

const T0: i64 = 1_795_449_082_000;
const ZONITEL_TOKEN: &str = "zon-Secret-4f9a1c";
const SALPRE_TOKEN: &str = "sal-Secret-77b2e0";
const VOX_TOKEN: &str = "vox-Secret-0c33d8";
const RETELL_KEY: &str = "ret-Secret-9e1f42";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests-0123456789";
const SECRETS: [&str; 5] = [
    ZONITEL_TOKEN,
    SALPRE_TOKEN,
    VOX_TOKEN,
    RETELL_KEY,
    TWILIO_TOKEN,
];
/// The caller's and our numbers: only their last four digits may be logged.
const NUMBERS: [&str; 2] = ["4155552671", "8339664835"];

const CALL: &str = r#"{"caller_id_name": "John Doe", "caller_id_number": "+14155552671", "destination_number": "+18339664835"}"#;
const SMS: &str = r#"{"status": "received", "data": {"id": "sms-auth-1", "segments": 1, "direction": "inbound", "messageText": "My PIN is 4321", "from": "+14155552671", "to": "+18339664835", "medias": []}, "message": "ok"}"#;
const SALPRE: &str = r#"{"event_type":"transcript","timestamp_utc":1795449000,"payload":{"call":{"id":9,"from":"+14155552671","to":"+18339664835","direction":"inbound"},"type":"customer","transcript":"my card number is 4111","timestamp_utc":"1795449000"}}"#;
const VOX: &str =
    "CallSid=CA-auth-1&From=%2B14155552671&To=%2B18339664835&CallStatus=ringing&Direction=inbound";
const RETELL: &str = r#"{"event": "call_inbound", "call_inbound": {"agent_id": "agent_1", "from_number": "+14155552671", "to_number": "+18339664835"}}"#;

fn now() -> Timestamp {
    Timestamp::from_millisecond(T0).unwrap()
}

/// Every function on the stack's table with these credentials.
fn functions_with(stack: &TestStack, credentials: Credentials) -> Functions {
    Functions::new(stack.store(), stack.store(), credentials)
}

/// Every function with its secret set.
fn functions(stack: &TestStack) -> Functions {
    functions_with(
        stack,
        Credentials {
            zonitel: SharedSecret::new(Some(ZONITEL_TOKEN)),
            salpre: SharedSecret::new(Some(SALPRE_TOKEN)),
            voxtelesys: SharedSecret::new(Some(VOX_TOKEN)),
            retell: SigningKey::new(Some(RETELL_KEY)),
            twilio: AuthToken::new(Some(TWILIO_TOKEN)),
        },
    )
}

/// Every function as its `main.rs` builds it from `env` (variable name to
/// value): the secrets read with `from_env`'s rules.
fn functions_from_vars(stack: &TestStack, env: &[(&str, &str)]) -> Functions {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    functions_with(
        stack,
        Credentials {
            zonitel: SharedSecret::from_vars("ZONITEL_WEBHOOK_TOKEN", get),
            salpre: SharedSecret::from_vars("SALPRE_WEBHOOK_TOKEN", get),
            voxtelesys: SharedSecret::from_vars("VOXTELESYS_WEBHOOK_TOKEN", get),
            retell: SigningKey::from_vars("RETELL_API_KEY", get),
            twilio: AuthToken::from_vars("TWILIO_AUTH_TOKEN", get),
        },
    )
}

fn post(path: &str, content_type: &str, headers: &[(&str, &str)], body: &str) -> Request {
    let mut all = vec![("content-type", content_type)];
    all.extend_from_slice(headers);
    api_request("POST", path, &all, Some(body), false)
}

/// The shared-secret routes: route, path, content type, body, its token.
fn token_routes() -> [(
    Route,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
); 4] {
    let json = "application/json";
    [
        (
            Route::ZonitelCall,
            "/zonitel/calls",
            json,
            CALL,
            ZONITEL_TOKEN,
        ),
        (Route::ZonitelSms, "/zonitel/sms", json, SMS, ZONITEL_TOKEN),
        (
            Route::SalpreEvents,
            "/salpre/events",
            json,
            SALPRE,
            SALPRE_TOKEN,
        ),
        (
            Route::Voxtelesys(Hook::Voice),
            "/voxtelesys/voice",
            "application/x-www-form-urlencoded",
            VOX,
            VOX_TOKEN,
        ),
    ]
}

fn refusals() -> Vec<(String, Route, Request)> {
    let mut cases = Vec::new();
    for (route, path, content_type, body, token) in token_routes() {
        let other_token = if token == ZONITEL_TOKEN {
            SALPRE_TOKEN
        } else {
            ZONITEL_TOKEN
        };
        let bearer = |t: &str| format!("Bearer {t}");
        let prefix = &token[..token.len() - 1];
        for (name, headers, query) in [
            ("missing", vec![], String::new()),
            ("wrong bearer", vec![bearer("wrong")], String::new()),
            (
                "another route's token",
                vec![bearer(other_token)],
                String::new(),
            ),
            ("prefix of the token", vec![bearer(prefix)], String::new()),
            (
                "token plus more",
                vec![bearer(&format!("{token}x"))],
                String::new(),
            ),
            (
                "basic scheme",
                vec![format!("Basic {token}")],
                String::new(),
            ),
            ("no scheme", vec![token.to_string()], String::new()),
            ("empty bearer", vec!["Bearer ".into()], String::new()),
            ("wrong query token", vec![], "?token=wrong".into()),
            ("empty query token", vec![], "?token=".into()),
            (
                "upper-cased query token",
                vec![],
                format!("?token={}", token.to_uppercase()),
            ),
            (
                "wrong header beats right query",
                vec![bearer("wrong")],
                format!("?token={token}"),
            ),
        ] {
            let auth: Vec<(&str, &str)> = headers
                .iter()
                .map(|h| ("authorization", h.as_str()))
                .collect();
            let request = post(&format!("{path}{query}"), content_type, &auth, body);
            cases.push((format!("{route:?} {name}"), route, request));
        }
        // A GET with the credential in the wrong place still is refused.
        if matches!(route, Route::Voxtelesys(_)) {
            cases.push((
                "Voxtelesys GET without token".into(),
                route,
                api_request("GET", &format!("{path}?{VOX}"), &[], None, false),
            ));
        }
    }
    let key = RETELL_KEY.as_bytes();
    let retell = |header: Option<String>| {
        let mut headers = vec![];
        let value = header.unwrap_or_default();
        if !value.is_empty() {
            headers.push((SIGNATURE_HEADER, value.as_str()));
        }
        post("/retell/inbound", "application/json", &headers, RETELL)
    };
    let six_minutes = 6 * 60 * 1000;
    for (name, header) in [
        ("missing signature", None),
        (
            "signed with another key",
            Some(sign(b"other-key", RETELL.as_bytes(), T0)),
        ),
        (
            "signed for another body",
            Some(sign(
                key,
                RETELL.replace("agent_1", "agent_2").as_bytes(),
                T0,
            )),
        ),
        (
            "stale by six minutes",
            Some(sign(key, RETELL.as_bytes(), T0 - six_minutes)),
        ),
        (
            "six minutes ahead",
            Some(sign(key, RETELL.as_bytes(), T0 + six_minutes)),
        ),
        ("malformed", Some("v=abc,d=00".into())),
        ("key as the signature", Some(RETELL_KEY.into())),
        (
            "timestamp moved",
            Some(sign(key, RETELL.as_bytes(), T0).replace(&T0.to_string(), &(T0 + 1).to_string())),
        ),
        ("bearer instead", Some(format!("Bearer {RETELL_KEY}"))),
    ] {
        cases.push((
            format!("Retell {name}"),
            Route::RetellInbound,
            retell(header),
        ));
    }
    cases
}

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} reveals a secret: {text}");
    }
    for number in NUMBERS {
        assert!(
            !text.contains(number),
            "{what} reveals a whole number: {text}"
        );
    }
}

#[tokio::test]
async fn every_route_refuses_wrong_credentials_with_401_and_writes_nothing() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    let (logs, _guard) = capture_logs();
    let cases = refusals();
    assert!(cases.len() >= 50, "{}", cases.len());
    for (name, route, request) in cases {
        let response = functions.call(route, request, now()).await;
        let (status, body) = answer(&response);
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
        assert_clean(&name, &body.to_string());
    }
    assert_eq!(stack.all_items().await, vec![], "a refused request wrote");
    assert_clean("the log", &logs.text());
}

#[tokio::test]
async fn the_right_credential_is_accepted_and_logs_reveal_no_secret_number_or_payload() {
    let stack = TestStack::new().await;
    let functions = functions(&stack);
    let (logs, _guard) = capture_logs();
    for (route, path, content_type, body, token) in token_routes() {
        let header = format!("Bearer {token}");
        for request in [
            post(path, content_type, &[("authorization", &header)], body),
            post(&format!("{path}?token={token}"), content_type, &[], body),
        ] {
            let response = functions.call(route, request, now()).await;
            let status = response.status().as_u16();
            let text = String::from_utf8_lossy(response.body().as_ref()).into_owned();
            assert_eq!(status, 200, "{route:?}: {text}");
            if !matches!(route, Route::Voxtelesys(_)) {
                // VoXML answers carry the token in their callback links, on
                // purpose: that is how Voxtelesys authenticates its callbacks.
                // (Answers may name the provider's own numbers.)
                for secret in SECRETS {
                    assert!(!text.contains(secret), "{route:?}: {text}");
                }
            }
        }
    }
    let signature = sign(RETELL_KEY.as_bytes(), RETELL.as_bytes(), T0 - 60_000);
    let response = functions
        .call(
            Route::RetellInbound,
            post(
                "/retell/inbound",
                "application/json",
                &[(SIGNATURE_HEADER, &signature)],
                RETELL,
            ),
            now(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);

    // A token that came in a query string or a header is never stored.
    let stored = format!("{:?}", stack.all_items().await);
    for secret in SECRETS {
        assert!(!stored.contains(secret), "{secret} is stored: {stored}");
    }

    let text = logs.text();
    assert_clean("the log", &text);
    for payload in ["John Doe", "My PIN", "card number", "agent_1"] {
        assert!(
            !text.contains(payload),
            "the log holds payload {payload:?}: {text}"
        );
    }
    // Each delivery's log line is JSON with the provider, kind and outcome,
    // and shows the caller's number only by its last four digits.
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log lines"))
        .collect();
    let handled: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["outcome"].is_string())
        .collect();
    assert_eq!(handled.len(), 9, "{text}"); // four routes twice, Retell once
    for line in handled {
        let fields = &line["fields"];
        for name in ["provider", "kind", "outcome", "duration_ms"] {
            assert!(!fields[name].is_null(), "{name} missing in {line}");
        }
        assert!(fields["from"].as_str().unwrap().ends_with("2671"), "{line}");
    }
}

/// Every request a provider could send, with and without credentials: a
/// function with no secret must refuse them all.
fn every_kind_of_request() -> Vec<(String, Route, Request)> {
    let mut cases = refusals();
    for (route, path, content_type, body, token) in token_routes() {
        let header = format!("Bearer {token}");
        cases.push((
            format!("{route:?} bearer"),
            route,
            post(path, content_type, &[("authorization", &header)], body),
        ));
        cases.push((
            format!("{route:?} query token"),
            route,
            post(&format!("{path}?token={token}"), content_type, &[], body),
        ));
    }
    let signature = sign(RETELL_KEY.as_bytes(), RETELL.as_bytes(), T0);
    cases.push((
        "Retell signed".into(),
        Route::RetellInbound,
        post(
            "/retell/inbound",
            "application/json",
            &[(SIGNATURE_HEADER, &signature)],
            RETELL,
        ),
    ));
    cases
}

const SECRET_VARIABLES: [&str; 4] = [
    "ZONITEL_WEBHOOK_TOKEN",
    "SALPRE_WEBHOOK_TOKEN",
    "VOXTELESYS_WEBHOOK_TOKEN",
    "RETELL_API_KEY",
];

#[tokio::test]
async fn with_no_secret_and_no_opt_in_every_route_refuses_everything_and_says_why() {
    let stack = TestStack::new().await;
    let (logs, _guard) = capture_logs();
    for env in [
        vec![],
        SECRET_VARIABLES.iter().map(|v| (*v, "")).collect(),
        vec![("ALLOW_UNAUTHENTICATED", "false")],
        vec![("ALLOW_UNAUTHENTICATED", "1")],
    ] {
        let functions = functions_from_vars(&stack, &env);
        let cases = every_kind_of_request();
        assert!(cases.len() >= 60, "{}", cases.len());
        for (name, route, request) in cases {
            let response = functions.call(route, request, now()).await;
            let (status, body) = answer(&response);
            assert_eq!(status, 401, "{env:?} {name}: {body}");
            assert_eq!(body["error"]["code"], "unauthorized", "{name}");
            assert_clean(&name, &body.to_string());
        }
    }
    assert_eq!(stack.all_items().await, vec![], "a refused request wrote");
    let text = logs.text();
    assert_clean("the log", &text);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON log lines"))
        .collect();
    for variable in SECRET_VARIABLES {
        let named = |level: &str| {
            lines
                .iter()
                .filter(|l| l["level"] == level && l["fields"]["variable"] == variable)
                .count()
        };
        // At start-up, once per function built (Zonitel's two functions
        // share a variable), then once per refused request.
        assert!(
            named("ERROR") >= 4,
            "no start-up line for {variable}: {text}"
        );
        assert!(named("WARN") >= 4, "no refusal line for {variable}: {text}");
    }
}

#[tokio::test]
async fn allow_unauthenticated_true_is_the_only_way_to_an_open_route() {
    let stack = TestStack::new().await;
    let (logs, _guard) = capture_logs();
    let functions = functions_from_vars(&stack, &[("ALLOW_UNAUTHENTICATED", "true")]);
    for (route, path, content_type, body, _) in token_routes() {
        let response = functions
            .call(route, post(path, content_type, &[], body), now())
            .await;
        assert_eq!(response.status().as_u16(), 200, "{route:?}");
    }
    let response = functions
        .call(
            Route::RetellInbound,
            post("/retell/inbound", "application/json", &[], RETELL),
            now(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(!stack.all_items().await.is_empty());
    let text = logs.text();
    for variable in SECRET_VARIABLES {
        assert!(
            text.lines().any(|l| l.contains("\"WARN\"")
                && l.contains(variable)
                && l.contains("ALLOW_UNAUTHENTICATED=true")),
            "no warning for {variable}: {text}"
        );
    }
    // A set secret still wins over the opt-in.
    let functions = functions_from_vars(
        &stack,
        &[
            ("ALLOW_UNAUTHENTICATED", "true"),
            ("SALPRE_WEBHOOK_TOKEN", SALPRE_TOKEN),
        ],
    );
    let response = functions
        .call(
            Route::SalpreEvents,
            post("/salpre/events", "application/json", &[], SALPRE),
            now(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 401);
}
