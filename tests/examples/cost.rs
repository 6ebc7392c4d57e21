//! `make bench-cost`: what each delivery asks of AWS, measured against moto.
//!
//! Every route's sample events (events/) go through the function's own
//! handler, as the integration tests call them, with a DynamoDB client that
//! meters each request (an SDK interceptor): the write request units (WRU)
//! of every put, update and transaction item, index writes included, and
//! the read request units (RRU) of every read, sized by DynamoDB's
//! documented rules (`callhooks::store::units`; moto's own figures do not
//! follow them). An update is sized by its whole item after the delivery.
//! Beside each delivery, the floor: one PutItem of the same raw body (what
//! bench/floor does). Writes `bench-results/cost-units.json`;
//! `bench/cost.py` prices it (`bench/prices.py`).

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_sdk_dynamodb::operation::{
    delete_item::DeleteItemInput, get_item::GetItemInput, get_item::GetItemOutput,
    put_item::PutItemInput, query::QueryInput, query::QueryOutput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use callhooks::attribute::AttributeValue;
use callhooks::runtime::Deadline;
use callhooks::store::plan::{item_bytes, Item};
use callhooks::store::sdk::{from_sdk_item, SdkItem};
use callhooks::store::units;
use callhooks::store::Store;
use callhooks::time::Timestamp;
use callhooks_tests::{event_request, project_root, sdk_config_for, TestStack};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one delivery asked of DynamoDB.
#[derive(Clone, Debug, Default)]
struct Tally {
    requests: u64,
    write_units: u64,
    read_units: f64,
    /// Bytes of the items written (puts whole, updates as their item after).
    item_bytes: usize,
    /// Items updated (their keys), sized after the delivery, and whether in
    /// a transaction.
    updated: Vec<(SdkItem, bool)>,
    /// Each item written: its item type, bytes and units.
    writes: Vec<String>,
    /// Of `write_units`: what the transaction's doubling added, what the
    /// index copies cost, and what the guard items cost (all of it).
    split: Split,
}

#[derive(Clone, Copy, Debug, Default)]
struct Split {
    transaction: u64,
    indexes: u64,
    guards: u64,
}

impl Split {
    fn add(&mut self, item: &Item, bytes: usize, transactional: bool) {
        let unit = units::write_units(bytes);
        if transactional {
            self.transaction += unit;
        }
        self.indexes += units::indexes_holding(item) as u64 * unit;
        if matches!(
            item.get("item_type"),
            Some(AttributeValue::S(kind)) if kind.ends_with("_guard")
        ) {
            self.guards += units::item_write_units(item, bytes, transactional);
        }
    }
}

/// An SDK interceptor that tallies what each request costs.
#[derive(Clone, Debug, Default)]
struct Meter(Arc<Mutex<Tally>>);

/// What a request will cost if it succeeds, kept between the request and
/// its answer.
#[derive(Clone, Debug, Default)]
struct Pending {
    write_units: u64,
    item_bytes: usize,
    updated: Vec<(SdkItem, bool)>,
    consistent: bool,
    writes: Vec<String>,
    split: Split,
}

impl Storable for Pending {
    type Storer = StoreReplace<Self>;
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "cost meter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        let mut pending = Pending::default();
        if let Some(put) = input.downcast_ref::<PutItemInput>() {
            let item = put.item().map(from_sdk_item).unwrap_or_default();
            let bytes = item_bytes(&item);
            pending.item_bytes = bytes;
            pending.write_units = units::item_write_units(&item, bytes, false);
            pending
                .writes
                .push(describe("put", &item, bytes, pending.write_units));
            pending.split.add(&item, bytes, false);
        } else if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
            pending
                .updated
                .push((update.key().cloned().unwrap_or_default(), false));
        } else if input.downcast_ref::<DeleteItemInput>().is_some() {
            pending.write_units = 1;
        } else if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
            for action in transaction.transact_items() {
                if let Some(put) = action.put() {
                    let item = from_sdk_item(put.item());
                    let bytes = item_bytes(&item);
                    let cost = units::item_write_units(&item, bytes, true);
                    pending.item_bytes += bytes;
                    pending.write_units += cost;
                    pending
                        .writes
                        .push(describe("transaction put", &item, bytes, cost));
                    pending.split.add(&item, bytes, true);
                } else if let Some(update) = action.update() {
                    pending.updated.push((update.key().clone(), true));
                } else {
                    // A condition check or a delete: one unit, twice.
                    pending.write_units += 2;
                }
            }
        } else if let Some(get) = input.downcast_ref::<GetItemInput>() {
            pending.consistent = get.consistent_read() == Some(true);
        } else if let Some(query) = input.downcast_ref::<QueryInput>() {
            // Index reads are eventually consistent whatever is asked.
            pending.consistent =
                query.consistent_read() == Some(true) && query.index_name().is_none();
        }
        cfg.interceptor_state().store_put(pending);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let pending = cfg.load::<Pending>().cloned().unwrap_or_default();
        let mut tally = self.0.lock().unwrap();
        tally.requests += 1;
        let Some(Ok(output)) = context.output_or_error() else {
            // A failed condition still costs a unit; nothing else was done.
            if pending.write_units > 0 || !pending.updated.is_empty() {
                tally.write_units += 1;
            }
            return Ok(());
        };
        tally.write_units += pending.write_units;
        tally.item_bytes += pending.item_bytes;
        tally.updated.extend(pending.updated);
        tally.writes.extend(pending.writes);
        tally.split.transaction += pending.split.transaction;
        tally.split.indexes += pending.split.indexes;
        tally.split.guards += pending.split.guards;
        if let Some(get) = output.downcast_ref::<GetItemOutput>() {
            let bytes = get
                .item()
                .map(|i| item_bytes(&from_sdk_item(i)))
                .unwrap_or(0);
            tally.read_units += units::read_units(bytes, pending.consistent);
        } else if let Some(query) = output.downcast_ref::<QueryOutput>() {
            let bytes = query
                .items()
                .iter()
                .map(|i| item_bytes(&from_sdk_item(i)))
                .sum();
            tally.read_units += units::read_units(bytes, pending.consistent);
        }
        Ok(())
    }
}

