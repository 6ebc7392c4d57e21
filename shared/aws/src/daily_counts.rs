//! Per-day counters kept from the table's stream, for the console's
//! overview: how many calls, answered, missed, failed and incomplete, the
//! time to answer, SMS received, sent and failed, and alerts raised, per UTC
//! day, provider and our number. The overview reads these few items instead
//! of every call, so what it reads does not grow with the number of calls.
//!
//! The counters follow the state of each summary rather than its events: a
//! stream record whose old and new images put a call in different outcomes
//! takes one from the old outcome and adds one to the new (a missed call
//! answered late moves from `missed` to `answered`). A batch's increments
//! are summed per counter item ([`aggregate`]) and written as one `ADD` each
//! (`Store::add_daily_counts`).

use crate::alerts::Image;
use crate::event::Direction;
use crate::store::records::{CallSummary, SmsSummary};
use crate::store::{keys, plan::Item};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A call's outcome as the console shows and filters it. `Incomplete` is a
/// call whose closing event never came (flagged on the summary as
/// `incomplete_at`); it is never set by this crate's writes yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallOutcome {
    Answered,
    Missed,
    Failed,
    Incomplete,
    /// Nothing final yet (ringing, or an outbound call not answered).
    Open,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 5] = [
        CallOutcome::Answered,
        CallOutcome::Missed,
        CallOutcome::Failed,
        CallOutcome::Incomplete,
        CallOutcome::Open,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Missed => "missed",
            CallOutcome::Failed => "failed",
            CallOutcome::Incomplete => "incomplete",
            CallOutcome::Open => "open",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// The outcome of a summary; `incomplete_at` is the summary's attribute
    /// of that name, if any. Failed wins, then missed, then answered (a
    /// missed call is one nobody answered), then incomplete.
    pub fn of(summary: &CallSummary, incomplete_at: Option<&str>) -> Self {
        if summary.failed_at.is_some() {
            CallOutcome::Failed
        } else if summary.is_missed() {
            CallOutcome::Missed
        } else if summary.answered_at.is_some() {
            CallOutcome::Answered
        } else if incomplete_at.is_some() {
            CallOutcome::Incomplete
        } else {
            CallOutcome::Open
        }
    }

    /// The counter attribute of this outcome, `None` for open calls.
    fn counter(self) -> Option<&'static str> {
        match self {
            CallOutcome::Open => None,
            other => Some(other.as_str()),
        }
    }
}

/// The attribute holding `incomplete_at` on a call summary.
pub const INCOMPLETE_AT: &str = "incomplete_at";

/// Upper bounds (seconds) of the time-to-answer histogram's buckets; the
/// last bucket (`tta_over`) holds the rest. Median and p95 are read from it
/// as the bucket's upper bound, so they are exact to a bucket.
pub const ANSWER_BUCKETS: [u32; 12] = [2, 4, 6, 8, 10, 15, 20, 30, 45, 60, 90, 120];

/// The histogram attribute of an answer after `seconds`.
pub fn answer_bucket(seconds: f64) -> String {
    match ANSWER_BUCKETS.iter().find(|&&b| seconds <= f64::from(b)) {
        Some(bound) => format!("tta_le_{bound:03}"),
        None => "tta_over".into(),
    }
}

/// The attribute counting missed calls that came in at `hour` (UTC) of the day.
pub fn missed_hour_attr(hour: u8) -> String {
    format!("missed_h{hour:02}")
}

/// Which counter item a summary counts in: its UTC day (of `first_seen_at`,
/// the day index's day), provider and our number (the `to` of an inbound
/// conversation, the `from` of an outbound one).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CounterKey {
    pub day: String,
    pub provider: String,
    pub number: String,
}

impl CounterKey {
    pub fn pk(&self) -> String {
        keys::daily_counts_pk(&self.day)
    }

    pub fn sk(&self) -> String {
        keys::daily_counts_sk(&self.day, &self.provider, &self.number)
    }
}

/// Increments per counter attribute.
pub type Increments = BTreeMap<String, i64>;

#[derive(Default, Deserialize)]
struct Kind {
    #[serde(default, rename = "SK")]
    sk: Option<String>,
    #[serde(default)]
    item_type: Option<String>,
    #[serde(default)]
    is_test: bool,
    #[serde(default)]
    incomplete_at: Option<String>,
}

