//! salpre-events against DynamoDB served by moto.

use callhooks::auth::SharedSecret;
use callhooks::event::{CallStatus, Channel, Provider};
use callhooks::providers::salpre;
use callhooks::runtime::Deadline;
use callhooks::store::CallSummary;
use callhooks::time::{self, Timestamp};
use callhooks::webhook::WebhookDeps;
use callhooks_tests::salpre_events::handle;
use callhooks_tests::{
    answer, api_request, assert_error, assert_kept, attr, base64_request, event_request, post_json,
    project_root, sdk_config_for, TestStack,
};

const PATH: &str = "/salpre/events";
/// Seconds: when the calls of these tests begin.
const T0: i64 = 1_795_449_082;
const CALLER: &str = "+14155552671";
const OURS: &str = "+18339664835";
const SOURCE: &str = "salprebox:SALPRE_AABBCCDD";

// Salpre's own documented examples, as its "Test Webhook Integration"
// button sends them.
const SEED_INITIATED: &str = r#"{"event_type":"call_initiated","timestamp_utc":1760084505,"payload":{"call_id":1,"from":"+905555555555","to":"+905555555554","direction":"outbound","source":"salprebox:SALPRE_AABBCCDD"},"is_test":true}"#;
const SEED_ERROR: &str = r#"{"event_type":"error","timestamp_utc":1760084656,"payload":{"call":{"id":1,"from":"+905555555555","to":"+905555555554","source":"salprebox:SALPRE_AABBCCDD","direction":"outbound"},"error_message":"Error message"},"is_test":true}"#;

fn now() -> Timestamp {
    Timestamp::from_second(T0 + 3_600).unwrap()
}

fn key_of(seconds: i64) -> String {
    time::to_key(Timestamp::from_second(seconds).unwrap())
}

fn deps(stack: &TestStack, token: Option<&str>) -> WebhookDeps {
    WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(token),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    }
}

/// Delivers one body; returns the answer's status and JSON.
async fn deliver(deps: &WebhookDeps, body: &str) -> (u16, serde_json::Value) {
    answer(&handle(deps, post_json(PATH, body), now()).await)
}

fn lifecycle(kind: &str, call_id: &str, at: i64, direction: &str) -> String {
    format!(
        r#"{{"event_type":"{kind}","timestamp_utc":{at},"payload":{{"call_id":{call_id},"from":"{CALLER}","to":"{OURS}","direction":"{direction}","source":"{SOURCE}"}},"is_test":false}}"#
    )
}

fn line(call_id: &str, at: i64, speaker: &str, text: &str) -> String {
    format!(
        r#"{{"event_type":"transcript","timestamp_utc":{at},"payload":{{"call":{{"id":{call_id},"from":"{CALLER}","to":"{OURS}","source":"{SOURCE}","direction":"inbound"}},"type":"{speaker}","transcript":"{text}","timestamp_utc":"{at}"}},"is_test":false}}"#
    )
}

fn ended(call_id: &str, at: i64, direction: &str, transcript: &str) -> String {
    format!(
        r#"{{"event_type":"call_ended","timestamp_utc":{at},"payload":{{"from":"{CALLER}","to":"{OURS}","direction":"{direction}","source":"{SOURCE}","call_id":{call_id},"transcript":{transcript}}},"is_test":false}}"#
    )
}

const CONVERSATION: &str = r#"[{"type":"ai","message":"Thanks for calling, how can I help?"},{"type":"customer","message":"I'd like to move my appointment.","utc_timestamp":"1795449094"},{"type":"ai","message":"Done: Friday at 10:00.","utc_timestamp":"1795449101"}]"#;
const AI_ONLY: &str = r#"[{"type":"ai","message":"Thanks for calling, how can I help?"},{"type":"ai","message":"Hello? Are you there?"}]"#;

/// A whole answered inbound call, in the order it happened.
fn answered_call(call_id: &str) -> Vec<String> {
    vec![
        lifecycle("call_initiated", call_id, T0, "inbound"),
        lifecycle("call_ringing", call_id, T0 + 1, "inbound"),
        lifecycle("call_answered", call_id, T0 + 8, "inbound"),
        line(
            call_id,
            T0 + 10,
            "ai",
            "Thanks for calling, how can I help?",
        ),
        line(
            call_id,
            T0 + 12,
            "customer",
            "I'd like to move my appointment.",
        ),
        ended(call_id, T0 + 60, "inbound", CONVERSATION),
    ]
}

