//! `make bench-console`: each console page's time with 10,000 calls in the
//! table, against moto on this machine. The calls are call summaries as the
//! webhooks store them (keys from `store::keys`, items from `store::plan`'s
//! helpers), spread over 30 days, 4 providers, 5 of our numbers and 400
//! callers; the overview's counters come from those same summaries through
//! `daily_counts` (the code the alerts function runs on the stream). Then
//! the built `callhooks console` is started and every page is fetched
//! `RUNS` times; the table gives the median and the worst, and the read
//! units the page reports. BENCH_CALLS changes the number of calls.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use callhooks::daily_counts::{aggregate, increments_for_record};
use callhooks::event::{Channel, Provider};
use callhooks::phone::PhoneNumber;
use callhooks::store::keys;
use callhooks::store::plan::{s, Item};
use callhooks::time::{self, Timestamp};
use callhooks_tests::{project_root, TestStack};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Instant;

const RUNS: usize = 7;
const PROVIDERS: [Provider; 4] = [
    Provider::Zonitel,
    Provider::Salpre,
    Provider::Voxtelesys,
    Provider::Retell,
];
const OURS: [&str; 5] = [
    "+18339664835",
    "+18339664836",
    "+18339664837",
    "+12137771235",
    "+12137771236",
];

/// A call summary as the webhooks leave it: identity, phases, the three
/// index keys.
fn summary(i: usize, now: Timestamp) -> Item {
    let provider = PROVIDERS[i % 4];
    let to = OURS[i % 5];
    let from = format!("+1415555{:04}", i % 400);
    // Spread over 30 days, a call every ~4 minutes.
    let at = now - jiff::SignedDuration::from_secs((i as i64 * 259) % (30 * 86_400));
    let first = time::to_key(at);
    let call_id = format!("bench-{i}");
    let sk = keys::timeline_sk(&first, Channel::Call, provider, &call_id);
    let phone = |n: &str| keys::phone_pk(&PhoneNumber::read(n).unwrap());
    let mut item = Item::from([
        (
            keys::PK.to_string(),
            s(keys::conversation_pk(Channel::Call, provider, &call_id)),
        ),
        (keys::SK.to_string(), s(keys::SUMMARY_SK)),
        (keys::ITEM_TYPE.to_string(), s("call")),
        ("provider".to_string(), s(provider.as_str())),
        ("call_id".to_string(), s(&call_id)),
        ("direction".to_string(), s("inbound")),
        ("from".to_string(), s(&from)),
        ("to".to_string(), s(to)),
        ("caller_name".to_string(), s(format!("Caller {}", i % 400))),
        ("first_seen_at".to_string(), s(&first)),
        ("ringing_at".to_string(), s(&first)),
        ("event_count".to_string(), callhooks::store::plan::n(2)),
        (keys::GSI1PK.to_string(), s(phone(&from))),
        (keys::GSI1SK.to_string(), s(&sk)),
        (keys::GSI2PK.to_string(), s(phone(to))),
        (keys::GSI2SK.to_string(), s(&sk)),
        (keys::GSI3PK.to_string(), s(keys::day_pk(&first))),
        (keys::GSI3SK.to_string(), s(&sk)),
    ]);
    let later = |secs: i64| time::to_key(at + jiff::SignedDuration::from_secs(secs));
    match i % 10 {
        0..=5 => {
            item.insert("answered_at".into(), s(later(3 + (i % 25) as i64)));
            item.insert("ended_at".into(), s(later(120)));
        }
        6..=8 => {
            item.insert("unanswered_at".into(), s(later(30)));
            item.insert("ended_at".into(), s(later(30)));
        }
        _ => {
            item.insert("failed_at".into(), s(later(2)));
        }
    }
    item
}

fn get(port: u16, cookie: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, reply)
}

/// The page's own account of what it read (`<p id="cost">`).
fn reads_line(page: &str) -> String {
    page.split("<p class=\"empty\" id=\"cost\">")
        .nth(1)
        .and_then(|rest| rest.split(" in ").next())
        .unwrap_or("")
        .to_string()
}

