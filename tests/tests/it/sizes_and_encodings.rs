//! The platform's size limit and what arrives encoded, against DynamoDB and
//! SQS served by moto: a two-hour Retell `call_ended` (2.4 MB) and a 5 MB
//! Salpre transcript are kept whole and read back byte for byte, straight
//! into the table and through the spillway (table down, then drained); a
//! body over the platform's 6 MB is the only 413. Gzip, deflate and br
//! bodies and Latin-1 ones are read as their calls; a decompression bomb is
//! kept as it came, never expanded.

use base64::Engine;
use callhooks::auth::SharedSecret;
use callhooks::event::{Channel, Provider};
use callhooks::ingest::decode::DECODED_FROM_ATTRIBUTE;
use callhooks::runtime::Deadline;
use callhooks::signature::{sign, SigningKey};
use callhooks::store::plan::Item;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use callhooks_tests::{answer, api_request, attr, closed_endpoint, sdk_config_for, TestStack};
use std::io::Write;
use std::time::Duration;

const KEY: &str = "test-api-key";
/// Monday 23 November 2026, 15:51:22 UTC.
const T0_MS: i64 = 1_795_449_082_000;
const CALLER: &str = "+14155552671";
const OURS: &str = "+18339664835";

fn now() -> Timestamp {
    Timestamp::from_millisecond(T0_MS).unwrap()
}

/// A deadline for megabyte-sized writes to moto (about a second per
/// megabyte on a loaded machine; DynamoDB takes milliseconds): one long
/// attempt, so a slow write is never retried into a duplicate.
fn roomy() -> Deadline {
    Deadline {
        total: Duration::from_secs(60),
        attempt: Duration::from_secs(60),
        connect: Duration::from_secs(5),
        max_attempts: 1,
    }
}

/// The stack's table with a client of `deadline`.
async fn store_with(stack: &TestStack, deadline: Deadline) -> Store {
    let config = sdk_config_for(&stack.endpoint, deadline).await;
    Store::new(aws_sdk_dynamodb::Client::new(&config), &stack.table_name)
}

/// A store whose table is down (nothing listens there), spilling to the
/// stack's queue. moto takes a megabyte body in SQS messages far slower
/// than SQS (whose messages are sent at once within the spill's 1.2 s), so
/// the spill gets a roomy deadline here too.
async fn table_down(stack: &TestStack) -> Store {
    let down = closed_endpoint();
    let config = sdk_config_for(&down, Deadline::FIVE_SECOND_PROVIDER).await;
    let queue = sdk_config_for(&stack.endpoint, roomy()).await;
    let spillway =
        callhooks::ingest::spill::Spillway::new(Some(stack.spillway_queue_url.clone()), queue)
            .with_deadline(roomy())
            .signed_with(callhooks_tests::spill_key());
    Store::new(aws_sdk_dynamodb::Client::new(&config), &stack.table_name).with_spillway(spillway)
}

// ---------------------------------------------------------------- Retell

/// Retell's `call_ended` of a two-hour call, about `len` bytes: the
/// transcript as text, as utterances with word timings, and again with
/// tool calls. Returns the body and its transcript text.
fn retell_call_ended(call_id: &str, len: usize) -> (String, String) {
    let mut utterances = Vec::new();
    let mut size = 0;
    let mut second = 0.0_f64;
    while size < len * 2 / 5 {
        let words: Vec<String> = (0..12)
            .map(|w| {
                second += 0.31;
                format!(
                    r#"{{"word":"wörd{w}","start":{:.3},"end":{:.3}}}"#,
                    second,
                    second + 0.25
                )
            })
            .collect();
        let utterance = format!(
            r#"{{"role":"{}","content":"turn {} of a long call, Zoë \"quoted\" 山田","words":[{}]}}"#,
            if utterances.len() % 2 == 0 {
                "agent"
            } else {
                "user"
            },
            utterances.len(),
            words.join(",")
        );
        size += utterance.len() + 1;
        utterances.push(utterance);
    }
    let object = utterances.join(",");
    let mut transcript = String::new();
    let mut turn = 0;
    while transcript.len() < len.saturating_sub(2 * object.len()) {
        let who = if turn % 2 == 0 { "Agent" } else { "User" };
        transcript.push_str(&format!("{who}: turn {turn}, Grüße 😀\\n"));
        turn += 1;
    }
    let body = format!(
        r#"{{"event":"call_ended","call":{{"call_id":"{call_id}","call_type":"phone_call","direction":"inbound","from_number":"{CALLER}","to_number":"{OURS}","agent_id":"agent_vip","call_status":"ended","start_timestamp":{},"end_timestamp":{},"duration_ms":7200000,"disconnection_reason":"user_hangup","transcript":"{transcript}","transcript_object":[{object}],"transcript_with_tool_calls":[{object}],"recording_url":"https://retellai.example/r.wav"}}}}"#,
        T0_MS - 7_200_000,
        T0_MS
    );
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    let transcript = parsed["call"]["transcript"].as_str().unwrap().to_string();
    (body, transcript)
}

