//! POST /retell/events (a route of retell-inbound) against DynamoDB served
//! by moto: every call event kept once whatever Retell retries, joined to
//! the inbound record of the same call in either arrival order, and the
//! alert rules run over the REAL stream records moto produced.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use callhooks::alerts::{alert_for_record, Alert, AlertType};
use callhooks::event::{CallStatus, Channel, Provider};
use callhooks::routes::retell::{handle_with, Options, RetellDeps};
use callhooks::runtime::Deadline;
use callhooks::signature::{sign, SigningKey, MAX_SKEW_MS};
use callhooks::store::plan::Item;
use callhooks::time::{self, Timestamp};
use callhooks_tests::{answer, api_request, attr, project_root, TestStack};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

const KEY: &str = "test-api-key";
const CALLER: &str = "+12137771234";
const OURS: &str = "+12137771235";
/// Monday 23 November 2026, 15:51:22 UTC.
const T0: i64 = 1_795_449_082_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn deps(stack: &TestStack) -> RetellDeps {
    RetellDeps {
        store: stack.store(),
        key: SigningKey::new(Some(KEY)),
        retention_days: 30,
        deadline: Deadline::CALLER_WAITING,
        events_store: stack.store(),
        events_deadline: Deadline::CALL_EVENTS,
        config_cache: callhooks::config_cache::NumberConfigCache::new(Duration::from_secs(30)),
    }
}

fn options() -> Options {
    Options {
        join: callhooks::ingest::call_events::JoinPatience {
            retries: 5,
            delay: Duration::from_millis(150),
        },
        ..Default::default()
    }
}

fn request(path: &str, body: &str, signed_ms: i64) -> lambda_http::Request {
    let signature = sign(KEY.as_bytes(), body.as_bytes(), signed_ms);
    api_request(
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            ("x-retell-signature", &signature),
        ],
        Some(body),
        false,
    )
}

/// Delivers `body` to `path` at `now_ms`, signed then.
async fn post(deps: &RetellDeps, path: &str, body: &str, now_ms: i64) -> (u16, Value) {
    answer(&handle_with(deps, &options(), request(path, body, now_ms), at(now_ms)).await)
}

fn inbound(from: &str) -> String {
    json!({"event": "call_inbound", "event_timestamp": T0,
        "call_inbound": {"agent_id": "agent_front", "from_number": from, "to_number": OURS}})
    .to_string()
}

/// A call event of Retell's call `call_id`, from `from` to our number.
fn event(kind: &str, call_id: &str, from: &str, call: Value) -> String {
    let mut body = json!({"event": kind, "call": {
        "call_id": call_id, "call_type": "phone_call", "direction": "inbound",
        "from_number": from, "to_number": OURS, "agent_id": "agent_front",
        "call_status": "ongoing", "start_timestamp": T0 + 3_000}});
    for (k, v) in call.as_object().unwrap() {
        body["call"][k] = v.clone();
    }
    body.to_string()
}

fn started(call_id: &str, from: &str) -> String {
    event("call_started", call_id, from, json!({}))
}

fn ended(call_id: &str, from: &str, reason: &str, transcript: &str) -> String {
    event(
        "call_ended",
        call_id,
        from,
        json!({"call_status": "ended", "end_timestamp": T0 + 45_000, "duration_ms": 42_000,
            "disconnection_reason": reason, "transcript": transcript,
            "recording_url": format!("https://retell.example/{call_id}.wav")}),
    )
}

fn analyzed(call_id: &str, from: &str, reason: &str, transcript: &str) -> String {
    let mut body: Value = serde_json::from_str(&ended(call_id, from, reason, transcript)).unwrap();
    body["event"] = json!("call_analyzed");
    body["call"]["call_analysis"] = json!({"call_summary": "The caller booked a table for four.",
        "user_sentiment": "Positive", "call_successful": true, "in_voicemail": false,
        "custom_analysis_data": {"party_size": 4}});
    body.to_string()
}

/// Every Retell call summary in the table.
async fn retell_calls(stack: &TestStack) -> Vec<Item> {
    stack
        .all_items()
        .await
        .into_iter()
        .filter(|i| attr(i, "item_type") == Some("call") && attr(i, "provider") == Some("retell"))
        .collect()
}

const EVENTS: &str = "/retell/events";
const INBOUND: &str = "/retell/inbound";

/// The inbound record's call id for a call from `from` received at T0.
fn inbound_id(from: &str) -> String {
    format!(
        "{}-{}",
        time::to_id_stamp(at(T0)),
        from.trim_start_matches('+')
    )
}

