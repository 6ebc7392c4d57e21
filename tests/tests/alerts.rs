//! The alerts function against moto: summaries written with `Store::write`
//! exactly as the webhooks write them, the REAL stream records read from
//! moto's DynamoDB Streams API (scripts/stream_pump.py, the same reader
//! `make dev` uses), the handler run over them like Lambda's event source
//! mapping would (a failed record and everything after it come again), and
//! the published messages read from an SQS queue subscribed to the topic.

use alerts::{handle, Deps};
use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use callhooks::config::NumberConfig;
use callhooks::event::{Channel, Direction, Event, Provider};
use callhooks::phone::PhoneNumber;
use callhooks::runtime::Deadline;
use callhooks::store::plan::{s, WritePlan};
use callhooks::store::{Store, WriteOutcome};
use callhooks::time::{self, Timestamp};
use callhooks_tests::{project_root, sdk_config_for, TestStack};
use serde_json::Value;
use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;

const CALLER: &str = "+14155552671";
const OUR_LINE: &str = "+18339664835";
const T0: i64 = 1_795_449_082_000;

fn python() -> PathBuf {
    std::env::var_os("CALLHOOKS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/python"))
}

fn pump(endpoint: &str, args: &[&str]) -> String {
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
    String::from_utf8(output.stdout).unwrap()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn number(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n).unwrap()
}

/// One table and topic, a queue subscribed to the topic, and the stream
/// position this "event source mapping" has checkpointed.
struct Bench {
    stack: TestStack,
    queue_url: String,
    done: HashSet<String>,
    deps: Deps,
}

impl Bench {
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let queue = format!("{}-alerts", stack.table_name);
        let queue_url = pump(
            &stack.endpoint,
            &[
                "subscribe",
                "--topic-arn",
                &stack.topic_arn,
                "--queue",
                &queue,
            ],
        )
        .trim()
        .to_string();
        let deps = deps_for(&stack, &stack.topic_arn).await;
        Bench {
            stack,
            queue_url,
            done: HashSet::new(),
            deps,
        }
    }

    fn store(&self) -> Store {
        self.stack.store()
    }

    /// Stream records not yet handled successfully, in stream order.
    fn pending_records(&self) -> Vec<EventRecord> {
        let arn = self
            .stack
            .stream_arn
            .as_deref()
            .expect("the table has a stream");
        let json = pump(&self.stack.endpoint, &["records", "--stream-arn", arn]);
        let event: StreamEvent = serde_json::from_str(&json).expect("Lambda's DynamoDB event");
        event
            .records
            .into_iter()
            .filter(|r| !self.done.contains(sequence(r)))
            .collect()
    }

    /// One invocation over the pending records with `deps`; what succeeded
    /// is checkpointed. Returns the reported failures' sequence numbers.
    async fn invoke_with(&mut self, deps: &Deps) -> Vec<String> {
        let records = self.pending_records();
        let mut event = StreamEvent::default();
        event.records = records.clone();
        let response = handle(deps, event).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| {
                f.item_identifier
                    .clone()
                    .expect("failures name their record")
            })
            .collect();
        for record in &records {
            if failed.first().map(String::as_str) == Some(sequence(record)) {
                break; // Lambda retries from here on
            }
            self.done.insert(sequence(record).to_string());
        }
        failed
    }

    async fn invoke(&mut self) -> Vec<String> {
        let deps = deps_for(&self.stack, &self.deps.topic_arn).await;
        let failed = self.invoke_with(&deps).await;
        assert!(failed.is_empty(), "unexpected failures {failed:?}");
        failed
    }

    /// The SNS envelopes delivered to the queue since the last call.
    fn received(&self) -> Vec<Value> {
        let json = pump(
            &self.stack.endpoint,
            &["receive", "--queue-url", &self.queue_url],
        );
        serde_json::from_str(&json).unwrap()
    }
}

async fn deps_for(stack: &TestStack, topic_arn: &str) -> Deps {
    let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
    let labels = sdk_config_for(&stack.endpoint, Deadline::BEST_EFFORT_READ).await;
    Deps {
        sns: aws_sdk_sns::Client::new(&config),
        topic_arn: topic_arn.to_string(),
        labels: Some(Store::new(
            aws_sdk_dynamodb::Client::new(&labels),
            &stack.table_name,
        )),
    }
}

