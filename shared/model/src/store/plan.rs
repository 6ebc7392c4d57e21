//! What one delivery writes, as plain data: built by pure code (and tested
//! without the network), executed by [`super::Store::write`] as one
//! conditional request.

use super::keys::{self, PK, SK, TTL};
pub use crate::attribute::{AttributeValue, Item};
use crate::event::{Channel, Event};
use crate::time::{self, Timestamp};
use std::collections::HashMap;

/// Raw bodies above this many bytes are split across part items; DynamoDB's
/// item limit is 400 KB and the rest of an event item needs room too.
pub const RAW_PART_BYTES: usize = 300_000;

/// The event attribute holding the JSON pointer to where the event's raw
/// body carries the call's transcript (Salpre's `call_ended`, Retell's call
/// events): the transcript is kept once, in the raw body, and a call's is
/// read from its latest event that has one.
pub const TRANSCRIPT_POINTER_ATTR: &str = "transcript_pointer";

/// The event attribute naming what was odd about a partly understood
/// delivery (see [`Event::anomalies`]).
pub const ANOMALIES: &str = "anomalies";

/// A value from outside stored as an attribute of its own (a parameter, a
/// message, a parsed map) is at most this large; above it the value stays
/// only in the raw body (event items) or is cut (summaries), and the cut is
/// named. See [`WritePlan::bound`].
pub const MAX_ATTRIBUTE_BYTES: usize = 64 * 1024;
/// A value from outside on a summary is at most this large: a summary
/// gathers the values of every callback of its call (a message, a URL, a
/// dial's ids, `Vars`...), so each must be small for the whole to stay far
/// under the item limit whatever arrives. Longer text is cut, marked
/// `<name>_truncated`; the event keeps more and the raw body all of it.
pub const MAX_SUMMARY_ATTRIBUTE_BYTES: usize = 16 * 1024;
/// What [`WritePlan::bound`] keeps every item under: DynamoDB refuses items
/// over 400 KB (409,600 bytes); the size estimate rounds numbers up, and
/// the slack covers what it does not count exactly.
pub const MAX_ITEM_BYTES: usize = 380_000;
/// DynamoDB refuses a transaction whose items add up to more than 4 MB.
pub const MAX_TRANSACTION_BYTES: usize = 4_000_000;
/// The anomalies list stays short: the first ones, each one line.
pub const MAX_ANOMALIES: usize = 32;
pub const MAX_ANOMALY_CHARS: usize = 200;

/// Room in a new event item for the attributes every provider sets and what
/// they add (Voxtelesys the most: 15 shared, its hook, 24 parameters and
/// `vars`), so the map is never rehashed as it fills: it is built on every
/// delivery.
const EVENT_ITEM_CAPACITY: usize = 44;

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A boolean attribute.
pub fn b(value: bool) -> AttributeValue {
    AttributeValue::Bool(value)
}

/// A list of strings.
pub fn string_list<T: AsRef<str>>(values: &[T]) -> AttributeValue {
    AttributeValue::L(values.iter().map(|v| s(v.as_ref())).collect())
}

/// A map of strings.
pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a String, &'a String)>) -> AttributeValue {
    AttributeValue::M(pairs.into_iter().map(|(k, v)| (k.clone(), s(v))).collect())
}

/// JSON as a structured attribute, when DynamoDB can store it as one (not
/// a number past its range or precision, nor nesting deeper than 32).
pub fn from_json(value: &serde_json::Value) -> Option<AttributeValue> {
    Some(crate::attribute::from_json(value)).filter(is_storable)
}

/// The text of a string attribute of an item.
pub fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

/// A condition on one write, with its placeholders.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Condition {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Condition {
    /// The item must not exist yet: how a retried delivery is recognised.
    pub fn item_absent() -> Self {
        Condition {
            expression: "attribute_not_exists(#pk)".into(),
            names: HashMap::from([("#pk".to_string(), PK.to_string())]),
            values: HashMap::new(),
        }
    }
}

/// A put whose failed condition means "this delivery was already recorded".
#[derive(Clone, Debug, PartialEq)]
pub struct GuardedPut {
    pub item: Item,
    pub condition: Option<Condition>,
}

/// An update of a summary item that can only move forward: `set_once`
/// attributes keep the first value ever written (`if_not_exists`), `set`
/// attributes take the new value, `increment` adds to a counter, `remove`
/// drops an attribute (a sparse index key that no longer applies).
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryUpdate {
    pub pk: String,
    pub sk: String,
    pub set_once: Vec<(String, AttributeValue)>,
    pub set: Vec<(String, AttributeValue)>,
    pub increment: Vec<(String, i64)>,
    pub remove: Vec<String>,
}

