//! The operator's view of incomplete lifecycles, as the built binary
//! against moto: `calls list --incomplete`, `calls show` naming what is
//! missing and since when (and, once it came, how late), `sms show` for a
//! stuck message, and `stats` counting incomplete ones per provider.

use callhooks::lifecycle::Waits;
use callhooks::providers::{salpre, zonitel_sms};
use callhooks::sweep::Sweeper;
use callhooks::time::Timestamp;
use callhooks_tests::TestStack;
use serde_json::{json, Value};
use std::process::Output;

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

async fn salpre_event(stack: &TestStack, kind: &str, call_id: u32, at: Timestamp, extra: &str) {
    let body = format!(
        r#"{{"event_type":"{kind}","timestamp_utc":{},"payload":{{"call_id":{call_id},"from":"+14155550101","to":"+18339664835","direction":"inbound"{extra}}},"is_test":false}}"#,
        at.as_second()
    );
    let mapped = salpre::read(body.as_bytes(), at, 30).unwrap();
    stack.store().write(&mapped.plan).await.unwrap();
}

async fn sms_sent(stack: &TestStack, id: &str, at: Timestamp) {
    let body = json!({"status": "sent", "data": {"id": id, "segments": 1,
        "direction": "outbound", "messageText": "Hi", "from": "+18339664835",
        "to": "+14155550101", "medias": []}, "message": "ok"})
    .to_string();
    let notification = zonitel_sms::parse_notification(body.as_bytes()).unwrap();
    let delivery = zonitel_sms::sms_delivery(&notification, &body, at).unwrap();
    stack
        .store()
        .write(&zonitel_sms::sms_plan(&delivery, 30))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_see_what_is_missing_since_when_and_how_late_it_came() {
    let stack = TestStack::new().await;
    let env = [
        ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
        ("TABLE_NAME", stack.table_name.as_str()),
        ("TZ", "UTC"),
    ];
    let now = Timestamp::now();
    let opened = now - jiff::SignedDuration::from_mins(10);
    salpre_event(&stack, "call_initiated", 8001, opened, "").await;
    salpre_event(&stack, "call_initiated", 8002, opened, "").await;
    salpre_event(&stack, "call_ended", 8002, opened, "").await;
    sms_sent(&stack, "sms-stuck-cli", opened).await;
    let report = Sweeper::new(stack.store(), Waits::uniform(60))
        .sweep(now)
        .await;
    assert_eq!(report.flagged.len(), 2, "{report:?}");

    let list: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["calls", "list", "--incomplete", "--json"],
    )
    .await))
    .unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    let ids: Vec<&str> = list
        .iter()
        .map(|e| e["call_id"].as_str().or(e["message_id"].as_str()).unwrap())
        .collect();
    assert!(
        ids.contains(&"8001") && ids.contains(&"sms-stuck-cli"),
        "{ids:?}"
    );
    assert!(list
        .iter()
        .all(|e| e["incomplete"] == true || e["channel"] == "sms"));
    let text = ok(&callhooks(&env, &["calls", "list", "--incomplete"]).await);
    assert!(text.contains("incomplete (missing call_ended)"), "{text}");
    assert!(text.contains("stuck (missing final_status)"), "{text}");

    let due = callhooks::time::to_key(opened + jiff::SignedDuration::from_secs(60));
    let show = ok(&callhooks(&env, &["calls", "show", "salpre", "8001"]).await);
    assert!(show.contains("missing call_ended since"), "{show}");
    assert!(
        show.contains(&due[..16].replace('T', " ")),
        "since when: {show}"
    );
    let sms = ok(&callhooks(&env, &["sms", "show", "sms-stuck-cli"]).await);
    assert!(sms.contains("missing final_status since"), "{sms}");

    let stats: Value =
        serde_json::from_str(&ok(&callhooks(&env, &["stats", "--json"]).await)).unwrap();
    let incomplete = |provider: &str| -> u64 {
        stats
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["provider"] == provider)
            .map(|r| r["incomplete"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(incomplete("salpre"), 1, "{stats}");
    assert_eq!(incomplete("zonitel"), 1, "{stats}");
    let table = ok(&callhooks(&env, &["stats"]).await);
    assert!(table.contains("INCOMPLETE"), "{table}");

    // call_ended comes late: no longer incomplete, and how late is shown.
    salpre_event(&stack, "call_ended", 8001, now, "").await;
    let list: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["calls", "list", "--incomplete", "--json"],
    )
    .await))
    .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let show = ok(&callhooks(&env, &["calls", "show", "salpre", "8001"]).await);
    assert!(show.contains("completed late"), "{show}");
    assert!(show.contains("9m 0s after its wait ran out"), "{show}");
    let json: Value = serde_json::from_str(&ok(&callhooks(
        &env,
        &["calls", "show", "salpre", "8001", "--json"],
    )
    .await))
    .unwrap();
    assert_eq!(json["summary"]["incomplete"], false);
    assert_eq!(json["summary"]["closed_late_by_seconds"], 540);
}
