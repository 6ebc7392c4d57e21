//! zonitel-call against DynamoDB served by moto.

use aws_sdk_dynamodb::types::AttributeValue;
use callhooks::auth::SharedSecret;
use callhooks::event::{CallStatus, Channel, Provider};
use callhooks::phone::PhoneNumber;
use callhooks::runtime::Deadline;
use callhooks::time::Timestamp;
use callhooks::webhook::WebhookDeps;
use callhooks_tests::zonitel_call::handle;
use callhooks_tests::{
    answer, api_request, assert_error, assert_kept, attr, base64_request, event_request, post_json,
    project_root, store_at, TestStack,
};
use std::time::{Duration, Instant};

const SEED: &str = r#"{ "caller_id_name": "John Doe", "caller_id_number": "+14155552671", "destination_number": "+18339664835" }"#;
const PATH: &str = "/zonitel/calls";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

const T0: i64 = 1_795_449_082_000;

fn deps(stack: &TestStack, token: Option<&str>) -> WebhookDeps {
    WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(token),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    }
}

#[tokio::test]
async fn seed_call_is_recorded_with_summary_and_timeline() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let (status, body) = answer(&handle(&deps, post_json(PATH, SEED), at(T0)).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "recorded");
    let call_id = body["call_id"].as_str().unwrap().to_string();

    let store = stack.store();
    let summary = store
        .call_summary(Provider::Zonitel, &call_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.from.as_deref(), Some("+14155552671"));
    assert_eq!(summary.to.as_deref(), Some("+18339664835"));
    assert_eq!(summary.caller_name.as_deref(), Some("John Doe"));
    assert_eq!(summary.status(), CallStatus::Ringing);
    assert_eq!(summary.event_count, 1);

    let events = store
        .conversation_events(Channel::Call, Provider::Zonitel, &call_id)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        attr(&events[0], "raw"),
        Some(SEED),
        "raw payload kept exactly"
    );
    assert_eq!(attr(&events[0], "kind"), Some("incoming_call"));
    assert!(
        events[0].contains_key("expires_at"),
        "event items carry the TTL"
    );

    for number in ["+14155552671", "+18339664835"] {
        let timeline = store
            .timeline(&PhoneNumber::parse(number).unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(timeline.len(), 1, "{number}");
        assert_eq!(attr(&timeline[0], "call_id"), Some(call_id.as_str()));
    }
}

#[tokio::test]
async fn retry_is_one_call_and_a_call_a_minute_later_is_another() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let (_, first) = answer(&handle(&deps, post_json(PATH, SEED), at(T0)).await);
    assert_eq!(first["status"], "recorded");
    // Zonitel retries within seconds: the same call.
    for delay_ms in [0, 5_000, 29_999] {
        let (status, retry) =
            answer(&handle(&deps, post_json(PATH, SEED), at(T0 + delay_ms)).await);
        assert_eq!(
            (status, retry["status"].as_str()),
            (200, Some("duplicate")),
            "{delay_ms}"
        );
    }
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call"), Some(&1));
    assert_eq!(counts.get("call_event"), Some(&1));

    // The same caller dialling again a minute later is a new call.
    let (_, second) = answer(&handle(&deps, post_json(PATH, SEED), at(T0 + 60_000)).await);
    assert_eq!(second["status"], "recorded");
    assert_ne!(second["call_id"], first["call_id"]);
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call"), Some(&2));
    assert_eq!(counts.get("call_event"), Some(&2));

    // Newest first in the caller's timeline.
    let caller = PhoneNumber::parse("+14155552671").unwrap();
    let timeline = stack.store().timeline(&caller, 10).await.unwrap();
    let ids: Vec<&str> = timeline.iter().filter_map(|i| attr(i, "call_id")).collect();
    assert_eq!(
        ids,
        vec![
            second["call_id"].as_str().unwrap(),
            first["call_id"].as_str().unwrap()
        ]
    );

    // A different caller at the same moment is its own call.
    let other = SEED.replace("+14155552671", "+14155550000");
    let (_, third) = answer(&handle(&deps, post_json(PATH, &other), at(T0 + 60_000)).await);
    assert_eq!(third["status"], "recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_identical_deliveries_record_one_call() {
    let stack = TestStack::new().await;
    let deps = std::sync::Arc::new(deps(&stack, None));
    let mut tasks = Vec::new();
    for i in 0..12 {
        let deps = deps.clone();
        tasks.push(tokio::spawn(async move {
            answer(&handle(&deps, post_json(PATH, SEED), at(T0 + i * 100)).await)
        }));
    }
    let mut recorded = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 200, "{body}");
        if body["status"] == "recorded" {
            recorded += 1;
        }
    }
    assert_eq!(recorded, 1);
    assert_eq!(stack.count_by_type().await.get("call"), Some(&1));
}

