//! DynamoDB storage: the key design ([`keys`]), what a delivery writes
//! ([`plan`]), and the client that writes it idempotently and serves the
//! access-pattern reads.

pub mod keys;
pub mod operator;
pub mod plan;

use crate::config::{Contact, NumberConfig};
use crate::config_cache::NumberConfigCache;
use crate::event::{CallPhases, Channel, Direction, Provider, SmsMoments, SmsStatus};
use crate::phone::PhoneNumber;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;
use plan::{Item, WritePlan};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, Instant};

/// What became of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Recorded,
    /// Already recorded (a retry): nothing was written.
    Duplicate,
}

/// What [`Store::caller_contact_and_calls`] read about one caller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallerRecords {
    pub contact: Option<Contact>,
    /// Calls placed from the caller, newest first.
    pub calls: Vec<CallSummary>,
    /// Older items were left unread.
    pub more: bool,
}

/// Storage did not do what was asked. Webhooks answer 503 so the provider
/// retries; the message is for logs, never for the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage error: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// DynamoDB refused the request itself (an item over 400 KB, an invalid
    /// attribute): sending it again can only fail again, so the delivery
    /// must be kept in another shape rather than retried.
    pub fn is_refusal(&self) -> bool {
        self.0.starts_with("ValidationException")
            || self.0.contains("ValidationError")
            || self.0.contains("ItemCollectionSizeLimitExceeded")
    }
}

pub(crate) fn store_error<
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug + 'static,
>(
    error: SdkError<E, R>,
) -> StoreError {
    match error.as_service_error() {
        Some(service) => StoreError(format!(
            "{}: {}",
            service.code().unwrap_or("unknown"),
            service.message().unwrap_or("")
        )),
        // Not `{error:?}`: the debug form can carry the raw HTTP response.
        None => {
            StoreError(aws_smithy_types::error::display::DisplayErrorContext(&error).to_string())
        }
    }
}

/// How often a transaction that lost a race with a concurrent write to the
/// same summary is tried again before giving up with a 503.
const CONFLICT_ATTEMPTS: u32 = 4;

