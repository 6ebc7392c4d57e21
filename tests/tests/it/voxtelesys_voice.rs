//! voxtelesys-voice against DynamoDB served by moto. Every answer is parsed
//! with an XML parser.

use callhooks::auth::SharedSecret;
use callhooks::config::{parse_document, NumberConfig};
use callhooks::event::{CallStatus, Channel, Provider};
use callhooks::routes::voxtelesys::{handle, VoxtelesysDeps};
use callhooks::runtime::Deadline;
use callhooks::store::CallSummary;
use callhooks::time::Timestamp;
use callhooks_tests::{
    answer, api_request, assert_error, assert_kept, attr, base64_request, event_request,
    project_root, sdk_config_for, TestStack,
};
use lambda_http::{Body, Request, Response};
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;
use std::time::{Duration, Instant};

const T0: i64 = 1_795_449_082_000;
const FORM: &str = "application/x-www-form-urlencoded";
const CALLER: &str = "%2B14155552671";
const OURS: &str = "%2B18339664835";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn deps(stack: &TestStack, token: Option<&str>) -> VoxtelesysDeps {
    VoxtelesysDeps {
        store: stack.store(),
        secret: SharedSecret::new(token),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        config_cache: callhooks::config_cache::NumberConfigCache::new(
            std::time::Duration::from_secs(30),
        ),
        default_message: "Sorry, nobody can take your call.".into(),
        fallback: None,
    }
}

fn params(call_sid: &str, extra: &str) -> String {
    format!("CallSid={call_sid}&From={CALLER}&To={OURS}&Direction=inbound&ApiVersion=v1{extra}")
}

fn post_form(hook: &str, body: &str) -> Request {
    api_request(
        "POST",
        &format!("/voxtelesys/{hook}"),
        &[("content-type", FORM)],
        Some(body),
        false,
    )
}

fn get_query(hook: &str, query: &str) -> Request {
    api_request(
        "GET",
        &format!("/voxtelesys/{hook}?{query}"),
        &[],
        None,
        false,
    )
}

async fn configure(stack: &TestStack, voxtelesys: &str) {
    let config: NumberConfig = parse_document(&format!(
        r#"{{"number": "+18339664835", "voxtelesys": {voxtelesys}}}"#
    ))
    .unwrap();
    stack.store().put_number_config(&config).await.unwrap();
}

const FORWARDING: &str = r#"{"greeting": "Thanks for calling Acme", "forward_to": ["+14155550100"], "ring_timeout_s": 25,
    "voicemail": {"enabled": true, "prompt": "Please leave a message", "max_length_s": 90}}"#;

