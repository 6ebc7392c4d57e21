//! The calls list's reads: newest first, through the table's indexes only
//! (a phone number's two timeline indexes, else the day index one UTC day
//! after another), filtered and paged by the timeline sort key, never a
//! Scan. Each page reads a bounded number of items, so a rare filter costs
//! at most that and offers the next page from where it stopped.

use aws_sdk_dynamodb::types::AttributeValue;
use callhooks::daily_counts::{CallOutcome, INCOMPLETE_AT};
use callhooks::phone::PhoneNumber;
use callhooks::store::plan::Item;
use callhooks::store::{keys, CallSummary, Store, StoreError};

/// What the calls page asks for.
#[derive(Clone, Debug, Default)]
pub struct CallFilter {
    pub number: Option<PhoneNumber>,
    pub caller: Option<PhoneNumber>,
    pub provider: Option<String>,
    pub outcome: Option<CallOutcome>,
    /// Timeline keys: from `since` (inclusive) to `before` (exclusive).
    pub since: String,
    pub before: String,
}

/// One page of calls, and where the next one starts.
#[derive(Debug, Default)]
pub struct CallPage {
    pub calls: Vec<(CallSummary, CallOutcome)>,
    /// The `before` of the next page, if there may be more.
    pub next: Option<String>,
    pub items_read: usize,
    pub read_units: f64,
}

/// How many items one page may read at most (a filter that matches little
/// stops there and offers the next page).
pub const READ_BUDGET: usize = 2_000;

struct Partition {
    index: &'static str,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk: String,
}

struct SourceRead {
    items: Vec<(String, Item)>,
    /// Every partition was read to `since`.
    exhausted: bool,
    /// The lowest sort key read.
    lowest: Option<String>,
    read: usize,
    units: f64,
}

