//! Writing a delivery's [`WritePlan`]: one conditional PutItem when the
//! plan is a single put, else one transaction; a failed guard is a
//! duplicate, not an error.

use super::plan::{self, WritePlan};
use super::sdk::to_sdk_item;
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
        if plan.updates.is_empty() && plan.puts.len() == 1 {
            let (outcome, reported) = self.put_one(&plan.puts[0]).await?;
            return Ok((outcome, Consumed::of(planned, reported)));
        }
        let mut attempt = 1;
        loop {
            // Built for each attempt, as the request takes them: one copy of
            // the items (raw body included) per attempt, not two.
            let actions = self.transaction_items(plan)?;
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
                    return Ok((WriteOutcome::Recorded, Consumed::of(planned, reported)));
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

    /// The outcome, and the units DynamoDB reported.
    async fn put_one(
        &self,
        put: &plan::GuardedPut,
    ) -> Result<(WriteOutcome, Option<f64>), StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_sdk_item(&put.item)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        if let Some(condition) = &put.condition {
            request = request
                .condition_expression(&condition.expression)
                .set_expression_attribute_names(non_empty(condition.names.clone()))
                .set_expression_attribute_values(non_empty(to_sdk_item(&condition.values)));
        }
        match request.send().await {
            Ok(output) => Ok((
                WriteOutcome::Recorded,
                reported_units(output.consumed_capacity()),
            )),
            Err(error) => match error.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {
                    Ok((WriteOutcome::Duplicate, None))
                }
                _ => Err(store_error(error)),
            },
        }
    }

    fn transaction_items(&self, plan: &WritePlan) -> Result<Vec<TransactWriteItem>, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError(e.to_string());
        let mut actions = Vec::with_capacity(plan.action_count());
        for put in &plan.puts {
            let mut builder = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_sdk_item(&put.item)));
            if let Some(condition) = &put.condition {
                builder = builder
                    .condition_expression(&condition.expression)
                    .set_expression_attribute_names(non_empty(condition.names.clone()))
                    .set_expression_attribute_values(non_empty(to_sdk_item(&condition.values)));
            }
            actions.push(
                TransactWriteItem::builder()
                    .put(builder.build().map_err(build)?)
                    .build(),
            );
        }
        for update in &plan.updates {
            let expression = update.expression();
            let built = Update::builder()
                .table_name(&self.table)
                .set_key(Some(to_sdk_item(&update.key())))
                .update_expression(expression.expression)
                .set_expression_attribute_names(non_empty(expression.names))
                .set_expression_attribute_values(non_empty(to_sdk_item(&expression.values)))
                .build()
                .map_err(build)?;
            actions.push(TransactWriteItem::builder().update(built).build());
        }
        Ok(actions)
    }
}
