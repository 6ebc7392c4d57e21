//! The sweeper: finds the lifecycles whose next fact is overdue through the
//! sparse lifecycle index (one query per lifecycle and expected fact, never
//! a scan), flags each incomplete on its summary with what is missing, and
//! moves it to its provider's `INCOMPLETE#` partition. The flag is the
//! incident: the alerts function sees the summary gain `incomplete_at` on
//! the table's stream and publishes one `call_incomplete` or `sms_stuck`
//! through the alert ledger, as it does every alert.
//!
//! Every write is conditional on the index key the query saw and on none
//! of the missing facts having come, so a sweep that fails half way (a
//! table outage) or runs twice flags nothing twice and loses nothing: what
//! it did not reach stays in the index for the next sweep.

use crate::event::Provider;
use crate::lifecycle::{self, Lifecycle, Standing, Waits, LIFECYCLES};
use crate::store::plan::{s, string_list, text, Item};
use crate::store::sdk::{from_sdk_item, items, to_sdk, SdkItem};
use crate::store::write::{Conditional, ConditionalUpdate};
use crate::store::{keys, store_error, Store, StoreError};
use crate::time::{self, Timestamp};
use aws_sdk_dynamodb::types::{AttributeValue as SdkValue, ReturnConsumedCapacity, Select};
use std::collections::{BTreeMap, HashMap};

/// A string as a request's attribute value.
fn sv(text: impl Into<String>) -> SdkValue {
    to_sdk(&s(text))
}

/// One lifecycle flagged incomplete by a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flagged {
    pub pk: String,
    pub provider: Provider,
    pub lifecycle: &'static str,
    pub missing: Vec<&'static str>,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepReport {
    pub flagged: Vec<Flagged>,
    /// Index entries read (overdue by their key).
    pub examined: usize,
    /// Entries whose key a late earlier fact had written back: moved on to
    /// the fact really expected, or removed when the lifecycle had closed.
    pub corrected: usize,
    /// Queries (pages) sent to the index.
    pub queries: usize,
    /// Read units the index queries consumed, as DynamoDB reported them.
    pub query_read_units: f64,
    /// Bytes of the index entries read (for sizing by the units rules).
    pub index_bytes_read: usize,
    /// Why the sweep stopped early (the rest waits for the next one).
    pub error: Option<StoreError>,
}

impl SweepReport {
    /// Flags per provider, every provider listed (zeros too).
    pub fn flagged_per_provider(&self) -> BTreeMap<&'static str, u64> {
        let mut counts: BTreeMap<&'static str, u64> =
            Provider::ALL.iter().map(|p| (p.as_str(), 0)).collect();
        for flag in &self.flagged {
            *counts.entry(flag.provider.as_str()).or_default() += 1;
        }
        counts
    }
}

pub struct Sweeper {
    store: Store,
    waits: Waits,
}

impl Sweeper {
    pub fn new(store: Store, waits: Waits) -> Self {
        Sweeper { store, waits }
    }

    /// One sweep at `now`: every overdue lifecycle, oldest first. Stops at
    /// the first storage error (named in the report); what it did is kept.
    pub async fn sweep(&self, now: Timestamp) -> SweepReport {
        let mut report = SweepReport::default();
        for lifecycle in &LIFECYCLES {
            for expected in 1..lifecycle.facts.len() {
                if let Err(error) = self
                    .sweep_partition(lifecycle, expected, now, &mut report)
                    .await
                {
                    report.error = Some(error);
                    return report;
                }
            }
        }
        report
    }

    async fn sweep_partition(
        &self,
        lifecycle: &'static Lifecycle,
        expected: usize,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let fact = lifecycle.facts[expected].name;
        let before = time::to_key(lifecycle::overdue_before(
            lifecycle,
            expected,
            now,
            &self.waits,
        ));
        let mut start: Option<SdkItem> = None;
        loop {
            let output = self
                .store
                .client()
                .query()
                .table_name(self.store.table())
                .index_name(keys::GSI4)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .select(Select::AllProjectedAttributes)
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#pk", keys::GSI4PK)
                .expression_attribute_names("#sk", keys::GSI4SK)
                .expression_attribute_values(":pk", sv(lifecycle::open_pk(lifecycle, fact)))
                .expression_attribute_values(":before", sv(&before))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            report.queries += 1;
            report.query_read_units += output
                .consumed_capacity
                .as_ref()
                .and_then(|c| c.capacity_units)
                .unwrap_or(0.0);
            for entry in items(output.items) {
                report.examined += 1;
                report.index_bytes_read += crate::store::plan::item_bytes(&entry);
                self.settle(lifecycle, expected, &entry, now, report)
                    .await?;
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(()),
            }
        }
    }