async fn check_one_joined_call(stack: &TestStack) {
    let calls = retell_calls(stack).await;
    assert_eq!(calls.len(), 1, "one call: {calls:#?}");
    let call = &calls[0];
    assert_eq!(attr(call, "call_id"), Some(inbound_id(CALLER).as_str()));
    assert_eq!(attr(call, "retell_call_id"), Some("call_abc"));
    assert_eq!(attr(call, "disconnection_reason"), Some("agent_hangup"));
    assert_eq!(
        attr(call, "call_summary"),
        Some("The caller booked a table for four.")
    );
    assert_eq!(attr(call, "user_sentiment"), Some("Positive"));
    assert_eq!(call["call_successful"].as_bool().unwrap(), &true);
    assert_eq!(call["duration_ms"].as_n().unwrap(), "42000");
    assert_eq!(attr(call, "custom_analysis"), Some(r#"{"party_size":4}"#));
    assert_eq!(
        attr(call, "recording_url"),
        Some("https://retell.example/call_abc.wav")
    );
    assert!(!call.contains_key("failed_at") && !call.contains_key("missed_at"));
    let summary = stack
        .store()
        .call_summary(Provider::Retell, &inbound_id(CALLER))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.status(), CallStatus::Ended);
    assert_eq!(
        summary.ringing_at.as_deref(),
        Some(time::to_key(at(T0)).as_str())
    );
    assert_eq!(
        summary.answered_at.as_deref(),
        Some(time::to_key(at(T0 + 3_000)).as_str())
    );
    assert_eq!(
        summary.ended_at.as_deref(),
        Some(time::to_key(at(T0 + 45_000)).as_str())
    );
    assert!(!summary.is_missed());
    assert_eq!(summary.event_count, 4);
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Retell, &inbound_id(CALLER))
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().filter_map(|e| attr(e, "kind")).collect();
    assert_eq!(
        kinds,
        [
            "call_inbound",
            "call_started",
            "call_ended",
            "call_analyzed"
        ],
        "in the order they happened"
    );
}

#[tokio::test]
async fn a_call_reads_as_one_from_ringing_to_analysis_and_retries_store_nothing() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    assert_eq!(post(&deps, INBOUND, &inbound(CALLER), T0).await.0, 200);
    let deliveries = [
        (started("call_abc", CALLER), T0 + 3_500),
        (
            ended("call_abc", CALLER, "agent_hangup", "Agent: Hi"),
            T0 + 46_000,
        ),
        (
            analyzed("call_abc", CALLER, "agent_hangup", "Agent: Hi"),
            T0 + 60_000,
        ),
    ];
    for (body, now) in &deliveries {
        let (status, reply) = post(&deps, EVENTS, body, *now).await;
        assert_eq!((status, reply), (200, json!({"status": "recorded"})));
    }
    let items = stack.all_items().await.len();
    // Retell retries each one (it saw no 2xx in 10 s), freshly signed.
    for (body, now) in &deliveries {
        let (status, reply) = post(&deps, EVENTS, body, now + 10_500).await;
        assert_eq!((status, reply), (200, json!({"status": "duplicate"})));
    }
    assert_eq!(stack.all_items().await.len(), items, "nothing new");
    check_one_joined_call(&stack).await;
}

#[tokio::test]
async fn every_transcript_update_and_transfer_is_kept_once_and_the_latest_transcript_is_read() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    assert_eq!(post(&deps, INBOUND, &inbound(CALLER), T0).await.0, 200);
    assert_eq!(
        post(&deps, EVENTS, &started("call_abc", CALLER), T0 + 3_500)
            .await
            .1,
        json!({"status": "recorded"})
    );
    let update = |transcript: &str| {
        event(
            "transcript_updated",
            "call_abc",
            CALLER,
            json!({ "transcript": transcript }),
        )
    };
    let transfer = |to: &str| {
        event(
            "transfer_started",
            "call_abc",
            CALLER,
            json!({ "transfer_destination": to }),
        )
    };
    let deliveries = [
        (update("Agent: Hi"), T0 + 5_000),
        (update("Agent: Hi\nUser: Table for four"), T0 + 9_000),
        (
            update("Agent: Hi\nUser: Table for four\nAgent: Booked"),
            T0 + 14_000,
        ),
        (transfer("+14155550101"), T0 + 20_000),
        (transfer("+14155550102"), T0 + 25_000),
    ];
    for (body, now) in &deliveries {
        let reply = post(&deps, EVENTS, body, *now).await;
        assert_eq!(reply, (200, json!({"status": "recorded"})), "{body}");
    }
    // Retell retries the last update (it saw no 2xx), freshly signed.
    let (body, now) = &deliveries[2];
    let reply = post(&deps, EVENTS, body, now + 10_500).await;
    assert_eq!(reply, (200, json!({"status": "duplicate"})));

    let calls = retell_calls(&stack).await;
    assert_eq!(calls.len(), 1, "one call");
    let record = attr(&calls[0], "call_id").unwrap().to_string();
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Retell, &record)
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().filter_map(|e| attr(e, "kind")).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "transcript_updated").count(),
        3,
        "{kinds:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "transfer_started").count(),
        2,
        "{kinds:?}"
    );
    let transcript = stack
        .store()
        .final_transcript(Provider::Retell, &record)
        .await
        .unwrap()
        .expect("the latest transcript");
    assert_eq!(
        serde_json::from_str::<String>(&transcript).unwrap(),
        "Agent: Hi\nUser: Table for four\nAgent: Booked"
    );
}