/// The elements, attributes (`@name=value`) and texts of a VoXML answer,
/// in document order; fails on anything but a 200 well-formed XML answer
/// whose root is `<Response>`.
fn voxml(response: &Response<Body>) -> Vec<String> {
    let text = std::str::from_utf8(response.body().as_ref()).unwrap();
    assert_eq!(response.status().as_u16(), 200, "{text}");
    assert_eq!(response.headers()["content-type"], "application/xml");
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut roots = 0;
    loop {
        let event = reader
            .read_event()
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        match event {
            XmlEvent::Start(ref e) | XmlEvent::Empty(ref e) => {
                if depth == 0 {
                    roots += 1;
                    assert_eq!(e.name().as_ref(), b"Response", "{text}");
                }
                if matches!(event, XmlEvent::Start(_)) {
                    depth += 1;
                }
                out.push(format!("<{}", String::from_utf8_lossy(e.name().as_ref())));
                for attribute in e.attributes() {
                    let attribute = attribute.unwrap();
                    out.push(format!(
                        "@{}={}",
                        String::from_utf8_lossy(attribute.key.as_ref()),
                        attribute.unescape_value().unwrap()
                    ));
                }
            }
            XmlEvent::End(_) => depth -= 1,
            XmlEvent::Text(t) => out.push(t.unescape().unwrap().into_owned()),
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    assert_eq!((roots, depth), (1, 0), "one closed root: {text}");
    out
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn summary(stack: &TestStack, call_sid: &str) -> CallSummary {
    stack
        .store()
        .call_summary(Provider::Voxtelesys, call_sid)
        .await
        .unwrap()
        .expect("a call summary")
}

async fn summary_attr(stack: &TestStack, call_sid: &str, name: &str) -> Option<String> {
    let item = stack
        .dynamodb()
        .get_item()
        .table_name(&stack.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("CALL#voxtelesys#{call_sid}")),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("SUMMARY".into()),
        )
        .send()
        .await
        .unwrap()
        .item?;
    match item.get(name)? {
        aws_sdk_dynamodb::types::AttributeValue::S(v) => Some(v.clone()),
        aws_sdk_dynamodb::types::AttributeValue::N(v) => Some(v.clone()),
        other => Some(format!("{other:?}")),
    }
}

#[tokio::test]
async fn incoming_call_as_form_post_and_as_query_get_is_forwarded() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);

    let body = params(
        "CA100",
        "&CallStatus=ringing&CallerName=John+Doe&FromCity=Oakland",
    );
    let posted = voxml(&handle(&deps, post_form("voice", &body), at(T0)).await);
    assert_eq!(
        posted,
        strs(&[
            "<Response",
            "<Say",
            "Thanks for calling Acme",
            "<Dial",
            "@timeout=25",
            "@action=http://localhost/voxtelesys/dial",
            "@method=POST",
            "<Number",
            "+14155550100",
        ])
    );

    let query = params("CA101", "&CallStatus=ringing");
    let got = voxml(&handle(&deps, get_query("voice", &query), at(T0)).await);
    assert!(got.contains(&"@method=GET".to_string()), "{got:?}");
    assert!(got.contains(&"+14155550100".to_string()), "{got:?}");

    for sid in ["CA100", "CA101"] {
        let call = summary(&stack, sid).await;
        assert_eq!(call.from.as_deref(), Some("+14155552671"));
        assert_eq!(call.to.as_deref(), Some("+18339664835"));
        assert_eq!(call.status(), CallStatus::Ringing);
        assert_eq!(call.event_count, 1);
        assert!(!call.is_missed());
    }
    assert_eq!(
        summary(&stack, "CA100").await.caller_name.as_deref(),
        Some("John Doe")
    );

    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, "CA100")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        attr(&events[0], "raw"),
        Some(body.as_str()),
        "raw form kept"
    );
    assert_eq!(attr(&events[0], "from_city"), Some("Oakland"));
    let get_events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, "CA101")
        .await
        .unwrap();
    assert_eq!(
        attr(&get_events[0], "raw"),
        Some(query.as_str()),
        "raw query kept"
    );
}

#[tokio::test]
async fn unanswered_forward_is_missed_then_voicemail_lands_on_the_call() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    voxml(
        &handle(
            &deps,
            post_form("voice", &params("CA200", "&CallStatus=ringing")),
            at(T0),
        )
        .await,
    );
    // Our VoXML taking the call is not a person answering.
    voxml(
        &handle(
            &deps,
            post_form("status", &params("CA200", "&CallStatus=in-progress")),
            at(T0 + 1_000),
        )
        .await,
    );
    assert!(!summary(&stack, "CA200").await.is_missed());

    let dial = params(
        "CA200",
        "&CallStatus=in-progress&DialCallStatus=no-answer&DialCallSid=CA201&DialCallDuration=0",
    );
    let answer = voxml(&handle(&deps, post_form("dial", &dial), at(T0 + 26_000)).await);
    assert_eq!(
        answer,
        strs(&[
            "<Response",
            "<Say",
            "Please leave a message",
            "<Record",
            "@action=http://localhost/voxtelesys/recording",
            "@method=POST",
            "@maxLength=90",
            "@playBeep=true",
        ])
    );
    let call = summary(&stack, "CA200").await;
    assert!(call.is_missed(), "{call:?}");
    assert!(call.unanswered_at.is_some() && call.answered_at.is_none());
    assert_eq!(
        summary_attr(&stack, "CA200", "dial_call_status")
            .await
            .as_deref(),
        Some("no-answer")
    );
    assert_eq!(
        summary_attr(&stack, "CA200", "dial_call_sid")
            .await
            .as_deref(),
        Some("CA201")
    );

    let recording = params(
        "CA200",
        "&RecordingUrl=https%3A%2F%2Frec.example%2FRE1.wav&RecordingSid=RE1&RecordingStatus=completed&RecordingDuration=27",
    );
    let answer = voxml(&handle(&deps, post_form("recording", &recording), at(T0 + 60_000)).await);
    assert_eq!(answer, strs(&["<Response", "<Hangup"]));
    for (name, value) in [
        ("recording_url", "https://rec.example/RE1.wav"),
        ("recording_sid", "RE1"),
        ("recording_status", "completed"),
        ("recording_duration_s", "27"),
    ] {
        assert_eq!(
            summary_attr(&stack, "CA200", name).await.as_deref(),
            Some(value),
            "{name}"
        );
    }

    let answer = voxml(
        &handle(
            &deps,
            post_form("status", &params("CA200", "&CallStatus=completed")),
            at(T0 + 61_000),
        )
        .await,
    );
    assert_eq!(answer, strs(&["<Response"]));
    let call = summary(&stack, "CA200").await;
    assert_eq!(call.status(), CallStatus::Ended);
    assert!(call.is_missed());
    assert_eq!(call.event_count, 5);
}