impl Meter {
    /// The tally since the last call, with each updated item sized as it is
    /// now (read with an unmetered client).
    async fn take(&self, stack: &TestStack) -> Tally {
        let mut tally = std::mem::take(&mut *self.0.lock().unwrap());
        let plain = stack.dynamodb();
        for (key, transactional) in std::mem::take(&mut tally.updated) {
            let item = plain
                .get_item()
                .table_name(&stack.table_name)
                .set_key(Some(key))
                .consistent_read(true)
                .send()
                .await
                .unwrap()
                .item
                .map(|i| from_sdk_item(&i))
                .unwrap_or_default();
            let bytes = item_bytes(&item);
            let cost = units::item_write_units(&item, bytes, transactional);
            tally.item_bytes += bytes;
            tally.write_units += cost;
            let how = if transactional {
                "transaction update"
            } else {
                "update"
            };
            tally.writes.push(describe(how, &item, bytes, cost));
            tally.split.add(&item, bytes, transactional);
        }
        tally
    }
}

/// `put retry_guard 160 B: 2 WRU (2 indexes)`.
fn describe(how: &str, item: &Item, bytes: usize, units: u64) -> String {
    let kind = match item.get("item_type") {
        Some(AttributeValue::S(kind)) => kind.as_str(),
        _ => "item",
    };
    let indexes = units::indexes_holding(item);
    let indexed = if indexes > 0 {
        format!(", {indexes} of them in indexes")
    } else {
        String::new()
    };
    format!("{how} {kind} {bytes} B: {units} WRU{indexed}")
}

/// A DynamoDB client on the stack's moto that reports to `meter`.
async fn metered_store(stack: &TestStack, meter: &Meter, deadline: Deadline) -> Store {
    let config = sdk_config_for(&stack.endpoint, deadline).await;
    let dynamodb = aws_sdk_dynamodb::config::Builder::from(&config)
        .interceptor(meter.clone())
        .build();
    Store::new(
        aws_sdk_dynamodb::Client::from_conf(dynamodb),
        &stack.table_name,
    )
}

