//! DynamoDB outages: with the endpoint refusing connections, accepting and
//! never answering, or answering late, a webhook without a spillway answers
//! 503 (Retell: its degraded 200) within its storage budget, well inside its
//! provider's deadline; once the endpoint is back, the provider's retries
//! leave the table exactly as one clean delivery of each event would. With
//! the spillway queue behind the table, the same outages are answered 200,
//! and the spillway later leaves the table as the clean deliveries would,
//! also when the provider retried meanwhile; with the queue down too, 503
//! (a live Voxtelesys or Twilio call: its VoXML or TwiML).
//!
//! A test binary of its own, so its own moto server: these tests pass only
//! if moto answers within the functions' real deadlines (the spillway's
//! 1.2 s for a 2 MiB delivery in 14 messages), so no other test may load
//! the same moto meanwhile.

use callhooks::ingest::spill::Spillway;
use callhooks::providers::twilio::Hook as TwilioHook;
use callhooks::runtime::Deadline;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use callhooks_tests::{
    answer, api_request, attr, closed_endpoint, sdk_config_for, Credentials, Functions, Hook,
    Route, TestStack,
};
use lambda_http::Request;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

const T0: i64 = 1_795_449_082_000;

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

/// What each outage test sends: one delivery per route.
const ROUTES: [Route; 7] = [
    Route::ZonitelCall,
    Route::ZonitelSms,
    Route::SalpreEvents,
    Route::Voxtelesys(Hook::Status),
    Route::RetellInbound,
    // Retell's `call_ended` for the call `RetellInbound` announced: it
    // joins that inbound record when the inbound delivery is stored first.
    Route::RetellEvents,
    Route::Twilio(TwilioHook::CallStatus),
];

/// The route's one delivery in these tests.
fn delivery(route: Route) -> Request {
    let json = |body: &str| {
        api_request(
            "POST",
            route.path(),
            &[("content-type", "application/json")],
            Some(body),
            false,
        )
    };
    match route {
        Route::ZonitelCall => json(
            r#"{"caller_id_name": "Ann", "caller_id_number": "+14155552671", "destination_number": "+18339664835"}"#,
        ),
        Route::ZonitelSms => json(
            r#"{"status": "delivered", "data": {"id": "sms-out-1", "segments": 1, "direction": "outbound", "messageText": "Hi", "from": "+18339664835", "to": "+14155552671", "medias": []}, "message": "ok"}"#,
        ),
        Route::SalpreEvents => json(
            r#"{"event_type":"call_answered","timestamp_utc":1795449080,"payload":{"call_id":77,"from":"+14155552671","to":"+18339664835","direction":"inbound"}}"#,
        ),
        Route::Twilio(_) => api_request(
            "POST",
            route.path(),
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("CallSid=CA-twilio-out-1&AccountSid=AC1&From=%2B14155552671&To=%2B18339664835&CallStatus=completed&Direction=inbound&CallDuration=42"),
            false,
        ),
        Route::Voxtelesys(_) => api_request(
            "POST",
            route.path(),
            &[("content-type", "application/x-www-form-urlencoded")],
            Some("CallSid=CA-out-1&From=%2B14155552671&To=%2B18339664835&CallStatus=completed&Direction=inbound"),
            false,
        ),
        Route::RetellInbound => json(
            r#"{"event": "call_inbound", "call_inbound": {"agent_id": "a", "from_number": "+14155552671", "to_number": "+18339664835"}}"#,
        ),
        Route::RetellEvents => json(
            &serde_json::json!({"event": "call_ended", "call": {
                "call_id": "call_outage_1", "call_type": "phone_call", "direction": "inbound",
                "from_number": "+14155552671", "to_number": "+18339664835", "agent_id": "a",
                "call_status": "ended", "start_timestamp": T0 - 1_000,
                "end_timestamp": T0 + 60_000, "duration_ms": 61_000,
                "disconnection_reason": "user_hangup"}})
            .to_string(),
        ),
    }
}

/// The storage budget of the route's function, and its provider's deadline
/// for an answer.
fn deadlines(route: Route) -> (Duration, Duration) {
    match route {
        Route::RetellInbound => (Deadline::CALLER_WAITING.total, Duration::from_secs(10)),
        Route::RetellEvents => (Deadline::CALL_EVENTS.total, Duration::from_secs(10)),
        _ => (Deadline::FIVE_SECOND_PROVIDER.total, Duration::from_secs(5)),
    }
}

