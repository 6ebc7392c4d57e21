//! What moto reports as consumed capacity, beside DynamoDB's documented
//! rules (`callhooks::store::units`), and what `Store::write_measured`
//! returns for it. moto does not follow the rules: these tests say how,
//! so the cost bench sizes requests itself (and fails here first if moto
//! starts to follow them, time to trust its figures).

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use callhooks::attribute::AttributeValue;
use callhooks::event::{Channel, Direction, Event, Provider};
use callhooks::phone::PhoneNumber;
use callhooks::store::plan::{item_bytes, Item, WritePlan};
use callhooks::store::units;
use callhooks::store::WriteOutcome;
use callhooks::time::Timestamp;
use callhooks_tests::TestStack;

fn item(pk: &str, raw_bytes: usize) -> Item {
    Item::from([
        ("PK".to_string(), AttributeValue::S(pk.into())),
        ("SK".to_string(), AttributeValue::S("EVENT".into())),
        ("raw".to_string(), AttributeValue::S("r".repeat(raw_bytes))),
    ])
}

#[tokio::test]
async fn moto_reports_fixed_figures_not_dynamodbs_rules() {
    let stack = TestStack::new().await;
    let client = stack.dynamodb();
    let big = item("UNITS#1", 3 * 1024);
    let bytes = item_bytes(&big);
    let put = client
        .put_item()
        .table_name(&stack.table_name)
        .set_item(Some(callhooks::store::sdk::to_sdk_item(&big)))
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    // DynamoDB: 4 WRU for an item of 3 KB and a few bytes; moto: 1.
    assert_eq!(units::write_units(bytes), 4);
    let reported = put.consumed_capacity().and_then(|c| c.capacity_units());
    assert_eq!(reported, Some(1.0));

    let get = client
        .get_item()
        .table_name(&stack.table_name)
        .key(
            "PK",
            aws_sdk_dynamodb::types::AttributeValue::S("UNITS#1".into()),
        )
        .key(
            "SK",
            aws_sdk_dynamodb::types::AttributeValue::S("EVENT".into()),
        )
        .consistent_read(true)
        .return_consumed_capacity(ReturnConsumedCapacity::Total)
        .send()
        .await
        .unwrap();
    // DynamoDB: 1 RRU for a strongly consistent read under 4 KB; moto: 0.5.
    assert_eq!(units::read_units(bytes, true), 1.0);
    let reported = get.consumed_capacity().and_then(|c| c.capacity_units());
    assert_eq!(reported, Some(0.5));
}

fn event(raw: &str) -> Event {
    let at = Timestamp::from_millisecond(1_795_449_082_000).unwrap();
    Event {
        provider: Provider::Salpre,
        channel: Channel::Call,
        provider_id: "units-1".into(),
        direction: Some(Direction::Inbound),
        from: PhoneNumber::read("+14155552671"),
        to: PhoneNumber::read("+18339664835"),
        caller_name: None,
        kind: "call_initiated".into(),
        occurred_at: at,
        received_at: at,
        is_test: false,
        delivery_key: "d1".into(),
        raw: raw.into(),
        anomalies: Vec::new(),
    }
}

#[tokio::test]
async fn a_transaction_moto_reports_nothing_for_is_sized_by_the_rules() {
    let stack = TestStack::new().await;
    let store = stack.store();
    let plan = WritePlan::for_event(&event(&"x".repeat(1500)), 30);
    let (outcome, consumed) = store.write_measured(&plan).await.unwrap();
    assert_eq!(outcome, WriteOutcome::Recorded);
    // moto answers a transaction with an empty ConsumedCapacity list.
    assert!(!consumed.reported);
    let planned = units::plan_units(&plan);
    assert!(planned.transactional);
    assert_eq!(consumed.write_units, planned.write_units as f64);
    // The event (1.5 KB: 2 KB, twice) and the summary (under 1 KB, twice,
    // and once in each of the three indexes its numbers and day put it in).
    assert_eq!(planned.write_units, 4 + 2 + 3);

    // The same delivery again: a duplicate, nothing written.
    let (again, _) = store.write_measured(&plan).await.unwrap();
    assert_eq!(again, WriteOutcome::Duplicate);
}

#[tokio::test]
async fn a_single_put_reports_what_dynamodb_said() {
    let stack = TestStack::new().await;
    let store = stack.store();
    let mut plan = WritePlan::for_event(&event("{}"), 30);
    plan.updates.clear();
    let (outcome, consumed) = store.write_measured(&plan).await.unwrap();
    assert_eq!(outcome, WriteOutcome::Recorded);
    assert!(consumed.reported);
    assert_eq!(consumed.write_units, 1.0);
    assert!(!consumed.planned.transactional);
}
