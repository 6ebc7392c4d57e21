//! The integration-test harness: one moto server per test process (started
//! on a free port on first use, stopped when the process ends), a fresh
//! table, topic and spillway queue per test created from template.yaml, the
//! webhook routes and functions (`Route`, `Functions`), log capture per
//! test, and helpers to build requests the way API Gateway hands them to a
//! function.

mod logs;
mod routes;

pub use logs::{capture_logs, Captured};
pub use routes::{salpre_events, zonitel_call, zonitel_sms, Credentials, Functions, Hook, Route};

use aws_config::{Region, SdkConfig};
use callhooks::attribute::AttributeValue;
use callhooks::runtime::{sdk_config_loader, Deadline};
use callhooks::store::plan::Item;
use callhooks::store::Store;
use lambda_http::{Body, Request};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The project's Python (`.venv`, made by `make test`), or `CALLHOOKS_PYTHON`.
pub fn python() -> PathBuf {
    std::env::var_os("CALLHOOKS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/python"))
}

struct Moto {
    endpoint: String,
    _process: Child,
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// An endpoint that refuses every connection: storage that is down. The
/// port is one the system just handed out and took back, so nothing
/// listens there. (A port held bound without listening made the 2 MiB
/// spill of the outage tests miss its deadline, for reasons not found.)
pub fn closed_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

/// The moto server of this test process, started on first use. Its stdin is
/// a pipe we never close: when the test process exits, moto exits too.
pub fn moto_endpoint() -> &'static str {
    &MOTO
        .get_or_init(|| {
            // Port 0: moto binds a port the system picks and names it, so no
            // other process can take it between our choice and its bind.
            let mut process = Command::new(python())
                .arg(project_root().join("scripts/local_stack.py"))
                .args(["serve", "--until-stdin-closes", "--port", "0"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start moto: run `make test` (it creates .venv) or set CALLHOOKS_PYTHON");
            let mut line = String::new();
            BufReader::new(process.stdout.take().unwrap())
                .read_line(&mut line)
                .expect("moto did not start");
            let endpoint = line
                .trim()
                .strip_prefix("moto listening on ")
                .unwrap_or_else(|| panic!("moto said {line:?}"))
                .to_string();
            Moto {
                endpoint,
                _process: process,
            }
        })
        .endpoint
}

/// Runs the `callhooks` binary (`binary`: the calling test's
/// `env!("CARGO_BIN_EXE_callhooks")`) the way a user does: environment only
/// (dummy credentials, a region, no instance metadata, the Los Angeles time
/// zone, then `env`), no terminal.
pub async fn run_cli(
    binary: &'static str,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new(binary);
    command
        .args(args)
        .current_dir(project_root())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TZ", "America/Los_Angeles");
    for (k, v) in env {
        command.env(k, v);
    }
    tokio::task::spawn_blocking(move || command.output().expect("run callhooks"))
        .await
        .unwrap()
}

/// An endpoint that accepts connections and never answers on them: storage
/// that hangs, so every attempt times out.
pub fn black_hole() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    endpoint
}

/// SDK configuration against `endpoint`, with the functions' own deadlines,
/// fixed dummy credentials and region: nothing probes instance metadata.
pub async fn sdk_config_for(endpoint: &str, deadline: Deadline) -> SdkConfig {
    sdk_config_loader(deadline)
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "dummy", "dummy", None, None, "tests",
        ))
        .load()
        .await
}

/// A fresh table and topic, as template.yaml defines them.
pub struct TestStack {
    pub endpoint: String,
    pub table_name: String,
    pub topic_arn: String,
    pub stream_arn: Option<String>,
    /// The spillway queue, as template.yaml's SpillwayQueue.
    pub spillway_queue_url: String,
    /// Its dead-letter queue, where messages that fail the integrity check
    /// go.
    pub spillway_dead_letter_queue_url: String,
    pub config: SdkConfig,
}