#[tokio::test]
async fn events_in_reverse_order_make_the_same_call() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    assert_eq!(post(&deps, INBOUND, &inbound(CALLER), T0).await.0, 200);
    for (body, now) in [
        (
            analyzed("call_abc", CALLER, "agent_hangup", "Agent: Hi"),
            T0 + 60_000,
        ),
        (
            ended("call_abc", CALLER, "agent_hangup", "Agent: Hi"),
            T0 + 61_000,
        ),
        (started("call_abc", CALLER), T0 + 62_000),
    ] {
        assert_eq!(post(&deps, EVENTS, &body, now).await.0, 200);
    }
    check_one_joined_call(&stack).await;
}

#[tokio::test]
async fn call_started_before_the_inbound_record_is_written_still_joins_it() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    // The event is handled first and finds nothing; the inbound record
    // lands while it waits to look again.
    let first_event = started("call_abc", CALLER);
    let (event_reply, inbound_reply) =
        tokio::join!(post(&deps, EVENTS, &first_event, T0 + 3_500), async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            post(&deps, INBOUND, &inbound(CALLER), T0).await
        });
    assert_eq!(event_reply.0, 200, "{event_reply:?}");
    assert_eq!(inbound_reply.0, 200, "{inbound_reply:?}");
    for (body, now) in [
        (
            ended("call_abc", CALLER, "agent_hangup", "Agent: Hi"),
            T0 + 46_000,
        ),
        (
            analyzed("call_abc", CALLER, "agent_hangup", "Agent: Hi"),
            T0 + 60_000,
        ),
    ] {
        assert_eq!(post(&deps, EVENTS, &body, now).await.0, 200);
    }
    check_one_joined_call(&stack).await;
}

#[tokio::test]
async fn two_calls_from_one_caller_each_join_their_own_record() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    assert_eq!(post(&deps, INBOUND, &inbound(CALLER), T0).await.0, 200);
    assert_eq!(
        post(&deps, EVENTS, &started("call_1", CALLER), T0 + 3_500)
            .await
            .0,
        200
    );
    // The same caller again two minutes later (a new inbound record).
    let later = T0 + 120_000;
    let second_inbound = json!({"event": "call_inbound",
        "call_inbound": {"from_number": CALLER, "to_number": OURS}})
    .to_string();
    assert_eq!(post(&deps, INBOUND, &second_inbound, later).await.0, 200);
    let mut second: Value = serde_json::from_str(&started("call_2", CALLER)).unwrap();
    second["call"]["start_timestamp"] = json!(later + 2_000);
    assert_eq!(
        post(&deps, EVENTS, &second.to_string(), later + 2_500)
            .await
            .0,
        200
    );
    // call_1 ends after call_2 started: it still goes to its own record.
    assert_eq!(
        post(
            &deps,
            EVENTS,
            &ended("call_1", CALLER, "agent_hangup", "x"),
            later + 3_000
        )
        .await
        .0,
        200
    );
    let calls = retell_calls(&stack).await;
    assert_eq!(calls.len(), 2);
    for call in &calls {
        let id = attr(call, "call_id").unwrap();
        let retell_id = attr(call, "retell_call_id").unwrap();
        if id == inbound_id(CALLER) {
            assert_eq!(retell_id, "call_1");
            assert!(call.contains_key("ended_at"));
        } else {
            assert_eq!(retell_id, "call_2");
            assert!(!call.contains_key("ended_at"));
        }
    }
}