/// An inbound call nobody answered: the agent spoke, the caller never did.
fn unanswered_call(call_id: &str) -> Vec<String> {
    vec![
        lifecycle("call_initiated", call_id, T0, "inbound"),
        lifecycle("call_ringing", call_id, T0 + 1, "inbound"),
        ended(call_id, T0 + 30, "inbound", AI_ONLY),
    ]
}

/// Deliveries as Salpre may make them: in order, out of order, and every
/// one twice (the second copy answered as a duplicate).
fn arrival_orders(events: &[String]) -> Vec<(&'static str, Vec<String>)> {
    let mut reversed = events.to_vec();
    reversed.reverse();
    let mut shuffled = events.to_vec();
    shuffled.rotate_left(events.len() / 2);
    shuffled.swap(0, 1);
    let twice: Vec<String> = events.iter().chain(events.iter()).cloned().collect();
    vec![
        ("in-order", events.to_vec()),
        ("reversed", reversed),
        ("shuffled", shuffled),
        ("twice", twice),
    ]
}

async fn summary(stack: &TestStack, call_id: &str) -> CallSummary {
    stack
        .store()
        .call_summary(Provider::Salpre, call_id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no summary for call {call_id}"))
}

#[tokio::test]
async fn whole_inbound_call_in_order_out_of_order_and_twice() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let store = stack.store();
    for (index, (order, _)) in arrival_orders(&answered_call("0")).into_iter().enumerate() {
        let call_id = (100 + index).to_string();
        let events = answered_call(&call_id);
        let deliveries = arrival_orders(&events).swap_remove(index).1;
        let mut recorded = 0;
        for body in &deliveries {
            let (status, answer) = deliver(&deps, body).await;
            assert_eq!(status, 200, "{order}: {answer}");
            assert_eq!(answer["call_id"], call_id.as_str());
            if answer["status"] == "recorded" {
                recorded += 1;
            } else {
                assert_eq!(answer["status"], "duplicate", "{order}");
            }
        }
        assert_eq!(recorded, 6, "{order}: every event recorded once");

        let summary = summary(&stack, &call_id).await;
        assert_eq!(summary.status(), CallStatus::Ended, "{order}");
        assert!(!summary.is_missed(), "{order}");
        assert_eq!(summary.event_count, 6, "{order}");
        assert_eq!(summary.initiated_at, Some(key_of(T0)), "{order}");
        assert_eq!(summary.ringing_at, Some(key_of(T0 + 1)), "{order}");
        assert_eq!(summary.answered_at, Some(key_of(T0 + 8)), "{order}");
        assert_eq!(summary.ended_at, Some(key_of(T0 + 60)), "{order}");
        assert_eq!(summary.unanswered_at, None, "{order}");
        assert_eq!(summary.failed_at, None, "{order}");
        assert_eq!(summary.from.as_deref(), Some(CALLER));
        assert_eq!(summary.to.as_deref(), Some(OURS));
        assert_eq!(summary.source.as_deref(), Some(SOURCE));
        assert!(!summary.is_test);

        // The call's events come back in the order they happened, whatever
        // the order they arrived in.
        let items = store
            .conversation_events(Channel::Call, Provider::Salpre, &call_id)
            .await
            .unwrap();
        let kinds: Vec<&str> = items.iter().filter_map(|i| attr(i, "kind")).collect();
        assert_eq!(
            kinds,
            [
                "call_initiated",
                "call_ringing",
                "call_answered",
                "transcript",
                "transcript",
                "call_ended"
            ],
            "{order}"
        );
        let raws: Vec<&str> = items.iter().filter_map(|i| attr(i, "raw")).collect();
        assert_eq!(raws, events, "{order}: raw bodies kept exactly");

        let lines = salpre::live_transcript(&items);
        let said: Vec<(Option<&str>, &str)> = lines
            .iter()
            .map(|l| (l.speaker.as_deref(), l.text.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                (Some("ai"), "Thanks for calling, how can I help?"),
                (Some("customer"), "I'd like to move my appointment.")
            ],
            "{order}"
        );
        assert_eq!(lines[0].line_timestamp, Some((T0 + 10).to_string()));

        let transcript = store
            .final_transcript(Provider::Salpre, &call_id)
            .await
            .unwrap();
        assert_eq!(transcript.as_deref(), Some(CONVERSATION), "{order}");
    }
}

