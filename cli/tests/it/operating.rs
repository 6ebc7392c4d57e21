//! The operator's commands, as the built binary, against moto: after the
//! documented sample payloads of every provider went through the functions' `handle`,
//! `calls list`, `calls show` and `sms show` show them; `numbers` and
//! `contacts` get, list and delete; `urls` reads a CloudFormation stack in
//! moto; `register zonitel` talks to a fake Zonitel API on 127.0.0.1.

use aws_sdk_cloudformation::Client as CloudFormation;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::Json;
use callhooks::auth::SharedSecret;
use callhooks::config_cache::NumberConfigCache;
use callhooks::runtime::Deadline;
use callhooks::signature::SigningKey;
use callhooks::time::Timestamp;
use callhooks_tests::{answer, event_request, project_root, sdk_config_for, TestStack};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CALLER: &str = "+14155552671";
/// Monday 23 November 2026, 15:51:22 UTC = 07:51:22 in Los Angeles (the
/// commands run in that time zone: `callhooks_tests::run_cli`).
const T0: i64 = 1_795_449_082_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// Runs the binary the way a user does: environment only, no terminal.
pub(crate) async fn callhooks(env: &[(&str, &str)], args: &[&str]) -> Output {
    callhooks_tests::run_cli(env!("CARGO_BIN_EXE_callhooks"), env, args).await
}

pub(crate) async fn on_stack(stack: &TestStack, args: &[&str]) -> Output {
    callhooks(
        &[
            ("AWS_ENDPOINT_URL", &stack.endpoint),
            ("TABLE_NAME", &stack.table_name),
        ],
        args,
    )
    .await
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub(crate) async fn ok_json(stack: &TestStack, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = on_stack(stack, &args).await;
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)))
}

pub(crate) async fn ok_text(stack: &TestStack, args: &[&str]) -> String {
    let out = on_stack(stack, args).await;
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains('\u{1b}'),
        "no colour off a terminal: {text:?}"
    );
    text
}

fn event_file(name: &str) -> lambda_http::Request {
    event_request(&std::fs::read_to_string(project_root().join("events").join(name)).unwrap())
}

/// Posts `events/<file>` through a function's `handle` at `ms`; 200 or bust.
/// The JSON routes' functions, as the pipeline serves them.
macro_rules! json_function {
    ($name:ident, $route:ident) => {
        mod $name {
            use callhooks::route_table::Route;
            use lambda_http::{Body, Request, Response};
            pub async fn handle(
                deps: &callhooks::webhook::WebhookDeps,
                request: Request,
                now: callhooks::time::Timestamp,
            ) -> Response<Body> {
                callhooks::ingest::edge::handle_json(Route::$route, deps, request, now).await
            }
        }
    };
}
json_function!(zonitel_call, ZonitelCall);
json_function!(zonitel_sms, ZonitelSms);
json_function!(salpre_events, SalpreEvents);

macro_rules! deliver {
    ($($function:ident)::+, $deps:expr, $file:expr, $ms:expr) => {{
        let (status, body) =
            answer(&$($function)::+::handle($deps, event_file($file), at($ms)).await);
        assert_eq!(status, 200, "{}: {body}", $file);
        body
    }};
}

