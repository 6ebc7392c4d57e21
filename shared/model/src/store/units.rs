//! What DynamoDB charges for a request, by its documented rules for
//! on-demand tables (Read/write capacity modes; Secondary indexes: provisioned
//! throughput considerations):
//!
//! * a standard write (PutItem, UpdateItem, DeleteItem) costs one write
//!   request unit (WRU) per started KB of the item, at least one; an update
//!   is sized by the larger of the item before and after;
//! * a write in a transaction (TransactWriteItems) costs two per started KB
//!   of each item;
//! * an index whose key attributes the item carries is written too, one
//!   WRU per started KB of what it projects (ALL: the whole item), outside
//!   the transaction's doubling;
//! * a read costs one read request unit (RRU) per started 4 KB, half of it
//!   when eventually consistent (index queries always are); a Query sums
//!   the sizes of the items it returns before rounding.
//!
//! DynamoDB reports what a request consumed when asked (ReturnConsumedCapacity);
//! moto does not follow these rules (a fixed 1.0 per put, 0.5 per get,
//! nothing for a transaction: `tests/tests/it/units.rs` pins that), so the cost
//! bench and [`plan_units`] size requests with these functions.

use super::keys;
use super::plan::{item_bytes, Item, WritePlan};

/// One write request unit covers this many bytes of an item.
pub const WRITE_UNIT_BYTES: usize = 1024;
/// One read request unit covers this many bytes read.
pub const READ_UNIT_BYTES: usize = 4096;

/// The table's global secondary indexes that project ALL, each with the
/// partition key attribute an item must carry to be in it. All three project ALL
/// (template.yaml), so each write of an item in one writes its whole item
/// there too.
pub const INDEX_PARTITION_KEYS: [(&str, &str); 3] = [
    (keys::GSI1, keys::GSI1PK),
    (keys::GSI2, keys::GSI2PK),
    (keys::GSI3, keys::GSI3PK),
];

/// WRUs of one standard write of an item of `bytes`.
pub fn write_units(bytes: usize) -> u64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1) as u64
}

/// WRUs of one item of `bytes` written in a transaction.
pub fn transactional_write_units(bytes: usize) -> u64 {
    2 * write_units(bytes)
}

/// RRUs of reading `bytes` (one item, or the items one Query page returned).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// The table's keys-only indexes (the lifecycle index): an item in one
/// writes only its keys there, under a kilobyte, so one WRU.
pub const KEYS_ONLY_INDEX_PARTITION_KEYS: [(&str, &str); 1] = [(keys::GSI4, keys::GSI4PK)];

/// How many of the table's indexes that project ALL hold `item`.
pub fn indexes_holding(item: &Item) -> usize {
    INDEX_PARTITION_KEYS
        .iter()
        .filter(|(_, pk)| item.contains_key(*pk))
        .count()
}

/// How many of the keys-only indexes hold `item`.
pub fn keys_only_indexes_holding(item: &Item) -> usize {
    KEYS_ONLY_INDEX_PARTITION_KEYS
        .iter()
        .filter(|(_, pk)| item.contains_key(*pk))
        .count()
}

/// WRUs of writing `item` (of `bytes`, which may be more than the item
/// itself: an update is sized by the whole item after it), base table and
/// indexes.
pub fn item_write_units(item: &Item, bytes: usize, transactional: bool) -> u64 {
    let base = if transactional {
        transactional_write_units(bytes)
    } else {
        write_units(bytes)
    };
    base + indexes_holding(item) as u64 * write_units(bytes)
        + keys_only_indexes_holding(item) as u64
}

/// What a plan writes, sized before it is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlanUnits {
    /// Bytes of the items put plus what the updates set.
    pub item_bytes: usize,
    /// WRUs by the rules above, counting each updated summary at the size
    /// of what the update sets: a lower bound (the summary holds what
    /// earlier deliveries set too); DynamoDB's own report is exact.
    pub write_units: u64,
    /// Whether what decides goes as a transaction (one put alone does not;
    /// part items are standard writes either way).
    pub transactional: bool,
}