#[tokio::test]
async fn a_body_over_the_item_limit_is_split_and_reads_back_whole() {
    let stack = TestStack::new().await;
    let deps = stack.roomy_deps().await;
    // Unknown fields are kept in the raw payload, whatever their size.
    let padding = "é".repeat(450_000); // 900 kB of two-byte characters
    let body = format!(
        r#"{{"caller_id_name":"Big","caller_id_number":"+14155552671","destination_number":"+18339664835","extra":"{padding}"}}"#
    );
    let (status, answer_body) = answer(&handle(&deps, post_json(PATH, &body), at(T0)).await);
    assert_eq!(status, 200, "{answer_body}");
    let call_id = answer_body["call_id"].as_str().unwrap();
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Zonitel, call_id)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(attr(&events[0], "raw"), Some(body.as_str()));
    let parts = body.len().div_ceil(callhooks::store::plan::RAW_PART_BYTES);
    assert_eq!(stack.count_by_type().await.get("raw_part"), Some(&parts));
}

#[tokio::test]
async fn credentials_are_required_when_configured() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, Some("s3cret"));
    let json = ("content-type", "application/json");
    let refused = [
        api_request("POST", PATH, &[json], Some(SEED), false),
        api_request(
            "POST",
            PATH,
            &[json, ("authorization", "Bearer nope")],
            Some(SEED),
            false,
        ),
        api_request(
            "POST",
            &format!("{PATH}?token=nope"),
            &[json],
            Some(SEED),
            false,
        ),
        api_request(
            "POST",
            PATH,
            &[json, ("authorization", "s3cret")],
            Some(SEED),
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
        Some(SEED),
        false,
    );
    assert_eq!(answer(&handle(&deps, by_header, at(T0)).await).0, 200);
    let by_query = api_request(
        "POST",
        &format!("{PATH}?token=s3cret"),
        &[json],
        Some(SEED),
        false,
    );
    assert_eq!(
        answer(&handle(&deps, by_query, at(T0 + 60_000)).await).0,
        200
    );
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
    // From a sender that proved who it is, each is answered 200 and kept
    // (raw, as unrecognized, where no reader understands it).
    let kept: Vec<(&str, lambda_http::Request)> = vec![
        ("not valid JSON", post_json(PATH, "{\"caller_id_number\": ")),
        ("not a JSON object", post_json(PATH, "[1, 2, 3]")),
        ("an empty body", post_json(PATH, "")),
        // No destination: nothing names the call, so it is kept raw.
        (
            "no destination_number",
            post_json(PATH, r#"{"caller_id_number":"+14155552671"}"#),
        ),
        (
            "destination_number null",
            post_json(
                PATH,
                r#"{"caller_id_number":"+14155552671","destination_number":null}"#,
            ),
        ),
        (
            "a text/plain body",
            api_request(
                "POST",
                PATH,
                &[("content-type", "text/plain")],
                Some(SEED),
                false,
            ),
        ),
        (
            "a form body",
            api_request(
                "POST",
                PATH,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some("caller_id_number=%2B14155552671"),
                false,
            ),
        ),
        (
            "invalid base64",
            api_request("POST", PATH, &[json], Some("%%% not base64 %%%"), true),
        ),
        (
            "hex text, not JSON",
            api_request(
                "POST",
                PATH,
                &[json],
                Some(
                    &[0xffu8, 0xfe]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>(),
                ),
                false,
            ),
        ),
    ];
    for (what, request) in kept {
        assert_kept(&handle(&deps, request, at(T0)).await, what);
    }
    // What the contract refuses: a body over the limit, another method or hook.
    let refused: Vec<(lambda_http::Request, u16, &str, &str)> = vec![
        (post_json(PATH, &too_big), 413, "payload_too_large", "limit"),
        (
            api_request("GET", PATH, &[json], None, false),
            405,
            "method_not_allowed",
            "GET",
        ),
        (
            api_request("PUT", PATH, &[json], Some(SEED), false),
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
    let request = base64_request("POST", PATH, "application/json", SEED.as_bytes());
    let (status, body) = answer(&handle(&deps, request, at(T0)).await);
    assert_eq!((status, body["status"].as_str()), (200, Some("recorded")));
}

#[tokio::test]
async fn sample_event_file_is_accepted() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let event = std::fs::read_to_string(project_root().join("events/zonitel-call.json")).unwrap();
    let (status, body) = answer(&handle(&deps, event_request(&event), at(T0)).await);
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("recorded")),
        "{body}"
    );
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
    let (status, body) = answer(&handle(&deps, post_json(PATH, SEED), at(T0)).await);
    (status, body, started.elapsed())
}