pub(crate) fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn seed_payloads_of_every_provider_show_in_calls_list_and_show() {
    let stack = TestStack::new().await;
    let store = stack.store();
    let deadline = Deadline::FIVE_SECOND_PROVIDER;
    let zonitel = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline,
    };
    let sms = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline,
    };
    let salpre = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline,
    };
    let voxtelesys = callhooks::routes::voxtelesys::VoxtelesysDeps {
        store: store.clone(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline,
        config_cache: NumberConfigCache::new(Duration::from_secs(30)),
        default_message: "Sorry.".into(),
        fallback: None,
    };
    let retell = callhooks::routes::retell::RetellDeps {
        store: store.clone(),
        key: SigningKey::new(None),
        retention_days: 30,
        deadline: Deadline::CALLER_WAITING,
        events_store: store.clone(),
        events_deadline: Deadline::CALL_EVENTS,
        config_cache: NumberConfigCache::new(Duration::from_secs(30)),
    };

    let zonitel_call_id = deliver!(zonitel_call, &zonitel, "zonitel-call.json", T0)["call_id"]
        .as_str()
        .unwrap()
        .to_string();
    for (i, hook) in ["voice", "dial", "recording", "status"].iter().enumerate() {
        deliver!(
            callhooks::routes::voxtelesys,
            &voxtelesys,
            &format!("voxtelesys-{hook}-post.json"),
            T0 + 1_000 + i as i64
        );
    }
    for (i, kind) in [
        "call_initiated",
        "call_ringing",
        "call_answered",
        "transcript",
    ]
    .iter()
    .enumerate()
    {
        deliver!(
            salpre_events,
            &salpre,
            &format!("salpre-{kind}.json"),
            T0 + 2_000 + i as i64
        );
    }
    deliver!(
        callhooks::routes::retell,
        &retell,
        "retell-inbound.json",
        T0 + 3_000
    );
    for (i, file) in [
        "zonitel-sms-inbound.json",
        "zonitel-sms-delivered.json",
        "zonitel-sms-failed.json",
    ]
    .iter()
    .enumerate()
    {
        deliver!(zonitel_sms, &sms, file, T0 + 4_000 + i as i64);
    }

    // Before call_ended: the transcript so far is the live lines.
    let live = ok_text(&stack, &["calls", "show", "salpre", "48213"]).await;
    assert!(live.contains("Transcript (live lines"), "{live}");
    assert!(
        line_with(&live, "customer").contains("07:51:35 PST"),
        "{live}"
    );
    let shown = ok_json(&stack, &["calls", "show", "salpre", "48213"]).await;
    assert_eq!(shown["live_transcript"].as_array().unwrap().len(), 1);
    assert_eq!(shown["final_transcript"], Value::Null);
    assert_eq!(shown["summary"]["status"], "answered");

    deliver!(salpre_events, &salpre, "salpre-call_ended.json", T0 + 2_010);

    // Access pattern 3 across providers, newest first.
    let list = ok_json(&stack, &["calls", "list", "--number", CALLER]).await;
    let seen: Vec<(String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let id = e["call_id"].as_str().unwrap_or_default().to_string();
            (
                e["provider"].as_str().unwrap().into(),
                id,
                e["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("salpre".into(), "48213".into(), "ended".into()),
            ("voxtelesys".into(), "CA5f2c1e".into(), "ended".into()),
            ("zonitel".into(), zonitel_call_id.clone(), "ringing".into()),
        ]
    );
    assert_eq!(
        list[1]["missed"], true,
        "voxtelesys: the forward was not answered"
    );
    assert_eq!(list[0]["missed"], false);
    assert_eq!(list[2]["caller_name"], "John Doe");
    assert_eq!(list[2]["first_seen_at"], "2026-11-23T15:51:22.000Z");
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["channel"] == "call"));

    let table = ok_text(&stack, &["calls", "list", "--number", CALLER]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("FIRST SEEN"), "{table}");
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[1].contains("salpre") && lines[1].contains("ended (answered)"),
        "{table}"
    );
    assert!(
        lines[2].contains("voxtelesys") && lines[2].contains("missed"),
        "{table}"
    );
    let zonitel_line = line_with(&table, &zonitel_call_id);
    assert!(
        zonitel_line.starts_with("2026-11-23 07:51:22 PST  call"),
        "{table}"
    );
    assert!(zonitel_line.contains("John Doe") && zonitel_line.contains("+18339664835"));
    // Aligned: every row's STATUS column starts where the header's does.
    let status_at = lines[0].find("STATUS").unwrap();
    for line in &lines[1..] {
        assert!(
            ["ended", "missed", "ringing"]
                .iter()
                .any(|s| line[status_at..].starts_with(s)),
            "{table}"
        );
    }

    // The same calls from the other side, and Retell's caller.
    let ours = ok_json(
        &stack,
        &["calls", "list", "--number", "+18339664835", "--limit", "2"],
    )
    .await;
    assert_eq!(ours.as_array().unwrap().len(), 2);
    assert_eq!(ours[0]["provider"], "salpre");
    // Paging back in one number's timeline: strictly before the oldest shown.
    let older = ok_json(
        &stack,
        &[
            "calls",
            "list",
            "--number",
            CALLER,
            "--until",
            list[1]["first_seen_at"].as_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(older.as_array().unwrap().len(), 1, "{older}");
    assert_eq!(older[0]["call_id"], zonitel_call_id.as_str());
    let retell_list = ok_json(&stack, &["calls", "list", "--number", "+12137771234"]).await;
    assert_eq!(retell_list[0]["provider"], "retell");
    assert_eq!(retell_list[0]["to"], "+12137771235");
    let since = ok_json(
        &stack,
        &[
            "calls",
            "list",
            "--number",
            CALLER,
            "--since",
            "2026-11-23T07:51:23-08:00",
        ],
    )
    .await;
    assert_eq!(
        since.as_array().unwrap().len(),
        2,
        "the Zonitel call came before: {since}"
    );

    // Messages are in the timeline too.
    let texts = ok_json(&stack, &["calls", "list", "--number", "+10000000020"]).await;
    let ids: Vec<&str> = texts
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "77777777-eeee-8888-ffff-999999999999",
            "44444444-cccc-5555-dddd-666666666666",
            "11111111-aaaa-2222-bbbb-333333333333"
        ]
    );
    assert!(texts
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["channel"] == "sms"));
    let text_table = ok_text(&stack, &["calls", "list", "--number", "+10000000020"]).await;
    assert!(
        line_with(&text_table, "44444444").contains("delivered"),
        "{text_table}"
    );
    assert!(
        line_with(&text_table, "77777777").contains("failed"),
        "{text_table}"
    );

    // Patterns 1 and 2: summary, events in order, the final transcript.
    let call = ok_json(&stack, &["calls", "show", "salpre", "48213"]).await;
    assert_eq!(call["summary"]["status"], "ended");
    assert_eq!(call["summary"]["source"], "salprebox:SALPRE_AABBCCDD");
    let kinds: Vec<&str> = call["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "call_initiated",
            "call_ringing",
            "call_answered",
            "transcript",
            "call_ended"
        ]
    );
    let turns = call["final_transcript"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    assert_eq!(
        turns[1]["message"],
        "Hi, I'd like to move my appointment to Friday."
    );
    let text = ok_text(&stack, &["calls", "show", "salpre", "48213"]).await;
    assert!(text.contains("Transcript (final)"), "{text}");
    let final_part = text.split("Transcript (final)").nth(1).unwrap();
    let turn = line_with(final_part, "move my appointment");
    assert!(
        turn.starts_with("2026-11-23 07:51:34 PST  customer"),
        "{text}"
    );
    assert!(
        line_with(&text, "answered:").contains("2026-11-23 07:51:30 PST"),
        "{text}"
    );

    let vox = ok_text(&stack, &["calls", "show", "voxtelesys", "CA5f2c1e"]).await;
    assert!(line_with(&vox, "status:").contains("missed"), "{vox}");
    assert!(line_with(&vox, "voicemail:").contains("RE3b9.wav"), "{vox}");
    assert!(line_with(&vox, "dial").contains("no-answer"), "{vox}");
    let zonitel_shown = ok_json(&stack, &["calls", "show", "zonitel", &zonitel_call_id]).await;
    assert_eq!(zonitel_shown["events"][0]["kind"], "incoming_call");
    assert!(zonitel_shown["events"][0]["raw"]
        .as_str()
        .unwrap()
        .contains("John Doe"));

    // Pattern 4.
    let failed = ok_json(
        &stack,
        &["sms", "show", "77777777-eeee-8888-ffff-999999999999"],
    )
    .await;
    assert_eq!(failed["summary"]["status"], "failed");
    assert_eq!(failed["history"][0]["status"], "failed");
    let sms_text = ok_text(
        &stack,
        &["sms", "show", "44444444-cccc-5555-dddd-666666666666"],
    )
    .await;
    assert!(
        line_with(&sms_text, "media:").contains("https://example.com/media1.jpg"),
        "{sms_text}"
    );
    assert!(
        line_with(&sms_text, "successfully").starts_with("2026-11-23 07:51:26 PST  delivered"),
        "{sms_text}"
    );

    // Not there, or asked wrongly.
    let out = on_stack(&stack, &["calls", "show", "salpre", "999"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no salpre call 999"),
        "{}",
        stderr(&out)
    );
    let out = on_stack(&stack, &["calls", "show", "skype", "1"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid value 'skype'") && stderr(&out).contains("retell"),
        "{}",
        stderr(&out)
    );
    let out = on_stack(&stack, &["calls", "list", "--number", "anonymous"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("withheld"), "{}", stderr(&out));
    let out = on_stack(
        &stack,
        &["calls", "list", "--number", CALLER, "--since", "soon"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--since"), "{}", stderr(&out));
    let out = on_stack(&stack, &["sms", "show", "nope"]).await;
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn numbers_and_contacts_get_list_delete() {
    let stack = TestStack::new().await;
    for (kind, file) in [
        ("numbers", "examples/number.json"),
        ("contacts", "examples/contact.json"),
    ] {
        let out = on_stack(&stack, &[kind, "put", file]).await;
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let example = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(project_root().join("examples").join(name)).unwrap(),
        )
        .unwrap()
    };
    let got = ok_json(&stack, &["numbers", "get", "+12137771235"]).await;
    assert_eq!(got, example("number.json"));
    // The printed document is a valid input for `put` again.
    let text = ok_text(&stack, &["numbers", "get", "+12137771235"]).await;
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), got);
    let contact = ok_json(&stack, &["contacts", "get", "+12137771234"]).await;
    assert_eq!(contact, example("contact.json"));

    let second = r#"{"number": "+18339664835", "label": "Support", "voxtelesys": {"forward_to": ["+14155550100"], "voicemail": {"enabled": true}}}"#;
    let path = std::env::temp_dir().join(format!("callhooks-ops-{}.json", std::process::id()));
    std::fs::write(&path, second).unwrap();
    let out = on_stack(&stack, &["numbers", "put", path.to_str().unwrap()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(path).unwrap();
    let list = ok_json(&stack, &["numbers", "list"]).await;
    let numbers: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["+12137771235", "+18339664835"],
        "contacts are not numbers"
    );
    let table = ok_text(&stack, &["numbers", "list"]).await;
    assert!(
        line_with(&table, "+18339664835").contains("Support"),
        "{table}"
    );
    assert!(
        line_with(&table, "+18339664835").contains("forward to 1, voicemail"),
        "{table}"
    );

    let out = on_stack(&stack, &["numbers", "delete", "+18339664835"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = on_stack(&stack, &["numbers", "get", "+18339664835"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("callhooks numbers put"),
        "{}",
        stderr(&out)
    );
    let out = on_stack(&stack, &["numbers", "delete", "+18339664835"]).await;
    assert_eq!(out.status.code(), Some(1), "nothing to delete is said");
    let out = on_stack(&stack, &["contacts", "delete", "+12137771234"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = on_stack(&stack, &["contacts", "get", "+12137771234"]).await;
    assert_eq!(out.status.code(), Some(1));
    let out = on_stack(&stack, &["numbers", "get", "not-a-number"]).await;
    assert_eq!(out.status.code(), Some(2));
    let store = stack.store();
    let remaining = store.number_configs().await.unwrap();
    assert_eq!(remaining.len(), 1);
}

/// template.yaml's Outputs with the values a deployed stack would have.
pub(crate) fn deployed_outputs() -> Vec<(String, String)> {
    let template = std::fs::read_to_string(project_root().join("template.yaml")).unwrap();
    let outputs = template.split("\nOutputs:\n").nth(1).unwrap();
    let mut found = Vec::new();
    let mut name = None;
    for line in outputs.lines() {
        if line.starts_with("  ") && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            name = Some(line.trim().trim_end_matches(':').to_string());
        } else if let (Some(n), Some(value)) = (&name, line.trim().strip_prefix("Value: ")) {
            let value = value
                .trim_start_matches("!Sub ")
                .trim_matches('"')
                .replace("${WebhookApi}", "abc123")
                .replace("${AWS::Region}", "us-east-1")
                .replace("${AWS::URLSuffix}", "amazonaws.com");
            let value = if value.starts_with('!') {
                format!("{n}-value")
            } else {
                value
            };
            found.push((n.clone(), value));
        }
    }
    found
}

/// moto loads its CloudFormation and Secrets Manager backends on first
/// use: more than the functions' 3.5 s deadline.
fn patient() -> Deadline {
    Deadline {
        total: std::time::Duration::from_secs(60),
        attempt: std::time::Duration::from_secs(60),
        connect: std::time::Duration::from_secs(5),
        max_attempts: 1,
    }
}

/// A stack in moto with these outputs; returns its name.
pub(crate) async fn stack_with_outputs(
    stack: &TestStack,
    outputs: &[(String, String)],
    name: &str,
) -> String {
    let template = json!({
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": outputs.iter().map(|(k, v)| (k.clone(), json!({"Value": v}))).collect::<serde_json::Map<_, _>>(),
    });
    let cloudformation = CloudFormation::new(&sdk_config_for(&stack.endpoint, patient()).await);
    let name = format!("{}-{name}", stack.table_name);
    cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    name
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_come_from_the_stack_outputs() {
    let stack = TestStack::new().await;
    // A stack deployed with the defaults: generated tokens, routes closed.
    let outputs: Vec<(String, String)> = deployed_outputs()
        .into_iter()
        .filter(|(k, _)| k != callhooks_cli::urls::OPEN_ROUTES_OUTPUT)
        .collect();
    assert!(outputs.len() >= 6, "{outputs:?}");
    let name = stack_with_outputs(&stack, &outputs, "stack").await;

    let urls = ok_json(&stack, &["urls", "--stack", &name]).await;
    let get = |output: &str, field: &str| -> Value {
        urls.as_array()
            .unwrap()
            .iter()
            .find(|u| u["output"] == output && u["field"].as_str().unwrap().contains(field))
            .cloned()
            .unwrap_or_else(|| panic!("{output} {field}: {urls}"))
    };
    let base = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let masked = callhooks_cli::urls::MASK;
    assert_eq!(
        get("ZonitelCallsUrl", "incoming-call")["url"],
        format!("{base}/zonitel/calls?token={masked}")
    );
    assert!(get("ZonitelCallsUrl", "")["auth"]
        .as_str()
        .unwrap()
        .contains("?token="));
    assert_eq!(
        get("ZonitelSmsUrl", "SMS")["url"],
        format!("{base}/zonitel/sms?token={masked}")
    );
    assert_eq!(
        get("SalpreEventsUrl", "")["url"],
        format!("{base}/salpre/events")
    );
    assert!(get("SalpreEventsUrl", "")["auth"]
        .as_str()
        .unwrap()
        .contains("Authorization: Bearer"));
    assert_eq!(
        get("VoxtelesysVoiceUrl", "voice URL")["url"],
        format!("{base}/voxtelesys/voice?token={masked}")
    );
    assert_eq!(
        get("VoxtelesysVoiceUrl", "status")["url"],
        format!("{base}/voxtelesys/status?token={masked}")
    );
    assert!(get("VoxtelesysVoiceUrl", "status")["auth"]
        .as_str()
        .unwrap()
        .contains("?token="));
    assert_eq!(
        get("RetellInboundUrl", "")["url"],
        format!("{base}/retell/inbound")
    );
    assert_eq!(
        get("RetellEventsUrl", "")["url"],
        format!("{base}/retell/events")
    );

    let table = ok_text(&stack, &["urls", "--stack", &name]).await;
    assert!(table.starts_with("PROVIDER"), "{table}");
    assert!(
        line_with(&table, "/zonitel/calls").contains(&format!("?token={masked}")),
        "{table}"
    );
    assert!(table.contains("--show-secrets"), "{table}");
    assert!(!table.contains("WARNING"), "{table}");
    assert!(!table.contains("no output"), "{table}");
    assert!(
        table.contains("export TABLE_NAME=EventsTableName-value"),
        "{table}"
    );

    let out = on_stack(&stack, &["urls", "--stack", "no-such-stack"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no stack \"no-such-stack\""),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_show_generated_tokens_only_when_asked_and_warn_of_open_routes() {
    let stack = TestStack::new().await;
    let secrets =
        aws_sdk_secretsmanager::Client::new(&sdk_config_for(&stack.endpoint, patient()).await);
    let mut arn = HashMap::new();
    for (output, value) in [
        (
            "ZonitelTokenSecretArn",
            "ZonGenerated0123456789abcdefABCDEF",
        ),
        ("SalpreTokenSecretArn", "SalGenerated0123456789abcdefABCDEF"),
    ] {
        let created = secrets
            .create_secret()
            .name(format!("{}-{output}", stack.table_name))
            .secret_string(value)
            .send()
            .await
            .unwrap();
        arn.insert(output, created.arn.unwrap());
    }
    // Voxtelesys's token was the operator's own, and the stack was
    // deployed with AllowUnauthenticated=true.
    let outputs: Vec<(String, String)> = deployed_outputs()
        .into_iter()
        .filter(|(k, _)| k != "VoxtelesysTokenSecretArn")
        .map(|(k, v)| match arn.get(k.as_str()) {
            Some(arn) => (k, arn.clone()),
            None => (k, v),
        })
        .collect();
    assert!(outputs
        .iter()
        .any(|(k, _)| k == callhooks_cli::urls::OPEN_ROUTES_OUTPUT));
    let name = stack_with_outputs(&stack, &outputs, "generated").await;

    let masked = ok_text(&stack, &["urls", "--stack", &name]).await;
    assert!(masked.starts_with("WARNING: "), "{masked}");
    assert!(!masked.contains("Generated0123"), "{masked}");
    assert!(
        line_with(&masked, "/voxtelesys/voice").contains("?token=<VoxtelesysWebhookToken>"),
        "{masked}"
    );
    assert!(
        line_with(&masked, "/voxtelesys/voice").contains("accepts anything"),
        "{masked}"
    );

    let shown = ok_json(&stack, &["urls", "--stack", &name, "--show-secrets"]).await;
    let entry = |output: &str| -> &Value {
        shown
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["output"] == output)
            .unwrap_or_else(|| panic!("{output}: {shown}"))
    };
    assert!(entry("ZonitelCallsUrl")["url"]
        .as_str()
        .unwrap()
        .ends_with("/zonitel/calls?token=ZonGenerated0123456789abcdefABCDEF"));
    assert_eq!(
        entry("SalpreEventsUrl")["auth"],
        "Additional Headers: Authorization: Bearer SalGenerated0123456789abcdefABCDEF"
    );
    assert!(entry("SalpreEventsUrl")["warning"].is_null());
    assert!(entry("VoxtelesysVoiceUrl")["warning"]
        .as_str()
        .unwrap()
        .contains("VoxtelesysWebhookToken"));
    assert!(entry("RetellInboundUrl")["token"].is_null());

    let text = ok_text(&stack, &["urls", "--stack", &name, "--show-secrets"]).await;
    assert!(!text.contains(callhooks_cli::urls::MASK), "{text}");
}

/// The fake Zonitel API: answers every request with `fail` if set, else
/// keeps the URL each webhook was given and returns it on GET (or
/// `read_back` instead, to play a registration that did not take).
#[derive(Default)]
struct FakeZonitel {
    requests: Vec<(Method, String, HeaderMap, Value)>,
    urls: HashMap<String, String>,
    fail: Option<(u16, &'static str)>,
    fail_reads: Option<(u16, &'static str)>,
    read_back: Option<String>,
}

type Shared = Arc<Mutex<FakeZonitel>>;

async fn fake(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let mut fake = state.lock().unwrap();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    fake.requests
        .push((method.clone(), path.clone(), headers, body.clone()));
    let failing = if method == Method::GET {
        fake.fail_reads.or(fake.fail)
    } else {
        fake.fail
    };
    if let Some((code, message)) = failing {
        return (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"code": code, "message": message})),
        );
    }
    let expected = match path.as_str() {
        "/api/v3/calls/webhooks" => [Method::POST, Method::GET],
        "/api/v3/integrations/sms/webhooks" => [Method::PUT, Method::GET],
        _ => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"code": 404, "message": "Not found"})),
            )
        }
    };
    if !expected.contains(&method) {
        return (StatusCode::METHOD_NOT_ALLOWED, Json(json!({"code": 405})));
    }
    if method == Method::GET {
        let url = fake
            .read_back
            .clone()
            .or_else(|| fake.urls.get(&path).cloned());
        return (
            StatusCode::OK,
            Json(
                json!({"status": "success", "data": {"url": url}, "message": "Webhook retrieved successfully"}),
            ),
        );
    }
    let url = body["url"].as_str().unwrap_or_default().to_string();
    fake.urls.insert(path, url.clone());
    (
        StatusCode::OK,
        Json(
            json!({"status": "success", "data": {"url": url}, "message": "Webhook updated successfully"}),
        ),
    )
}

async fn start_fake(setup: FakeZonitel) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(setup));
    let app = axum::Router::new().fallback(fake).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}

const CALLS_URL: &str =
    "https://abc123.execute-api.us-east-1.amazonaws.com/zonitel/calls?token=s3cret";
const SMS_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com/zonitel/sms?token=s3cret";
const CLIENT_ID: &str = "550e8400-e29b-41d4-a716-446655440000";

async fn register(base: &str, extra: &[&str], credentials: bool) -> Output {
    let mut env = vec![("ZONITEL_API_BASE", base)];
    if credentials {
        env.push(("ZONITEL_CLIENT_ID", CLIENT_ID));
        env.push(("ZONITEL_ACCESS_TOKEN", "tok-123"));
    }
    let mut args = vec!["register", "zonitel"];
    args.extend_from_slice(extra);
    callhooks(&env, &args).await
}

#[tokio::test(flavor = "multi_thread")]
async fn register_zonitel_sets_both_urls_and_reads_them_back() {
    let (base, state) = start_fake(FakeZonitel::default()).await;
    let out = register(
        &base,
        &["--calls-url", CALLS_URL, "--sms-url", SMS_URL],
        true,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        line_with(&text, "incoming calls")
            .trim_end()
            .ends_with("yes"),
        "{text}"
    );
    assert!(
        line_with(&text, "SMS").trim_end().ends_with("yes"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "tokens are not printed: {text}");

    let requests = state.lock().unwrap().requests.clone();
    let seen: Vec<(String, String)> = requests
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("POST".to_string(), "/api/v3/calls/webhooks".to_string()),
            ("GET".into(), "/api/v3/calls/webhooks".into()),
            ("PUT".into(), "/api/v3/integrations/sms/webhooks".into()),
            ("GET".into(), "/api/v3/integrations/sms/webhooks".into()),
        ]
    );
    for (method, _, headers, _) in &requests {
        assert_eq!(headers["x-client-id"], CLIENT_ID);
        assert_eq!(headers["authorization"], "Bearer tok-123");
        if method != Method::GET {
            assert_eq!(headers["content-type"], "application/json");
        }
    }
    assert_eq!(requests[0].3, json!({"url": CALLS_URL}));
    assert_eq!(requests[2].3, json!({"url": SMS_URL}));

    let out = register(&base, &["--sms-url", SMS_URL, "--json"], true).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result[0]["webhook"], "sms");
    assert_eq!(result[0]["matches"], true);
    assert_eq!(result[0]["sent"], SMS_URL.replace("s3cret", "…"));
}

