//! The alerts function against moto: summaries written with `Store::write`
//! exactly as the webhooks write them, the REAL stream records read from
//! moto's DynamoDB Streams API (scripts/stream_pump.py, the same reader
//! `make dev` uses), the handler run over them like Lambda's event source
//! mapping would (a failed record and everything after it come again), the
//! published messages read from an SQS queue subscribed to the topic, and
//! the alert ledger and dead-letter queue read back. SNS failures are made
//! by publishers that fail in one way each, around the real one.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_sdk_dynamodb::types::AttributeValue;
use callhooks::alerts::delivery::{
    AlertDispatch, Clock, DeadLetters, Publisher, Replayed, SendError,
};
use callhooks::alerts::ledger::{ledger_key, AlertState, Claim, Ledger, LedgerEntry, LEASE};
use callhooks::alerts::outgoing::{Outgoing, MAX_BODY_BYTES};
use callhooks::alerts::stream::{handle, AlertStreamDeps, SnsPublisher, SqsDeadLetters};
use callhooks::config::NumberConfig;
use callhooks::event::{Channel, Direction, Event, Provider};
use callhooks::phone::PhoneNumber;
use callhooks::runtime::Deadline;
use callhooks::store::plan::{s, WritePlan};
use callhooks::store::{keys, Store, WriteOutcome};
use callhooks::time::{self, Timestamp};
use callhooks_tests::{sdk_config_for, TestStack};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

const CALLER: &str = "+14155552671";
const OUR_LINE: &str = "+18339664835";
const T0: i64 = 1_795_449_082_000;

fn pump(endpoint: &str, args: &[&str]) -> String {
    String::from_utf8(callhooks_tests::stream_pump(endpoint, args)).unwrap()
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap()
}

fn number(n: &str) -> PhoneNumber {
    PhoneNumber::parse(n).unwrap()
}

/// One table and topic, a queue subscribed to the topic, the dead-letter
/// queue, and the stream position this "event source mapping" has
/// checkpointed.
struct Bench {
    stack: TestStack,
    queue_url: String,
    dead_letter_url: String,
    done: HashSet<String>,
    deps: AlertStreamDeps,
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
        let dead_letter_url = sqs(&stack)
            .await
            .create_queue()
            .queue_name(format!("{}-dlq", stack.table_name))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let deps = deps_for(&stack, &stack.topic_arn, Some(&dead_letter_url)).await;
        Bench {
            stack,
            queue_url,
            dead_letter_url,
            done: HashSet::new(),
            deps,
        }
    }

    fn store(&self) -> Store {
        self.stack.store()
    }

    /// Working dependencies (fresh clients, real clock).
    async fn deps(&self) -> AlertStreamDeps {
        deps_for(
            &self.stack,
            &self.deps.publisher.topic_arn,
            Some(&self.dead_letter_url),
        )
        .await
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
        // The per-day counters' own records never pass the event source
        // mapping's filter (template.yaml); every other record is handed over.
        let is_counter = |r: &EventRecord| {
            let image = serde_json::to_value(&r.change.new_image).unwrap_or_default();
            image[keys::ITEM_TYPE]["S"].as_str() == Some(keys::DAILY_COUNTS_ITEM_TYPE)
        };
        event
            .records
            .into_iter()
            .filter(|r| !self.done.contains(sequence(r)) && !is_counter(r))
            .collect()
    }

    /// One invocation over the pending records with `deps`; what succeeded
    /// is checkpointed. Returns the reported failures' sequence numbers.
    async fn invoke_with<P: Publisher, D: DeadLetters>(
        &mut self,
        deps: &AlertStreamDeps<P, D>,
    ) -> Vec<String> {
        self.invoke_until(deps, None).await
    }

    /// [`Bench::invoke_with`], for an invocation that times out at `deadline`.
    async fn invoke_until<P: Publisher, D: DeadLetters>(
        &mut self,
        deps: &AlertStreamDeps<P, D>,
        deadline: Option<Timestamp>,
    ) -> Vec<String> {
        let records = self.pending_records();
        let mut event = StreamEvent::default();
        event.records = records.clone();
        let response = handle(deps, event, deadline).await;
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
        let deps = self.deps().await;
        let failed = self.invoke_with(&deps).await;
        assert!(failed.is_empty(), "unexpected failures {failed:?}");
        failed
    }

    /// Forgets the checkpoint: the next invocation gets every record again
    /// (a batch run again after a crash or timeout).
    fn rewind(&mut self) {
        self.done.clear();
    }

    /// The SNS envelopes delivered to the queue since the last call.
    fn received(&self) -> Vec<Value> {
        let json = pump(
            &self.stack.endpoint,
            &["receive", "--queue-url", &self.queue_url],
        );
        serde_json::from_str(&json).unwrap()
    }

    /// The dead-letter copies sent since the last call.
    async fn dead_letters(&self) -> Vec<Value> {
        callhooks_tests::take_json_messages(&sqs(&self.stack).await, &self.dead_letter_url).await
    }

    fn ledger(&self) -> Ledger {
        Ledger::new(self.store(), 30)
    }

    /// Every alert in the ledger.
    async fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.ledger()
            .list(at(T0 - 86_400_000), at(T0 + 86_400_000))
            .await
            .unwrap()
    }

    /// The first pending record that raises an alert, and its alert.
    fn alerting_record(&self) -> (EventRecord, callhooks::alerts::Alert) {
        self.pending_records()
            .into_iter()
            .find_map(|r| {
                let alert = callhooks::alerts::alert_for_record(
                    &r.event_name,
                    &r.change.old_image,
                    &r.change.new_image,
                )
                .unwrap()?;
                Some((r, alert))
            })
            .expect("a record that alerts")
    }
}

