//! `make bench-sweep`: what one sweep costs at 10,000 open lifecycles
//! (`SWEEP_BENCH_OPEN` to change it), against moto.
//!
//! Seeds that many open Salpre call summaries, each as the providers' write
//! plans leave it (its `call_initiated` noted by `lifecycle::note`, a
//! summary of a typical size), with batch writes; then runs the sweeper
//! three times: before any wait has run out (the usual sweep), when every
//! one is overdue (the worst sweep: all flagged), and once more (they have
//! left the open partitions). For each: queries, index entries read, the
//! read units moto reported and the read units DynamoDB would charge by the
//! project's units rules (`callhooks::store::units`: a query is sized by the
//! bytes it returns, eventually consistent), the flags' write units by the
//! same rules, and the time taken (moto on this machine, not DynamoDB).
//! Prints a Markdown table; not a test, nothing is asserted on time.

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use callhooks::lifecycle::{self, Waits};
use callhooks::store::plan::{b, item_bytes, n, s, Item, SummaryUpdate};
use callhooks::store::{keys, units};
use callhooks::sweep::{SweepReport, Sweeper};
use callhooks::time::{self, Timestamp};
use callhooks_tests::TestStack;
use std::time::Instant;

const T0: i64 = 1_795_449_082_000;

/// One open Salpre call's summary, as its first delivery's plan leaves it.
fn open_summary(i: usize, opened: Timestamp) -> Item {
    let call_id = format!("{}", 100_000 + i);
    let pk = keys::conversation_pk(
        callhooks::event::Channel::Call,
        callhooks::event::Provider::Salpre,
        &call_id,
    );
    let mut update = SummaryUpdate::new(&pk, keys::SUMMARY_SK);
    lifecycle::note(
        &mut update,
        &lifecycle::SALPRE_CALL,
        "call_initiated",
        opened,
    );
    let at = time::to_key(opened);
    let timeline = format!("{at}#call#salpre#{call_id}");
    let mut item: Item = update.key();
    for (name, value) in update.set_once.into_iter().chain(update.set) {
        item.insert(name, value);
    }
    for (name, value) in [
        ("item_type", s("call")),
        ("provider", s("salpre")),
        ("call_id", s(&call_id)),
        ("first_seen_at", s(&at)),
        ("initiated_at", s(&at)),
        ("direction", s("inbound")),
        ("from", s("+14155552671")),
        ("to", s("+18339664835")),
        ("from_text", s("+14155552671")),
        ("to_text", s("+18339664835")),
        ("source", s("salprebox:SALPRE_AABBCCDD")),
        ("is_test", b(false)),
        ("event_count", n(1)),
        ("expires_at", n(1_830_000_000)),
        (keys::GSI1PK, s("PHONE#+14155552671")),
        (keys::GSI1SK, s(&timeline)),
        (keys::GSI2PK, s("PHONE#+18339664835")),
        (keys::GSI2SK, s(&timeline)),
        (keys::GSI3PK, s(keys::day_pk(&at))),
        (keys::GSI3SK, s(&timeline)),
    ] {
        item.insert(name.to_string(), value);
    }
    item
}

async fn seed(stack: &TestStack, open: usize) -> usize {
    let client = stack.dynamodb();
    let mut bytes = 0;
    let items: Vec<Item> = (0..open)
        .map(|i| open_summary(i, Timestamp::from_millisecond(T0 + i as i64).unwrap()))
        .collect();
    for chunk in items.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|item| {
                bytes += item_bytes(item);
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
        while !requests.is_empty() {
            let output = client
                .batch_write_item()
                .request_items(&stack.table_name, requests)
                .send()
                .await
                .expect("seeded");
            requests = output
                .unprocessed_items
                .and_then(|mut u| u.remove(&stack.table_name))
                .unwrap_or_default();
        }
    }
    bytes / open.max(1)
}

struct Row {
    name: &'static str,
    report: SweepReport,
    seconds: f64,
    summary_bytes: usize,
}

impl Row {
    /// DynamoDB's read units for the index queries: each page sized by the
    /// bytes it returned (at most 1 MB a page), eventually consistent.
    fn sized_read_units(&self) -> f64 {
        let pages = self.report.queries.max(1);
        let per_page = self.report.index_bytes_read / pages;
        let mut units_total = 0.0;
        for _ in 0..pages {
            units_total += units::read_units(per_page, false);
        }
        units_total
    }

    /// Each flag: one UpdateItem sized by the summary after it, and the
    /// keys-only index entry moved (a delete and a put there).
    fn sized_write_units(&self) -> u64 {
        let flagged = self.report.flagged.len() as u64;
        flagged * (units::write_units(self.summary_bytes + 120) + 2)
    }
}

#[tokio::main]
async fn main() {
    let open: usize = std::env::var("SWEEP_BENCH_OPEN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let stack = TestStack::new().await;
    let started = Instant::now();
    let summary_bytes = seed(&stack, open).await;
    eprintln!(
        "seeded {open} open lifecycles ({summary_bytes} bytes a summary) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let waits = Waits::default();
    let wait_ms = waits.seconds(lifecycle::Wait::CallEnd) as i64 * 1000;
    // moto answers a query over thousands of index entries in seconds
    // (DynamoDB: milliseconds): a patient client, one attempt.
    let patient = callhooks::runtime::Deadline {
        total: std::time::Duration::from_secs(120),
        attempt: std::time::Duration::from_secs(120),
        connect: std::time::Duration::from_secs(5),
        max_attempts: 1,
    };
    let config = callhooks_tests::sdk_config_for(&stack.endpoint, patient).await;
    let store =
        callhooks::store::Store::new(aws_sdk_dynamodb::Client::new(&config), &stack.table_name);
    let sweeper = Sweeper::new(store, waits);
    let mut rows = Vec::new();
    for (name, now_ms) in [
        ("none overdue (the usual sweep)", T0 + wait_ms - 60_000),
        (
            "all overdue (every one flagged)",
            T0 + wait_ms + open as i64 + 60_000,
        ),
        (
            "again after (nothing left open)",
            T0 + wait_ms + open as i64 + 120_000,
        ),
    ] {
        let started = Instant::now();
        let report = sweeper
            .sweep(Timestamp::from_millisecond(now_ms).unwrap())
            .await;
        assert_eq!(report.error, None, "{name}");
        rows.push(Row {
            name,
            report,
            seconds: started.elapsed().as_secs_f64(),
            summary_bytes,
        });
    }
    println!(
        "Sweep at {open} open lifecycles (moto; units by the DynamoDB rules in store/units.rs)\n"
    );
    println!("| sweep | queries | entries read | flagged | RRU (moto) | RRU (DynamoDB) | WRU (DynamoDB) | time (moto) |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {} | {:.2} s |",
            row.name,
            row.report.queries,
            row.report.examined,
            row.report.flagged.len(),
            row.report.query_read_units,
            row.sized_read_units(),
            row.sized_write_units(),
            row.seconds,
        );
    }
    let all = &rows[1].report;
    println!(
        "\nindex entries: {:.0} bytes each (keys only); a summary: {summary_bytes} bytes",
        all.index_bytes_read as f64 / all.examined.max(1) as f64
    );
}
