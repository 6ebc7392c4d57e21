//! The access-pattern reads: a call's or message's summary and events, a
//! number's timeline, a caller's contact and calls, and the reassembly of
//! values split over part items.

use super::documents::document_of;
use super::plan::Item;
use super::records::{CallSummary, CallerRecords, SmsRecord, SmsStatusEntry, SmsSummary};
use super::sdk::{self, from_sdk_item, SdkItem};
use super::{keys, store_error, SortKeyRange, Store, StoreError};
use crate::attribute::AttributeValue;
use crate::event::{Channel, Provider};
use crate::phone::PhoneNumber;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

impl Store {
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
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, SdkValue::S(pk))
            .key(keys::SK, SdkValue::S(keys::SUMMARY_SK.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        output
            .item
            .map(|item| CallSummary::from_item(&from_sdk_item(&item)))
            .transpose()
            .map_err(StoreError::from)
    }

    /// Whether the item `pk`/`sk` exists (a consistent read of its key only).
    pub async fn item_exists(&self, pk: &str, sk: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .key(keys::PK, SdkValue::S(pk.into()))
            .key(keys::SK, SdkValue::S(sk.into()))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", keys::PK)
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(output.item.is_some_and(|item| !item.is_empty()))
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
        // Text parts are written ahead of the summary (store::transaction):
        // parts without it are a message not recorded yet.
        let Some((summary_item, parts)) = summary_items.split_first().filter(|(first, _)| {
            first
                .get(keys::SK)
                .is_some_and(|sk| sk.as_s().is_ok_and(|sk| sk == keys::SUMMARY_SK))
        }) else {
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

    /// All items of one partition whose sort key starts with `prefix`, in
    /// sort-key order, following pagination.
    pub async fn query_prefix(&self, pk: &str, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<SdkItem> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", SdkValue::S(pk.into()))
                .expression_attribute_values(":prefix", SdkValue::S(prefix.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(store_error)?;
            items.extend(sdk::items(output.items));
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

    /// The conversations to `number` (GSI2) first seen between the
    /// timeline keys `lower` and `upper`, newest first, one page of at most
    /// 100: the calls a Retell call event may belong to.
    pub async fn timeline_to_number_between(
        &self,
        number: &PhoneNumber,
        lower: &str,
        upper: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let range = SortKeyRange::Between {
            attr: keys::GSI2SK,
            lower,
            upper,
        };
        let output = self
            .newest_first(keys::GSI2, keys::GSI2PK, keys::phone_pk(number), range)
            .limit(100)
            .send()
            .await
            .map_err(store_error)?;
        Ok(sdk::items(output.items))
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
            .newest_first(
                keys::GSI1,
                keys::GSI1PK,
                keys::phone_pk(caller),
                SortKeyRange::All,
            )
            // One more than `limit`: the contact, when there is one.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        let mut more = output.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let mut contact = None;
        let mut conversations = Vec::new();
        for item in sdk::items(output.items) {
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
            .newest_first(
                index,
                partition_attr,
                keys::phone_pk(number),
                SortKeyRange::All,
            )
            // One more than `limit`: GSI1 also holds the number's contact.
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(store_error)?;
        Ok(sdk::items(output.items)
            .into_iter()
            .filter(keys::is_conversation)
            .collect())
    }
}

/// Puts each split value back together: an item with `raw_parts` (N) gets
/// its `raw` from the N `raw_part` items that follow it, whose sort keys
/// are exactly its own followed by `#PART#0001`... in order; the parts are
/// dropped. A part of another type, out of order, beyond N, or of another
/// owner is never spliced in; a value whose parts are not all there is left
/// without `raw` (and says so in `raw_incomplete`) rather than shown cut.
/// A raw part no item counts (written ahead of a transaction that then
/// found a duplicate, see `store::transaction`) is no event: left out.
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
                if is_raw_part(&item)
                    && p.found < p.expected
                    && sk == keys::part_sk(&p.owner_sk, p.found + 1)
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
        if is_raw_part(&item) {
            continue;
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

fn is_raw_part(item: &Item) -> bool {
    item.get(keys::ITEM_TYPE)
        .is_some_and(|v| v.as_s().is_ok_and(|t| t == RAW_PART_ITEM_TYPE))
}

/// `item_type` of the items a long raw body is split into.
pub const RAW_PART_ITEM_TYPE: &str = "raw_part";

/// The event attribute naming where a final transcript sits in the raw body.
pub const TRANSCRIPT_POINTER: &str = crate::store::plan::TRANSCRIPT_POINTER_ATTR;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::plan::{self, s};

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
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0]["raw"], s("abcd"));
        // A part no item counts is not spliced, nor shown as an event.
        assert!(!out.iter().any(|i| i[keys::SK] == s("EVENT#2#x#PART#0001")));
        assert!(!out[1].contains_key("raw"), "{:?}", out[1]);
        assert_eq!(out[1]["raw_incomplete"], s("1 of 3 parts"));
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
}
