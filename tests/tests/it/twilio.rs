//! The twilio function against DynamoDB served by moto, every request
//! signed the way Twilio signs it (`X-Twilio-Signature` over the URL it
//! requested and the sorted form parameters) for the URL the function
//! computes: `make dev`'s `http://127.0.0.1:9000/twilio/...` from the Host
//! header, or the configured `PUBLIC_BASE_URL`. Every TwiML answer is
//! parsed with an XML parser.

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use callhooks::alerts::{alert_for_record, Alert, AlertType};
use callhooks::attribute::AttributeValue;
use callhooks::config::{parse_document, NumberConfig};
use callhooks::event::{CallStatus, Channel, Direction, Provider, SmsStatus};
use callhooks::phone::PhoneNumber;
use callhooks::providers::twilio::signature::{
    form_params, sign, AuthToken, PublicBaseUrl, SIGNATURE_HEADER,
};
use callhooks::routes::twilio::{handle, TwilioDeps};
use callhooks::runtime::Deadline;
use callhooks::store::plan::Item;
use callhooks::store::{CallSummary, SmsRecord, Store};
use callhooks::time::Timestamp;
use callhooks_tests::{answer, api_request, assert_error, attr, sdk_config_for, TestStack};
use lambda_http::{Body, Request, Response};
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;
use std::time::{Duration, Instant};

const T0: i64 = 1_795_449_082_000;
const TOKEN: &str = "twilio-test-auth-token-5f1e0c";
/// Where `make dev` serves the routes: the Host header Twilio's requests
/// carry there, and the base of the URL they are signed for.
const HOST: &str = "127.0.0.1:9000";
const BASE: &str = "http://127.0.0.1:9000";
const FORM: &str = "application/x-www-form-urlencoded";
const CALLER: &str = "%2B14155552671";
const OURS: &str = "%2B18339664835";
const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn deps_on(store: Store) -> TwilioDeps {
    TwilioDeps {
        store,
        token: AuthToken::new(Some(TOKEN)),
        public_base: None,
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        config_cache: callhooks::config_cache::NumberConfigCache::new(Duration::from_secs(30)),
        default_message: "Sorry, nobody can take your call.".into(),
        fallback: None,
    }
}

fn deps(stack: &TestStack) -> TwilioDeps {
    deps_on(stack.store())
}

/// A call request's parameters, as Twilio sends them to the voice URL.
fn call(call_sid: &str, extra: &str) -> String {
    format!(
        "AccountSid={ACCOUNT}&ApiVersion=2010-04-01&CallSid={call_sid}&From={CALLER}&To={OURS}&Direction=inbound{extra}"
    )
}

/// A signed form POST to `path` (which may carry a query string), as
/// Twilio sends it to `make dev`.
fn post(path: &str, body: &str) -> Request {
    let signature = sign(
        TOKEN,
        &format!("{BASE}{path}"),
        &form_params(body.as_bytes()),
    );
    post_with(path, body, &[(SIGNATURE_HEADER, &signature)])
}

fn post_with(path: &str, body: &str, headers: &[(&str, &str)]) -> Request {
    let mut all = vec![("content-type", FORM), ("host", HOST)];
    all.extend_from_slice(headers);
    api_request("POST", path, &all, Some(body), false)
}

/// A signed GET: the URL alone is signed, its parameters in the query.
fn get(path_and_query: &str) -> Request {
    let signature = sign(TOKEN, &format!("{BASE}{path_and_query}"), &[]);
    api_request(
        "GET",
        path_and_query,
        &[("host", HOST), (SIGNATURE_HEADER, &signature)],
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

const FORWARDING: &str = r#"{"greeting": "Thanks for calling Acme", "forward_to": ["+14155550100", "+14155550101"], "ring_timeout_s": 25,
    "voicemail": {"enabled": true, "prompt": "Please leave a message", "max_length_s": 90}}"#;

/// The elements, attributes (`@name=value`) and texts of a TwiML answer,
/// in document order; fails on anything but a 200 `text/xml` well-formed
/// document whose one root is `<Response>`.
fn twiml(response: &Response<Body>) -> Vec<String> {
    let text = std::str::from_utf8(response.body().as_ref()).unwrap();
    assert_eq!(response.status().as_u16(), 200, "{text}");
    assert_eq!(response.headers()["content-type"], "text/xml", "{text}");
    assert!(
        text.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
        "{text}"
    );
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let (mut depth, mut roots) = (0usize, 0);
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

const EMPTY: [&str; 1] = ["<Response"];

fn voicemail_answer(base: &str) -> Vec<String> {
    strs(&[
        "<Response",
        "<Say",
        "Please leave a message",
        "<Record",
        &format!("@action={base}/twilio/recording"),
        "@method=POST",
        "@maxLength=90",
        "@playBeep=true",
    ])
}

async fn summary(stack: &TestStack, call_sid: &str) -> CallSummary {
    stack
        .store()
        .call_summary(Provider::Twilio, call_sid)
        .await
        .unwrap()
        .expect("a call summary")
}

/// The whole summary item (the typed summary leaves out the dial and
/// recording attributes).
async fn summary_item(stack: &TestStack, call_sid: &str) -> Item {
    stack
        .store()
        .call_summary_item(Provider::Twilio, call_sid)
        .await
        .unwrap()
        .expect("a call summary")
}

/// A text or number attribute, as text.
fn value(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v) | AttributeValue::N(v)) => Some(v.clone()),
        _ => None,
    }
}