#[tokio::test(flavor = "multi_thread")]
async fn register_zonitel_explains_each_documented_error() {
    let cases: [(u16, &str, Option<&str>, &str); 6] = [
        (401, "Authentication required", None, "ZONITEL_ACCESS_TOKEN"),
        (403, "Access denied", None, "ZONITEL_CLIENT_ID"),
        (400, "Invalid request parameters", None, "public HTTPS URL"),
        (404, "Not found", None, "--api-base"),
        (500, "An internal server error occurred", None, "run again"),
        (
            404,
            "No webhook URL configured.",
            Some("reads"),
            "registration did not take",
        ),
    ];
    for (code, message, only_reads, advice) in cases {
        let setup = if only_reads.is_some() {
            FakeZonitel {
                fail_reads: Some((code, message)),
                ..Default::default()
            }
        } else {
            FakeZonitel {
                fail: Some((code, message)),
                ..Default::default()
            }
        };
        let (base, _state) = start_fake(setup).await;
        let out = register(
            &base,
            &["--calls-url", CALLS_URL, "--sms-url", SMS_URL],
            true,
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{code}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains(&format!("Zonitel answered {code} \"{message}\"")),
            "{said}"
        );
        assert!(said.contains(advice), "{code}: {said}");
        assert!(
            !said.contains("tok-123") && !said.contains("s3cret"),
            "{said}"
        );
    }

    // A registration that reads back different is a failure, said plainly.
    let (base, _state) = start_fake(FakeZonitel {
        read_back: Some("https://old.example/hook".into()),
        ..Default::default()
    })
    .await;
    let out = register(&base, &["--calls-url", CALLS_URL], true).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("different URL"), "{}", stderr(&out));
    assert!(line_with(&stderr(&out), "incoming calls").contains("https://old.example/hook"));

    // Nobody listening.
    let closed = callhooks_tests::closed_endpoint();
    let out = register(&closed, &["--calls-url", CALLS_URL], true).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("ZONITEL_API_BASE"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn register_zonitel_refuses_before_any_request() {
    let (base, state) = start_fake(FakeZonitel::default()).await;
    let plain = CALLS_URL.replace("https://", "http://");
    let out = register(&base, &["--calls-url", &plain, "--sms-url", SMS_URL], true).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("HTTPS"), "{}", stderr(&out));
    let out = register(
        &base,
        &["--calls-url", CALLS_URL, "--sms-url", "ftp://x/y"],
        true,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let out = register(&base, &["--calls-url", CALLS_URL], false).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("ZONITEL_CLIENT_ID is not set"),
        "{}",
        stderr(&out)
    );
    let out = register(&base, &[], true).await;
    assert_eq!(out.status.code(), Some(2), "one URL at least");
    assert!(
        state.lock().unwrap().requests.is_empty(),
        "no request was made"
    );
}

