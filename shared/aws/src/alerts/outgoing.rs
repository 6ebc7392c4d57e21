//! What goes out for one alert: the SNS message (subject, JSON body,
//! attributes), cut to fit SNS when a detail is huge, and the dead-letter
//! copy of an alert that could not be published.

use super::Alert;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// SNS takes 262,144 bytes of message, subject and attributes together. A
/// body is cut to this, which leaves room for the subject (under 100), the
/// attributes (under 200) and the dead-letter envelope around the body.
pub const MAX_BODY_BYTES: usize = 250_000;

/// The body the ledger keeps: a DynamoDB item holds 400 KB, and the
/// ledger item's other attributes are small. A stream image is an item
/// itself, so a body over this is rare; the alert's summary item keeps the
/// whole detail in any case.
pub const LEDGER_BODY_BYTES: usize = 350_000;

/// The free-text fields cut (in this order) when a body is too large.
const CUTTABLE: [&str; 3] = ["detail", "caller_name", "line_label"];

/// One alert's message, ready to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub alert_id: String,
    /// A short printable-ASCII line (SNS's Subject).
    pub subject: String,
    /// The JSON object subscribers read.
    pub body: String,
}

/// A stored alert whose message cannot be sent again as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("alert {alert_id}: the stored message is not a JSON object")]
pub struct NotAnObject {
    pub alert_id: String,
}

impl Outgoing {
    /// The whole message of a new alert (nothing cut yet).
    pub fn for_alert(alert: &Alert) -> Self {
        Outgoing {
            alert_id: alert.alert_id(),
            subject: alert.subject(),
            body: alert.message_body(),
        }
    }

    /// The message of a stored alert sent again by an operator: the same
    /// id, subject and body, with `"replayed": true` so subscribers know.
    pub fn replay(alert_id: &str, subject: &str, stored_body: &str) -> Result<Self, NotAnObject> {
        let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(stored_body) else {
            return Err(NotAnObject {
                alert_id: alert_id.to_string(),
            });
        };
        body.insert("replayed".into(), Value::Bool(true));
        Ok(Outgoing {
            alert_id: alert_id.to_string(),
            subject: subject.to_string(),
            body: Value::Object(body).to_string(),
        })
    }

    /// SNS message attributes (String), from the body: `alert_id`,
    /// `alert_type`, `provider`. SNS refuses an empty value, so an empty
    /// one is left out rather than losing the alert.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let body: Value = serde_json::from_str(&self.body).unwrap_or(Value::Null);
        let mut attributes = vec![("alert_id", self.alert_id.clone())];
        for name in ["alert_type", "provider"] {
            if let Some(value) = body.get(name).and_then(Value::as_str) {
                attributes.push((name, value.to_string()));
            }
        }
        attributes.retain(|(_, value)| !value.is_empty());
        attributes
    }

    /// This message with a body of at most `limit` bytes: the free-text
    /// fields (detail first) are shortened and `truncated` names how many
    /// bytes each lost, e.g. `"truncated": {"detail": 1048576}`. A body
    /// that fits is unchanged; one that cannot be made to fit (huge ids)
    /// is returned as it is and SNS refuses it.
    pub fn fitted(&self, limit: usize) -> Outgoing {
        if self.body.len() <= limit {
            return self.clone();
        }
        let Ok(Value::Object(mut body)) = serde_json::from_str::<Value>(&self.body) else {
            return self.clone();
        };
        // A body cut before (the ledger's copy of a huge one) adds to its note.
        let mut cut: BTreeMap<String, u64> = match body.remove("truncated") {
            Some(Value::Object(note)) => note
                .into_iter()
                .filter_map(|(field, bytes)| Some((field, bytes.as_u64()?)))
                .collect(),
            _ => BTreeMap::new(),
        };
        'fields: for field in CUTTABLE {
            loop {
                let length = with_cuts(&body, &cut).len();
                if length <= limit {
                    break 'fields;
                }
                let Some(Value::String(text)) = body.get_mut(field) else {
                    continue 'fields;
                };
                if text.is_empty() {
                    continue 'fields;
                }
                // A little more than the excess: the note itself grows.
                let excess = length - limit + 64;
                let budget = json_len(text).saturating_sub(excess);
                let keep = longest_prefix_within(text, budget);
                let removed = text.len() - keep;
                text.truncate(keep);
                *cut.entry(field.to_string()).or_default() += removed as u64;
            }
        }
        Outgoing {
            body: with_cuts(&body, &cut),
            ..self.clone()
        }
    }

    /// How many bytes the fitted body's `truncated` says were cut in all.
    pub fn cut_bytes(&self) -> u64 {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|body| {
                body.get("truncated")
                    .and_then(Value::as_object)
                    .map(|cut| cut.values().filter_map(Value::as_u64).sum())
            })
            .unwrap_or(0)
    }
}

