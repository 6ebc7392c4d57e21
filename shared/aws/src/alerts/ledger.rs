//! The alert ledger: one item per alert in the events table, written
//! around each publish so that an alert SNS accepted is never published
//! again, a crashed attempt is taken over, and an alert that could not be
//! published is kept whole (see docs/alerts.md).
//!
//! ```text
//!            claim (conditional)             SNS accepted
//!  (none) ───────────────────────> in_progress ──────────> published
//!                                   │    ▲   │
//!        attempt failed, attempts   │    │   │ attempt failed, last allowed
//!        left: lease released ──────┘    │   └──────────────> failed ──┐
//!        lease passed: taken over ───────┘                              │
//!                                      replay (operator) ───────────────┘
//! ```
//!
//! Key (see [`crate::store::keys`]): `PK = ALERTS#<day of the incident>`,
//! `SK = <occurred_at>#<alert_id>`: both come from the incident, so every
//! attempt at one alert meets the same item, and a period's alerts are one
//! query per day.

use super::outgoing::{short, LedgerKey, Outgoing, LEDGER_BODY_BYTES};
use super::Alert;
// The ledger talks to DynamoDB only: its items stay the SDK's.
use crate::store::sdk::SdkItem as Item;
use crate::store::write::{Conditional, ConditionalUpdate};
use crate::store::{keys, store_error, Store, StoreError};
use crate::time::{self, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// How long a claim holds an alert. A live attempt needs at most the SNS
/// publish deadline (10 s, [`crate::runtime::Deadline::ALERTS`]) and one
/// ledger write after it; an attempt older than this crashed, and the next
/// one takes the alert over.
pub const LEASE: Duration = Duration::from_secs(30);

/// Attempts (claims) at one alert before it is kept as failed. Each one is
/// an invocation of the function, with the SDK's own retries inside.
pub const MAX_PUBLISH_ATTEMPTS: u32 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Claimed by an attempt (until `lease_until`), or released by a failed
    /// one for the next.
    InProgress,
    /// SNS accepted it: `sns_message_id` says which message.
    Published,
    /// Every attempt failed: the whole message is here and in the
    /// dead-letter queue until an operator replays it.
    Failed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::InProgress => "in_progress",
            AlertState::Published => "published",
            AlertState::Failed => "failed",
        }
    }
}

/// One alert's ledger item, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub alert_id: String,
    pub alert_type: String,
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    pub occurred_at: String,
    pub state: AlertState,
    /// Claims so far (replays included).
    #[serde(default)]
    pub attempts: u32,
    /// Unix milliseconds until which the current claim holds.
    #[serde(default)]
    pub lease_until: Option<i64>,
    pub subject: String,
    /// The whole JSON body (cut only past [`LEDGER_BODY_BYTES`]).
    pub message: String,
    #[serde(default)]
    pub sns_message_id: Option<String>,
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The dead-letter queue has its copy.
    #[serde(default)]
    pub dead_lettered: bool,
    /// Times an operator published it again.
    #[serde(default)]
    pub replays: u32,
    #[serde(default)]
    pub first_claimed_at: Option<String>,
    /// TTL (Unix seconds).
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl LedgerEntry {
    pub fn from_item(item: Item) -> Result<Self, StoreError> {
        serde_dynamo::from_item(item)
            .map_err(|e| StoreError(format!("unreadable alert ledger item: {e}")))
    }

    pub fn key(&self) -> LedgerKey {
        LedgerKey {
            pk: self.pk.clone(),
            sk: self.sk.clone(),
        }
    }

    /// In progress, but its claim ran out: the attempt that holds it
    /// crashed (or gave up), and the next may take it over.
    pub fn is_stalled(&self, now: Timestamp) -> bool {
        self.state == AlertState::InProgress
            && self
                .lease_until
                .is_none_or(|until| until <= now.as_millisecond())
    }

    /// What went out (or would have): the stored message.
    pub fn outgoing(&self) -> Outgoing {
        Outgoing {
            alert_id: self.alert_id.clone(),
            subject: self.subject.clone(),
            body: self.message.clone(),
        }
    }
}

/// Where an alert's ledger item is: the day and moment of its incident
/// and its id. A moment that is not RFC 3339 (passed on as the provider
/// wrote it) files the alert under `ALERTS#undated`.
pub fn ledger_key(alert: &Alert) -> LedgerKey {
    let day = match alert.occurred_at.parse::<Timestamp>() {
        Ok(at) => time::to_key(at)[..10].to_string(),
        Err(_) => "undated".to_string(),
    };
    LedgerKey {
        pk: keys::alerts_day_pk(&day),
        sk: keys::alert_sk(&alert.occurred_at, &alert.alert_id()),
    }
}

