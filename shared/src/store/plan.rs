//! What one delivery writes, as plain data: built by pure code (and tested
//! without the network), executed by [`super::Store::write`] as one
//! conditional request.

use super::keys::{self, PK, SK, TTL};
use crate::event::{Channel, Event};
use crate::time::{self, Timestamp};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

/// Raw bodies above this many bytes are split across part items; DynamoDB's
/// item limit is 400 KB and the rest of an event item needs room too.
pub const RAW_PART_BYTES: usize = 300_000;

/// The event attribute naming what was odd about a partly understood
/// delivery (see [`Event::anomalies`]).
pub const ANOMALIES: &str = "anomalies";

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
/// attributes take the new value, `increment` adds to a counter.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryUpdate {
    pub pk: String,
    pub sk: String,
    pub set_once: Vec<(String, AttributeValue)>,
    pub set: Vec<(String, AttributeValue)>,
    pub increment: Vec<(String, i64)>,
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
        self.set.push((name.to_string(), value));
        self
    }

    pub fn increment(&mut self, name: &str, by: i64) -> &mut Self {
        self.increment.push((name.to_string(), by));
        self
    }

    pub fn key(&self) -> Item {
        HashMap::from([(PK.to_string(), s(&self.pk)), (SK.to_string(), s(&self.sk))])
    }

    /// `SET #a0 = if_not_exists(#a0, :v0), #a1 = :v1 ADD #a2 :v2`.
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
            item.insert(
                ANOMALIES.into(),
                AttributeValue::L(event.anomalies.iter().map(s).collect()),
            );
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
            for (index, part) in parts.iter().enumerate() {
                let mut part_item = Item::new();
                part_item.insert(PK.into(), s(&pk));
                part_item.insert(SK.into(), s(keys::part_sk(&event_sk, index + 1)));
                part_item.insert(keys::ITEM_TYPE.into(), s("raw_part"));
                part_item.insert("raw".into(), s(*part));
                part_item.insert(TTL.into(), expires.clone());
                puts.push(GuardedPut {
                    item: part_item,
                    condition: None,
                });
            }
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
}

/// A guard for providers that send no id of their own (Zonitel calls,
/// Retell): one item per `pk` (the caller, destination... that identify a
/// call) holding when the last call began. Its put succeeds only when there
/// is none or it is older than `window_ms`; otherwise the delivery is a
/// retry of that call.
pub fn retry_guard(
    pk: String,
    call_id: &str,
    received_at: Timestamp,
    window_ms: i64,
) -> GuardedPut {
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
            values: HashMap::from([(":cutoff".to_string(), n(received_ms - window_ms))]),
        }),
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
