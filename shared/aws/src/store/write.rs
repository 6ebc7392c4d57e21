//! Writing a delivery's [`WritePlan`]: its part items first, each on its
//! own and idempotently, outside the transaction (see [`super::transaction`]);
//! then one conditional PutItem when what decides is a single put, else one
//! transaction. A failed guard is a duplicate, not an error.

use super::plan::{self, SummaryUpdate, WritePlan};
use super::sdk::{to_sdk, to_sdk_item, SdkItem};
use super::transaction::Staged;
use super::units::{self, PlanUnits};
use super::{non_empty, store_error, Store, StoreError, WriteOutcome};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConsumedCapacity, Put, ReturnConsumedCapacity, ReturnValue, TransactWriteItem, Update,
};
use std::collections::HashMap;
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
        let (created, parts_reported) = self.write_parts(&staged).await?;
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
            let (outcome, reported) = self.put_one(staged.puts[0]).await?;
            if outcome == WriteOutcome::Duplicate {
                self.remove_unclaimed_parts(&created).await;
            }
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
                self.remove_unclaimed_parts(&created).await;
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
    /// left as it is), a part update first-value-wins. The keys of the part
    /// items this call created, and the units DynamoDB reported.
    async fn write_parts(
        &self,
        staged: &Staged<'_>,
    ) -> Result<(Vec<(String, String)>, Option<f64>), StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        for put in &staged.part_puts {
            let (store, put) = (self.clone(), (*put).clone());
            tasks.spawn(async move {
                let key = (
                    plan::text(&put.item, super::keys::PK)
                        .unwrap_or("")
                        .to_string(),
                    plan::text(&put.item, super::keys::SK)
                        .unwrap_or("")
                        .to_string(),
                );
                let absent = plan::GuardedPut {
                    condition: Some(plan::Condition::item_absent()),
                    ..put
                };
                let (outcome, units) = store.put_one(&absent).await?;
                Ok::<_, StoreError>(((outcome == WriteOutcome::Recorded).then_some(key), units))
            });
        }
        for update in &staged.part_updates {
            let (store, update) = (self.clone(), (*update).clone());
            tasks.spawn(async move { Ok((None, store.update_one(&update).await?)) });
        }
        let mut created = Vec::new();
        let mut reported: Option<f64> = None;
        while let Some(joined) = tasks.join_next().await {
            let (key, units) = joined.map_err(|e| StoreError(format!("part write: {e}")))??;
            created.extend(key);
            reported = match (reported, units) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        }
        Ok((created, reported))
    }

    /// After a duplicate: deletes the part items this write created whose
    /// owner is not in the table (a retry whose event key differs from the
    /// first delivery's), so a retry writes nothing. Where the owner is
    /// there (a concurrent copy of the same delivery landed), its parts
    /// stay: one transaction per owner, its condition that the owner is
    /// absent. A failure is logged; such parts are never read and expire.
    async fn remove_unclaimed_parts(&self, created: &[(String, String)]) {
        let mut owners: Vec<(&str, &str)> = Vec::new();
        for (pk, sk) in created {
            let owner = sk
                .rsplit_once(super::keys::PART_SK_MARKER)
                .map_or(sk.as_str(), |(owner, _)| owner);
            if !owners.contains(&(pk.as_str(), owner)) {
                owners.push((pk.as_str(), owner));
            }
        }
        for (pk, owner) in owners {
            let parts: Vec<&str> = created
                .iter()
                .filter(|(p, sk)| p == pk && sk.starts_with(&super::keys::parts_prefix(owner)))
                .map(|(_, sk)| sk.as_str())
                .collect();
            let actions = match self.removal_unless_owned(pk, owner, &parts) {
                Ok(actions) => actions,
                Err(error) => {
                    tracing::warn!(%error, "parts of a duplicate not removed");
                    continue;
                }
            };
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            if let Err(error) = result {
                let claimed = matches!(
                    error.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(_))
                );
                if !claimed {
                    tracing::warn!(error = %store_error(error), "parts of a duplicate not removed");
                }
            }
        }
    }

    async fn update_one(&self, update: &SummaryUpdate) -> Result<Option<f64>, StoreError> {
        let expression = update.expression();
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(to_sdk_item(&update.key())))
            .update_expression(expression.expression)
            .set_expression_attribute_names(non_empty(expression.names))
            .set_expression_attribute_values(non_empty(to_sdk_item(&expression.values)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(store_error)?;
        Ok(reported_units(output.consumed_capacity()))
    }

    /// One transaction: `owner` must be absent, and then `parts` go.
    fn removal_unless_owned(
        &self,
        pk: &str,
        owner: &str,
        parts: &[&str],
    ) -> Result<Vec<TransactWriteItem>, aws_sdk_dynamodb::error::BuildError> {
        let key = |sk: &str| {
            to_sdk_item(&plan::Item::from([
                (super::keys::PK.to_string(), plan::s(pk)),
                (super::keys::SK.to_string(), plan::s(sk)),
            ]))
        };
        let absent = plan::Condition::item_absent();
        let mut actions = vec![TransactWriteItem::builder()
            .condition_check(
                aws_sdk_dynamodb::types::ConditionCheck::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(owner)))
                    .condition_expression(absent.expression)
                    .set_expression_attribute_names(non_empty(absent.names))
                    .build()?,
            )
            .build()];
        for sk in parts {
            actions.push(
                TransactWriteItem::builder()
                    .delete(
                        aws_sdk_dynamodb::types::Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(sk)))
                            .build()?,
                    )
                    .build(),
            );
        }
        Ok(actions)
    }

    /// The outcome (a failed condition: a duplicate, or for a part, that it
    /// is already there), and the units DynamoDB reported.
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

    fn transaction_items(&self, staged: &Staged<'_>) -> Result<Vec<TransactWriteItem>, StoreError> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| StoreError(e.to_string());
        let mut actions = Vec::with_capacity(staged.action_count());
        for put in &staged.puts {
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
        for update in &staged.updates {
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

/// An update of one item that must find it in a given state: what the alert
/// ledger's claims and marks and the sweeper's flags write.
pub struct ConditionalUpdate {
    pub pk: String,
    pub sk: String,
    pub update: String,
    pub condition: String,
    pub names: HashMap<String, String>,
    pub values: SdkItem,
}

/// How a [`ConditionalUpdate`] ended; a refused condition is an answer,
/// not an error.
pub enum Conditional {
    /// Written: the item as it is now.
    Done(SdkItem),
    ConditionFailed,
}

impl Store {
    pub async fn update_if(&self, request: ConditionalUpdate) -> Result<Conditional, StoreError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(super::keys::PK, to_sdk(&plan::s(request.pk)))
            .key(super::keys::SK, to_sdk(&plan::s(request.sk)))
            .update_expression(request.update)
            .condition_expression(request.condition)
            .set_expression_attribute_names(Some(request.names))
            .set_expression_attribute_values(Some(request.values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Conditional::Done(output.attributes.unwrap_or_default())),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Conditional::ConditionFailed)
            }
            Err(error) => Err(store_error(error)),
        }
    }
}