/// What a claim found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours: publish it (`entry.attempts` is this attempt's number).
    Claimed(LedgerEntry),
    /// SNS already accepted it: publish nothing.
    Published(LedgerEntry),
    /// Kept as failed: only an operator's replay sends it.
    Failed(LedgerEntry),
    /// Another attempt holds it until `entry.lease_until`.
    Busy(LedgerEntry),
}

/// An update expression and its placeholders: every name goes through
/// one (`from`, `to` and `state` are reserved words).
#[derive(Default)]
struct Expression {
    sets: Vec<String>,
    removes: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn set(&mut self, name: &str, value: AttributeValue) {
        let (name, value) = (self.name(name), self.value(value));
        self.sets.push(format!("{name} = {value}"));
    }

    fn set_opt(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.set(name, s(value));
        }
    }

    fn remove(&mut self, name: &str) {
        let name = self.name(name);
        self.removes.push(name);
    }

    fn update(&self) -> String {
        let mut update = format!("SET {}", self.sets.join(", "));
        if !self.removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", self.removes.join(", ")));
        }
        update
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Errors kept in the ledger are cut to this many bytes.
const ERROR_BYTES: usize = 1000;

/// The ledger on the events table.
#[derive(Clone, Debug)]
pub struct Ledger {
    store: Store,
    retention_days: u32,
}