#[tokio::test]
async fn unanswered_inbound_call_is_missed_in_any_order_and_twice() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    for (index, (order, _)) in arrival_orders(&unanswered_call("0"))
        .into_iter()
        .enumerate()
    {
        let call_id = (200 + index).to_string();
        let deliveries = arrival_orders(&unanswered_call(&call_id))
            .swap_remove(index)
            .1;
        for body in &deliveries {
            let (status, answer) = deliver(&deps, body).await;
            assert_eq!(status, 200, "{order}: {answer}");
        }
        let summary = summary(&stack, &call_id).await;
        assert_eq!(summary.status(), CallStatus::Ended, "{order}");
        assert!(summary.is_missed(), "{order}");
        assert_eq!(summary.unanswered_at, Some(key_of(T0 + 30)), "{order}");
        assert_eq!(summary.answered_at, None, "{order}");
        assert_eq!(summary.event_count, 3, "{order}");
    }
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call"), Some(&4));
    assert_eq!(counts.get("call_event"), Some(&12));
}

#[tokio::test]
async fn answered_or_outbound_calls_are_not_missed() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    // Salpre reported the call answered (late, after its end): not missed,
    // even though the caller never spoke.
    for body in [
        lifecycle("call_initiated", "300", T0, "inbound"),
        ended("300", T0 + 30, "inbound", AI_ONLY),
        lifecycle("call_answered", "300", T0 + 5, "inbound"),
    ] {
        assert_eq!(deliver(&deps, &body).await.0, 200);
    }
    let answered = summary(&stack, "300").await;
    assert!(!answered.is_missed());
    assert_eq!(answered.status(), CallStatus::Ended);

    // An outbound call nobody picked up is recorded as unanswered, never as
    // a missed call.
    for body in [
        lifecycle("call_initiated", "301", T0, "outbound"),
        ended("301", T0 + 30, "outbound", "[]"),
    ] {
        assert_eq!(deliver(&deps, &body).await.0, 200);
    }
    let outbound = summary(&stack, "301").await;
    assert!(outbound.unanswered_at.is_some());
    assert!(!outbound.is_missed());

    // A late ringing after the answer moves nothing back.
    for body in [
        lifecycle("call_answered", "302", T0 + 5, "inbound"),
        lifecycle("call_ringing", "302", T0 + 1, "inbound"),
    ] {
        assert_eq!(deliver(&deps, &body).await.0, 200);
    }
    let late_ringing = summary(&stack, "302").await;
    assert_eq!(late_ringing.status(), CallStatus::Answered);
    assert_eq!(late_ringing.ringing_at, Some(key_of(T0 + 1)));
}

#[tokio::test]
async fn error_marks_the_call_failed_with_its_message() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let error = |message: &str| {
        format!(
            r#"{{"event_type":"error","timestamp_utc":{},"payload":{{"call":{{"id":"c-500","from":"{CALLER}","to":"{OURS}","source":"{SOURCE}","direction":"inbound"}},"error_message":"{message}"}},"is_test":false}}"#,
            T0 + 20
        )
    };
    let initiated = lifecycle("call_initiated", r#""c-500""#, T0, "inbound");
    let first = error("SIP 503 from carrier");
    let second = error("Transfer target unreachable");
    for (body, expected) in [
        (&initiated, "recorded"),
        (&first, "recorded"),
        (&first, "duplicate"),
        // A different error at the same second is another event.
        (&second, "recorded"),
    ] {
        let (status, answer) = deliver(&deps, body).await;
        assert_eq!((status, answer["status"].as_str()), (200, Some(expected)));
        assert_eq!(answer["call_id"], "c-500");
    }
    let summary = summary(&stack, "c-500").await;
    assert_eq!(summary.status(), CallStatus::Failed);
    assert_eq!(summary.failed_at, Some(key_of(T0 + 20)));
    assert_eq!(
        summary.error_message.as_deref(),
        Some("SIP 503 from carrier")
    );
    assert_eq!(summary.event_count, 3);
    assert!(!summary.is_missed());

    let items = stack
        .store()
        .conversation_events(Channel::Call, Provider::Salpre, "c-500")
        .await
        .unwrap();
    let mut messages: Vec<&str> = items
        .iter()
        .filter_map(|i| attr(i, "error_message"))
        .collect();
    messages.sort();
    assert_eq!(
        messages,
        ["SIP 503 from carrier", "Transfer target unreachable"]
    );
}