fn sequence(record: &EventRecord) -> &str {
    record.change.sequence_number.as_deref().unwrap_or("")
}

/// A delivery the way a webhook normalizes it.
struct Delivery {
    provider: Provider,
    channel: Channel,
    id: &'static str,
    direction: Direction,
    from: &'static str,
    to: &'static str,
    kind: &'static str,
    at_ms: i64,
    is_test: bool,
    /// Phases (and messages) the webhook sets once for this kind.
    phases: Vec<(&'static str, String)>,
}

impl Delivery {
    fn call(
        provider: Provider,
        id: &'static str,
        direction: Direction,
        kind: &'static str,
        at_ms: i64,
    ) -> Self {
        let (from, to) = match direction {
            Direction::Inbound => (CALLER, OUR_LINE),
            Direction::Outbound => (OUR_LINE, CALLER),
        };
        Delivery {
            provider,
            channel: Channel::Call,
            id,
            direction,
            from,
            to,
            kind,
            at_ms,
            is_test: false,
            phases: Vec::new(),
        }
    }

    fn sms(id: &'static str, direction: Direction, kind: &'static str, at_ms: i64) -> Self {
        Delivery {
            channel: Channel::Sms,
            ..Delivery::call(Provider::Zonitel, id, direction, kind, at_ms)
        }
    }

    /// Sets a phase to the delivery's own moment.
    fn phase(mut self, name: &'static str) -> Self {
        self.phases.push((name, time::to_key(at(self.at_ms))));
        self
    }

    fn with(mut self, name: &'static str, value: &str) -> Self {
        self.phases.push((name, value.to_string()));
        self
    }

    fn test(mut self) -> Self {
        self.is_test = true;
        self
    }