/// An update expression with its placeholders.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateExpression {
    pub expression: String,
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl SummaryUpdate {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        SummaryUpdate {
            pk: pk.into(),
            sk: sk.into(),
            // A conversation summary sets about this many; sized once.
            set_once: Vec::with_capacity(16),
            set: Vec::new(),
            increment: Vec::new(),
            remove: Vec::new(),
        }
    }

    /// Keeps the first value ever written to `name`. Setting an attribute
    /// that is already set once in this update is ignored (first wins).
    pub fn set_once(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        if !self.set_once.iter().any(|(n, _)| n == name) {
            self.set_once.push((name.to_string(), value));
        }
        self
    }

    pub fn set(&mut self, name: &str, value: AttributeValue) -> &mut Self {
        self.set.retain(|(n, _)| n != name);
        self.remove.retain(|n| n != name);
        self.set.push((name.to_string(), value));
        self
    }

    /// Drops `name` from the item (the last of `set` and `remove` wins).
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.set.retain(|(n, _)| n != name);
        if !self.remove.iter().any(|n| n == name) {
            self.remove.push(name.to_string());
        }
        self
    }

    pub fn increment(&mut self, name: &str, by: i64) -> &mut Self {
        self.increment.push((name.to_string(), by));
        self
    }

    pub fn key(&self) -> Item {
        HashMap::from([(PK.to_string(), s(&self.pk)), (SK.to_string(), s(&self.sk))])
    }

    /// `SET #a0 = if_not_exists(#a0, :v0), #a1 = :v1 ADD #a2 :v2 REMOVE #a3`.
    pub fn expression(&self) -> UpdateExpression {
        use std::fmt::Write;
        let count = self.set_once.len() + self.set.len() + self.increment.len();
        let mut names = HashMap::with_capacity(count);
        let mut values = HashMap::with_capacity(count);
        // Written into one string (about 40 bytes per attribute) rather
        // than a string per clause joined at the end.
        let mut expression = String::with_capacity(40 * count);
        let mut next = 0;
        let mut bind = |name: &str, value: AttributeValue| {
            let (n, v) = (format!("#a{next}"), format!(":v{next}"));
            next += 1;
            names.insert(n.clone(), name.to_string());
            values.insert(v.clone(), value);
            (n, v)
        };
        // Writing to a String cannot fail.
        for (i, (name, value)) in self.set_once.iter().enumerate() {
            let (n, v) = bind(name, value.clone());
            let lead = if i == 0 { "SET " } else { ", " };
            let _ = write!(expression, "{lead}{n} = if_not_exists({n}, {v})");
        }
        for (name, value) in &self.set {
            let (n, v) = bind(name, value.clone());
            let lead = if expression.is_empty() { "SET " } else { ", " };
            let _ = write!(expression, "{lead}{n} = {v}");
        }
        for (i, (name, by)) in self.increment.iter().enumerate() {
            let (n, v) = bind(name, AttributeValue::N(by.to_string()));
            let lead = match (i, expression.is_empty()) {
                (0, true) => "ADD ",
                (0, false) => " ADD ",
                _ => ", ",
            };
            let _ = write!(expression, "{lead}{n} {v}");
        }
        for (i, name) in self.remove.iter().enumerate() {
            let n = format!("#a{next}");
            next += 1;
            names.insert(n.clone(), name.clone());
            let lead = match (i, expression.is_empty()) {
                (0, true) => "REMOVE ",
                (0, false) => " REMOVE ",
                _ => ", ",
            };
            let _ = write!(expression, "{lead}{n}");
        }
        UpdateExpression {
            expression,
            names,
            values,
        }
    }
}

/// Everything one delivery writes, in one request: the guarded puts (the
/// event, its raw parts, any provider-specific guard) and the summary
/// updates. If any guard's condition fails, nothing is written and the
/// delivery is a duplicate.
#[derive(Clone, Debug, PartialEq)]
pub struct WritePlan {
    pub puts: Vec<GuardedPut>,
    pub updates: Vec<SummaryUpdate>,
}