fn retell_deps(store: Store) -> callhooks::routes::retell::RetellDeps {
    callhooks::routes::retell::RetellDeps {
        store: store.clone(),
        key: SigningKey::new(Some(KEY)),
        retention_days: 30,
        deadline: Deadline::CALLER_WAITING,
        events_store: store,
        events_deadline: roomy(),
        config_cache: callhooks::config_cache::NumberConfigCache::new(Duration::from_secs(30)),
    }
}

async fn post_retell_event(
    deps: &callhooks::routes::retell::RetellDeps,
    body: &str,
) -> (u16, serde_json::Value) {
    let signature = sign(KEY.as_bytes(), body.as_bytes(), T0_MS);
    let req = api_request(
        "POST",
        "/retell/events",
        &[
            ("content-type", "application/json"),
            ("x-retell-signature", &signature),
        ],
        Some(body),
        false,
    );
    let options = callhooks::routes::retell::Options::default();
    answer(&callhooks::routes::retell::handle_with(deps, &options, req, now()).await)
}

/// The call's event of `kind`, its raw body put back together.
async fn event_of(store: &Store, provider: Provider, call_id: &str, kind: &str) -> Item {
    let events = store
        .conversation_events(Channel::Call, provider, call_id)
        .await
        .unwrap();
    events
        .into_iter()
        .find(|e| attr(e, "kind") == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} event of {call_id}"))
}

async fn assert_retell_kept_whole(stack: &TestStack, call_id: &str, body: &str, transcript: &str) {
    let event = event_of(&stack.store(), Provider::Retell, call_id, "call_ended").await;
    let raw = attr(&event, "raw").expect("the raw body, reassembled");
    assert_eq!(raw.len(), body.len());
    assert!(raw == body, "the raw body differs from what Retell sent");
    let stored: serde_json::Value = serde_json::from_str(raw).unwrap();
    assert!(stored["call"]["transcript"].as_str() == Some(transcript));
    let summary = stack
        .store()
        .call_summary(Provider::Retell, call_id)
        .await
        .unwrap()
        .unwrap();
    assert!(summary.ended_at.is_some(), "the call is recorded as ended");
}

#[tokio::test]
async fn a_two_hour_retell_call_ended_of_2_4_mb_is_kept_whole() {
    let stack = TestStack::new().await;
    let (body, transcript) = retell_call_ended("call_two_hours", 2_400_000);
    assert!(
        body.len() >= 2_400_000 && body.len() < 2_500_000,
        "{}",
        body.len()
    );
    assert!(body.len() > 2 * 1024 * 1024, "over the old 2 MiB limit");
    let deps = retell_deps(store_with(&stack, roomy()).await);
    let (status, reply) = post_retell_event(&deps, &body).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("recorded")));
    assert_retell_kept_whole(&stack, "call_two_hours", &body, &transcript).await;
    // Retell's retry of the same bytes: one event still.
    let (status, reply) = post_retell_event(&deps, &body).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("duplicate")));
    let counts = stack.count_by_type().await;
    assert_eq!(counts.get("call_event"), Some(&1), "{counts:?}");
}