#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    /// Where deliveries go when the table cannot take them.
    spillway: Option<std::sync::Arc<crate::ingest::spill::Spillway>>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Store {
            client,
            table: table.into(),
            spillway: None,
        }
    }

    /// The same store, spilling to `spillway` when the table fails.
    pub fn with_spillway(mut self, spillway: crate::ingest::spill::Spillway) -> Self {
        self.spillway = Some(std::sync::Arc::new(spillway));
        self
    }

    pub fn spillway(&self) -> Option<&crate::ingest::spill::Spillway> {
        self.spillway.as_deref()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes a plan in one request: a conditional PutItem when it is a
    /// single put, else one transaction. A failed guard means the delivery
    /// was recorded before: [`WriteOutcome::Duplicate`], nothing written.
    pub async fn write(&self, plan: &WritePlan) -> Result<WriteOutcome, StoreError> {
        if plan.updates.is_empty() && plan.puts.len() == 1 {
            return self.put_one(&plan.puts[0]).await;
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
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(WriteOutcome::Recorded),
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
                return Ok(WriteOutcome::Duplicate);
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

    async fn put_one(&self, put: &plan::GuardedPut) -> Result<WriteOutcome, StoreError> {
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item.clone()));
        if let Some(condition) = &put.condition {
            request = request
                .condition_expression(&condition.expression)
                .set_expression_attribute_names(non_empty(condition.names.clone()))
                .set_expression_attribute_values(non_empty(condition.values.clone()));
        }
        match request.send().await {
            Ok(_) => Ok(WriteOutcome::Recorded),
            Err(error) => match error.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => Ok(WriteOutcome::Duplicate),
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
        for update in &plan.updates {
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

    /// Access pattern 2: one call's summary.
    pub async fn call_summary(
        &self,
        provider: Provider,
        call_id: &str,
    ) -> Result<Option<CallSummary>, StoreError> {
        let pk = keys::conversation_pk(Channel::Call, provider, call_id);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk))
            .key(keys::SK, AttributeValue::S(keys::SUMMARY_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        output
            .item
            .map(|item| CallSummary::from_item(&item))
            .transpose()
    }

    /// Access pattern 4: one SMS message's summary (its long text put back
    /// together) and its status history in the order the statuses arrived.
    /// The summary and its parts, and the history, are two queries run
    /// concurrently; the events and their raw bodies are not read.
    pub async fn sms_message(
        &self,
        provider: Provider,
        message_id: &str,
    ) -> Result<Option<SmsRecord>, StoreError> {
        let pk = keys::conversation_pk(Channel::Sms, provider, message_id);
        let (summary_items, history_items) = tokio::join!(
            self.query_prefix(&pk, keys::SUMMARY_SK),
            self.query_prefix(&pk, keys::STATUS_SK_PREFIX)
        );
        let (summary_items, history_items) = (summary_items?, history_items?);
        let Some((summary_item, parts)) = summary_items.split_first() else {
            return Ok(None);
        };
        let mut summary = SmsSummary::from_item(summary_item)?;
        if let Some(count) = summary.message_text_parts {
            let prefix = keys::parts_prefix(keys::SUMMARY_SK);
            let texts: Vec<&str> = parts
                .iter()
                .filter(|item| {
                    item.get(keys::SK)
                        .and_then(|v| v.as_s().ok())
                        .is_some_and(|sk| sk.starts_with(&prefix))
                })
                .filter_map(|item| item.get("text").and_then(|v| v.as_s().ok()))
                .map(String::as_str)
                .collect();
            if texts.len() as u64 != count {
                return Err(StoreError(format!(
                    "message text of {message_id} has {} of its {count} parts",
                    texts.len()
                )));
            }
            summary.message_text = Some(texts.concat());
        }
        let mut history = history_items
            .iter()
            .map(SmsStatusEntry::from_item)
            .collect::<Result<Vec<_>, _>>()?;
        history.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.status.cmp(&b.status)));
        Ok(Some(SmsRecord { summary, history }))
    }

    /// Access pattern 1 (and 4 for messages): every event of one call or
    /// message, in the order they happened, with raw bodies reassembled.
    pub async fn conversation_events(
        &self,
        channel: Channel,
        provider: Provider,
        id: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let pk = keys::conversation_pk(channel, provider, id);
        let items = self.query_prefix(&pk, keys::EVENT_SK_PREFIX).await?;
        Ok(assemble_parts(items))
    }

    /// A call's final transcript exactly as the provider sent it (the JSON
    /// text, byte for byte), or `None` if no event of the call carried one.
    /// It is not stored twice: the event that carries it (Salpre's
    /// `call_ended`) names, in `transcript_pointer`, where it sits in its raw
    /// body, which is reassembled from its parts whatever its length. If
    /// several events carry one, the latest wins.
    pub async fn final_transcript(
        &self,
        provider: Provider,
        call_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let events = self
            .conversation_events(Channel::Call, provider, call_id)
            .await?;
        let Some(carrier) = events
            .iter()
            .rev()
            .find(|e| e.contains_key(TRANSCRIPT_POINTER))
        else {
            return Ok(None);
        };
        let text = |name: &str| match carrier.get(name) {
            Some(AttributeValue::S(value)) => Some(value.as_str()),
            _ => None,
        };
        let (Some(raw), Some(pointer)) = (text("raw"), text(TRANSCRIPT_POINTER)) else {
            return Err(StoreError("transcript event without raw body".into()));
        };
        json_at_pointer(raw, pointer)
            .map(|found| Some(found.to_string()))
            .ok_or_else(|| StoreError(format!("no JSON value at {pointer} in the raw body")))
    }

    /// A provider's events that name no call (see
    /// [`keys::unmatched_events_pk`]), in order, raw bodies reassembled.
    pub async fn unmatched_events(&self, provider: Provider) -> Result<Vec<Item>, StoreError> {
        let pk = keys::unmatched_events_pk(provider);
        let items = self.query_prefix(&pk, keys::EVENT_SK_PREFIX).await?;
        Ok(assemble_parts(items))
    }

    /// All items of one partition whose sort key starts with `prefix`, in
    /// sort-key order, following pagination.
    pub async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Access pattern 3: the most recent calls and messages from or to a
    /// number, newest first, across providers: both indexes read
    /// concurrently and merged.
    pub async fn timeline(
        &self,
        number: &PhoneNumber,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let limit = limit.max(1);
        let (from, to) = tokio::join!(
            self.query_index(keys::GSI1, keys::GSI1PK, number, limit),
            self.query_index(keys::GSI2, keys::GSI2PK, number, limit)
        );
        let (from, to) = (from?, to?);
        let sort_key = |item: &Item, attr: &str| {
            item.get(attr)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let mut merged: Vec<(String, Item)> = from
            .into_iter()
            .map(|i| (sort_key(&i, keys::GSI1SK), i))
            .chain(to.into_iter().map(|i| (sort_key(&i, keys::GSI2SK), i)))
            .collect();
        merged.sort_by(|a, b| b.0.cmp(&a.0));
        // A call from the number to itself appears in both indexes once.
        merged.dedup_by(|a, b| a.1.get(keys::PK) == b.1.get(keys::PK));
        merged.truncate(limit);
        Ok(merged.into_iter().map(|(_, item)| item).collect())
    }

    /// Access pattern 5: one of our numbers' configuration.
    pub async fn number_config(
        &self,
        number: &PhoneNumber,
    ) -> Result<Option<NumberConfig>, StoreError> {
        self.get_document(keys::number_config_pk(number), keys::CONFIG_SK)
            .await
    }

    /// Stores (replaces) a number's configuration.
    pub async fn put_number_config(&self, config: &NumberConfig) -> Result<(), StoreError> {
        self.put_document(
            keys::number_config_pk(&config.number),
            keys::CONFIG_SK,
            keys::NUMBER_CONFIG_ITEM_TYPE,
            config,
            &[],
        )
        .await
    }

    /// Access pattern 6: one caller's contact record.
    pub async fn contact(&self, number: &PhoneNumber) -> Result<Option<Contact>, StoreError> {
        self.get_document(keys::contact_pk(number), keys::CONTACT_SK)
            .await
    }

    /// Stores (replaces) a contact record.
    pub async fn put_contact(&self, contact: &Contact) -> Result<(), StoreError> {
        self.put_document(
            keys::contact_pk(&contact.number),
            keys::CONTACT_SK,
            keys::CONTACT_ITEM_TYPE,
            contact,
            &[
                (keys::GSI1PK, keys::phone_pk(&contact.number)),
                (keys::GSI1SK, keys::CONTACT_TIMELINE_SK.to_string()),
            ],
        )
        .await
    }

    /// Documents live whole in a `document` map attribute, so the item's
    /// own keys never mix with the document's fields.
    async fn put_document<T: Serialize>(
        &self,
        pk: String,
        sk: &str,
        item_type: &str,
        document: &T,
        index_keys: &[(&str, String)],
    ) -> Result<(), StoreError> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(document)
            .map_err(|e| StoreError(format!("unstorable document: {e}")))?;
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, AttributeValue::S(pk))
            .item(keys::SK, AttributeValue::S(sk.into()))
            .item(keys::ITEM_TYPE, AttributeValue::S(item_type.into()))
            .item("document", value);
        for (name, value) in index_keys {
            request = request.item(*name, AttributeValue::S(value.clone()));
        }
        request.send().await.map_err(store_error)?;
        Ok(())
    }

    async fn get_document<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, AttributeValue::S(pk))
            .key(keys::SK, AttributeValue::S(sk.into()))
            .send()
            .await
            .map_err(store_error)?;
        let Some(mut item) = output.item else {
            return Ok(None);
        };
        let Some(document) = item.remove("document") else {
            return Err(StoreError(
                "document item without a document attribute".into(),
            ));
        };
        serde_dynamo::from_attribute_value(document)
            .map(Some)
            .map_err(|e| StoreError(format!("unreadable document: {e}")))
    }

    /// Access pattern 5 through `cache`: a configuration read less than the
    /// cache's time ago is answered from memory, with no request.
    pub async fn number_config_cached(
        &self,
        cache: &NumberConfigCache,
        number: &PhoneNumber,
    ) -> Result<Option<NumberConfig>, StoreError> {
        if let Some(config) = cache.get(number, Instant::now()) {
            return Ok(config);
        }
        let asked_at = Instant::now();
        let config = self.number_config(number).await?;
        cache.put(number, config.clone(), asked_at);
        Ok(config)
    }

    /// Patterns 6 and 3 in one round trip, for a caller Retell is about to
    /// connect: the caller's contact record and the calls placed from the
    /// caller, newest first (GSI1, where the contact sorts first; see
    /// [`keys::CONTACT_TIMELINE_SK`]). One page of at most `limit` calls and
    /// messages; messages are skipped. The flag says whether older items
    /// were left unread.
    pub async fn caller_contact_and_calls(
        &self,
        caller: &PhoneNumber,
        limit: usize,
    ) -> Result<CallerRecords, StoreError> {
        let limit = limit.max(1);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::GSI1)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::GSI1PK)
            .expression_attribute_values(":pk", AttributeValue::S(keys::phone_pk(caller)))
            .scan_index_forward(false)
            // One more than `limit`: the contact, when there is one.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        let mut more = output.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let mut contact = None;
        let mut conversations = Vec::new();
        for item in output.items.unwrap_or_default() {
            if keys::is_contact(&item) {
                contact = Some(document_of(item)?);
            } else if keys::is_conversation(&item) {
                conversations.push(item);
            }
        }
        // Without a contact the page may hold `limit + 1` conversations.
        if conversations.len() > limit {
            conversations.truncate(limit);
            more = true;
        }
        let calls = conversations
            .iter()
            .filter(|item| keys::is_call(item))
            .map(CallSummary::from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CallerRecords {
            contact,
            calls,
            more,
        })
    }

    async fn query_index(
        &self,
        index: &str,
        partition_attr: &str,
        number: &PhoneNumber,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", partition_attr)
            .expression_attribute_values(":pk", AttributeValue::S(keys::phone_pk(number)))
            .scan_index_forward(false)
            // One more than `limit`: GSI1 also holds the number's contact.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        Ok(output
            .items
            .unwrap_or_default()
            .into_iter()
            .filter(keys::is_conversation)
            .collect())
    }
}

