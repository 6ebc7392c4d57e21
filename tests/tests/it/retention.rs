//! `RetentionDays` covers everything a delivery writes: every item one
//! delivery of each provider leaves in the table (events, summaries, raw
//! and text parts, status entries, delivery and retry guards) carries the
//! table's TTL attribute, `expires_at`, within the retention window.

use callhooks::runtime::Deadline;
use callhooks::signature::SigningKey;
use callhooks::store::keys::TTL;
use callhooks::store::plan::Item;
use callhooks::time::Timestamp;
use callhooks_tests::{attr, event_request, post_json, project_root, TestStack};
use serde_json::json;

const T0: i64 = 1_795_449_082_000;
const RETENTION_DAYS: i64 = 30;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn event_file(name: &str) -> lambda_http::Request {
    let path = project_root().join("events").join(name);
    event_request(&std::fs::read_to_string(&path).unwrap())
}

fn missing_expiry(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .filter(|item| {
            let Some(seconds) = item.get(TTL).and_then(|v| v.as_n().ok()) else {
                return true;
            };
            let seconds: i64 = seconds.parse().unwrap();
            // At least a day (guards), at most the retention after the
            // delivery (moto's clock plays no part: the time is the test's).
            !(seconds > T0 / 1000 && seconds <= T0 / 1000 + RETENTION_DAYS * 86_400 + 60)
        })
        .map(|item| {
            format!(
                "{} {} ({})",
                attr(item, "PK").unwrap_or("?"),
                attr(item, "SK").unwrap_or("?"),
                attr(item, "item_type").unwrap_or("?")
            )
        })
        .collect()
}

#[tokio::test]
async fn every_item_a_delivery_writes_carries_expires_at() {
    let stack = TestStack::new().await;
    let deps = stack.roomy_deps().await;
    let now = at(T0);
    let ok = |status: u16, what: &str| assert!((200..300).contains(&status), "{what}: {status}");

    // Zonitel: an incoming call (event, summary, retry guard), an inbound
    // SMS with a text long enough to be split (status entry, text parts),
    // and a delivery status of another message.
    let r = callhooks::ingest::edge::handle_json(
        callhooks::route_table::Route::ZonitelCall,
        &deps,
        event_file("zonitel-call.json"),
        now,
    )
    .await;
    ok(r.status().as_u16(), "zonitel call");
    for name in ["zonitel-sms-inbound.json", "zonitel-sms-delivered.json"] {
        let r = callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::ZonitelSms,
            &deps,
            event_file(name),
            now,
        )
        .await;
        ok(r.status().as_u16(), name);
    }
    let long_text = json!({
        "status": "received",
        "data": {"id": "sms-long-1", "segments": 9, "direction": "inbound",
                 "messageText": "x".repeat(250_000), "from": "+14155552671",
                 "to": "+18339664835", "medias": []},
        "message": "ok"
    });
    let r = callhooks_tests::zonitel_sms::handle(
        &deps,
        post_json("/zonitel/sms", &long_text.to_string()),
        now,
    )
    .await;
    ok(r.status().as_u16(), "long sms");

    // Salpre: the lifecycle, an error, a transcript line, and a call_ended
    // whose raw body is split into parts.
    for name in [
        "salpre-call_initiated.json",
        "salpre-call_ringing.json",
        "salpre-call_answered.json",
        "salpre-transcript.json",
        "salpre-error.json",
        "salpre-call_ended.json",
    ] {
        let r = callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &deps,
            event_file(name),
            now,
        )
        .await;
        ok(r.status().as_u16(), name);
    }
    let turns: Vec<serde_json::Value> = (0..700)
        .map(|i| json!({"type": "customer", "message": format!("{i} {}", "z".repeat(1000))}))
        .collect();
    let big = json!({
        "event_type": "call_ended", "timestamp_utc": 1795449000,
        "payload": {"from": "+14155552671", "to": "+18339664835", "direction": "inbound",
                    "call_id": 77, "transcript": turns},
        "is_test": false
    });
    let r = callhooks::ingest::edge::handle_json(
        callhooks::route_table::Route::SalpreEvents,
        &deps,
        post_json("/salpre/events", &big.to_string()),
        now,
    )
    .await;
    ok(r.status().as_u16(), "big salpre");

    // Voxtelesys: each hook (delivery guards).
    let vox = callhooks::routes::voxtelesys::VoxtelesysDeps {
        store: deps.store.clone(),
        secret: deps.secret.clone(),
        retention_days: deps.retention_days,
        deadline: deps.deadline,
        config_cache: callhooks::config_cache::NumberConfigCache::new(
            std::time::Duration::from_secs(30),
        ),
        default_message: "Sorry.".into(),
        fallback: None,
    };
    for name in [
        "voxtelesys-voice-post.json",
        "voxtelesys-status-post.json",
        "voxtelesys-dial-post.json",
        "voxtelesys-recording-post.json",
    ] {
        let r = callhooks::routes::voxtelesys::handle(&vox, event_file(name), now).await;
        ok(r.status().as_u16(), name);
    }

    // Retell: an inbound call (event, summary, retry guard).
    let retell = callhooks::routes::retell::RetellDeps {
        store: deps.store.clone(),
        key: SigningKey::new(None),
        retention_days: deps.retention_days,
        deadline: Deadline::CALLER_WAITING,
        events_store: deps.store.clone(),
        events_deadline: Deadline::CALL_EVENTS,
        config_cache: callhooks::config_cache::NumberConfigCache::new(
            std::time::Duration::from_secs(30),
        ),
    };
    let body = json!({"event": "call_inbound", "call_inbound": {"agent_id": "agent_1",
        "from_number": "+14155552671", "to_number": "+18339664835"}});
    let r = callhooks::routes::retell::handle(
        &retell,
        post_json("/retell/inbound", &body.to_string()),
        now,
    )
    .await;
    ok(r.status().as_u16(), "retell");

    let items = stack.all_items().await;
    let types = stack.count_by_type().await;
    for kind in [
        "call",
        "call_event",
        "sms",
        "sms_event",
        "sms_status",
        "sms_text_part",
        "raw_part",
        "delivery_guard",
        "retry_guard",
    ] {
        assert!(
            types.contains_key(kind),
            "no {kind} item written: {types:?}"
        );
    }
    assert_eq!(missing_expiry(&items), Vec::<String>::new(), "{types:?}");
}