static NEXT_TABLE: AtomicUsize = AtomicUsize::new(0);

impl TestStack {
    pub async fn new() -> Self {
        let endpoint = moto_endpoint().to_string();
        let table_name = format!(
            "callhooks-test-{}-{}",
            std::process::id(),
            NEXT_TABLE.fetch_add(1, Ordering::SeqCst)
        );
        let output = Command::new(python())
            .arg(project_root().join("scripts/local_stack.py"))
            .args([
                "create",
                "--endpoint",
                &endpoint,
                "--table",
                &table_name,
                "--topic",
                &table_name,
            ])
            .env("AWS_ACCESS_KEY_ID", "dummy")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .expect("run local_stack.py create");
        assert!(
            output.status.success(),
            "local_stack.py create failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let config = sdk_config_for(&endpoint, Deadline::FIVE_SECOND_PROVIDER).await;
        TestStack {
            endpoint,
            table_name,
            topic_arn: created["topic_arn"].as_str().unwrap().to_string(),
            stream_arn: created["stream_arn"].as_str().map(str::to_string),
            spillway_queue_url: created["spillway_queue_url"].as_str().unwrap().to_string(),
            spillway_dead_letter_queue_url: created["spillway_dead_letter_queue_url"]
                .as_str()
                .unwrap()
                .to_string(),
            config,
        }
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn store(&self) -> Store {
        Store::new(self.dynamodb(), &self.table_name)
    }

    /// Webhook dependencies for tests of large values (megabyte bodies and
    /// transcripts). moto needs about a second for a megabyte-sized
    /// transaction on a loaded machine (DynamoDB: milliseconds), so these
    /// get a generous deadline with one attempt, so a slow write is never
    /// retried into a duplicate. The deadline itself has its own tests.
    pub async fn roomy_deps(&self) -> callhooks::webhook::WebhookDeps {
        let deadline = Deadline {
            total: std::time::Duration::from_secs(60),
            attempt: std::time::Duration::from_secs(60),
            connect: std::time::Duration::from_secs(5),
            max_attempts: 1,
        };
        let config = sdk_config_for(&self.endpoint, deadline).await;
        callhooks::webhook::WebhookDeps {
            store: Store::new(aws_sdk_dynamodb::Client::new(&config), &self.table_name),
            secret: callhooks::auth::SharedSecret::new(None),
            retention_days: 30,
            deadline,
        }
    }

    /// A spillway to this stack's queue, with the webhooks' spill deadline.
    pub async fn spillway(&self) -> callhooks::ingest::spill::Spillway {
        let config = sdk_config_for(&self.endpoint, Deadline::SPILL).await;
        callhooks::ingest::spill::Spillway::new(Some(self.spillway_queue_url.clone()), config)
            .signed_with(spill_key())
    }

    /// The spillway function's dependencies over this stack, verifying with
    /// [`spill_key`].
    pub fn spillway_deps(&self) -> callhooks::ingest::drain::DrainDeps {
        callhooks::ingest::drain::DrainDeps {
            store: self.store(),
            retention_days: 30,
            budget: std::time::Duration::from_secs(60),
            key: spill_key(),
            dead_letters: Some(callhooks::ingest::drain::DeadLetters {
                client: aws_sdk_sqs::Client::new(&self.config),
                queue_url: self.spillway_dead_letter_queue_url.clone(),
            }),
        }
    }

    /// Lambda's SQS event source mapping, once over: every message waiting
    /// on the spillway queue into the spillway function (batches of ten),
    /// deleting those it kept. Returns the messages kept; those it reported
    /// failed stay on the queue (invisible for the queue's timeout).
    pub async fn drain_spillway(&self) -> usize {
        self.drain_spillway_into(self.store()).await
    }

    /// [`Self::drain_spillway`], the spillway function writing through
    /// `store` (a client with other timeouts: megabyte deliveries).
    pub async fn drain_spillway_into(&self, store: Store) -> usize {
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let deps = callhooks::ingest::drain::DrainDeps {
            store,
            ..self.spillway_deps()
        };
        let mut kept = 0;
        loop {
            let page = sqs
                .receive_message()
                .queue_url(&self.spillway_queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap();
            let messages = page.messages.unwrap_or_default();
            if messages.is_empty() {
                return kept;
            }
            let records: Vec<serde_json::Value> = messages
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "messageId": m.message_id(),
                        "receiptHandle": m.receipt_handle(),
                        "body": m.body(),
                        "eventSource": "aws:sqs",
                    })
                })
                .collect();
            let event = serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
            let now = callhooks::time::Timestamp::now();
            let response = callhooks::ingest::drain::drain_batch(&deps, event, now).await;
            let failed: Vec<&str> = response
                .batch_item_failures
                .iter()
                .map(|f| f.item_identifier.as_str())
                .collect();
            for message in &messages {
                if !failed.contains(&message.message_id().unwrap_or("")) {
                    sqs.delete_message()
                        .queue_url(&self.spillway_queue_url)
                        .receipt_handle(message.receipt_handle().unwrap())
                        .send()
                        .await
                        .unwrap();
                    kept += 1;
                }
            }
        }
    }

    /// Every item in the table.
    pub async fn all_items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb()
                .scan()
                .table_name(&self.table_name)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(callhooks::store::sdk::items(page.items));
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return items,
            }
        }
    }

    /// How many items of each `item_type` the table holds.
    pub async fn count_by_type(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for item in self.all_items().await {
            let kind = item
                .get("item_type")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_else(|| "?".into());
            *counts.entry(kind).or_insert(0) += 1;
        }
        counts
    }
}

