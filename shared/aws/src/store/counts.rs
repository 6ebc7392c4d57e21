//! The per-day counters ([`crate::daily_counts`]) in the table: one `ADD`
//! per counter item and batch, and the reads of a period's counters (one
//! query per UTC day, whatever the number of calls).

use super::plan::{n, s};
use super::sdk::to_sdk;
use super::{keys, store_error, Store, StoreError};
use crate::daily_counts::{CounterKey, DailyCounts, Increments};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use std::collections::BTreeMap;

impl Store {
    /// Adds a batch's increments, one `UpdateItem` per counter item. Each
    /// item remembers the last batch it took (`batch`, e.g. the first and
    /// last stream sequence numbers counted): the same batch handed over
    /// again is not added twice to an item that has taken no other batch
    /// since. Returns how many items took the batch.
    pub async fn add_daily_counts(
        &self,
        batch: &str,
        counts: &BTreeMap<CounterKey, Increments>,
    ) -> Result<usize, StoreError> {
        let mut written = 0;
        for (key, increments) in counts {
            let mut request = self
                .client
                .update_item()
                .table_name(&self.table)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .key(keys::PK, to_sdk(&s(key.pk())))
                .key(keys::SK, to_sdk(&s(key.sk())))
                .condition_expression("attribute_not_exists(#batch) OR #batch <> :batch")
                .expression_attribute_names("#batch", "last_batch")
                .expression_attribute_names("#type", keys::ITEM_TYPE)
                .expression_attribute_names("#day", "day")
                .expression_attribute_names("#provider", "provider")
                .expression_attribute_names("#number", "number")
                .expression_attribute_values(":batch", to_sdk(&s(batch)))
                .expression_attribute_values(":type", to_sdk(&s(keys::DAILY_COUNTS_ITEM_TYPE)))
                .expression_attribute_values(":day", to_sdk(&s(&key.day)))
                .expression_attribute_values(":provider", to_sdk(&s(&key.provider)))
                .expression_attribute_values(":number", to_sdk(&s(&key.number)));
            let mut adds = Vec::new();
            for (i, (attr, by)) in increments.iter().enumerate() {
                adds.push(format!("#c{i} :c{i}"));
                request = request
                    .expression_attribute_names(format!("#c{i}"), attr)
                    .expression_attribute_values(format!(":c{i}"), to_sdk(&n(by)));
            }
            let expression = format!(
                "SET #batch = :batch, #type = :type, #day = :day, #provider = :provider, #number = :number ADD {}",
                adds.join(", ")
            );
            match request.update_expression(expression).send().await {
                Ok(_) => written += 1,
                Err(SdkError::ServiceError(e))
                    if matches!(e.err(), UpdateItemError::ConditionalCheckFailedException(_)) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Ok(written)
    }

    /// Every counter item of the UTC days `days` (`2026-12-07`, in order):
    /// one query per calendar month they span (a range of sort keys), so a
    /// 30-day overview is one or two queries.
    pub async fn daily_counts(&self, days: &[String]) -> Result<Vec<DailyCounts>, StoreError> {
        let mut months: BTreeMap<String, (String, String)> = BTreeMap::new();
        for day in days {
            let range = months
                .entry(keys::daily_counts_pk(day))
                .or_insert_with(|| (day.clone(), day.clone()));
            range.0 = range.0.clone().min(day.clone());
            range.1 = range.1.clone().max(day.clone());
        }
        let mut out = Vec::new();
        for (pk, (first, last)) in months {
            let items = self
                .query_range_eventual(&pk, &first, &format!("{last}~"))
                .await?;
            out.extend(items.iter().filter_map(DailyCounts::from_item));
        }
        Ok(out)
    }

    /// A partition's sort keys from `lower` to `upper`, eventually
    /// consistent (half the read units of a consistent read; counters a
    /// second old are fine).
    async fn query_range_eventual(
        &self,
        pk: &str,
        lower: &str,
        upper: &str,
    ) -> Result<Vec<super::plan::Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :lower AND :upper")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", to_sdk(&s(pk)))
                .expression_attribute_values(":lower", to_sdk(&s(lower)))
                .expression_attribute_values(":upper", to_sdk(&s(upper)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            items.extend(super::sdk::items(output.items));
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}