    async fn write(&self, store: &Store) -> WriteOutcome {
        let event = Event {
            provider: self.provider,
            channel: self.channel,
            provider_id: self.id.to_string(),
            direction: Some(self.direction),
            from: Some(number(self.from)),
            to: Some(number(self.to)),
            caller_name: Some("John Doe".into()),
            kind: self.kind.to_string(),
            occurred_at: at(self.at_ms),
            received_at: at(self.at_ms),
            is_test: self.is_test,
            delivery_key: format!("{}-{}", self.kind, self.at_ms),
            raw: format!("{{\"id\":\"{}\",\"kind\":\"{}\"}}", self.id, self.kind),
            anomalies: Vec::new(),
        };
        let mut plan = WritePlan::for_event(&event, 30);
        for (name, value) in &self.phases {
            plan.summary_mut().set_once(name, s(value));
        }
        store.write(&plan).await.unwrap()
    }
}

fn missed_salpre_call() -> [Delivery; 2] {
    [
        Delivery::call(
            Provider::Salpre,
            "sal-1",
            Direction::Inbound,
            "call_initiated",
            T0,
        )
        .phase("initiated_at"),
        Delivery::call(
            Provider::Salpre,
            "sal-1",
            Direction::Inbound,
            "call_missed",
            T0 + 30_000,
        )
        .phase("unanswered_at")
        .phase("ended_at"),
    ]
}

fn message(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
}

fn attribute<'a>(envelope: &'a Value, name: &str) -> &'a str {
    envelope["MessageAttributes"][name]["Value"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn each_incident_alerts_once_under_duplicate_and_out_of_order_deliveries() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    store
        .put_number_config(&NumberConfig {
            number: number(OUR_LINE),
            label: Some("Support".into()),
            voxtelesys: None,
            retell: None,
        })
        .await
        .unwrap();

    let [ringing, missed] = missed_salpre_call();
    let failed = Delivery::call(
        Provider::Salpre,
        "sal-2",
        Direction::Outbound,
        "error",
        T0 + 60_000,
    )
    .phase("failed_at")
    .with("error_message", "SIP 503 Service Unavailable");
    // Voxtelesys: the no-answer status arrives before the call's first webhook.
    let no_answer = Delivery::call(
        Provider::Voxtelesys,
        "CA9",
        Direction::Inbound,
        "no-answer",
        T0 + 90_000,
    )
    .phase("unanswered_at")
    .phase("ended_at");
    let late_initiated = Delivery::call(
        Provider::Voxtelesys,
        "CA9",
        Direction::Inbound,
        "initiated",
        T0 + 70_000,
    )
    .phase("initiated_at");
    let sent = Delivery::sms("msg-1", Direction::Outbound, "sent", T0 + 100_000).phase("sent_at");
    let sms_failed = Delivery::sms("msg-1", Direction::Outbound, "failed", T0 + 103_000)
        .phase("failed_at")
        .with("failure_message", "Carrier rejected: number unreachable");

    // Each delivery twice; the stream handled in several batches.
    for (delivery, pump_after) in [
        (&ringing, false),
        (&missed, true),
        (&missed, true),
        (&failed, false),
        (&failed, true),
        (&no_answer, true),
        (&late_initiated, false),
        (&no_answer, true),
        (&sent, false),
        (&sms_failed, false),
        (&sms_failed, false),
        (&late_initiated, true),
    ] {
        delivery.write(&store).await;
        if pump_after {
            bench.invoke().await;
        }
    }
    // A retry of an already recorded delivery writes nothing at all.
    assert_eq!(missed.write(&store).await, WriteOutcome::Duplicate);
    bench.invoke().await;
    assert!(bench.pending_records().is_empty());

    let envelopes = bench.received();
    let mut kinds: Vec<(String, String)> = envelopes
        .iter()
        .map(|e| {
            (
                attribute(e, "alert_type").to_string(),
                attribute(e, "provider").to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ("call_error".to_string(), "salpre".to_string()),
            ("missed_call".to_string(), "salpre".to_string()),
            ("missed_call".to_string(), "voxtelesys".to_string()),
            ("sms_failed".to_string(), "zonitel".to_string()),
        ],
        "{envelopes:#?}"
    );

    let find = |id_field: &str, id: &str| {
        envelopes
            .iter()
            .find(|e| message(e)[id_field] == id)
            .unwrap_or_else(|| panic!("no alert for {id}"))
            .clone()
    };
    let salpre_missed = find("call_id", "sal-1");
    assert_eq!(
        salpre_missed["Subject"],
        "Missed call from +1 415 555 2671 to Support"
    );
    let body = message(&salpre_missed);
    assert_eq!(body["alert_type"], "missed_call");
    assert_eq!(body["from"], CALLER);
    assert_eq!(body["to"], OUR_LINE);
    assert_eq!(body["caller_name"], "John Doe");
    assert_eq!(body["occurred_at"], time::to_key(at(T0 + 30_000)));
    assert_eq!(body["line_label"], "Support");
    assert_eq!(body["detail"], Value::Null);

    let error = find("call_id", "sal-2");
    assert_eq!(error["Subject"], "Call failed: Support to +1 415 555 2671");
    assert_eq!(message(&error)["detail"], "SIP 503 Service Unavailable");
    assert_eq!(
        message(&error)["occurred_at"],
        time::to_key(at(T0 + 60_000))
    );

    let sms = find("message_id", "msg-1");
    assert_eq!(sms["Subject"], "SMS from Support to +1 415 555 2671 failed");
    assert_eq!(
        message(&sms)["detail"],
        "Carrier rejected: number unreachable"
    );
    assert_eq!(message(&sms)["occurred_at"], time::to_key(at(T0 + 103_000)));
}

#[tokio::test]
async fn test_events_answered_calls_and_outbound_no_answers_never_alert() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    let writes = [
        Delivery::call(
            Provider::Salpre,
            "test-1",
            Direction::Inbound,
            "call_missed",
            T0,
        )
        .phase("unanswered_at")
        .test(),
        Delivery::call(
            Provider::Salpre,
            "ans-1",
            Direction::Inbound,
            "call_answered",
            T0,
        )
        .phase("answered_at"),
        Delivery::call(
            Provider::Salpre,
            "ans-1",
            Direction::Inbound,
            "call_ended",
            T0 + 60_000,
        )
        .phase("ended_at"),
        // A late "nobody answered" for a call that was answered.
        Delivery::call(
            Provider::Voxtelesys,
            "CA2",
            Direction::Inbound,
            "in-progress",
            T0 + 5_000,
        )
        .phase("answered_at"),
        Delivery::call(
            Provider::Voxtelesys,
            "CA2",
            Direction::Inbound,
            "no-answer",
            T0 + 1_000,
        )
        .phase("unanswered_at"),
        // Nobody picked up OUR call: not a missed call.
        Delivery::call(
            Provider::Salpre,
            "out-1",
            Direction::Outbound,
            "call_missed",
            T0,
        )
        .phase("unanswered_at"),
        Delivery::sms("msg-2", Direction::Outbound, "delivered", T0).phase("delivered_at"),
        Delivery::sms("msg-3", Direction::Outbound, "failed", T0)
            .phase("failed_at")
            .test(),
    ];
    for delivery in &writes {
        assert_eq!(delivery.write(&store).await, WriteOutcome::Recorded);
    }
    let records = bench.pending_records();
    assert!(
        records.len() >= writes.len() * 2,
        "the stream carried the writes"
    );
    bench.invoke().await;
    assert_eq!(bench.received(), Vec::<Value>::new());
}