async fn message(stack: &TestStack, sid: &str) -> SmsRecord {
    stack
        .store()
        .sms_message(Provider::Twilio, sid)
        .await
        .unwrap()
        .expect("message stored")
}

fn history(record: &SmsRecord) -> Vec<&str> {
    record.history.iter().map(|h| h.status.as_str()).collect()
}

/// The alerts the table's stream raised so far, by the alerts function's
/// rules.
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
async fn an_incoming_call_is_forwarded_with_its_ring_timeout_and_the_dial_action() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack);
    let body = call(
        "CA100",
        "&CallStatus=ringing&CallerName=JOHN+DOE&FromCity=OAKLAND&StirVerstat=TN-Validation-Passed-A",
    );
    let answer = twiml(&handle(&deps, post("/twilio/voice", &body), at(T0)).await);
    assert_eq!(
        answer,
        strs(&[
            "<Response",
            "<Say",
            "Thanks for calling Acme",
            "<Dial",
            "@timeout=25",
            "@action=http://127.0.0.1:9000/twilio/dial",
            "@method=POST",
            "<Number",
            "+14155550100",
            "<Number",
            "+14155550101",
        ])
    );
    let call = summary(&stack, "CA100").await;
    assert_eq!(call.provider, "twilio");
    assert_eq!(call.from.as_deref(), Some("+14155552671"));
    assert_eq!(call.to.as_deref(), Some("+18339664835"));
    assert_eq!(call.direction, Some(Direction::Inbound));
    assert_eq!(call.caller_name.as_deref(), Some("JOHN DOE"));
    assert_eq!(call.status(), CallStatus::Ringing);
    assert_eq!(call.event_count, 1);
    assert!(!call.is_missed());

    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Twilio, "CA100")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        attr(&events[0], "raw"),
        Some(body.as_str()),
        "raw form kept"
    );
    assert_eq!(attr(&events[0], "hook"), Some("voice"));
    assert_eq!(attr(&events[0], "account_sid"), Some(ACCOUNT));
    assert_eq!(attr(&events[0], "from_city"), Some("OAKLAND"));
    assert_eq!(
        attr(&events[0], "stir_verstat"),
        Some("TN-Validation-Passed-A")
    );
    // The caller and our number both see the call on their timelines.
    for number in ["+14155552671", "+18339664835"] {
        let timeline = stack
            .store()
            .timeline(&PhoneNumber::parse(number).unwrap(), 10)
            .await
            .unwrap();
        assert_eq!(timeline.len(), 1, "{number}");
        assert_eq!(attr(&timeline[0], "call_id"), Some("CA100"), "{number}");
    }
}

#[tokio::test]
async fn a_voicemail_number_records_and_an_unconfigured_one_hears_the_default_message() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    // No configuration: the default message, then the call is ended.
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/voice", &call("CA110", "")), at(T0)).await),
        strs(&[
            "<Response",
            "<Say",
            "Sorry, nobody can take your call.",
            "<Hangup"
        ])
    );
    // Nobody to forward to: greeting, prompt and the recording.
    configure(
        &stack,
        r#"{"greeting": "Acme is closed", "voicemail": {"enabled": true, "prompt": "Please leave a message", "max_length_s": 90}}"#,
    )
    .await;
    let deps = TwilioDeps {
        config_cache: callhooks::config_cache::NumberConfigCache::disabled(),
        ..deps
    };
    let mut expected = voicemail_answer(BASE);
    expected.insert(1, "<Say".into());
    expected.insert(2, "Acme is closed".into());
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/voice", &call("CA111", "")), at(T0)).await),
        expected
    );
    // A greeting alone: said, then the call is ended.
    configure(&stack, r#"{"greeting": "We moved to +1 415 555 0199"}"#).await;
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/voice", &call("CA112", "")), at(T0)).await),
        strs(&[
            "<Response",
            "<Say",
            "We moved to +1 415 555 0199",
            "<Hangup"
        ])
    );
}

