//! The spillway: when the table cannot take a delivery (down, throttled, too
//! slow for the provider's deadline), the delivery goes to an SQS queue
//! instead and the provider gets its normal answer; the `spillway` function
//! writes it into the table later through the same reader, once.
//!
//! A message holds the delivery as it came (route, query without token,
//! body in base64, when it arrived), so the spillway reads it exactly as
//! the webhook would have. A body too large for one message (the queue
//! takes 256 KiB; bodies go up to the platform's 6 MB) is cut into numbered
//! parts of one delivery id, sent several at a time, which the spillway gathers
//! in the table until all are in.

use super::delivery::{Delivery, Route};
pub use super::spill_message::SpilledMessage;
use crate::runtime::{lambda_sdk_config, Deadline};
use crate::time::Timestamp;
use aws_config::SdkConfig;
use base64::Engine;
use std::sync::OnceLock;

/// The environment variable naming the queue (its URL).
pub const QUEUE_URL_ENV: &str = "SPILLWAY_QUEUE_URL";

/// Body bytes per message: 160,000 bytes are 213,336 in base64, which
/// leaves room in SQS's 262,144-byte message for the envelope and a query
/// string of up to API Gateway's URL limit.
pub const PART_BODY_BYTES: usize = 160_000;

/// Messages of one delivery sent at the same time.
const SENDS_IN_FLIGHT: usize = 4;

/// The messages that carry `delivery`: one, or one per [`PART_BODY_BYTES`].
pub fn messages(delivery: &Delivery) -> Vec<SpilledMessage> {
    let received_at_ms = delivery.received_at.as_millisecond();
    let delivery_id = format!("{}-{received_at_ms}", super::unrecognized::digest(delivery));
    let chunks: Vec<&[u8]> = if delivery.body.is_empty() {
        vec![&[]]
    } else {
        delivery.body.chunks(PART_BODY_BYTES).collect()
    };
    let parts = chunks.len() as u32;
    chunks
        .into_iter()
        .enumerate()
        .map(|(index, chunk)| SpilledMessage {
            delivery_id: delivery_id.clone(),
            route: delivery.route.path().to_string(),
            post: delivery.is_post,
            content_type: delivery.content_type.clone(),
            query: delivery.query.clone(),
            user_agent: delivery.user_agent.clone(),
            received_at_ms,
            decoding: delivery.decoding.clone(),
            part: index as u32 + 1,
            parts,
            body_b64: base64::engine::general_purpose::STANDARD.encode(chunk),
            mac: None,
        })
        .collect()
}

/// Why a spillway message (or the parts of one delivery) cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("not a spillway message: {0}")]
    NotAMessage(#[from] serde_json::Error),
    #[error("part {part} of {parts} is not a part")]
    NotAPart { part: u32, parts: u32 },
    #[error("no parts")]
    NoParts,
    #[error("delivery {delivery_id} has {have} of its {parts} parts")]
    MissingParts {
        delivery_id: String,
        have: usize,
        parts: u32,
    },
    #[error("unknown route {0:?}")]
    UnknownRoute(String),
    #[error("received_at_ms: {0}")]
    ReceivedAt(String),
    #[error("part {part}: {error}")]
    PartBody {
        part: u32,
        error: base64::DecodeError,
    },
    #[error("a stored part has no message")]
    StoredPartEmpty,
}

/// Why a delivery did not reach the spillway queue.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("no spillway queue")]
    NoQueue,
    #[error("a message could not be written: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{0}")]
    Send(String),
}

/// A spillway message from the queue's text; the error says why not.
pub fn parse_message(text: &str) -> Result<SpilledMessage, MessageError> {
    let message: SpilledMessage = serde_json::from_str(text)?;
    if message.parts == 0 || message.part == 0 || message.part > message.parts {
        return Err(MessageError::NotAPart {
            part: message.part,
            parts: message.parts,
        });
    }
    Ok(message)
}