async fn sqs(stack: &TestStack) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config_for(&stack.endpoint, Deadline::ALERTS).await)
}

async fn deps_for(
    stack: &TestStack,
    topic_arn: &str,
    dead_letters: Option<&str>,
) -> AlertStreamDeps {
    let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
    let labels = sdk_config_for(&stack.endpoint, Deadline::BEST_EFFORT_READ).await;
    AlertStreamDeps {
        publisher: SnsPublisher {
            sns: aws_sdk_sns::Client::new(&config),
            topic_arn: topic_arn.to_string(),
        },
        ledger: Ledger::new(
            Store::new(aws_sdk_dynamodb::Client::new(&config), &stack.table_name),
            30,
        ),
        dead_letters: dead_letters.map(|url| SqsDeadLetters::new(config.clone(), url)),
        labels: Some(Store::new(
            aws_sdk_dynamodb::Client::new(&labels),
            &stack.table_name,
        )),
        clock: Clock::default(),
    }
}

/// The same dependencies with another publisher.
fn with_publisher<P, Q, D>(deps: AlertStreamDeps<P, D>, publisher: Q) -> AlertStreamDeps<Q, D> {
    AlertStreamDeps {
        publisher,
        ledger: deps.ledger,
        dead_letters: deps.dead_letters,
        labels: deps.labels,
        clock: deps.clock,
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
    let broken = deps_for(&bench.stack, &missing_topic, Some(&bench.dead_letter_url)).await;
    let (alerting_record, _) = bench.alerting_record();
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

    let entries = bench.ledger_entries().await;
    assert_eq!(entries.len(), 2);
    assert!(entries.iter().all(|e| e.state == AlertState::Published));
    let missed = entries
        .iter()
        .find(|e| e.alert_type == "missed_call")
        .unwrap();
    assert_eq!(missed.attempts, 3, "two failed attempts, then published");
    assert!(missed.last_error.as_deref().unwrap().contains("NotFound"));
    assert!(bench.dead_letters().await.is_empty());
}

#[tokio::test]
async fn an_unreadable_record_goes_whole_to_the_dead_letter_queue() {
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
    // Without a queue to keep it, it is retried (the mapping's own
    // on-failure destination then records where it was).
    let no_queue = deps_for(&bench.stack, &bench.stack.topic_arn, None).await;
    assert_eq!(
        bench.invoke_with(&no_queue).await,
        [sequence(&records[0]).to_string()]
    );
    // With one, it is copied whole and done: retrying cannot help it.
    bench.invoke().await;
    assert_eq!(bench.received(), Vec::<Value>::new());
    let letters = bench.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["kind"], "unreadable_stream_record");
    let reason = letters[0]["reason"].as_str().unwrap();
    assert!(reason.contains("new image of a summary"), "{reason}");
    let image = &letters[0]["record"]["dynamodb"]["NewImage"];
    assert_eq!(image["call_id"]["S"], "bad");
    assert_eq!(image["is_test"]["S"], "no");
    assert!(bench.ledger_entries().await.is_empty());
}

