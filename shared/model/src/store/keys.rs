//! The single-table key design, in one place. Every item has `PK` and `SK`;
//! call and message summaries also carry `GSI1PK/GSI1SK` (their `from`
//! number) and `GSI2PK/GSI2SK` (their `to` number) for the phone timeline.
//!
//! The access patterns these keys serve, and every item's keys, are in
//! `docs/storage.md` (one copy; `shared/aws/tests/docs.rs` checks it against
//! this file).

use crate::attribute::Item;
use crate::event::{Channel, Provider};
use crate::phone::PhoneNumber;
use std::borrow::Cow;
use std::fmt::Write;

/// A key part that came from outside (a provider's call or message id, a
/// status, an event type, a token), made safe to put between `#`
/// separators: `#`, `%` and control characters (C0, DEL, C1) are
/// percent-encoded as their UTF-8 bytes, so no id can end one key part and
/// begin another, and two different ids never give the same key. Anything
/// else is kept as is, so the ids providers really send (letters, digits,
/// `-`, `_`, `.`) make the same keys as before. Every key builder below
/// passes its outside parts through here.
pub fn key_part(raw: &str) -> Cow<'_, str> {
    let needs = |c: char| c == '#' || c == '%' || c.is_control();
    if !raw.chars().any(needs) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        if needs(c) {
            let mut bytes = [0u8; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                // Writing to a String cannot fail.
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Each part through [`key_part`], joined with `#`.
fn joined(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('#');
        }
        out.push_str(&key_part(part));
    }
    out
}

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// The recent-activity index: every call and message summary, by the UTC
/// day it was first seen (sparse: only summaries carry `GSI3PK`). One
/// partition per day; its sort key is the timeline key, so a day reads
/// newest first.
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
pub const GSI3SK: &str = "GSI3SK";
/// The lifecycle index: sparse, on call and message summaries whose
/// lifecycle is open (`OPEN#<lifecycle>#<next fact>`) or flagged incomplete
/// (`INCOMPLETE#<provider>`); keys only. See [`crate::lifecycle`].
pub const GSI4: &str = "GSI4";
pub const GSI4PK: &str = "GSI4PK";
pub const GSI4SK: &str = "GSI4SK";
/// The table's TTL attribute (Unix seconds).
pub const TTL: &str = "expires_at";
/// What an item is: `call`, `call_event`, `sms`, `sms_status`, `raw_part`...
pub const ITEM_TYPE: &str = "item_type";

pub const SUMMARY_SK: &str = "SUMMARY";
pub const EVENT_SK_PREFIX: &str = "EVENT#";
pub const STATUS_SK_PREFIX: &str = "STATUS#";
pub const CONFIG_SK: &str = "CONFIG";
pub const CONTACT_SK: &str = "CONTACT";
/// Delivery guards: one item per distinct callback of a call, in the call's
/// own partition, for providers whose payloads carry no time of their own
/// (a retry arrives at a new time, so its event key alone would not collide).
pub const DELIVERY_SK_PREFIX: &str = "DELIVERY#";

/// The partition of one call or one message: its summary, events and parts.
pub fn conversation_pk(channel: Channel, provider: Provider, id: &str) -> String {
    match channel {
        Channel::Call => format!("CALL#{provider}#{}", key_part(id)),
        Channel::Sms => format!("SMS#{provider}#{}", key_part(id)),
    }
}

/// An event's sort key: time first so a query returns the call in order;
/// kind and delivery key make two different deliveries at one instant
/// distinct and a retried delivery identical.
pub fn event_sk(occurred_at_key: &str, kind: &str, delivery_key: &str) -> String {
    format!(
        "{EVENT_SK_PREFIX}{occurred_at_key}#{}#{}",
        key_part(kind),
        key_part(delivery_key)
    )
}

/// An SMS status-history entry: one per status, so a repeated status collides.
pub fn status_sk(status: &str) -> String {
    format!("{STATUS_SK_PREFIX}{}", key_part(status))
}

