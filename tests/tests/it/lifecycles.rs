//! Expected lifecycles against moto: deliveries written by the providers'
//! own write plans (`Store::write`, as every webhook writes them), the
//! sweeper run at chosen moments over the sparse lifecycle index, and the
//! alerts read from the REAL stream records moto produced, by the alerts
//! function's rules (`alert_for_record`; its ledger publishes each once).
//!
//! Every wait is one minute here (`Waits::uniform`, as `make dev`'s
//! `LIFECYCLE_WAIT_SECONDS` sets it).

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use callhooks::alerts::{alert_for_record, Alert, AlertType};
use callhooks::lifecycle::{self, Verdict, Waits};
use callhooks::providers::retell::events::{
    call_event, call_event_plan, parse_call_event, ParsedCallEvent,
};
use callhooks::providers::retell::{inbound_event, inbound_plan, parse_inbound};
use callhooks::providers::voxtelesys::{self, Inbound, Method};
use callhooks::providers::{salpre, zonitel_sms};
use callhooks::runtime::Deadline;
use callhooks::store::plan::{Item, WritePlan};
use callhooks::store::{keys, Store, WriteOutcome};
use callhooks::sweep::{SweepReport, Sweeper};
use callhooks::time::{self, Timestamp};
use callhooks_tests::{attr, closed_endpoint, sdk_config_for, TestStack};
use serde_json::json;

const CALLER: &str = "+14155552671";
const OURS: &str = "+18339664835";
/// Monday 23 November 2026, 15:51:22 UTC.
const T0: i64 = 1_795_449_082_000;
const WAIT_S: u64 = 60;
const MINUTE: i64 = 60_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn sweeper(store: Store) -> Sweeper {
    Sweeper::new(store, Waits::uniform(WAIT_S))
}

async fn write(stack: &TestStack, plan: WritePlan) -> WriteOutcome {
    stack.store().write(&plan).await.expect("written")
}

async fn salpre(stack: &TestStack, body: &str, received_ms: i64) -> WriteOutcome {
    let mapped = salpre::read(body.as_bytes(), at(received_ms), 30).expect("a Salpre delivery");
    write(stack, mapped.plan).await
}

fn salpre_event(kind: &str, call_id: u32, extra: &str) -> String {
    format!(
        r#"{{"event_type":"{kind}","timestamp_utc":{},"payload":{{"call_id":{call_id},"from":"{CALLER}","to":"{OURS}","direction":"inbound"{extra}}},"is_test":false}}"#,
        T0 / 1000
    )
}

const SPOKE: &str = r#","transcript":[{"type":"ai","message":"Hello"},{"type":"customer","message":"Hi, a table for two","utc_timestamp":"1795449094"}]"#;

async fn voxtelesys(stack: &TestStack, hook: &str, form: &str, received_ms: i64) -> WriteOutcome {
    let path = format!("/voxtelesys/{hook}");
    let inbound = Inbound {
        method: Method::Post,
        path: &path,
        query: "",
        body: form.as_bytes(),
        content_type: Some("application/x-www-form-urlencoded"),
    };
    let callback = voxtelesys::read(&inbound, at(received_ms)).expect("a Voxtelesys callback");
    write(stack, callback.plan(30)).await
}

fn vox_form(sid: &str, extra: &str) -> String {
    format!("CallSid={sid}&From=%2B14155552671&To=%2B18339664835&Direction=inbound{extra}")
}

async fn retell_inbound(stack: &TestStack, received_ms: i64) -> String {
    let body = json!({"event": "call_inbound", "call_inbound": {"agent_id": "a",
        "from_number": CALLER, "to_number": OURS}})
    .to_string();
    let request = parse_inbound(body.as_bytes()).unwrap();
    let event = inbound_event(&request, &body, at(received_ms));
    write(stack, inbound_plan(&event, &request, 30, None)).await;
    event.provider_id
}