impl WritePlan {
    /// The event item (and raw parts) plus the conversation's summary with
    /// the fields every provider shares. Providers then add their phases.
    pub fn for_event(event: &Event, retention_days: u32) -> Self {
        let pk = keys::conversation_pk(event.channel, event.provider, &event.provider_id);
        let occurred = time::to_key(event.occurred_at);
        let received = time::to_key(event.received_at);
        let event_sk = keys::event_sk(&occurred, &event.kind, &event.delivery_key);
        let expires = n(time::expires_at(event.received_at, retention_days));

        let mut item = Item::with_capacity(EVENT_ITEM_CAPACITY);
        item.insert(PK.into(), s(&pk));
        item.insert(SK.into(), s(&event_sk));
        item.insert(
            keys::ITEM_TYPE.into(),
            s(format!("{}_event", event.channel.as_str())),
        );
        item.insert("provider".into(), s(event.provider.as_str()));
        item.insert(id_attribute(event.channel).into(), s(&event.provider_id));
        item.insert("kind".into(), s(&event.kind));
        item.insert("occurred_at".into(), s(&occurred));
        item.insert("received_at".into(), s(&received));
        item.insert("is_test".into(), AttributeValue::Bool(event.is_test));
        item.insert(TTL.into(), expires.clone());
        if let Some(direction) = event.direction {
            item.insert("direction".into(), s(direction.as_str()));
        }
        if let Some(from) = &event.from {
            item.insert("from".into(), s(from.as_str()));
        }
        if let Some(to) = &event.to {
            item.insert("to".into(), s(to.as_str()));
        }
        for (name, text) in number_texts(event) {
            item.insert(name.into(), s(text));
        }
        if let Some(name) = &event.caller_name {
            item.insert("caller_name".into(), s(name));
        }
        if !event.anomalies.is_empty() {
            item.insert(ANOMALIES.into(), anomaly_list(&event.anomalies));
        }

        let mut puts = Vec::new();
        let parts = split_utf8(&event.raw, RAW_PART_BYTES);
        if parts.len() <= 1 {
            item.insert("raw".into(), s(&event.raw));
        } else {
            item.insert("raw_parts".into(), n(parts.len()));
        }
        puts.push(GuardedPut {
            item,
            condition: Some(Condition::item_absent()),
        });
        if parts.len() > 1 {
            puts.extend(raw_part_puts(&pk, &event_sk, &parts, &expires));
        }

        let mut summary = SummaryUpdate::new(&pk, keys::SUMMARY_SK);
        summary
            .set_once(keys::ITEM_TYPE, s(event.channel.as_str()))
            .set_once("provider", s(event.provider.as_str()))
            .set_once(id_attribute(event.channel), s(&event.provider_id))
            .set_once("first_seen_at", s(&received))
            .set_once("is_test", AttributeValue::Bool(event.is_test))
            // Kept RetentionDays after the conversation's latest delivery.
            .set(TTL, expires.clone())
            .increment("event_count", 1);
        if let Some(direction) = event.direction {
            summary.set_once("direction", s(direction.as_str()));
        }
        let timeline =
            keys::timeline_sk(&received, event.channel, event.provider, &event.provider_id);
        summary
            .set_once(keys::GSI3PK, s(keys::day_pk(&received)))
            .set_once(keys::GSI3SK, s(&timeline));
        if let Some(from) = &event.from {
            summary
                .set_once("from", s(from.as_str()))
                .set_once(keys::GSI1PK, s(keys::phone_pk(from)))
                .set_once(keys::GSI1SK, s(&timeline));
        }
        if let Some(to) = &event.to {
            summary
                .set_once("to", s(to.as_str()))
                .set_once(keys::GSI2PK, s(keys::phone_pk(to)))
                .set_once(keys::GSI2SK, s(&timeline));
        }
        if let Some(name) = event
            .caller_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            summary.set_once("caller_name", s(name));
        }
        for (name, text) in number_texts(event) {
            summary.set_once(name, s(text));
        }
        WritePlan {
            puts,
            updates: vec![summary],
        }
    }

    /// The conversation summary every plan starts with.
    pub fn summary_mut(&mut self) -> &mut SummaryUpdate {
        &mut self.updates[0]
    }

    /// Adds a guard that must hold for the delivery to count as new.
    pub fn guard_with(&mut self, put: GuardedPut) -> &mut Self {
        self.puts.insert(0, put);
        self
    }

    /// Adds a delivery guard: an item in partition `pk` named by the
    /// delivery's identity (`parts`, see [`keys::delivery_sk`]), kept as
    /// long as the events. A second delivery of the same identity fails its
    /// condition, and the plan writes nothing.
    pub fn guard_delivery(
        &mut self,
        pk: &str,
        parts: &[&str],
        received_at: Timestamp,
        retention_days: u32,
    ) -> &mut Self {
        let mut item = Item::with_capacity(4);
        item.insert(keys::PK.into(), s(pk));
        item.insert(keys::SK.into(), s(keys::delivery_sk(parts)));
        item.insert(keys::ITEM_TYPE.into(), s("delivery_guard"));
        item.insert(
            keys::TTL.into(),
            n(time::expires_at(received_at, retention_days)),
        );
        self.guard_with(GuardedPut {
            item,
            condition: Some(Condition::item_absent()),
        })
    }

    /// Adds the retry guard of `event`'s call (see [`RetryGuard`]).
    pub fn guard_retries(&mut self, guard: &RetryGuard, event: &Event) -> &mut Self {
        self.guard_with(guard.put(&event.provider_id, event.received_at))
    }

    /// Replaces the anomalies listed on the plan's event item (the put
    /// whose `item_type` ends in `_event`) with `anomalies`.
    pub fn note_anomalies(&mut self, anomalies: &[String]) {
        let event_item = self.puts.iter_mut().map(|put| &mut put.item).find(|item| {
            matches!(item.get(keys::ITEM_TYPE), Some(AttributeValue::S(t)) if t.ends_with("_event"))
        });
        if let Some(item) = event_item {
            if anomalies.is_empty() {
                item.remove(ANOMALIES);
            } else {
                item.insert(
                    ANOMALIES.into(),
                    AttributeValue::L(anomalies.iter().map(s).collect()),
                );
            }
        }
    }

    pub fn action_count(&self) -> usize {
        self.puts.len() + self.updates.len()
    }

    /// Keeps every item within what DynamoDB stores, whatever a sender put
    /// in its delivery (a 250 KB `SpeechResult`, a 300-parameter form):
    ///
    /// * on the event item, an attribute over [`MAX_ATTRIBUTE_BYTES`] is
    ///   removed: the raw body (kept whole, split across part items when
    ///   large) still holds it;
    /// * an event item still over [`MAX_ITEM_BYTES`] moves its raw body to
    ///   part items, then loses its largest attributes until it fits;
    /// * a summary value over [`MAX_SUMMARY_ATTRIBUTE_BYTES`] is cut: text
    ///   to that many bytes (with `<name>_truncated` set), anything else
    ///   left out.
    ///
    /// Every removal is named on the event item's `anomalies` and returned,
    /// so the provider can add them to its [`Event::anomalies`]. Providers
    /// call it last, once their attributes are in.
    pub fn bound(&mut self) -> Vec<String> {
        let mut named = Vec::new();
        let mut extra_puts = Vec::new();
        // Summaries first, so what they lose is named on the event too.
        for update in &mut self.updates {
            let mut truncated = Vec::new();
            for (name, value) in update.set_once.iter_mut().chain(update.set.iter_mut()) {
                if attribute_bytes(value) <= MAX_SUMMARY_ATTRIBUTE_BYTES {
                    continue;
                }
                let size = attribute_bytes(value);
                match value {
                    AttributeValue::S(text) => {
                        let cut = prefix_within(text, MAX_SUMMARY_ATTRIBUTE_BYTES).len();
                        text.truncate(cut);
                        truncated.push(format!("{name}_truncated"));
                        named.push(format!("{name}: {size} bytes, cut on the summary"));
                    }
                    _ => {
                        // Marked for removal below: not text, cannot be cut.
                        *value = AttributeValue::Null(true);
                        named.push(format!("{name}: {size} bytes, left off the summary"));
                    }
                }
            }
            update
                .set_once
                .retain(|(_, v)| !matches!(v, AttributeValue::Null(true)));
            update
                .set
                .retain(|(_, v)| !matches!(v, AttributeValue::Null(true)));
            for name in truncated {
                update.set_once(&name, AttributeValue::Bool(true));
            }
        }
        if let Some(put) = self.puts.iter_mut().find(|p| is_event_item(&p.item)) {
            let item = &mut put.item;
            let mut over: Vec<String> = item
                .iter()
                .filter(|(name, value)| {
                    name.as_str() != "raw"
                        && !is_structural(name)
                        && attribute_bytes(value) > MAX_ATTRIBUTE_BYTES
                })
                .map(|(name, _)| name.clone())
                .collect();
            over.sort();
            for name in over {
                if let Some(value) = item.remove(&name) {
                    named.push(format!(
                        "{name}: {} bytes, kept in the raw body only",
                        attribute_bytes(&value)
                    ));
                }
            }
            if item_bytes(item) > MAX_ITEM_BYTES {
                if let Some(AttributeValue::S(raw)) = item.remove("raw") {
                    let text = |name: &str| match item.get(name) {
                        Some(AttributeValue::S(v)) => v.clone(),
                        _ => String::new(),
                    };
                    let (pk, sk) = (text(PK), text(SK));
                    let expires = item.get(TTL).cloned().unwrap_or_else(|| n(0));
                    let parts = split_utf8(&raw, RAW_PART_BYTES);
                    item.insert("raw_parts".into(), n(parts.len()));
                    extra_puts = raw_part_puts(&pk, &sk, &parts, &expires);
                }
            }
            while item_bytes(item) > MAX_ITEM_BYTES {
                let Some((name, size)) = item
                    .iter()
                    .filter(|(name, _)| !is_structural(name))
                    .map(|(name, value)| (name.clone(), attribute_bytes(value)))
                    .max_by_key(|(_, size)| *size)
                else {
                    break;
                };
                item.remove(&name);
                named.push(format!(
                    "{name}: {size} bytes, left out to fit the item (kept in the raw body)"
                ));
            }
            if !named.is_empty() {
                let mut all: Vec<String> = match item.get(ANOMALIES) {
                    Some(AttributeValue::L(list)) => {
                        list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
                    }
                    _ => Vec::new(),
                };
                all.extend(named.iter().cloned());
                item.insert(ANOMALIES.into(), anomaly_list(&all));
            }
        }
        self.puts.extend(extra_puts);
        named
    }

    /// An upper estimate of what the plan's items weigh in DynamoDB's
    /// transaction limit (each put whole; each update's key and values).
    pub fn bytes(&self) -> usize {
        let puts: usize = self.puts.iter().map(|p| item_bytes(&p.item)).sum();
        let updates: usize = self.updates.iter().map(SummaryUpdate::bytes).sum();
        puts + updates
    }
}

