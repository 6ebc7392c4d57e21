//! One delivery as plain data: which route it came in on, its bytes and the
//! few request details a provider's reader needs. Built once at the edge
//! (see [`super::edge`]) after the request authenticated, and again by the
//! spillway from a spilled copy, so both read it the same way.

use super::decode::BodyDecoding;
use crate::providers::Payload;
use crate::time::Timestamp;

pub use crate::route_table::Route;

/// One authenticated delivery, within the size limit, as it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub route: Route,
    /// POST (a body) or GET (parameters in the query string: Voxtelesys).
    pub is_post: bool,
    /// The Content-Type header as sent, if any. Only a hint: senders
    /// mislabel, so bodies are read by what they are.
    pub content_type: Option<String>,
    /// The query string without its `token` parameters: a secret is never
    /// kept.
    pub query: String,
    /// The body to read: as it came, or decoded at the edge from its
    /// Content-Encoding and charset (see `decoding`).
    pub body: Vec<u8>,
    /// What the edge did to the body before anything read it.
    pub decoding: BodyDecoding,
    /// The sender's User-Agent, kept with an unrecognized delivery to tell
    /// who sent it.
    pub user_agent: Option<String>,
    pub received_at: Timestamp,
}

impl Delivery {
    /// What its route's reader gets.
    pub fn as_payload(&self) -> Payload<'_> {
        Payload {
            is_post: self.is_post,
            content_type: self.content_type.as_deref(),
            query: &self.query,
            body: &self.body,
            received_at: self.received_at,
        }
    }

    /// What a provider parses (see [`Payload::bytes`]).
    pub fn payload(&self) -> &[u8] {
        self.as_payload().bytes()
    }

    /// The payload as text, when it is text.
    pub fn payload_text(&self) -> Option<&str> {
        std::str::from_utf8(self.payload()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_drops_a_byte_order_mark_and_reads_a_get_from_its_query() {
        let mut delivery = Delivery {
            route: Route::ZonitelCall,
            is_post: true,
            content_type: None,
            query: "CallSid=CA1".into(),
            body: b"\xEF\xBB\xBF{}".to_vec(),
            decoding: BodyDecoding::AsSent,
            user_agent: None,
            received_at: Timestamp::from_millisecond(0).unwrap(),
        };
        assert_eq!(delivery.payload(), b"{}");
        delivery.is_post = false;
        assert_eq!(delivery.payload_text(), Some("CallSid=CA1"));
    }
}