/// What joins a part's index to its owner's sort key.
pub const PART_SK_MARKER: &str = "#PART#";

/// The sort key of the `index`-th (from 1) part of a value split across items.
pub fn part_sk(owner_sk: &str, index: usize) -> String {
    format!("{owner_sk}{PART_SK_MARKER}{index:04}")
}

/// The guard of one distinct delivery: `DELIVERY#<what>#<outcome>...`.
pub fn delivery_sk(parts: &[&str]) -> String {
    format!("{DELIVERY_SK_PREFIX}{}", joined(parts))
}

/// Events of a provider that name no call or message (an event type added
/// after this was written, without an id we can find): kept, not attached.
pub fn unmatched_events_pk(provider: Provider) -> String {
    format!("UNMATCHED#{provider}")
}

/// The prefix of every part of the value split from the item `owner_sk`.
pub fn parts_prefix(owner_sk: &str) -> String {
    format!("{owner_sk}{PART_SK_MARKER}")
}

pub fn phone_pk(number: &PhoneNumber) -> String {
    format!("PHONE#{number}")
}

/// Timeline order: when the call or message was first seen, then identity.
pub fn timeline_sk(first_seen_key: &str, channel: Channel, provider: Provider, id: &str) -> String {
    format!(
        "{first_seen_key}#{}#{provider}#{}",
        channel.as_str(),
        key_part(id)
    )
}

/// The recent-activity partition of anything first seen at `first_seen_key`
/// (a [`crate::time::to_key`] string): `DAY#2026-11-23`.
pub fn day_pk(first_seen_key: &str) -> String {
    format!("DAY#{}", first_seen_key.get(..10).unwrap_or(first_seen_key))
}

/// The recent-activity partition of a UTC date.
pub fn day_pk_of(date: jiff::civil::Date) -> String {
    format!("DAY#{date}")
}

pub fn number_config_pk(number: &PhoneNumber) -> String {
    format!("NUMBER#{number}")
}

pub fn contact_pk(number: &PhoneNumber) -> String {
    format!("CONTACT#{number}")
}

/// A contact record also sits in its number's GSI1 partition, under this
/// sort key: timeline keys begin with the year's digits, and a letter sorts
/// after every digit, so a newest-first query of `PHONE#<caller>` returns
/// the contact first and then the calls from the caller, in one request.
pub const CONTACT_TIMELINE_SK: &str = "CONTACT";