#[tokio::test]
async fn a_dial_nobody_answered_takes_voicemail_and_the_call_is_missed_once() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack);
    for (sid, dial_status) in [("CA200", "no-answer"), ("CA210", "busy")] {
        twiml(
            &handle(
                &deps,
                post("/twilio/voice", &call(sid, "&CallStatus=ringing")),
                at(T0),
            )
            .await,
        );
        // Our TwiML taking the call is not a person answering.
        let status = call(sid, "&CallStatus=in-progress");
        assert_eq!(
            twiml(&handle(&deps, post("/twilio/call-status", &status), at(T0 + 1_000)).await),
            strs(&EMPTY)
        );
        assert!(!summary(&stack, sid).await.is_missed());

        let dial = call(
            sid,
            &format!("&CallStatus=in-progress&DialCallStatus={dial_status}&DialCallSid={sid}D&DialCallDuration=0"),
        );
        assert_eq!(
            twiml(&handle(&deps, post("/twilio/dial", &dial), at(T0 + 26_000)).await),
            voicemail_answer(BASE),
            "{dial_status}"
        );
        let summary_now = summary(&stack, sid).await;
        assert!(summary_now.is_missed(), "{dial_status}: {summary_now:?}");
        assert!(summary_now.answered_at.is_none());
        let item = summary_item(&stack, sid).await;
        assert_eq!(
            value(&item, "dial_call_status").as_deref(),
            Some(dial_status)
        );
        assert_eq!(value(&item, "dial_call_sid"), Some(format!("{sid}D")));
    }

    // The voicemail lands on the call it belongs to.
    let recording = call(
        "CA200",
        "&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0%2FRecordings%2FRE1&RecordingSid=RE1&RecordingDuration=27",
    );
    assert_eq!(
        twiml(
            &handle(
                &deps,
                post("/twilio/recording", &recording),
                at(T0 + 60_000)
            )
            .await
        ),
        strs(&["<Response", "<Hangup"])
    );
    let completed = call(
        "CA200",
        "&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0%2FRecordings%2FRE1&RecordingSid=RE1&RecordingStatus=completed&RecordingDuration=27&RecordingChannels=1&RecordingSource=RecordVerb",
    );
    twiml(
        &handle(
            &deps,
            post("/twilio/recording", &completed),
            at(T0 + 61_000),
        )
        .await,
    );
    let item = summary_item(&stack, "CA200").await;
    for (name, expected) in [
        (
            "recording_url",
            "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE1",
        ),
        ("recording_sid", "RE1"),
        ("recording_status", "completed"),
        ("recording_duration_s", "27"),
    ] {
        assert_eq!(value(&item, name).as_deref(), Some(expected), "{name}");
    }
    let hung_up = call("CA200", "&CallStatus=completed&CallDuration=61");
    twiml(
        &handle(
            &deps,
            post("/twilio/call-status", &hung_up),
            at(T0 + 62_000),
        )
        .await,
    );
    let ended = summary(&stack, "CA200").await;
    assert_eq!(ended.status(), CallStatus::Ended);
    assert!(ended.is_missed());
    assert_eq!(ended.event_count, 6);

    // One missed_call alert per call, whatever came after the dial.
    let alerts = stream_alerts(&stack);
    let mut missed: Vec<&str> = alerts
        .iter()
        .filter(|a| a.alert_type == AlertType::MissedCall)
        .map(|a| a.call_id.as_deref().unwrap_or(""))
        .collect();
    missed.sort();
    assert_eq!(missed, ["CA200", "CA210"], "{alerts:?}");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let alert = alerts
        .iter()
        .find(|a| a.call_id.as_deref() == Some("CA200"))
        .unwrap();
    assert_eq!(alert.provider, "twilio");
    assert_eq!(alert.from.as_deref(), Some("+14155552671"));
    assert_eq!(alert.to.as_deref(), Some("+18339664835"));
}