#[tokio::test]
async fn answered_forward_hangs_up_and_is_not_missed() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    voxml(&handle(&deps, post_form("voice", &params("CA300", "")), at(T0)).await);
    let dial = params(
        "CA300",
        "&DialCallStatus=completed&DialCallSid=CA301&DialCallDuration=95",
    );
    assert_eq!(
        voxml(&handle(&deps, post_form("dial", &dial), at(T0 + 100_000)).await),
        strs(&["<Response", "<Hangup"])
    );
    // A late no-answer status does not make an answered call missed.
    voxml(
        &handle(
            &deps,
            post_form("status", &params("CA300", "&CallStatus=no-answer")),
            at(T0 + 101_000),
        )
        .await,
    );
    let call = summary(&stack, "CA300").await;
    assert!(call.answered_at.is_some());
    assert!(!call.is_missed());
    assert_eq!(
        summary_attr(&stack, "CA300", "dial_call_duration_s")
            .await
            .as_deref(),
        Some("95")
    );
}

#[tokio::test]
async fn status_callbacks_move_the_call_forward_only() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let status =
        |sid: &str, s: &str| post_form("status", &params(sid, &format!("&CallStatus={s}")));
    voxml(&handle(&deps, status("CA400", "completed"), at(T0 + 5_000)).await);
    voxml(&handle(&deps, status("CA400", "ringing"), at(T0)).await);
    assert_eq!(summary(&stack, "CA400").await.status(), CallStatus::Ended);

    voxml(&handle(&deps, status("CA401", "busy"), at(T0)).await);
    assert!(summary(&stack, "CA401").await.is_missed());

    voxml(&handle(&deps, status("CA402", "failed"), at(T0)).await);
    let failed = summary(&stack, "CA402").await;
    assert_eq!(failed.status(), CallStatus::Failed);
    assert!(summary_attr(&stack, "CA402", "error_message")
        .await
        .is_some());

    // An unknown status is stored as it came and fails nothing.
    voxml(&handle(&deps, status("CA403", "Teleported"), at(T0)).await);
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, "CA403")
        .await
        .unwrap();
    assert_eq!(attr(&events[0], "call_status"), Some("Teleported"));
    assert_eq!(attr(&events[0], "kind"), Some("status:Teleported"));
}