#[tokio::test]
async fn calls_without_an_inbound_record_keep_retells_id_and_unknown_events_are_kept() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    // An outbound call: no inbound record to look for.
    let outbound = json!({"event": "call_ended", "call": {"call_id": "call_out",
        "call_type": "phone_call", "direction": "outbound", "from_number": OURS, "to_number": CALLER,
        "call_status": "not_connected", "disconnection_reason": "dial_no_answer", "end_timestamp": T0}})
    .to_string();
    assert_eq!(post(&deps, EVENTS, &outbound, T0 + 1_000).await.0, 200);
    let summary = stack
        .store()
        .call_summary(Provider::Retell, "call_out")
        .await
        .unwrap()
        .expect("stored under Retell's call id");
    assert_eq!(summary.from.as_deref(), Some(OURS));
    assert!(
        summary.failed_at.is_none(),
        "an unanswered outbound call is no error"
    );
    // An event type added after this was written, for that call: kept.
    let novel = json!({"event": "call_reviewed", "call": {"call_id": "call_out",
        "direction": "outbound", "from_number": OURS, "to_number": CALLER}})
    .to_string();
    assert_eq!(
        post(&deps, EVENTS, &novel, T0 + 2_000).await,
        (200, json!({"status": "recorded"}))
    );
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Retell, "call_out")
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().filter_map(|e| attr(e, "kind")).collect();
    assert_eq!(kinds, ["call_ended", "call_reviewed"]);
    // An event that names no call at all: kept apart, once per body.
    let unattached = json!({"event": "agent_updated", "agent": {"agent_id": "a"}}).to_string();
    for now in [T0 + 3_000, T0 + 13_500] {
        assert_eq!(post(&deps, EVENTS, &unattached, now).await.0, 200);
    }
    let kept = callhooks_tests::unmatched_events(&stack.store(), Provider::Retell)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(attr(&kept[0], "raw"), Some(unattached.as_str()));
}

#[tokio::test]
async fn every_bad_signature_is_401_and_writes_nothing() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    let body = started("call_abc", CALLER);
    let unsigned = api_request(
        "POST",
        EVENTS,
        &[("content-type", "application/json")],
        Some(&body),
        false,
    );
    let cases = [
        ("missing", unsigned),
        ("stale", request(EVENTS, &body, T0 - MAX_SKEW_MS - 1)),
        (
            "wrong key",
            api_request(
                "POST",
                EVENTS,
                &[
                    ("content-type", "application/json"),
                    ("x-retell-signature", &sign(b"other", body.as_bytes(), T0)),
                ],
                Some(&body),
                false,
            ),
        ),
    ];
    for (case, req) in cases {
        let (status, reply) = answer(&handle_with(&deps, &options(), req, at(T0)).await);
        assert_eq!(status, 401, "{case}: {reply}");
    }
    assert!(stack.all_items().await.is_empty(), "nothing written");
}

/// The alerts the table's stream raises so far, by the rules of the
/// alerts function (`callhooks::alerts::alert_for_record`) over the real
/// stream records moto produced.
fn stream_alerts(stack: &TestStack) -> Vec<Alert> {
    let event: StreamEvent =
        serde_json::from_slice(&callhooks_tests::stream_records(stack)).unwrap();
    event
        .records
        .iter()
        .filter_map(|record| {
            alert_for_record(
                &record.event_name,
                &record.change.old_image,
                &record.change.new_image,
            )
            .unwrap()
        })
        .collect()
}