/// A transcript array of at least `min_bytes`, in varied shapes: escapes,
/// multi-byte characters, odd spacing, numeric and string timestamps.
fn long_transcript(min_bytes: usize) -> String {
    let mut text = String::from("[ ");
    let mut turn = 0;
    while text.len() < min_bytes {
        if turn > 0 {
            text.push_str(if turn % 3 == 0 { ",\n  " } else { "," });
        }
        let speaker = if turn % 2 == 0 { "ai" } else { "customer" };
        text.push_str(&format!(
            r#"{{"type":"{speaker}","message":"turn {turn}: Zoë says \"hi\" \u00e9 山田 🚀 \n{}","utc_timestamp":{}}}"#,
            "lorem ipsum ".repeat(turn % 50),
            if turn % 2 == 0 {
                format!("\"{}\"", T0 + turn as i64)
            } else {
                (T0 + turn as i64).to_string()
            }
        ));
        turn += 1;
    }
    text.push_str(" ]");
    text
}

#[tokio::test]
async fn a_final_transcript_of_1_mib_reads_back_byte_for_byte() {
    let stack = TestStack::new().await;
    let deps = stack.roomy_deps().await;
    let transcript = long_transcript(1024 * 1024);
    assert!(transcript.len() >= 1024 * 1024);
    let body = ended("600", T0 + 60, "inbound", &transcript);
    let (status, answer) = deliver(&deps, &body).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("recorded")));

    let store = stack.store();
    let read = store
        .final_transcript(Provider::Salpre, "600")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.len(), transcript.len());
    assert!(read == transcript, "final transcript differs");
    let turns: Vec<salpre::FinalTurn> = serde_json::from_str(&read).unwrap();
    let summary = summary(&stack, "600").await;
    assert!(!summary.is_missed(), "the customer spoke");
    let items = stack.all_items().await;
    let summary_item = items.iter().find(|i| attr(i, "SK") == Some("SUMMARY"));
    assert_eq!(
        summary_item.unwrap()["final_transcript_turns"],
        callhooks::attribute::AttributeValue::N(turns.len().to_string())
    );
    // Stored once, in parts under DynamoDB's item limit: no copy.
    let parts = body.len().div_ceil(callhooks::store::plan::RAW_PART_BYTES);
    assert_eq!(stack.count_by_type().await.get("raw_part"), Some(&parts));

    // The largest body the API takes is stored whole too.
    let limit = callhooks::http::MAX_BODY_BYTES;
    let envelope = ended("601", T0 + 60, "inbound", "").len();
    let biggest = long_transcript(limit - envelope - 4096);
    let body = ended("601", T0 + 60, "inbound", &biggest);
    assert!(body.len() <= limit && body.len() > limit - 64 * 1024);
    let (status, answer) = deliver(&deps, &body).await;
    assert_eq!(status, 200, "{answer}");
    let read = store
        .final_transcript(Provider::Salpre, "601")
        .await
        .unwrap();
    assert!(read.as_deref() == Some(biggest.as_str()));
}

#[tokio::test]
async fn a_call_without_a_final_transcript_has_none() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let body = format!(
        r#"{{"event_type":"call_ended","timestamp_utc":{T0},"payload":{{"call_id":700,"direction":"inbound"}}}}"#
    );
    assert_eq!(deliver(&deps, &body).await.0, 200);
    let store = stack.store();
    assert_eq!(
        store
            .final_transcript(Provider::Salpre, "700")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .final_transcript(Provider::Salpre, "nope")
            .await
            .unwrap(),
        None
    );
    assert!(summary(&stack, "700").await.is_missed());
}

#[tokio::test]
async fn live_lines_of_the_same_second_are_all_kept_in_order() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let mk = |line_time: &str, speaker: &str, text: &str| {
        format!(
            r#"{{"event_type":"transcript","timestamp_utc":{T0},"payload":{{"call":{{"id":800}},"type":"{speaker}","transcript":"{text}","timestamp_utc":"{line_time}"}}}}"#
        )
    };
    // Arrive out of order; the same second, their own times differ (and
    // 9999 sorts before 10000 as a number, not as text).
    for body in [
        mk("10001", "customer", "Yes, loud and clear."),
        mk("9999", "ai", "Hello?"),
        mk("10000", "ai", "Can you hear me?"),
        mk("10000", "customer", "Can you hear me?"),
        mk("10001", "customer", "Yes, loud and clear."),
    ] {
        assert_eq!(deliver(&deps, &body).await.0, 200);
    }
    let items = stack
        .store()
        .conversation_events(Channel::Call, Provider::Salpre, "800")
        .await
        .unwrap();
    let lines = salpre::live_transcript(&items);
    let said: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(said.len(), 4, "{said:?}");
    assert_eq!(said[0], "Hello?");
    assert_eq!(said[3], "Yes, loud and clear.");
    let times: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.line_timestamp.as_deref())
        .collect();
    assert_eq!(times, ["9999", "10000", "10000", "10001"]);
    assert_eq!(summary(&stack, "800").await.event_count, 4);
}

