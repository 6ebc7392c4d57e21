//! zonitel-sms against DynamoDB served by moto.

use callhooks::auth::SharedSecret;
use callhooks::event::{Channel, Direction, Provider, SmsStatus};
use callhooks::phone::PhoneNumber;
use callhooks::providers::zonitel_sms::{INLINE_TEXT_BYTES, MAX_MESSAGE_TEXT_BYTES};
use callhooks::runtime::Deadline;
use callhooks::store::SmsRecord;
use callhooks::time::Timestamp;
use callhooks::webhook::WebhookDeps;
use callhooks_tests::zonitel_sms::handle;
use callhooks_tests::{
    answer, api_request, assert_error, assert_kept, attr, base64_request, event_request, post_json,
    project_root, store_at, TestStack,
};
use serde_json::json;
use std::time::{Duration, Instant};

/// Zonitel's two documented examples, byte for byte.
const INBOUND: &str = r#"{ "status": "received", "data": { "id": "11111111-aaaa-2222-bbbb-333333333333", "segments": 1, "direction": "inbound", "messageText": "Hello, this is a test SMS", "from": "+10000000010", "to": "+10000000020", "medias": [] }, "message": "SMS message received successfully" }"#;
const DELIVERED: &str = r#"{ "status": "delivered", "data": { "id": "44444444-cccc-5555-dddd-666666666666", "segments": 1, "direction": "outbound", "messageText": "Test outbound SMS with media", "from": "+10000000020", "to": "+10000000030", "medias": [ "https://example.com/media1.jpg" ] }, "message": "SMS message delivered successfully" }"#;
const INBOUND_ID: &str = "11111111-aaaa-2222-bbbb-333333333333";
const OUTBOUND_ID: &str = "44444444-cccc-5555-dddd-666666666666";
const PATH: &str = "/zonitel/sms";
const T0: i64 = 1_795_449_082_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn deps(stack: &TestStack, token: Option<&str>) -> WebhookDeps {
    WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(token),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    }
}

/// Zonitel's documented outbound message with another status and provider message.
fn outbound(status: &str, message: &str) -> String {
    json!({
        "status": status,
        "data": {
            "id": OUTBOUND_ID, "segments": 1, "direction": "outbound",
            "messageText": "Test outbound SMS with media",
            "from": "+10000000020", "to": "+10000000030",
            "medias": ["https://example.com/media1.jpg"]
        },
        "message": message
    })
    .to_string()
}

async fn post(deps: &WebhookDeps, body: &str, ms: i64) -> (u16, serde_json::Value) {
    answer(&handle(deps, post_json(PATH, body), at(T0 + ms)).await)
}

async fn record_of(stack: &TestStack, id: &str) -> SmsRecord {
    stack
        .store()
        .sms_message(Provider::Zonitel, id)
        .await
        .unwrap()
        .expect("message stored")
}

fn history(record: &SmsRecord) -> Vec<&str> {
    record.history.iter().map(|h| h.status.as_str()).collect()
}