fn non_empty<K, V>(
    map: std::collections::HashMap<K, V>,
) -> Option<std::collections::HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}

/// The document stored whole in an item's `document` attribute.
fn document_of<T: serde::de::DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    let document = item
        .remove("document")
        .ok_or_else(|| StoreError("document item without a document attribute".into()))?;
    serde_dynamo::from_attribute_value(document)
        .map_err(|e| StoreError(format!("unreadable document: {e}")))
}

/// Puts each split value back together: an item with `raw_parts` (N) gets
/// its `raw` from the N `raw_part` items that follow it, whose sort keys
/// are exactly its own followed by `#PART#0001`... in order; the parts are
/// dropped. A part of another type, out of order, beyond N, or of another
/// owner is never spliced in; a value whose parts are not all there is left
/// without `raw` (and says so in `raw_incomplete`) rather than shown cut.
pub fn assemble_parts(items: Vec<Item>) -> Vec<Item> {
    struct Pending {
        owner_sk: String,
        expected: usize,
        text: String,
        found: usize,
    }
    fn finish(out: &mut [Item], pending: Pending) {
        let Some(owner) = out.last_mut() else {
            return;
        };
        if pending.found == pending.expected {
            owner.insert("raw".into(), AttributeValue::S(pending.text));
        } else {
            owner.insert(
                "raw_incomplete".into(),
                AttributeValue::S(format!("{} of {} parts", pending.found, pending.expected)),
            );
        }
    }
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    let mut pending: Option<Pending> = None;
    for item in items {
        let sk = item
            .get(keys::SK)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if let Some(p) = pending.as_mut() {
            if sk.starts_with(&keys::parts_prefix(&p.owner_sk)) {
                let is_part = item
                    .get(keys::ITEM_TYPE)
                    .is_some_and(|v| v.as_s().is_ok_and(|t| t == RAW_PART_ITEM_TYPE));
                if is_part && p.found < p.expected && sk == keys::part_sk(&p.owner_sk, p.found + 1)
                {
                    if let Some(AttributeValue::S(part)) = item.get("raw") {
                        p.text.push_str(part);
                        p.found += 1;
                    }
                }
                continue;
            }
        }
        if let Some(p) = pending.take() {
            finish(&mut out, p);
        }
        let expected = item
            .get("raw_parts")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<usize>().ok());
        if let Some(expected) = expected {
            pending = Some(Pending {
                owner_sk: sk,
                expected,
                text: String::new(),
                found: 0,
            });
        }
        out.push(item);
    }
    if let Some(p) = pending {
        finish(&mut out, p);
    }
    out
}