#[tokio::test]
async fn sns_unreachable_fails_the_record_and_publishes_once_when_back() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    for delivery in missed_salpre_call() {
        delivery.write(&store).await;
    }
    // SNS refuses connections: the SDK's retries fail fast, the record is
    // reported failed and Lambda retries it.
    let refused = callhooks_tests::closed_endpoint();
    let mut down = bench.deps().await;
    down.publisher.sns =
        aws_sdk_sns::Client::new(&sdk_config_for(&refused, Deadline::ALERTS).await);
    for _ in 0..2 {
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

/// SNS takes the message, and its answer is lost on the way back (an SDK
/// attempt timing out after SNS accepted): the first `lose` publishes.
struct LosesAnswers {
    sns: SnsPublisher,
    lose: AtomicUsize,
}

impl Publisher for LosesAnswers {
    async fn publish(&self, message: &Outgoing) -> Result<String, SendError> {
        let id = self.sns.publish(message).await?;
        let lost = self
            .lose
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if lost {
            return Err(SendError::Unanswered(format!(
                "operation timeout (SNS took it as {id})"
            )));
        }
        Ok(id)
    }
}

#[tokio::test]
async fn sns_accepting_but_losing_its_answer_sends_copies_of_one_id_and_one_ledger_entry() {
    let mut bench = Bench::new().await;
    for delivery in missed_salpre_call() {
        delivery.write(&bench.store()).await;
    }
    let deps = bench.deps().await;
    let sns = SnsPublisher {
        sns: deps.publisher.sns.clone(),
        topic_arn: deps.publisher.topic_arn.clone(),
    };
    let lossy = with_publisher(
        deps,
        LosesAnswers {
            sns,
            lose: AtomicUsize::new(1),
        },
    );
    assert_eq!(bench.invoke_with(&lossy).await.len(), 1, "retried");
    let first = bench.received();
    assert_eq!(first.len(), 1, "SNS did take it");
    assert!(bench.invoke_with(&lossy).await.is_empty());
    let second = bench.received();
    assert_eq!(second.len(), 1);
    // Two copies reached subscribers, both with the one id to drop by.
    let alert_id = attribute(&first[0], "alert_id");
    assert_eq!(alert_id.len(), 32);
    assert_eq!(attribute(&second[0], "alert_id"), alert_id);
    assert_eq!(message(&second[0])["alert_id"], alert_id);
    assert_eq!(message(&first[0]), message(&second[0]));
    // One alert in the ledger, published with the message SNS answered for.
    let entries = bench.ledger_entries().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].alert_id, alert_id);
    assert_eq!(entries[0].state, AlertState::Published);
    assert_eq!(entries[0].attempts, 2);
    assert_eq!(
        entries[0].sns_message_id.as_deref(),
        second[0]["MessageId"].as_str()
    );
    // From now on nothing sends it again.
    bench.rewind();
    bench.invoke().await;
    assert_eq!(bench.received(), Vec::<Value>::new());
}

#[tokio::test]
async fn the_same_batch_run_again_publishes_nothing_more() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    for delivery in missed_salpre_call() {
        delivery.write(&store).await;
    }
    Delivery::sms("msg-5", Direction::Outbound, "failed", T0 + 40_000)
        .phase("failed_at")
        .write(&store)
        .await;
    bench.invoke().await;
    assert_eq!(bench.received().len(), 2);
    // The function timed out after publishing: Lambda runs the whole batch
    // again, twice.
    for _ in 0..2 {
        bench.rewind();
        bench.invoke().await;
    }
    assert_eq!(bench.received(), Vec::<Value>::new());
    let entries = bench.ledger_entries().await;
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        assert_eq!(entry.state, AlertState::Published);
        assert_eq!(entry.attempts, 1);
        assert!(entry.sns_message_id.is_some());
    }
}

