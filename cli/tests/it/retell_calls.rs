//! `callhooks calls show` for a Retell call: the inbound record and the
//! call events of the same call read as one call, from ringing to Retell's
//! analysis, in the table view and in `--json`. The sample events of
//! events/ go through retell-inbound's `handle` (signature check off).

use callhooks::config_cache::NumberConfigCache;
use callhooks::runtime::Deadline;
use callhooks::signature::SigningKey;
use callhooks::time::Timestamp;
use callhooks_tests::{answer, event_request, project_root, TestStack};
use serde_json::Value;
use std::time::Duration;

/// The sample events' request time (requestContext.timeEpoch of
/// events/retell-inbound.json).
const T0: i64 = 1_795_449_082_000;

async fn deliver(deps: &callhooks::routes::retell::RetellDeps, file: &str, ms: i64) {
    let event = std::fs::read_to_string(project_root().join("events").join(file)).unwrap();
    let now = Timestamp::from_millisecond(ms).unwrap();
    let (status, body) =
        answer(&callhooks::routes::retell::handle(deps, event_request(&event), now).await);
    assert_eq!(status, 200, "{file}: {body}");
}

async fn callhooks(stack: &TestStack, args: &[&str]) -> String {
    let env = [
        ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
        ("TABLE_NAME", stack.table_name.as_str()),
        ("TZ", "UTC"),
    ];
    let out = callhooks_tests::run_cli(env!("CARGO_BIN_EXE_callhooks"), &env, args).await;
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retell_call_shows_as_one_from_ringing_to_analysis() {
    let stack = TestStack::new().await;
    let deps = callhooks::routes::retell::RetellDeps {
        store: stack.store(),
        key: SigningKey::new(None),
        retention_days: 30,
        deadline: Deadline::CALLER_WAITING,
        events_store: stack.store(),
        events_deadline: Deadline::CALL_EVENTS,
        config_cache: NumberConfigCache::new(Duration::from_secs(30)),
    };
    deliver(&deps, "retell-inbound.json", T0).await;
    deliver(&deps, "retell-call-started.json", T0 + 3_500).await;
    deliver(&deps, "retell-call-ended.json", T0 + 46_000).await;
    deliver(&deps, "retell-call-analyzed.json", T0 + 60_000).await;

    let list: Value = serde_json::from_str(
        &callhooks(
            &stack,
            &["calls", "list", "--number", "+12137771234", "--json"],
        )
        .await,
    )
    .unwrap();
    let calls = list.as_array().unwrap();
    assert_eq!(calls.len(), 1, "one call: {list}");
    let call_id = calls[0]["call_id"].as_str().unwrap().to_string();
    assert_eq!(call_id, "20261123T155122000Z-12137771234");

    let shown: Value = serde_json::from_str(
        &callhooks(&stack, &["calls", "show", "retell", &call_id, "--json"]).await,
    )
    .unwrap();
    let summary = &shown["summary"];
    assert_eq!(summary["status"], "ended");
    assert_eq!(summary["missed"], false);
    assert_eq!(summary["retell_call_id"], "call_3f9a1c2b7d");
    assert_eq!(summary["ringing_at"], "2026-11-23T15:51:22.000Z");
    assert_eq!(summary["answered_at"], "2026-11-23T15:51:25.000Z");
    assert_eq!(summary["ended_at"], "2026-11-23T15:52:07.000Z");
    assert_eq!(summary["duration_ms"], 42_000);
    assert_eq!(summary["disconnection_reason"], "agent_hangup");
    assert_eq!(
        summary["call_summary"],
        "Jane booked a table for four at 8 pm."
    );
    assert_eq!(summary["user_sentiment"], "Positive");
    assert_eq!(summary["call_successful"], true);
    assert_eq!(summary["custom_analysis"]["party_size"], 4);
    assert_eq!(
        summary["recording_url"],
        "https://retellai.example/recordings/call_3f9a1c2b7d.wav"
    );
    let kinds: Vec<&str> = shown["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "call_inbound",
            "call_started",
            "call_ended",
            "call_analyzed"
        ]
    );

    let text = callhooks(&stack, &["calls", "show", "retell", &call_id]).await;
    for needle in [
        "ended (answered)",
        "call_3f9a1c2b7d",
        "agent_hangup",
        "Jane booked a table for four at 8 pm.",
        "42000 ms",
        "call_analyzed",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}
