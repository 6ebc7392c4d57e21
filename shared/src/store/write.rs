//! Writing a delivery's [`WritePlan`]: its part items first, each on its
//! own and idempotently, outside the transaction (see [`super::transaction`]);
//! then one conditional PutItem when what decides is a single put, else one
//! transaction. A failed guard is a duplicate, not an error.

use super::plan::{self, SummaryUpdate, WritePlan};
use super::transaction::Staged;
use super::units::{self, PlanUnits};
use super::{non_empty, store_error, Store, StoreError, WriteOutcome};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConsumedCapacity, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};
use std::time::Duration;

/// How often a transaction that lost a race with a concurrent write to the
/// same summary is tried again before giving up with a 503.
const CONFLICT_ATTEMPTS: u32 = 4;

/// What one write of a plan consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Consumed {
    /// Write request units: what DynamoDB reported (every write asks,
    /// ReturnConsumedCapacity TOTAL, which costs nothing), or, when it
    /// reported none (moto for transactions, a duplicate), the plan sized
    /// by [`units::plan_units`].
    pub write_units: f64,
    /// Whether [`Self::write_units`] is DynamoDB's own figure.
    pub reported: bool,
    /// The plan sized before it was sent ([`units::plan_units`]).
    pub planned: PlanUnits,
}

impl Consumed {
    fn of(planned: PlanUnits, reported: Option<f64>) -> Self {
        Consumed {
            write_units: reported.unwrap_or(planned.write_units as f64),
            reported: reported.is_some(),
            planned,
        }
    }
}

/// The capacity units of a report, summed over its tables.
fn reported_units<'a>(reports: impl IntoIterator<Item = &'a ConsumedCapacity>) -> Option<f64> {
    reports
        .into_iter()
        .filter_map(ConsumedCapacity::capacity_units)
        .reduce(|a, b| a + b)
}

impl Store {
    /// Writes a plan in one request: a conditional PutItem when it is a
    /// single put, else one transaction. A failed guard means the delivery
    /// was recorded before: [`WriteOutcome::Duplicate`], nothing written.
    pub async fn write(&self, plan: &WritePlan) -> Result<WriteOutcome, StoreError> {
        self.write_measured(plan).await.map(|(outcome, _)| outcome)
    }