impl SummaryUpdate {
    /// What this update adds to its item at most: key and values.
    pub fn bytes(&self) -> usize {
        let values = self
            .set_once
            .iter()
            .chain(self.set.iter())
            .map(|(name, value)| name.len() + attribute_bytes(value));
        let counters = self.increment.iter().map(|(name, _)| name.len() + 21);
        PK.len()
            + self.pk.len()
            + SK.len()
            + self.sk.len()
            + values.sum::<usize>()
            + counters.sum::<usize>()
    }
}

/// Attributes that make an item what it is (keys, type, expiry, the parts
/// count, the anomalies): never cut by [`WritePlan::bound`].
fn is_structural(name: &str) -> bool {
    matches!(
        name,
        PK | SK
            | keys::ITEM_TYPE
            | TTL
            | keys::GSI1PK
            | keys::GSI1SK
            | keys::GSI2PK
            | keys::GSI2SK
            | "raw_parts"
            | ANOMALIES
    )
}

/// The event's own item (`call_event`, `sms_event`, `provider_event`...).
fn is_event_item(item: &Item) -> bool {
    matches!(item.get(keys::ITEM_TYPE), Some(AttributeValue::S(t)) if t.ends_with("_event"))
}

/// The anomalies as stored: the first [`MAX_ANOMALIES`], each cut to
/// [`MAX_ANOMALY_CHARS`], and a last line counting the rest.
fn anomaly_list(anomalies: &[String]) -> AttributeValue {
    let mut list: Vec<AttributeValue> = anomalies
        .iter()
        .take(MAX_ANOMALIES)
        .map(|a| s(a.chars().take(MAX_ANOMALY_CHARS).collect::<String>()))
        .collect();
    if anomalies.len() > MAX_ANOMALIES {
        list.push(s(format!(
            "anomalies: {} more not listed",
            anomalies.len() - MAX_ANOMALIES
        )));
    }
    AttributeValue::L(list)
}

/// The part items of a raw body split from the item `owner_sk`.
fn raw_part_puts(
    pk: &str,
    owner_sk: &str,
    parts: &[&str],
    expires: &AttributeValue,
) -> Vec<GuardedPut> {
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            let mut part_item = Item::with_capacity(5);
            part_item.insert(PK.into(), s(pk));
            part_item.insert(SK.into(), s(keys::part_sk(owner_sk, index + 1)));
            part_item.insert(keys::ITEM_TYPE.into(), s("raw_part"));
            part_item.insert("raw".into(), s(*part));
            part_item.insert(TTL.into(), expires.clone());
            GuardedPut {
                item: part_item,
                condition: None,
            }
        })
        .collect()
}