fn past_the_lease() -> Clock {
    Clock {
        skew: jiff::SignedDuration::try_from(LEASE).unwrap() + jiff::SignedDuration::from_secs(1),
    }
}

#[tokio::test]
async fn a_crash_between_claim_and_publish_is_taken_over_after_the_lease() {
    let mut bench = Bench::new().await;
    for delivery in missed_salpre_call() {
        delivery.write(&bench.store()).await;
    }
    let (record, alert) = bench.alerting_record();
    // An attempt claimed the alert and crashed before publishing.
    let claim = bench
        .ledger()
        .claim(&alert, &Outgoing::for_alert(&alert), Timestamp::now())
        .await
        .unwrap();
    assert!(
        matches!(claim, Claim::Claimed(ref e) if e.attempts == 1),
        "{claim:?}"
    );
    // Lambda's retry comes at once: the claim still holds, nothing goes out.
    let deps = bench.deps().await;
    assert_eq!(
        bench.invoke_with(&deps).await,
        [sequence(&record).to_string()]
    );
    assert_eq!(bench.received(), Vec::<Value>::new());
    // Once the lease has passed, the next attempt takes it over.
    let mut later = bench.deps().await;
    later.clock = past_the_lease();
    assert!(bench.invoke_with(&later).await.is_empty());
    let envelopes = bench.received();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(attribute(&envelopes[0], "alert_id"), alert.alert_id());
    let entry = bench
        .ledger()
        .get(&ledger_key(&alert))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, AlertState::Published);
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.lease_until, None);
    bench.rewind();
    assert!(bench.invoke_with(&later).await.is_empty());
    assert_eq!(bench.received(), Vec::<Value>::new());
}

#[tokio::test]
async fn a_claim_about_to_run_out_is_waited_for_within_the_invocation() {
    let mut bench = Bench::new().await;
    for delivery in missed_salpre_call() {
        delivery.write(&bench.store()).await;
    }
    let (_, alert) = bench.alerting_record();
    // Claimed by an attempt that crashed almost a lease ago.
    let claimed_at = Timestamp::now()
        .checked_sub(jiff::SignedDuration::try_from(LEASE).unwrap())
        .unwrap()
        .checked_add(jiff::SignedDuration::from_millis(1500))
        .unwrap();
    bench
        .ledger()
        .claim(&alert, &Outgoing::for_alert(&alert), claimed_at)
        .await
        .unwrap();
    let deps = bench.deps().await;
    let deadline = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(60))
        .unwrap();
    let started = std::time::Instant::now();
    assert!(bench.invoke_until(&deps, Some(deadline)).await.is_empty());
    assert!(started.elapsed() >= std::time::Duration::from_millis(1000));
    assert_eq!(bench.received().len(), 1);
    // With too little time left, the record is retried instead.
    let mut other = Delivery::sms("msg-6", Direction::Outbound, "failed", T0 + 50_000);
    other = other.phase("failed_at");
    other.write(&bench.store()).await;
    let (record, alert) = bench.alerting_record();
    bench
        .ledger()
        .claim(&alert, &Outgoing::for_alert(&alert), Timestamp::now())
        .await
        .unwrap();
    let soon = Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(20))
        .unwrap();
    assert_eq!(
        bench.invoke_until(&deps, Some(soon)).await,
        [sequence(&record).to_string()]
    );
}