/// The API Gateway event of `events/<name>.json`, its token left in (the
/// functions here check none), and its body.
fn sample(name: &str) -> (String, String) {
    let path = project_root().join(format!("events/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let event: Value = serde_json::from_str(&text).unwrap();
    let body = match event["body"].as_str() {
        Some(body) if !body.is_empty() => body.to_string(),
        _ => event["rawQueryString"].as_str().unwrap_or("").to_string(),
    };
    (text, body)
}

/// The sample event with another body.
fn with_body(event_json: &str, body: &str) -> String {
    let mut event: Value = serde_json::from_str(event_json).unwrap();
    event["body"] = Value::String(body.to_string());
    event.to_string()
}

/// The alerts function's share of a delivery: the stream records of the
/// delivery that pass the event source mapping's filter (template.yaml:
/// every call or SMS summary change, and new alert ledger entries), each
/// handled by the alerts function as if in its own invocation (the mapping
/// batches them: an upper bound), alerts and the console's per-day
/// counters, with a metered ledger and label store. Stream reads by a
/// Lambda trigger are free.
#[derive(Clone, Debug, Default)]
struct AlertShare {
    invocations: u64,
    tally: Tally,
    publishes: u64,
}

struct Alerts {
    seen: std::collections::HashSet<String>,
}

impl Alerts {
    fn records(stack: &TestStack) -> Vec<aws_lambda_events::event::dynamodb::EventRecord> {
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_slice(&callhooks_tests::stream_records(stack))
                .expect("Lambda's DynamoDB event");
        event.records
    }

    /// Whether the alerts function's event source mapping passes `record`.
    fn passes_filter(record: &aws_lambda_events::event::dynamodb::EventRecord) -> bool {
        let value = serde_json::to_value(record).unwrap();
        let image = &value["dynamodb"]["NewImage"];
        let text = |name: &str| image[name]["S"].as_str();
        let name = value["eventName"].as_str();
        (name == Some("INSERT") && text("item_type") == Some("alert"))
            || (matches!(name, Some("INSERT" | "MODIFY"))
                && text("SK") == Some("SUMMARY")
                && matches!(text("item_type"), Some("call" | "sms")))
    }

    /// The alerts function on what the last delivery put on the stream.
    async fn share(&mut self, stack: &TestStack, meter: &Meter) -> AlertShare {
        let mut share = AlertShare::default();
        let fresh: Vec<_> = Self::records(stack)
            .into_iter()
            .filter(|r| {
                self.seen
                    .insert(r.change.sequence_number.clone().unwrap_or_default())
            })
            .filter(Self::passes_filter)
            .collect();
        if fresh.is_empty() {
            return share;
        }
        let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
        let store = metered_store(stack, meter, Deadline::ALERTS).await;
        use callhooks::alerts::stream::{
            count_daily, handle_record, AlertStreamDeps, Handled, SnsPublisher,
        };
        let deps: AlertStreamDeps = AlertStreamDeps {
            publisher: SnsPublisher {
                sns: aws_sdk_sns::Client::new(&config),
                topic_arn: stack.topic_arn.clone(),
            },
            ledger: callhooks::alerts::ledger::Ledger::new(store.clone(), 30),
            dead_letters: None,
            labels: Some(store),
            clock: callhooks::alerts::delivery::Clock::default(),
        };
        let _ = meter.take(stack).await;
        for record in &fresh {
            share.invocations += 1;
            if let Ok(Handled::Alert(_)) = handle_record(&deps, record, None).await {
                share.publishes += 1;
            }
            // Each record as its own batch: the counters' upper bound.
            count_daily(&deps, std::slice::from_ref(record))
                .await
                .expect("the daily counters");
        }
        share.tally = meter.take(stack).await;
        share
    }
}

/// One row: a delivery of one event kind on one route.
struct Row {
    route: &'static str,
    kind: String,
    raw_bytes: usize,
    tally: Tally,
    floor: Tally,
    handler_ms: f64,
    status: u16,
    sqs_requests: f64,
    extra_invocations: f64,
    alerts: AlertShare,
}

impl Row {
    fn json(&self) -> Value {
        json!({
            "route": self.route,
            "kind": self.kind,
            "status": self.status,
            "raw_bytes": self.raw_bytes,
            "api_requests": 1,
            "lambda_invocations": 1.0 + self.extra_invocations,
            "dynamodb_requests": self.tally.requests,
            "write_units": self.tally.write_units,
            "read_units": self.tally.read_units,
            "item_bytes": self.tally.item_bytes,
            "writes": self.tally.writes,
            "write_units_of": {
                "transaction": self.tally.split.transaction,
                "indexes": self.tally.split.indexes,
                "guards": self.tally.split.guards,
            },
            "sqs_requests": self.sqs_requests,
            "handler_ms_local": (self.handler_ms * 100.0).round() / 100.0,
            "floor": {
                "write_units": self.floor.write_units,
                "item_bytes": self.floor.item_bytes,
            },
            "alerts": {
                "invocations": self.alerts.invocations,
                "dynamodb_requests": self.alerts.tally.requests,
                "write_units": self.alerts.tally.write_units,
                "read_units": self.alerts.tally.read_units,
                "sns_publishes": self.alerts.publishes,
            },
        })
    }
}

/// The floor for `raw`: one PutItem of it, keyed as bench/floor keys it.
async fn floor(store: &Store, meter: &Meter, stack: &TestStack, raw: &str) -> Tally {
    let _ = meter.take(stack).await;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item(
            "PK",
            SdkValue::S("FLOOR#c0a8f1e2-55aa-4c1b-9d3e-1f2a3b4c5d6e".into()),
        )
        .item("SK", SdkValue::S("EVENT".into()))
        .item("raw", SdkValue::S(raw.into()))
        .send()
        .await
        .unwrap();
    meter.take(stack).await
}

const T0_MS: i64 = 1_795_449_082_000;
const RETELL_KEY: &str = "bench-retell-key";

/// The event with Retell's signature of its body at `signed_ms`.
fn signed_by_retell(event_json: &str, signed_ms: i64) -> String {
    let mut event: Value = serde_json::from_str(event_json).unwrap();
    let body = event["body"].as_str().unwrap_or("").to_string();
    let signature = callhooks::signature::sign(RETELL_KEY.as_bytes(), body.as_bytes(), signed_ms);
    event["headers"]["x-retell-signature"] = Value::String(signature);
    event.to_string()
}

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millisecond(T0_MS + offset_ms).unwrap()
}

/// A Salpre `call_ended` whose final transcript has `lines` lines (about
/// 80 bytes each): the sample's is three lines; a real five-minute call
/// holds a few dozen.
fn salpre_ended_with(lines: usize) -> String {
    let transcript: Vec<Value> = (0..lines)
        .map(|i| {
            json!({
                "type": if i % 2 == 0 { "ai" } else { "customer" },
                "message": format!("Line {i} of the conversation, about as long as one spoken sentence is.")
            })
        })
        .collect();
    json!({
        "event_type": "call_ended",
        "timestamp_utc": 1_795_449_160,
        "payload": {
            "call_id": 48214,
            "from": "+14155552671",
            "to": "+18339664835",
            "direction": "inbound",
            "source": "salprebox:SALPRE_AABBCCDD",
            "transcript": transcript,
        },
        "is_test": false
    })
    .to_string()
}

#[tokio::main]
async fn main() {
    let stack = TestStack::new().await;
    let meter = Meter::default();
    let store = metered_store(&stack, &meter, Deadline::FIVE_SECOND_PROVIDER).await;
    let waiting = metered_store(&stack, &meter, Deadline::CALLER_WAITING).await;
    let mut rows: Vec<Row> = Vec::new();
    let mut alerts = Alerts {
        seen: Default::default(),
    };
    // The stack's own writes so far are not a delivery's.
    let _ = alerts.share(&stack, &meter).await;

    let webhook = callhooks::webhook::WebhookDeps {
        store: store.clone(),
        secret: callhooks::auth::SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    let voxtelesys = callhooks::routes::voxtelesys::VoxtelesysDeps {
        store: store.clone(),
        secret: callhooks::auth::SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        config_cache: callhooks::config_cache::NumberConfigCache::new(Duration::from_secs(30)),
        default_message: "Sorry, nobody can take your call.".into(),
        fallback: None,
    };
    let twilio = callhooks::routes::twilio::TwilioDeps {
        store: store.clone(),
        // Open: the cost of a delivery, not of its signature check.
        token: callhooks::providers::twilio::signature::AuthToken::new(None),
        public_base: None,
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
        config_cache: callhooks::config_cache::NumberConfigCache::new(Duration::from_secs(30)),
        default_message: "Sorry, nobody can take your call.".into(),
        fallback: None,
    };
    let retell = callhooks::routes::retell::RetellDeps {
        store: waiting.clone(),
        events_store: metered_store(&stack, &meter, Deadline::CALL_EVENTS).await,
        events_deadline: Deadline::CALL_EVENTS,
        // Signed as Retell signs: the signature's replay guard is written too.
        key: callhooks::signature::SigningKey::new(Some(RETELL_KEY)),
        retention_days: 30,
        deadline: Deadline::CALLER_WAITING,
        config_cache: callhooks::config_cache::NumberConfigCache::new(Duration::from_secs(30)),
    };

    // (route, kind, sample, body override)
    let mut cases: Vec<(&'static str, String, String, Option<String>)> = Vec::new();
    let mut add = |route: &'static str, kind: &str, name: &str, body: Option<String>| {
        cases.push((route, kind.to_string(), name.to_string(), body));
    };
    add("zonitel call", "incoming call", "zonitel-call", None);
    add("zonitel sms", "received", "zonitel-sms-inbound", None);
    add("zonitel sms", "delivered", "zonitel-sms-delivered", None);
    add("zonitel sms", "failed", "zonitel-sms-failed", None);
    add(
        "salpre events",
        "call_initiated",
        "salpre-call_initiated",
        None,
    );
    add("salpre events", "call_ringing", "salpre-call_ringing", None);
    add(
        "salpre events",
        "call_answered",
        "salpre-call_answered",
        None,
    );
    add(
        "salpre events",
        "transcript line",
        "salpre-transcript",
        None,
    );
    add("salpre events", "call_ended", "salpre-call_ended", None);
    add(
        "salpre events",
        "call_ended, 40-line transcript",
        "salpre-call_ended",
        Some(salpre_ended_with(40)),
    );
    add("salpre events", "error", "salpre-error", None);
    add("voxtelesys", "voice", "voxtelesys-voice-post", None);
    add(
        "voxtelesys",
        "dial (no answer)",
        "voxtelesys-dial-post",
        None,
    );
    add("voxtelesys", "recording", "voxtelesys-recording-post", None);
    add("voxtelesys", "status", "voxtelesys-status-post", None);
    add("twilio", "voice", "twilio-voice-post", None);
    add("twilio", "dial", "twilio-dial-post", None);
    add("twilio", "recording", "twilio-recording-post", None);
    add("twilio", "call-status", "twilio-call-status-post", None);
    add(
        "twilio",
        "messages (inbound SMS)",
        "twilio-messages-post",
        None,
    );
    add(
        "twilio",
        "message-status",
        "twilio-message-status-post",
        None,
    );
    add(
        "twilio",
        "message-status (failed)",
        "twilio-message-status-failed",
        None,
    );
    add("retell inbound", "call_inbound", "retell-inbound", None);
    add(
        "retell inbound",
        "chat_inbound",
        "retell-chat-inbound",
        None,
    );
    add("retell events", "call_started", "retell-call-started", None);
    add("retell events", "call_ended", "retell-call-ended", None);
    add(
        "retell events",
        "call_analyzed",
        "retell-call-analyzed",
        None,
    );

    for (i, (route, kind, name, body)) in cases.into_iter().enumerate() {
        let (mut event, mut raw) = sample(&name);
        if let Some(body) = body {
            event = with_body(&event, &body);
            raw = body;
        }
        let now = at(i as i64 * 1000);
        if route.starts_with("retell") {
            event = signed_by_retell(&event, now.as_millisecond());
        }
        let request = event_request(&event);
        let _ = meter.take(&stack).await;
        let started = Instant::now();
        let response = match route {
            "zonitel call" => {
                callhooks::ingest::edge::handle_json(
                    callhooks::route_table::Route::ZonitelCall,
                    &webhook,
                    request,
                    now,
                )
                .await
            }
            "zonitel sms" => {
                callhooks::ingest::edge::handle_json(
                    callhooks::route_table::Route::ZonitelSms,
                    &webhook,
                    request,
                    now,
                )
                .await
            }
            "salpre events" => {
                callhooks::ingest::edge::handle_json(
                    callhooks::route_table::Route::SalpreEvents,
                    &webhook,
                    request,
                    now,
                )
                .await
            }
            "voxtelesys" => callhooks::routes::voxtelesys::handle(&voxtelesys, request, now).await,
            "twilio" => callhooks::routes::twilio::handle(&twilio, request, now).await,
            _ => callhooks::routes::retell::handle(&retell, request, now).await,
        };
        let handler_ms = started.elapsed().as_secs_f64() * 1000.0;
        let status = response.status().as_u16();
        assert_eq!(status, 200, "{route} {kind}: {:?}", response.body());
        let tally = meter.take(&stack).await;
        let alerts = alerts.share(&stack, &meter).await;
        let floor = floor(&store, &meter, &stack, &raw).await;
        rows.push(Row {
            route,
            kind,
            raw_bytes: raw.len(),
            tally,
            floor,
            handler_ms,
            status,
            sqs_requests: 0.0,
            extra_invocations: 0.0,
            alerts,
        });
    }

    rows.push(spilled_zonitel_call(&stack, &meter).await);

    let out = json!({
        "generated_by": "make bench-cost (tests/examples/cost.rs)",
        "rules": "callhooks::store::units: 1 WRU per started KB (2 in a transaction), each ALL-projecting index holding the item 1 WRU per started KB; 1 RRU per started 4 KB, half when eventually consistent",
        "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
    });
    let dir = project_root().join("bench-results");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cost-units.json");
    std::fs::write(&path, serde_json::to_string_pretty(&out).unwrap()).unwrap();
    for row in &rows {
        println!(
            "{:<15} {:<32} {:>3} req {:>3} WRU {:>4} RRU {:>6} B (floor {} WRU) alerts: {} invocations, {} WRU, {} RRU, {} published",
            row.route,
            row.kind,
            row.tally.requests,
            row.tally.write_units,
            row.tally.read_units,
            row.tally.item_bytes,
            row.floor.write_units,
            row.alerts.invocations,
            row.alerts.tally.write_units,
            row.alerts.tally.read_units,
            row.alerts.publishes,
        );
        for write in &row.tally.writes {
            println!("    {write}");
        }
    }
    println!("wrote {}", path.display());
}

/// A Zonitel call while the table is down: the delivery goes to the
/// spillway queue (one SendMessage), and the spillway function writes it
/// later from a batch of up to ten (one ReceiveMessage and one
/// DeleteMessageBatch per batch, shared; one invocation per batch): the
/// table's units are the drain's.
async fn spilled_zonitel_call(stack: &TestStack, meter: &Meter) -> Row {
    let (event, raw) = sample("zonitel-call");
    let closed = callhooks_tests::closed_endpoint();
    let down = callhooks_tests::store_at(&closed, Deadline::FIVE_SECOND_PROVIDER)
        .await
        .with_spillway(stack.spillway().await);
    let deps = callhooks::webhook::WebhookDeps {
        store: down,
        secret: callhooks::auth::SharedSecret::new(None),
        retention_days: 30,
        deadline: Deadline::FIVE_SECOND_PROVIDER,
    };
    let started = Instant::now();
    let response = callhooks::ingest::edge::handle_json(
        callhooks::route_table::Route::ZonitelCall,
        &deps,
        event_request(&event),
        at(60_000),
    )
    .await;
    let handler_ms = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    assert_eq!(status, 200, "spill: {:?}", response.body());

    // The drain, metered: the spillway function's own writes.
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let page = sqs
        .receive_message()
        .queue_url(&stack.spillway_queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = page.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1, "one message spilled");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    let drain = callhooks::ingest::drain::DrainDeps {
        store: metered_store(stack, meter, Deadline::FIVE_SECOND_PROVIDER).await,
        retention_days: 30,
        budget: Duration::from_secs(60),
        key: callhooks_tests::spill_key(),
        dead_letters: None,
    };
    let _ = meter.take(stack).await;
    let answer = callhooks::ingest::drain::drain_batch(
        &drain,
        serde_json::from_value(json!({ "Records": records })).unwrap(),
        Timestamp::now(),
    )
    .await;
    assert!(answer.batch_item_failures.is_empty(), "the drain kept it");
    let tally = meter.take(stack).await;
    let store = metered_store(stack, meter, Deadline::FIVE_SECOND_PROVIDER).await;
    let floor = floor(&store, meter, stack, &raw).await;
    Row {
        route: "zonitel call",
        kind: "incoming call, table down (spilled, drained)".into(),
        raw_bytes: raw.len(),
        tally,
        floor,
        handler_ms,
        status,
        // One send now; a tenth of a receive and of a batch delete later.
        sqs_requests: 1.2,
        // A tenth of a spillway invocation.
        extra_invocations: 0.1,
        alerts: AlertShare::default(),
    }
}