/// The longest prefix of `text` of at most `max_bytes`, cut on a character.
pub fn prefix_within(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut cut = max_bytes;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    &text[..cut]
}

/// DynamoDB's size of a value (Item sizes and formats), rounded up: text
/// and binary by their bytes, a number by its digits, a list or map 3 bytes
/// plus a byte and the size of each element (and name).
pub fn attribute_bytes(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(text) => text.len(),
        AttributeValue::N(number) => number.len().min(21) + 1,
        AttributeValue::B(blob) => blob.len(),
        AttributeValue::Ss(texts) => texts.iter().map(String::len).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|n| n.len().min(21) + 1).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(Vec::len).sum(),
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + attribute_bytes(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + attribute_bytes(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// DynamoDB's size of an item: each attribute's name and value.
pub fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + attribute_bytes(v)).sum()
}

/// How a provider that sends no id of its own (Zonitel calls, Retell's
/// inbound requests) recognises its retries, as plain data: deliveries
/// with the same `key_parts` (the caller, destination... that identify a
/// call) within `window_ms` of the last one that began a call are retries
/// of it. [`WritePlan::guard_retries`] turns it into the put that decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryGuard {
    /// Whose guard it is (`zonitel-call`, `retell-inbound`...): guards of
    /// different routes never meet.
    pub scope: &'static str,
    pub key_parts: Vec<String>,
    pub window_ms: i64,
}

impl RetryGuard {
    /// One item per key (scope and parts) holding when the last call began
    /// and its id. Its put succeeds only when there is none or it is older
    /// than the window; otherwise the delivery is a retry of that call.
    pub fn put(&self, call_id: &str, received_at: Timestamp) -> GuardedPut {
        let parts: Vec<&str> = self.key_parts.iter().map(String::as_str).collect();
        let pk = keys::retry_guard_pk(self.scope, &parts);
        let received_ms = received_at.as_millisecond();
        let mut item = Item::with_capacity(6);
        item.insert(PK.into(), s(pk));
        item.insert(SK.into(), s(keys::GUARD_SK));
        item.insert(keys::ITEM_TYPE.into(), s("retry_guard"));
        item.insert("call_id".into(), s(call_id));
        item.insert("received_ms".into(), n(received_ms));
        // The guard is only needed for the window; a day of slack is plenty.
        item.insert(TTL.into(), n(received_at.as_second() + 86_400));
        GuardedPut {
            item,
            condition: Some(Condition {
                expression: "attribute_not_exists(#pk) OR #received < :cutoff".into(),
                names: HashMap::from([
                    ("#pk".to_string(), PK.to_string()),
                    ("#received".to_string(), "received_ms".to_string()),
                ]),
                values: HashMap::from([(":cutoff".to_string(), n(received_ms - self.window_ms))]),
            }),
        }
    }
}

/// `from_text`/`to_text`: a number's text as the provider sent it, where
/// that differs from the key form stored as `from`/`to` (a UK number sent
/// without its `+`, a number with spaces, a sender id with a `#`).
fn number_texts(event: &Event) -> impl Iterator<Item = (&'static str, &str)> {
    [("from_text", &event.from), ("to_text", &event.to)]
        .into_iter()
        .filter_map(|(name, number)| {
            let number = number.as_ref()?;
            (number.original() != number.as_str()).then_some((name, number.original()))
        })
}

/// The summary attribute naming the provider's id: `call_id` or `message_id`.
pub fn id_attribute(channel: Channel) -> &'static str {
    match channel {
        Channel::Call => "call_id",
        Channel::Sms => "message_id",
    }
}

/// Whether DynamoDB stores `text` as a number (Data types): a decimal with an
/// optional sign and exponent, at most 38 significant digits, zero or a
/// magnitude from 1E-130 to 9.99...E+125. Anything else makes it refuse the
/// whole write (ValidationException), which would fail the delivery.
pub fn is_storable_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let digits = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            // Too many digits for an i64: out of range unless the number is
            // zero, which any exponent leaves zero.
            let fallback = if exponent.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            };
            (mantissa, exponent.parse::<i64>().unwrap_or(fallback))
        }
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return false;
    }
    let digits = || int.bytes().chain(frac.bytes());
    let Some(first) = digits().position(|d| d != b'0') else {
        return true; // zero
    };
    let last = digits().count() - 1 - digits().rev().position(|d| d != b'0').unwrap_or(0);
    // The power of ten of the first significant digit.
    let magnitude = (int.len() as i64 - first as i64 - 1).saturating_add(exponent);
    last - first < 38 && (-130..=125).contains(&magnitude)
}

/// Whether DynamoDB stores `value`: every number storable (see
/// [`is_storable_number`]) and lists and maps nested at most 32 deep.
pub fn is_storable(value: &AttributeValue) -> bool {
    fn within(value: &AttributeValue, depth: usize) -> bool {
        match value {
            AttributeValue::N(number) => is_storable_number(number),
            AttributeValue::Ns(numbers) => numbers.iter().all(|n| is_storable_number(n)),
            AttributeValue::L(list) => depth < 32 && list.iter().all(|v| within(v, depth + 1)),
            AttributeValue::M(map) => depth < 32 && map.values().all(|v| within(v, depth + 1)),
            _ => true,
        }
    }
    within(value, 0)
}