/// Bytes `text` takes in JSON (quotes and escapes included).
fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(text.len(), |json| json.len())
}

/// The longest prefix of `text` (ending at a character boundary) whose
/// JSON takes at most `budget` bytes: escaped characters take more than
/// their own bytes, so the cut is searched for, not computed.
fn longest_prefix_within(text: &str, budget: usize) -> usize {
    let fits = |end: usize| json_len(&text[..end]) <= budget;
    let (mut fitting, mut too_long) = (0, text.len());
    if fits(too_long) {
        return too_long;
    }
    while too_long - fitting > 1 {
        let mut middle = (fitting + too_long) / 2;
        while !text.is_char_boundary(middle) {
            middle -= 1;
        }
        if middle <= fitting {
            // Only one character lies between: it does not fit.
            break;
        }
        if fits(middle) {
            fitting = middle;
        } else {
            too_long = middle;
        }
    }
    fitting
}

fn with_cuts(body: &Map<String, Value>, cut: &BTreeMap<String, u64>) -> String {
    let mut body = body.clone();
    if !cut.is_empty() {
        let note = cut
            .iter()
            .map(|(field, bytes)| (field.clone(), Value::from(*bytes)))
            .collect();
        body.insert("truncated".into(), Value::Object(note));
    }
    Value::Object(body).to_string()
}

/// Where an alert's ledger item is, so the dead-letter copy leads back to
/// the full record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerKey {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
}