#[tokio::test]
async fn retried_callbacks_store_nothing_new_and_get_the_same_answer() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    let deliveries = [
        ("voice", params("CA500", "&CallStatus=ringing")),
        ("status", params("CA500", "&CallStatus=in-progress")),
        ("dial", params("CA500", "&DialCallStatus=no-answer&DialCallSid=CA501")),
        ("recording", params("CA500", "&RecordingUrl=https%3A%2F%2Frec.example%2FRE5&RecordingSid=RE5&RecordingStatus=completed")),
        ("status", params("CA500", "&CallStatus=completed")),
    ];
    let mut first_answers = Vec::new();
    for (i, (hook, body)) in deliveries.iter().enumerate() {
        let response = handle(&deps, post_form(hook, body), at(T0 + i as i64 * 1_000)).await;
        first_answers.push(response.body().as_ref().to_vec());
    }
    let items_before = stack.all_items().await.len();
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call_event"), Some(&5));
    assert_eq!(counts.get("delivery_guard"), Some(&5));

    // Retries arrive later, by POST or GET: same answers, nothing new.
    for (i, (hook, body)) in deliveries.iter().enumerate() {
        let retry = handle(&deps, post_form(hook, body), at(T0 + 30_000 + i as i64)).await;
        assert_eq!(retry.status().as_u16(), 200);
        assert_eq!(retry.body().as_ref(), first_answers[i].as_slice(), "{hook}");
    }
    assert_eq!(stack.all_items().await.len(), items_before);
    assert_eq!(summary(&stack, "CA500").await.event_count, 5);

    // A new fact about the same call is recorded.
    voxml(&handle(&deps, post_form("recording", &params("CA500", "&RecordingUrl=https%3A%2F%2Frec.example%2FRE6&RecordingSid=RE6&RecordingStatus=completed")), at(T0 + 40_000)).await);
    assert_eq!(summary(&stack, "CA500").await.event_count, 6);
}

#[tokio::test]
async fn unconfigured_number_gets_the_default_message_and_a_hangup() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    assert_eq!(
        voxml(&handle(&deps, post_form("voice", &params("CA600", "")), at(T0)).await),
        strs(&[
            "<Response",
            "<Say",
            "Sorry, nobody can take your call.",
            "<Hangup"
        ])
    );
    // And a dial outcome without configuration hangs up.
    assert_eq!(
        voxml(
            &handle(
                &deps,
                post_form("dial", &params("CA600", "&DialCallStatus=busy")),
                at(T0)
            )
            .await
        ),
        strs(&["<Response", "<Hangup"])
    );
}

#[tokio::test]
async fn hostile_greeting_is_escaped_not_injected() {
    let stack = TestStack::new().await;
    let greeting = r#"Hi</Say><Hangup/><Say x='1'>&amp; "quoted" <![CDATA[x]]>"#;
    let document = serde_json::json!({"greeting": greeting, "forward_to": ["+14155550100"]});
    configure(&stack, &document.to_string()).await;
    let deps = deps(&stack, None);
    let answer = voxml(&handle(&deps, post_form("voice", &params("CA700", "")), at(T0)).await);
    assert_eq!(&answer[..3], &strs(&["<Response", "<Say", greeting])[..]);
    assert_eq!(
        answer.iter().filter(|t| t.starts_with('<')).count(),
        4,
        "{answer:?}"
    );
}

#[tokio::test]
async fn query_token_is_carried_into_callbacks_and_never_stored() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, Some("s3 cr&t"));

    let refused = [
        post_form("voice", &params("CA800", "")),
        get_query("voice", &format!("token=wrong&{}", params("CA800", ""))),
        api_request(
            "POST",
            "/voxtelesys/voice",
            &[("content-type", FORM), ("authorization", "Bearer nope")],
            Some(&params("CA800", "")),
            false,
        ),
    ];
    for request in refused {
        let (status, body) = answer(&handle(&deps, request, at(T0)).await);
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let written = stack.count_by_type().await;
    assert_eq!(written.len(), 1, "only the configuration: {written:?}");

    let query = format!("{}&token=s3+cr%26t", params("CA801", ""));
    let got = voxml(&handle(&deps, get_query("voice", &query), at(T0)).await);
    assert!(
        got.contains(&"@action=http://localhost/voxtelesys/dial?token=s3+cr%26t".to_string()),
        "{got:?}"
    );
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, "CA801")
        .await
        .unwrap();
    let raw = attr(&events[0], "raw").unwrap();
    assert_eq!(raw, params("CA801", ""));
    assert!(!format!("{:?}", stack.all_items().await).contains("cr%26t"));

    // POST with the token in the URL: callbacks carry it too.
    let request = api_request(
        "POST",
        "/voxtelesys/dial?token=s3+cr%26t",
        &[("content-type", FORM)],
        Some(&params("CA801", "&DialCallStatus=no-answer")),
        false,
    );
    let got = voxml(&handle(&deps, request, at(T0)).await);
    assert!(
        got.contains(&"@action=http://localhost/voxtelesys/recording?token=s3+cr%26t".to_string()),
        "{got:?}"
    );

    // A bearer header needs nothing in the URL.
    let request = api_request(
        "POST",
        "/voxtelesys/voice",
        &[("content-type", FORM), ("authorization", "Bearer s3 cr&t")],
        Some(&params("CA802", "")),
        false,
    );
    let got = voxml(&handle(&deps, request, at(T0)).await);
    assert!(
        got.contains(&"@action=http://localhost/voxtelesys/dial".to_string()),
        "{got:?}"
    );
}