#[tokio::test]
async fn test_events_are_answered_200_and_stored_marked_as_test() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    for body in [SEED_INITIATED, SEED_ERROR] {
        let (status, answer) = deliver(&deps, body).await;
        assert_eq!((status, answer["status"].as_str()), (200, Some("recorded")));
    }
    // Test deliveries are kept under their own id, apart from a real call 1.
    let summary = summary(&stack, "test-1").await;
    assert!(summary.is_test);
    assert_eq!(summary.status(), CallStatus::Failed);
    assert_eq!(
        summary.direction,
        Some(callhooks::event::Direction::Outbound)
    );
    assert_eq!(summary.from.as_deref(), Some("+905555555555"));
    let items = stack
        .store()
        .conversation_events(Channel::Call, Provider::Salpre, "test-1")
        .await
        .unwrap();
    assert_eq!(items.len(), 2);
    for item in &items {
        assert_eq!(
            item["is_test"],
            callhooks::attribute::AttributeValue::Bool(true)
        );
    }
}

#[tokio::test]
async fn unknown_event_types_are_stored_raw_and_answered_200() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let with_call = format!(
        r#"{{"event_type":"call_transferred","timestamp_utc":{T0},"payload":{{"call_id":900,"to":"+14155550100","extra":{{"x":[1,2]}}}},"is_test":false}}"#
    );
    let without_call = format!(
        r#"{{"event_type":"agent_updated","timestamp_utc":{T0},"payload":{{"agent":"a1"}},"is_test":false}}"#
    );
    for body in [&with_call, &without_call] {
        let (status, answer) = deliver(&deps, body).await;
        assert_eq!((status, answer["status"].as_str()), (200, Some("recorded")));
        let (status, again) = deliver(&deps, body).await;
        assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));
    }
    let store = stack.store();
    let items = store
        .conversation_events(Channel::Call, Provider::Salpre, "900")
        .await
        .unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(attr(&items[0], "raw"), Some(with_call.as_str()));
    assert_eq!(attr(&items[0], "kind"), Some("call_transferred"));
    assert_eq!(summary(&stack, "900").await.event_count, 1);

    let orphans = callhooks_tests::unmatched_events(&store, Provider::Salpre)
        .await
        .unwrap();
    assert_eq!(orphans.len(), 1);
    assert_eq!(attr(&orphans[0], "raw"), Some(without_call.as_str()));
    assert_eq!(attr(&orphans[0], "kind"), Some("agent_updated"));
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call"), Some(&1), "an orphan makes no call");
    assert_eq!(counts.get("provider_event"), Some(&1));
}

#[tokio::test]
async fn credentials_are_required_when_configured() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, Some("s3cret"));
    let json = ("content-type", "application/json");
    let body = lifecycle("call_initiated", "1000", T0, "inbound");
    let refused = [
        api_request("POST", PATH, &[json], Some(&body), false),
        api_request(
            "POST",
            PATH,
            &[json, ("authorization", "Bearer nope")],
            Some(&body),
            false,
        ),
        api_request(
            "POST",
            &format!("{PATH}?token=nope"),
            &[json],
            Some(&body),
            false,
        ),
        api_request(
            "POST",
            PATH,
            &[json, ("authorization", "s3cret")],
            Some(&body),
            false,
        ),
        // A right query token does not rescue a wrong header.
        api_request(
            "POST",
            &format!("{PATH}?token=s3cret"),
            &[json, ("authorization", "Bearer nope")],
            Some(&body),
            false,
        ),
    ];
    for request in refused {
        let (status, answer) = answer(&handle(&deps, request, now()).await);
        assert_eq!(status, 401, "{answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
        assert!(!answer.to_string().contains("s3cret"));
    }
    assert!(
        stack.all_items().await.is_empty(),
        "refused requests wrote nothing"
    );

    // Salpre's "Additional Headers": Authorization: Bearer <token>.
    let by_header = api_request(
        "POST",
        PATH,
        &[json, ("authorization", "Bearer s3cret")],
        Some(&body),
        false,
    );
    assert_eq!(answer(&handle(&deps, by_header, now()).await).0, 200);
    let by_query = api_request(
        "POST",
        &format!("{PATH}?token=s3cret"),
        &[json],
        Some(&lifecycle("call_initiated", "1001", T0, "inbound")),
        false,
    );
    assert_eq!(answer(&handle(&deps, by_query, now()).await).0, 200);
}

