//! `callhooks console` end to end: deliveries through the webhook functions'
//! handlers into moto, the table's stream through the alerts function (its
//! alerts and the per-day counters), then the built binary serving the
//! console, checked over raw HTTP (who may use it) and in headless Chromium
//! (cli/tests/console_browser.mjs: every page, the filters, the dry run, an
//! edit, a replay, hostile text, 390 px).

use aws_lambda_events::event::dynamodb::Event;
use callhooks::alerts::delivery::{AlertDispatch, Clock, Delivered};
use callhooks::alerts::ledger::{Ledger, MAX_PUBLISH_ATTEMPTS};
use callhooks::alerts::stream::{AlertStreamDeps, SnsPublisher, SqsDeadLetters};
use callhooks::alerts::Alert;
use callhooks::auth::SharedSecret;
use callhooks::config::{parse_document, Contact, NumberConfig};
use callhooks::runtime::Deadline;
use callhooks::time::{self, Timestamp};
use callhooks_tests::{answer, post_json, project_root, sdk_config_for, TestStack};
use lambda_http::http::HeaderValue;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

const TOKEN: &str = "console-test-token";
const HOSTILE_NAME: &str =
    "<script>alert(1)</script><img src=x onerror=alert(2)> \u{202e}evil\u{1b}[2J";

fn authorized(mut req: lambda_http::Request) -> lambda_http::Request {
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap(),
    );
    req
}

fn salpre(kind: &str, call_id: u64, at: Timestamp) -> lambda_http::Request {
    let call = json!({"from": "+14155550101", "to": "+18339664835", "direction": "inbound"});
    let body = if kind == "error" {
        let mut call = call.clone();
        call["id"] = json!(call_id);
        json!({"event_type": "error", "timestamp_utc": at.as_second(),
               "payload": {"call": call, "error_message": "SIP 503 from carrier"}, "is_test": false})
    } else {
        let mut payload = call.clone();
        payload["call_id"] = json!(call_id);
        json!({"event_type": kind, "timestamp_utc": at.as_second(), "payload": payload, "is_test": false})
    };
    authorized(post_json("/salpre/events", &body.to_string()))
}

/// The table's stream records from `skip` on, through the alerts function
/// (alerts published, counters added); how many records there were.
async fn pump(stack: &TestStack, deps: &AlertStreamDeps, skip: usize) -> usize {
    let mut event: Event = serde_json::from_slice(&callhooks_tests::stream_records(stack)).unwrap();
    let total = event.records.len();
    event.records.drain(..skip.min(total));
    let response = callhooks::alerts::stream::handle(deps, event, None).await;
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    total
}

/// One HTTP/1.1 exchange with the console: the status and the head.
fn raw_http(port: u16, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let head = reply.split("\r\n\r\n").next().unwrap_or("").to_string();
    (status, head)
}

struct Console {
    child: Child,
    url: String,
    port: u16,
    token: String,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_console(stack: &TestStack) -> Console {
    let mut child = Command::new(env!("CARGO_BIN_EXE_callhooks"))
        .args(["console", "--port", "0"])
        .current_dir(project_root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TZ", "America/Los_Angeles")
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("TABLE_NAME", &stack.table_name)
        .env("ALERTS_TOPIC_ARN", &stack.topic_arn)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start callhooks console");
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("first line is not the URL: {first:?}"));
    let (port, token) = rest.split_once("/?token=").unwrap();
    Console {
        port: port.parse().unwrap(),
        token: token.to_string(),
        url,
        child,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_in_a_browser() {
    let stack = TestStack::new().await;
    let store = stack.store();
    let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name(format!("{}-console", stack.table_name))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    aws_sdk_sns::Client::new(&config)
        .subscribe()
        .topic_arn(&stack.topic_arn)
        .protocol("sqs")
        .endpoint(format!(
            "arn:aws:sqs:us-east-1:123456789012:{}-console",
            stack.table_name
        ))
        .send()
        .await
        .unwrap();

    // Configuration, as `numbers put` and `contacts put` would store it.
    let read = |name: &str| std::fs::read_to_string(project_root().join(name)).unwrap();
    let number: NumberConfig = parse_document(&read("examples/number.json")).unwrap();
    let contact: Contact = parse_document(&read("examples/contact.json")).unwrap();
    store.put_number_config(&number).await.unwrap();
    store.put_contact(&contact).await.unwrap();

    // Deliveries through the functions.
    let secret = || SharedSecret::new(Some(TOKEN));
    let deadline = Deadline::FIVE_SECOND_PROVIDER;
    let salpre_deps = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: secret(),
        retention_days: 30,
        deadline,
    };
    let zonitel = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: secret(),
        retention_days: 30,
        deadline,
    };
    let sms = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: secret(),
        retention_days: 30,
        deadline,
    };
    let now = Timestamp::now();
    let ago = |mins: i64| now - jiff::SignedDuration::from_mins(mins);
    for (request, at) in [
        (salpre("call_initiated", 5001, ago(20)), ago(20)),
        (salpre("call_ended", 5001, ago(19)), ago(19)),
        (salpre("error", 5002, ago(15)), ago(15)),
    ] {
        let (status, body) = answer(
            &callhooks::ingest::edge::handle_json(
                callhooks::route_table::Route::SalpreEvents,
                &salpre_deps,
                request,
                at,
            )
            .await,
        );
        assert_eq!(status, 200, "{body}");
    }
    let hostile = json!({"caller_id_name": HOSTILE_NAME, "caller_id_number": "+14155552671",
                         "destination_number": "+18339664835"});
    let request = authorized(post_json("/zonitel/calls", &hostile.to_string()));
    let (status, body) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::ZonitelCall,
            &zonitel,
            request,
            ago(10),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    let hostile_call = format!("zonitel/{}", body["call_id"].as_str().unwrap());
    let failed_sms = json!({"status": "failed", "message": "destination unreachable <b>x</b>",
        "data": {"id": "sms-1", "direction": "outbound", "messageText": "Hi \u{202e}there <i>", "from": "+18339664835", "to": "+14155552671"}});
    let request = authorized(post_json("/zonitel/sms", &failed_sms.to_string()));
    let (status, body) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::ZonitelSms,
            &sms,
            request,
            ago(5),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");
    // A body no reader understands: kept as an unrecognized delivery.
    let request = authorized(post_json(
        "/salpre/events",
        "</pre><script>alert(3)</script> \u{202e}not json",
    ));
    let (status, body) = answer(
        &callhooks::ingest::edge::handle_json(
            callhooks::route_table::Route::SalpreEvents,
            &salpre_deps,
            request,
            ago(4),
        )
        .await,
    );
    assert_eq!(status, 200, "{body}");

