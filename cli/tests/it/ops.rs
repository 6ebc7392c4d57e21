//! The CLI's conveniences as the built binary against moto: `stats` and
//! `calls list` without `--number` read the day index (GSI3) the webhooks
//! fill; `--stack` finds the table in a CloudFormation stack's outputs;
//! colour follows NO_COLOR / CLICOLOR_FORCE; `completions` prints a script.

use aws_sdk_cloudformation::Client as CloudFormation;
use callhooks::auth::SharedSecret;
use callhooks::runtime::Deadline;
use callhooks::time::Timestamp;
use callhooks_tests::{
    answer, api_request, event_request, project_root, sdk_config_for, TestStack,
};
use jiff::tz::TimeZone;
use lambda_http::http::HeaderValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::Output;

const TZ: &str = "America/Los_Angeles";
const TOKEN: &str = "ops-test-token";

async fn callhooks(env: &[(&str, &str)], args: &[&str]) -> Output {
    callhooks_tests::run_cli(env!("CARGO_BIN_EXE_callhooks"), env, args).await
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn authorized(mut req: lambda_http::Request) -> lambda_http::Request {
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    req
}

fn salpre(kind: &str, call_id: u64, at: Timestamp) -> lambda_http::Request {
    let call = json!({
        "from": "+14155550101", "to": "+18339664835",
        "direction": "inbound", "source": "salprebox:SALPRE_AABBCCDD",
    });
    let body = if kind == "error" {
        let mut call = call.clone();
        call["id"] = json!(call_id);
        json!({"event_type": "error", "timestamp_utc": at.as_second(),
               "payload": {"call": call, "error_message": "SIP 503 from carrier"}, "is_test": false})
    } else {
        let mut payload = call.clone();
        payload["call_id"] = json!(call_id);
        json!({"event_type": kind, "timestamp_utc": at.as_second(), "payload": payload, "is_test": false})
    };
    authorized(api_request(
        "POST",
        "/salpre/events",
        &[("content-type", "application/json")],
        Some(&body.to_string()),
        false,
    ))
}

fn event_file(name: &str) -> lambda_http::Request {
    authorized(event_request(
        &std::fs::read_to_string(project_root().join("events").join(name)).unwrap(),
    ))
}

/// What the webhooks recorded, as (local date, provider) -> counts.
struct Seeded {
    expected: BTreeMap<(String, String), [u64; 5]>,
}

/// Two Salpre calls (one missed today, one failed three days ago), a
/// Zonitel call and a failed Zonitel SMS today, through the functions.
async fn seed(stack: &TestStack) -> Seeded {
    let store = stack.store();
    let deadline = Deadline::FIVE_SECOND_PROVIDER;
    let secret = || SharedSecret::new(Some(TOKEN));
    let salpre_deps = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: secret(),
        retention_days: 30,
        deadline,
    };
    let zonitel = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: secret(),
        retention_days: 30,
        deadline,
    };
    let sms = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: secret(),
        retention_days: 30,
        deadline,
    };
    let now = Timestamp::now();
    let today = now - jiff::SignedDuration::from_mins(10);
    let old = now - jiff::SignedDuration::from_hours(72);
    let ms = |t: Timestamp, plus: i64| t + jiff::SignedDuration::from_millis(plus);
    for (req, at) in [
        (salpre("call_initiated", 5001, today), today),
        (salpre("call_ended", 5001, ms(today, 1000)), ms(today, 1000)),
        (salpre("error", 5002, old), old),
    ] {
        let (status, body) = answer(
            &callhooks::ingest::edge::handle_json(
                callhooks::route_table::Route::SalpreEvents,
                &salpre_deps,
                req,
                at,
            )
            .await,
        );
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::ZonitelCall,
            &zonitel,
            event_file("zonitel-call.json"),
            ms(today, 2000),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::ZonitelSms,
            &sms,
            event_file("zonitel-sms-failed.json"),
            ms(today, 3000),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");

    let tz = TimeZone::get(TZ).unwrap();
    let date = |t: Timestamp| t.to_zoned(tz.clone()).date().to_string();
    let mut expected: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    // [calls, missed, errors, sms, sms_failed]
    let mut add = |t: Timestamp, provider: &str, counts: [u64; 5]| {
        let entry = expected.entry((date(t), provider.to_string())).or_default();
        for (e, c) in entry.iter_mut().zip(counts) {
            *e += c;
        }
    };
    add(today, "salpre", [1, 1, 0, 0, 0]);
    add(old, "salpre", [1, 0, 1, 0, 0]);
    add(ms(today, 2000), "zonitel", [1, 0, 0, 0, 0]);
    add(ms(today, 3000), "zonitel", [0, 0, 0, 1, 1]);
    Seeded { expected }
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_and_every_numbers_calls_come_from_the_day_index() {
    let stack = TestStack::new().await;
    let seeded = seed(&stack).await;
    let env = [
        ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
        ("TABLE_NAME", stack.table_name.as_str()),
    ];

    let rows: Value =
        serde_json::from_str(&ok(&callhooks(&env, &["stats", "--json"]).await)).unwrap();
    let mut got: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    for row in rows.as_array().unwrap() {
        let n = |k: &str| row[k].as_u64().unwrap();
        got.insert(
            (
                row["date"].as_str().unwrap().to_string(),
                row["provider"].as_str().unwrap().to_string(),
            ),
            [
                n("calls"),
                n("missed"),
                n("errors"),
                n("sms"),
                n("sms_failed"),
            ],
        );
    }
    assert_eq!(got, seeded.expected, "{rows}");

    // --since bounds the days read: the failed call of three days ago is out.
    let table = ok(&callhooks(&env, &["stats", "--since", "1d"]).await);
    assert!(table.starts_with("DATE"), "{table}");
    assert!(
        table.contains("MISSED") && table.contains("SMS FAILED"),
        "{table}"
    );
    assert!(
        !table.contains('\u{1b}'),
        "no colour off a terminal: {table:?}"
    );
    let one_day: Value =
        serde_json::from_str(&ok(
            &callhooks(&env, &["stats", "--since", "1d", "--json"]).await
        ))
        .unwrap();
    assert!(
        one_day.as_array().unwrap().iter().all(|r| r["errors"] == 0),
        "{one_day}"
    );

    // Every number's calls and messages, newest first, no --number.
    let list: Value =
        serde_json::from_str(&ok(&callhooks(&env, &["calls", "list", "--json"]).await)).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 4, "{list:?}");
    let firsts: Vec<&str> = list
        .iter()
        .map(|e| e["first_seen_at"].as_str().unwrap())
        .collect();
    let mut sorted = firsts.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(firsts, sorted, "newest first");
    assert_eq!(list[0]["channel"], "sms");
    assert_eq!(list[3]["call_id"], "5002");
    let limited: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["calls", "list", "--limit", "2", "--json"],
    )
    .await))
    .unwrap();
    assert_eq!(limited.as_array().unwrap().len(), 2);
    // The next older page: a full page names its --until, and the pages
    // together are the whole list, each entry once.
    let page = ok(&callhooks(&env, &["calls", "list", "--limit", "2"]).await);
    let until = limited[1]["first_seen_at"].as_str().unwrap();
    assert!(
        page.contains(&format!("--until {until}")),
        "a full page names the next one: {page}"
    );
    let older: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["calls", "list", "--limit", "2", "--until", until, "--json"],
    )
    .await))
    .unwrap();
    let paged: Vec<&Value> = limited
        .as_array()
        .unwrap()
        .iter()
        .chain(older.as_array().unwrap())
        .collect();
    assert_eq!(paged, list.iter().collect::<Vec<_>>());
    let missed: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["calls", "list", "--missed", "--json"],
    )
    .await))
    .unwrap();
    let missed = missed.as_array().unwrap();
    assert_eq!(missed.len(), 1, "{missed:?}");
    assert_eq!(missed[0]["call_id"], "5001");
    assert_eq!(missed[0]["missed"], true);
    let text = ok(&callhooks(&env, &["calls", "list", "--missed"]).await);
    assert!(text.contains("missed") && text.contains("5001"), "{text}");

    // Colour by the conventions: forced on a pipe, and NO_COLOR wins.
    let mut forced = env.to_vec();
    forced.push(("CLICOLOR_FORCE", "1"));
    let coloured = ok(&callhooks(&forced, &["stats"]).await);
    assert!(coloured.contains('\u{1b}'), "{coloured:?}");
    forced.push(("NO_COLOR", "1"));
    let plain = ok(&callhooks(&forced, &["stats"]).await);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stack_names_the_table() {
    let stack = TestStack::new().await;
    seed(&stack).await;
    let patient = Deadline {
        total: std::time::Duration::from_secs(60),
        attempt: std::time::Duration::from_secs(60),
        connect: std::time::Duration::from_secs(5),
        max_attempts: 1,
    };
    let cloudformation = CloudFormation::new(&sdk_config_for(&stack.endpoint, patient).await);
    let name = format!("{}-ops", stack.table_name);
    let template = json!({
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"EventsTableName": {"Value": stack.table_name}},
    });
    cloudformation
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    let env = [("AWS_ENDPOINT_URL", stack.endpoint.as_str())];
    let list: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["--stack", &name, "calls", "list", "--json"],
    )
    .await))
    .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4);
    let by_env = [
        ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
        ("CALLHOOKS_STACK", name.as_str()),
    ];
    ok(&callhooks(&by_env, &["stats"]).await);
    let out = callhooks(&env, &["--stack", "no-such-stack", "stats"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no stack \"no-such-stack\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_print_a_script() {
    let out = callhooks(&[], &["completions", "bash"]).await;
    let script = ok(&out);
    assert!(script.contains("_callhooks()"), "{script}");
    assert!(script.contains("stats"));
    let out = callhooks(&[], &["completions", "tcsh"]).await;
    assert_eq!(out.status.code(), Some(2));
}
