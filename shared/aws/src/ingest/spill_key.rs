//! The spillway messages' integrity check: every message a webhook sends
//! to the queue carries an HMAC-SHA256 of its content, keyed by a secret
//! the stack makes (`SPILLWAY_SIGNING_KEY`, in the webhooks' and the
//! spillway's encrypted environment). The spillway writes only messages
//! whose MAC verifies; anything else (a message some other sender put on
//! the queue, or one edited on the way) goes to the dead-letter queue,
//! whole and unwritten. Without it, anything that can send to the queue
//! could write any provider's records.

use super::spill_message::SpilledMessage;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The environment variable holding the key.
pub const SIGNING_KEY_ENV: &str = "SPILLWAY_SIGNING_KEY";

/// The key spillway messages are signed and verified with.
#[derive(Clone)]
pub struct SpillKey(Vec<u8>);

impl std::fmt::Debug for SpillKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpillKey(<redacted>)")
    }
}

impl SpillKey {
    /// `None` for an empty key: an empty key would sign with nothing secret.
    pub fn new(key: &[u8]) -> Option<Self> {
        (!key.is_empty()).then(|| SpillKey(key.to_vec()))
    }

    /// From [`SIGNING_KEY_ENV`]; `None` when unset or empty.
    pub fn from_env() -> Option<Self> {
        std::env::var(SIGNING_KEY_ENV)
            .ok()
            .and_then(|key| Self::new(key.as_bytes()))
    }

    fn mac(&self, message: &SpilledMessage) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(&signed_bytes(message));
        mac
    }

    /// The MAC of `message` (every field but the MAC itself), in hex.
    pub fn sign(&self, message: &SpilledMessage) -> String {
        hex::encode(self.mac(message).finalize().into_bytes())
    }

    /// Whether `message` carries this key's MAC of its content (compared
    /// in constant time).
    pub fn verify(&self, message: &SpilledMessage) -> bool {
        let Some(given) = message.mac.as_deref().and_then(|m| hex::decode(m).ok()) else {
            return false;
        };
        self.mac(message).verify_slice(&given).is_ok()
    }
}

/// What the MAC covers: the message as JSON without its `mac` (the
/// struct's fields in their declared order, so sender and spillway
/// serialize alike).
fn signed_bytes(message: &SpilledMessage) -> Vec<u8> {
    let unsigned = SpilledMessage {
        mac: None,
        ..message.clone()
    };
    serde_json::to_vec(&unsigned).expect("a spilled message always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::delivery::{Delivery, Route};
    use crate::ingest::spill::messages;
    use crate::time::Timestamp;

    fn message() -> SpilledMessage {
        let delivery = Delivery {
            route: Route::SalpreEvents,
            is_post: true,
            content_type: Some("application/json".into()),
            query: String::new(),
            body: br#"{"event_type":"call_ended"}"#.to_vec(),
            decoding: Default::default(),
            user_agent: None,
            received_at: Timestamp::from_millisecond(1_795_449_082_123).unwrap(),
        };
        messages(&delivery).remove(0)
    }

    #[test]
    fn a_signed_message_verifies_and_any_change_breaks_it() {
        let key = SpillKey::new(b"spill-key").unwrap();
        let mut signed = message();
        signed.mac = Some(key.sign(&signed));
        assert!(key.verify(&signed));
        // Through the queue's text and back.
        let text = serde_json::to_string(&signed).unwrap();
        let back = crate::ingest::spill::parse_message(&text).unwrap();
        assert!(key.verify(&back));

        let mut rerouted = signed.clone();
        rerouted.route = "/retell/events".into();
        assert!(!key.verify(&rerouted));
        let mut edited = signed.clone();
        edited.body_b64 = "e30=".into();
        assert!(!key.verify(&edited));
        let other = SpillKey::new(b"another key").unwrap();
        assert!(!other.verify(&signed));
        let mut unsigned = signed.clone();
        unsigned.mac = None;
        assert!(!key.verify(&unsigned));
        let mut garbage = signed;
        garbage.mac = Some("not hex".into());
        assert!(!key.verify(&garbage));
    }

    #[test]
    fn an_empty_key_is_no_key_and_a_key_never_prints() {
        assert!(SpillKey::new(b"").is_none());
        let key = SpillKey::new(b"s3cret").unwrap();
        assert!(!format!("{key:?}").contains("s3cret"));
    }
}