#[tokio::test]
async fn seed_inbound_message_is_stored_with_history_and_both_timelines() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let (status, body) = post(&deps, INBOUND, 0).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"status": "recorded", "message_id": INBOUND_ID, "sms_status": "received"})
    );

    let record = record_of(&stack, INBOUND_ID).await;
    let summary = &record.summary;
    assert_eq!(summary.provider, "zonitel");
    assert_eq!(summary.message_id, INBOUND_ID);
    assert_eq!(summary.direction, Some(Direction::Inbound));
    assert_eq!(summary.from.as_deref(), Some("+10000000010"));
    assert_eq!(summary.to.as_deref(), Some("+10000000020"));
    assert_eq!(
        summary.message_text.as_deref(),
        Some("Hello, this is a test SMS")
    );
    assert_eq!(summary.medias, Some(vec![]));
    assert_eq!(summary.segments, Some(1));
    assert_eq!(summary.status(), Some(SmsStatus::Received));
    assert_eq!(
        summary.inbound_at.as_deref(),
        Some("2026-11-23T15:51:22.000Z")
    );
    assert_eq!(summary.event_count, 1);
    assert!(!summary.is_test);
    assert_eq!(history(&record), vec!["received"]);
    assert_eq!(
        record.history[0].message.as_deref(),
        Some("SMS message received successfully")
    );

    let events = stack
        .store()
        .conversation_events(Channel::Sms, Provider::Zonitel, INBOUND_ID)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(attr(&events[0], "raw"), Some(INBOUND), "raw kept exactly");
    assert_eq!(attr(&events[0], "kind"), Some("received"));
    assert!(events[0].contains_key("expires_at"));
    assert_eq!(
        record.history[0].event_sk.as_deref(),
        attr(&events[0], "SK"),
        "the history entry points at its event"
    );

    for number in ["+10000000010", "+10000000020"] {
        let timeline = stack
            .store()
            .timeline(&PhoneNumber::parse(number).unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(timeline.len(), 1, "{number}");
        assert_eq!(attr(&timeline[0], "message_id"), Some(INBOUND_ID));
        assert_eq!(attr(&timeline[0], "item_type"), Some("sms"));
    }
}

#[tokio::test]
async fn seed_outbound_message_is_stored_with_its_status_history() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let sent = outbound("sent", "SMS message sent successfully");
    assert_eq!(post(&deps, &sent, 0).await.1["status"], "recorded");
    assert_eq!(
        record_of(&stack, OUTBOUND_ID).await.summary.status(),
        Some(SmsStatus::Sent)
    );
    let (status, body) = post(&deps, DELIVERED, 1_500).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("recorded")),
        "{body}"
    );

    let record = record_of(&stack, OUTBOUND_ID).await;
    let summary = &record.summary;
    assert_eq!(summary.status(), Some(SmsStatus::Delivered));
    assert_eq!(summary.direction, Some(Direction::Outbound));
    assert_eq!(
        summary.medias,
        Some(vec!["https://example.com/media1.jpg".to_string()])
    );
    assert_eq!(summary.sent_at.as_deref(), Some("2026-11-23T15:51:22.000Z"));
    assert_eq!(
        summary.delivered_at.as_deref(),
        Some("2026-11-23T15:51:23.500Z")
    );
    assert_eq!(summary.failed_at, None);
    assert_eq!(summary.event_count, 2);
    assert_eq!(history(&record), vec!["sent", "delivered"]);

    let events = stack
        .store()
        .conversation_events(Channel::Sms, Provider::Zonitel, OUTBOUND_ID)
        .await
        .unwrap();
    let raws: Vec<&str> = events.iter().filter_map(|e| attr(e, "raw")).collect();
    assert_eq!(raws, vec![sent.as_str(), DELIVERED]);
    for number in ["+10000000020", "+10000000030"] {
        let timeline = stack
            .store()
            .timeline(&PhoneNumber::parse(number).unwrap(), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = timeline
            .iter()
            .filter_map(|i| attr(i, "message_id"))
            .collect();
        assert_eq!(ids, vec![OUTBOUND_ID], "{number}: one entry per message");
    }
}