#[tokio::test]
async fn callback_urls_use_the_host_and_the_stage() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /voxtelesys/{hook}",
        "rawPath": "/prod/voxtelesys/voice",
        "rawQueryString": "",
        "headers": {"content-type": FORM, "host": "abc123.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": "POST", "path": "/prod/voxtelesys/voice", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "Voxtelesys"},
            "requestId": "r", "routeKey": "POST /voxtelesys/{hook}", "stage": "prod",
            "time": "23/Nov/2026:15:51:22 +0000", "timeEpoch": T0
        },
        "body": params("CA900", ""),
        "isBase64Encoded": false
    });
    let got = voxml(&handle(&deps, event_request(&event.to_string()), at(T0)).await);
    assert!(
        got.contains(
            &"@action=https://abc123.execute-api.us-east-1.amazonaws.com/prod/voxtelesys/dial"
                .to_string()
        ),
        "{got:?}"
    );
}

#[tokio::test]
async fn vars_are_kept_parsed_or_raw() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    voxml(
        &handle(
            &deps,
            post_form(
                "voice",
                &params("CA1000", "&Vars=%7B%22crm%22%3A%7B%22id%22%3A7%7D%7D"),
            ),
            at(T0),
        )
        .await,
    );
    voxml(
        &handle(
            &deps,
            post_form("voice", &params("CA1001", "&Vars=%7Bnot+json")),
            at(T0),
        )
        .await,
    );
    let parsed = stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, "CA1000")
        .await
        .unwrap();
    let vars = parsed[0]["vars"].as_m().unwrap();
    assert_eq!(vars["crm"].as_m().unwrap()["id"].as_n().unwrap(), "7");
    let raw = stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, "CA1001")
        .await
        .unwrap();
    assert_eq!(attr(&raw[0], "vars_raw"), Some("{not json"));
    assert!(!raw[0].contains_key("vars"));
}

#[tokio::test]
async fn base64_form_body_from_api_gateway_is_read() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    let request = base64_request(
        "POST",
        "/voxtelesys/voice",
        FORM,
        params("CA1100", "").as_bytes(),
    );
    let got = voxml(&handle(&deps, request, at(T0)).await);
    assert!(got.contains(&"<Dial".to_string()));
    assert_eq!(summary(&stack, "CA1100").await.event_count, 1);
}

