//! A delivery's identity, decided once for every route: the provider's own
//! per-delivery id where its body carries one, else the digest of the
//! route, the query (without the credential) and the body. A retry repeats
//! the bytes, so it has the same identity and is recognised as a duplicate;
//! a different delivery has different bytes, so it never is, even when it
//! is a second event of the same name in the same call (Retell's
//! `transcript_updated` at every turn, several `transfer_*`).
//!
//! One exception, declared by the provider as data: a body with neither an
//! id nor a time (Zonitel's incoming call, Retell's inbound request) is the
//! same bytes when the same caller calls the same number again, so such
//! bytes are a retry only within a short window (`store::plan::RetryGuard`).

use super::delivery::Delivery;
use sha2::{Digest, Sha256};

/// The digest of a delivery's bytes on its route (hex, 128 bits): what
/// identifies it where the provider sends no id of its own.
pub fn digest(delivery: &Delivery) -> String {
    let mut hash = Sha256::new();
    hash.update(delivery.route.path().as_bytes());
    hash.update([0]);
    hash.update(delivery.query.as_bytes());
    hash.update([0]);
    hash.update(&delivery.body);
    hex::encode(&hash.finalize()[..16])
}

/// Who decided a delivery's identity, and what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// The provider's own id for this delivery.
    ProviderId(String),
    /// [`digest`]: the same bytes on the same route.
    Digest(String),
}

impl Identity {
    /// The provider's id when it gave one, else the delivery's digest.
    pub fn of(delivery: &Delivery, provider_id: Option<&str>) -> Self {
        match provider_id.map(str::trim).filter(|id| !id.is_empty()) {
            Some(id) => Identity::ProviderId(id.to_string()),
            None => Identity::Digest(digest(delivery)),
        }
    }

    /// The identity as the parts of a delivery guard's key
    /// (`store::keys::delivery_sk`).
    pub fn key_parts(&self) -> [&str; 2] {
        match self {
            Identity::ProviderId(id) => ["id", id],
            Identity::Digest(digest) => ["body", digest],
        }
    }

    /// A short form for an event's sort key, so two deliveries of the same
    /// event name at the same moment are two items.
    pub fn event_key(&self) -> String {
        match self {
            Identity::ProviderId(id) => id.clone(),
            Identity::Digest(digest) => digest[..digest.len().min(16)].to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Route;
    use crate::time::Timestamp;

    fn delivery(body: &str, query: &str, at_ms: i64) -> Delivery {
        Delivery {
            route: Route::RetellEvents,
            is_post: true,
            content_type: None,
            query: query.into(),
            body: body.as_bytes().to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: Timestamp::from_millisecond(at_ms).unwrap(),
        }
    }

    #[test]
    fn a_retry_is_the_same_delivery_and_any_other_bytes_are_not() {
        let first = delivery(r#"{"event":"transcript_updated","t":"Hi"}"#, "", 1);
        let retry = delivery(r#"{"event":"transcript_updated","t":"Hi"}"#, "", 90_000);
        let next = delivery(r#"{"event":"transcript_updated","t":"Hi there"}"#, "", 2);
        let elsewhere = delivery(r#"{"event":"transcript_updated","t":"Hi"}"#, "a=1", 1);
        assert_eq!(Identity::of(&first, None), Identity::of(&retry, None));
        assert_ne!(Identity::of(&first, None), Identity::of(&next, None));
        assert_ne!(Identity::of(&first, None), Identity::of(&elsewhere, None));
        let mut other_route = first.clone();
        other_route.route = Route::RetellInbound;
        assert_ne!(Identity::of(&first, None), Identity::of(&other_route, None));
    }

    #[test]
    fn a_providers_own_id_wins_and_an_empty_one_does_not_count() {
        let one = delivery("{}", "", 1);
        assert_eq!(
            Identity::of(&one, Some(" EV1 ")),
            Identity::ProviderId("EV1".into())
        );
        assert_eq!(Identity::of(&one, Some("  ")), Identity::of(&one, None));
        assert_eq!(Identity::of(&one, None).event_key().len(), 16);
    }
}