#[tokio::test]
async fn a_dial_answered_hangs_up_joins_the_dial_leg_and_raises_nothing() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack);
    twiml(
        &handle(
            &deps,
            post("/twilio/voice", &call("CA300", "&CallStatus=ringing")),
            at(T0),
        )
        .await,
    );
    let dial = call(
        "CA300",
        "&CallStatus=in-progress&DialCallStatus=completed&DialCallSid=CA301&DialCallDuration=95&DialBridged=true",
    );
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/dial", &dial), at(T0 + 100_000)).await),
        strs(&["<Response", "<Hangup"])
    );
    // A late no-answer status does not make an answered call missed.
    twiml(
        &handle(
            &deps,
            post(
                "/twilio/call-status",
                &call("CA300", "&CallStatus=no-answer"),
            ),
            at(T0 + 101_000),
        )
        .await,
    );
    let answered = summary(&stack, "CA300").await;
    assert!(answered.answered_at.is_some(), "{answered:?}");
    assert!(!answered.is_missed());
    let item = summary_item(&stack, "CA300").await;
    assert_eq!(value(&item, "dial_call_sid").as_deref(), Some("CA301"));
    assert_eq!(
        value(&item, "dial_call_status").as_deref(),
        Some("completed")
    );
    assert_eq!(value(&item, "dial_call_duration_s").as_deref(), Some("95"));
    let alerts = stream_alerts(&stack);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[tokio::test]
async fn call_status_callbacks_end_the_call_with_its_duration_and_close_its_lifecycle() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    let status = |sid: &str, extra: &str| post("/twilio/call-status", &call(sid, extra));
    twiml(
        &handle(
            &deps,
            post("/twilio/voice", &call("CA400", "&CallStatus=ringing")),
            at(T0),
        )
        .await,
    );
    let open = summary(&stack, "CA400").await;
    assert_eq!(open.lifecycle.lifecycle_closed_at, None);
    // The final status overtakes an earlier one: the call still ends.
    assert_eq!(
        twiml(
            &handle(
                &deps,
                status(
                    "CA400",
                    "&CallStatus=completed&CallDuration=42&Timestamp=Mon%2C+23+Nov+2026+15%3A52%3A04+%2B0000&SequenceNumber=3&CallbackSource=call-progress-events"
                ),
                at(T0 + 42_000)
            )
            .await
        ),
        strs(&EMPTY)
    );
    twiml(
        &handle(
            &deps,
            status("CA400", "&CallStatus=in-progress"),
            at(T0 + 43_000),
        )
        .await,
    );
    let ended = summary(&stack, "CA400").await;
    assert_eq!(ended.status(), CallStatus::Ended);
    assert!(ended.lifecycle.lifecycle_closed_at.is_some(), "{ended:?}");
    assert_eq!(
        value(&summary_item(&stack, "CA400").await, "call_duration_s").as_deref(),
        Some("42")
    );
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Twilio, "CA400")
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().filter_map(|e| attr(e, "kind")).collect();
    assert_eq!(
        kinds,
        ["voice", "status:completed", "status:in-progress"],
        "{events:?}"
    );

    // An inbound call that ends unanswered before any dial is missed.
    twiml(&handle(&deps, status("CA401", "&CallStatus=canceled"), at(T0)).await);
    assert!(summary(&stack, "CA401").await.is_missed());
    twiml(
        &handle(
            &deps,
            status("CA402", "&CallStatus=failed&SipResponseCode=503"),
            at(T0),
        )
        .await,
    );
    let failed = summary(&stack, "CA402").await;
    assert_eq!(failed.status(), CallStatus::Failed);
    assert_eq!(
        failed.error_message.as_deref(),
        Some("Twilio reported CallStatus failed (SIP 503)")
    );
}

const SMS_SID: &str = "SM0123456789abcdef0123456789abcdef";

fn sms(sid: &str, extra: &str) -> String {
    format!(
        "ToCountry=US&ToState=CA&SmsMessageSid={sid}&NumMedia=0&ToCity=&FromZip=94612&SmsSid={sid}&FromState=CA&SmsStatus=received&FromCity=OAKLAND&Body=Hi+there%21+Is+the+shop+open%3F&FromCountry=US&To={OURS}&ToZip=&NumSegments=1&MessageSid={sid}&AccountSid={ACCOUNT}&From={CALLER}&ApiVersion=2010-04-01{extra}"
    )
}