#[tokio::test]
async fn bad_input_is_refused_only_for_size_and_otherwise_kept() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let json = ("content-type", "application/json");
    let good = lifecycle("call_initiated", "1100", T0, "inbound");
    let too_big = ended(
        "1100",
        T0,
        "inbound",
        &format!(
            r#"[{{"type":"ai","message":"{}"}}]"#,
            "a".repeat(callhooks::http::MAX_BODY_BYTES)
        ),
    );
    let not_utf8: String = [0xffu8, 0xfe].iter().map(|b| format!("{b:02x}")).collect();
    // From a sender that proved who it is, each is answered 200 and kept
    // (raw, as unrecognized, where no reader understands it).
    let kept: Vec<(&str, lambda_http::Request)> = vec![
        ("not valid JSON", post_json(PATH, r#"{"event_type": "#)),
        ("not a JSON object", post_json(PATH, "[1, 2, 3]")),
        ("an empty body", post_json(PATH, "")),
        (
            "a text/plain body",
            api_request(
                "POST",
                PATH,
                &[("content-type", "text/plain")],
                Some(&good),
                false,
            ),
        ),
        (
            "a form body",
            api_request(
                "POST",
                PATH,
                &[("content-type", "application/x-www-form-urlencoded")],
                Some("event_type=call_initiated"),
                false,
            ),
        ),
        (
            "invalid base64",
            api_request("POST", PATH, &[json], Some("%%% not base64 %%%"), true),
        ),
        ("hex text, not JSON", post_json(PATH, &not_utf8)),
        // Salpre's envelope without its event type.
        (
            "no event_type",
            post_json(
                PATH,
                &format!(r#"{{"timestamp_utc":{T0},"payload":{{"call_id":1}}}}"#),
            ),
        ),
    ];
    for (what, request) in kept {
        assert_kept(&handle(&deps, request, now()).await, what);
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
            api_request("PUT", PATH, &[json], Some(&good), false),
            405,
            "method_not_allowed",
            "POST",
        ),
    ];
    for (request, status, code, needle) in refused {
        assert_error(&handle(&deps, request, now()).await, status, code, needle);
    }
    assert!(
        callhooks_tests::holds_unrecognized_deliveries(&stack).await,
        "kept: {:?}",
        stack.count_by_type().await
    );
}

/// Delivers `body` twice: recorded, then a duplicate (a retry is stored
/// once); returns the first answer.
async fn deliver_twice(deps: &WebhookDeps, body: &str) -> serde_json::Value {
    let (status, first) = deliver(deps, body).await;
    assert_eq!(
        (status, first["status"].as_str()),
        (200, Some("recorded")),
        "{body}"
    );
    let (status, again) = deliver(deps, body).await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("duplicate")),
        "{body}"
    );
    first
}

/// The anomalies stored on an event item.
fn anomalies(item: &callhooks::store::plan::Item) -> Vec<String> {
    match item.get("anomalies") {
        Some(callhooks::attribute::AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
        }
        _ => Vec::new(),
    }
}

async fn events_of(stack: &TestStack, call_id: &str) -> Vec<callhooks::store::plan::Item> {
    stack
        .store()
        .conversation_events(Channel::Call, Provider::Salpre, call_id)
        .await
        .unwrap()
}

#[tokio::test]
async fn ids_times_and_flags_in_any_form_are_read_and_stored_once() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    // One call, its id a number, a string and nested; its times an integer,
    // a string and a float; is_test as text and 0.
    let bodies = [
        format!(
            r#"{{"event_type":"call_initiated","timestamp_utc":{T0},"payload":{{"call_id":2001,"from":"{CALLER}","to":"{OURS}","direction":"inbound"}},"is_test":"false"}}"#
        ),
        format!(
            r#"{{"event_type":"call_ringing","timestamp_utc":"{}","payload":{{"call_id":"2001","from":"{CALLER}","to":"{OURS}","direction":"inbound"}},"is_test":0}}"#,
            T0 + 1
        ),
        format!(
            r#"{{"event_type":"call_answered","timestamp_utc":{}.5,"payload":{{"call":{{"id":2001,"from":"{CALLER}","to":"{OURS}","direction":"inbound"}}}}}}"#,
            T0 + 8
        ),
    ];
    for body in &bodies {
        let answer = deliver_twice(&deps, body).await;
        assert_eq!(answer["call_id"], "2001");
    }
    let summary = summary(&stack, "2001").await;
    assert_eq!(summary.status(), CallStatus::Answered);
    assert_eq!(summary.ringing_at, Some(key_of(T0 + 1)));
    assert_eq!(summary.event_count, 3);
    assert!(!summary.is_test);
    let events = events_of(&stack, "2001").await;
    assert_eq!(events.len(), 3);
    assert_eq!(anomalies(&events[0]), ["is_test: \"false\" read as false"]);
    assert_eq!(
        anomalies(&events[1]),
        ["timestamp_utc: a string", "is_test: 0 read as false"]
    );
    assert_eq!(
        anomalies(&events[2]),
        ["timestamp_utc: a fraction of seconds"]
    );
    assert_eq!(
        attr(&events[2], "occurred_at"),
        Some(time::to_key(Timestamp::from_millisecond((T0 + 8) * 1000 + 500).unwrap()).as_str())
    );
}