/// The delivery that `parts` (every part of one delivery, in any order)
/// carry; an error names what is missing or inconsistent.
pub fn assemble(mut parts: Vec<SpilledMessage>) -> Result<Delivery, MessageError> {
    parts.sort_by_key(|p| p.part);
    parts.dedup_by_key(|p| p.part);
    let first = parts.first().ok_or(MessageError::NoParts)?;
    let count = first.parts;
    if parts.len() as u32 != count
        || parts.iter().enumerate().any(|(i, p)| {
            p.part != i as u32 + 1 || p.parts != count || p.delivery_id != first.delivery_id
        })
    {
        return Err(MessageError::MissingParts {
            delivery_id: first.delivery_id.clone(),
            have: parts.len(),
            parts: count,
        });
    }
    let route = Route::of_path(&first.route)
        .ok_or_else(|| MessageError::UnknownRoute(first.route.clone()))?;
    let received_at = Timestamp::from_millisecond(first.received_at_ms)
        .map_err(|e| MessageError::ReceivedAt(e.to_string()))?;
    let mut body = Vec::new();
    for part in &parts {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&part.body_b64)
            .map_err(|error| MessageError::PartBody {
                part: part.part,
                error,
            })?;
        body.extend_from_slice(&bytes);
    }
    Ok(Delivery {
        route,
        is_post: first.post,
        content_type: first.content_type.clone(),
        query: first.query.clone(),
        body,
        decoding: first.decoding.clone(),
        user_agent: first.user_agent.clone(),
        received_at,
    })
}

/// The queue a webhook spills to. The SQS client is built on the first
/// spill only: the hot path and the cold start never pay for it.
#[derive(Clone, Debug)]
pub struct Spillway {
    queue_url: Option<String>,
    config: SdkConfig,
    client: OnceLock<aws_sdk_sqs::Client>,
    /// Signs every message; without it messages go unsigned, and the
    /// spillway moves them to its dead-letter queue unwritten.
    key: Option<super::spill_key::SpillKey>,
    /// How long one spill may take, every message of it sent at once.
    deadline: Deadline,
}

impl Spillway {
    pub fn new(queue_url: Option<String>, config: SdkConfig) -> Self {
        Spillway {
            queue_url: queue_url.filter(|u| !u.is_empty()),
            config,
            client: OnceLock::new(),
            key: None,
            deadline: Deadline::SPILL,
        }
    }

    /// The same spillway, signing what it sends with `key`.
    pub fn signed_with(mut self, key: super::spill_key::SpillKey) -> Self {
        self.key = Some(key);
        self
    }

    /// The same spillway, given `deadline` for a spill instead of
    /// [`Deadline::SPILL`] (tests against an emulator far slower than SQS
    /// with megabyte bodies).
    pub fn with_deadline(mut self, deadline: Deadline) -> Self {
        self.deadline = deadline;
        self
    }

    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// From `SPILLWAY_QUEUE_URL`, with the Lambda SDK configuration and
    /// [`Deadline::SPILL`]. No queue configured: spilling fails, and the
    /// webhook answers as it would without a spillway.
    pub fn from_env() -> Self {
        let queue_url = std::env::var(QUEUE_URL_ENV).ok();
        if queue_url.as_deref().is_none_or(str::is_empty) {
            tracing::warn!(
                variable = QUEUE_URL_ENV,
                "no spillway queue: a delivery the table cannot take gets a 503"
            );
        }
        let spillway = Self::new(queue_url, lambda_sdk_config(Deadline::SPILL));
        match super::spill_key::SpillKey::from_env() {
            Some(key) => spillway.signed_with(key),
            None => {
                tracing::warn!(
                    variable = super::spill_key::SIGNING_KEY_ENV,
                    "no spillway signing key: a spilled delivery waits in the spillway's dead-letter queue"
                );
                spillway
            }
        }
    }

    pub fn is_configured(&self) -> bool {
        self.queue_url.is_some()
    }