#[tokio::test]
async fn a_2_4_mb_retell_call_ended_spilled_while_the_table_is_down_is_kept_whole() {
    let stack = TestStack::new().await;
    let (body, transcript) = retell_call_ended("call_spilled", 2_400_000);
    let deps = retell_deps(table_down(&stack).await);
    let (status, reply) = post_retell_event(&deps, &body).await;
    assert_eq!((status, reply["status"].as_str()), (200, Some("spilled")));
    assert!(stack.all_items().await.is_empty());
    let messages = stack
        .drain_spillway_into(store_with(&stack, roomy()).await)
        .await;
    assert_eq!(
        messages,
        body.len()
            .div_ceil(callhooks::ingest::spill::PART_BODY_BYTES)
    );
    assert_retell_kept_whole(&stack, "call_spilled", &body, &transcript).await;
}

// ---------------------------------------------------------------- Salpre

/// A Salpre `call_ended` whose final transcript is at least `min_bytes`.
fn salpre_call_ended(call_id: u32, min_bytes: usize) -> (String, String) {
    let mut transcript = String::from("[");
    let mut turn = 0;
    while transcript.len() < min_bytes {
        if turn > 0 {
            transcript.push(',');
        }
        let speaker = if turn % 2 == 0 { "ai" } else { "customer" };
        transcript.push_str(&format!(
            r#"{{"type":"{speaker}","message":"turn {turn}: Zoë says \"hi\" \u00e9 山田 🚀 {}","utc_timestamp":"{}"}}"#,
            "lorem ipsum ".repeat(turn % 40),
            T0_MS / 1000 + turn as i64
        ));
        turn += 1;
    }
    transcript.push(']');
    let body = format!(
        r#"{{"event_type":"call_ended","timestamp_utc":{},"payload":{{"call_id":{call_id},"from":"{CALLER}","to":"{OURS}","direction":"inbound","transcript":{transcript}}},"is_test":false}}"#,
        T0_MS / 1000
    );
    (body, transcript)
}

fn salpre_deps(store: Store) -> callhooks::webhook::WebhookDeps {
    callhooks::webhook::WebhookDeps {
        store,
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: roomy(),
    }
}

async fn assert_salpre_kept_whole(stack: &TestStack, call_id: &str, body: &str, transcript: &str) {
    let store = stack.store();
    let read = store
        .final_transcript(Provider::Salpre, call_id)
        .await
        .unwrap()
        .expect("the final transcript");
    assert_eq!(read.len(), transcript.len());
    assert!(
        read == transcript,
        "the transcript differs from what was sent"
    );
    let event = event_of(&store, Provider::Salpre, call_id, "call_ended").await;
    assert!(attr(&event, "raw") == Some(body), "the raw body differs");
}

#[tokio::test]
async fn a_5_mb_salpre_transcript_is_kept_whole_directly_and_through_the_spillway() {
    let stack = TestStack::new().await;
    let (body, transcript) = salpre_call_ended(501, 5_000_000);
    assert!(body.len() > 5_000_000 && body.len() < callhooks::http::MAX_BODY_BYTES);
    let direct = salpre_deps(store_with(&stack, roomy()).await);
    let (status, reply) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &direct,
            salpre(&body),
            now(),
        )
        .await,
    );
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("recorded")),
        "{reply}"
    );
    assert_salpre_kept_whole(&stack, "501", &body, &transcript).await;

    // The same size while the table is down: spilled in as many messages
    // as it needs, then drained into the table whole.
    let (body, transcript) = salpre_call_ended(502, 5_000_000);
    let spilling = salpre_deps(table_down(&stack).await);
    let (status, reply) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &spilling,
            salpre(&body),
            now(),
        )
        .await,
    );
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("spilled")),
        "{reply}"
    );
    let messages = stack
        .drain_spillway_into(store_with(&stack, roomy()).await)
        .await;
    assert!(messages > 30, "{messages} messages");
    assert_salpre_kept_whole(&stack, "502", &body, &transcript).await;
}

fn salpre(body: &str) -> lambda_http::Request {
    api_request(
        "POST",
        "/salpre/events",
        &[("content-type", "application/json")],
        Some(body),
        false,
    )
}