#[tokio::test]
async fn inbound_sms_and_mms_are_answered_empty_and_stored_on_both_timelines() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    let body = sms(SMS_SID, "");
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/messages", &body), at(T0)).await),
        strs(&EMPTY)
    );
    let record = message(&stack, SMS_SID).await;
    let summary = &record.summary;
    assert_eq!(summary.provider, "twilio");
    assert_eq!(summary.direction, Some(Direction::Inbound));
    assert_eq!(summary.from.as_deref(), Some("+14155552671"));
    assert_eq!(summary.to.as_deref(), Some("+18339664835"));
    assert_eq!(
        summary.message_text.as_deref(),
        Some("Hi there! Is the shop open?")
    );
    assert_eq!(summary.segments, Some(1));
    assert_eq!(summary.status(), Some(SmsStatus::Received));
    assert_eq!(history(&record), ["received"]);
    let events = stack
        .store()
        .conversation_events(Channel::Sms, Provider::Twilio, SMS_SID)
        .await
        .unwrap();
    assert_eq!(
        attr(&events[0], "raw"),
        Some(body.as_str()),
        "raw form kept"
    );
    for number in ["+14155552671", "+18339664835"] {
        let timeline = stack
            .store()
            .timeline(&PhoneNumber::parse(number).unwrap(), 10)
            .await
            .unwrap();
        let ids: Vec<&str> = timeline
            .iter()
            .filter_map(|i| attr(i, "message_id"))
            .collect();
        assert_eq!(ids, [SMS_SID], "{number}");
    }

    // An MMS: every media URL and type kept, in index order.
    let mms_sid = "MM0123456789abcdef0123456789abcdef";
    let mms = sms(mms_sid, "")
        .replace("NumMedia=0", "NumMedia=2")
        + "&MediaContentType1=image%2Fpng&MediaUrl1=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0%2FMessages%2FMM0%2FMedia%2FME2"
        + "&MediaContentType0=image%2Fjpeg&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC0%2FMessages%2FMM0%2FMedia%2FME1";
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/messages", &mms), at(T0)).await),
        strs(&EMPTY)
    );
    let record = message(&stack, mms_sid).await;
    assert_eq!(
        record.summary.medias,
        Some(strs(&[
            "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME1",
            "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM0/Media/ME2",
        ]))
    );
    let item = stack
        .dynamodb()
        .get_item()
        .table_name(&stack.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("SMS#twilio#{mms_sid}")),
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
    let types: Vec<String> = match item.get("media_content_types") {
        Some(AttributeValue::L(list)) => {
            list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
        }
        other => panic!("media_content_types: {other:?}"),
    };
    assert_eq!(types, ["image/jpeg", "image/png"]);
}

/// An outbound message's status callback.
fn message_status(status: &str, extra: &str) -> String {
    format!(
        "SmsSid={SMS_SID}&SmsStatus={status}&MessageStatus={status}&To={CALLER}&MessagingServiceSid=MG0123456789abcdef0123456789abcdef&MessageSid={SMS_SID}&AccountSid={ACCOUNT}&From={OURS}&ApiVersion=2010-04-01{extra}"
    )
}

#[tokio::test]
async fn out_of_order_and_repeated_message_statuses_keep_the_final_status_and_one_entry_each() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    let deliveries = [
        ("delivered", 2_000, 1),
        ("sent", 1_000, 2),
        ("queued", 0, 3),
        ("delivered", 3_000, 3),
        ("sent", 4_000, 3),
        ("delivered", 60_000, 3),
    ];
    for (status, ms, events_so_far) in deliveries {
        let body = message_status(status, "");
        let response = handle(&deps, post("/twilio/message-status", &body), at(T0 + ms)).await;
        assert_eq!(twiml(&response), strs(&EMPTY), "{status} at {ms}");
        assert_eq!(
            message(&stack, SMS_SID).await.summary.event_count,
            events_so_far,
            "{status} at {ms}"
        );
    }
    let record = message(&stack, SMS_SID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Delivered));
    assert_eq!(record.summary.direction, Some(Direction::Outbound));
    assert_eq!(history(&record), ["queued", "sent", "delivered"]);
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("sms"), Some(&1));
    assert_eq!(counts.get("sms_event"), Some(&3));
    assert_eq!(counts.get("sms_status"), Some(&3));
    // Delivered, the message's lifecycle is closed: nothing to alert.
    assert!(record.summary.lifecycle.lifecycle_closed_at.is_some());
    assert!(stream_alerts(&stack).is_empty());
}

#[tokio::test]
async fn failed_and_undelivered_messages_carry_what_sms_failed_needs_and_alert_once() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    let sent = message_status("sent", "");
    let undelivered = message_status(
        "undelivered",
        "&ErrorCode=30003&ErrorMessage=Unreachable+destination+handset",
    );
    let failed = message_status("failed", "&ErrorCode=30007");
    for (body, ms) in [
        (&sent, 0),
        (&undelivered, 2_000),
        (&undelivered, 3_000),
        (&failed, 4_000),
    ] {
        twiml(&handle(&deps, post("/twilio/message-status", body), at(T0 + ms)).await);
    }
    let record = message(&stack, SMS_SID).await;
    assert_eq!(record.summary.status(), Some(SmsStatus::Failed));
    assert_eq!(
        record.summary.failure_message.as_deref(),
        Some("Twilio reported undelivered (ErrorCode 30003): Unreachable destination handset")
    );
    assert_eq!(history(&record), ["sent", "undelivered", "failed"]);
    let undelivered_entry = &record.history[1];
    assert_eq!(
        undelivered_entry.message.as_deref(),
        Some("Unreachable destination handset")
    );

    let alerts = stream_alerts(&stack);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert.alert_type, AlertType::SmsFailed);
    assert_eq!(alert.provider, "twilio");
    assert_eq!(alert.message_id.as_deref(), Some(SMS_SID));
    assert_eq!(alert.from.as_deref(), Some("+18339664835"));
    assert_eq!(alert.to.as_deref(), Some("+14155552671"));
    assert_eq!(
        alert.detail.as_deref(),
        Some("Twilio reported undelivered (ErrorCode 30003): Unreachable destination handset")
    );
}