    /// One overdue entry: flagged when none of the missing facts came;
    /// otherwise its key was written back by a late earlier fact, and is
    /// corrected from the summary's facts.
    async fn settle(
        &self,
        lifecycle: &'static Lifecycle,
        expected: usize,
        entry: &Item,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let (Some(pk), Some(sk), Some(index_pk), Some(index_sk)) = (
            text(entry, keys::PK),
            text(entry, keys::SK),
            text(entry, keys::GSI4PK),
            text(entry, keys::GSI4SK),
        ) else {
            return Ok(());
        };
        let key = IndexedItem {
            pk,
            sk,
            index_pk,
            index_sk,
        };
        let since = index_sk
            .get(..24)
            .and_then(|moment| moment.parse::<Timestamp>().ok())
            .unwrap_or(now);
        let due = lifecycle::due_at(lifecycle, expected, since, &self.waits);
        let missing = lifecycle::missing(lifecycle, expected);
        match self.flag(&key, lifecycle, &missing, due, now).await? {
            Conditional::Done(_) => {
                report.flagged.push(Flagged {
                    pk: pk.to_string(),
                    provider: lifecycle.provider,
                    lifecycle: lifecycle.name,
                    missing,
                });
                Ok(())
            }
            Conditional::ConditionFailed => {
                if self.correct(&key, lifecycle).await? {
                    report.corrected += 1;
                }
                Ok(())
            }
        }
    }

    /// Flags one summary: `incomplete_at` and `incomplete_due_at` once,
    /// what is missing now, and the key into the provider's incomplete
    /// partition; only if its key is the one the query saw and none of the
    /// missing facts has come.
    async fn flag(
        &self,
        key: &IndexedItem<'_>,
        lifecycle: &Lifecycle,
        missing: &[&str],
        due: Timestamp,
        now: Timestamp,
    ) -> Result<Conditional, StoreError> {
        let now_key = time::to_key(now);
        let mut names = HashMap::from([
            ("#ipk".to_string(), keys::GSI4PK.to_string()),
            ("#isk".to_string(), keys::GSI4SK.to_string()),
            ("#at".to_string(), lifecycle::INCOMPLETE_AT.to_string()),
            ("#due".to_string(), lifecycle::INCOMPLETE_DUE_AT.to_string()),
            ("#missing".to_string(), lifecycle::MISSING.to_string()),
            ("#closed".to_string(), lifecycle::CLOSED_AT.to_string()),
        ]);
        let values = HashMap::from([
            (":open_pk".to_string(), sv(key.index_pk)),
            (":open_sk".to_string(), sv(key.index_sk)),
            (":now".to_string(), sv(&now_key)),
            (":due".to_string(), sv(time::to_key(due))),
            (":missing".to_string(), to_sdk(&string_list(missing))),
            (
                ":incomplete_pk".to_string(),
                sv(lifecycle::incomplete_pk(lifecycle.provider)),
            ),
            (
                ":incomplete_sk".to_string(),
                sv(lifecycle::index_sk(&now_key, key.pk)),
            ),
        ]);
        let mut condition =
            "#ipk = :open_pk AND #isk = :open_sk AND attribute_not_exists(#closed)".to_string();
        for (i, fact) in missing.iter().enumerate() {
            let name = format!("#seen{i}");
            condition.push_str(&format!(" AND attribute_not_exists({name})"));
            names.insert(name, lifecycle::seen_attribute(fact));
        }
        self.conditional_update(
            key,
            "SET #at = if_not_exists(#at, :now), #due = if_not_exists(#due, :due), \
             #missing = :missing, #ipk = :incomplete_pk, #isk = :incomplete_sk",
            &condition,
            names,
            values,
        )
        .await
    }

