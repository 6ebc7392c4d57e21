//! The spillway queue's message: what the webhook sends and the spillway
//! function verifies ([`super::spill_key`]) and writes ([`super::drain`]).

use super::decode::BodyDecoding;
use serde::{Deserialize, Serialize};

/// One spillway message: one delivery, or one part of a large one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpilledMessage {
    /// Shared by every part of one delivery (the digest of its bytes and
    /// its arrival time).
    pub delivery_id: String,
    /// The route's path (`/zonitel/calls`).
    pub route: String,
    pub post: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub received_at_ms: i64,
    /// What the edge decoded (the body travels decoded: it is not decoded
    /// again).
    #[serde(default, skip_serializing_if = "BodyDecoding::is_as_sent")]
    pub decoding: BodyDecoding,
    /// 1-based.
    pub part: u32,
    pub parts: u32,
    pub body_b64: String,
    /// HMAC-SHA256 of the rest, in hex ([`super::spill_key`]): the spillway
    /// writes only what verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}