#[tokio::test]
async fn bad_input_is_refused_only_for_size_and_otherwise_kept() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let ok = params("CA1200", "");
    let too_big = format!("{ok}&Vars={}", "a".repeat(callhooks::http::MAX_BODY_BYTES));
    use base64::Engine;
    let not_utf8 = base64::engine::general_purpose::STANDARD.encode([b'C', 0xff, 0xfe]);
    let json_body = r#"{"CallSid":"CA1200","From":"+14155552671","To":"+18339664835"}"#;
    // From a sender that proved who it is, each is answered 200 and kept
    // (raw, as unrecognized, where no reader understands it).
    let kept: Vec<(&str, Request)> = vec![
        (
            "no CallSid",
            post_form("voice", &format!("From={CALLER}&To={OURS}")),
        ),
        (
            "a 200-character CallSid",
            post_form(
                "voice",
                &format!("CallSid={}&From={CALLER}&To={OURS}", "C".repeat(200)),
            ),
        ),
        ("an empty form", post_form("voice", "")),
        (
            "a JSON body",
            api_request(
                "POST",
                "/voxtelesys/voice",
                &[("content-type", "application/json")],
                Some(json_body),
                false,
            ),
        ),
        (
            "a multipart body",
            api_request(
                "POST",
                "/voxtelesys/voice",
                &[("content-type", "multipart/form-data; boundary=x")],
                Some(&ok),
                false,
            ),
        ),
        (
            "invalid base64",
            api_request(
                "POST",
                "/voxtelesys/voice",
                &[("content-type", FORM)],
                Some("%%% not base64 %%%"),
                true,
            ),
        ),
        (
            "a form that is not UTF-8",
            api_request(
                "POST",
                "/voxtelesys/voice",
                &[("content-type", FORM)],
                Some(&not_utf8),
                true,
            ),
        ),
    ];
    for (what, request) in kept {
        assert_kept(&handle(&deps, request, at(T0)).await, what);
    }
    // What the contract refuses: a body over the limit, another method or hook.
    let refused: Vec<(Request, u16, &str, &str)> = vec![
        (post_form("sms", &ok), 404, "not_found", "unknown hook"),
        (get_query("", &ok), 404, "not_found", "unknown hook"),
        (
            api_request(
                "PUT",
                "/voxtelesys/voice",
                &[("content-type", FORM)],
                Some(&ok),
                false,
            ),
            405,
            "method_not_allowed",
            "PUT",
        ),
        (
            api_request("DELETE", "/voxtelesys/voice", &[], None, false),
            405,
            "method_not_allowed",
            "GET or POST",
        ),
        (
            post_form("voice", &too_big),
            413,
            "payload_too_large",
            "limit",
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

/// Every item the table holds for one call.
async fn events_of(stack: &TestStack, sid: &str) -> Vec<callhooks::store::plan::Item> {
    stack
        .store()
        .conversation_events(Channel::Call, Provider::Voxtelesys, sid)
        .await
        .unwrap()
}

fn anomalies(item: &callhooks::store::plan::Item) -> Vec<String> {
    match item.get("anomalies") {
        Some(callhooks::attribute::AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
        }
        _ => Vec::new(),
    }
}

/// Delivers a request twice (the retry a minute later): both answered 200
/// with the same answer, the retry writing nothing. Returns the answer.
async fn deliver_twice(
    stack: &TestStack,
    deps: &VoxtelesysDeps,
    request: impl Fn() -> Request,
) -> Vec<String> {
    let first = handle(deps, request(), at(T0)).await;
    let answer = voxml(&first);
    let items = stack.all_items().await.len();
    let retry = handle(deps, request(), at(T0 + 60_000)).await;
    assert_eq!(voxml(&retry), answer);
    assert_eq!(
        stack.all_items().await.len(),
        items,
        "the retry wrote nothing"
    );
    answer
}

#[tokio::test]
async fn repeated_parameters_read_the_first_and_are_named() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    // The first To is our configured number: forwarded as configured.
    let body = format!(
        "{}&To=%2B14155550999&CallStatus=ringing",
        params("CA1300", "")
    );
    let answer = deliver_twice(&stack, &deps, || post_form("voice", &body)).await;
    assert!(answer.iter().any(|a| a == "<Dial"), "{answer:?}");
    let query = format!("{}&CallerName=A&CallerName=B", params("CA1301", ""));
    deliver_twice(&stack, &deps, || get_query("voice", &query)).await;
    for (sid, raw, named) in [("CA1300", &body, "To"), ("CA1301", &query, "CallerName")] {
        let events = events_of(&stack, sid).await;
        assert_eq!(events.len(), 1);
        assert_eq!(attr(&events[0], "raw"), Some(raw.as_str()), "all kept raw");
        assert_eq!(
            anomalies(&events[0]),
            [format!(
                "{named}: sent more than once; the first value is read"
            )]
        );
    }
    assert_eq!(
        summary(&stack, "CA1300").await.to.as_deref(),
        Some("+18339664835")
    );
    assert_eq!(
        summary_attr(&stack, "CA1301", "caller_name")
            .await
            .as_deref(),
        Some("A")
    );
}

#[tokio::test]
async fn missing_or_unreadable_fields_are_kept_and_named() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "voice",
            format!("CallSid=CA1400&To={OURS}"),
            "From: missing",
        ),
        (
            "voice",
            format!("CallSid=CA1401&From={CALLER}"),
            "To: missing",
        ),
        (
            "voice",
            format!("CallSid=CA1402&From=call+me&To={OURS}"),
            "From: \"call me\"",
        ),
        (
            "voice",
            format!("CallSid=CA1403&From={CALLER}&To=%2B1415"),
            "To: \"+1415\"",
        ),
        ("status", params("CA1404", ""), "CallStatus: missing"),
        (
            "status",
            params("CA1405", "&CallStatus=teleported"),
            "CallStatus: \"teleported\"",
        ),
        (
            "status",
            format!("CallSid=CA1406&From={CALLER}&To={OURS}&Direction=sideways&CallStatus=ringing"),
            "Direction: \"sideways\"",
        ),
        ("dial", params("CA1407", ""), "DialCallStatus: missing"),
        (
            "dial",
            params("CA1408", "&DialCallStatus=completed&DialCallDuration=soon"),
            "DialCallDuration: ",
        ),
        ("recording", params("CA1409", ""), "RecordingUrl: missing"),
    ];
    for (hook, body, needle) in &cases {
        deliver_twice(&stack, &deps, || post_form(hook, body)).await;
        let sid = &body[body.find("CA14").unwrap()..][..6];
        let events = events_of(&stack, sid).await;
        assert_eq!(events.len(), 1, "{body}");
        assert!(
            anomalies(&events[0]).iter().any(|a| a.starts_with(needle)),
            "{body}: {:?}",
            anomalies(&events[0])
        );
    }
    // A voice callback without our number cannot read its configuration:
    // the default message, and the call is kept.
    let answer = voxml(&handle(&deps, post_form("voice", &cases[1].1), at(T0)).await);
    assert_eq!(answer[1..3], ["<Say", "Sorry, nobody can take your call."]);
    assert_eq!(summary(&stack, "CA1401").await.to, None);
    let unreadable = events_of(&stack, "CA1402").await;
    assert_eq!(attr(&unreadable[0], "from_text"), Some("call me"));
    assert_eq!(
        attr(&events_of(&stack, "CA1405").await[0], "kind"),
        Some("status:teleported")
    );
}