/// A caller-ID name and an SMS as an attacker would set them: a clipboard
/// write (`ESC ] 52`), a screen clear, a C1 CSI, bidi overrides and
/// isolates, a zero-width space, a line break.
const HOSTILE: &str = "Jo\u{1b}]52;c;ZXZpbA==\u{7}hn\u{1b}[2J\u{202e}eoD\u{202c}\u{9b}31m\u{2066}x\u{2069}\u{200b}\nfake line";

/// Nothing that acts on a terminal: no control but the line breaks the
/// command writes itself, no bidi or invisible character.
fn assert_harmless(what: &str, text: &str) {
    let bad: Vec<char> = text
        .chars()
        .filter(|c| callhooks_cli::safe::is_unsafe(*c) && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "{what} prints {bad:?}:\n{text}");
    assert!(!text.contains("\nfake line"), "{what}: a stored line break");
}

/// Sets `name` to `value` on every item of the table `matches` picks.
async fn overwrite(
    stack: &TestStack,
    matches: impl Fn(&callhooks::store::plan::Item) -> bool,
    name: &str,
) -> usize {
    let client = stack.dynamodb();
    let mut count = 0;
    for item in stack.all_items().await.into_iter().filter(|i| matches(i)) {
        client
            .update_item()
            .table_name(&stack.table_name)
            .key("PK", callhooks::store::sdk::to_sdk(&item["PK"]))
            .key("SK", callhooks::store::sdk::to_sdk(&item["SK"]))
            .update_expression("SET #n = :v")
            .expression_attribute_names("#n", name)
            .expression_attribute_values(
                ":v",
                aws_sdk_dynamodb::types::AttributeValue::S(HOSTILE.into()),
            )
            .send()
            .await
            .unwrap();
        count += 1;
    }
    count
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_escape_sequences_and_bidi_overrides_print_harmlessly() {
    let stack = TestStack::new().await;
    let deps = callhooks::webhook::WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    deliver!(zonitel_call, &deps, "zonitel-call.json", T0);
    deliver!(zonitel_sms, &deps, "zonitel-sms-failed.json", T0);
    // Stored as the outside world could have sent it, whatever the readers
    // of today keep of it.
    let text_of = |i: &callhooks::store::plan::Item, n: &str| {
        i.get(n)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let calls = |i: &callhooks::store::plan::Item| text_of(i, "PK").starts_with("CALL#");
    assert!(overwrite(&stack, calls, "caller_name").await >= 2);
    assert!(overwrite(&stack, |i| text_of(i, "item_type") == "call_event", "kind").await >= 1);
    let sms = |i: &callhooks::store::plan::Item| text_of(i, "item_type") == "sms";
    assert_eq!(overwrite(&stack, sms, "message_text").await, 1);
    assert_eq!(overwrite(&stack, sms, "failure_message").await, 1);
    let status = |i: &callhooks::store::plan::Item| text_of(i, "item_type") == "sms_status";
    assert_eq!(overwrite(&stack, status, "message").await, 1);
    let call_id = stack
        .all_items()
        .await
        .iter()
        .find(|i| text_of(i, "SK") == "SUMMARY" && calls(i))
        .map(|i| text_of(i, "call_id"))
        .unwrap();
    let sms_id = "77777777-eeee-8888-ffff-999999999999";

    let list = ok_text(&stack, &["calls", "list", "--number", CALLER]).await;
    assert_harmless("calls list", &list);
    assert!(
        list.contains("Jo\\u{1b}]52;c;ZXZpbA==\\u{7}hn\\u{1b}[2J\\u{202e}eoD"),
        "{list}"
    );
    let show = ok_text(&stack, &["calls", "show", "zonitel", &call_id]).await;
    assert_harmless("calls show", &show);
    assert!(show.contains("\\u{202e}eoD\\u{202c}\\u{9b}31m"), "{show}");
    let sms_show = ok_text(&stack, &["sms", "show", sms_id]).await;
    assert_harmless("sms show", &sms_show);
    assert_eq!(sms_show.matches("\\u{1b}]52").count(), 3, "{sms_show}");

    // JSON keeps the stored text exactly, escaped: C0 by serde_json, the
    // rest (C1, bidi, invisible) by the command.
    for (args, pointer) in [
        (vec!["calls", "list", "--number", CALLER], "/0/caller_name"),
        (
            vec!["calls", "show", "zonitel", &call_id],
            "/summary/caller_name",
        ),
        (vec!["sms", "show", sms_id], "/summary/message_text"),
        (vec!["sms", "show", sms_id], "/history/0/message"),
    ] {
        let mut with_json = args.clone();
        with_json.push("--json");
        let out = on_stack(&stack, &with_json).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let printed = stdout(&out);
        assert_harmless(&format!("{args:?} --json"), &printed);
        let value: Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(value.pointer(pointer), Some(&json!(HOSTILE)), "{args:?}");
    }
}

/// Deliveries that authenticated but could not be read are answered 200,
/// kept raw, and `unrecognized list` shows them newest first (text and
/// JSON), `--since` bounding them; a retry of the same bytes is one entry.
#[tokio::test(flavor = "multi_thread")]
async fn unrecognized_list_shows_what_could_not_be_read() {
    let stack = TestStack::new().await;
    let salpre = callhooks::webhook::WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    let post = |body: &str| {
        callhooks_tests::api_request(
            "POST",
            "/salpre/events",
            &[("content-type", "text/plain"), ("user-agent", "Salpre/2")],
            Some(body),
            false,
        )
    };
    for (body, ms) in [
        ("not json, first", T0),
        ("not json, first", T0 + 1_000), // the provider's retry
        ("<xml>second</xml>", T0 + 60_000),
    ] {
        let (status, answer_body) =
            answer(&salpre_events::handle(&salpre, post(body), at(ms)).await);
        assert_eq!(status, 200, "{answer_body}");
        assert!(
            ["unrecognized", "duplicate"].contains(&answer_body["status"].as_str().unwrap()),
            "{answer_body}"
        );
    }
    let listed = ok_json(&stack, &["unrecognized", "list"]).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["body_bytes"], 17, "newest first: {listed:?}");
    assert_eq!(listed[1]["route"], "/salpre/events");
    assert_eq!(listed[1]["user_agent"], "Salpre/2");
    assert!(
        listed[1]["reason"].as_str().unwrap().contains("JSON"),
        "{listed:?}"
    );
    let text = ok_text(&stack, &["unrecognized", "list"]).await;
    assert!(line_with(&text, "/salpre/events").contains("17"), "{text}");
    let since = ok_json(
        &stack,
        &["unrecognized", "list", "--since", "2026-11-23T15:52:00Z"],
    )
    .await;
    assert_eq!(since.as_array().unwrap().len(), 1, "{since}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_code_and_a_sender_id_have_timelines() {
    let stack = TestStack::new().await;
    let deps = callhooks::webhook::WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    for (sender, id) in [("72345", "sms-short-1"), ("ACMEBANK", "sms-bank-1")] {
        let body = json!({"status": "inbound", "data": {"id": id, "segments": 1,
            "direction": "inbound", "messageText": "Your code is 123456", "from": sender,
            "to": "+18339664835", "medias": []}, "message": "ok"});
        let request = callhooks_tests::post_json("/zonitel/sms", &body.to_string());
        let (status, answer) = answer(&zonitel_sms::handle(&deps, request, at(T0)).await);
        assert_eq!(status, 200, "{answer}");
        let list = ok_json(&stack, &["calls", "list", "--number", sender]).await;
        let ids: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["message_id"].as_str())
            .collect();
        assert_eq!(ids, vec![id], "{list}");
    }
    let refused = on_stack(&stack, &["calls", "list", "--number", "anonymous"]).await;
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("withheld"),
        "{}",
        stderr(&refused)
    );
}