/// The spillway signing key the tests' webhooks and spillway share (the
/// stack makes its own: `SPILLWAY_SIGNING_KEY`).
pub fn spill_key() -> callhooks::ingest::spill_key::SpillKey {
    callhooks::ingest::spill_key::SpillKey::new(b"test-spillway-signing-key").unwrap()
}

/// A string attribute of an item.
pub fn attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Some(value),
        _ => None,
    }
}

/// An API Gateway HTTP API request for `path`, as `lambda_http` builds it
/// from the event (so path, query and body handling are the real ones).
pub fn api_request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
    base64: bool,
) -> Request {
    let (raw_path, raw_query) = path.split_once('?').unwrap_or((path, ""));
    let header_map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                serde_json::Value::String(v.to_string()),
            )
        })
        .collect();
    let query: serde_json::Map<String, serde_json::Value> = form_pairs(raw_query)
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": format!("{method} {raw_path}"),
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": header_map,
        "queryStringParameters": if query.is_empty() { serde_json::Value::Null } else { serde_json::Value::Object(query) },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "tests"},
            "requestId": "test-request",
            "routeKey": format!("{method} {raw_path}"),
            "stage": "$default",
            "time": "23/Nov/2026:15:51:22 +0000",
            "timeEpoch": 1_795_449_082_000_i64
        },
        "body": body,
        "isBase64Encoded": base64
    });
    event_request(&event.to_string())
}