/// The dead-letter queue's copy of an alert that could not be published:
/// the whole message as it would have gone out (the body as JSON, not as
/// a string inside a string), why, and where its ledger item is.
pub fn dead_letter_body(
    message: &Outgoing,
    ledger: &LedgerKey,
    attempts: u32,
    error: &str,
) -> String {
    #[derive(Serialize)]
    struct DeadLetter<'a> {
        kind: &'static str,
        alert_id: &'a str,
        ledger: &'a LedgerKey,
        attempts: u32,
        error: &'a str,
        subject: &'a str,
        message_attributes: BTreeMap<&'static str, String>,
        message: Value,
    }
    let letter = DeadLetter {
        kind: "alert_not_published",
        alert_id: &message.alert_id,
        ledger,
        attempts,
        error: short(error, 1000),
        subject: &message.subject,
        message_attributes: message.attributes().into_iter().collect(),
        message: serde_json::from_str(&message.body)
            .unwrap_or_else(|_| Value::String(message.body.clone())),
    };
    serde_json::to_string(&letter).expect("a dead letter always serializes")
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub fn short(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// From JSON, so fields other rules add later need no edit here.
    fn alert(detail: Option<String>) -> Alert {
        serde_json::from_value(serde_json::json!({
            "alert_type": "call_error",
            "provider": "salpre",
            "call_id": "sal-9",
            "from": "+14155552671",
            "to": "+18339664835",
            "direction": "inbound",
            "caller_name": "John Doe",
            "occurred_at": "2026-11-23T15:51:22.000Z",
            "detail": detail,
        }))
        .unwrap()
    }

    #[test]
    fn a_message_that_fits_is_unchanged() {
        let message = Outgoing::for_alert(&alert(Some("SIP 503".into())));
        assert_eq!(message.fitted(MAX_BODY_BYTES), message);
        assert_eq!(message.cut_bytes(), 0);
        let body: Value = serde_json::from_str(&message.body).unwrap();
        assert_eq!(body["alert_id"], message.alert_id);
        assert_eq!(
            message.attributes(),
            [
                ("alert_id", message.alert_id.clone()),
                ("alert_type", "call_error".into()),
                ("provider", "salpre".into())
            ]
        );
    }

    #[test]
    fn an_oversize_detail_is_cut_to_fit_and_says_how_much() {
        // Multi-byte characters and characters JSON escapes, past the limit.
        let detail = "é\"\n".repeat(120_000);
        let full = Outgoing::for_alert(&alert(Some(detail.clone())));
        assert!(full.body.len() > MAX_BODY_BYTES);
        let fitted = full.fitted(MAX_BODY_BYTES);
        assert!(fitted.body.len() <= MAX_BODY_BYTES, "{}", fitted.body.len());
        let body: Value = serde_json::from_str(&fitted.body).unwrap();
        let kept = body["detail"].as_str().unwrap();
        assert!(detail.starts_with(kept));
        assert!(kept.len() > 100_000, "cut no more than needed");
        let cut = body["truncated"]["detail"].as_u64().unwrap();
        assert_eq!(kept.len() as u64 + cut, detail.len() as u64);
        assert_eq!(fitted.cut_bytes(), cut);
        assert_eq!(body["alert_id"], full.alert_id);
        assert_eq!(body["caller_name"], "John Doe", "only the detail was cut");
        assert_eq!(fitted.subject, full.subject);
    }

    #[test]
    fn other_free_text_is_cut_when_the_detail_is_not_enough() {
        let mut big = alert(Some("short".into()));
        big.caller_name = Some("x".repeat(300_000));
        let fitted = Outgoing::for_alert(&big).fitted(MAX_BODY_BYTES);
        assert!(fitted.body.len() <= MAX_BODY_BYTES);
        let body: Value = serde_json::from_str(&fitted.body).unwrap();
        assert_eq!(body["detail"], "", "the detail went first");
        assert_eq!(body["truncated"]["detail"], 5);
        assert!(body["truncated"]["caller_name"].as_u64().unwrap() > 50_000);
    }

    #[test]
    fn a_replay_says_so_and_keeps_the_id() {
        let message = Outgoing::for_alert(&alert(None));
        let replay = Outgoing::replay(&message.alert_id, &message.subject, &message.body).unwrap();
        let body: Value = serde_json::from_str(&replay.body).unwrap();
        assert_eq!(body["replayed"], true);
        assert_eq!(body["alert_id"], message.alert_id);
        assert_eq!(replay.attributes(), message.attributes());
        assert!(Outgoing::replay("x", "s", "not json").is_err());
    }

    #[test]
    fn empty_attribute_values_are_left_out() {
        let mut odd = alert(None);
        odd.provider = String::new();
        let names: Vec<&str> = Outgoing::for_alert(&odd)
            .attributes()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["alert_id", "alert_type"]);
    }

    #[test]
    fn the_dead_letter_holds_the_whole_message_as_json() {
        let message = Outgoing::for_alert(&alert(Some("SIP 503".into())));
        let key = LedgerKey {
            pk: "ALERTS#2026-11-23".into(),
            sk: "2026-11-23T15:51:22.000Z#id".into(),
        };
        let letter: Value =
            serde_json::from_str(&dead_letter_body(&message, &key, 3, &"e".repeat(5000))).unwrap();
        assert_eq!(letter["kind"], "alert_not_published");
        assert_eq!(letter["alert_id"], message.alert_id);
        assert_eq!(letter["ledger"]["PK"], "ALERTS#2026-11-23");
        assert_eq!(letter["attempts"], 3);
        assert_eq!(letter["error"].as_str().unwrap().len(), 1000);
        assert_eq!(letter["subject"], message.subject);
        assert_eq!(letter["message_attributes"]["alert_type"], "call_error");
        assert_eq!(
            letter["message"],
            serde_json::from_str::<Value>(&message.body).unwrap()
        );
    }
}