#[tokio::test]
async fn each_alert_rule_fires_once_and_never_for_a_good_call() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    // One caller per scenario, each call delivered in full and every event
    // retried once.
    let never_connected = json!({"event": "call_ended", "call": {"call_id": "call_never",
        "call_type": "phone_call", "direction": "inbound", "from_number": "+14155550002",
        "to_number": OURS, "call_status": "not_connected", "disconnection_reason": "concurrency_limit_reached"}})
    .to_string();
    let transfer = json!({"event": "transfer_cancelled", "transfer_destination": "+14155559999",
        "call": {"call_id": "call_transfer", "call_type": "phone_call", "direction": "inbound",
        "from_number": "+14155550003", "to_number": OURS, "start_timestamp": T0 + 3_000}})
    .to_string();
    let scenarios: Vec<(&str, Vec<String>)> = vec![
        (
            "+14155550001",
            vec![
                started("call_error", "+14155550001"),
                ended(
                    "call_error",
                    "+14155550001",
                    "error_llm_websocket_open",
                    "Agent: Hi",
                ),
            ],
        ),
        ("+14155550002", vec![never_connected]),
        (
            "+14155550003",
            vec![
                started("call_transfer", "+14155550003"),
                transfer,
                ended(
                    "call_transfer",
                    "+14155550003",
                    "call_transfer",
                    "Agent: One moment",
                ),
            ],
        ),
        (
            "+14155550004",
            vec![
                started("call_hangup", "+14155550004"),
                ended("call_hangup", "+14155550004", "user_hangup", ""),
                analyzed("call_hangup", "+14155550004", "user_hangup", ""),
            ],
        ),
        (
            "+14155550005",
            vec![
                started("call_voicemail", "+14155550005"),
                ended(
                    "call_voicemail",
                    "+14155550005",
                    "voicemail_reached",
                    "Agent: Hi",
                ),
            ],
        ),
        (
            "+14155550006",
            vec![
                started("call_good", "+14155550006"),
                ended(
                    "call_good",
                    "+14155550006",
                    "agent_hangup",
                    "Agent: Hi\nUser: Thanks",
                ),
                analyzed(
                    "call_good",
                    "+14155550006",
                    "agent_hangup",
                    "Agent: Hi\nUser: Thanks",
                ),
            ],
        ),
    ];
    for (from, events) in &scenarios {
        assert_eq!(post(&deps, INBOUND, &inbound(from), T0).await.0, 200);
        for (i, body) in events.iter().enumerate() {
            let now = T0 + 50_000 + i as i64 * 1_000;
            assert_eq!(post(&deps, EVENTS, body, now).await.0, 200, "{body}");
            assert_eq!(
                post(&deps, EVENTS, body, now + 10_500).await,
                (200, json!({"status": "duplicate"}))
            );
        }
    }
    let alerts = stream_alerts(&stack);
    let mut seen: Vec<(String, AlertType, Option<String>)> = alerts
        .iter()
        .map(|a| {
            (
                a.from.clone().unwrap_or_default(),
                a.alert_type,
                a.detail.clone(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            (
                "+14155550001".into(),
                AlertType::CallError,
                Some("disconnected: error_llm_websocket_open".into())
            ),
            (
                "+14155550002".into(),
                AlertType::CallError,
                Some("disconnected: concurrency_limit_reached".into())
            ),
            (
                "+14155550003".into(),
                AlertType::MissedCall,
                Some("transfer to +14155559999 not answered".into())
            ),
            (
                "+14155550004".into(),
                AlertType::MissedCall,
                Some("caller hung up before anyone spoke".into())
            ),
            (
                "+14155550005".into(),
                AlertType::MissedCall,
                Some("https://retell.example/call_voicemail.wav".into())
            ),
        ],
        "{alerts:#?}"
    );
    for alert in &alerts {
        assert_eq!(alert.provider, "retell");
        assert_eq!(alert.to.as_deref(), Some(OURS));
        assert!(
            alert
                .message_attributes()
                .contains(&("provider", "retell".to_string())),
            "{:?}",
            alert.message_attributes()
        );
    }
}

#[tokio::test]
async fn samples_signed_as_the_docs_say_are_accepted() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    for (file, ms) in [
        ("retell-inbound.json", T0),
        ("retell-call-started.json", T0 + 3_500),
        ("retell-call-ended.json", T0 + 46_000),
        ("retell-call-analyzed.json", T0 + 60_000),
        ("retell-chat-inbound.json", T0 + 61_000),
    ] {
        let output = Command::new(callhooks_tests::python())
            .arg(project_root().join("scripts/sign_retell.py"))
            .arg(project_root().join("events").join(file))
            .args(["--key", KEY, "--ms", &ms.to_string()])
            .output()
            .expect("run sign_retell.py");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let signed = String::from_utf8(output.stdout).unwrap();
        let req = callhooks_tests::event_request(&signed);
        let (status, reply) = answer(&handle_with(&deps, &options(), req, at(ms)).await);
        assert_eq!(status, 200, "{file}: {reply}");
        // Unsigned, the same sample is refused.
        let unsigned = std::fs::read_to_string(project_root().join("events").join(file)).unwrap();
        let req = callhooks_tests::event_request(&unsigned);
        let (status, _) = answer(&handle_with(&deps, &options(), req, at(ms)).await);
        assert_eq!(status, 401, "{file}");
    }
    let calls = retell_calls(&stack).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(attr(&calls[0], "retell_call_id"), Some("call_3f9a1c2b7d"));
}