#[tokio::test]
async fn only_a_body_over_the_platforms_limit_is_refused() {
    let stack = TestStack::new().await;
    let deps = salpre_deps(stack.store());
    let limit = callhooks::http::MAX_BODY_BYTES;
    let over = format!(r#"{{"event_type":"x","pad":"{}"}}"#, "a".repeat(limit));
    let (status, reply) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &deps,
            salpre(&over),
            now(),
        )
        .await,
    );
    assert_eq!(status, 413, "{reply}");
    assert_eq!(reply["error"]["code"], "payload_too_large");
    // A binary body counts at its base64 size, as API Gateway hands it over:
    // 4.6 MB of bytes are 6.1 MB of base64.
    let binary = vec![0xFFu8; limit / 4 * 3 + 3];
    let encoded = base64::engine::general_purpose::STANDARD.encode(&binary);
    let req = api_request(
        "POST",
        "/salpre/events",
        &[("content-type", "application/octet-stream")],
        Some(&encoded),
        true,
    );
    let (status, _) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &deps,
            req,
            now(),
        )
        .await,
    );
    assert_eq!(status, 413);
    assert!(
        stack.all_items().await.is_empty(),
        "nothing refused is stored"
    );
}

// ------------------------------------------------------------- encodings

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A body as API Gateway hands it over: text as it is, anything that is not
/// UTF-8 in base64, flagged so.
fn request(path: &str, headers: &[(&str, &str)], body: &[u8]) -> lambda_http::Request {
    match std::str::from_utf8(body) {
        Ok(text) => api_request("POST", path, headers, Some(text), false),
        Err(_) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(body);
            api_request("POST", path, headers, Some(&encoded), true)
        }
    }
}

fn zonitel_deps(stack: &TestStack) -> callhooks::webhook::WebhookDeps {
    callhooks::webhook::WebhookDeps {
        store: stack.store(),
        secret: SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    }
}

const ZONITEL_LATIN1: &[u8] = b"{\"caller_id_name\": \"Jos\xe9 M\xfcller\", \"caller_id_number\": \"+14155552671\", \"destination_number\": \"+18339664835\"}";