#[tokio::test]
async fn out_of_order_and_repeated_statuses_keep_the_final_status_and_one_entry_each() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let sent = outbound("sent", "SMS message sent successfully");
    // Delivered overtakes sent; then Zonitel repeats both.
    let deliveries = [
        (DELIVERED, 0, "recorded"),
        (sent.as_str(), 1_000, "recorded"),
        (DELIVERED, 2_000, "duplicate"),
        (sent.as_str(), 3_000, "duplicate"),
        (DELIVERED, 60_000, "duplicate"),
    ];
    for (body, ms, expected) in deliveries {
        let (status, answer) = post(&deps, body, ms).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (200, Some(expected)),
            "{ms}: {answer}"
        );
        assert_eq!(answer["message_id"], OUTBOUND_ID);
    }
    let record = record_of(&stack, OUTBOUND_ID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Delivered));
    assert_eq!(history(&record), vec!["delivered", "sent"]);
    assert_eq!(record.summary.event_count, 2);
    assert_eq!(
        record.summary.delivered_at.as_deref(),
        Some("2026-11-23T15:51:22.000Z"),
        "the first delivered moment stays"
    );
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("sms"), Some(&1));
    assert_eq!(counts.get("sms_event"), Some(&2));
    assert_eq!(counts.get("sms_status"), Some(&2));

    // Delivered is final: a failure reported afterwards is kept in the
    // history, and the status stays delivered.
    let failed = outbound("failed", "SMS message failed: carrier rejected");
    assert_eq!(post(&deps, &failed, 70_000).await.1["status"], "recorded");
    let record = record_of(&stack, OUTBOUND_ID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Delivered));
    assert_eq!(history(&record), vec!["delivered", "sent", "failed"]);
}

#[tokio::test]
async fn a_failed_outbound_message_carries_what_the_alert_needs() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let sent = outbound("sent", "SMS message sent successfully");
    let failed = outbound("failed", "SMS message failed: destination unreachable");
    assert_eq!(post(&deps, &sent, 0).await.1["status"], "recorded");
    assert_eq!(post(&deps, &failed, 2_000).await.1["status"], "recorded");
    // A late delivered and a repeated failed change nothing.
    assert_eq!(post(&deps, DELIVERED, 3_000).await.1["status"], "recorded");
    assert_eq!(post(&deps, &failed, 4_000).await.1["status"], "duplicate");

    let record = record_of(&stack, OUTBOUND_ID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Failed));
    assert_eq!(
        record.summary.failure_message.as_deref(),
        Some("SMS message failed: destination unreachable")
    );
    assert_eq!(history(&record), vec!["sent", "failed", "delivered"]);

    // The alerts function reads the summary from the stream image, by
    // attribute name: everything sms_failed needs is on the item itself.
    let item = stack
        .dynamodb()
        .get_item()
        .table_name(&stack.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("SMS#zonitel#{OUTBOUND_ID}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("SUMMARY".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .map(|item| callhooks::store::sdk::from_sdk_item(&item))
        .unwrap();
    for (name, value) in [
        ("item_type", "sms"),
        ("provider", "zonitel"),
        ("message_id", OUTBOUND_ID),
        ("direction", "outbound"),
        ("from", "+10000000020"),
        ("to", "+10000000030"),
        ("failed_at", "2026-11-23T15:51:24.000Z"),
        (
            "failure_message",
            "SMS message failed: destination unreachable",
        ),
    ] {
        assert_eq!(attr(&item, name), Some(value), "{name}");
    }
    assert_eq!(
        item.get("is_test"),
        Some(&callhooks::attribute::AttributeValue::Bool(false))
    );
}

#[tokio::test]
async fn an_undocumented_status_is_stored_as_it_came() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let queued = outbound("Queued", "SMS message queued");
    let (status, body) = post(&deps, &queued, 0).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sms_status"], "Queued");
    let record = record_of(&stack, OUTBOUND_ID).await;
    assert_eq!(record.summary.status(), None);
    assert_eq!(history(&record), vec!["Queued"]);
    assert!(!record.history[0].known);
    assert_eq!(post(&deps, &queued, 1_000).await.1["status"], "duplicate");
    assert_eq!(post(&deps, DELIVERED, 2_000).await.1["status"], "recorded");
    let record = record_of(&stack, OUTBOUND_ID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Delivered));
    assert_eq!(history(&record), vec!["Queued", "delivered"]);
}