    /// Sends every message of `delivery`; an error when any did not go (the
    /// parts that went are harmless: the spillway keeps them until their
    /// expiry and writes nothing without all of them).
    pub async fn send(&self, delivery: &Delivery) -> Result<usize, SpillError> {
        let queue_url = self.queue_url.as_deref().ok_or(SpillError::NoQueue)?;
        let client = self
            .client
            .get_or_init(|| aws_sdk_sqs::Client::new(&self.config));
        // Several at a time: a 6 MB body is 40 messages, and the spill has
        // what is left of the provider's deadline; a few in flight keep
        // each one quick (a queue emulator serves them one by one).
        let mut messages = messages(delivery);
        if let Some(key) = &self.key {
            for message in &mut messages {
                message.mac = Some(key.sign(message));
            }
        }
        let count = messages.len();
        let mut sends = tokio::task::JoinSet::new();
        for message in messages {
            if sends.len() >= SENDS_IN_FLIGHT {
                if let Some(sent) = sends.join_next().await {
                    sent.map_err(|e| SpillError::Send(e.to_string()))??;
                }
            }
            let body = serde_json::to_string(&message)?;
            let (client, queue_url) = (client.clone(), queue_url.to_string());
            sends.spawn(async move {
                client
                    .send_message()
                    .queue_url(queue_url)
                    .message_body(body)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        SpillError::Send(
                            aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
                        )
                    })
            });
        }
        while let Some(sent) = sends.join_next().await {
            sent.map_err(|e| SpillError::Send(e.to_string()))??;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::decode::BodyDecoding;

    fn delivery(body: Vec<u8>) -> Delivery {
        Delivery {
            route: Route::SalpreEvents,
            is_post: true,
            content_type: Some("application/json".into()),
            query: String::new(),
            body,
            decoding: Default::default(),
            user_agent: None,
            received_at: Timestamp::from_millisecond(1_795_449_082_123).unwrap(),
        }
    }

    #[test]
    fn a_small_delivery_is_one_message_and_comes_back_whole() {
        let original = delivery(br#"{"event_type":"call_ended"}"#.to_vec());
        let sent = messages(&original);
        assert_eq!(sent.len(), 1);
        let text = serde_json::to_string(&sent[0]).unwrap();
        let back = assemble(vec![parse_message(&text).unwrap()]).unwrap();
        assert_eq!(back, original);
    }

    #[test]
    fn two_mebibytes_travel_in_parts_that_fit_a_message_and_reassemble_in_any_order() {
        let body: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
        let original = delivery(body);
        let mut sent = messages(&original);
        assert_eq!(sent.len(), 14);
        for message in &sent {
            assert!(serde_json::to_string(message).unwrap().len() < 262_144);
        }
        sent.reverse();
        sent.push(sent[3].clone()); // a part delivered twice
        assert_eq!(assemble(sent.clone()).unwrap(), original);
        sent.retain(|m| m.part != 7);
        assert!(assemble(sent)
            .unwrap_err()
            .to_string()
            .contains("13 of its 14"));
    }

    #[test]
    fn the_platforms_largest_body_travels_in_parts_that_fit_a_message() {
        let body: Vec<u8> = (0..crate::http::MAX_BODY_BYTES)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut original = delivery(body);
        original.decoding = BodyDecoding::Decoded {
            from: "Content-Encoding gzip".into(),
        };
        let sent = messages(&original);
        assert_eq!(
            sent.len(),
            crate::http::MAX_BODY_BYTES.div_ceil(PART_BODY_BYTES)
        );
        for message in &sent {
            assert!(serde_json::to_string(message).unwrap().len() < 262_144);
        }
        assert_eq!(assemble(sent).unwrap(), original);
    }

    #[test]
    fn an_empty_body_and_a_get_travel_too() {
        let mut get = delivery(Vec::new());
        get.is_post = false;
        get.route = Route::Voxtelesys(crate::providers::voxtelesys::Hook::Status);
        get.query = "CallSid=CA1&CallStatus=completed".into();
        let sent = messages(&get);
        assert_eq!(sent.len(), 1);
        assert_eq!(assemble(sent).unwrap(), get);
    }

    #[test]
    fn foreign_messages_are_refused_with_a_reason() {
        assert!(parse_message("{}").is_err());
        assert!(parse_message("not json").is_err());
        let mut message = messages(&delivery(b"x".to_vec())).remove(0);
        message.part = 2;
        assert!(parse_message(&serde_json::to_string(&message).unwrap()).is_err());
        let mut message = messages(&delivery(b"x".to_vec())).remove(0);
        message.route = "/nowhere".into();
        assert!(assemble(vec![message])
            .unwrap_err()
            .to_string()
            .contains("unknown route"));
    }
}