#[tokio::test]
async fn a_missing_time_is_the_received_time_and_a_late_retry_is_a_duplicate() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let body = format!(
        r#"{{"event_type":"call_initiated","payload":{{"call_id":2002,"from":"{CALLER}","to":"{OURS}","direction":"inbound"}}}}"#
    );
    let (status, first) = deliver(&deps, &body).await;
    assert_eq!((status, first["status"].as_str()), (200, Some("recorded")));
    // Salpre retries a minute later: a new received time, the same body.
    let later = Timestamp::from_second(T0 + 3_660).unwrap();
    let (status, again) = answer(&handle(&deps, post_json(PATH, &body), later).await);
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));
    let summary = summary(&stack, "2002").await;
    assert_eq!(summary.initiated_at, Some(time::to_key(now())));
    assert_eq!(summary.event_count, 1);
    let events = events_of(&stack, "2002").await;
    assert_eq!(events.len(), 1);
    assert!(anomalies(&events[0])[0].starts_with("timestamp_utc: missing"));
}

#[tokio::test]
async fn odd_fields_and_shapes_are_kept_with_their_anomalies() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let cases = [
        // Unknown and missing direction, a number that is not one.
        format!(
            r#"{{"event_type":"call_initiated","timestamp_utc":{T0},"payload":{{"call_id":2003,"from":"call me","to":"{OURS}","direction":"sideways"}}}}"#
        ),
        format!(
            r#"{{"event_type":"call_ringing","timestamp_utc":{},"payload":{{"call_id":2003}}}}"#,
            T0 + 1
        ),
        // A live line without a speaker, its time a number.
        format!(
            r#"{{"event_type":"transcript","timestamp_utc":{},"payload":{{"call":{{"id":2003}},"transcript":"Hello?","timestamp_utc":{}}}}}"#,
            T0 + 2,
            T0 + 2
        ),
        // A final transcript whose turns lack a type and carry numeric times.
        format!(
            r#"{{"event_type":"call_ended","timestamp_utc":{},"payload":{{"call_id":2003,"transcript":[{{"message":"Hi"}},{{"type":"customer","message":"Yes","utc_timestamp":{}}}]}}}}"#,
            T0 + 30,
            T0 + 5
        ),
        // An unknown event type, kept in its call.
        format!(
            r#"{{"event_type":"call_transferred","timestamp_utc":{},"payload":{{"call_id":2003,"target":"sales"}}}}"#,
            T0 + 31
        ),
    ];
    for body in &cases {
        deliver_twice(&deps, body).await;
    }
    let summary = summary(&stack, "2003").await;
    assert_eq!(summary.status(), CallStatus::Ended);
    assert_eq!(summary.direction, None);
    assert!(!summary.is_missed(), "the customer spoke");
    assert_eq!(summary.event_count, 5);
    let events = events_of(&stack, "2003").await;
    assert_eq!(events.len(), 5);
    let first = anomalies(&events[0]);
    assert!(
        first[0].starts_with("payload.from: \"call me\""),
        "{first:?}"
    );
    assert!(
        first[1].starts_with("payload.direction: \"sideways\""),
        "{first:?}"
    );
    assert_eq!(attr(&events[0], "from_text"), Some("call me"));
    assert!(
        anomalies(&events[1]).is_empty(),
        "a missing direction is no anomaly"
    );
    let lines = salpre::live_transcript(&events);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].speaker.as_deref(), lines[0].text.as_str()),
        (None, "Hello?")
    );
    assert_eq!(lines[0].line_timestamp, Some((T0 + 2).to_string()));
    let turns: Vec<salpre::FinalTurn> = serde_json::from_str(
        &stack
            .store()
            .final_transcript(Provider::Salpre, "2003")
            .await
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(turns[1].utc_timestamp, Some((T0 + 5).to_string()));
    assert!(anomalies(&events[4])[0].starts_with("event_type: \"call_transferred\""));
}