#[tokio::test]
async fn long_unicode_text_and_every_media_url_are_kept_exactly() {
    let stack = TestStack::new().await;
    let deps = stack.roomy_deps().await;
    // Multi-byte, astral, combining, right-to-left, control-escaped text,
    // well past one item: split on the summary, never truncated.
    let unit = "Zoë 山田 🚀👩🏽‍💻 e\u{301} مرحبا \"quoted\" \\ back\nslash\ttab \u{0}\u{1f} ";
    let text = unit.repeat(700_000 / unit.len() + 1);
    assert!(text.len() > 2 * INLINE_TEXT_BYTES);
    let medias = vec![
        "https://example.com/media1.jpg".to_string(),
        "https://cdn.example.com/a%20b/ä.png?sig=a+b/c==&x=1#frag".to_string(),
        "https://example.com/media1.jpg".to_string(),
        "".to_string(),
        format!("https://example.com/{}", "x".repeat(4000)),
    ];
    let body = json!({
        "status": "received",
        "data": {
            "id": "long-1", "segments": 4000, "direction": "inbound",
            "messageText": text, "from": "+10000000010", "to": "+10000000020",
            "medias": medias
        },
        "message": "SMS message received successfully"
    })
    .to_string();
    let (status, answer_body) = post(&deps, &body, 0).await;
    assert_eq!(status, 200, "{answer_body}");

    let record = record_of(&stack, "long-1").await;
    assert_eq!(record.summary.message_text.as_deref(), Some(text.as_str()));
    assert_eq!(record.summary.medias.as_ref(), Some(&medias));
    assert_eq!(record.summary.segments, Some(4000));
    let text_parts = text
        .len()
        .div_ceil(callhooks::providers::zonitel_sms::TEXT_PART_BYTES);
    assert_eq!(record.summary.message_text_parts, Some(text_parts as u64));
    let events = stack
        .store()
        .conversation_events(Channel::Sms, Provider::Zonitel, "long-1")
        .await
        .unwrap();
    assert_eq!(attr(&events[0], "raw"), Some(body.as_str()));
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("sms_text_part"), Some(&text_parts));

    // The same status again is a duplicate; another status keeps the text.
    assert_eq!(post(&deps, &body, 1_000).await.1["status"], "duplicate");
    let other = body.replacen("\"received\"", "\"sent\"", 1);
    assert_eq!(post(&deps, &other, 2_000).await.1["status"], "recorded");
    let record = record_of(&stack, "long-1").await;
    assert_eq!(history(&record), vec!["received", "sent"]);
    assert_eq!(record.summary.event_count, 2);
    assert_eq!(record.summary.message_text.as_deref(), Some(text.as_str()));
    assert_eq!(
        stack.count_by_type().await.get("sms_text_part"),
        Some(&text_parts)
    );
}

#[tokio::test]
async fn text_at_the_limit_is_accepted() {
    let stack = TestStack::new().await;
    let deps = stack.roomy_deps().await;
    let text = "ü".repeat(MAX_MESSAGE_TEXT_BYTES / 2);
    let body = INBOUND.replace("Hello, this is a test SMS", &text);
    let (status, answer_body) = post(&deps, &body, 0).await;
    assert_eq!(status, 200, "{answer_body}");
    let record = record_of(&stack, INBOUND_ID).await;
    assert_eq!(record.summary.message_text.as_deref(), Some(text.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_record_each_status_once() {
    let stack = TestStack::new().await;
    let deps = std::sync::Arc::new(deps(&stack, None));
    let sent = outbound("sent", "SMS message sent successfully");
    let mut tasks = Vec::new();
    for i in 0..12 {
        let deps = deps.clone();
        let body = if i % 2 == 0 {
            DELIVERED.to_string()
        } else {
            sent.clone()
        };
        tasks.push(tokio::spawn(
            async move { post(&deps, &body, i * 10).await },
        ));
    }
    let mut recorded = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        if body["status"] == "recorded" {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 2);
    let record = record_of(&stack, OUTBOUND_ID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Delivered));
    assert_eq!(record.history.len(), 2);
    assert_eq!(record.summary.event_count, 2);
}

#[tokio::test]
async fn credentials_are_required_when_configured() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, Some("s3cret"));
    let json = ("content-type", "application/json");
    let refused = [
        api_request("POST", PATH, &[json], Some(INBOUND), false),
        api_request(
            "POST",
            PATH,
            &[json, ("authorization", "Bearer nope")],
            Some(INBOUND),
            false,
        ),
        api_request(
            "POST",
            &format!("{PATH}?token=nope"),
            &[json],
            Some(INBOUND),
            false,
        ),
        api_request(
            "POST",
            PATH,
            &[json, ("authorization", "s3cret")],
            Some(INBOUND),
            false,
        ),
        // A wrong header is refused even when the query is right.
        api_request(
            "POST",
            &format!("{PATH}?token=s3cret"),
            &[json, ("authorization", "Bearer nope")],
            Some(INBOUND),
            false,
        ),
    ];
    for request in refused {
        let (status, body) = answer(&handle(&deps, request, at(T0)).await);
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(!body.to_string().contains("s3cret"));
    }
    assert!(
        stack.all_items().await.is_empty(),
        "refused requests wrote nothing"
    );

    let by_header = api_request(
        "POST",
        PATH,
        &[json, ("authorization", "Bearer s3cret")],
        Some(INBOUND),
        false,
    );
    assert_eq!(answer(&handle(&deps, by_header, at(T0)).await).0, 200);
    let by_query = api_request(
        "POST",
        &format!("{PATH}?token=s3cret"),
        &[json],
        Some(DELIVERED),
        false,
    );
    assert_eq!(answer(&handle(&deps, by_query, at(T0)).await).0, 200);
}