#[tokio::test]
async fn a_retry_of_the_same_bytes_is_a_duplicate_answered_the_same() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack);
    let deliveries = [
        ("/twilio/voice", call("CA500", "&CallStatus=ringing")),
        ("/twilio/call-status", call("CA500", "&CallStatus=in-progress")),
        (
            "/twilio/dial",
            call("CA500", "&DialCallStatus=no-answer&DialCallSid=CA501"),
        ),
        (
            "/twilio/recording",
            call(
                "CA500",
                "&RecordingUrl=https%3A%2F%2Fapi.twilio.com%2FRE5&RecordingSid=RE5&RecordingStatus=completed",
            ),
        ),
        ("/twilio/call-status", call("CA500", "&CallStatus=completed")),
        ("/twilio/messages", sms(SMS_SID, "")),
        (
            "/twilio/message-status",
            message_status("delivered", "").replace(SMS_SID, "SM-retry-2"),
        ),
    ];
    let mut first_answers = Vec::new();
    for (i, (path, body)) in deliveries.iter().enumerate() {
        let response = handle(&deps, post(path, body), at(T0 + i as i64 * 1_000)).await;
        twiml(&response);
        first_answers.push(response.body().as_ref().to_vec());
    }
    let items_before = stack.all_items().await;
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call_event"), Some(&5), "{counts:?}");
    assert_eq!(counts.get("sms_event"), Some(&2), "{counts:?}");

    // Twilio retries later with the same bytes: the same answers, nothing new.
    for (i, (path, body)) in deliveries.iter().enumerate() {
        let retry = handle(&deps, post(path, body), at(T0 + 30_000 + i as i64)).await;
        assert_eq!(retry.status().as_u16(), 200, "{path}");
        assert_eq!(retry.body().as_ref(), first_answers[i].as_slice(), "{path}");
    }
    assert_eq!(stack.all_items().await.len(), items_before.len());
    assert_eq!(summary(&stack, "CA500").await.event_count, 5);
}

#[tokio::test]
async fn get_on_the_voice_route_reads_its_query_and_get_on_messages_is_405() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let deps = deps(&stack);
    let query = call("CA600", "&CallStatus=ringing&CallerName=Ann+Smith");
    let answer_to_get = twiml(&handle(&deps, get(&format!("/twilio/voice?{query}")), at(T0)).await);
    assert!(
        answer_to_get.contains(&"+14155550100".to_string()),
        "{answer_to_get:?}"
    );
    let call = summary(&stack, "CA600").await;
    assert_eq!(call.caller_name.as_deref(), Some("Ann Smith"));
    let events = stack
        .store()
        .conversation_events(Channel::Call, Provider::Twilio, "CA600")
        .await
        .unwrap();
    assert_eq!(
        attr(&events[0], "raw"),
        Some(query.as_str()),
        "raw query kept"
    );

    for path in [
        "/twilio/messages",
        "/twilio/message-status",
        "/twilio/call-status",
    ] {
        let response = handle(&deps, get(&format!("{path}?{}", sms(SMS_SID, ""))), at(T0)).await;
        assert_error(&response, 405, "method_not_allowed", "POST");
    }
    assert_eq!(
        message_count(&stack).await,
        0,
        "a refused GET stored nothing"
    );
}

async fn message_count(stack: &TestStack) -> usize {
    stack.count_by_type().await.get("sms").copied().unwrap_or(0)
}

#[tokio::test]
async fn an_unknown_hook_is_404_only_after_the_signature() {
    let stack = TestStack::new().await;
    let deps = deps(&stack);
    let body = call("CA700", "");
    let unsigned = handle(&deps, post_with("/twilio/status", &body, &[]), at(T0)).await;
    assert_error(&unsigned, 401, "unauthorized", "X-Twilio-Signature");
    let signed = handle(&deps, post("/twilio/status", &body), at(T0)).await;
    assert_error(&signed, 404, "not_found", "/twilio/call-status");
    assert_eq!(stack.all_items().await, vec![]);
}