#[tokio::test]
async fn an_oversize_detail_is_cut_to_fit_sns_and_kept_whole_in_the_ledger() {
    let mut bench = Bench::new().await;
    let store = bench.store();
    let detail = format!("SIP 500 {}", "trace line é\n".repeat(22_000));
    assert!(detail.len() > 300_000);
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("PK", AttributeValue::S("CALL#salpre#big".into()))
        .item("SK", AttributeValue::S("SUMMARY".into()))
        .item("item_type", AttributeValue::S("call".into()))
        .item("provider", AttributeValue::S("salpre".into()))
        .item("call_id", AttributeValue::S("big".into()))
        .item("direction", AttributeValue::S("outbound".into()))
        .item("from", AttributeValue::S(OUR_LINE.into()))
        .item("to", AttributeValue::S(CALLER.into()))
        .item("failed_at", AttributeValue::S(time::to_key(at(T0))))
        .item("error_message", AttributeValue::S(detail.clone()))
        .send()
        .await
        .unwrap();
    bench.invoke().await;
    let envelopes = bench.received();
    assert_eq!(envelopes.len(), 1);
    let published = envelopes[0]["Message"].as_str().unwrap();
    assert!(published.len() <= MAX_BODY_BYTES, "{}", published.len());
    let body = message(&envelopes[0]);
    let kept = body["detail"].as_str().unwrap();
    assert!(detail.starts_with(kept) && kept.len() > 200_000);
    let cut = body["truncated"]["detail"].as_u64().unwrap();
    assert_eq!(kept.len() as u64 + cut, detail.len() as u64);
    // The ledger has the whole message.
    let entries = bench.ledger_entries().await;
    assert_eq!(entries.len(), 1);
    let whole: Value = serde_json::from_str(&entries[0].message).unwrap();
    assert_eq!(whole["detail"], detail.as_str());
    assert_eq!(whole.get("truncated"), None);
    assert_eq!(entries[0].state, AlertState::Published);
}

#[tokio::test]
async fn a_poison_alert_is_kept_failed_whole_and_replay_publishes_it_once() {
    let mut bench = Bench::new().await;
    for delivery in missed_salpre_call() {
        delivery.write(&bench.store()).await;
    }
    let (_, alert) = bench.alerting_record();
    // SNS refuses it every time (here: a topic that is gone).
    let missing_topic = format!("{}-gone", bench.stack.topic_arn);
    let broken = deps_for(&bench.stack, &missing_topic, Some(&bench.dead_letter_url)).await;
    for _ in 1..callhooks::alerts::ledger::MAX_PUBLISH_ATTEMPTS {
        assert_eq!(bench.invoke_with(&broken).await.len(), 1);
    }
    // The last attempt keeps it and lets the shard move on.
    assert!(bench.invoke_with(&broken).await.is_empty());
    assert_eq!(bench.received(), Vec::<Value>::new());

    let letters = bench.dead_letters().await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(letter["kind"], "alert_not_published");
    assert_eq!(letter["alert_id"], alert.alert_id());
    assert_eq!(letter["attempts"], 3);
    assert!(letter["error"].as_str().unwrap().contains("NotFound"));
    assert_eq!(letter["message"]["call_id"], "sal-1");
    assert_eq!(letter["message"]["alert_type"], "missed_call");
    assert_eq!(letter["message"]["alert_id"], alert.alert_id());
    assert_eq!(letter["message_attributes"]["alert_id"], alert.alert_id());
    assert_eq!(letter["subject"], alert.subject());
    let key = ledger_key(&alert);
    assert_eq!(letter["ledger"]["PK"], key.pk.as_str());
    assert_eq!(letter["ledger"]["SK"], key.sk.as_str());

    let entry = bench.ledger().get(&key).await.unwrap().unwrap();
    assert_eq!(entry.state, AlertState::Failed);
    assert_eq!(entry.attempts, 3);
    assert!(entry.dead_lettered);
    assert!(entry.failed_at.is_some());
    assert_eq!(
        serde_json::from_str::<Value>(&entry.message).unwrap(),
        serde_json::from_str::<Value>(&alert.message_body()).unwrap()
    );

    // The batch again, SNS back: a failed alert waits for the operator.
    bench.rewind();
    bench.invoke().await;
    assert_eq!(bench.received(), Vec::<Value>::new());
    assert!(bench.dead_letters().await.is_empty(), "copied once");

    // The operator's replay publishes it once, and says so.
    let deps = bench.deps().await;
    let dispatch = AlertDispatch {
        ledger: &deps.ledger,
        publisher: &deps.publisher,
        dead_letters: None::<&SqsDeadLetters>,
        clock: Clock::default(),
        deadline: None,
    };
    let Replayed::Published(_, sns_message_id) = dispatch.replay(&key, false).await.unwrap() else {
        panic!("not replayed");
    };
    let envelopes = bench.received();
    assert_eq!(envelopes.len(), 1);
    assert_eq!(envelopes[0]["MessageId"], sns_message_id.as_str());
    let body = message(&envelopes[0]);
    assert_eq!(body["replayed"], true);
    assert_eq!(body["alert_id"], alert.alert_id());
    assert_eq!(attribute(&envelopes[0], "alert_id"), alert.alert_id());
    assert!(matches!(
        dispatch.replay(&key, false).await.unwrap(),
        Replayed::AlreadyPublished(_)
    ));
    assert_eq!(bench.received(), Vec::<Value>::new());
    let entry = bench.ledger().get(&key).await.unwrap().unwrap();
    assert_eq!(entry.state, AlertState::Published);
    assert_eq!(entry.replays, 1);
    assert_eq!(
        entry.sns_message_id.as_deref(),
        Some(sns_message_id.as_str())
    );
    // Sent once more on purpose.
    assert!(matches!(
        dispatch.replay(&key, true).await.unwrap(),
        Replayed::Published(..)
    ));
    assert_eq!(bench.received().len(), 1);
}