/// [`PlanUnits`] of `plan`, as [`super::Store::write`] sends it: part items
/// (see [`super::transaction`]) as standard writes, the rest in the
/// deciding request.
pub fn plan_units(plan: &WritePlan) -> PlanUnits {
    let staged = super::transaction::Staged::of(plan);
    let transactional = staged.is_transaction();
    let mut units = PlanUnits {
        transactional,
        ..PlanUnits::default()
    };
    for put in &plan.puts {
        let bytes = item_bytes(&put.item);
        let in_request = staged.puts.iter().any(|p| std::ptr::eq(*p, put));
        units.item_bytes += bytes;
        units.write_units += item_write_units(&put.item, bytes, transactional && in_request);
    }
    for update in &plan.updates {
        let bytes = update.bytes();
        units.item_bytes += bytes;
        let set: Item = update
            .set_once
            .iter()
            .chain(update.set.iter())
            .cloned()
            .collect();
        let in_request = staged.updates.iter().any(|u| std::ptr::eq(*u, update));
        units.write_units += item_write_units(&set, bytes, transactional && in_request);
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::plan::{s, GuardedPut};

    #[test]
    fn writes_are_counted_per_started_kilobyte() {
        assert_eq!(write_units(0), 1);
        assert_eq!(write_units(1), 1);
        assert_eq!(write_units(1024), 1);
        assert_eq!(write_units(1025), 2);
        assert_eq!(write_units(3 * 1024 + 1), 4);
        assert_eq!(transactional_write_units(500), 2);
        assert_eq!(transactional_write_units(2048), 4);
        assert_eq!(transactional_write_units(2049), 6);
    }

    #[test]
    fn reads_are_counted_per_started_four_kilobytes_halved_when_eventual() {
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(4096, true), 1.0);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(read_units(4097, false), 1.0);
        assert_eq!(read_units(100, false), 0.5);
    }

    #[test]
    fn indexed_items_pay_once_more_per_index() {
        let mut item: Item = [("PK".to_string(), s("p"))].into();
        assert_eq!(item_write_units(&item, 1500, false), 2);
        assert_eq!(item_write_units(&item, 1500, true), 4);
        item.insert(keys::GSI1PK.into(), s("PHONE#+1"));
        item.insert(keys::GSI3PK.into(), s("DAY#2026-01-01"));
        // Base 2 KB twice (transaction) + two indexes at 2 KB each.
        assert_eq!(item_write_units(&item, 1500, true), 4 + 2 * 2);
    }

    #[test]
    fn a_single_put_is_not_a_transaction() {
        let put = GuardedPut {
            item: [
                ("PK".to_string(), s("p")),
                ("raw".to_string(), s("x".repeat(2000))),
            ]
            .into(),
            condition: None,
        };
        let alone = WritePlan {
            puts: vec![put.clone()],
            updates: Vec::new(),
        };
        let units = plan_units(&alone);
        assert!(!units.transactional);
        assert_eq!(units.write_units, 2);
        assert_eq!(units.item_bytes, 2 + 1 + 3 + 2000);
        let mut with_summary = alone.clone();
        let mut summary = crate::store::plan::SummaryUpdate::new("p", "SUMMARY");
        summary
            .set_once(keys::GSI1PK, s("PHONE#+1"))
            .increment("event_count", 1);
        with_summary.updates.push(summary);
        let units = plan_units(&with_summary);
        assert!(units.transactional);
        // The put doubled (4), the summary doubled (2) and in one index (1).
        assert_eq!(units.write_units, 4 + 2 + 1);
    }

    #[test]
    fn the_indexes_named_are_the_templates_and_project_all() {
        let template = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
        )
        .unwrap();
        for (index, pk) in INDEX_PARTITION_KEYS {
            let at = template
                .find(&format!("IndexName: {index}"))
                .unwrap_or_else(|| panic!("{index} not in template.yaml"));
            let definition = &template[at..at + 300];
            assert!(definition.contains(&format!("AttributeName: {pk}, KeyType: HASH")));
            assert!(definition.contains("ProjectionType: ALL"), "{definition}");
        }
        for (index, pk) in KEYS_ONLY_INDEX_PARTITION_KEYS {
            let at = template
                .find(&format!("IndexName: {index}"))
                .unwrap_or_else(|| panic!("{index} not in template.yaml"));
            let definition = &template[at..at + 300];
            assert!(definition.contains(&format!("AttributeName: {pk}, KeyType: HASH")));
            assert!(
                definition.contains("ProjectionType: KEYS_ONLY"),
                "{definition}"
            );
        }
        assert_eq!(template.matches("IndexName: GSI").count(), 4);
    }
}