/// Splits text into pieces of at most `max_bytes`, never inside a character.
pub fn split_utf8(text: &str, max_bytes: usize) -> Vec<&str> {
    assert!(max_bytes >= 4, "a piece must hold any character");
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.len() > max_bytes {
        let mut cut = max_bytes;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        pieces.push(head);
        rest = tail;
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Direction, Provider};
    use crate::phone::PhoneNumber;
    use crate::time::Timestamp;

    #[test]
    fn storable_numbers_are_dynamodbs() {
        for ok in [
            "0",
            "12",
            "12.5",
            "+3",
            "-4",
            ".5",
            "5.",
            "1e5",
            "1E+125",
            "9.9e125",
            "1e-130",
            "0e999999999999999999999",
            "0.000",
            "1000000000000000000000000000000000000000000",
            "12345678901234567890123456789012345678",
            "0.00012345678901234567890123456789012345678",
        ] {
            assert!(is_storable_number(ok), "{ok}");
        }
        for refused in [
            "",
            "-",
            ".",
            "e5",
            "1e",
            "1e+",
            "abc",
            "1.2.3",
            " 1",
            "inf",
            "NaN",
            "0x10",
            "1e126",
            "1e200",
            "1e-131",
            "1e99999999999999999999",
            "123456789012345678901234567890123456789",
            "1.23456789012345678901234567890123456789",
        ] {
            assert!(!is_storable_number(refused), "{refused}");
        }
        let mut deep = n(1);
        for _ in 0..32 {
            deep = AttributeValue::L(vec![deep]);
        }
        assert!(is_storable(&deep));
        assert!(!is_storable(&AttributeValue::L(vec![deep])));
        let map = AttributeValue::M([("x".to_string(), AttributeValue::N("1e200".into()))].into());
        assert!(!is_storable(&map));
    }

    fn event(raw: &str) -> Event {
        let at = Timestamp::from_millisecond(1_700_000_000_000).unwrap();
        Event {
            provider: Provider::Zonitel,
            channel: Channel::Call,
            provider_id: "c1".into(),
            direction: Some(Direction::Inbound),
            from: Some(PhoneNumber::parse("+14155552671").unwrap()),
            to: Some(PhoneNumber::parse("+18339664835").unwrap()),
            caller_name: Some("John Doe".into()),
            kind: "incoming_call".into(),
            occurred_at: at,
            received_at: at,
            is_test: false,
            delivery_key: "d".into(),
            raw: raw.into(),
            anomalies: Vec::new(),
        }
    }

    #[test]
    fn a_retry_guard_is_one_item_per_key_that_holds_for_its_window() {
        let guard = RetryGuard {
            scope: "zonitel-call",
            key_parts: vec!["+14155552671".into(), "+18339664835".into(), "".into()],
            window_ms: 60_000,
        };
        let at = Timestamp::from_millisecond(1_700_000_000_000).unwrap();
        let put = guard.put("c1", at);
        assert_eq!(
            put.item[PK],
            s(keys::retry_guard_pk(
                "zonitel-call",
                &["+14155552671", "+18339664835", ""]
            ))
        );
        assert_eq!(put.item[SK], s(keys::GUARD_SK));
        assert_eq!(put.item["call_id"], s("c1"));
        assert_eq!(put.item[TTL], n(1_700_000_000 + 86_400));
        let condition = put.condition.unwrap();
        assert_eq!(
            condition.expression,
            "attribute_not_exists(#pk) OR #received < :cutoff"
        );
        assert_eq!(
            condition.values[":cutoff"],
            n(1_700_000_000_000_i64 - 60_000)
        );
        // The plan puts it first, before the event.
        let mut plan = WritePlan::for_event(&event("{}"), 30);
        plan.guard_retries(&guard, &event("{}"));
        assert_eq!(plan.puts[0].item[keys::ITEM_TYPE], s("retry_guard"));
        assert_eq!(plan.puts[0].item["call_id"], s("c1"));
    }

    #[test]
    fn split_keeps_every_byte_and_respects_characters() {
        let text = "aé€😀".repeat(1000);
        for max in [4, 5, 7, 100, 299] {
            let parts = split_utf8(&text, max);
            assert!(parts.iter().all(|p| p.len() <= max && !p.is_empty()));
            assert_eq!(parts.concat(), text);
        }
        assert_eq!(split_utf8("", 10), vec![""]);
        assert_eq!(split_utf8("abcd", 4), vec!["abcd"]);
        assert_eq!(split_utf8("abcde", 4), vec!["abcd", "e"]);
    }

    #[test]
    fn small_raw_body_stays_inline() {
        let plan = WritePlan::for_event(&event("{\"a\":1}"), 30);
        assert_eq!(plan.puts.len(), 1);
        assert_eq!(plan.puts[0].item["raw"], s("{\"a\":1}"));
        assert_eq!(plan.puts[0].condition, Some(Condition::item_absent()));
        assert_eq!(plan.puts[0].item[TTL], n(1_700_000_000 + 30 * 86_400));
        assert_eq!(plan.action_count(), 2);
    }

    #[test]
    fn large_raw_body_is_split_never_truncated() {
        let raw = "ü".repeat(RAW_PART_BYTES); // twice RAW_PART_BYTES in bytes
        let plan = WritePlan::for_event(&event(&raw), 30);
        assert_eq!(plan.puts[0].item["raw_parts"], n(2));
        assert!(!plan.puts[0].item.contains_key("raw"));
        let joined: String = plan.puts[1..]
            .iter()
            .map(|p| p.item["raw"].as_s().unwrap().as_str())
            .collect();
        assert_eq!(joined, raw);
        assert!(plan.puts[1].item[SK]
            .as_s()
            .unwrap()
            .ends_with("#PART#0001"));
    }

    /// Every item within DynamoDB's item limit, the plan within its
    /// transaction limit, every value storable.
    fn assert_fits(plan: &WritePlan, case: &str) {
        for put in &plan.puts {
            let size = item_bytes(&put.item);
            assert!(size <= MAX_ITEM_BYTES, "{case}: an item of {size} bytes");
            assert!(put.item.values().all(is_storable), "{case}");
        }
        for update in &plan.updates {
            assert!(update.bytes() <= MAX_ITEM_BYTES, "{case}: a summary update");
        }
        assert!(
            plan.bytes() < MAX_TRANSACTION_BYTES,
            "{case}: {}",
            plan.bytes()
        );
    }

    #[test]
    fn the_largest_deliveries_fit_dynamodbs_limits() {
        use crate::providers::{salpre, voxtelesys};
        let at = Timestamp::from_second(1_795_449_082).unwrap();
        // A 250 KB SpeechResult on a status callback.
        let speech = "a".repeat(250 * 1024);
        let status = format!(
            "CallSid=CA1&From=%2B14155552671&To=%2B18339664835&CallStatus=completed&SpeechResult={speech}"
        );
        // A 300-parameter form, every documented parameter near the cap.
        let mut form = "CallSid=CA2&From=%2B14155552671&To=%2B18339664835".to_string();
        for i in 0..300 {
            form.push_str(&format!("&P{i}={}", "p".repeat(2_000)));
        }
        for name in voxtelesys::CallParams::NAMES.iter().skip(3) {
            form.push_str(&format!("&{name}={}", "v".repeat(MAX_ATTRIBUTE_BYTES - 1)));
        }
        for (case, body) in [("speech", &status), ("300 parameters", &form)] {
            let params = voxtelesys::CallParams::from_form(body.as_bytes());
            let callback =
                voxtelesys::parse_callback(voxtelesys::Hook::Status, params, body, at).unwrap();
            assert_fits(&callback.plan(30), case);
        }
        // A 2 MiB Salpre transcript and a 2 MiB live line (every route up to
        // the 6 MB body limit: store::transaction's tests).
        let message = "m".repeat(2 * 1024 * 1024 - 200);
        let ended = format!(
            r#"{{"event_type":"call_ended","timestamp_utc":1795449000,"payload":{{"call_id":1,"transcript":[{{"type":"customer","message":"{message}"}}]}}}}"#
        );
        let line = format!(
            r#"{{"event_type":"transcript","timestamp_utc":1795449000,"payload":{{"call":{{"id":1}},"type":"customer","transcript":"{message}"}}}}"#
        );
        for (case, body) in [("final transcript", &ended), ("live line", &line)] {
            let mapped = salpre::read(body.as_bytes(), at, 30).unwrap();
            assert_fits(&mapped.plan, case);
        }
    }

    #[test]
    fn bound_cuts_what_does_not_fit_and_names_it() {
        let raw = "r".repeat(RAW_PART_BYTES - 10);
        let mut plan = WritePlan::for_event(&event(&raw), 30);
        assert!(plan.puts[0].item.contains_key("raw"));
        let big = "x".repeat(MAX_ATTRIBUTE_BYTES + 1);
        plan.puts[0].item.insert("speech_result".into(), s(&big));
        plan.puts[0].item.insert("digits".into(), s("12"));
        for i in 0..3 {
            plan.puts[0].item.insert(
                format!("field{i}"),
                s("y".repeat(MAX_ATTRIBUTE_BYTES - 100)),
            );
        }
        plan.summary_mut()
            .set_once("error_message", s("é".repeat(MAX_ATTRIBUTE_BYTES)))
            .set_once("vars", AttributeValue::L(vec![s(&big)]));
        let named = plan.bound();
        let item = &plan.puts[0].item;
        // Over the cap: out, named. The rest no longer fits beside the raw
        // body: the raw body moves to a part item, the attributes stay.
        assert!(!item.contains_key("speech_result"));
        assert_eq!(item["digits"], s("12"));
        assert!(item.contains_key("field2"));
        assert_eq!(item["raw_parts"], n(1));
        assert_eq!(plan.puts[1].item["raw"], s(&raw));
        assert!(named[2].starts_with("speech_result: 65537 bytes"));
        assert_eq!(
            item[ANOMALIES],
            AttributeValue::L(named.iter().map(s).collect())
        );
        // The summary: text cut (and marked), anything else left off.
        let summary = &plan.updates[0].set_once;
        let message = summary.iter().find(|(n, _)| n == "error_message").unwrap();
        let kept = message.1.as_s().unwrap().len();
        assert!(kept <= MAX_SUMMARY_ATTRIBUTE_BYTES && kept > MAX_SUMMARY_ATTRIBUTE_BYTES - 4);
        assert!(summary.contains(&("error_message_truncated".into(), AttributeValue::Bool(true))));
        assert!(!summary.iter().any(|(n, _)| n == "vars"));
        assert_eq!(named.len(), 3);
        assert_fits(&plan, "bounded");
        // A plan already within bounds is left as it was.
        let mut small = WritePlan::for_event(&event("{}"), 30);
        let before = small.clone();
        assert!(small.bound().is_empty());
        assert_eq!(small, before);
    }

    #[test]
    fn anomalies_are_listed_short() {
        let mut e = event("{}");
        e.anomalies = (0..40)
            .map(|i| format!("f{i}: {}", "z".repeat(300)))
            .collect();
        let plan = WritePlan::for_event(&e, 30);
        let list = plan.puts[0].item[ANOMALIES].as_l().unwrap();
        assert_eq!(list.len(), MAX_ANOMALIES + 1);
        assert!(list[..MAX_ANOMALIES]
            .iter()
            .all(|a| a.as_s().unwrap().chars().count() == MAX_ANOMALY_CHARS));
        assert_eq!(list[MAX_ANOMALIES], s("anomalies: 8 more not listed"));
    }

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        assert_eq!(attribute_bytes(&s("héllo")), 6);
        assert_eq!(attribute_bytes(&AttributeValue::Bool(true)), 1);
        assert_eq!(
            attribute_bytes(&AttributeValue::L(vec![s("ab"), s("c")])),
            3 + 3 + 2
        );
        let map = AttributeValue::M([("k".to_string(), s("v"))].into());
        assert_eq!(attribute_bytes(&map), 3 + 1 + 1 + 1);
        let item: Item = [("name".to_string(), s("value"))].into();
        assert_eq!(item_bytes(&item), 9);
        assert!(attribute_bytes(&n("12345")) >= 5);
    }

    #[test]
    fn summary_sets_identity_once_and_indexes_both_numbers() {
        let plan = WritePlan::for_event(&event("{}"), 30);
        let summary = &plan.updates[0];
        assert_eq!(summary.pk, "CALL#zonitel#c1");
        assert_eq!(summary.sk, "SUMMARY");
        let names: Vec<&str> = summary.set_once.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "from",
            "to",
            "caller_name",
            "GSI1PK",
            "GSI1SK",
            "GSI2PK",
            "GSI2SK",
            "GSI3PK",
            "GSI3SK",
            "direction",
        ] {
            assert!(names.contains(&expected), "{expected} missing");
        }
    }

    #[test]
    fn numbers_keep_their_text_as_sent_where_it_differs_from_the_key() {
        let plan = WritePlan::for_event(&event("{}"), 30);
        assert!(!plan.puts[0].item.contains_key("from_text"));
        let mut odd = event("{}");
        odd.from = PhoneNumber::read("447700900123");
        odd.to = PhoneNumber::read("ACMEBANK");
        let plan = WritePlan::for_event(&odd, 30);
        let item = &plan.puts[0].item;
        assert_eq!(item["from"], s("+447700900123"));
        assert_eq!(item["from_text"], s("447700900123"));
        assert_eq!(item["to"], s("ACMEBANK"));
        assert!(!item.contains_key("to_text"));
        let summary = &plan.updates[0].set_once;
        assert!(summary.contains(&("from_text".to_string(), s("447700900123"))));
        assert!(summary.contains(&("GSI1PK".to_string(), s("PHONE#+447700900123"))));
        assert!(summary.contains(&("GSI2PK".to_string(), s("PHONE#ACMEBANK"))));
    }

    #[test]
    fn update_expression_joins_its_clauses() {
        let expression = |once: &[&str], set: &[&str], add: &[&str]| {
            let mut update = SummaryUpdate::new("p", "s");
            for name in once {
                update.set_once(name, s("x"));
            }
            for name in set {
                update.set(name, s("y"));
            }
            for name in add {
                update.increment(name, 2);
            }
            update.expression()
        };
        assert_eq!(expression(&[], &[], &[]).expression, "");
        assert_eq!(expression(&[], &["a"], &[]).expression, "SET #a0 = :v0");
        assert_eq!(
            expression(&[], &["a", "b"], &["c", "d"]).expression,
            "SET #a0 = :v0, #a1 = :v1 ADD #a2 :v2, #a3 :v3"
        );
        assert_eq!(
            expression(&[], &[], &["c", "d"]).expression,
            "ADD #a0 :v0, #a1 :v1"
        );
        let all = expression(&["a", "b"], &["c"], &["d"]);
        assert_eq!(
            all.expression,
            "SET #a0 = if_not_exists(#a0, :v0), #a1 = if_not_exists(#a1, :v1), #a2 = :v2 ADD #a3 :v3"
        );
        assert_eq!(all.names.len(), 4);
        assert_eq!(all.names["#a3"], "d");
        assert_eq!(all.values[":v2"], s("y"));
        assert_eq!(all.values[":v3"], n(2));
    }

    #[test]
    fn removed_attributes_come_last_and_the_last_of_set_and_remove_wins() {
        let mut update = SummaryUpdate::new("p", "s");
        update
            .set("GSI4PK", s("OPEN#x#y"))
            .remove("GSI4PK")
            .remove("GSI4SK")
            .increment("event_count", 1);
        let expression = update.expression();
        assert_eq!(expression.expression, "ADD #a0 :v0 REMOVE #a1, #a2");
        assert_eq!(expression.names["#a1"], "GSI4PK");
        assert_eq!(expression.names["#a2"], "GSI4SK");
        assert_eq!(expression.values.len(), 1);
        update.set("GSI4PK", s("again"));
        assert_eq!(update.remove, ["GSI4SK"]);
        assert_eq!(
            update.expression().expression,
            "SET #a0 = :v0 ADD #a1 :v1 REMOVE #a2"
        );
    }

    #[test]
    fn update_expression_binds_every_value() {
        let mut update = SummaryUpdate::new("p", "s");
        update
            .set_once("answered_at", s("t1"))
            .set_once("answered_at", s("t2"))
            .set("last", s("x"))
            .increment("event_count", 1);
        let expr = update.expression();
        assert_eq!(
            expr.expression,
            "SET #a0 = if_not_exists(#a0, :v0), #a1 = :v1 ADD #a2 :v2"
        );
        assert_eq!(expr.names["#a0"], "answered_at");
        assert_eq!(expr.values[":v0"], s("t1"));
        assert_eq!(expr.values[":v2"], n(1));
    }
}