#[tokio::test]
async fn a_250_kb_speech_result_and_a_300_parameter_form_are_stored_once() {
    let stack = TestStack::new().await;
    let deps = deps(&stack, None);
    let speech = format!(
        "{}&CallStatus=completed&SpeechResult={}",
        params("CA1500", ""),
        "s".repeat(250 * 1024)
    );
    let mut wide = params("CA1501", "&CallStatus=ringing");
    for i in 0..300 {
        wide.push_str(&format!("&Custom{i}={}", "c".repeat(1_000)));
    }
    let mislabelled = params("CA1502", "&CallStatus=ringing");
    for (hook, body, content_type) in [
        ("status", &speech, FORM),
        ("status", &wide, FORM),
        ("status", &mislabelled, "text/plain"),
    ] {
        let request = || {
            api_request(
                "POST",
                &format!("/voxtelesys/{hook}"),
                &[("content-type", content_type)],
                Some(body),
                false,
            )
        };
        deliver_twice(&stack, &deps, request).await;
    }
    let stored = events_of(&stack, "CA1500").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        attr(&stored[0], "raw"),
        Some(speech.as_str()),
        "byte for byte"
    );
    assert!(!stored[0].contains_key("speech_result"));
    assert!(anomalies(&stored[0])[0].starts_with("speech_result: 256000 bytes"));
    assert_eq!(summary(&stack, "CA1500").await.status(), CallStatus::Ended);
    let stored = events_of(&stack, "CA1501").await;
    assert_eq!(attr(&stored[0], "raw"), Some(wide.as_str()));
    assert_eq!(
        summary(&stack, "CA1501").await.status(),
        CallStatus::Ringing
    );
    let stored = events_of(&stack, "CA1502").await;
    assert!(anomalies(&stored[0])[0].starts_with("Content-Type: \"text/plain\""));
}