/// `item_type` of the items a long raw body is split into.
pub const RAW_PART_ITEM_TYPE: &str = "raw_part";

/// The event attribute naming where a final transcript sits in the raw body.
pub const TRANSCRIPT_POINTER: &str = "transcript_pointer";

/// The exact text of the JSON value at `pointer` (RFC 6901, object members
/// only: `/payload/transcript`) in `json`, without re-serializing it.
pub fn json_at_pointer<'a>(json: &'a str, pointer: &str) -> Option<&'a str> {
    use serde_json::value::RawValue;
    let mut current: &'a str = json;
    for segment in pointer.split('/').skip(1) {
        let name = segment.replace("~1", "/").replace("~0", "~");
        let members: std::collections::HashMap<String, &'a RawValue> =
            serde_json::from_str(current).ok()?;
        current = members.get(&name)?.get();
    }
    Some(current.trim())
}

/// A call's summary as stored (access pattern 2), with its derived status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    pub provider: String,
    pub call_id: String,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    pub first_seen_at: String,
    #[serde(default)]
    pub is_test: bool,
    #[serde(default)]
    pub event_count: u64,
    #[serde(default)]
    pub initiated_at: Option<String>,
    #[serde(default)]
    pub ringing_at: Option<String>,
    #[serde(default)]
    pub answered_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    #[serde(default)]
    pub unanswered_at: Option<String>,
    /// Salpre's `source` (`salprebox:SALPRE_AABBCCDD`).
    #[serde(default)]
    pub source: Option<String>,
    /// Set once with `failed_at`: the provider's own words.
    #[serde(default)]
    pub error_message: Option<String>,
    /// An answered call that reached nobody (Retell's outcome rules).
    #[serde(default)]
    pub missed_at: Option<String>,
}