#[derive(Deserialize)]
struct AlertItem {
    provider: String,
    alert_type: String,
    occurred_at: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

fn read<T: serde::de::DeserializeOwned>(image: &Image) -> Option<T> {
    if image.is_empty() {
        return None;
    }
    serde_dynamo::from_item(image.clone()).ok()
}

fn our_number(direction: Option<Direction>, from: &Option<String>, to: &Option<String>) -> String {
    let ours = match direction {
        Some(Direction::Outbound) => from,
        _ => to,
    };
    ours.clone().unwrap_or_else(|| "unknown".into())
}

fn day_of(key: &str) -> String {
    key.get(..10).unwrap_or(key).to_string()
}

fn bump(increments: &mut Increments, attr: impl Into<String>, by: i64) {
    *increments.entry(attr.into()).or_default() += by;
}

fn seconds_between(earlier: &str, later: &str) -> Option<f64> {
    let a: jiff::Timestamp = earlier.parse().ok()?;
    let b: jiff::Timestamp = later.parse().ok()?;
    Some(b.duration_since(a).as_secs_f64().max(0.0))
}

fn utc_hour(key: &str) -> Option<u8> {
    key.get(11..13)?.parse().ok()
}

/// What one stream record adds to the counters: `None` when it counts in
/// none (events, guards, test calls, removals, unreadable images; the
/// alerts function deals with what it cannot read).
pub fn increments_for_record(
    event_name: &str,
    old: &Image,
    new: &Image,
) -> Option<(CounterKey, Increments)> {
    if !matches!(event_name, "INSERT" | "MODIFY") {
        return None;
    }
    let kind: Kind = read(new)?;
    if kind.is_test {
        return None;
    }
    match kind.item_type.as_deref() {
        Some("call") if kind.sk.as_deref() == Some(keys::SUMMARY_SK) => {
            let new_summary: CallSummary = read(new)?;
            let old_summary: Option<CallSummary> = read(old);
            let old_kind: Kind = read(old).unwrap_or_default();
            Some(call_increments(
                old_summary
                    .as_ref()
                    .map(|s| (s, old_kind.incomplete_at.as_deref())),
                (&new_summary, kind.incomplete_at.as_deref()),
            ))
        }
        Some("sms") if kind.sk.as_deref() == Some(keys::SUMMARY_SK) => {
            let new_summary: SmsSummary = read(new)?;
            let old_summary: Option<SmsSummary> = read(old);
            Some(sms_increments(old_summary.as_ref(), &new_summary))
        }
        Some(keys::ALERT_ITEM_TYPE) if event_name == "INSERT" => {
            let alert: AlertItem = read(new)?;
            // Failed SMS are outbound: our number is the sender.
            let number = if alert.alert_type == "sms_failed" {
                alert.from
            } else {
                alert.to
            };
            let key = CounterKey {
                day: day_of(&alert.occurred_at),
                provider: alert.provider,
                number: number.unwrap_or_else(|| "unknown".into()),
            };
            Some((key, Increments::from([("alerts".to_string(), 1)])))
        }
        _ => None,
    }
}

fn call_increments(
    old: Option<(&CallSummary, Option<&str>)>,
    (new, new_incomplete): (&CallSummary, Option<&str>),
) -> (CounterKey, Increments) {
    let key = CounterKey {
        day: day_of(&new.first_seen_at),
        provider: new.provider.clone(),
        number: our_number(new.direction, &new.from, &new.to),
    };
    let mut increments = Increments::new();
    if old.is_none() {
        bump(&mut increments, "calls", 1);
    }
    let before = old.map(|(s, inc)| CallOutcome::of(s, inc));
    let after = CallOutcome::of(new, new_incomplete);
    if before != Some(after) {
        if let Some(attr) = before.and_then(CallOutcome::counter) {
            bump(&mut increments, attr, -1);
        }
        if let Some(attr) = after.counter() {
            bump(&mut increments, attr, 1);
        }
        let hour = utc_hour(&new.first_seen_at).map(missed_hour_attr);
        if let Some(hour) = hour {
            if before == Some(CallOutcome::Missed) {
                bump(&mut increments, hour.clone(), -1);
            }
            if after == CallOutcome::Missed {
                bump(&mut increments, hour, 1);
            }
        }
    }
    // Time to answer counts once, when the call is first answered.
    let was_answered = old.is_some_and(|(s, _)| s.answered_at.is_some());
    if let (false, Some(answered)) = (was_answered, new.answered_at.as_deref()) {
        let start = new
            .ringing_at
            .as_deref()
            .or(new.initiated_at.as_deref())
            .unwrap_or(&new.first_seen_at);
        if let Some(seconds) = seconds_between(start, answered) {
            bump(&mut increments, answer_bucket(seconds), 1);
        }
    }
    increments.retain(|_, v| *v != 0);
    (key, increments)
}

fn sms_increments(old: Option<&SmsSummary>, new: &SmsSummary) -> (CounterKey, Increments) {
    let key = CounterKey {
        day: day_of(&new.first_seen_at),
        provider: new.provider.clone(),
        number: our_number(new.direction, &new.from, &new.to),
    };
    let mut increments = Increments::new();
    if old.is_none() {
        match new.direction {
            Some(Direction::Outbound) => bump(&mut increments, "sms_sent", 1),
            _ => bump(&mut increments, "sms_received", 1),
        }
    }
    if new.failed_at.is_some() && old.is_none_or(|o| o.failed_at.is_none()) {
        bump(&mut increments, "sms_failed", 1);
    }
    (key, increments)
}

/// A batch's increments summed per counter item, items with nothing to add
/// left out: one write per item however many records touched it.
pub fn aggregate(
    records: impl IntoIterator<Item = (CounterKey, Increments)>,
) -> BTreeMap<CounterKey, Increments> {
    let mut out: BTreeMap<CounterKey, Increments> = BTreeMap::new();
    for (key, increments) in records {
        let entry = out.entry(key).or_default();
        for (attr, by) in increments {
            bump(entry, attr, by);
        }
    }
    for increments in out.values_mut() {
        increments.retain(|_, v| *v != 0);
    }
    out.retain(|_, increments| !increments.is_empty());
    out
}

/// One counter item as read back: its key and every counter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DailyCounts {
    pub day: String,
    pub provider: String,
    pub number: String,
    pub counts: BTreeMap<String, i64>,
    /// The item's size by DynamoDB's rules (what reading it costs).
    pub bytes: usize,
}

