//! `make bench`, part 2: the per-event work of every webhook without the
//! network. From the API Gateway event's JSON (as the runtime hands it over)
//! to the WritePlan: build the request, verify its credential, parse the
//! provider's payload, normalize it and plan the write. Criterion gives the
//! estimates; a plain loop of single timed events gives the median and p99,
//! written to bench-results/per-event.md.

use callhooks::auth::SharedSecret;
use callhooks::ingest::edge::{accept, Credentials};
use callhooks::ingest::read::read;
use callhooks::ingest::Route;
use callhooks::providers::retell;
use callhooks::providers::twilio::signature::{self as twilio_signature, AuthToken};
use callhooks::signature::{self, SigningKey};
use callhooks::time::Timestamp;
use criterion::Criterion;
use lambda_http::request::LambdaRequest;
use lambda_http::{Request, RequestExt};
use serde_json::Value;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

const TOKEN: &str = "bench-token";
const RETELL_KEY: &str = "bench-retell-key";
const TWILIO_TOKEN: &str = "bench-twilio-token";
const RETENTION_DAYS: u32 = 400;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An event file with the credential its provider sends added.
fn event(file: &str, now: Timestamp) -> Vec<u8> {
    let text = std::fs::read_to_string(root().join("events").join(file)).expect("event file");
    let mut event: Value = serde_json::from_str(&text).expect("event JSON");
    let credential = if file.starts_with("retell") {
        let body = event["body"].as_str().unwrap_or("").as_bytes();
        let value = signature::sign(RETELL_KEY.as_bytes(), body, now.as_millisecond());
        (signature::SIGNATURE_HEADER.to_string(), value)
    } else if file.starts_with("twilio") {
        // Signed as Twilio signs: the URL the function computes from the
        // sample's loopback Host (http), then a POST's sorted parameters.
        let host = event["headers"]["host"].as_str().unwrap_or("localhost");
        let path = event["rawPath"].as_str().unwrap_or("");
        let query = event["rawQueryString"].as_str().unwrap_or("");
        let mut url = format!("http://{host}{path}");
        if !query.is_empty() {
            url = format!("{url}?{query}");
        }
        let is_post = event["requestContext"]["http"]["method"] == "POST";
        let body = event["body"].as_str().unwrap_or("").as_bytes();
        let params = if is_post {
            twilio_signature::form_params(body)
        } else {
            Vec::new()
        };
        let value = twilio_signature::sign(TWILIO_TOKEN, &url, &params);
        (twilio_signature::SIGNATURE_HEADER.to_string(), value)
    } else {
        ("authorization".to_string(), format!("Bearer {TOKEN}"))
    };
    event["headers"][credential.0] = Value::String(credential.1);
    serde_json::to_vec(&event).expect("JSON")
}

/// What the runtime does with each event before the handler sees it.
fn request(event: &[u8]) -> Request {
    let lambda: LambdaRequest = serde_json::from_slice(event).expect("API Gateway event");
    lambda.into()
}

type Work = fn(&[u8], Timestamp, &Keys) -> usize;

struct Keys {
    secret: SharedSecret,
    retell: SigningKey,
    twilio: AuthToken,
}

/// The shared pipeline, as the Zonitel, Salpre and Voxtelesys functions
/// run it: accept (method, credential, size) into a plain delivery, then
/// the route's reader normalizes it and plans the write.
fn pipeline(event: &[u8], now: Timestamp, keys: &Keys) -> usize {
    let req = request(event);
    let route = Route::of_path(req.raw_http_path()).unwrap();
    let (delivery, _) = accept(&req, route, Credentials::Token(&keys.secret), now).unwrap();
    read(&delivery, RETENTION_DAYS).unwrap().plan.action_count()
}

/// The Twilio function's steps before its answer: accept (signature over
/// the URL and parameters, method, size), then read and plan.
fn twilio(event: &[u8], now: Timestamp, keys: &Keys) -> usize {
    let req = request(event);
    let route = Route::of_path(req.raw_http_path()).unwrap();
    let credentials = Credentials::TwilioSignature {
        token: &keys.twilio,
        public_base: None,
    };
    let (delivery, _) = accept(&req, route, credentials, now).unwrap();
    read(&delivery, RETENTION_DAYS).unwrap().plan.action_count()
}

fn retell(event: &[u8], now: Timestamp, keys: &Keys) -> usize {
    let req = request(event);
    let body: &[u8] = req.body().as_ref();
    keys.retell
        .verify_request(
            callhooks::http::header_value(req.headers(), signature::SIGNATURE_HEADER),
            body,
            now,
        )
        .unwrap();
    let call = retell::parse_inbound(body).unwrap();
    let event = retell::inbound_event(&call, std::str::from_utf8(body).unwrap(), now);
    retell::inbound_plan(&event, &call, RETENTION_DAYS, None).action_count()
}