impl CallSummary {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        serde_dynamo::from_item(item.clone())
            .map_err(|e| StoreError(format!("unreadable call summary: {e}")))
    }

    pub fn phases(&self) -> CallPhases {
        CallPhases {
            initiated_at: self.initiated_at.clone(),
            ringing_at: self.ringing_at.clone(),
            answered_at: self.answered_at.clone(),
            ended_at: self.ended_at.clone(),
            failed_at: self.failed_at.clone(),
            unanswered_at: self.unanswered_at.clone(),
        }
    }

    pub fn status(&self) -> crate::event::CallStatus {
        self.phases().status()
    }

    pub fn is_missed(&self) -> bool {
        self.phases().is_missed(self.direction)
            || (self.direction == Some(Direction::Inbound)
                && self.missed_at.is_some()
                && self.failed_at.is_none())
    }
}

/// One SMS message as stored (access pattern 4): its summary and its status
/// history, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct SmsRecord {
    pub summary: SmsSummary,
    pub history: Vec<SmsStatusEntry>,
}

/// An SMS summary as stored, with its derived status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsSummary {
    pub provider: String,
    pub message_id: String,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    pub first_seen_at: String,
    #[serde(default)]
    pub is_test: bool,
    #[serde(default)]
    pub event_count: u64,
    #[serde(default)]
    pub segments: Option<u32>,
    /// The whole text; [`Store::sms_message`] reassembles a split one.
    #[serde(default)]
    pub message_text: Option<String>,
    /// How many `SUMMARY#PART#` items hold the text when it was too long
    /// for the summary item.
    #[serde(default)]
    pub message_text_parts: Option<u64>,
    #[serde(default)]
    pub medias: Option<Vec<String>>,
    #[serde(default)]
    pub inbound_at: Option<String>,
    #[serde(default)]
    pub sent_at: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    /// The provider's `message` with the failed status.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// The reject rule that refused an inbound chat (Retell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
}