#[tokio::test]
async fn storage_stopped_answers_503_in_time() {
    // Nothing listens on this port: connection refused on every attempt.
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

/// A contact record sits in its number's GSI1 partition (so Retell reads
/// it with the caller's calls in one Query); timelines never show it.
#[tokio::test]
async fn a_contact_shares_the_callers_partition_but_not_the_timeline() {
    use callhooks::config::{parse_document, Contact};
    let stack = TestStack::new().await;
    let store = stack.store();
    let caller = PhoneNumber::parse("+14155552671").unwrap();
    let contact: Contact = parse_document(
        r#"{"number": "+14155552671", "name": "Zoë", "dynamic_variables": {"tier": "gold"}}"#,
    )
    .unwrap();
    store.put_contact(&contact).await.unwrap();
    let records = store.caller_contact_and_calls(&caller, 10).await.unwrap();
    assert_eq!(records.contact.as_ref(), Some(&contact));
    assert!(records.calls.is_empty() && !records.more);

    let deps = deps(&stack, None);
    let mut ids = Vec::new();
    for minute in 0..3 {
        let (_, body) =
            answer(&handle(&deps, post_json(PATH, SEED), at(T0 + minute * 60_000)).await);
        assert_eq!(body["status"], "recorded");
        ids.push(body["call_id"].as_str().unwrap().to_string());
    }
    ids.reverse(); // newest first

    let timeline = store.timeline(&caller, 3).await.unwrap();
    let listed: Vec<&str> = timeline.iter().filter_map(|i| attr(i, "call_id")).collect();
    assert_eq!(listed, ids, "three calls, no contact");
    let since = store.timeline_since(&caller, None, 10).await.unwrap();
    assert_eq!(since.len(), 3);
    let since = store
        .timeline_since(&caller, Some("2000-01-01T00:00:00.000Z"), 10)
        .await
        .unwrap();
    assert_eq!(since.len(), 3);

    let records = store.caller_contact_and_calls(&caller, 10).await.unwrap();
    assert_eq!(records.contact.as_ref(), Some(&contact));
    let got: Vec<&str> = records.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(got, ids);
    assert!(!records.more);
    // A page too small for every call says so, contact or not.
    let records = store.caller_contact_and_calls(&caller, 2).await.unwrap();
    assert_eq!((records.calls.len(), records.more), (2, true));
    assert!(records.contact.is_some());
    store.delete_contact(&caller).await.unwrap();
    let records = store.caller_contact_and_calls(&caller, 2).await.unwrap();
    assert_eq!((records.calls.len(), records.more), (2, true));
    assert_eq!(records.contact, None);
}

const MAX_NAME: usize = callhooks::providers::zonitel::MAX_CALLER_NAME_CHARS;

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

/// The call's one event item and its summary item, as stored.
async fn stored_call(
    stack: &TestStack,
    call_id: &str,
) -> (callhooks::store::plan::Item, callhooks::store::plan::Item) {
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Zonitel, call_id)
        .await
        .unwrap();
    assert_eq!(events.len(), 1, "{call_id}");
    let summary = stack
        .dynamodb()
        .get_item()
        .table_name(&stack.table_name)
        .key("PK", AttributeValue::S(format!("CALL#zonitel#{call_id}")))
        .key("SK", AttributeValue::S("SUMMARY".into()))
        .send()
        .await
        .unwrap()
        .item
        .map(|item| callhooks::store::sdk::from_sdk_item(&item))
        .expect("summary stored");
    (events[0].clone(), summary)
}

