//! What the reads return: summaries and histories as stored, with the
//! status each derives.

use super::plan::Item;
use crate::config::Contact;
use crate::event::{CallPhases, Direction, SmsMoments, SmsStatus};
use serde::{Deserialize, Serialize};

/// What [`Store::caller_contact_and_calls`] read about one caller.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CallerRecords {
    pub contact: Option<Contact>,
    /// Calls placed from the caller, newest first.
    pub calls: Vec<CallSummary>,
    /// Older items were left unread.
    pub more: bool,
}

/// A stored item that is not the record it should be.
#[derive(Debug, thiserror::Error)]
#[error("unreadable {record}: {source}")]
pub struct RecordError {
    pub record: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// A call's summary as stored (access pattern 2), with its derived status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallSummary {
    pub provider: String,
    pub call_id: String,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub caller_name: Option<String>,
    pub first_seen_at: String,
    #[serde(default)]
    pub is_test: bool,
    #[serde(default)]
    pub event_count: u64,
    #[serde(default)]
    pub initiated_at: Option<String>,
    #[serde(default)]
    pub ringing_at: Option<String>,
    #[serde(default)]
    pub answered_at: Option<String>,
    #[serde(default)]
    pub ended_at: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    #[serde(default)]
    pub unanswered_at: Option<String>,
    /// Salpre's `source` (`salprebox:SALPRE_AABBCCDD`).
    #[serde(default)]
    pub source: Option<String>,
    /// Set once with `failed_at`: the provider's own words.
    #[serde(default)]
    pub error_message: Option<String>,
    /// An answered call that reached nobody (Retell's outcome rules).
    #[serde(default)]
    pub missed_at: Option<String>,
}

impl CallSummary {
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        crate::attribute::from_item(item).map_err(|source| RecordError {
            record: "call summary",
            source,
        })
    }

    pub fn phases(&self) -> CallPhases {
        CallPhases {
            initiated_at: self.initiated_at.clone(),
            ringing_at: self.ringing_at.clone(),
            answered_at: self.answered_at.clone(),
            ended_at: self.ended_at.clone(),
            failed_at: self.failed_at.clone(),
            unanswered_at: self.unanswered_at.clone(),
        }
    }

    pub fn status(&self) -> crate::event::CallStatus {
        self.phases().status()
    }

    pub fn is_missed(&self) -> bool {
        self.phases().is_missed(self.direction)
            || (self.direction == Some(Direction::Inbound)
                && self.missed_at.is_some()
                && self.failed_at.is_none())
    }
}

/// One SMS message as stored (access pattern 4): its summary and its status
/// history, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct SmsRecord {
    pub summary: SmsSummary,
    pub history: Vec<SmsStatusEntry>,
}

/// An SMS summary as stored, with its derived status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsSummary {
    pub provider: String,
    pub message_id: String,
    #[serde(default)]
    pub direction: Option<Direction>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    pub first_seen_at: String,
    #[serde(default)]
    pub is_test: bool,
    #[serde(default)]
    pub event_count: u64,
    #[serde(default)]
    pub segments: Option<u32>,
    /// The whole text; [`Store::sms_message`] reassembles a split one.
    #[serde(default)]
    pub message_text: Option<String>,
    /// How many `SUMMARY#PART#` items hold the text when it was too long
    /// for the summary item.
    #[serde(default)]
    pub message_text_parts: Option<u64>,
    #[serde(default)]
    pub medias: Option<Vec<String>>,
    #[serde(default)]
    pub inbound_at: Option<String>,
    #[serde(default)]
    pub sent_at: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    /// The provider's `message` with the failed status.
    #[serde(default)]
    pub failure_message: Option<String>,
    /// The reject rule that refused an inbound chat (Retell).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_by: Option<String>,
}

impl SmsSummary {
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        crate::attribute::from_item(item).map_err(|source| RecordError {
            record: "sms summary",
            source,
        })
    }

    pub fn moments(&self) -> SmsMoments {
        SmsMoments {
            inbound_at: self.inbound_at.clone(),
            sent_at: self.sent_at.clone(),
            delivered_at: self.delivered_at.clone(),
            failed_at: self.failed_at.clone(),
        }
    }

    /// `None` while only statuses the provider does not document were seen.
    pub fn status(&self) -> Option<SmsStatus> {
        self.moments().status()
    }
}

/// One entry of an SMS's status history (`SK = STATUS#<status>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmsStatusEntry {
    /// Canonical for a documented status, else as the provider sent it.
    pub status: String,
    /// Whether the provider documents this status.
    #[serde(default)]
    pub known: bool,
    /// When it reached us (RFC 3339, milliseconds, UTC).
    pub at: String,
    /// The provider's sentence about it.
    #[serde(default)]
    pub message: Option<String>,
    /// The sort key of the event that carried it (its raw payload).
    #[serde(default)]
    pub event_sk: Option<String>,
}

impl SmsStatusEntry {
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        crate::attribute::from_item(item).map_err(|source| RecordError {
            record: "sms status entry",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::AttributeValue;
    use crate::store::plan::{self, s};

    #[test]
    fn summary_reads_from_an_item() {
        let item = Item::from([
            ("provider".to_string(), s("zonitel")),
            ("call_id".to_string(), s("c1")),
            ("direction".to_string(), s("inbound")),
            ("first_seen_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("ringing_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("event_count".to_string(), plan::n(1)),
            ("GSI1PK".to_string(), s("PHONE#+1")),
        ]);
        let summary = CallSummary::from_item(&item).unwrap();
        assert_eq!(summary.direction, Some(Direction::Inbound));
        assert_eq!(summary.status(), crate::event::CallStatus::Ringing);
        assert!(!summary.is_missed());
    }

    #[test]
    fn sms_summary_reads_from_an_item() {
        let item = Item::from([
            ("provider".to_string(), s("zonitel")),
            ("message_id".to_string(), s("m1")),
            ("direction".to_string(), s("outbound")),
            ("first_seen_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("delivered_at".to_string(), s("2026-01-01T00:00:00.000Z")),
            ("sent_at".to_string(), s("2026-01-01T00:00:01.000Z")),
            ("segments".to_string(), plan::n(2)),
            (
                "medias".to_string(),
                AttributeValue::L(vec![s("https://example.com/a.jpg")]),
            ),
            ("event_count".to_string(), plan::n(2)),
        ]);
        let summary = SmsSummary::from_item(&item).unwrap();
        assert_eq!(summary.direction, Some(Direction::Outbound));
        assert_eq!(summary.status(), Some(SmsStatus::Delivered));
        assert_eq!(summary.segments, Some(2));
        assert_eq!(
            summary.medias,
            Some(vec!["https://example.com/a.jpg".to_string()])
        );
    }
}