/// A Retell call event written in the partition of `record_id` (the
/// inbound record it joins, or Retell's own call id).
async fn retell_event(
    stack: &TestStack,
    kind: &str,
    record_id: &str,
    received_ms: i64,
) -> WriteOutcome {
    let mut call = json!({"call_id": "call_77", "call_type": "phone_call",
        "direction": "inbound", "from_number": CALLER, "to_number": OURS, "agent_id": "a",
        "call_status": "ongoing", "start_timestamp": T0 + 3_000});
    if kind != "call_started" {
        call["call_status"] = json!("ended");
        call["end_timestamp"] = json!(T0 + 45_000);
        call["disconnection_reason"] = json!("agent_hangup");
        call["transcript"] = json!("Agent: Hello\nUser: Hi, a table for two");
    }
    let body = json!({"event": kind, "call": call}).to_string();
    let ParsedCallEvent::Call(parsed) = parse_call_event(body.as_bytes()).unwrap() else {
        panic!("a call event")
    };
    let identity = callhooks::ingest::Identity::of(
        &callhooks::ingest::Delivery {
            route: callhooks::ingest::Route::RetellEvents,
            is_post: true,
            content_type: None,
            query: String::new(),
            body: body.as_bytes().to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: at(received_ms),
        },
        None,
    );
    let stored = call_event(&parsed, record_id, &body, at(received_ms), &identity);
    write(stack, call_event_plan(&parsed, &stored, &identity, 30)).await
}

async fn zonitel_sms(stack: &TestStack, id: &str, status: &str, received_ms: i64) -> WriteOutcome {
    let body = json!({"status": status, "data": {"id": id, "segments": 1,
        "direction": "outbound", "messageText": "Your table is ready",
        "from": OURS, "to": CALLER, "medias": []}, "message": "ok"})
    .to_string();
    let notification = zonitel_sms::parse_notification(body.as_bytes()).unwrap();
    let delivery = zonitel_sms::sms_delivery(&notification, &body, at(received_ms)).unwrap();
    write(stack, zonitel_sms::sms_plan(&delivery, 30)).await
}