fn sort_key(item: &Item, attr: &str) -> String {
    item.get(attr)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn outcome_of(item: &Item, summary: &CallSummary) -> CallOutcome {
    let incomplete = item.get(INCOMPLETE_AT).and_then(|v| v.as_s().ok());
    CallOutcome::of(summary, incomplete.map(String::as_str))
}

fn involves(summary: &CallSummary, number: &PhoneNumber) -> bool {
    [&summary.from, &summary.to]
        .into_iter()
        .flatten()
        .any(|text| PhoneNumber::read(text).is_some_and(|n| n == *number))
}

impl CallFilter {
    fn keeps(&self, item: &Item) -> Option<(CallSummary, CallOutcome)> {
        if !keys::is_call(item) {
            return None;
        }
        let summary = CallSummary::from_item(item).ok()?;
        if self
            .provider
            .as_ref()
            .is_some_and(|p| *p != summary.provider)
        {
            return None;
        }
        if let (Some(number), Some(_)) = (&self.number, &self.caller) {
            if !involves(&summary, number) {
                return None;
            }
        }
        let outcome = outcome_of(item, &summary);
        if self.outcome.is_some_and(|o| o != outcome) {
            return None;
        }
        Some((summary, outcome))
    }

    /// The sources to read: the caller's (else the number's) two timeline
    /// indexes, or the day index from `before`'s day back to `since`'s.
    fn sources(&self) -> Vec<Vec<Partition>> {
        if let Some(phone) = self.caller.as_ref().or(self.number.as_ref()) {
            let pk = keys::phone_pk(phone);
            return vec![
                vec![Partition {
                    index: keys::GSI1,
                    pk_attr: keys::GSI1PK,
                    sk_attr: keys::GSI1SK,
                    pk: pk.clone(),
                }],
                vec![Partition {
                    index: keys::GSI2,
                    pk_attr: keys::GSI2PK,
                    sk_attr: keys::GSI2SK,
                    pk,
                }],
            ];
        }
        let day = |key: &str| {
            key.get(..10)
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
        };
        let (Some(mut day_at), Some(first)) = (day(&self.before), day(&self.since)) else {
            return vec![];
        };
        let mut days = Vec::new();
        while day_at >= first && days.len() < 400 {
            days.push(Partition {
                index: keys::GSI3,
                pk_attr: keys::GSI3PK,
                sk_attr: keys::GSI3SK,
                pk: keys::day_pk_of(day_at),
            });
            match day_at.yesterday() {
                Ok(d) => day_at = d,
                Err(_) => break,
            }
        }
        vec![days]
    }
}

async fn read_source(
    store: &Store,
    partitions: &[Partition],
    filter: &CallFilter,
    wanted: usize,
    budget: usize,
) -> Result<SourceRead, StoreError> {
    let mut out = SourceRead {
        items: Vec::new(),
        exhausted: true,
        lowest: None,
        read: 0,
        units: 0.0,
    };
    for partition in partitions {
        let mut start: Option<callhooks::store::sdk::SdkItem> = None;
        loop {
            if out.items.len() > wanted || out.read >= budget {
                out.exhausted = false;
                return Ok(out);
            }
            let page = (budget - out.read).clamp(1, 200) as i32;
            let output = store
                .client()
                .query()
                .table_name(store.table())
                .index_name(partition.index)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lower AND :upper")
                .expression_attribute_names("#pk", partition.pk_attr)
                .expression_attribute_names("#sk", partition.sk_attr)
                .expression_attribute_values(":pk", AttributeValue::S(partition.pk.clone()))
                .expression_attribute_values(":lower", AttributeValue::S(filter.since.clone()))
                .expression_attribute_values(":upper", AttributeValue::S(filter.before.clone()))
                .scan_index_forward(false)
                .limit(page)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    StoreError(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
                })?;
            // Read units by DynamoDB's rules (`store::units`; moto's own
            // figure does not follow them): an index query is eventually
            // consistent and sums the items it returns.
            let items = callhooks::store::sdk::items(output.items);
            let bytes: usize = items.iter().map(callhooks::store::plan::item_bytes).sum();
            out.units += callhooks::store::units::read_units(bytes, false);
            for item in items {
                out.read += 1;
                let sk = sort_key(&item, partition.sk_attr);
                // `before` itself is the last item of the previous page.
                if sk >= filter.before {
                    continue;
                }
                out.lowest = Some(sk.clone());
                if filter.keeps(&item).is_some() {
                    out.items.push((sk, item));
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// One page of at most `size` calls matching `filter`, newest first.
pub async fn calls_page(
    store: &Store,
    filter: &CallFilter,
    size: usize,
) -> Result<CallPage, StoreError> {
    let sources = filter.sources();
    let budget = READ_BUDGET / sources.len().max(1);
    let mut reads = Vec::new();
    // The two timeline indexes side by side.
    let mut tasks = Vec::new();
    for partitions in &sources {
        tasks.push(read_source(store, partitions, filter, size, budget));
    }
    for read in join_all(tasks).await {
        reads.push(read?);
    }
    // Only what every unfinished source has read past is complete.
    let boundary = reads
        .iter()
        .filter(|r| !r.exhausted)
        .filter_map(|r| r.lowest.clone())
        .max();
    let mut page = CallPage::default();
    let mut merged: Vec<(String, Item)> = Vec::new();
    let mut more = reads.iter().any(|r| !r.exhausted);
    for read in reads {
        page.items_read += read.read;
        page.read_units += read.units;
        merged.extend(read.items);
    }
    merged.sort_by(|a, b| b.0.cmp(&a.0));
    // A call from a number to itself is in both of its indexes.
    merged.dedup_by(|a, b| a.1.get(keys::PK) == b.1.get(keys::PK));
    if let Some(boundary) = &boundary {
        merged.retain(|(sk, _)| sk >= boundary);
    }
    if merged.len() > size {
        merged.truncate(size);
        more = true;
    }
    for (_, item) in &merged {
        if let Some(kept) = filter.keeps(item) {
            page.calls.push(kept);
        }
    }
    if more {
        page.next = merged.last().map(|(sk, _)| sk.clone()).or(boundary);
    }
    Ok(page)
}

/// Runs futures side by side on this task and returns their outputs in order.
pub(crate) async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, future) in futures.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => outputs[i] = Some(out),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