#[tokio::test]
async fn gzip_and_latin1_zonitel_calls_are_read_as_their_calls() {
    let stack = TestStack::new().await;
    let deps = zonitel_deps(&stack);
    let utf8 = r#"{"caller_id_name": "José Müller", "caller_id_number": "+14155552671", "destination_number": "+18339664835"}"#;
    let cases = [
        (
            "gzip",
            vec![
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            gzip(utf8.as_bytes()),
            "Content-Encoding gzip",
        ),
        (
            "deflate",
            vec![
                ("content-type", "application/json"),
                ("content-encoding", "deflate"),
            ],
            deflate(utf8.as_bytes()),
            "Content-Encoding deflate",
        ),
        (
            "latin-1",
            vec![("content-type", "application/json; charset=ISO-8859-1")],
            ZONITEL_LATIN1.to_vec(),
            "charset ISO-8859-1",
        ),
        (
            "gzip of windows-1252",
            vec![
                ("content-type", "application/json; charset=windows-1252"),
                ("content-encoding", "gzip"),
            ],
            gzip(ZONITEL_LATIN1),
            "Content-Encoding gzip; charset windows-1252",
        ),
    ];
    for (index, (case, headers, body, decoded_from)) in cases.into_iter().enumerate() {
        // A minute apart: the same caller calling again, not a retry.
        let at = Timestamp::from_millisecond(T0_MS + 120_000 * index as i64).unwrap();
        let req = request("/zonitel/calls", &headers, &body);
        let (status, reply) = answer(
            &callhooks::ingest::edge::handle_json(
                callhooks::route_table::Route::ZonitelCall,
                &deps,
                req,
                at,
            )
            .await,
        );
        assert_eq!(
            (status, reply["status"].as_str()),
            (200, Some("recorded")),
            "{case}: {reply}"
        );
        let call_id = reply["call_id"].as_str().unwrap().to_string();
        let summary = stack
            .store()
            .call_summary(Provider::Zonitel, &call_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            summary.caller_name.as_deref(),
            Some("José Müller"),
            "{case}"
        );
        let event = event_of(&stack.store(), Provider::Zonitel, &call_id, "incoming_call").await;
        // The stored raw body is the decoded text, the decoding named.
        let raw: serde_json::Value = serde_json::from_str(attr(&event, "raw").unwrap()).unwrap();
        assert_eq!(raw["caller_id_name"], "José Müller", "{case}");
        assert_eq!(
            attr(&event, DECODED_FROM_ATTRIBUTE),
            Some(decoded_from),
            "{case}"
        );
    }
}

#[tokio::test]
async fn gzip_and_latin1_salpre_events_are_read_as_their_calls() {
    let stack = TestStack::new().await;
    let deps = salpre_deps(stack.store());
    let ended = |call_id: u32, name: &str| {
        format!(
            r#"{{"event_type":"call_ended","timestamp_utc":{},"payload":{{"call_id":{call_id},"from":"{CALLER}","to":"{OURS}","direction":"inbound","transcript":[{{"type":"customer","message":"Soy {name}, ¿qué tal?","utc_timestamp":"1795449000"}}]}}}}"#,
            T0_MS / 1000
        )
    };
    let text = ended(801, "José");
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode(&text);
    let cases = [
        (
            "801",
            vec![("content-type", "application/json; charset=iso-8859-1")],
            latin1.to_vec(),
            "charset iso-8859-1",
        ),
        (
            "802",
            vec![
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            gzip(ended(802, "José").as_bytes()),
            "Content-Encoding gzip",
        ),
    ];
    for (call_id, headers, body, decoded_from) in cases {
        let req = request("/salpre/events", &headers, &body);
        let (status, reply) = answer(
            &callhooks::ingest::edge::handle_json(
                callhooks::route_table::Route::SalpreEvents,
                &deps,
                req,
                now(),
            )
            .await,
        );
        assert_eq!(
            (status, reply["status"].as_str()),
            (200, Some("recorded")),
            "{call_id}: {reply}"
        );
        let transcript = stack
            .store()
            .final_transcript(Provider::Salpre, call_id)
            .await
            .unwrap()
            .unwrap();
        assert!(transcript.contains("Soy José, ¿qué tal?"), "{transcript}");
        let event = event_of(&stack.store(), Provider::Salpre, call_id, "call_ended").await;
        assert_eq!(attr(&event, DECODED_FROM_ATTRIBUTE), Some(decoded_from));
        let summary = stack
            .store()
            .call_summary(Provider::Salpre, call_id)
            .await
            .unwrap()
            .unwrap();
        assert!(!summary.is_missed(), "the customer spoke");
    }
}

#[tokio::test]
async fn a_decompression_bomb_is_kept_as_it_came_never_expanded() {
    let stack = TestStack::new().await;
    let deps = zonitel_deps(&stack);
    // 100 MiB of JSON padding in about 100 KB of gzip.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(br#"{"caller_id_name": ""#).unwrap();
    let block = vec![b' '; 1024 * 1024];
    for _ in 0..100 {
        encoder.write_all(&block).unwrap();
    }
    encoder.write_all(br#""}"#).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 300_000, "{}", bomb.len());
    let req = request(
        "/zonitel/calls",
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        &bomb,
    );
    let (status, reply) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::ZonitelCall,
            &deps,
            req,
            now(),
        )
        .await,
    );
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("unrecognized")),
        "{reply}"
    );
    let items = stack.all_items().await;
    let kept = items
        .iter()
        .find(|i| attr(i, "item_type") == Some("unrecognized"))
        .expect("kept as an unrecognized delivery");
    let reason = attr(kept, "reason").unwrap();
    assert!(reason.contains("decompresses to more than"), "{reason}");
    assert_eq!(kept["body_bytes"], callhooks::store::plan::n(bomb.len()));
}

// ------------------------------------------------- make dev's API front