    // The stream: alerts published, then the ledger's new entries counted.
    let deps = AlertStreamDeps {
        publisher: SnsPublisher {
            sns: aws_sdk_sns::Client::new(&config),
            topic_arn: stack.topic_arn.clone(),
        },
        ledger: Ledger::new(store.clone(), 30),
        dead_letters: None::<SqsDeadLetters>,
        labels: None,
        clock: Clock::default(),
    };
    let first = pump(&stack, &deps, 0).await;
    pump(&stack, &deps, first).await;
    // One alert that could not be published, for the replay.
    let broken = SnsPublisher {
        sns: aws_sdk_sns::Client::new(&config),
        topic_arn: format!("{}-gone", stack.topic_arn),
    };
    let failed: Alert = serde_json::from_value(json!({
        "alert_type": "call_error", "provider": "salpre", "call_id": "5002",
        "from": "+14155550101", "to": "+18339664835", "direction": "inbound",
        "occurred_at": time::to_key(ago(3)),
    }))
    .unwrap();
    let dispatch = AlertDispatch {
        ledger: &deps.ledger,
        publisher: &broken,
        dead_letters: None::<&SqsDeadLetters>,
        clock: Clock::default(),
        deadline: None,
    };
    for _ in 1..MAX_PUBLISH_ATTEMPTS {
        assert!(dispatch.deliver(&failed).await.is_err());
    }
    assert!(matches!(
        dispatch.deliver(&failed).await.unwrap(),
        Delivered::KeptFailed { .. }
    ));
    let published = callhooks_tests::take_json_messages(&sqs, &queue).await;
    assert_eq!(published.len(), 3, "missed call, call error, failed SMS");

    let console = start_console(&stack);
    let port = console.port;

    // Who may talk to it.
    let (status, _) = raw_http(
        port,
        &format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 403, "no token");
    let (status, _) = raw_http(
        port,
        &format!(
            "GET /?token={} HTTP/1.1\r\nHost: rebound.example:{port}\r\nConnection: close\r\n\r\n",
            console.token
        ),
    );
    assert_eq!(status, 421, "a rebound name");
    let (status, head) = raw_http(
        port,
        &format!(
            "GET /?token={} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n",
            console.token
        ),
    );
    assert_eq!(status, 303);
    assert!(head.contains("HttpOnly; SameSite=Strict"), "{head}");
    let cookie = format!("callhooks_console_{port}={}", console.token);
    let (status, head) = raw_http(port, &format!("GET /calls HTTP/1.1\r\nHost: localhost:{port}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"));
    assert_eq!(status, 200);
    assert!(
        head.contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    let form = format!("pk=x&sk=y&csrf={}", console.token);
    for (origin, body, why) in [
        ("http://evil.example", form.as_str(), "another origin"),
        (
            &format!("http://127.0.0.1:{port}") as &str,
            "pk=x&sk=y",
            "no form token",
        ),
    ] {
        let request = format!("POST /alerts/replay HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nOrigin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        assert_eq!(raw_http(port, &request).0, 403, "{why}");
    }
    assert!(callhooks_tests::take_json_messages(&sqs, &queue)
        .await
        .is_empty());

    // The pages in Chromium.
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        std::path::Path::new(&chromium).exists(),
        "{chromium} is missing: `make test` installs it (scripts/chromium.sh)"
    );
    let shots = std::env::var("CONSOLE_SCREENSHOTS").unwrap_or_else(|_| {
        project_root()
            .join("target/console-screenshots")
            .display()
            .to_string()
    });
    let expect = json!({
        "calls": 3, "missed": 1, "caller": "+14155550101", "caller_calls": 2,
        "hostile_call": hostile_call, "transcript_call": "salpre/5001",
        "contact": "+12137771234", "number": "+12137771235",
    });
    let url = console.url.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("--experimental-websocket")
            .arg(project_root().join("cli/tests/console_browser.mjs"))
            .args([&url, &shots])
            .env("CONSOLE_EXPECT", expect.to_string())
            .env("CHROMIUM", chromium)
            .output()
            .expect("run node")
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    println!("{printed}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "browser checks failed:\n{printed}");

    // The replay confirmed in the browser published the failed alert once.
    let replayed = callhooks_tests::take_json_messages(&sqs, &queue).await;
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    let message: Value = serde_json::from_str(replayed[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(message["alert_id"], failed.alert_id());
    assert_eq!(message["replayed"], true);
    // The edit went through `numbers put`'s validation into the table.
    let edited = store.number_config(&number.number).await.unwrap().unwrap();
    assert_eq!(edited.label.as_deref(), Some("Front desk (edited)"));
}