#[tokio::main]
async fn main() {
    let calls: usize = std::env::var("BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let stack = TestStack::new().await;
    let client = stack.dynamodb();
    let now = Timestamp::now();
    let started = Instant::now();
    let items: Vec<Item> = (0..calls).map(|i| summary(i, now)).collect();
    for chunk in items.chunks(25) {
        let requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(callhooks::store::sdk::to_sdk_item(item)))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        let mut pending = Some(requests);
        while let Some(batch) = pending.take().filter(|b| !b.is_empty()) {
            let out = client
                .batch_write_item()
                .request_items(&stack.table_name, batch)
                .send()
                .await
                .unwrap();
            pending = out
                .unprocessed_items
                .and_then(|mut m| m.remove(&stack.table_name));
        }
    }
    // The counters, as the stream consumer would add them (one batch per day).
    let images: Vec<serde_dynamo::Item> = items
        .iter()
        .map(|item| serde_dynamo::Item::from(callhooks::store::sdk::to_sdk_item(item)))
        .collect();
    let empty = serde_dynamo::Item::default();
    let counts = aggregate(
        images
            .iter()
            .filter_map(|image| increments_for_record("INSERT", &empty, image)),
    );
    let store = stack.store();
    store.add_daily_counts("bench", &counts).await.unwrap();
    eprintln!(
        "loaded {calls} calls and {} counter items in {:.1} s",
        counts.len(),
        started.elapsed().as_secs_f64()
    );

    let binary = project_root().join("target/debug/callhooks");
    let mut child = Command::new(&binary)
        .args(["console", "--port", "0"])
        .env("AWS_ENDPOINT_URL", &stack.endpoint)
        .env("TABLE_NAME", &stack.table_name)
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (cargo build -p callhooks-cli first)",
                binary.display()
            )
        });
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let rest = first.trim().strip_prefix("http://127.0.0.1:").unwrap();
    let (port, token) = rest.split_once("/?token=").unwrap();
    let port: u16 = port.parse().unwrap();
    let cookie = format!("callhooks_console_{port}={token}");

    let caller = "+14155550007";
    let pages = [
        ("overview, 7 days", "/".to_string()),
        ("overview, 30 days", "/?days=30".to_string()),
        ("calls, newest 50", "/calls".to_string()),
        ("calls, missed", "/calls?outcome=missed".to_string()),
        (
            "calls, one provider, failed",
            "/calls?provider=retell&outcome=failed".to_string(),
        ),
        (
            "calls, our number",
            "/calls?number=%2B18339664835".to_string(),
        ),
        (
            "calls, a caller",
            format!("/calls?caller={}", caller.replace('+', "%2B")),
        ),
        ("a call", "/call/zonitel/bench-4".to_string()),
        ("a caller", format!("/caller/{caller}")),
        ("SMS", "/sms".to_string()),
        ("alerts, 7 days", "/alerts".to_string()),
        ("unrecognized", "/unrecognized".to_string()),
        ("numbers (the Scan)", "/numbers".to_string()),
        ("a number", "/numbers/%2B18339664835".to_string()),
        (
            "dry run",
            "/dry-run?from=%2B14155550007&to=%2B18339664835".to_string(),
        ),
    ];
    println!("| page ({calls} calls) | median ms | worst ms | what it read |");
    println!("| --- | ---: | ---: | --- |");
    // The floor: one request of each kind straight to moto.
    let ours = PhoneNumber::read(OURS[0]).unwrap();
    for (name, query) in [
        ("moto alone: one GetItem", false),
        ("moto alone: one Query of an empty partition", true),
    ] {
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            if query {
                store.query_prefix("NOTHING#here", "X").await.unwrap();
            } else {
                store.number_config(&ours).await.unwrap();
            }
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {name} | {:.0} | {:.0} | |",
            times[RUNS / 2],
            times[RUNS - 1]
        );
    }
    for (name, path) in pages {
        let mut times = Vec::new();
        let mut last = String::new();
        for _ in 0..RUNS {
            let t = Instant::now();
            let (status, page) = get(port, &cookie, &path);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{path}: {}", &page[..page.len().min(400)]);
            last = page;
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {name} | {:.0} | {:.0} | {} |",
            times[RUNS / 2],
            times[RUNS - 1],
            reads_line(&last)
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}