    /// An entry the flag's condition refused: if the summary still holds
    /// the key the query saw, a late earlier fact wrote it back; the
    /// summary's facts say where the lifecycle really stands. `true` when
    /// the key was moved on or removed.
    async fn correct(
        &self,
        key: &IndexedItem<'_>,
        lifecycle: &Lifecycle,
    ) -> Result<bool, StoreError> {
        let output = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, sv(key.pk))
            .key(keys::SK, sv(key.sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        let Some(summary) = output.item.as_ref().map(from_sdk_item) else {
            return Ok(false);
        };
        if text(&summary, keys::GSI4PK) != Some(key.index_pk)
            || text(&summary, keys::GSI4SK) != Some(key.index_sk)
        {
            // A newer fact moved it since the query: nothing to correct.
            return Ok(false);
        }
        let seen = |fact: &str| {
            text(&summary, &lifecycle::seen_attribute(fact)).and_then(|at| at.parse().ok())
        };
        let names = HashMap::from([
            ("#ipk".to_string(), keys::GSI4PK.to_string()),
            ("#isk".to_string(), keys::GSI4SK.to_string()),
        ]);
        let mut values = HashMap::from([
            (":open_pk".to_string(), sv(key.index_pk)),
            (":open_sk".to_string(), sv(key.index_sk)),
        ]);
        let condition = "#ipk = :open_pk AND #isk = :open_sk";
        let update = match lifecycle::standing(lifecycle, seen) {
            Standing::Closed | Standing::NotOpened => "REMOVE #ipk, #isk",
            Standing::Waiting { expected, since } => {
                let fact = lifecycle.facts[expected].name;
                let new_pk = lifecycle::open_pk(lifecycle, fact);
                let new_sk = lifecycle::index_sk(&time::to_key(since), key.pk);
                if new_pk == key.index_pk && new_sk == key.index_sk {
                    return Ok(false);
                }
                values.insert(":pk".into(), sv(new_pk));
                values.insert(":sk".into(), sv(new_sk));
                "SET #ipk = :pk, #isk = :sk"
            }
        };
        Ok(matches!(
            self.conditional_update(key, update, condition, names, values)
                .await?,
            Conditional::Done(_)
        ))
    }

    async fn conditional_update(
        &self,
        key: &IndexedItem<'_>,
        update: &str,
        condition: &str,
        names: HashMap<String, String>,
        values: SdkItem,
    ) -> Result<Conditional, StoreError> {
        self.store
            .update_if(ConditionalUpdate {
                pk: key.pk.to_string(),
                sk: key.sk.to_string(),
                update: update.to_string(),
                condition: condition.to_string(),
                names,
                values,
            })
            .await
    }
}

/// A summary as the index query returned it.
struct IndexedItem<'a> {
    pk: &'a str,
    sk: &'a str,
    index_pk: &'a str,
    index_sk: &'a str,
}

impl Sweeper {
    /// One sweep, logged: its EMF metrics (flags per provider) and a
    /// summary line. `Err` when it stopped early, after logging what it did.
    pub async fn sweep_and_log(&self, now: Timestamp) -> Result<serde_json::Value, StoreError> {
        let started = std::time::Instant::now();
        let report = self.sweep(now).await;
        let at_ms = now.as_millisecond();
        for (provider, flagged) in report.flagged_per_provider() {
            crate::metrics::emit(&crate::metrics::incomplete_line(provider, flagged, at_ms));
        }
        let summary = serde_json::json!({
            "flagged": report.flagged.len(),
            "examined": report.examined,
            "corrected": report.corrected,
            "queries": report.queries,
            "query_read_units": report.query_read_units,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        });
        match report.error {
            None => {
                tracing::info!(%summary, "sweep done");
                Ok(summary)
            }
            Some(error) => {
                tracing::error!(%summary, %error, "sweep stopped early");
                Err(error)
            }
        }
    }
}

/// The summaries of incomplete calls and messages, most recently flagged
/// first, at most `limit`: each provider's `INCOMPLETE#` partition of the
/// lifecycle index, newest first, then each summary read (the index holds
/// keys only). A late closing event takes a summary out of its partition.
pub async fn incomplete_summaries(store: &Store, limit: usize) -> Result<Vec<Item>, StoreError> {
    let mut flagged: Vec<(String, String, String)> = Vec::new();
    for provider in Provider::ALL {
        let output = store
            .newest_first(
                keys::GSI4,
                keys::GSI4PK,
                lifecycle::incomplete_pk(provider),
                crate::store::SortKeyRange::All,
            )
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        for entry in items(output.items) {
            if let (Some(sort), Some(pk), Some(sk)) = (
                text(&entry, keys::GSI4SK),
                text(&entry, keys::PK),
                text(&entry, keys::SK),
            ) {
                flagged.push((sort.to_string(), pk.to_string(), sk.to_string()));
            }
        }
    }
    flagged.sort_by(|a, b| b.0.cmp(&a.0));
    flagged.truncate(limit);
    let mut summaries = Vec::with_capacity(flagged.len());
    for (_, pk, sk) in flagged {
        let output = store
            .client()
            .get_item()
            .table_name(store.table())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, sv(pk))
            .key(keys::SK, sv(sk))
            .send()
            .await
            .map_err(store_error)?;
        summaries.extend(output.item.as_ref().map(from_sdk_item));
    }
    Ok(summaries)
}