async fn summary(stack: &TestStack, pk: &str) -> Item {
    stack
        .dynamodb()
        .get_item()
        .table_name(&stack.table_name)
        .key(
            keys::PK,
            aws_sdk_dynamodb::types::AttributeValue::S(pk.into()),
        )
        .key(
            keys::SK,
            aws_sdk_dynamodb::types::AttributeValue::S(keys::SUMMARY_SK.into()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .map(|item| callhooks::store::sdk::from_sdk_item(&item))
        .expect("a summary")
}

fn missing(item: &Item) -> Vec<String> {
    item.get(lifecycle::MISSING)
        .and_then(|v| v.as_l().ok())
        .map(|list| list.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
        .unwrap_or_default()
}

fn verdict(item: &Item) -> Verdict {
    lifecycle::verdict(&lifecycle::terminal_facts(item))
}

/// The alerts the table's stream raised so far.
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

async fn sweep(stack: &TestStack, now_ms: i64) -> SweepReport {
    let report = sweeper(stack.store()).sweep(at(now_ms)).await;
    assert_eq!(report.error, None);
    report
}

/// Sweeps before the wait has run out (nothing), after it (the one
/// lifecycle, flagged with `expected_missing`), and once more (nothing):
/// one alert of `alert_type` naming what is missing.
async fn flagged_once_after_its_wait(
    stack: &TestStack,
    pk: &str,
    opened_ms: i64,
    alert_type: AlertType,
    expected_missing: &[&str],
) {
    let early = sweep(stack, opened_ms + MINUTE - 1_000).await;
    assert!(early.flagged.is_empty(), "not yet overdue: {early:?}");
    let due = sweep(stack, opened_ms + MINUTE + 1_000).await;
    assert_eq!(due.flagged.len(), 1, "{due:?}");
    assert_eq!(due.flagged[0].pk, pk);
    assert_eq!(due.flagged[0].missing, expected_missing);
    let again = sweep(stack, opened_ms + 10 * MINUTE).await;
    assert!(again.flagged.is_empty(), "flagged once: {again:?}");

    let item = summary(stack, pk).await;
    assert_eq!(missing(&item), expected_missing);
    assert!(attr(&item, lifecycle::INCOMPLETE_AT).is_some());
    assert_eq!(
        attr(&item, keys::GSI4PK).map(|p| p.starts_with("INCOMPLETE#")),
        Some(true)
    );
    assert_eq!(verdict(&item), Verdict::Incomplete);

    let alerts = stream_alerts(stack);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].alert_type, alert_type);
    assert_eq!(alerts[0].missing, expected_missing);
    assert_eq!(
        alerts[0].detail.as_deref(),
        Some(format!("missing: {}", expected_missing.join(", ")).as_str())
    );
    assert!(
        alerts[0].from.is_some() && alerts[0].to.is_some(),
        "the contract's numbers"
    );
}

#[tokio::test]
async fn a_salpre_call_without_call_ended_is_flagged_once_and_a_late_end_closes_it() {
    let stack = TestStack::new().await;
    salpre(&stack, &salpre_event("call_initiated", 41, ""), T0).await;
    salpre(&stack, &salpre_event("call_answered", 41, ""), T0 + 5_000).await;
    let pk = "CALL#salpre#41";
    // The wait runs from the latest event of the call.
    flagged_once_after_its_wait(
        &stack,
        pk,
        T0 + 5_000,
        AlertType::CallIncomplete,
        &["call_ended"],
    )
    .await;

    // call_ended arrives twenty minutes late: closed, how late recorded,
    // no second alert, and the verdict is what the end says (answered).
    let late = T0 + 20 * MINUTE;
    salpre(&stack, &salpre_event("call_ended", 41, SPOKE), late).await;
    let item = summary(&stack, pk).await;
    assert_eq!(verdict(&item), Verdict::Answered);
    assert_eq!(attr(&item, keys::GSI4PK), None, "out of the index");
    assert_eq!(
        attr(&item, lifecycle::CLOSED_AT),
        Some(time::to_key(at(late)).as_str())
    );
    let late_by = lifecycle::closed_late_by(
        attr(&item, lifecycle::INCOMPLETE_DUE_AT).unwrap(),
        attr(&item, lifecycle::CLOSED_AT).unwrap(),
    )
    .unwrap();
    assert_eq!(late_by.as_secs(), (20 * 60) - 5 - 60);
    assert!(sweep(&stack, late + 60 * MINUTE).await.flagged.is_empty());
    assert_eq!(stream_alerts(&stack).len(), 1, "no second alert");
}

#[tokio::test]
async fn a_retell_call_inbound_never_followed_by_call_started_is_flagged() {
    let stack = TestStack::new().await;
    let record = retell_inbound(&stack, T0).await;
    let pk = format!("CALL#retell#{record}");
    flagged_once_after_its_wait(
        &stack,
        &pk,
        T0,
        AlertType::CallIncomplete,
        &["call_started", "call_ended", "call_analyzed"],
    )
    .await;

    // The rest of the call comes late, in one go: closed, one alert, and
    // the call that looked never answered is answered.
    for kind in ["call_started", "call_ended", "call_analyzed"] {
        retell_event(&stack, kind, &record, T0 + 30 * MINUTE).await;
    }
    let item = summary(&stack, &pk).await;
    assert_eq!(verdict(&item), Verdict::Answered);
    assert!(attr(&item, lifecycle::CLOSED_AT).is_some());
    assert!(sweep(&stack, T0 + 120 * MINUTE).await.flagged.is_empty());
    assert_eq!(stream_alerts(&stack).len(), 1);
}

#[tokio::test]
async fn a_retell_call_without_call_analyzed_is_flagged() {
    let stack = TestStack::new().await;
    let record = retell_inbound(&stack, T0).await;
    retell_event(&stack, "call_started", &record, T0 + 3_000).await;
    retell_event(&stack, "call_ended", &record, T0 + 45_000).await;
    let pk = format!("CALL#retell#{record}");
    flagged_once_after_its_wait(
        &stack,
        &pk,
        T0 + 45_000,
        AlertType::CallIncomplete,
        &["call_analyzed"],
    )
    .await;
    // An answered call whose analysis never came is still answered once it
    // comes; until then it is incomplete.
    retell_event(&stack, "call_analyzed", &record, T0 + 40 * MINUTE).await;
    assert_eq!(verdict(&summary(&stack, &pk).await), Verdict::Answered);
    assert_eq!(stream_alerts(&stack).len(), 1);
}

#[tokio::test]
async fn a_voxtelesys_call_without_its_status_is_flagged() {
    let stack = TestStack::new().await;
    voxtelesys(&stack, "voice", &vox_form("CA900", ""), T0).await;
    let pk = "CALL#voxtelesys#CA900";
    flagged_once_after_its_wait(&stack, pk, T0, AlertType::CallIncomplete, &["status"]).await;
    // A non-final status closes nothing; the final one does.
    voxtelesys(
        &stack,
        "status",
        &vox_form("CA900", "&CallStatus=in-progress"),
        T0 + 10 * MINUTE,
    )
    .await;
    assert_eq!(
        verdict(&summary(&stack, pk).await),
        Verdict::Incomplete,
        "in-progress is not a closing status"
    );
    voxtelesys(
        &stack,
        "status",
        &vox_form("CA900", "&CallStatus=no-answer"),
        T0 + 11 * MINUTE,
    )
    .await;
    let item = summary(&stack, pk).await;
    assert_eq!(
        verdict(&item),
        Verdict::Missed,
        "the late status says no answer"
    );
    assert!(attr(&item, lifecycle::CLOSED_AT).is_some());
    assert_eq!(stream_alerts(&stack).len(), 1, "still one alert");
}

#[tokio::test]
async fn an_outbound_sms_stuck_at_sent_is_flagged_and_a_late_delivery_closes_it() {
    let stack = TestStack::new().await;
    zonitel_sms(&stack, "sms-stuck-1", "sent", T0).await;
    let pk = "SMS#zonitel#sms-stuck-1";
    flagged_once_after_its_wait(&stack, pk, T0, AlertType::SmsStuck, &["final_status"]).await;
    zonitel_sms(&stack, "sms-stuck-1", "delivered", T0 + 30 * MINUTE).await;
    let item = summary(&stack, pk).await;
    assert_eq!(verdict(&item), Verdict::Delivered);
    assert_eq!(attr(&item, keys::GSI4PK), None);
    assert_eq!(stream_alerts(&stack).len(), 1);
}

#[tokio::test]
async fn complete_lifecycles_in_any_order_and_with_retries_are_never_flagged() {
    let stack = TestStack::new().await;
    // Salpre: the end first, then the start, then both again.
    for _ in 0..2 {
        salpre(&stack, &salpre_event("call_ended", 50, SPOKE), T0 + 40_000).await;
        salpre(&stack, &salpre_event("call_initiated", 50, ""), T0 + 50_000).await;
    }
    // Retell: analysis, end, start, inbound... backwards, and retried.
    let record = retell_inbound(&stack, T0).await;
    for _ in 0..2 {
        for kind in ["call_analyzed", "call_ended", "call_started"] {
            retell_event(&stack, kind, &record, T0 + 20_000).await;
        }
    }
    // A Retell call without the inbound webhook, in order.
    for kind in ["call_started", "call_ended", "call_analyzed"] {
        retell_event(&stack, kind, "call_outbound_9", T0 + 5_000).await;
    }
    // Voxtelesys: status before voice.
    voxtelesys(
        &stack,
        "status",
        &vox_form("CA901", "&CallStatus=completed"),
        T0,
    )
    .await;
    voxtelesys(&stack, "voice", &vox_form("CA901", ""), T0 + 1_000).await;
    voxtelesys(&stack, "voice", &vox_form("CA901", ""), T0 + 2_000).await;
    // SMS: delivered before sent; a failed one.
    zonitel_sms(&stack, "sms-ok-1", "delivered", T0).await;
    zonitel_sms(&stack, "sms-ok-1", "sent", T0 + 1_000).await;
    zonitel_sms(&stack, "sms-ok-2", "sent", T0).await;
    zonitel_sms(&stack, "sms-ok-2", "failed", T0 + 1_000).await;

    // Late earlier facts wrote keys back: the sweeps that find them
    // correct them and flag nothing.
    let mut corrected = 0;
    for minutes in [2, 5, 30, 300] {
        let report = sweep(&stack, T0 + minutes * MINUTE).await;
        assert!(report.flagged.is_empty(), "{report:?}");
        corrected += report.corrected;
    }
    assert!(corrected > 0, "the stale keys were seen and corrected");
    let open: Vec<Item> = stack
        .all_items()
        .await
        .into_iter()
        .filter(|item| item.contains_key(keys::GSI4PK))
        .collect();
    assert!(open.is_empty(), "no lifecycle left open: {open:?}");
    let lifecycle_alerts: Vec<Alert> = stream_alerts(&stack)
        .into_iter()
        .filter(|a| {
            matches!(
                a.alert_type,
                AlertType::CallIncomplete | AlertType::SmsStuck
            )
        })
        .collect();
    assert!(lifecycle_alerts.is_empty(), "{lifecycle_alerts:?}");
}

#[tokio::test]
async fn zonitel_incoming_calls_and_test_deliveries_have_no_lifecycle() {
    let stack = TestStack::new().await;
    let body = r#"{"caller_id_name": "Ann", "caller_id_number": "+14155552671", "destination_number": "+18339664835"}"#;
    let call = callhooks::providers::zonitel::parse_incoming_call(body.as_bytes()).unwrap();
    let event = callhooks::providers::zonitel::incoming_call_event(&call, body, at(T0)).unwrap();
    write(
        &stack,
        callhooks::providers::zonitel::incoming_call_plan(&event, 30),
    )
    .await;
    let test_body =
        salpre_event("call_initiated", 1, "").replace(r#""is_test":false"#, r#""is_test":true"#);
    salpre(&stack, &test_body, T0).await;
    let report = sweep(&stack, T0 + 1_000 * MINUTE).await;
    assert!(report.flagged.is_empty(), "{report:?}");
    assert!(stack
        .all_items()
        .await
        .iter()
        .all(|item| !item.contains_key(keys::GSI4PK)));
}

#[tokio::test]
async fn a_sweep_during_a_table_outage_loses_nothing_and_double_alerts_nothing() {
    let stack = TestStack::new().await;
    for id in [61, 62, 63] {
        salpre(&stack, &salpre_event("call_initiated", id, ""), T0).await;
    }
    zonitel_sms(&stack, "sms-outage-1", "sent", T0).await;

    // The table refuses connections: the sweep stops, says why, changes nothing.
    let refused = closed_endpoint();
    let config = sdk_config_for(&refused, Deadline::ALERTS).await;
    let down = Store::new(aws_sdk_dynamodb::Client::new(&config), &stack.table_name);
    let failed = sweeper(down).sweep(at(T0 + 2 * MINUTE)).await;
    assert!(failed.error.is_some());
    assert!(failed.flagged.is_empty());
    assert!(stream_alerts(&stack).is_empty());

    // Back: every overdue lifecycle flagged once; sweeps after flag nothing.
    let back = sweep(&stack, T0 + 3 * MINUTE).await;
    assert_eq!(back.flagged.len(), 4, "{back:?}");
    for minutes in [4, 30] {
        assert!(sweep(&stack, T0 + minutes * MINUTE)
            .await
            .flagged
            .is_empty());
    }
    let mut alerts: Vec<(AlertType, Option<String>, Option<String>)> = stream_alerts(&stack)
        .into_iter()
        .map(|a| (a.alert_type, a.call_id, a.message_id))
        .collect();
    alerts.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(alerts.len(), 4, "{alerts:?}");
    alerts.dedup();
    assert_eq!(alerts.len(), 4, "each once");
}

#[tokio::test]
async fn an_index_query_reads_only_the_overdue_partition_of_each_fact() {
    let stack = TestStack::new().await;
    // One call waiting for its end, one waiting for its analysis.
    salpre(&stack, &salpre_event("call_initiated", 70, ""), T0).await;
    let record = retell_inbound(&stack, T0).await;
    retell_event(&stack, "call_started", &record, T0).await;
    retell_event(&stack, "call_ended", &record, T0).await;
    let report = sweep(&stack, T0 + 30_000).await;
    assert_eq!(report.examined, 0, "nothing overdue yet: {report:?}");
    // One query per (lifecycle, expected fact).
    let partitions: usize = lifecycle::LIFECYCLES
        .iter()
        .map(|l| l.expected().len())
        .sum();
    assert_eq!(report.queries, partitions);
    let due = sweep(&stack, T0 + 2 * MINUTE).await;
    assert_eq!(due.examined, 2);
    assert_eq!(due.flagged.len(), 2);
}