    /// [`Self::write`], with what it consumed.
    pub async fn write_measured(
        &self,
        plan: &WritePlan,
    ) -> Result<(WriteOutcome, Consumed), StoreError> {
        let planned = units::plan_units(plan);
        let staged = Staged::of(plan);
        let parts_reported = self.write_parts(&staged).await?;
        let with_parts = |reported: Option<f64>| match (reported, parts_reported) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        if staged.puts.is_empty() && staged.updates.is_empty() {
            return Ok((
                WriteOutcome::Recorded,
                Consumed::of(planned, parts_reported),
            ));
        }
        if !staged.is_transaction() {
            let (outcome, reported) = self.put_one(staged.puts[0], true).await?;
            return Ok((outcome, Consumed::of(planned, with_parts(reported))));
        }
        let mut attempt = 1;
        loop {
            // Built for each attempt, as the request takes them: one copy of
            // the items per attempt, not two.
            let actions = self.transaction_items(&staged)?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await;
            let error = match result {
                Ok(output) => {
                    let reported = reported_units(output.consumed_capacity());
                    return Ok((
                        WriteOutcome::Recorded,
                        Consumed::of(planned, with_parts(reported)),
                    ));
                }
                Err(error) => error,
            };
            let reasons: Vec<String> = match error.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code().unwrap_or("None").to_string())
                    .collect(),
                _ => return Err(store_error(error)),
            };
            if reasons.iter().any(|code| code == "ConditionalCheckFailed") {
                return Ok((WriteOutcome::Duplicate, Consumed::of(planned, None)));
            }
            let conflict = reasons.iter().any(|code| code == "TransactionConflict");
            if conflict && attempt < CONFLICT_ATTEMPTS {
                // Another delivery of the same call is being written right
                // now; once it lands, this one either applies or is seen to
                // be its duplicate.
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
                continue;
            }
            return Err(StoreError(format!(
                "transaction cancelled: {}",
                reasons.join(", ")
            )));
        }
    }

    /// Every part of a staged plan, all at once, each its own request: a
    /// part put only where it is absent (a part an earlier attempt wrote is
    /// left as it is), a part update first-value-wins. The units DynamoDB
    /// reported for them.
    async fn write_parts(&self, staged: &Staged<'_>) -> Result<Option<f64>, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        for put in &staged.part_puts {
            let (store, put) = (self.clone(), (*put).clone());
            tasks.spawn(async move {
                let absent = plan::GuardedPut {
                    condition: Some(plan::Condition::item_absent()),
                    ..put
                };
                store.put_one(&absent, false).await.map(|(_, units)| units)
            });
        }
        for update in &staged.part_updates {
            let (store, update) = (self.clone(), (*update).clone());
            tasks.spawn(async move { store.update_one(&update).await });
        }
        let mut reported: Option<f64> = None;
        while let Some(joined) = tasks.join_next().await {
            let units = joined.map_err(|e| StoreError(format!("part write: {e}")))??;
            reported = match (reported, units) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
        Ok(reported)
    }

    async fn update_one(&self, update: &SummaryUpdate) -> Result<Option<f64>, StoreError> {
        let expression = update.expression();
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(update.key()))
            .update_expression(expression.expression)
            .set_expression_attribute_names(non_empty(expression.names))
            .set_expression_attribute_values(non_empty(expression.values))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(store_error)?;
        Ok(reported_units(output.consumed_capacity()))
    }

    /// The outcome, and the units DynamoDB reported. A failed condition is
    /// a duplicate when the put `decides`; for a part it means the part is
    /// already there, which is what was wanted.
    async fn put_one(
        &self,
        put: &plan::GuardedPut,
        decides: bool,
    ) -> Result<(WriteOutcome, Option<f64>), StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item.clone()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(condition) = &put.condition {
            request = request
                .condition_expression(&condition.expression)
                .set_expression_attribute_names(non_empty(condition.names.clone()))
                .set_expression_attribute_values(non_empty(condition.values.clone()));
        }
        match request.send().await {
            Ok(output) => Ok((
                WriteOutcome::Recorded,
                reported_units(output.consumed_capacity()),
            )),
            Err(error) => match error.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok((
                    if decides {
                        WriteOutcome::Duplicate
                    } else {
                        WriteOutcome::Recorded
                    },
                    None,
                )),
                _ => Err(store_error(error)),
            },
        }
    }

    fn transaction_items(&self, staged: &Staged<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError(e.to_string());
        let mut actions = Vec::with_capacity(staged.action_count());
        for put in &staged.puts {
            let mut builder = Put::builder()
                .table_name(&self.table)
                .set_item(Some(put.item.clone()));
            if let Some(condition) = &put.condition {
                builder = builder
                    .condition_expression(&condition.expression)
                    .set_expression_attribute_names(non_empty(condition.names.clone()))
                    .set_expression_attribute_values(non_empty(condition.values.clone()));
            }
            actions.push(
                TransactWriteItem::builder()
                    .put(builder.build().map_err(build)?)
                    .build(),
            );
        }
        for update in &staged.updates {
            let expression = update.expression();
            let built = Update::builder()
                .table_name(&self.table)
                .set_key(Some(update.key()))
                .update_expression(expression.expression)
                .set_expression_attribute_names(non_empty(expression.names))
                .set_expression_attribute_values(non_empty(expression.values))
                .build()
                .map_err(build)?;
            actions.push(TransactWriteItem::builder().update(built).build());
        }
        Ok(actions)
    }
}