#[tokio::test]
async fn a_failing_publish_fails_its_record_and_publishes_once_on_retry() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    let [ringing, missed] = missed_salpre_call();
    ringing.write(&store).await;
    missed.write(&store).await;
    Delivery::sms("msg-4", Direction::Outbound, "failed", T0 + 40_000)
        .phase("failed_at")
        .write(&store)
        .await;

    let missing_topic = format!("{}-gone", bench.stack.topic_arn);
    let broken = deps_for(&bench.stack, &missing_topic).await;
    let alerting_record = bench
        .pending_records()
        .into_iter()
        .find(|r| {
            callhooks::alerts::alert_for_record(
                &r.event_name,
                &r.change.old_image,
                &r.change.new_image,
            )
            .unwrap()
            .is_some()
        })
        .expect("a record that alerts");
    for _ in 0..2 {
        let failed = bench.invoke_with(&broken).await;
        assert_eq!(failed, [sequence(&alerting_record).to_string()]);
    }
    assert_eq!(bench.received(), Vec::<Value>::new(), "nothing published");

    // SNS is back: the retry publishes each alert once.
    bench.invoke().await;
    let envelopes = bench.received();
    let mut types: Vec<&str> = envelopes
        .iter()
        .map(|e| attribute(e, "alert_type"))
        .collect();
    types.sort();
    assert_eq!(types, ["missed_call", "sms_failed"]);
    bench.invoke().await;
    assert_eq!(bench.received(), Vec::<Value>::new());
}

#[tokio::test]
async fn a_malformed_summary_is_reported_failed_and_never_published() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("PK", AttributeValue::S("CALL#salpre#bad".into()))
        .item("SK", AttributeValue::S("SUMMARY".into()))
        .item("item_type", AttributeValue::S("call".into()))
        .item("provider", AttributeValue::S("salpre".into()))
        .item("call_id", AttributeValue::S("bad".into()))
        .item("failed_at", AttributeValue::S(time::to_key(at(T0))))
        .item("is_test", AttributeValue::S("no".into()))
        .send()
        .await
        .unwrap();
    let records = bench.pending_records();
    assert_eq!(records.len(), 1);
    let deps = deps_for(&bench.stack, &bench.stack.topic_arn).await;
    let failed = bench.invoke_with(&deps).await;
    assert_eq!(failed, [sequence(&records[0]).to_string()]);
    assert_eq!(bench.received(), Vec::<Value>::new());
}

#[tokio::test]
async fn sns_unreachable_fails_the_record_and_publishes_once_when_back() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    for delivery in missed_salpre_call() {
        delivery.write(&store).await;
    }
    // SNS refuses connections: the SDK's retries fail fast, the record is
    // reported failed, Lambda retries it (and after the mapping's maximum,
    // hands it to the dead-letter queue).
    let refused = format!("http://127.0.0.1:{}", callhooks_tests::free_port());
    let mut down = deps_for(&bench.stack, &bench.stack.topic_arn).await;
    down.sns = aws_sdk_sns::Client::new(&sdk_config_for(&refused, Deadline::ALERTS).await);
    for _ in 0..3 {
        assert_eq!(bench.invoke_with(&down).await.len(), 1);
    }
    assert_eq!(bench.received(), Vec::<Value>::new(), "nothing published");
    bench.invoke().await;
    let envelopes = bench.received();
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    assert_eq!(attribute(&envelopes[0], "alert_type"), "missed_call");
    bench.invoke().await;
    assert_eq!(bench.received(), Vec::<Value>::new(), "published once");
}