#[tokio::test]
async fn every_signature_failure_is_401_and_writes_nothing() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let items_before = stack.all_items().await;
    let deps = deps(&stack);
    let body = call("CA800", "&CallStatus=ringing");
    let params = form_params(body.as_bytes());
    let right_url = format!("{BASE}/twilio/voice");
    let signature_for =
        |token: &str, url: &str, body: &str| sign(token, url, &form_params(body.as_bytes()));
    let cases: Vec<(&str, Request)> = vec![
        ("missing header", post_with("/twilio/voice", &body, &[])),
        (
            "empty header",
            post_with("/twilio/voice", &body, &[(SIGNATURE_HEADER, "")]),
        ),
        (
            "not base64 of an HMAC",
            post_with(
                "/twilio/voice",
                &body,
                &[(SIGNATURE_HEADER, "not-a-signature")],
            ),
        ),
        (
            "wrong token",
            post_with(
                "/twilio/voice",
                &body,
                &[(
                    SIGNATURE_HEADER,
                    &sign("another-token", &right_url, &params),
                )],
            ),
        ),
        (
            "the token itself as the signature",
            post_with("/twilio/voice", &body, &[(SIGNATURE_HEADER, TOKEN)]),
        ),
        (
            "body altered after signing",
            post_with(
                "/twilio/voice",
                &body.replace("%2B14155552671", "%2B14155552672"),
                &[(SIGNATURE_HEADER, &signature_for(TOKEN, &right_url, &body))],
            ),
        ),
        (
            "a parameter added after signing",
            post_with(
                "/twilio/voice",
                &format!("{body}&Digits=1"),
                &[(SIGNATURE_HEADER, &signature_for(TOKEN, &right_url, &body))],
            ),
        ),
        (
            "signed for another route",
            post_with(
                "/twilio/voice",
                &body,
                &[(
                    SIGNATURE_HEADER,
                    &signature_for(TOKEN, &format!("{BASE}/twilio/dial"), &body),
                )],
            ),
        ),
        (
            "signed for another host",
            post_with(
                "/twilio/voice",
                &body,
                &[(
                    SIGNATURE_HEADER,
                    &signature_for(TOKEN, "https://evil.example/twilio/voice", &body),
                )],
            ),
        ),
        (
            "query string added after signing",
            post_with(
                "/twilio/voice?x=1",
                &body,
                &[(SIGNATURE_HEADER, &signature_for(TOKEN, &right_url, &body))],
            ),
        ),
        (
            "https signed, http served",
            post_with(
                "/twilio/voice",
                &body,
                &[(
                    SIGNATURE_HEADER,
                    &signature_for(TOKEN, "https://127.0.0.1:9000/twilio/voice", &body),
                )],
            ),
        ),
    ];
    for (name, request) in cases {
        let response = handle(&deps, request, at(T0)).await;
        let (status, body) = answer(&response);
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{name}");
        assert!(
            !body.to_string().contains(TOKEN),
            "{name} reveals the token: {body}"
        );
    }
    // A function without its token refuses even a well-signed request.
    let missing = TwilioDeps {
        token: AuthToken::from_vars("TWILIO_AUTH_TOKEN", |_| None),
        ..deps_on(stack.store())
    };
    let response = handle(&missing, post("/twilio/voice", &body), at(T0)).await;
    assert_error(&response, 401, "unauthorized", "TWILIO_AUTH_TOKEN");
    assert_eq!(
        stack.all_items().await,
        items_before,
        "a refused request wrote"
    );

    // The same request, rightly signed, is taken; so is one signed over
    // the URL without its port, as Twilio may sign it.
    let response = handle(&deps, post("/twilio/voice", &body), at(T0)).await;
    assert!(twiml(&response).contains(&"<Dial".to_string()));
    let other = call("CA801", "&CallStatus=ringing");
    let without_port = signature_for(TOKEN, "http://127.0.0.1/twilio/voice", &other);
    let response = handle(
        &deps,
        post_with(
            "/twilio/voice",
            &other,
            &[(SIGNATURE_HEADER, &without_port)],
        ),
        at(T0),
    )
    .await;
    assert!(twiml(&response).contains(&"<Dial".to_string()));
    assert_eq!(summary(&stack, "CA801").await.event_count, 1);
}

