//! The spillway writes only what a webhook signed: a message on the queue
//! whose MAC does not verify (unsigned, another key's, or a signed message
//! edited to name another provider's route) goes whole to the spillway's
//! dead-letter queue and nothing reaches the table; a signed one is kept.

use callhooks::ingest::delivery::{Delivery, Route};
use callhooks::ingest::spill::messages;
use callhooks::ingest::spill_key::SpillKey;
use callhooks::time::Timestamp;
use callhooks_tests::{spill_key, take_json_messages, TestStack};

fn salpre_delivery() -> Delivery {
    Delivery {
        route: Route::SalpreEvents,
        is_post: true,
        content_type: Some("application/json".into()),
        query: String::new(),
        body: br#"{"event_type":"call_initiated","call_id":"48213","from_number":"+14155552671","to_number":"+18339664835","timestamp":"2026-11-23T15:51:22Z"}"#.to_vec(),
        decoding: Default::default(),
        user_agent: None,
        received_at: Timestamp::from_millisecond(1_795_449_082_123).unwrap(),
    }
}

async fn put_on_queue(stack: &TestStack, body: &str) {
    aws_sdk_sqs::Client::new(&stack.config)
        .send_message()
        .queue_url(&stack.spillway_queue_url)
        .message_body(body)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn forged_spill_messages_go_to_the_dead_letter_queue_and_never_to_the_table() {
    let stack = TestStack::new().await;
    let other_key = SpillKey::new(b"someone else's key").unwrap();
    let mut unsigned = messages(&salpre_delivery()).remove(0);
    unsigned.mac = None;
    let mut wrong_key = unsigned.clone();
    wrong_key.mac = Some(other_key.sign(&wrong_key));
    let mut rerouted = unsigned.clone();
    rerouted.mac = Some(spill_key().sign(&rerouted));
    rerouted.route = "/retell/events".into();
    let forged = [unsigned, wrong_key, rerouted];
    for message in &forged {
        put_on_queue(&stack, &serde_json::to_string(message).unwrap()).await;
    }
    // Taken off the spillway queue (moved, not retried) ...
    assert_eq!(stack.drain_spillway().await, forged.len());
    // ... written nowhere ...
    assert!(
        stack.all_items().await.is_empty(),
        "a forged message was written"
    );
    // ... and kept whole in the dead-letter queue.
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let dead = take_json_messages(&sqs, &stack.spillway_dead_letter_queue_url).await;
    assert_eq!(dead.len(), forged.len());
    for message in &forged {
        assert!(
            dead.contains(&serde_json::to_value(message).unwrap()),
            "{message:?}"
        );
    }
}

#[tokio::test]
async fn a_signed_spill_message_is_written_once() {
    let stack = TestStack::new().await;
    let sent = stack
        .spillway()
        .await
        .send(&salpre_delivery())
        .await
        .unwrap();
    assert_eq!(sent, 1);
    assert_eq!(stack.drain_spillway().await, 1);
    let counts = stack.count_by_type().await;
    assert!(!counts.contains_key("unrecognized"), "{counts:?}");
    assert!(!counts.is_empty(), "nothing written");
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    assert!(
        take_json_messages(&sqs, &stack.spillway_dead_letter_queue_url)
            .await
            .is_empty()
    );
}
