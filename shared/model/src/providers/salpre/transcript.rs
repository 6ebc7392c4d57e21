//! Transcripts: the final one's turns (judged for a customer turn, read
//! back by the CLI and tests) and the live one, line by line from events.

use crate::store::plan::{self, Item};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;

/// One turn of a final transcript, as sent (every field optional, numbers
/// read as text).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct FinalTurn {
    /// `ai` or `customer` in Salpre's examples.
    #[serde(rename = "type", default, deserialize_with = "scalar_text")]
    pub speaker: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    pub utc_timestamp: Option<String>,
}

impl FinalTurn {
    pub(super) fn is_customer_speaking(&self) -> bool {
        self.speaker
            .as_deref()
            .is_some_and(|s| s.trim().eq_ignore_ascii_case("customer"))
            && self
                .message
                .as_deref()
                .is_some_and(|m| !m.trim().is_empty())
    }
}

/// Text, or a number as text; anything else as none.
fn scalar_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(deserializer).map_err(de::Error::custom)? {
        Value::String(text) => Ok(Some(text)),
        Value::Number(number) => Ok(Some(number.to_string())),
        _ => Ok(None),
    }
}

/// One live transcript line read back from its event item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLine {
    pub speaker: Option<String>,
    pub text: String,
    pub line_timestamp: Option<String>,
    /// The envelope's `timestamp_utc`, as stored (`occurred_at`).
    pub occurred_at: String,
}

/// The live transcript of a call from its events (as
/// [`crate::store::Store::conversation_events`] returns them, in order): one
/// line per `transcript` event with text. A line too long to copy beside its
/// raw body is read from the raw body.
pub fn live_transcript(events: &[Item]) -> Vec<LiveLine> {
    let text_attr = |item: &Item, name: &str| plan::text(item, name).map(str::to_string);
    events
        .iter()
        .filter(|item| text_attr(item, "kind").as_deref() == Some("transcript"))
        .filter_map(|item| {
            let text = match text_attr(item, "text") {
                Some(text) => text,
                None => {
                    let raw = text_attr(item, "raw")?;
                    let raw = raw.strip_prefix('\u{feff}').unwrap_or(&raw);
                    let body: Value = serde_json::from_str(raw).ok()?;
                    match body.pointer("/payload/transcript")? {
                        Value::String(text) if !text.trim().is_empty() => text.clone(),
                        Value::Number(number) => number.to_string(),
                        _ => return None,
                    }
                }
            };
            Some(LiveLine {
                speaker: text_attr(item, "speaker"),
                text,
                line_timestamp: text_attr(item, "line_timestamp"),
                occurred_at: text_attr(item, "occurred_at").unwrap_or_default(),
            })
        })
        .collect()
}

/// A live line's own timestamp as a sort-key piece: digits zero-padded so
/// lines of the same second sort by it, anything else kept to safe
/// characters; `-` when there is none.
pub(super) fn line_time_key(line_time: Option<&str>) -> String {
    let Some(value) = line_time.map(str::trim).filter(|v| !v.is_empty()) else {
        return "-".into();
    };
    if value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        return format!("{value:0>20}");
    }
    value
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '+' | '_'))
        .take(40)
        .collect()
}