impl Ledger {
    /// `retention_days`: how long an alert's item is kept (TTL), like the
    /// events it is about.
    pub fn new(store: Store, retention_days: u32) -> Self {
        Ledger {
            store,
            retention_days,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn update(
        &self,
        key: &LedgerKey,
        mut expression: Expression,
        condition: &str,
    ) -> Result<Conditional, StoreError> {
        let pk = expression.name(keys::PK);
        self.store
            .update_if(ConditionalUpdate {
                pk: key.pk.clone(),
                sk: key.sk.clone(),
                update: expression.update(),
                condition: condition.replace("{pk}", &pk),
                names: expression.names,
                values: expression.values,
            })
            .await
    }

    /// What a claim that lost found: the item as it is now.
    async fn claim_lost(&self, key: &LedgerKey) -> Result<Claim, StoreError> {
        let entry = self
            .get(key)
            .await?
            .ok_or_else(|| StoreError(format!("alert {} vanished while claimed", key.sk)))?;
        Ok(match entry.state {
            AlertState::Published => Claim::Published(entry),
            AlertState::Failed => Claim::Failed(entry),
            AlertState::InProgress => Claim::Busy(entry),
        })
    }

    /// Claims a new alert for one attempt: creates its item (in progress,
    /// holding the whole message) or takes over one whose claim ran out. A
    /// published or failed alert, or one another attempt holds, is not
    /// claimed: the answer says which.
    pub async fn claim(
        &self,
        alert: &Alert,
        message: &Outgoing,
        now: Timestamp,
    ) -> Result<Claim, StoreError> {
        let key = ledger_key(alert);
        let mut e = Expression::default();
        e.set(keys::ITEM_TYPE, s(keys::ALERT_ITEM_TYPE));
        e.set("alert_id", s(&message.alert_id));
        e.set("alert_type", s(alert.alert_type.as_str()));
        e.set("provider", s(&alert.provider));
        e.set_opt("call_id", alert.call_id.as_deref());
        e.set_opt("message_id", alert.message_id.as_deref());
        e.set_opt("from", alert.from.as_deref());
        e.set_opt("to", alert.to.as_deref());
        e.set("occurred_at", s(&alert.occurred_at));
        e.set("subject", s(&message.subject));
        e.set("message", s(&message.fitted(LEDGER_BODY_BYTES).body));
        e.set(keys::TTL, n(time::expires_at(now, self.retention_days)));
        self.claim_with(&key, e, now, "attribute_not_exists({pk})")
            .await
    }

    /// Claims a stored alert for an operator's replay: a failed one, or a
    /// stalled one; a published one too when `again` (sent once more on
    /// purpose). Nothing of the stored message changes.
    pub async fn claim_for_replay(
        &self,
        key: &LedgerKey,
        now: Timestamp,
        again: bool,
    ) -> Result<Claim, StoreError> {
        let mut e = Expression::default();
        let state = e.name("state");
        let failed = e.value(s(AlertState::Failed.as_str()));
        let mut condition = format!("attribute_exists({{pk}}) AND ({state} = {failed}");
        if again {
            let published = e.value(s(AlertState::Published.as_str()));
            condition.push_str(&format!(" OR {state} = {published}"));
        }
        condition.push(')');
        self.claim_with(key, e, now, &condition).await
    }

    /// The claim itself: state in progress, one attempt more, a fresh
    /// lease; allowed when `condition` holds or the current claim ran out.
    async fn claim_with(
        &self,
        key: &LedgerKey,
        mut e: Expression,
        now: Timestamp,
        condition: &str,
    ) -> Result<Claim, StoreError> {
        let lease_until = now.as_millisecond() + LEASE.as_millis() as i64;
        e.set("state", s(AlertState::InProgress.as_str()));
        e.set("lease_until", n(lease_until));
        e.set("claimed_at", s(&time::to_key(now)));
        let (attempts, zero, one) = (e.name("attempts"), e.value(n(0)), e.value(n(1)));
        e.sets.push(format!(
            "{attempts} = if_not_exists({attempts}, {zero}) + {one}"
        ));
        let (first, at) = (e.name("first_claimed_at"), e.value(s(&time::to_key(now))));
        e.sets
            .push(format!("{first} = if_not_exists({first}, {at})"));
        let (state, in_progress) = (e.name("state"), e.value(s(AlertState::InProgress.as_str())));
        let (lease, now_ms) = (e.name("lease_until"), e.value(n(now.as_millisecond())));
        let condition =
            format!("({condition}) OR ({state} = {in_progress} AND {lease} <= {now_ms})");
        match self.update(key, e, &condition).await? {
            Conditional::Done(item) => Ok(Claim::Claimed(LedgerEntry::from_item(item)?)),
            Conditional::ConditionFailed => self.claim_lost(key).await,
        }
    }

    /// The condition that this attempt still holds the alert.
    fn still_ours(e: &mut Expression, attempt: u32) -> String {
        let (state, in_progress) = (e.name("state"), e.value(s(AlertState::InProgress.as_str())));
        let (attempts, ours) = (e.name("attempts"), e.value(n(attempt)));
        format!("attribute_exists({{pk}}) AND {state} = {in_progress} AND {attempts} = {ours}")
    }

    /// SNS accepted it: published, with the message id SNS gave. `false`
    /// when the claim was no longer ours (taken over after its lease): the
    /// alert went out, and the other attempt sends it too.
    pub async fn mark_published(
        &self,
        key: &LedgerKey,
        attempt: u32,
        sns_message_id: &str,
        now: Timestamp,
        replayed: bool,
    ) -> Result<bool, StoreError> {
        let mut e = Expression::default();
        let condition = Self::still_ours(&mut e, attempt);
        e.set("state", s(AlertState::Published.as_str()));
        e.set("sns_message_id", s(sns_message_id));
        e.set("published_at", s(&time::to_key(now)));
        e.remove("lease_until");
        if replayed {
            let (replays, zero, one) = (e.name("replays"), e.value(n(0)), e.value(n(1)));
            e.sets.push(format!(
                "{replays} = if_not_exists({replays}, {zero}) + {one}"
            ));
        }
        Ok(matches!(
            self.update(key, e, &condition).await?,
            Conditional::Done(_)
        ))
    }

    /// This attempt failed and another may follow: the lease is given up
    /// so the next attempt can claim at once, and the error is kept.
    pub async fn release(
        &self,
        key: &LedgerKey,
        attempt: u32,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut e = Expression::default();
        let condition = Self::still_ours(&mut e, attempt);
        e.set("lease_until", n(now.as_millisecond()));
        e.set("last_error", s(short(error, ERROR_BYTES)));
        self.update(key, e, &condition).await.map(|_| ())
    }

    /// The last attempt failed: kept as failed, whole, until a replay.
    /// `returned_to` is the state an operator's failed replay leaves it in
    /// ([`AlertState::Failed`], or `Published` for one sent once more).
    pub async fn mark_failed(
        &self,
        key: &LedgerKey,
        attempt: u32,
        error: &str,
        now: Timestamp,
        returned_to: AlertState,
    ) -> Result<(), StoreError> {
        let mut e = Expression::default();
        let condition = Self::still_ours(&mut e, attempt);
        e.set("state", s(returned_to.as_str()));
        if returned_to == AlertState::Failed {
            e.set("failed_at", s(&time::to_key(now)));
        }
        e.set("last_error", s(short(error, ERROR_BYTES)));
        e.remove("lease_until");
        self.update(key, e, &condition).await.map(|_| ())
    }

    /// The dead-letter queue took its copy.
    pub async fn mark_dead_lettered(&self, key: &LedgerKey) -> Result<(), StoreError> {
        let mut e = Expression::default();
        e.set("dead_lettered", AttributeValue::Bool(true));
        self.update(key, e, "attribute_exists({pk})")
            .await
            .map(|_| ())
    }

    /// One alert's item (read consistently).
    pub async fn get(&self, key: &LedgerKey) -> Result<Option<LedgerEntry>, StoreError> {
        let output = self
            .store
            .client()
            .get_item()
            .table_name(self.store.table())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, s(&key.pk))
            .key(keys::SK, s(&key.sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        output.item.map(LedgerEntry::from_item).transpose()
    }

    /// The alerts whose incident happened from `since` to `until`, oldest
    /// first: one query per UTC day.
    pub async fn list(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let since_key = time::to_key(since);
        let mut entries = Vec::new();
        for day in utc_days(since, until) {
            let mut start: Option<Item> = None;
            loop {
                let output = self
                    .store
                    .client()
                    .query()
                    .table_name(self.store.table())
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .key_condition_expression("#pk = :pk AND #sk >= :since")
                    .expression_attribute_names("#pk", keys::PK)
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":pk", s(&keys::alerts_day_pk(&day)))
                    .expression_attribute_values(":since", s(&since_key))
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(store_error)?;
                for item in output.items.unwrap_or_default() {
                    entries.push(LedgerEntry::from_item(item)?);
                }
                match output.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => break,
                }
            }
        }
        Ok(entries)
    }
}

/// Every UTC day (`2026-11-29`) from `since`'s to `until`'s, at most 400
/// (the longest retention anyone keeps alerts for by default).
pub fn utc_days(since: Timestamp, until: Timestamp) -> Vec<String> {
    let day_of = |at: Timestamp| jiff::tz::Offset::UTC.to_datetime(at).date();
    let (mut day, last) = (day_of(since), day_of(until));
    let mut days = Vec::new();
    while day <= last && days.len() < 400 {
        days.push(day.to_string());
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_filed_under_its_incidents_day_and_moment() {
        let mut alert: Alert = serde_json::from_value(serde_json::json!({
            "alert_type": "missed_call",
            "provider": "salpre",
            "call_id": "sal-1",
            "occurred_at": "2026-11-29T03:12:00.000Z",
        }))
        .unwrap();
        let key = ledger_key(&alert);
        assert_eq!(key.pk, "ALERTS#2026-11-29");
        assert_eq!(
            key.sk,
            format!("2026-11-29T03:12:00.000Z#{}", alert.alert_id())
        );
        alert.occurred_at = "yesterday".into();
        assert_eq!(ledger_key(&alert).pk, "ALERTS#undated");
    }

    #[test]
    fn days_run_from_since_to_until_in_utc() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            utc_days(at("2026-11-28T23:00:00Z"), at("2026-11-30T01:00:00Z")),
            ["2026-11-28", "2026-11-29", "2026-11-30"]
        );
        assert_eq!(
            utc_days(at("2026-11-30T10:00:00Z"), at("2026-11-29T09:00:00Z")),
            Vec::<String>::new()
        );
        assert_eq!(
            utc_days(at("2000-01-01T00:00:00Z"), at("2026-11-29T00:00:00Z")).len(),
            400
        );
    }

    #[test]
    fn a_claim_is_stalled_once_its_lease_has_passed() {
        let entry = LedgerEntry {
            pk: "ALERTS#2026-11-29".into(),
            sk: "x".into(),
            alert_id: "x".into(),
            alert_type: "missed_call".into(),
            provider: "salpre".into(),
            call_id: None,
            message_id: None,
            from: None,
            to: None,
            occurred_at: "2026-11-29T03:12:00.000Z".into(),
            state: AlertState::InProgress,
            attempts: 1,
            lease_until: Some(1_000),
            subject: String::new(),
            message: "{}".into(),
            sns_message_id: None,
            published_at: None,
            failed_at: None,
            last_error: None,
            dead_lettered: false,
            replays: 0,
            first_claimed_at: None,
            expires_at: None,
        };
        let ms = |m| Timestamp::from_millisecond(m).unwrap();
        assert!(!entry.is_stalled(ms(999)));
        assert!(entry.is_stalled(ms(1_000)));
        let published = LedgerEntry {
            state: AlertState::Published,
            ..entry
        };
        assert!(!published.is_stalled(ms(5_000)));
    }
}