/// Every function, with its table at `endpoint`.
async fn functions_at(endpoint: &str, table: &str) -> Functions {
    functions_spilling_to(endpoint, table, None).await
}

/// Every function with its table at `endpoint` and, when given, a spillway
/// queue behind it.
async fn functions_spilling_to(
    endpoint: &str,
    table: &str,
    spillway: Option<Spillway>,
) -> Functions {
    let spillway = spillway.as_ref();
    let store = |deadline| async move {
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(&sdk_config_for(endpoint, deadline).await),
            table,
        );
        match spillway {
            Some(spillway) => store.with_spillway(spillway.clone()),
            None => store,
        }
    };
    Functions::new(
        store(Deadline::FIVE_SECOND_PROVIDER).await,
        store(Deadline::CALLER_WAITING).await,
        Credentials::none(),
    )
}

/// A proxy to `upstream` that waits `delay` before forwarding each
/// connection: DynamoDB answering after the function gave up. What the
/// client sent before hanging up is still delivered, as a real request in
/// flight would be.
fn slow_proxy(upstream: &str, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream.trim_start_matches("http://").to_string();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let upstream = upstream.clone();
            thread::spawn(move || {
                thread::sleep(delay);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    return;
                };
                pipe(client, server);
            });
        }
    });
    endpoint
}

fn pipe(client: TcpStream, server: TcpStream) {
    let (mut client_read, mut server_write) =
        (client.try_clone().unwrap(), server.try_clone().unwrap());
    let forward = thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = client_read.read(&mut buf) {
            if n == 0 || server_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = server_write.shutdown(Shutdown::Write);
    });
    let (mut server_read, mut client_write) = (server, client);
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = server_read.read(&mut buf) {
        if n == 0 || client_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = forward.join();
}

/// Sends each route's delivery at `now`, checks the outage answer and its
/// timing.
async fn deliver_during_outage(functions: &Functions, now: Timestamp, outage: &str) {
    for route in ROUTES {
        let started = Instant::now();
        let response = functions.call(route, delivery(route), now).await;
        let elapsed = started.elapsed();
        let (status, body) = answer(&response);
        let (budget, provider_deadline) = deadlines(route);
        if route == Route::RetellInbound {
            // The caller is ringing: Retell gets its answer, without extras.
            assert_eq!(status, 200, "{outage} {route:?}: {body}");
            assert!(body["call_inbound"].is_object(), "{body}");
        } else {
            assert_eq!(status, 503, "{outage} {route:?}: {body}");
            assert_eq!(body["error"]["code"], "storage_unavailable");
            assert_eq!(response.headers()["retry-after"], "1");
        }
        assert!(
            elapsed < budget + Duration::from_millis(500) && elapsed < provider_deadline,
            "{outage} {route:?} answered after {elapsed:?}"
        );
    }
}

/// The provider retries after the outage: each retry is answered 200 and
/// the table ends as one clean delivery of each event leaves it.
async fn retry_until_clean(stack: &TestStack, now: Timestamp, outage: &str) {
    let functions = functions_at(&stack.endpoint, &stack.table_name).await;
    for retry in 1..=2 {
        for route in ROUTES {
            let (status, body) = answer(&functions.call(route, delivery(route), now).await);
            assert_eq!(status, 200, "{outage} retry {retry} {route:?}: {body}");
        }
    }
    assert_eq!(
        stack.count_by_type().await,
        clean_counts(now).await,
        "{outage}: the table differs from one clean delivery of each event"
    );
}

/// What one delivery of each event writes, on a table of its own.
async fn clean_counts(now: Timestamp) -> HashMap<String, usize> {
    let clean = TestStack::new().await;
    let functions = functions_at(&clean.endpoint, &clean.table_name).await;
    for route in ROUTES {
        let (status, body) = answer(&functions.call(route, delivery(route), now).await);
        assert_eq!(status, 200, "{route:?}: {body}");
    }
    clean.count_by_type().await
}