/// Watch's invoke API, in this process: each invocation's event through
/// `lambda_http`'s own conversion (and the functions' base64 guard) into
/// the route's handler, its answer back as Lambda returns it. Returns the
/// endpoint.
async fn local_invoke_api(stack: &TestStack) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let zonitel = zonitel_deps(stack);
    let salpre = salpre_deps(stack.store());
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let (head, body) = read_http(&mut stream).await;
            let function = head
                .split_whitespace()
                .nth(1)
                .and_then(|path| path.strip_prefix("/2015-03-31/functions/"))
                .and_then(|rest| rest.strip_suffix("/invocations"))
                .unwrap_or("")
                .to_string();
            let req = callhooks_tests::event_request(std::str::from_utf8(&body).unwrap());
            let response = match function.as_str() {
                "zonitel-call" => {
                    callhooks::ingest::edge::handle_json(
                        callhooks::route_table::Route::ZonitelCall,
                        &zonitel,
                        req,
                        Timestamp::now(),
                    )
                    .await
                }
                "salpre-events" => {
                    callhooks::ingest::edge::handle_json(
                        callhooks::route_table::Route::SalpreEvents,
                        &salpre,
                        req,
                        Timestamp::now(),
                    )
                    .await
                }
                other => panic!("no function {other}"),
            };
            let headers: serde_json::Map<String, serde_json::Value> = response
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").into()))
                .collect();
            let answer = serde_json::json!({
                "statusCode": response.status().as_u16(),
                "headers": headers,
                "body": std::str::from_utf8(response.body().as_ref()).unwrap(),
                "isBase64Encoded": false,
            })
            .to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            use tokio::io::AsyncWriteExt;
            stream.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    endpoint
}

/// One HTTP/1.1 message: its head and its body (by Content-Length).
async fn read_http(stream: &mut tokio::net::TcpStream) -> (String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut data = Vec::new();
    let mut chunk = [0u8; 65536];
    let head_end = loop {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed mid-request");
        data.extend_from_slice(&chunk[..read]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "connection closed mid-body");
        data.extend_from_slice(&chunk[..read]);
    }
    (head, data[head_end..head_end + length].to_vec())
}

/// Sends one request to `port` and returns the status and JSON body.
async fn http_post(
    port: u16,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut request = format!(
        "POST {target} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).await.unwrap();
    let at = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&reply[..at]);
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_slice(&reply[at..]).unwrap_or_default(),
    )
}

/// `make dev`'s front (scripts/api_gateway.py) hands a gzip body and a
/// Latin-1 body to the function as API Gateway does (base64), so they are
/// read as their calls locally too; cargo lambda watch's own router answers
/// both 500 before the function runs.
#[tokio::test]
async fn make_devs_api_front_hands_the_function_any_body_api_gateway_would() {
    let stack = TestStack::new().await;
    let watch = local_invoke_api(&stack).await;
    let mut front = std::process::Command::new(callhooks_tests::python())
        .arg(callhooks_tests::project_root().join("scripts/api_gateway.py"))
        .args(["serve", "--port", "0", "--watch", &watch])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start scripts/api_gateway.py");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(front.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let port: u16 = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("api_gateway.py said {line:?}"));

    let utf8 = r#"{"caller_id_name": "José Müller", "caller_id_number": "+14155552671", "destination_number": "+18339664835"}"#;
    let gzip_json = [
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
    ];
    let latin1_json = [("content-type", "application/json; charset=ISO-8859-1")];
    let (status, reply) =
        http_post(port, "/zonitel/calls", &gzip_json, &gzip(utf8.as_bytes())).await;
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("recorded")),
        "{reply}"
    );
    let (status, reply) = http_post(port, "/zonitel/calls/", &latin1_json, ZONITEL_LATIN1).await;
    // The same caller again at once: a retry of the call within its window.
    assert_eq!(status, 200, "{reply}");
    let (latin1, _, _) = encoding_rs::WINDOWS_1252
        .encode(r#"{"event_type":"call_ringing","timestamp_utc":1795449000,"payload":{"from":"+14155552671","to":"+18339664835","direction":"inbound","call_id":"Müller-1"}}"#);
    let (status, reply) = http_post(port, "/salpre/events", &latin1_json, &latin1).await;
    assert_eq!(
        (status, reply["status"].as_str()),
        (200, Some("recorded")),
        "{reply}"
    );
    assert!(stack
        .store()
        .call_summary(Provider::Salpre, "Müller-1")
        .await
        .unwrap()
        .is_some());
    // Unknown routes are API Gateway's 404.
    let (status, reply) = http_post(port, "/nowhere", &[], b"{}").await;
    assert_eq!(
        (status, reply["message"].as_str()),
        (404, Some("Not Found"))
    );
    front.kill().unwrap();
    front.wait().unwrap();
}