/// Real senders' calls that the documents do not show are recorded (200),
/// read around, with what was odd named on the event item.
#[tokio::test]
async fn withheld_callers_are_recorded_as_calls_from_nobody() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    for (minute, (caller, anomaly)) in [
        (
            r#""caller_id_number":null,"#,
            "caller_id_number: null, read as withheld",
        ),
        ("", "caller_id_number: missing, read as withheld"),
        (
            r#""caller_id_number":"","#,
            "caller_id_number: empty, read as withheld",
        ),
        (
            r#""caller_id_number":"anonymous","#,
            r#"caller_id_number: withheld ("anonymous")"#,
        ),
        (
            r#""caller_id_number":"Restricted","#,
            r#"caller_id_number: withheld ("Restricted")"#,
        ),
        (
            r#""caller_id_number":"Unavailable","#,
            r#"caller_id_number: withheld ("Unavailable")"#,
        ),
        (
            r#""caller_id_number":"private","#,
            r#"caller_id_number: withheld ("private")"#,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let body =
            format!(r#"{{"caller_id_name":"",{caller}"destination_number":"+18339664835"}}"#);
        let ms = T0 + minute as i64 * 60_000;
        let (status, answer_body) = answer(&handle(&deps, post_json(PATH, &body), at(ms)).await);
        assert_eq!(
            (status, answer_body["status"].as_str()),
            (200, Some("recorded")),
            "{body}: {answer_body}"
        );
        let call_id = answer_body["call_id"].as_str().unwrap();
        assert!(call_id.ends_with("-anonymous-18339664835"), "{call_id}");
        let (event, summary) = stored_call(&stack, call_id).await;
        assert_eq!(attr(&event, "raw"), Some(body.as_str()));
        assert_eq!(attr(&event, "from"), None);
        assert_eq!(strings(&event, "anomalies"), vec![anomaly.to_string()]);
        assert_eq!(attr(&summary, "from"), None);
        assert!(!summary.contains_key("GSI1PK"), "no caller timeline");
        assert_eq!(attr(&summary, "to"), Some("+18339664835"));
        // Zonitel's retry of the same delivery: the same call, stored once.
        let (status, retry) = answer(&handle(&deps, post_json(PATH, &body), at(ms + 4_000)).await);
        assert_eq!((status, retry["status"].as_str()), (200, Some("duplicate")));
    }
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call"), Some(&7));
    assert_eq!(counts.get("call_event"), Some(&7));
    let ours = PhoneNumber::parse("+18339664835").unwrap();
    assert_eq!(stack.store().timeline(&ours, 20).await.unwrap().len(), 7);
}

#[tokio::test]
async fn a_uk_number_without_plus_is_kept_as_sent_and_keyed_on_its_e164_form() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let body = r#"{"caller_id_name":"Ann","caller_id_number":"447700900123","destination_number":"+18339664835"}"#;
    let (status, first) = answer(&handle(&deps, post_json(PATH, body), at(T0)).await);
    assert_eq!((status, first["status"].as_str()), (200, Some("recorded")));
    let call_id = first["call_id"].as_str().unwrap();
    assert!(call_id.ends_with("-447700900123"), "{call_id}");
    let (status, retry) = answer(&handle(&deps, post_json(PATH, body), at(T0 + 3_000)).await);
    assert_eq!((status, retry["status"].as_str()), (200, Some("duplicate")));

    let (event, summary) = stored_call(&stack, call_id).await;
    for item in [&event, &summary] {
        assert_eq!(attr(item, "from"), Some("+447700900123"));
        assert_eq!(attr(item, "from_text"), Some("447700900123"));
        assert_eq!(attr(item, "to"), Some("+18339664835"));
        assert_eq!(attr(item, "to_text"), None, "the same as the key form");
    }
    assert_eq!(
        strings(&event, "anomalies"),
        vec![r#"caller_id_number: "447700900123" read as +447700900123"#.to_string()]
    );
    // The caller's timeline, by the number as sent or as E.164.
    for number in [
        PhoneNumber::read("447700900123").unwrap(),
        PhoneNumber::parse("+447700900123").unwrap(),
    ] {
        let timeline = stack.store().timeline(&number, 10).await.unwrap();
        let ids: Vec<&str> = timeline.iter().filter_map(|i| attr(i, "call_id")).collect();
        assert_eq!(ids, vec![call_id]);
    }
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call_event"), Some(&1));
}

#[tokio::test]
async fn odd_numbers_and_names_are_recorded_not_refused() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let long_name = "Ä".repeat(MAX_NAME + 10);
    let cases = [
        (
            r#"{"caller_id_number":"+14155552671","destination_number":"not a number"}"#
                .to_string(),
            "+14155552671",
            "not a number",
            "destination_number: not E.164, kept as sent",
        ),
        (
            r#"{"caller_id_number":"+1415","destination_number":"+18339664835"}"#.to_string(),
            "+1415",
            "+18339664835",
            "caller_id_number: not E.164, kept as sent",
        ),
        (
            r#"{"caller_id_number":14155552671,"destination_number":"+18339664835"}"#
                .to_string(),
            "+14155552671",
            "+18339664835",
            "caller_id_number: a JSON number, read as its digits",
        ),
        (
            r#"{"caller_id_number":"sip:+14155550000@pbx.example.com","destination_number":" +18339664835 "}"#
                .to_string(),
            "+14155550000",
            "+18339664835",
            r#"destination_number: " +18339664835 " read as +18339664835"#,
        ),
        (
            format!(
                r#"{{"caller_id_name":"{long_name}\u0007","caller_id_number":"+14155550001","destination_number":"+18339664835"}}"#
            ),
            "+14155550001",
            "+18339664835",
            "caller_id_name: control or bidi characters removed (as sent in raw)",
        ),
    ];
    for (second, (body, from, to, anomaly)) in cases.into_iter().enumerate() {
        let ms = T0 + second as i64 * 1_000;
        let (status, answer_body) = answer(&handle(&deps, post_json(PATH, &body), at(ms)).await);
        assert_eq!(
            (status, answer_body["status"].as_str()),
            (200, Some("recorded")),
            "{body}: {answer_body}"
        );
        let (event, summary) = stored_call(&stack, answer_body["call_id"].as_str().unwrap()).await;
        assert_eq!(attr(&event, "raw"), Some(body.as_str()));
        assert_eq!(attr(&summary, "from"), Some(from), "{body}");
        assert_eq!(attr(&summary, "to"), Some(to), "{body}");
        assert!(
            strings(&event, "anomalies").contains(&anomaly.to_string()),
            "{body}: {:?}",
            strings(&event, "anomalies")
        );
        if let Some(name) = attr(&summary, "caller_name") {
            assert_eq!(name.chars().count(), MAX_NAME);
            assert!(!name.contains('\u{7}'));
        }
    }
}