/// DynamoDB's item size rule: each attribute's name plus its value
/// (strings: UTF-8 bytes; numbers: about one byte per two significant
/// digits, plus one; booleans: one byte).
fn item_size(item: &callhooks::store::plan::Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    callhooks::attribute::AttributeValue::S(text) => text.len(),
                    callhooks::attribute::AttributeValue::N(number) => {
                        let digits = number.trim_matches(|c| c == '0' || c == '-' || c == '.');
                        digits.len().div_ceil(2) + 1
                    }
                    callhooks::attribute::AttributeValue::Bool(_)
                    | callhooks::attribute::AttributeValue::Null(_) => 1,
                    other => panic!("unexpected attribute {other:?}"),
                }
        })
        .sum()
}

/// Write units of one write: 1 per KB of the larger of the item before
/// and after.
fn write_units(before: usize, after: usize) -> usize {
    before.max(after).div_ceil(1024)
}

#[tokio::test]
async fn the_ledger_costs_two_writes_of_at_most_two_units_per_alert() {
    let mut bench = Bench::new().await;
    bench
        .store()
        .put_number_config(&NumberConfig {
            number: number(OUR_LINE),
            label: Some("Support line".into()),
            voxtelesys: None,
            retell: None,
        })
        .await
        .unwrap();
    for delivery in missed_salpre_call() {
        delivery.write(&bench.store()).await;
    }
    let (_, mut alert) = bench.alerting_record();
    alert.line_label = Some("Support line".into());
    let raw = |key: callhooks::alerts::outgoing::LedgerKey| {
        let store = bench.store();
        async move {
            store
                .client()
                .get_item()
                .table_name(store.table())
                .key("PK", AttributeValue::S(key.pk))
                .key("SK", AttributeValue::S(key.sk))
                .send()
                .await
                .unwrap()
                .item
                .unwrap()
        }
    };
    let ledger = bench.ledger();
    let Claim::Claimed(entry) = ledger
        .claim(&alert, &Outgoing::for_alert(&alert), Timestamp::now())
        .await
        .unwrap()
    else {
        panic!("not claimed");
    };
    let claimed = item_size(&callhooks::store::sdk::from_sdk_item(
        &raw(entry.key()).await,
    ));
    assert!(ledger
        .mark_published(
            &entry.key(),
            1,
            "3f7a2a6e-5b0c-5e54-9a6c-1f1e5b2d8c4e",
            Timestamp::now(),
            false
        )
        .await
        .unwrap());
    let published = item_size(&callhooks::store::sdk::from_sdk_item(
        &raw(entry.key()).await,
    ));
    let units = (write_units(0, claimed), write_units(claimed, published));
    eprintln!(
        "ledger item: {claimed} bytes claimed, {published} bytes published: {units:?} write units"
    );
    assert!(units.0 <= 2 && units.1 <= 2, "{units:?}");
    // Nothing else was written: the run over the stream adds no item.
    bench.invoke().await;
    assert_eq!(bench.ledger_entries().await.len(), 1);
}