/// The partition key of an item a query returned ("" if it has none).
pub fn pk_of(item: &Item) -> &str {
    item.get(PK)
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// A call summary (see [`conversation_pk`]) in a query's results.
pub fn is_call(item: &Item) -> bool {
    pk_of(item).starts_with("CALL#")
}

/// A call or message summary, as opposed to a contact record, in a GSI1
/// (timeline) query's results.
pub fn is_conversation(item: &Item) -> bool {
    is_call(item) || pk_of(item).starts_with("SMS#")
}

/// A contact record (see [`contact_pk`]) in a GSI1 query's results.
pub fn is_contact(item: &Item) -> bool {
    pk_of(item).starts_with("CONTACT#")
}

/// A retry guard: one item per (function, identity of a delivery) holding
/// when the last accepted delivery arrived (see each provider's module).
pub fn retry_guard_pk(function: &str, parts: &[&str]) -> String {
    format!("GUARD#{function}#{}", joined(parts))
}

pub const GUARD_SK: &str = "GUARD";

/// An unrecognized delivery (one no provider module could read): its own
/// partition, named by its provider and a digest of the route and the
/// bytes, so a provider's retry of the same bytes finds it and writes
/// nothing new, and each webhook's role reaches only its own provider's
/// (`UNRECOGNIZED#zonitel#*`). Listed across providers through GSI1
/// ([`UNRECOGNIZED_INDEX_PK`]).
pub fn unrecognized_pk(provider: &str, digest: &str) -> String {
    format!("UNRECOGNIZED#{provider}#{digest}")
}

/// The digest naming an unrecognized delivery, from its partition key
/// (`UNRECOGNIZED#<provider>#<digest>`, or `UNRECOGNIZED#<digest>` as
/// items kept before the provider was part of the key).
pub fn unrecognized_id(pk: &str) -> Option<&str> {
    pk.strip_prefix("UNRECOGNIZED#")?.rsplit('#').next()
}

pub const UNRECOGNIZED_SK: &str = "DELIVERY";
/// The GSI1 partition listing every unrecognized delivery, newest first by
/// `GSI1SK = <received_at>#<digest>` (`callhooks unrecognized list`).
pub const UNRECOGNIZED_INDEX_PK: &str = "UNRECOGNIZED";
/// `item_type` of an unrecognized delivery.
pub const UNRECOGNIZED_ITEM_TYPE: &str = "unrecognized";

/// A part of a delivery too large for one spillway message, kept in the
/// table until every part has arrived (see `ingest::spill`).
pub fn spilled_part_pk(delivery_id: &str) -> String {
    format!("SPILL#{delivery_id}")
}

/// `item_type` of a number configuration item (pattern 5). `numbers list`
/// finds them with a filtered Scan: they are few, read now and then by an
/// operator, and a listing index would cost every webhook write nothing but
/// would need the table definition changed; a Scan reads the whole table.
pub const NUMBER_CONFIG_ITEM_TYPE: &str = "number_config";
/// `item_type` of a contact record item (pattern 6).
pub const CONTACT_ITEM_TYPE: &str = "contact";

/// `item_type` of an alert ledger entry (see [`crate::alerts::ledger`]).
pub const ALERT_ITEM_TYPE: &str = "alert";
pub const ALERTS_PK_PREFIX: &str = "ALERTS#";

/// `item_type` of a per-day counter item (`callhooks::daily_counts`).
pub const DAILY_COUNTS_ITEM_TYPE: &str = "daily_counts";
pub const DAILY_COUNTS_PK_PREFIX: &str = "COUNTS#";

/// The partition of one UTC month's counters (`COUNTS#2026-12` for the day
/// `2026-12-07`): a month's overview is one query, whatever the calls.
pub fn daily_counts_pk(day: &str) -> String {
    format!(
        "{DAILY_COUNTS_PK_PREFIX}{}",
        key_part(day.get(..7).unwrap_or(day))
    )
}

/// One counter item of a month: a day, a provider and one of our numbers
/// (`2026-12-07#zonitel#+18339664835`), so a range of days is one range of
/// sort keys.
pub fn daily_counts_sk(day: &str, provider: &str, number: &str) -> String {
    joined(&[day, provider, number])
}

/// The ledger partition of the alerts whose incident happened on one UTC
/// day (`2026-11-29`): listing a period reads one partition per day, and
/// alerts are few enough that a day never makes a hot partition.
pub fn alerts_day_pk(day: &str) -> String {
    format!("{ALERTS_PK_PREFIX}{day}")
}

/// An alert's ledger sort key: the incident's moment first (fixed width,
/// so string order is time order), then its id. Both come from the
/// incident alone, so every attempt at one alert finds the same item.
pub fn alert_sk(occurred_at_key: &str, alert_id: &str) -> String {
    format!("{occurred_at_key}#{alert_id}")
}

/// The lifecycle index partition of open lifecycles of `lifecycle` waiting
/// for `fact` (see [`crate::lifecycle`]).
pub fn open_lifecycle_pk(lifecycle: &str, fact: &str) -> String {
    format!("OPEN#{lifecycle}#{fact}")
}

/// The lifecycle index partition of one provider's incomplete lifecycles.
pub fn incomplete_lifecycle_pk(provider: Provider) -> String {
    format!("INCOMPLETE#{provider}")
}

/// The lifecycle index sort key: a moment (when the wait began, or when it
/// was flagged), then the summary's partition, so two never share one.
pub fn lifecycle_sk(moment_key: &str, pk: &str) -> String {
    format!("{moment_key}#{pk}")
}

/// The smallest timeline sort key of anything first seen at or after
/// `since_key` (a [`crate::time::to_key`] string): timeline keys start with
/// the fixed-width first-seen moment, so string order is time order.
pub fn timeline_lower_bound(since_key: &str) -> String {
    since_key.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrecognized_deliveries_are_keyed_per_provider_and_named_by_digest() {
        let pk = unrecognized_pk("zonitel", "0123abcd");
        assert_eq!(pk, "UNRECOGNIZED#zonitel#0123abcd");
        assert_eq!(unrecognized_id(&pk), Some("0123abcd"));
        // Kept before the provider was in the key.
        assert_eq!(unrecognized_id("UNRECOGNIZED#0123abcd"), Some("0123abcd"));
        assert_eq!(unrecognized_id("CALL#zonitel#x"), None);
    }

    #[test]
    fn keys_have_the_documented_shapes() {
        let n = PhoneNumber::parse("+14155552671").unwrap();
        assert_eq!(
            conversation_pk(Channel::Call, Provider::Zonitel, "c1"),
            "CALL#zonitel#c1"
        );
        assert_eq!(
            conversation_pk(Channel::Sms, Provider::Zonitel, "m1"),
            "SMS#zonitel#m1"
        );
        assert_eq!(
            event_sk("2026-01-01T00:00:00.000Z", "incoming_call", "k"),
            "EVENT#2026-01-01T00:00:00.000Z#incoming_call#k"
        );
        assert_eq!(part_sk("EVENT#x", 2), "EVENT#x#PART#0002");
        assert!(part_sk(SUMMARY_SK, 1).starts_with(&parts_prefix(SUMMARY_SK)));
        assert_eq!(phone_pk(&n), "PHONE#+14155552671");
        assert_eq!(day_pk("2026-11-23T15:51:22.123Z"), "DAY#2026-11-23");
        assert_eq!(
            day_pk_of(jiff::civil::date(2026, 11, 3)),
            day_pk("2026-11-03T00:00:00.000Z")
        );
        assert_eq!(unmatched_events_pk(Provider::Salpre), "UNMATCHED#salpre");
        assert_eq!(number_config_pk(&n), "NUMBER#+14155552671");
        assert_eq!(contact_pk(&n), "CONTACT#+14155552671");
        assert_eq!(status_sk("delivered"), "STATUS#delivered");
        assert_eq!(alerts_day_pk("2026-11-29"), "ALERTS#2026-11-29");
        assert_eq!(
            alert_sk("2026-11-29T03:12:00.000Z", "abc"),
            "2026-11-29T03:12:00.000Z#abc"
        );
        assert_eq!(
            delivery_sk(&["dial", "no-answer", "CA2"]),
            "DELIVERY#dial#no-answer#CA2"
        );
        let bound = timeline_lower_bound("2026-01-01T00:00:00.000Z");
        assert!(
            timeline_sk(
                "2026-01-01T00:00:00.000Z",
                Channel::Sms,
                Provider::Zonitel,
                "m"
            ) >= bound
        );
        assert!(
            timeline_sk(
                "2025-12-31T23:59:59.999Z",
                Channel::Call,
                Provider::Zonitel,
                "c"
            ) < bound
        );
        assert_eq!(
            timeline_sk(
                "2026-01-01T00:00:00.000Z",
                Channel::Call,
                Provider::Salpre,
                "1"
            ),
            "2026-01-01T00:00:00.000Z#call#salpre#1"
        );
    }

    #[test]
    fn a_contact_sorts_after_every_timeline_key() {
        for year in ["2026", "9999"] {
            let key = timeline_sk(
                &format!("{year}-12-31T23:59:59.999Z"),
                Channel::Call,
                Provider::Zonitel,
                "zzz",
            );
            assert!(CONTACT_TIMELINE_SK > key.as_str(), "{key}");
        }
        let item = |pk: &str| {
            std::collections::HashMap::from([(
                PK.to_string(),
                crate::attribute::AttributeValue::S(pk.into()),
            )])
        };
        let n = PhoneNumber::parse("+14155552671").unwrap();
        assert!(is_contact(&item(&contact_pk(&n))));
        assert!(!is_conversation(&item(&contact_pk(&n))));
        assert!(is_conversation(&item("CALL#zonitel#c1")));
        assert!(is_conversation(&item("SMS#zonitel#m1")));
        assert!(!is_contact(&item("CALL#zonitel#c1")));
        assert!(is_call(&item("CALL#zonitel#c1")));
        assert!(!is_call(&item("SMS#zonitel#m1")));
        assert!(!is_conversation(&Item::new()));
    }

    #[test]
    fn outside_parts_cannot_smuggle_a_separator() {
        assert_eq!(key_part("CA-1_x.y"), "CA-1_x.y");
        assert!(matches!(key_part("CA1"), Cow::Borrowed(_)));
        assert_eq!(key_part("a#b"), "a%23b");
        assert_eq!(key_part("100%"), "100%25");
        assert_eq!(key_part("a\nb\u{1b}]52"), "a%0Ab%1B]52");
        assert_eq!(key_part("\u{85}\u{7f}"), "%C2%85%7F");
        assert_eq!(key_part("Zoë"), "Zoë");
        // Two ids that would meet once `#` joined them stay apart.
        let pairs = [
            (vec!["a#b", "c"], vec!["a", "b#c"]),
            (vec!["a%23b", "c"], vec!["a#b", "c"]),
            (vec!["dial", "busy#CA2"], vec!["dial", "busy", "CA2"]),
            (vec!["x", ""], vec!["x#", ""]),
        ];
        for (one, other) in pairs {
            assert_ne!(delivery_sk(&one), delivery_sk(&other), "{one:?} {other:?}");
            assert_ne!(
                retry_guard_pk("f", &one),
                retry_guard_pk("f", &other),
                "{one:?} {other:?}"
            );
            assert_ne!(joined(&one), joined(&other));
        }
        for (a, b) in [("a#b", "a%23b"), ("a#", "a%"), ("1#EVENT", "1")] {
            for channel in [Channel::Call, Channel::Sms] {
                assert_ne!(
                    conversation_pk(channel, Provider::Voxtelesys, a),
                    conversation_pk(channel, Provider::Voxtelesys, b)
                );
            }
            assert_ne!(status_sk(a), status_sk(b));
            assert_ne!(event_sk("t", a, "1"), event_sk("t", b, "1"));
            assert_ne!(event_sk("t", "k", a), event_sk("t", "k", b));
            assert_ne!(
                timeline_sk("t", Channel::Call, Provider::Salpre, a),
                timeline_sk("t", Channel::Call, Provider::Salpre, b)
            );
        }
        // An id cannot reach into another call's partition or its parts.
        let pk = conversation_pk(Channel::Call, Provider::Salpre, "7#PART#0001");
        assert_eq!(pk, "CALL#salpre#7%23PART%230001");
        assert_eq!(pk.matches('#').count(), 2);
        let sk = event_sk("t", "call_ended#PART#0001", "1");
        assert!(!sk.contains("#PART#"), "{sk}");
    }

    #[test]
    fn part_keys_sort_in_part_order() {
        let mut keys: Vec<String> = (1..=12).map(|i| part_sk("EVENT#x", i)).collect();
        let sorted = {
            let mut k = keys.clone();
            k.sort();
            k
        };
        assert_eq!(keys, sorted);
        keys.reverse();
        assert_ne!(keys, sorted);
    }
}