#[tokio::test]
async fn storage_refusing_connections_gets_503_then_retries_are_stored_once() {
    let stack = TestStack::new().await;
    let refused = closed_endpoint();
    let functions = functions_at(&refused, &stack.table_name).await;
    deliver_during_outage(&functions, at(T0), "refused").await;
    assert_eq!(stack.all_items().await, vec![], "nothing written");
    retry_until_clean(&stack, at(T0 + 2_000), "refused").await;
}

#[tokio::test]
async fn storage_never_answering_gets_503_in_time_then_retries_are_stored_once() {
    let stack = TestStack::new().await;
    let functions = functions_at(&callhooks_tests::black_hole(), &stack.table_name).await;
    deliver_during_outage(&functions, at(T0), "black hole").await;
    assert_eq!(stack.all_items().await, vec![], "nothing written");
    retry_until_clean(&stack, at(T0 + 5_000), "black hole").await;
}

#[tokio::test]
async fn storage_answering_too_late_gets_503_and_the_late_write_is_not_doubled() {
    let stack = TestStack::new().await;
    // Each attempt reaches DynamoDB 4 s late: after the function answered.
    let proxy = slow_proxy(&stack.endpoint, Duration::from_secs(4));
    let functions = functions_at(&proxy, &stack.table_name).await;
    deliver_during_outage(&functions, at(T0), "slow").await;
    // Let the late attempts land (each at most a few seconds behind).
    tokio::time::sleep(Duration::from_secs(6)).await;
    // A call event reads (its join) before it writes: its write was never
    // sent, so nothing of it lands late.
    let writes_first: Vec<Route> = ROUTES
        .into_iter()
        .filter(|r| *r != Route::RetellEvents)
        .collect();
    assert_eq!(
        stack.count_by_type().await,
        clean_counts_of(&writes_first, at(T0)).await,
        "the late writes landed, each once, though every answer was 503"
    );
    retry_until_clean(&stack, at(T0 + 8_000), "slow").await;
}

/// The routes whose deliveries the spillway keeps.
const SPILLED_ROUTES: [Route; 7] = [
    Route::ZonitelCall,
    Route::ZonitelSms,
    Route::SalpreEvents,
    Route::Voxtelesys(Hook::Status),
    Route::RetellInbound,
    Route::RetellEvents,
    Route::Twilio(TwilioHook::CallStatus),
];

/// What one delivery of each of `routes` writes, on a table of its own.
async fn clean_counts_of(routes: &[Route], now: Timestamp) -> HashMap<String, usize> {
    let clean = TestStack::new().await;
    let functions = functions_at(&clean.endpoint, &clean.table_name).await;
    for route in routes {
        let (status, body) = answer(&functions.call(*route, delivery(*route), now).await);
        assert_eq!(status, 200, "{route:?}: {body}");
    }
    clean.count_by_type().await
}