#[tokio::test]
async fn bad_input_is_refused_only_for_size_and_otherwise_kept() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let json = ("content-type", "application/json");
    let too_big = format!(
        r#"{{"x":"{}"}}"#,
        "a".repeat(callhooks::http::MAX_BODY_BYTES)
    );
    let with = |from: &str, to: &str| INBOUND.replacen(from, to, 1);
    let id = r#""11111111-aaaa-2222-bbbb-333333333333""#;
    // From a sender that proved who it is, each is answered 200 and kept
    // (raw, as unrecognized, where no reader understands it).
    let kept_bodies: Vec<(&str, String)> = vec![
        // Malformed JSON, not an object, empty.
        ("not valid JSON", "{\"status\": ".into()),
        ("not a JSON object", "[1, 2, 3]".into()),
        ("empty", "".into()),
        // No status: nothing tells this delivery from another.
        ("no status", with(r#""status": "received", "#, "")),
        ("status null", with(r#""received""#, "null")),
        ("empty status", with(r#""received""#, r#""""#)),
        // No message: data missing or not an object, no id.
        (
            "no data.id",
            with(r#""id": "11111111-aaaa-2222-bbbb-333333333333", "#, ""),
        ),
        (
            "no data",
            r#"{"status": "received", "message": "x"}"#.into(),
        ),
        (
            "data null",
            r#"{"status": "received", "data": null}"#.into(),
        ),
        (
            "data a string",
            r#"{"status": "received", "data": "id=1"}"#.into(),
        ),
        (
            "data an array",
            r#"{"status": "received", "data": [{"id": "1"}]}"#.into(),
        ),
        ("empty data.id", with(id, r#""""#)),
        ("blank data.id", with(id, r#""   ""#)),
    ];
    let mut kept: Vec<(&str, lambda_http::Request)> = kept_bodies
        .into_iter()
        .map(|(what, body)| (what, post_json(PATH, &body)))
        .collect();
    kept.extend([
        (
            "text/plain",
            api_request(
                "POST",
                PATH,
                &[("content-type", "text/plain")],
                Some(INBOUND),
                false,
            ),
        ),
        (
            "a form",
            api_request(
                "POST",
                PATH,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some("status=received"),
                false,
            ),
        ),
        (
            "invalid base64",
            api_request("POST", PATH, &[json], Some("%%% not base64 %%%"), true),
        ),
    ]);
    for (what, request) in kept {
        assert_kept(&handle(&deps, request, at(T0)).await, what);
    }
    // What the contract refuses: a body over the limit, another method.
    let refused: Vec<(lambda_http::Request, u16, &str, &str)> = vec![
        (post_json(PATH, &too_big), 413, "payload_too_large", "limit"),
        (
            api_request("GET", PATH, &[json], None, false),
            405,
            "method_not_allowed",
            "GET",
        ),
        (
            api_request("PUT", PATH, &[json], Some(INBOUND), false),
            405,
            "method_not_allowed",
            "POST",
        ),
    ];
    for (request, status, code, needle) in refused {
        assert_error(&handle(&deps, request, at(T0)).await, status, code, needle);
    }
    assert!(
        callhooks_tests::holds_unrecognized_deliveries(&stack).await,
        "kept: {:?}",
        stack.count_by_type().await
    );
}

#[tokio::test]
async fn base64_body_from_api_gateway_is_read() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let request = base64_request("POST", PATH, "application/json", INBOUND.as_bytes());
    let (status, body) = answer(&handle(&deps, request, at(T0)).await);
    assert_eq!((status, body["status"].as_str()), (200, Some("recorded")));
    let record = record_of(&stack, INBOUND_ID).await;
    assert_eq!(
        record.summary.message_text.as_deref(),
        Some("Hello, this is a test SMS")
    );
}

#[tokio::test]
async fn sample_event_files_are_accepted() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    for (file, status) in [
        ("zonitel-sms-inbound.json", SmsStatus::Received),
        ("zonitel-sms-delivered.json", SmsStatus::Delivered),
        ("zonitel-sms-failed.json", SmsStatus::Failed),
    ] {
        let event = std::fs::read_to_string(project_root().join("events").join(file)).unwrap();
        let (code, body) = answer(&handle(&deps, event_request(&event), at(T0)).await);
        assert_eq!(
            (code, body["status"].as_str()),
            (200, Some("recorded")),
            "{file}: {body}"
        );
        let id = body["message_id"].as_str().unwrap();
        let record = record_of(&stack, id).await;
        assert_eq!(record.summary.status(), Some(status), "{file}");
        if status == SmsStatus::Failed {
            assert!(record.summary.failure_message.is_some(), "{file}");
        }
    }
}

/// Deadline: with DynamoDB unreachable or hanging, the answer is a 503 well
/// inside Zonitel's 5 s, so Zonitel retries.
async fn answer_with_storage_at(endpoint: &str) -> (u16, serde_json::Value, Duration) {
    let deps = WebhookDeps {
        store: store_at(endpoint, Deadline::FIVE_SECOND_PROVIDER).await,
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    let started = Instant::now();
    let (status, body) = answer(&handle(&deps, post_json(PATH, INBOUND), at(T0)).await);
    (status, body, started.elapsed())
}

#[tokio::test]
async fn storage_stopped_answers_503_in_time() {
    let closed = callhooks_tests::closed_endpoint();
    let (status, body, elapsed) = answer_with_storage_at(&closed).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable");
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
}

#[tokio::test]
async fn storage_hanging_answers_503_in_time() {
    // Accepts connections and never answers: every attempt times out.
    let endpoint = callhooks_tests::black_hole();
    let (status, body, elapsed) = answer_with_storage_at(&endpoint).await;
    assert_eq!(status, 503, "{body}");
    assert!(elapsed < Duration::from_millis(4500), "took {elapsed:?}");
}

/// A list-of-strings attribute (`anomalies`) of an item.
fn strings(item: &callhooks::store::plan::Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(callhooks::attribute::AttributeValue::L(values)) => values
            .iter()
            .filter_map(|v| v.as_s().ok().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// The message's summary item, as stored.
async fn summary_item(stack: &TestStack, id: &str) -> callhooks::store::plan::Item {
    use aws_sdk_dynamodb::types::AttributeValue;
    stack
        .dynamodb()
        .get_item()
        .table_name(&stack.table_name)
        .key("PK", AttributeValue::S(format!("SMS#zonitel#{id}")))
        .key("SK", AttributeValue::S("SUMMARY".into()))
        .send()
        .await
        .unwrap()
        .item
        .map(|item| callhooks::store::sdk::from_sdk_item(&item))
        .expect("summary stored")
}

/// An inbound message from a short code or a sender id (one-time codes,
/// bank alerts): recorded with the sender as sent, found by it, and a
/// retry stored once.
#[tokio::test]
async fn short_code_and_sender_id_messages_are_recorded_once() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    for (n, (sender, key)) in [
        ("72345", "72345"),
        ("ACMEBANK", "ACMEBANK"),
        ("ACME#BANK", "ACME%23BANK"),
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("sender-{n}");
        let body = json!({
            "status": "received",
            "data": {"id": id, "segments": 1, "direction": "inbound",
                "messageText": "Your code is 123456", "from": sender, "to": "+10000000020",
                "medias": []},
            "message": "SMS message received successfully"
        })
        .to_string();
        let (status, answer_body) = post(&deps, &body, n as i64 * 1_000).await;
        assert_eq!(
            (status, answer_body["status"].as_str()),
            (200, Some("recorded")),
            "{sender}: {answer_body}"
        );
        let (status, retry) = post(&deps, &body, n as i64 * 1_000 + 5_000).await;
        assert_eq!((status, retry["status"].as_str()), (200, Some("duplicate")));

        let record = record_of(&stack, &id).await;
        assert_eq!(record.summary.from.as_deref(), Some(key));
        assert_eq!(
            record.summary.message_text.as_deref(),
            Some("Your code is 123456")
        );
        let summary = summary_item(&stack, &id).await;
        let text_as_sent = (sender != key).then_some(sender);
        assert_eq!(attr(&summary, "from_text"), text_as_sent, "{sender}");
        assert_eq!(
            attr(&summary, "GSI1PK"),
            Some(format!("PHONE#{key}").as_str())
        );
        let events = stack
            .store()
            .conversation_events(Channel::Sms, Provider::Zonitel, &id)
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(attr(&events[0], "raw"), Some(body.as_str()));
        assert_eq!(
            strings(&events[0], "anomalies"),
            vec!["data.from: not E.164, kept as sent".to_string()]
        );
        // The sender's timeline, by the text as sent.
        let timeline = stack
            .store()
            .timeline(&PhoneNumber::read(sender).unwrap(), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = timeline
            .iter()
            .filter_map(|i| attr(i, "message_id"))
            .collect();
        assert_eq!(ids, vec![id.as_str()], "{sender}");
    }
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("sms"), Some(&3));
    assert_eq!(counts.get("sms_event"), Some(&3));
}

/// An outbound message to a UK number written without its `+`: keyed on
/// the E.164 form, the text as sent kept beside it.
#[tokio::test]
async fn a_uk_number_without_plus_is_keyed_on_its_e164_form() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let body = DELIVERED.replace("+10000000030", "447700900123");
    assert_eq!(post(&deps, &body, 0).await.1["status"], "recorded");
    assert_eq!(post(&deps, &body, 2_000).await.1["status"], "duplicate");
    let summary = summary_item(&stack, OUTBOUND_ID).await;
    assert_eq!(attr(&summary, "to"), Some("+447700900123"));
    assert_eq!(attr(&summary, "to_text"), Some("447700900123"));
    for number in ["447700900123", "+447700900123", "0044 7700 900123"] {
        let timeline = stack
            .store()
            .timeline(&PhoneNumber::read(number).unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(timeline.len(), 1, "{number}");
    }
}

/// Deliveries that differ from the documents in one field each: recorded
/// (200), what was understood stored, the oddity named on the event.
#[tokio::test]
async fn odd_fields_are_read_around_and_named() {
    let stack = TestStack::new().await;
    let deps = stack.roomy_deps().await;
    let id = r#""11111111-aaaa-2222-bbbb-333333333333""#;
    let text_too_long = "a".repeat(MAX_MESSAGE_TEXT_BYTES + 1);
    let cases: Vec<(&str, String, &str)> = vec![
        (r#""+10000000010""#, "null".into(), "data.from: null"),
        (
            r#""to": "+10000000020", "#,
            String::new(),
            "data.to: missing",
        ),
        (id, "42".into(), "data.id: a JSON number"),
        (
            r#""segments": 1"#,
            r#""segments": 0"#.into(),
            "data.segments",
        ),
        (
            r#""segments": 1"#,
            r#""segments": -2"#.into(),
            "data.segments",
        ),
        (
            r#""segments": 1"#,
            r#""segments": 1.5"#.into(),
            "data.segments",
        ),
        (
            r#""segments": 1"#,
            r#""segments": "2""#.into(),
            "data.segments",
        ),
        (
            r#""segments": 1"#,
            r#""segments": true"#.into(),
            "data.segments",
        ),
        (
            r#""medias": []"#,
            r#""medias": "https://example.com/a.jpg""#.into(),
            "data.medias",
        ),
        (
            r#""medias": []"#,
            r#""medias": [null]"#.into(),
            "data.medias",
        ),
        (r#""medias": []"#, r#""medias": null"#.into(), ""),
        (r#""medias": [], "#, String::new(), ""),
        (
            r#""medias": []"#,
            r#""medias": [{"url": "https://example.com/a.jpg"}]"#.into(),
            "data.medias: 1 entries as",
        ),
        (r#""inbound""#, r#""sideways""#.into(), "data.direction"),
        (r#""inbound""#, r#""""#.into(), "data.direction"),
        (
            r#""direction": "inbound", "#,
            String::new(),
            "data.direction",
        ),
        (
            r#""+10000000010""#,
            r#""not a number""#.into(),
            "data.from: not E.164",
        ),
        (
            r#""+10000000020""#,
            r#""+1415""#.into(),
            "data.to: not E.164",
        ),
        (
            r#""Hello, this is a test SMS""#,
            "[\"Hello\"]".into(),
            "data.messageText",
        ),
        (
            r#""messageText": "Hello, this is a test SMS", "#,
            String::new(),
            "",
        ),
        (
            r#""Hello, this is a test SMS""#,
            format!("\"{text_too_long}\""),
            "data.messageText",
        ),
        (
            r#""SMS message received successfully""#,
            "{}".into(),
            "message",
        ),
        (
            r#""received""#,
            r#""undelivered""#.into(),
            "status: \"undelivered\"",
        ),
        (r#""received""#, "true".into(), "status: a JSON boolean"),
        (
            r#""medias": []"#,
            r#""medias": [], "carrier": {"x": [1]}"#.into(),
            "",
        ),
    ];
    for (n, (from, to, anomaly)) in cases.into_iter().enumerate() {
        let body = INBOUND
            .replacen(from, &to, 1)
            .replacen(INBOUND_ID, &format!("odd-{n}"), 1);
        let (status, answer_body) = post(&deps, &body, 0).await;
        assert_eq!(
            (status, answer_body["status"].as_str()),
            (200, Some("recorded")),
            "{body}: {answer_body}"
        );
        let message_id = answer_body["message_id"].as_str().unwrap();
        let events = stack
            .store()
            .conversation_events(Channel::Sms, Provider::Zonitel, message_id)
            .await
            .unwrap();
        assert_eq!(events.len(), 1, "{body}");
        assert_eq!(attr(&events[0], "raw"), Some(body.as_str()));
        let anomalies = strings(&events[0], "anomalies");
        if anomaly.is_empty() {
            assert!(anomalies.is_empty(), "{body}: {anomalies:?}");
        } else {
            assert!(
                anomalies.iter().any(|a| a.starts_with(anomaly)),
                "{body}: {anomalies:?}"
            );
        }
    }
    let record = record_of(&stack, "odd-6").await;
    assert_eq!(record.summary.segments, Some(2), "\"2\" read as 2");
    let record = record_of(&stack, "odd-20").await;
    assert_eq!(
        record.summary.message_text.as_ref().map(String::len),
        Some(MAX_MESSAGE_TEXT_BYTES),
        "a text over the limit is kept cut on the summary"
    );
}