#[tokio::test]
async fn sample_event_files_are_accepted() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack, None);
    for hook in ["voice", "status", "dial", "recording"] {
        for method in ["post", "get"] {
            let path = project_root().join(format!("events/voxtelesys-{hook}-{method}.json"));
            let event = std::fs::read_to_string(&path).unwrap();
            let got = voxml(&handle(&deps, event_request(&event), at(T0)).await);
            assert_eq!(got[0], "<Response", "{path:?}");
        }
    }
    let call = summary(&stack, "CA5f2c1e").await;
    // Each hook once (the GET twin of each is the same callback: a retry).
    assert_eq!(call.event_count, 4);
    assert!(call.is_missed());
    assert_eq!(
        summary_attr(&stack, "CA5f2c1e", "recording_sid")
            .await
            .as_deref(),
        Some("RE3b9")
    );
}

/// With DynamoDB unreachable and no spillway, a live call is still answered
/// (VoXML) and a status callback gets a 503 well inside the deadline, so
/// Voxtelesys retries it.
#[tokio::test]
async fn storage_stopped_answers_a_live_call_and_503_for_a_status_in_time() {
    let closed = callhooks_tests::closed_endpoint();
    let config = sdk_config_for(&closed, Deadline::FIVE_SECOND_PROVIDER).await;
    let deps = VoxtelesysDeps {
        store: callhooks::store::Store::new(aws_sdk_dynamodb::Client::new(&config), "callhooks"),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        config_cache: callhooks::config_cache::NumberConfigCache::new(
            std::time::Duration::from_secs(30),
        ),
        default_message: "x".into(),
        fallback: None,
    };
    let started = Instant::now();
    // A caller is on the line: answered (here with the default message, as
    // nothing was ever read and no fallback is set), never an error.
    let response = handle(&deps, post_form("voice", &params("CA1300", "")), at(T0)).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(response.status(), 200);
    assert!(
        voxml(&response).iter().any(|text| text == "x"),
        "{:?}",
        voxml(&response)
    );
    let started = Instant::now();
    let (status, body) = answer(
        &handle(
            &deps,
            post_form("status", &params("CA1300", "&CallStatus=completed")),
            at(T0),
        )
        .await,
    );
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

/// The VoXML answer to a ringing voice callback of call `sid` at `ms`.
async fn ringing(deps: &VoxtelesysDeps, sid: &str, ms: i64) -> Vec<String> {
    let body = params(sid, "&CallStatus=ringing");
    voxml(&handle(deps, post_form("voice", &body), at(ms)).await)
}

/// A warm function answers from the configuration it read lately (no
/// GetItem), until the cache's time is up; a disabled cache reads it anew.
#[tokio::test]
async fn configuration_is_kept_for_the_cache_time_only() {
    use callhooks::config_cache::NumberConfigCache;
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let forwards_to = |answer: &[String], number: &str| answer.iter().any(|t| t == number);
    let cached = VoxtelesysDeps {
        config_cache: NumberConfigCache::new(Duration::from_secs(3_600)),
        ..deps(&stack, None)
    };
    let uncached = VoxtelesysDeps {
        config_cache: NumberConfigCache::disabled(),
        ..deps(&stack, None)
    };
    let first = ringing(&cached, "CA900", T0).await;
    assert!(forwards_to(&first, "+14155550100"), "{first:?}");

    // An operator moves the forwarding elsewhere.
    configure(
        &stack,
        r#"{"greeting": "Moved", "forward_to": ["+14155550199"]}"#,
    )
    .await;
    let kept = ringing(&cached, "CA901", T0 + 1_000).await;
    assert!(forwards_to(&kept, "+14155550100"), "{kept:?}");
    let fresh = ringing(&uncached, "CA902", T0 + 2_000).await;
    assert!(forwards_to(&fresh, "+14155550199"), "{fresh:?}");
    assert_eq!(cached.config_cache.len(), 1);
    assert!(uncached.config_cache.is_empty());
    // Both calls were recorded all the same.
    for call in ["CA901", "CA902"] {
        assert_eq!(summary(&stack, call).await.status(), CallStatus::Ringing);
    }
}