impl SmsSummary {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        serde_dynamo::from_item(item.clone())
            .map_err(|e| StoreError(format!("unreadable sms summary: {e}")))
    }

    pub fn moments(&self) -> SmsMoments {
        SmsMoments {
            inbound_at: self.inbound_at.clone(),
            sent_at: self.sent_at.clone(),
            delivered_at: self.delivered_at.clone(),
            failed_at: self.failed_at.clone(),
        }
    }

    /// `None` while only statuses the provider does not document were seen.
    pub fn status(&self) -> Option<SmsStatus> {
        self.moments().status()
    }
}

/// One entry of an SMS's status history (`SK = STATUS#<status>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsStatusEntry {
    /// Canonical for a documented status, else as the provider sent it.
    pub status: String,
    /// Whether the provider documents this status.
    #[serde(default)]
    pub known: bool,
    /// When it reached us (RFC 3339, milliseconds, UTC).
    pub at: String,
    /// The provider's sentence about it.
    #[serde(default)]
    pub message: Option<String>,
    /// The sort key of the event that carried it (its raw payload).
    #[serde(default)]
    pub event_sk: Option<String>,
}

impl SmsStatusEntry {
    pub fn from_item(item: &Item) -> Result<Self, StoreError> {
        serde_dynamo::from_item(item.clone())
            .map_err(|e| StoreError(format!("unreadable sms status entry: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plan::s;

    fn item(sk: &str, extra: &[(&str, AttributeValue)]) -> Item {
        let mut item = Item::from([(keys::SK.to_string(), s(sk))]);
        for (k, v) in extra {
            item.insert(k.to_string(), v.clone());
        }
        item
    }

    fn part(sk: &str, raw: &str) -> Item {
        item(
            sk,
            &[("raw", s(raw)), (keys::ITEM_TYPE, s(RAW_PART_ITEM_TYPE))],
        )
    }

    #[test]
    fn parts_are_reassembled_onto_their_event() {
        let items = vec![
            item("EVENT#1", &[("raw", s("small"))]),
            item("EVENT#2", &[("raw_parts", plan::n(2))]),
            part("EVENT#2#PART#0001", "ab"),
            part("EVENT#2#PART#0002", "cd"),
            item("EVENT#3", &[("raw_parts", plan::n(1))]),
            part("EVENT#3#PART#0001", "z"),
        ];
        let out = assemble_parts(items);
        assert_eq!(out.len(), 3);
        assert_eq!(out[0]["raw"], s("small"));
        assert_eq!(out[1]["raw"], s("abcd"));
        assert_eq!(out[2]["raw"], s("z"));
    }

    #[test]
    fn only_the_owners_own_parts_in_order_are_spliced() {
        let items = vec![
            item("EVENT#2", &[("raw_parts", plan::n(2))]),
            part("EVENT#2#PART#0001", "ab"),
            // Not a raw part, though its key looks like one.
            item(
                "EVENT#2#PART#0002",
                &[("raw", s("EVIL")), (keys::ITEM_TYPE, s("call_event"))],
            ),
            part("EVENT#2#PART#0002", "cd"),
            // Beyond the count the owner gave.
            part("EVENT#2#PART#0003", "EVIL"),
            // Another event's part that sorts after the owner.
            part("EVENT#2#x#PART#0001", "EVIL"),
            item("EVENT#4", &[("raw_parts", plan::n(3))]),
            part("EVENT#4#PART#0001", "a"),
            part("EVENT#4#PART#0003", "c"),
        ];
        let out = assemble_parts(items);
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0]["raw"], s("abcd"));
        // A part with a key of its own is an item of its own, not spliced.
        assert_eq!(out[1][keys::SK], s("EVENT#2#x#PART#0001"));
        assert!(!out[2].contains_key("raw"), "{:?}", out[2]);
        assert_eq!(out[2]["raw_incomplete"], s("1 of 3 parts"));
    }

    #[test]
    fn json_at_pointer_returns_the_exact_text() {
        let json = r#"{"a": 1, "payload" : { "x":{"y":2}, "transcript" : [ {"m":"\u00e9 é"},  1.50 ] }, "b": "~/"}"#;
        assert_eq!(
            json_at_pointer(json, "/payload/transcript"),
            Some(r#"[ {"m":"\u00e9 é"},  1.50 ]"#)
        );
        assert_eq!(json_at_pointer(json, "/payload/x/y"), Some("2"));
        assert_eq!(json_at_pointer(json, ""), Some(json));
        assert_eq!(json_at_pointer(json, "/payload/missing"), None);
        assert_eq!(json_at_pointer(json, "/a/b"), None);
        assert_eq!(json_at_pointer("not json", "/a"), None);
        assert_eq!(
            json_at_pointer(r#"{"a/b": {"~": 3}}"#, "/a~1b/~0"),
            Some("3")
        );
    }

    #[test]
    fn summary_reads_from_an_item() {
        let item = Item::from([
            ("provider".to_string(), s("zonitel")),
            ("call_id".to_string(), s("c1")),
            ("direction".to_string(), s("inbound")),
            ("first_seen_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("ringing_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("event_count".to_string(), plan::n(1)),
            ("GSI1PK".to_string(), s("PHONE#+1")),
        ]);
        let summary = CallSummary::from_item(&item).unwrap();
        assert_eq!(summary.direction, Some(Direction::Inbound));
        assert_eq!(summary.status(), crate::event::CallStatus::Ringing);
        assert!(!summary.is_missed());
    }

    #[test]
    fn sms_summary_reads_from_an_item() {
        let item = Item::from([
            ("provider".to_string(), s("zonitel")),
            ("message_id".to_string(), s("m1")),
            ("direction".to_string(), s("outbound")),
            ("first_seen_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("delivered_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("sent_at".to_string(), s("2026-01-01T00:00:01.000Z")),
            ("segments".to_string(), plan::n(2)),
            (
                "medias".to_string(),
                AttributeValue::L(vec![s("https://example.com/a.jpg")]),
            ),
            ("event_count".to_string(), plan::n(2)),
        ]);
        let summary = SmsSummary::from_item(&item).unwrap();
        assert_eq!(summary.direction, Some(Direction::Outbound));
        assert_eq!(summary.status(), Some(SmsStatus::Delivered));
        assert_eq!(summary.segments, Some(2));
        assert_eq!(
            summary.medias,
            Some(vec!["https://example.com/a.jpg".to_string()])
        );
    }
}
