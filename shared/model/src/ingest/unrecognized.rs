//! An *unrecognized delivery*: one that authenticated but that no provider
//! module could read (not JSON, the wrong shape, an item DynamoDB refused).
//! It is kept, never refused: the raw bytes, the route, the reason and the
//! request details that tell who sent it (never a credential), so an
//! operator can find it (`callhooks unrecognized list`) and nothing is lost.

use super::delivery::Delivery;
use crate::attribute::AttributeValue;
use crate::store::keys::{self, PK, SK, TTL};
use crate::store::plan::{n, s, Condition, GuardedPut, Item, WritePlan, RAW_PART_BYTES};
use crate::time;

/// Longest reason, content type or user agent kept (characters).
const MAX_NOTE_CHARS: usize = 1_000;

pub use super::identity::digest;

/// What keeping an unrecognized delivery writes: one item (and, for a body
/// over [`RAW_PART_BYTES`], its parts), conditional on its absence so a
/// retry is a duplicate.
pub fn plan(delivery: &Delivery, reason: &str, retention_days: u32) -> WritePlan {
    let digest = digest(delivery);
    let pk = keys::unrecognized_pk(delivery.route.provider().as_str(), &digest);
    let received = time::to_key(delivery.received_at);
    let expires = n(time::expires_at(delivery.received_at, retention_days));
    let mut item = Item::with_capacity(16);
    item.insert(PK.into(), s(&pk));
    item.insert(SK.into(), s(keys::UNRECOGNIZED_SK));
    item.insert(keys::ITEM_TYPE.into(), s(keys::UNRECOGNIZED_ITEM_TYPE));
    item.insert(keys::GSI1PK.into(), s(keys::UNRECOGNIZED_INDEX_PK));
    item.insert(keys::GSI1SK.into(), s(format!("{received}#{digest}")));
    item.insert("provider".into(), s(delivery.route.provider().as_str()));
    item.insert("route".into(), s(delivery.route.path()));
    item.insert(
        "method".into(),
        s(if delivery.is_post { "POST" } else { "GET" }),
    );
    item.insert("reason".into(), s(bounded(reason)));
    item.insert("received_at".into(), s(&received));
    item.insert("body_bytes".into(), n(delivery.body.len()));
    item.insert(TTL.into(), expires.clone());
    if let Some(content_type) = &delivery.content_type {
        item.insert("content_type".into(), s(bounded(content_type)));
    }
    if let Some(agent) = &delivery.user_agent {
        item.insert("user_agent".into(), s(bounded(agent)));
    }
    if let super::decode::BodyDecoding::Decoded { from } = &delivery.decoding {
        item.insert(super::decode::DECODED_FROM_ATTRIBUTE.into(), s(from));
    }
    if !delivery.query.is_empty() {
        // The query is bounded by API Gateway (its URL limit), far below
        // an item's size.
        item.insert("query".into(), s(&delivery.query));
    }

    // The body as text when it is text, else as bytes; split when large.
    let pieces: Vec<AttributeValue> = match std::str::from_utf8(&delivery.body) {
        Ok(text) => crate::store::plan::split_utf8(text, RAW_PART_BYTES)
            .into_iter()
            .map(s)
            .collect(),
        Err(_) => delivery
            .body
            .chunks(RAW_PART_BYTES)
            .map(|chunk| AttributeValue::B(chunk.to_vec()))
            .collect(),
    };
    let mut puts = Vec::with_capacity(1 + pieces.len());
    let attribute = |piece: &AttributeValue| match piece {
        AttributeValue::B(_) => "raw_bytes",
        _ => "raw",
    };
    if pieces.len() <= 1 {
        if let Some(piece) = pieces.first() {
            item.insert(attribute(piece).into(), piece.clone());
        }
    } else {
        item.insert("raw_parts".into(), n(pieces.len()));
    }
    puts.push(GuardedPut {
        item,
        condition: Some(Condition::item_absent()),
    });
    if pieces.len() > 1 {
        for (index, piece) in pieces.into_iter().enumerate() {
            let mut part = Item::with_capacity(6);
            part.insert(PK.into(), s(&pk));
            part.insert(
                SK.into(),
                s(keys::part_sk(keys::UNRECOGNIZED_SK, index + 1)),
            );
            part.insert(keys::ITEM_TYPE.into(), s("raw_part"));
            part.insert(attribute(&piece).into(), piece);
            part.insert(TTL.into(), expires.clone());
            puts.push(GuardedPut {
                item: part,
                condition: None,
            });
        }
    }
    WritePlan {
        puts,
        updates: Vec::new(),
    }
}

/// At most [`MAX_NOTE_CHARS`] characters, control characters dropped.
fn bounded(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NOTE_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::delivery::Route;
    use crate::time::Timestamp;

    fn delivery(body: &[u8]) -> Delivery {
        Delivery {
            route: Route::SalpreEvents,
            is_post: true,
            content_type: Some("text/plain".into()),
            query: String::new(),
            body: body.to_vec(),
            decoding: Default::default(),
            user_agent: Some("Salpre-Webhook/1.0".into()),
            received_at: Timestamp::from_millisecond(1_795_449_082_000).unwrap(),
        }
    }

    #[test]
    fn a_small_body_is_one_guarded_item_findable_by_the_index() {
        let plan = plan(&delivery(b"not json"), "body is not JSON", 30);
        assert_eq!(plan.puts.len(), 1);
        let item = &plan.puts[0].item;
        assert!(plan.puts[0].condition.is_some());
        assert_eq!(item["raw"], s("not json"));
        assert_eq!(item[keys::GSI1PK], s(keys::UNRECOGNIZED_INDEX_PK));
        assert_eq!(item["route"], s("/salpre/events"));
        assert!(item.contains_key(TTL));
    }

    #[test]
    fn a_retry_has_the_same_key_and_other_bytes_another() {
        let a = plan(&delivery(b"x"), "r", 30);
        let mut later = delivery(b"x");
        later.received_at = Timestamp::from_millisecond(1_795_449_999_000).unwrap();
        assert_eq!(a.puts[0].item[PK], plan(&later, "r", 30).puts[0].item[PK]);
        assert_ne!(
            a.puts[0].item[PK],
            plan(&delivery(b"y"), "r", 30).puts[0].item[PK]
        );
    }

    #[test]
    fn large_and_binary_bodies_are_split_and_every_byte_kept() {
        let text = "é".repeat(RAW_PART_BYTES); // 2 bytes each
        let plan_text = plan(&delivery(text.as_bytes()), "r", 30);
        assert_eq!(plan_text.puts.len(), 3);
        let joined: String = plan_text.puts[1..]
            .iter()
            .map(|p| p.item["raw"].as_s().unwrap().as_str())
            .collect();
        assert_eq!(joined, text);

        let binary: Vec<u8> = (0..=255u8).cycle().take(RAW_PART_BYTES + 10).collect();
        let plan_binary = plan(&delivery(&binary), "r", 30);
        let joined: Vec<u8> = plan_binary.puts[1..]
            .iter()
            .flat_map(|p| p.item["raw_bytes"].as_b().unwrap().clone())
            .collect();
        assert_eq!(joined, binary);
    }

    #[test]
    fn notes_are_bounded_and_free_of_control_characters() {
        let reason = format!("\u{1b}]52;c;{}", "x".repeat(5_000));
        let plan = plan(&delivery(b""), &reason, 30);
        let kept = plan.puts[0].item["reason"].as_s().unwrap();
        assert_eq!(kept.chars().count(), MAX_NOTE_CHARS);
        assert!(!kept.contains('\u{1b}'));
    }
}
