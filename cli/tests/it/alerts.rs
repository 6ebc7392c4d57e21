//! `callhooks alerts list` and `alerts replay`, as the built binary,
//! against moto: one alert published and one kept failed by the alerts
//! function's own delivery, then listed, replayed once, and not again.

use callhooks::alerts::delivery::{AlertDispatch, Clock, Delivered};
use callhooks::alerts::ledger::{Ledger, MAX_PUBLISH_ATTEMPTS};
use callhooks::alerts::stream::{SnsPublisher, SqsDeadLetters};
use callhooks::alerts::{Alert, AlertType};
use callhooks::runtime::Deadline;
use callhooks::time::{self, Timestamp};
use callhooks_tests::{sdk_config_for, TestStack};
use serde_json::Value;
use std::process::Output;

/// Runs the binary the way a user does: environment only, no terminal.
async fn callhooks(stack: &TestStack, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut with_stack = vec![
        ("AWS_ENDPOINT_URL", stack.endpoint.as_str()),
        ("TABLE_NAME", stack.table_name.as_str()),
    ];
    with_stack.extend_from_slice(env);
    callhooks_tests::run_cli(env!("CARGO_BIN_EXE_callhooks"), &with_stack, args).await
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn json(stack: &TestStack, args: &[&str]) -> Value {
    let out = callhooks(stack, &[], &[args, &["--json"]].concat()).await;
    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn alert(alert_type: AlertType, call_id: &str, minutes_ago: i64) -> Alert {
    let occurred = Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(minutes_ago))
        .unwrap();
    // From JSON, so fields other alert rules add need no edit here.
    serde_json::from_value(serde_json::json!({
        "alert_type": alert_type,
        "provider": "salpre",
        "call_id": call_id,
        "from": "+14155552671",
        "to": "+18339664835",
        "direction": "inbound",
        "caller_name": "John Doe",
        "occurred_at": time::to_key(occurred),
    }))
    .unwrap()
}

/// A deployed stack (in moto) whose AlertsTopicArn output is the test's
/// topic; returns its name.
async fn stack_with_topic(stack: &TestStack) -> String {
    let template = serde_json::json!({
        "Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"AlertsTopicArn": {"Value": stack.topic_arn}},
    });
    let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
    let name = format!("{}-alerts", stack.table_name);
    aws_sdk_cloudformation::Client::new(&config)
        .create_stack()
        .stack_name(&name)
        .template_body(template.to_string())
        .send()
        .await
        .unwrap();
    name
}

/// A queue subscribed to the topic, and a reader of what reached it.
struct Subscriber {
    sqs: aws_sdk_sqs::Client,
    url: String,
}

impl Subscriber {
    async fn new(stack: &TestStack) -> Self {
        let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let url = sqs
            .create_queue()
            .queue_name(format!("{}-cli", stack.table_name))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = format!(
            "arn:aws:sqs:us-east-1:123456789012:{}-cli",
            stack.table_name
        );
        aws_sdk_sns::Client::new(&config)
            .subscribe()
            .topic_arn(&stack.topic_arn)
            .protocol("sqs")
            .endpoint(arn)
            .send()
            .await
            .unwrap();
        Subscriber { sqs, url }
    }

    /// The SNS envelopes that arrived since the last call.
    async fn received(&self) -> Vec<Value> {
        callhooks_tests::take_json_messages(&self.sqs, &self.url).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_list_shows_the_ledger_and_replay_publishes_a_failed_alert_once() {
    let stack = TestStack::new().await;
    let subscriber = Subscriber::new(&stack).await;
    let config = sdk_config_for(&stack.endpoint, Deadline::ALERTS).await;
    let ledger = Ledger::new(stack.store(), 30);
    let sns = |topic_arn: String| SnsPublisher {
        sns: aws_sdk_sns::Client::new(&config),
        topic_arn,
    };
    let dispatch = |publisher| AlertDispatch {
        ledger: &ledger,
        publisher,
        dead_letters: None::<&SqsDeadLetters>,
        clock: Clock::default(),
        deadline: None,
    };
    let working = sns(stack.topic_arn.clone());
    let broken = sns(format!("{}-gone", stack.topic_arn));

    let missed = alert(AlertType::MissedCall, "sal-1", 90);
    let Delivered::Published { sns_message_id, .. } =
        dispatch(&working).deliver(&missed).await.unwrap()
    else {
        panic!("not published");
    };
    let failed = alert(AlertType::CallError, "sal-2", 30);
    for _ in 1..MAX_PUBLISH_ATTEMPTS {
        assert!(dispatch(&broken).deliver(&failed).await.is_err());
    }
    assert!(matches!(
        dispatch(&broken).deliver(&failed).await.unwrap(),
        Delivered::KeptFailed { .. }
    ));
    assert_eq!(subscriber.received().await.len(), 1);

    let list = json(&stack, &["alerts", "list"]).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["alert_id"], failed.alert_id(), "newest first");
    assert_eq!(list[0]["state"], "failed");
    assert_eq!(list[0]["attempts"], 3);
    assert!(list[0]["last_error"].as_str().unwrap().contains("NotFound"));
    assert_eq!(list[1]["alert_id"], missed.alert_id());
    assert_eq!(list[1]["state"], "published");
    assert_eq!(list[1]["sns_message_id"], sns_message_id.as_str());
    assert_eq!(list[1]["alert_type"], "missed_call");
    assert_eq!(list[1]["provider"], "salpre");
    assert_eq!(list[1]["from"], "+14155552671");
    assert_eq!(list[1]["call_id"], "sal-1");
    // One page at a time: the newest, then what came before it.
    let newest = json(&stack, &["alerts", "list", "--limit", "1"]).await;
    assert_eq!(newest.as_array().unwrap().len(), 1);
    assert_eq!(newest[0]["alert_id"], failed.alert_id());
    let page = callhooks(&stack, &[], &["alerts", "list", "--limit", "1"]).await;
    let page = text(&page.stdout);
    let until = page
        .split("--until ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("a full page names the next one: {page}"));
    assert_eq!(until, newest[0]["occurred_at"].as_str().unwrap());
    let older = json(
        &stack,
        &["alerts", "list", "--limit", "1", "--until", until],
    )
    .await;
    assert_eq!(older.as_array().unwrap().len(), 1);
    assert_eq!(older[0]["alert_id"], missed.alert_id());
    let failed_only = json(&stack, &["alerts", "list", "--failed"]).await;
    assert_eq!(failed_only.as_array().unwrap().len(), 1);
    assert_eq!(
        json(&stack, &["alerts", "list", "--since", "10m"]).await,
        Value::Array(Vec::new())
    );
    let table = callhooks(&stack, &[], &["alerts", "list"]).await;
    let table = text(&table.stdout);
    let row = table
        .lines()
        .find(|l| l.contains(&missed.alert_id()))
        .unwrap_or_else(|| panic!("{table}"));
    for cell in [
        "published",
        "missed_call",
        "salpre",
        "+14155552671",
        &sns_message_id,
    ] {
        assert!(row.contains(cell), "{cell} in {row}");
    }
    assert!(table.lines().next().unwrap().contains("SNS MESSAGE ID"));

    // No topic (and samconfig.toml's stack is not deployed here): nothing
    // can be sent.
    let out = callhooks(&stack, &[], &["alerts", "replay", "--failed"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ALERTS_TOPIC_ARN"));
    // Neither ids nor --failed: a usage error.
    let topic = [("ALERTS_TOPIC_ARN", stack.topic_arn.as_str())];
    let out = callhooks(&stack, &topic, &["alerts", "replay"]).await;
    assert_eq!(out.status.code(), Some(2));

    // The topic from the stack's outputs, as the table is found.
    let deployed = stack_with_topic(&stack).await;
    let out = callhooks(
        &stack,
        &[],
        &["alerts", "replay", "--failed", "--stack", &deployed],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("published"),
        "{}",
        text(&out.stdout)
    );
    let envelopes = subscriber.received().await;
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    let body: Value = serde_json::from_str(envelopes[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(body["alert_id"], failed.alert_id());
    assert_eq!(body["replayed"], true);
    assert_eq!(
        envelopes[0]["MessageAttributes"]["alert_id"]["Value"],
        failed.alert_id()
    );

    // Once is enough: by id or --failed, nothing more goes out.
    let out = callhooks(&stack, &topic, &["alerts", "replay", &failed.alert_id()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("already published"));
    let out = callhooks(&stack, &topic, &["alerts", "replay", "--failed"]).await;
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("nothing to replay"));
    assert_eq!(subscriber.received().await, Vec::<Value>::new());
    let list = json(&stack, &["alerts", "list"]).await;
    assert_eq!(list[0]["state"], "published");
    assert_eq!(list[0]["replays"], 1);

    // --again sends a published alert once more, on purpose.
    let out = callhooks(
        &stack,
        &topic,
        &["alerts", "replay", "--again", &missed.alert_id(), "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result[0]["result"], "published");
    assert_eq!(subscriber.received().await.len(), 1);

    // An unknown id is a failure that says where to look.
    let out = callhooks(&stack, &topic, &["alerts", "replay", "0123abcd"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("not found"),
        "{}",
        text(&out.stderr)
    );
}