impl DailyCounts {
    pub fn from_item(item: &Item) -> Option<Self> {
        let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
        let mut counts = BTreeMap::new();
        for (name, value) in item {
            if let Ok(n) = value.as_n() {
                if let Ok(n) = n.parse::<i64>() {
                    counts.insert(name.clone(), n);
                }
            }
        }
        Some(DailyCounts {
            day: text("day")?,
            provider: text("provider")?,
            number: text("number")?,
            counts,
            bytes: crate::store::plan::item_bytes(item),
        })
    }

    pub fn get(&self, name: &str) -> i64 {
        self.counts.get(name).copied().unwrap_or(0)
    }
}

/// Summed counters over many items.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals(pub BTreeMap<String, i64>);

impl Totals {
    pub fn add(&mut self, counts: &DailyCounts) {
        for (name, n) in &counts.counts {
            *self.0.entry(name.clone()).or_default() += n;
        }
    }

    pub fn get(&self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0).max(0)
    }

    /// `part` of the calls, in percent (`None` without calls).
    pub fn rate(&self, part: &str) -> Option<f64> {
        let calls = self.get("calls");
        (calls > 0).then(|| 100.0 * self.get(part) as f64 / calls as f64)
    }

    /// The time to answer at quantile `q` (0..1), as its bucket's upper
    /// bound in seconds (`None`: no answered call; `f64::INFINITY`: over
    /// the last bound).
    pub fn answer_quantile(&self, q: f64) -> Option<f64> {
        let mut buckets: Vec<(f64, i64)> = ANSWER_BUCKETS
            .iter()
            .map(|&b| (f64::from(b), self.get(&answer_bucket(f64::from(b)))))
            .collect();
        buckets.push((f64::INFINITY, self.get("tta_over")));
        let total: i64 = buckets.iter().map(|(_, n)| n).sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as i64;
        let mut seen = 0;
        for (bound, n) in buckets {
            seen += n;
            if seen >= rank {
                return Some(bound);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(value: serde_json::Value) -> Image {
        serde_dynamo::to_item(value).unwrap()
    }

    fn call(extra: serde_json::Value) -> Image {
        let mut base = json!({
            "PK": "CALL#zonitel#c1", "SK": "SUMMARY", "item_type": "call",
            "provider": "zonitel", "call_id": "c1", "direction": "inbound",
            "from": "+14155552671", "to": "+18339664835",
            "first_seen_at": "2026-12-07T09:15:00.000Z",
        });
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        image(base)
    }

    fn empty() -> Image {
        Image::default()
    }

    #[test]
    fn a_new_call_counts_once_on_its_day_provider_and_our_number() {
        let (key, inc) = increments_for_record("INSERT", &empty(), &call(json!({}))).unwrap();
        assert_eq!(key.day, "2026-12-07");
        assert_eq!(key.provider, "zonitel");
        assert_eq!(key.number, "+18339664835");
        assert_eq!(inc, Increments::from([("calls".into(), 1)]));
    }

    #[test]
    fn a_missed_call_answered_late_moves_between_outcomes() {
        let ringing = call(json!({"ringing_at": "2026-12-07T09:15:00.000Z"}));
        let missed = call(json!({"ringing_at": "2026-12-07T09:15:00.000Z",
            "unanswered_at": "2026-12-07T09:15:30.000Z"}));
        let (_, inc) = increments_for_record("MODIFY", &ringing, &missed).unwrap();
        assert_eq!(
            inc,
            Increments::from([("missed".into(), 1), ("missed_h09".into(), 1)])
        );
        let answered = call(json!({"ringing_at": "2026-12-07T09:15:00.000Z",
            "unanswered_at": "2026-12-07T09:15:30.000Z",
            "answered_at": "2026-12-07T09:15:07.000Z"}));
        let (_, inc) = increments_for_record("MODIFY", &missed, &answered).unwrap();
        assert_eq!(
            inc,
            Increments::from([
                ("missed".into(), -1),
                ("missed_h09".into(), -1),
                ("answered".into(), 1),
                ("tta_le_008".into(), 1),
            ])
        );
        // The same images again change nothing.
        let (_, inc) = increments_for_record("MODIFY", &answered, &answered).unwrap();
        assert!(inc.is_empty());
    }

    #[test]
    fn incomplete_failed_and_test_calls() {
        let open = call(json!({}));
        let incomplete = call(json!({"incomplete_at": "2026-12-07T10:00:00.000Z"}));
        let (_, inc) = increments_for_record("MODIFY", &open, &incomplete).unwrap();
        assert_eq!(inc, Increments::from([("incomplete".into(), 1)]));
        let failed = call(json!({"failed_at": "2026-12-07T10:00:00.000Z"}));
        let (_, inc) = increments_for_record("MODIFY", &open, &failed).unwrap();
        assert_eq!(inc, Increments::from([("failed".into(), 1)]));
        let test = call(json!({"is_test": true}));
        assert!(increments_for_record("INSERT", &empty(), &test).is_none());
        assert!(increments_for_record("REMOVE", &open, &empty()).is_none());
    }

    #[test]
    fn sms_and_alerts_count_on_their_own_lines() {
        let sms = |extra: serde_json::Value| {
            let mut v = json!({"PK": "SMS#zonitel#m1", "SK": "SUMMARY", "item_type": "sms",
                "provider": "zonitel", "message_id": "m1", "direction": "outbound",
                "from": "+18339664835", "to": "+14155552671",
                "first_seen_at": "2026-12-07T09:15:00.000Z"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            image(v)
        };
        let (key, inc) = increments_for_record("INSERT", &empty(), &sms(json!({}))).unwrap();
        assert_eq!(key.number, "+18339664835");
        assert_eq!(inc, Increments::from([("sms_sent".into(), 1)]));
        let failed = sms(json!({"failed_at": "2026-12-07T09:16:00.000Z"}));
        let (_, inc) = increments_for_record("MODIFY", &sms(json!({})), &failed).unwrap();
        assert_eq!(inc, Increments::from([("sms_failed".into(), 1)]));
        let alert = image(
            json!({"PK": "ALERTS#2026-12-07", "SK": "x", "item_type": "alert",
            "provider": "salpre", "alert_type": "missed_call", "occurred_at": "2026-12-07T09:15:30.000Z",
            "to": "+18339664835"}),
        );
        let (key, inc) = increments_for_record("INSERT", &empty(), &alert).unwrap();
        assert_eq!(
            (key.provider.as_str(), key.number.as_str()),
            ("salpre", "+18339664835")
        );
        assert_eq!(inc, Increments::from([("alerts".into(), 1)]));
        assert!(increments_for_record("MODIFY", &alert, &alert).is_none());
    }

    #[test]
    fn a_batch_sums_per_item_and_drops_what_cancels_out() {
        let key = |n: &str| CounterKey {
            day: "2026-12-07".into(),
            provider: "zonitel".into(),
            number: n.into(),
        };
        let out = aggregate([
            (key("a"), Increments::from([("calls".into(), 1)])),
            (
                key("a"),
                Increments::from([("calls".into(), 1), ("missed".into(), 1)]),
            ),
            (key("b"), Increments::from([("missed".into(), 1)])),
            (key("b"), Increments::from([("missed".into(), -1)])),
        ]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[&key("a")],
            Increments::from([("calls".into(), 2), ("missed".into(), 1)])
        );
    }

    #[test]
    fn quantiles_come_from_the_histogram() {
        let mut totals = Totals::default();
        totals.0.insert("tta_le_002".into(), 50);
        totals.0.insert("tta_le_010".into(), 45);
        totals.0.insert("tta_over".into(), 5);
        assert_eq!(totals.answer_quantile(0.5), Some(2.0));
        assert_eq!(totals.answer_quantile(0.95), Some(10.0));
        assert_eq!(totals.answer_quantile(0.99), Some(f64::INFINITY));
        assert_eq!(Totals::default().answer_quantile(0.5), None);
        assert_eq!(answer_bucket(121.0), "tta_over");
        assert_eq!(answer_bucket(0.5), "tta_le_002");
    }
}