#[tokio::test]
async fn a_custom_domain_with_a_stage_path_is_verified_and_used_for_the_actions() {
    let stack = TestStack::new().await;
    configure(&stack, FORWARDING).await;
    let public = "https://hooks.example.com/prod";
    let deps = TwilioDeps {
        public_base: Some(PublicBaseUrl::parse(public).unwrap()),
        ..deps(&stack)
    };
    let body = call("CA900", "&CallStatus=ringing");
    // API Gateway hands the function its own host and the mapped path.
    let request = |signed_for: &str| {
        let signature = sign(TOKEN, signed_for, &form_params(body.as_bytes()));
        api_request(
            "POST",
            "/prod/twilio/voice",
            &[
                ("content-type", FORM),
                ("host", "abc123.execute-api.us-east-1.amazonaws.com"),
                (SIGNATURE_HEADER, &signature),
            ],
            Some(&body),
            false,
        )
    };
    let got = twiml(
        &handle(
            &deps,
            request("https://hooks.example.com/prod/twilio/voice"),
            at(T0),
        )
        .await,
    );
    assert!(
        got.contains(&"@action=https://hooks.example.com/prod/twilio/dial".to_string()),
        "{got:?}"
    );
    // Signed for the API Gateway URL instead: not what Twilio requested.
    let response = handle(
        &deps,
        request("https://abc123.execute-api.us-east-1.amazonaws.com/prod/twilio/voice"),
        at(T0),
    )
    .await;
    assert_eq!(answer(&response).0, 401);

    // A connection-override fragment is part of what Twilio signs.
    let with_fragment = TwilioDeps {
        public_base: Some(PublicBaseUrl::parse(&format!("{public}#rc=2&rp=all")).unwrap()),
        ..deps_on(stack.store())
    };
    let got = twiml(
        &handle(
            &with_fragment,
            request("https://hooks.example.com/prod/twilio/voice#rc=2&rp=all"),
            at(T0 + 1_000),
        )
        .await,
    );
    assert!(
        got.contains(&"@action=https://hooks.example.com/prod/twilio/dial#rc=2&rp=all".to_string()),
        "{got:?}"
    );
    assert_eq!(summary(&stack, "CA900").await.event_count, 1);
}

/// With DynamoDB down (`endpoint`) and no spillway, a caller still hears
/// TwiML well inside Twilio's 15 s, and a status callback gets a 503 in
/// time, so Twilio retries it.
async fn storage_down_answers_in_time(endpoint: &str) {
    let config = sdk_config_for(endpoint, Deadline::FIVE_SECOND_PROVIDER).await;
    let deps = deps_on(Store::new(
        aws_sdk_dynamodb::Client::new(&config),
        "callhooks",
    ));
    let started = Instant::now();
    let response = handle(&deps, post("/twilio/voice", &call("CA1000", "")), at(T0)).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
    assert_eq!(
        twiml(&response),
        strs(&[
            "<Response",
            "<Say",
            "Sorry, nobody can take your call.",
            "<Hangup"
        ])
    );
    let started = Instant::now();
    let response = handle(
        &deps,
        post(
            "/twilio/call-status",
            &call("CA1000", "&CallStatus=completed"),
        ),
        at(T0),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert_error(&response, 503, "storage_unavailable", "");
}

#[tokio::test]
async fn storage_stopped_answers_a_live_call_with_twiml_and_a_status_with_503_in_time() {
    storage_down_answers_in_time(&callhooks_tests::closed_endpoint()).await;
}

#[tokio::test]
async fn storage_hanging_answers_a_live_call_with_twiml_and_a_status_with_503_in_time() {
    storage_down_answers_in_time(&callhooks_tests::black_hole()).await;
}

#[tokio::test]
async fn with_the_table_down_a_live_call_is_forwarded_from_the_fallback_and_spilled() {
    let stack = TestStack::new().await;
    let config = sdk_config_for(
        &callhooks_tests::closed_endpoint(),
        Deadline::FIVE_SECOND_PROVIDER,
    )
    .await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&config), &stack.table_name)
        .with_spillway(stack.spillway().await);
    let deps = TwilioDeps {
        fallback: callhooks::routes::voxtelesys::fallback("+15550001111", true).unwrap(),
        ..deps_on(store)
    };
    let started = Instant::now();
    let got = twiml(&handle(&deps, post("/twilio/voice", &call("CA1100", "")), at(T0)).await);
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(
        got.contains(&"+15550001111".to_string()) && got.contains(&"<Dial".to_string()),
        "{got:?}"
    );
    let status = call("CA1100", "&CallStatus=completed&CallDuration=12");
    assert_eq!(
        twiml(&handle(&deps, post("/twilio/call-status", &status), at(T0 + 12_000)).await),
        strs(&EMPTY)
    );
    // Both are kept through the spillway, and the call ends as it would
    // have with the table up.
    assert_eq!(stack.drain_spillway().await, 2);
    let call = summary(&stack, "CA1100").await;
    assert_eq!(call.status(), CallStatus::Ended);
    assert_eq!(call.event_count, 2);
}