#[tokio::test]
async fn an_error_without_a_call_is_kept_and_alerts_once() {
    use callhooks::alerts::{alert_for_record, AlertType};
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let body = format!(
        r#"{{"event_type":"error","timestamp_utc":{},"payload":{{"error_message":"Webhook authentication header rejected by the AI agent"}},"is_test":false}}"#,
        T0 + 5
    );
    let answer = deliver_twice(&deps, &body).await;
    let call_id = answer["call_id"].as_str().unwrap().to_string();
    assert!(
        call_id.starts_with(salpre::ERROR_WITHOUT_CALL_PREFIX),
        "{call_id}"
    );
    let summary = summary(&stack, &call_id).await;
    assert_eq!(summary.status(), CallStatus::Failed);
    assert_eq!(
        summary.error_message.as_deref(),
        Some("Webhook authentication header rejected by the AI agent")
    );
    assert_eq!(summary.event_count, 1, "the retry wrote nothing");
    let events = events_of(&stack, &call_id).await;
    assert_eq!(events.len(), 1);
    assert_eq!(attr(&events[0], "raw"), Some(body.as_str()));
    // The alert rules over the summary as the stream shows it: one
    // call_error when it became failed, none for the same image again.
    let summary_item = stack
        .all_items()
        .await
        .into_iter()
        .find(|i| attr(i, "SK") == Some("SUMMARY"))
        .unwrap();
    let image: callhooks::alerts::Image = callhooks::store::sdk::to_sdk_item(&summary_item).into();
    let alert = alert_for_record("INSERT", &Default::default(), &image)
        .unwrap()
        .expect("one call_error");
    assert_eq!(alert.alert_type, AlertType::CallError);
    assert_eq!(alert.detail.as_deref(), summary.error_message.as_deref());
    assert_eq!(alert_for_record("MODIFY", &image, &image).unwrap(), None);
    // Another configuration error is another incident.
    let other = body.replace("rejected", "missing");
    let second = deliver_twice(&deps, &other).await;
    assert_ne!(second["call_id"], answer["call_id"]);
}

#[tokio::test]
async fn a_two_mib_live_line_is_stored_whole_once() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let text = "ş".repeat(2 * 1024 * 1024 / 2 - 200);
    let body = line("2004", T0 + 3, "customer", &text);
    assert!(body.len() <= 2 * 1024 * 1024 && body.len() > 2_000_000);
    deliver_twice(&deps, &body).await;
    let events = events_of(&stack, "2004").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        attr(&events[0], "raw"),
        Some(body.as_str()),
        "reassembled byte for byte"
    );
    assert!(anomalies(&events[0])[0].starts_with("text: "));
    let lines = salpre::live_transcript(&events);
    assert_eq!(lines[0].text, text);
}

#[tokio::test]
async fn base64_body_from_api_gateway_is_read() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let request = base64_request("POST", PATH, "application/json", SEED_INITIATED.as_bytes());
    let (status, body) = answer(&handle(&deps, request, now()).await);
    assert_eq!((status, body["status"].as_str()), (200, Some("recorded")));
}

#[tokio::test]
async fn sample_event_files_are_accepted() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let kinds = [
        "call_initiated",
        "call_ringing",
        "call_answered",
        "transcript",
        "call_ended",
        "error",
    ];
    for kind in kinds {
        let path = project_root().join(format!("events/salpre-{kind}.json"));
        let event = std::fs::read_to_string(&path).unwrap();
        let (status, body) = answer(&handle(&deps, event_request(&event), now()).await);
        assert_eq!(
            (status, body["status"].as_str(), body["event_type"].as_str()),
            (200, Some("recorded"), Some(kind)),
            "{body}"
        );
    }
    let summary = summary(&stack, "48213").await;
    assert_eq!(summary.event_count, 6);
    assert_eq!(summary.status(), CallStatus::Failed);
    assert!(summary.answered_at.is_some() && !summary.is_missed());
}

#[tokio::test]
async fn storage_stopped_answers_503_so_salpre_retries() {
    // Nothing listens on this port: connection refused on every attempt.
    let closed = callhooks_tests::closed_endpoint();
    let config = sdk_config_for(&closed, Deadline::FIVE_SECOND_PROVIDER).await;
    let deps = WebhookDeps {
        store: callhooks::store::Store::new(aws_sdk_dynamodb::Client::new(&config), "callhooks"),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    let (status, body) = deliver(&deps, SEED_INITIATED).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable");
}
