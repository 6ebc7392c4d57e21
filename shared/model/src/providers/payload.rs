//! The provider contract's plain types: what a reader gets and what it
//! gives back, and the helpers every JSON route's reader shares.

use super::ReadError;
use crate::event::Event;
use crate::store::plan::WritePlan;
use crate::time::Timestamp;
use serde_json::Value;

/// One delivery as a provider's reader sees it: authenticated, within the
/// platform's size, its body decoded from its Content-Encoding and charset.
#[derive(Clone, Copy, Debug)]
pub struct Payload<'a> {
    /// POST (a body) or GET (parameters in the query string).
    pub is_post: bool,
    /// The Content-Type as sent: only a hint, senders mislabel.
    pub content_type: Option<&'a str>,
    /// The query string without its credential.
    pub query: &'a str,
    pub body: &'a [u8],
    pub received_at: Timestamp,
}

impl<'a> Payload<'a> {
    /// What a reader parses: the body without a UTF-8 byte order mark (some
    /// senders write one), or, for a GET, the query string.
    pub fn bytes(&self) -> &'a [u8] {
        let bytes = if self.is_post {
            self.body
        } else {
            self.query.as_bytes()
        };
        bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
    }
}

/// A delivery its provider understood, fully or in part (the parts read
/// around are named in `event.anomalies`).
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub event: Event,
    pub plan: WritePlan,
    /// What a JSON route's answer says besides the outcome (`call_id`,
    /// `message_id`...).
    pub answer: Value,
}

impl Reading {
    /// The reading with `anomaly` (what the payload's shape made the
    /// reader do) named on its event and kept with it.
    pub fn with_anomaly(mut self, anomaly: Option<String>) -> Self {
        if let Some(anomaly) = anomaly {
            self.event.anomalies.push(anomaly);
            self.plan.note_anomalies(&self.event.anomalies);
        }
        self
    }
}

/// A route's reader: the payload and the days its items are kept.
pub type Reader = fn(&Payload, u32) -> Result<Reading, ReadError>;

/// The text of a JSON route's body. A body that is a form (senders
/// mislabel, and some only post forms) is read as a JSON object of its
/// fields, and the anomaly named; anything else that is not JSON text is
/// unreadable.
pub fn json_body(payload: &Payload) -> Result<(Vec<u8>, Option<String>), ReadError> {
    let bytes = payload.bytes();
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ReadError::new(format!("body is not UTF-8 text ({e})")))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || !looks_like_form(trimmed) {
        return Ok((bytes.to_vec(), None));
    }
    let object: serde_json::Map<String, Value> = form_urlencoded::parse(trimmed.as_bytes())
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect();
    let json = serde_json::to_vec(&object)
        .map_err(|e| ReadError::new(format!("form body could not be read as JSON ({e})")))?;
    Ok((
        json,
        Some("body: form-encoded on a JSON route, read as its fields".to_string()),
    ))
}

/// `name=value&name=value`: at least one pair, names of word characters.
fn looks_like_form(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty()
        && text.split('&').all(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            pair.contains('=')
                && !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-[]%+".contains(&b))
        })
}

/// The raw text kept with an event: the body exactly as it came (the BOM
/// too), or a GET's query string.
pub fn raw_text<'a>(payload: &Payload<'a>) -> Result<&'a str, ReadError> {
    let bytes = if payload.is_post {
        payload.body
    } else {
        payload.query.as_bytes()
    };
    std::str::from_utf8(bytes).map_err(|e| ReadError::new(format!("body is not UTF-8 text ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_detection_is_strict() {
        assert!(looks_like_form("a=1&b=2"));
        assert!(looks_like_form("CallSid=CA1&From=%2B1"));
        assert!(!looks_like_form("hello world"));
        assert!(!looks_like_form("a=1&&b"));
        assert!(!looks_like_form(""));
    }

    #[test]
    fn a_get_reads_its_query_and_a_post_its_body_past_a_bom() {
        let payload = Payload {
            is_post: true,
            content_type: None,
            query: "a=1",
            body: b"\xEF\xBB\xBF{}",
            received_at: Timestamp::from_millisecond(0).unwrap(),
        };
        assert_eq!(payload.bytes(), b"{}");
        assert_eq!(
            Payload {
                is_post: false,
                ..payload
            }
            .bytes(),
            b"a=1"
        );
    }
}