/// Each spilled route answers 200 within its provider's deadline while the
/// table at `table_endpoint` is out, and nothing reaches the table.
async fn spill_during_outage(stack: &TestStack, table_endpoint: &str, now: Timestamp) {
    let functions = functions_spilling_to(
        table_endpoint,
        &stack.table_name,
        Some(stack.spillway().await),
    )
    .await;
    for route in SPILLED_ROUTES {
        let started = Instant::now();
        let response = functions.call(route, delivery(route), now).await;
        let elapsed = started.elapsed();
        let (status, body) = answer(&response);
        assert_eq!(status, 200, "{route:?}: {body}");
        match route {
            // A live call: VoXML, or Retell's answer (from the fallback).
            Route::Voxtelesys(_) => {}
            // Twilio's status callback: the empty TwiML answer.
            Route::Twilio(_) => {
                let xml = String::from_utf8_lossy(response.body().as_ref()).into_owned();
                assert!(xml.ends_with("<Response/>"), "{route:?}: {xml}");
            }
            Route::RetellInbound => assert!(body["call_inbound"].is_object(), "{body}"),
            _ => assert_eq!(body["status"], "spilled", "{route:?}: {body}"),
        }
        assert!(
            elapsed < Duration::from_secs(5),
            "{route:?} answered after {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn table_refusing_connections_spills_and_the_spillway_stores_each_delivery_once() {
    let stack = TestStack::new().await;
    let refused = closed_endpoint();
    spill_during_outage(&stack, &refused, at(T0)).await;
    assert_eq!(stack.all_items().await, vec![], "nothing reached the table");
    assert_eq!(stack.drain_spillway().await, SPILLED_ROUTES.len());
    // The spilled call event joined the spilled inbound record of its call.
    let joined: Vec<_> = stack
        .all_items()
        .await
        .into_iter()
        .filter(|item| attr(item, "retell_call_id") == Some("call_outage_1"))
        .collect();
    assert_eq!(joined.len(), 1, "{joined:?}");
    assert_ne!(attr(&joined[0], "PK"), Some("CALL#retell#call_outage_1"));
    assert!(attr(&joined[0], "ended_at").is_some(), "{joined:?}");
    let clean = clean_counts_of(&SPILLED_ROUTES, at(T0)).await;
    assert_eq!(
        stack.count_by_type().await,
        clean,
        "as one clean delivery each"
    );
    // The same messages again (SQS delivers at least once): kept, and
    // nothing new written.
    spill_during_outage(&stack, &refused, at(T0)).await;
    assert_eq!(stack.drain_spillway().await, SPILLED_ROUTES.len());
    assert_eq!(stack.count_by_type().await, clean);
}

#[tokio::test]
async fn table_never_answering_spills_in_time_and_the_providers_retry_is_not_doubled() {
    let stack = TestStack::new().await;
    spill_during_outage(&stack, &callhooks_tests::black_hole(), at(T0)).await;
    assert_eq!(stack.all_items().await, vec![], "nothing reached the table");
    // The table is back and the providers retried before the spillway ran
    // (their answer was lost): both the retries and the spilled copies
    // arrive, in that order; each event is stored once.
    let functions = functions_at(&stack.endpoint, &stack.table_name).await;
    for route in SPILLED_ROUTES {
        let (status, body) = answer(&functions.call(route, delivery(route), at(T0 + 3_000)).await);
        assert_eq!(status, 200, "retry {route:?}: {body}");
    }
    assert_eq!(stack.drain_spillway().await, SPILLED_ROUTES.len());
    assert_eq!(
        stack.count_by_type().await,
        clean_counts_of(&SPILLED_ROUTES, at(T0)).await
    );
}

#[tokio::test]
async fn table_and_queue_both_down_answers_503_and_a_live_call_still_hears_call_control() {
    let stack = TestStack::new().await;
    let refused = closed_endpoint();
    let dead_queue = Spillway::new(
        Some(format!("{refused}/000000000000/spillway")),
        sdk_config_for(&refused, Deadline::SPILL).await,
    );
    let functions = functions_spilling_to(&refused, &stack.table_name, Some(dead_queue)).await;
    for route in [
        Route::ZonitelCall,
        Route::ZonitelSms,
        Route::SalpreEvents,
        Route::Voxtelesys(Hook::Status),
        Route::RetellEvents,
        Route::Twilio(TwilioHook::CallStatus),
    ] {
        let started = Instant::now();
        let response = functions.call(route, delivery(route), at(T0)).await;
        let (status, body) = answer(&response);
        assert_eq!(status, 503, "{route:?}: {body}");
        assert_eq!(body["error"]["code"], "storage_unavailable");
        let (budget, _) = deadlines(route);
        assert!(started.elapsed() < budget.min(Duration::from_secs(5)) + Duration::from_secs(2));
    }
    // A caller on the line: answered, never an error.
    let voice = api_request(
        "POST",
        "/voxtelesys/voice",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("CallSid=CA-live-1&From=%2B14155552671&To=%2B18339664835&Direction=inbound"),
        false,
    );
    let started = Instant::now();
    let response =
        callhooks::routes::voxtelesys::handle(&functions.voxtelesys, voice, at(T0)).await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    let xml = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(xml.contains("<Say>Sorry.</Say>"), "{xml}");
    // A Twilio caller too: TwiML, never an error.
    let voice = api_request(
        "POST",
        "/twilio/voice",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("CallSid=CA-live-3&From=%2B14155552671&To=%2B18339664835&Direction=inbound"),
        false,
    );
    let started = Instant::now();
    let response = callhooks::routes::twilio::handle(&functions.twilio, voice, at(T0)).await;
    assert_eq!(response.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(response.headers()["content-type"], "text/xml");
    let xml = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(xml.contains("<Say>Sorry.</Say><Hangup/>"), "{xml}");
}

#[tokio::test]
async fn a_live_call_is_forwarded_from_the_fallback_when_the_table_is_down() {
    let stack = TestStack::new().await;
    let refused = closed_endpoint();
    let mut functions =
        functions_spilling_to(&refused, &stack.table_name, Some(stack.spillway().await)).await;
    functions.voxtelesys.fallback =
        callhooks::routes::voxtelesys::fallback("+15550001111", true).unwrap();
    functions.twilio.fallback = functions.voxtelesys.fallback.clone();
    let voice = api_request(
        "POST",
        "/voxtelesys/voice?token=x",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("CallSid=CA-live-2&From=%2B14155552671&To=%2B18339664835&Direction=inbound"),
        false,
    );
    let response =
        callhooks::routes::voxtelesys::handle(&functions.voxtelesys, voice, at(T0)).await;
    assert_eq!(response.status(), 200);
    let xml = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(
        xml.contains("+15550001111") && xml.contains("<Dial"),
        "{xml}"
    );
    // Twilio's caller is forwarded the same way, in TwiML.
    let voice = api_request(
        "POST",
        "/twilio/voice",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some("CallSid=CA-live-4&From=%2B14155552671&To=%2B18339664835&Direction=inbound"),
        false,
    );
    let response = callhooks::routes::twilio::handle(&functions.twilio, voice, at(T0)).await;
    assert_eq!(response.status(), 200);
    let xml = String::from_utf8(response.body().to_vec()).unwrap();
    assert!(
        xml.contains("<Number>+15550001111</Number>") && xml.contains("<Dial"),
        "{xml}"
    );
    // And the calls themselves are kept, through the spillway.
    assert_eq!(stack.drain_spillway().await, 2);
    assert_eq!(stack.count_by_type().await.get("call"), Some(&2));
}

#[tokio::test]
async fn a_two_mebibyte_transcript_is_spilled_and_recovered_byte_for_byte() {
    let stack = TestStack::new().await;
    let refused = closed_endpoint();
    // Sending 14 messages to moto takes longer than a real queue would (and
    // far longer on a loaded machine): the spill gets a roomy deadline here;
    // the spill deadline itself is tested with the small deliveries above.
    let roomy = Deadline {
        total: Duration::from_secs(60),
        attempt: Duration::from_secs(60),
        connect: Duration::from_secs(5),
        max_attempts: 1,
    };
    let spillway = Spillway::new(
        Some(stack.spillway_queue_url.clone()),
        sdk_config_for(&stack.endpoint, roomy).await,
    )
    .with_deadline(roomy);
    let spillway = spillway.signed_with(callhooks_tests::spill_key());
    let mut functions = functions_spilling_to(&refused, &stack.table_name, Some(spillway)).await;
    functions.salpre.deadline.total = Duration::from_millis(500);
    let turn = r#"{"type":"customer","message":"%s","utc_timestamp":"1795449080"},"#;
    let mut turns = String::new();
    let mut n = 0;
    while turns.len() < 2 * 1024 * 1024 - 400 {
        turns.push_str(&turn.replace("%s", &format!("line {n} {}", "é".repeat(40))));
        n += 1;
    }
    turns.pop();
    let mut body = format!(
        r#"{{"event_type":"call_ended","timestamp_utc":1795449080,"payload":{{"call_id":91,"from":"+14155552671","to":"+18339664835","direction":"inbound","transcript":[{turns}]}}}}"#
    );
    while body.len() < 2 * 1024 * 1024 {
        body.insert(body.len() - 1, ' ');
    }
    assert_eq!(body.len(), 2 * 1024 * 1024);
    let request = api_request(
        "POST",
        "/salpre/events",
        &[("content-type", "application/json")],
        Some(&body),
        false,
    );
    let (status, answer_body) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &functions.salpre,
            request,
            at(T0),
        )
        .await,
    );
    assert_eq!(status, 200, "{answer_body}");
    assert_eq!(answer_body["status"], "spilled");
    assert_eq!(stack.drain_spillway().await, 14);
    let events = stack
        .store()
        .conversation_events(
            callhooks::event::Channel::Call,
            callhooks::event::Provider::Salpre,
            "91",
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        callhooks_tests::attr(&events[0], "raw"),
        Some(body.as_str())
    );
}