const CASES: &[(&str, Work)] = &[
    ("zonitel-call.json", pipeline),
    ("zonitel-sms-inbound.json", pipeline),
    ("zonitel-sms-delivered.json", pipeline),
    ("zonitel-sms-failed.json", pipeline),
    ("salpre-call_initiated.json", pipeline),
    ("salpre-call_ringing.json", pipeline),
    ("salpre-call_answered.json", pipeline),
    ("salpre-call_ended.json", pipeline),
    ("salpre-transcript.json", pipeline),
    ("salpre-error.json", pipeline),
    ("voxtelesys-voice-post.json", pipeline),
    ("voxtelesys-voice-get.json", pipeline),
    ("voxtelesys-status-post.json", pipeline),
    ("voxtelesys-recording-post.json", pipeline),
    ("voxtelesys-dial-post.json", pipeline),
    ("twilio-voice-post.json", twilio),
    ("twilio-voice-get.json", twilio),
    ("twilio-dial-post.json", twilio),
    ("twilio-call-status-post.json", twilio),
    ("twilio-recording-post.json", twilio),
    ("twilio-messages-post.json", twilio),
    ("twilio-message-status-post.json", twilio),
    ("retell-inbound.json", retell),
];

/// Median and p99 of single events, in microseconds.
fn distribution(work: Work, event: &[u8], now: Timestamp, keys: &Keys) -> (f64, f64) {
    for _ in 0..1_000 {
        black_box(work(black_box(event), now, keys));
    }
    let mut times: Vec<f64> = (0..20_000)
        .map(|_| {
            let started = Instant::now();
            black_box(work(black_box(event), now, keys));
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn main() {
    let now = Timestamp::now();
    let keys = Keys {
        secret: SharedSecret::new(Some(TOKEN)),
        retell: SigningKey::new(Some(RETELL_KEY)),
        twilio: AuthToken::new(Some(TWILIO_TOKEN)),
    };
    let events: Vec<(&str, Work, Vec<u8>)> = CASES
        .iter()
        .map(|(file, work)| (*file, *work, event(file, now)))
        .collect();

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("per_event");
    for (file, work, event) in &events {
        let name = file.trim_end_matches(".json");
        group.bench_function(name, |b| b.iter(|| work(black_box(event), now, &keys)));
    }
    // The metrics line every answered request prints (callhooks::metrics).
    group.bench_function("metrics-line", |b| {
        let delivery = callhooks::metrics::CountedRequest {
            provider: "zonitel",
            route: "POST /zonitel/calls",
            outcome: callhooks::metrics::RequestOutcome::Recorded,
            latency_ms: 12.3,
            source_ip: None,
            code: None,
        };
        b.iter(|| callhooks::metrics::delivery_line(black_box(&delivery), now.as_millisecond()))
    });
    group.bench_function("metrics-line-refused", |b| {
        let delivery = callhooks::metrics::CountedRequest {
            provider: "zonitel",
            route: "POST /zonitel/calls",
            outcome: callhooks::metrics::RequestOutcome::Refused { status: 401 },
            latency_ms: 0.4,
            source_ip: Some("203.0.113.9"),
            code: Some("unauthorized"),
        };
        b.iter(|| callhooks::metrics::delivery_line(black_box(&delivery), now.as_millisecond()))
    });
    group.finish();
    criterion.final_summary();

    // `cargo bench -- <filter>` and `cargo test --benches` skip the table
    // (so give criterion's own options as `--name=value`).
    if std::env::args().skip(1).any(|a| !a.starts_with('-'))
        || std::env::args().any(|a| a == "--test")
    {
        return;
    }
    let mut table = String::from(
        "Per-event work (API Gateway event JSON → request → verify → parse → normalize → WritePlan), \
         single events timed 20,000 times:\n\n| event | median (µs) | p99 (µs) |\n|---|---:|---:|\n",
    );
    let mut json = Vec::new();
    for (file, work, event) in &events {
        let name = file.trim_end_matches(".json");
        let (median, p99) = distribution(*work, event, now, &keys);
        table.push_str(&format!("| {name} | {median:.1} | {p99:.1} |\n"));
        json.push(format!(
            "\"{name}\": {{\"median_us\": {median:.2}, \"p99_us\": {p99:.2}}}"
        ));
    }
    let out = root().join("bench-results");
    std::fs::create_dir_all(&out).expect("bench-results/");
    std::fs::write(out.join("per-event.md"), &table).expect("per-event.md");
    let json = format!("{{\n {}\n}}\n", json.join(",\n "));
    std::fs::write(out.join("per-event.json"), json).expect("per-event.json");
    println!("\n{table}");
}