/// A request from an API Gateway event document (like those in events/),
/// through the same base64 guard the functions run behind.
pub fn event_request(event_json: &str) -> Request {
    let mut raw: lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_str(event_json).expect("an API Gateway HTTP API v2 event");
    callhooks::runtime::guard_base64_body(&mut raw);
    lambda_http::request::LambdaRequest::ApiGatewayV2(raw).into()
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A JSON POST to `path`.
pub fn post_json(path: &str, body: &str) -> Request {
    api_request(
        "POST",
        path,
        &[("content-type", "application/json")],
        Some(body),
        false,
    )
}

/// The status and JSON body of an answer.
pub fn answer(response: &lambda_http::Response<Body>) -> (u16, serde_json::Value) {
    let body = serde_json::from_slice(response.body().as_ref()).unwrap_or(serde_json::Value::Null);
    (response.status().as_u16(), body)
}

/// `body` as API Gateway hands over binary bodies: base64, flagged so.
pub fn base64_request(method: &str, path: &str, content_type: &str, body: &[u8]) -> Request {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    api_request(
        method,
        path,
        &[("content-type", content_type)],
        Some(&encoded),
        true,
    )
}

/// The answer to a delivery from a sender that proved who it is (or had
/// no secret to prove), whatever its body: 200 and kept (JSON `status`
/// recorded, duplicate or unrecognized; VoXML for Voxtelesys). `what`
/// names the case.
pub fn assert_kept(response: &lambda_http::Response<Body>, what: &str) {
    assert_eq!(
        response.status().as_u16(),
        200,
        "{what}: {:?}",
        response.body()
    );
    let is_json = response
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        let (_, body) = answer(response);
        assert!(
            ["recorded", "duplicate", "unrecognized"]
                .contains(&body["status"].as_str().unwrap_or("")),
            "{what}: {body}"
        );
    }
}

/// The table holds at least one delivery kept raw as unrecognized (what
/// the contract keeps of what no reader understands).
pub async fn holds_unrecognized_deliveries(stack: &TestStack) -> bool {
    stack
        .count_by_type()
        .await
        .get("unrecognized")
        .copied()
        .unwrap_or(0)
        >= 1
}

/// The answer is the contract's error: this status, this code, and a
/// message that names the problem (`needle`).
pub fn assert_error(response: &lambda_http::Response<Body>, status: u16, code: &str, needle: &str) {
    let (got, body) = answer(response);
    assert_eq!(got, status, "{needle}: {body}");
    assert_eq!(body["error"]["code"], code, "{needle}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{needle}: {body}");
}

/// A store on `endpoint` with the given deadline (the outage tests point it
/// at a closed port or a black hole).
pub async fn store_at(endpoint: &str, deadline: Deadline) -> Store {
    let config = sdk_config_for(endpoint, deadline).await;
    Store::new(aws_sdk_dynamodb::Client::new(&config), "callhooks")
}

/// A provider's events that name no call (see
/// [`callhooks::store::keys::unmatched_events_pk`]), in order, raw bodies
/// reassembled. Only tests read this partition as a whole.
pub async fn unmatched_events(
    store: &Store,
    provider: callhooks::event::Provider,
) -> Result<Vec<Item>, callhooks::store::StoreError> {
    use callhooks::store::{assemble_parts, keys};
    let pk = keys::unmatched_events_pk(provider);
    let items = store.query_prefix(&pk, keys::EVENT_SK_PREFIX).await?;
    Ok(assemble_parts(items))
}

/// Every message waiting on a queue, read and deleted, each body as JSON:
/// what was sent there since the last call.
pub async fn take_json_messages(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<serde_json::Value> {
    let mut all = Vec::new();
    loop {
        let page = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = page.messages.unwrap_or_default();
        if messages.is_empty() {
            return all;
        }
        for message in messages {
            all.push(serde_json::from_str(message.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Runs `scripts/stream_pump.py` (Lambda's stream event source, locally)
/// against `endpoint` with dummy credentials; what it printed.
pub fn stream_pump(endpoint: &str, args: &[&str]) -> Vec<u8> {
    let output = Command::new(python())
        .arg(project_root().join("scripts/stream_pump.py"))
        .args(["--endpoint", endpoint])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "dummy")
        .env("AWS_SECRET_ACCESS_KEY", "dummy")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run stream_pump.py");
    assert!(
        output.status.success(),
        "stream_pump.py {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Every record of the stack's table stream so far, as the JSON of the
/// DynamoDB event Lambda hands the alerts function.
pub fn stream_records(stack: &TestStack) -> Vec<u8> {
    let arn = stack.stream_arn.as_deref().expect("the table has a stream");
    stream_pump(&stack.endpoint, &["records", "--stream-arn", arn])
}
