//! `calls list`, `calls show`, `sms show`: what came in, read through the
//! store's access patterns (3, 1 and 2, 4) and shown as tables in local
//! time, or as JSON for scripts.

use crate::table::{fields, paint, Table, Tone};
use crate::{CliError, Context};
use callhooks::event::{CallStatus, Provider, SmsStatus};
use callhooks::phone::PhoneNumber;
use callhooks::providers::salpre;
use callhooks::store::operator::TimelineEntry;
use callhooks::store::plan::Item;
use callhooks::store::{CallSummary, SmsRecord, SmsSummary, Store, StoreError};
use callhooks::time::{self, Timestamp};
use jiff::tz::TimeZone;
use jiff::{civil, Span};
use serde_json::{json, Value};

fn storage(e: StoreError) -> CliError {
    CliError::Storage(e.to_string())
}

/// `--since`: an RFC 3339 moment (`2026-11-23T09:00:00-08:00`), a local
/// date (`2026-11-23`, from midnight in the local time zone) or how long
/// ago (`90m`, `2h`, `7d`, `1w`; days are calendar days in that zone).
pub fn parse_since(input: &str, now: Timestamp, tz: &TimeZone) -> Result<Timestamp, SinceError> {
    let input = input.trim();
    if let Ok(at) = input.parse::<Timestamp>() {
        return Ok(at);
    }
    let out_of_range = |error: jiff::Error| SinceError::OutOfRange {
        input: input.to_string(),
        error,
    };
    if let Ok(date) = input.parse::<civil::Date>() {
        return date
            .to_zoned(tz.clone())
            .map(|z| z.timestamp())
            .map_err(out_of_range);
    }
    if let Ok(span) = input.parse::<Span>() {
        let span = span.abs();
        return now
            .to_zoned(tz.clone())
            .checked_sub(span)
            .map(|z| z.timestamp())
            .map_err(out_of_range);
    }
    Err(SinceError::NotATime(input.to_string()))
}

/// A `--since` (or `--until`) that names no moment.
#[derive(Debug, thiserror::Error)]
pub enum SinceError {
    #[error("--since {0:?}: not a time; give an RFC 3339 moment (2026-11-23T09:00:00Z), a date (2026-11-23) or how long ago (90m, 2h, 7d)")]
    NotATime(String),
    /// A date or span whose moment jiff cannot represent.
    #[error("--since {input}: {error}")]
    OutOfRange { input: String, error: jiff::Error },
}

impl From<SinceError> for CliError {
    fn from(error: SinceError) -> Self {
        CliError::Invalid(error.to_string())
    }
}

/// A stored moment (`2026-11-23T15:51:22.123Z`) in the local time zone.
pub fn local_time(key: &str, tz: &TimeZone) -> String {
    match key.parse::<Timestamp>() {
        Ok(at) => at
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => key.to_string(),
    }
}

fn call_status(summary: &CallSummary) -> (String, Tone) {
    if summary.is_missed() {
        return ("missed".into(), Tone::Bad);
    }
    let status = summary.status();
    if status != CallStatus::Failed && summary.lifecycle.is_incomplete() {
        return (incomplete_status(&summary.lifecycle), Tone::Bad);
    }
    let tone = match status {
        CallStatus::Failed => Tone::Bad,
        CallStatus::Answered => Tone::Good,
        CallStatus::Ended if summary.answered_at.is_some() => Tone::Good,
        CallStatus::Ringing | CallStatus::Initiated => Tone::Warn,
        CallStatus::Ended => Tone::Plain,
    };
    let text = match (
        status,
        summary.answered_at.is_some(),
        summary.unanswered_at.is_some(),
    ) {
        (CallStatus::Ended, true, _) => "ended (answered)".to_string(),
        (CallStatus::Ended, false, true) => "ended (unanswered)".to_string(),
        (s, _, _) => s.as_str().to_string(),
    };
    (text, tone)
}

/// `incomplete (missing call_ended)`.
fn incomplete_status(lifecycle: &callhooks::store::LifecycleState) -> String {
    format!("incomplete (missing {})", lifecycle.missing.join(", "))
}

/// What `calls show` and `sms show` say of a flagged lifecycle: what is
/// missing and since when, or how late its closing event came.
fn lifecycle_lines(
    lifecycle: &callhooks::store::LifecycleState,
    tz: &TimeZone,
) -> Vec<(&'static str, String, Tone)> {
    let Some(flagged) = lifecycle.incomplete_at.as_deref() else {
        return Vec::new();
    };
    let since = lifecycle
        .incomplete_due_at
        .as_deref()
        .map(|k| local_time(k, tz))
        .unwrap_or_else(|| "?".into());
    let flagged = local_time(flagged, tz);
    match lifecycle.closed_late_by() {
        None => vec![(
            "incomplete",
            format!(
                "missing {} since {since} (its wait ran out; flagged {flagged})",
                lifecycle.missing.join(", ")
            ),
            Tone::Bad,
        )],
        Some(late) => vec![(
            "completed late",
            format!(
                "{} after its wait ran out at {since} (flagged incomplete {flagged})",
                late_text(late)
            ),
            Tone::Warn,
        )],
    }
}

/// `4m 30s`, `2h 5m`, `12s`.
fn late_text(late: jiff::SignedDuration) -> String {
    let seconds = late.as_secs().max(0);
    match (seconds / 3600, (seconds % 3600) / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s}s"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

fn sms_status(summary: &SmsSummary) -> (String, Tone) {
    if summary.status() != Some(SmsStatus::Failed)
        && summary.status() != Some(SmsStatus::Delivered)
        && summary.lifecycle.is_incomplete()
    {
        return (
            format!("stuck (missing {})", summary.lifecycle.missing.join(", ")),
            Tone::Bad,
        );
    }
    match summary.status() {
        Some(SmsStatus::Failed) => ("failed".into(), Tone::Bad),
        Some(SmsStatus::Delivered) => ("delivered".into(), Tone::Good),
        Some(s) => (s.as_str().to_string(), Tone::Plain),
        None => ("unknown".into(), Tone::Warn),
    }
}

fn or_dash(value: Option<&str>) -> String {
    value.filter(|v| !v.is_empty()).unwrap_or("-").to_string()
}

fn call_json(summary: &CallSummary) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or(Value::Null);
    value["status"] = json!(summary.status().as_str());
    value["missed"] = json!(summary.is_missed());
    value["incomplete"] = json!(summary.lifecycle.is_incomplete());
    if let Some(late) = summary.lifecycle.closed_late_by() {
        value["closed_late_by_seconds"] = json!(late.as_secs());
    }
    value
}

fn sms_json(summary: &SmsSummary) -> Value {
    let mut value = serde_json::to_value(summary).unwrap_or(Value::Null);
    value["status"] = json!(summary.status().map(|s| s.as_str()));
    value
}

/// `calls list --number N [--since S] [--limit L]`.
pub async fn list(
    store: &Store,
    number: &PhoneNumber,
    since: Option<Timestamp>,
    page: Page,
    context: &Context,
) -> Result<String, CliError> {
    let limit = page.limit;
    let since_key = since.map(time::to_key);
    let entries = store
        .timeline_window(number, since_key.as_deref(), page.until.as_deref(), limit)
        .await
        .map_err(storage)?;
    render_list(
        &entries,
        &format!("calls or messages from or to {number}"),
        since_key,
        limit,
        context,
    )
}

/// One page of a list: at most `limit` entries, all before `until` (a
/// [`time::to_key`] moment) when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub until: Option<String>,
}

/// `--until`: a moment as `--since` takes them (a date, an RFC 3339
/// moment, or a duration back from now), as a [`time::to_key`] key.
pub fn parse_until(until: Option<&str>, context: &Context) -> Result<Option<String>, CliError> {
    until
        .map(|u| parse_since(u, context.now, &context.tz).map(time::to_key))
        .transpose()
        .map_err(CliError::from)
}

/// What a full page says at its end: the `--until` of the next older page,
/// the oldest moment shown (`--until` excludes that millisecond: two
/// entries first seen in the very same millisecond across a page boundary
/// would skip the second). Nothing in JSON: a script pages with the last
/// entry's own moment.
pub fn older_page_hint(oldest_shown: Option<&str>, context: &Context) -> String {
    match oldest_shown {
        Some(moment) if !context.json => {
            format!("\n(older ones: the same command with --until {moment})")
        }
        _ => String::new(),
    }
}

/// A list of calls and messages as `calls list` shows it; `subject` says
/// what was asked for (`calls or messages from or to +1...`).
pub fn render_list(
    entries: &[TimelineEntry],
    subject: &str,
    since_key: Option<String>,
    limit: usize,
    context: &Context,
) -> Result<String, CliError> {
    if context.json {
        let list: Vec<Value> = entries
            .iter()
            .map(|entry| match entry {
                TimelineEntry::Call(c) => {
                    let mut v = call_json(c);
                    v["channel"] = json!("call");
                    v
                }
                TimelineEntry::Sms(m) => {
                    let mut v = sms_json(m);
                    v["channel"] = json!("sms");
                    v
                }
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&list).unwrap_or_default());
    }
    if entries.is_empty() {
        let since = since_key
            .map(|k| format!(" since {}", local_time(&k, &context.tz)))
            .unwrap_or_default();
        return Ok(format!(
            "no {subject}{since} (webhooks record them as they come: see `callhooks urls`)"
        ));
    }
    let mut table = Table::new(&[
        "FIRST SEEN",
        "WHAT",
        "PROVIDER",
        "DIRECTION",
        "FROM",
        "TO",
        "NAME",
        "STATUS",
        "ID",
    ]);
    for entry in entries {
        let row = match entry {
            TimelineEntry::Call(c) => {
                let status = call_status(c);
                vec![
                    (local_time(&c.first_seen_at, &context.tz), Tone::Plain),
                    (
                        if c.is_test { "call (test)" } else { "call" }.into(),
                        Tone::Plain,
                    ),
                    (c.provider.clone(), Tone::Plain),
                    (or_dash(c.direction.map(|d| d.as_str())), Tone::Plain),
                    (or_dash(c.from.as_deref()), Tone::Plain),
                    (or_dash(c.to.as_deref()), Tone::Plain),
                    (or_dash(c.caller_name.as_deref()), Tone::Plain),
                    status,
                    (c.call_id.clone(), Tone::Dim),
                ]
            }
            TimelineEntry::Sms(m) => vec![
                (local_time(&m.first_seen_at, &context.tz), Tone::Plain),
                (
                    if m.is_test { "sms (test)" } else { "sms" }.into(),
                    Tone::Plain,
                ),
                (m.provider.clone(), Tone::Plain),
                (or_dash(m.direction.map(|d| d.as_str())), Tone::Plain),
                (or_dash(m.from.as_deref()), Tone::Plain),
                (or_dash(m.to.as_deref()), Tone::Plain),
                ("-".into(), Tone::Plain),
                sms_status(m),
                (m.message_id.clone(), Tone::Dim),
            ],
        };
        table.row(row);
    }
    let mut out = table.render(context.color);
    if entries.len() == limit {
        let oldest = entries.last().map_or("", TimelineEntry::first_seen_at);
        out.push_str(&paint(
            &format!(
                "(the {limit} most recent; older ones: the same command with --until {oldest})\n"
            ),
            Tone::Dim,
            context.color,
        ));
    }
    Ok(out.trim_end().to_string())
}

fn text_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

fn number_attr(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_n().ok()).cloned()
}

/// What one event says, in a few words (the attributes the providers set).
fn event_detail(event: &Item) -> String {
    let mut parts = Vec::new();
    if let Some(hook) = text_attr(event, "hook") {
        parts.push(format!("hook {hook}"));
    }
    if let Some(status) = text_attr(event, "status") {
        parts.push(format!("status {status}"));
    }
    if let Some(dial) = text_attr(event, "dial_call_status") {
        parts.push(format!("dial {dial}"));
    }
    if let Some(text) = text_attr(event, "text") {
        let speaker = text_attr(event, "speaker").unwrap_or("?");
        parts.push(format!("{speaker}: {text}"));
    }
    if let Some(message) = text_attr(event, "error_message") {
        parts.push(format!("error: {message}"));
    }
    if let Some(url) = text_attr(event, "recording_url") {
        parts.push(format!("recording {url}"));
    }
    if let Some(turns) = number_attr(event, "transcript_turns") {
        parts.push(format!("final transcript, {turns} turns"));
    }
    parts.join("; ")
}

/// The turns of a call's transcript: Salpre's list of turns, or Retell's
/// text of `Speaker: words` lines.
fn transcript_turns(final_transcript: &str) -> Vec<(Option<String>, String, Option<String>)> {
    if let Ok(text) = serde_json::from_str::<String>(final_transcript) {
        return text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| match line.split_once(": ") {
                Some((speaker, said)) if !speaker.contains(' ') || speaker.len() <= 16 => {
                    (Some(speaker.to_string()), said.to_string(), None)
                }
                _ => (None, line.to_string(), None),
            })
            .collect();
    }
    let turns: Vec<Value> = serde_json::from_str(final_transcript).unwrap_or_default();
    turns
        .iter()
        .map(|t| {
            let text = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
            (
                text("type"),
                text("message").unwrap_or_default(),
                text("utc_timestamp").or_else(|| t.get("utc_timestamp").map(|v| v.to_string())),
            )
        })
        .collect()
}

fn unix_local(seconds: &str, tz: &TimeZone) -> String {
    seconds
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(time::from_unix_seconds)
        .map(|at| local_time(&time::to_key(at), tz))
        .unwrap_or_else(|| "-".into())
}

/// What Retell's call events add to a call summary (text attributes), and
/// their labels in `calls show`.
const RETELL_TEXT_FIELDS: [(&str, &str); 9] = [
    ("retell_call_id", "retell call"),
    ("rejected_by", "rejected by"),
    ("disconnection_reason", "disconnected"),
    ("transfer_destination", "transferred to"),
    ("missed_detail", "missed"),
    ("call_summary", "summary"),
    ("user_sentiment", "sentiment"),
    ("custom_analysis", "analysis"),
    ("retell_agent_id", "agent"),
];

/// Retell's numbers and flags for `calls show --json`; its custom analysis
/// as the JSON it is.
fn retell_outcome_json(item: &Item, summary: &mut Value) {
    if let Some(ms) = number_attr(item, "duration_ms").and_then(|n| n.parse::<i64>().ok()) {
        summary["duration_ms"] = json!(ms);
    }
    for name in ["call_successful", "in_voicemail"] {
        if let Some(value) = item.get(name).and_then(|v| v.as_bool().ok()) {
            summary[name] = json!(value);
        }
    }
    if let Some(parsed) =
        text_attr(item, "custom_analysis").and_then(|t| serde_json::from_str::<Value>(t).ok())
    {
        summary["custom_analysis"] = parsed;
    }
}

/// `calls show PROVIDER CALL_ID`: summary (pattern 2), every event in order
/// (pattern 1) and the transcript: Salpre's final one when the call ended,
/// else the live lines seen so far.
pub async fn show_call(
    store: &Store,
    provider: Provider,
    call_id: &str,
    context: &Context,
) -> Result<String, CliError> {
    let (item, events, final_transcript) = tokio::join!(
        store.call_summary_item(provider, call_id),
        store.conversation_events(callhooks::event::Channel::Call, provider, call_id),
        store.final_transcript(provider, call_id)
    );
    let Some(item) = item.map_err(storage)? else {
        return Err(CliError::Failure(format!(
            "no {provider} call {call_id} in the table: check the id in `callhooks calls list --number <E164>`"
        )));
    };
    let summary = CallSummary::from_item(&item).map_err(|e| storage(e.into()))?;
    let events = events.map_err(storage)?;
    // A final transcript that cannot be read is said, not fatal: the rest of
    // the call is still worth seeing.
    let (final_transcript, transcript_error) = match final_transcript {
        Ok(t) => (t, None),
        Err(e) => (None, Some(e.to_string())),
    };
    let live = salpre::live_transcript(&events);
    if context.json {
        let events_json: Vec<Value> = events
            .iter()
            .map(|e| {
                let mut v = json!({
                    "occurred_at": text_attr(e, "occurred_at"),
                    "received_at": text_attr(e, "received_at"),
                    "kind": text_attr(e, "kind"),
                    "detail": event_detail(e),
                });
                if let Some(raw) = text_attr(e, "raw") {
                    v["raw"] = json!(raw);
                }
                v
            })
            .collect();
        let mut summary_json = call_json(&summary);
        for extra in [
            "recording_url",
            "recording_status",
            "dial_call_status",
            "in_progress_at",
        ]
        .into_iter()
        .chain(RETELL_TEXT_FIELDS.iter().map(|(name, _)| *name))
        {
            if let Some(value) = text_attr(&item, extra) {
                summary_json[extra] = json!(value);
            }
        }
        retell_outcome_json(&item, &mut summary_json);
        let final_json = final_transcript
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok());
        let out = json!({
            "summary": summary_json,
            "events": events_json,
            "final_transcript": final_json,
            "live_transcript": live.iter().map(|l| json!({
                "speaker": l.speaker, "text": l.text, "line_timestamp": l.line_timestamp, "occurred_at": l.occurred_at,
            })).collect::<Vec<_>>(),
            "transcript_error": transcript_error,
        });
        return Ok(serde_json::to_string_pretty(&out).unwrap_or_default());
    }

    let tz = &context.tz;
    let at = |v: &Option<String>| v.as_deref().map(|k| local_time(k, tz));
    let mut pairs: Vec<(&str, String, Tone)> = vec![
        (
            "call",
            format!("{} {}", summary.provider, summary.call_id),
            Tone::Plain,
        ),
        ("status", call_status(&summary).0, call_status(&summary).1),
        (
            "direction",
            or_dash(summary.direction.map(|d| d.as_str())),
            Tone::Plain,
        ),
        ("from", or_dash(summary.from.as_deref()), Tone::Plain),
        ("to", or_dash(summary.to.as_deref()), Tone::Plain),
        (
            "caller name",
            or_dash(summary.caller_name.as_deref()),
            Tone::Plain,
        ),
        (
            "first seen",
            local_time(&summary.first_seen_at, tz),
            Tone::Plain,
        ),
    ];
    let phases: [(&str, Option<String>); 7] = [
        ("initiated", at(&summary.initiated_at)),
        ("ringing", at(&summary.ringing_at)),
        (
            "in progress",
            text_attr(&item, "in_progress_at").map(|k| local_time(k, tz)),
        ),
        ("answered", at(&summary.answered_at)),
        ("unanswered", at(&summary.unanswered_at)),
        ("ended", at(&summary.ended_at)),
        ("failed", at(&summary.failed_at)),
    ];
    for (label, value) in phases {
        if let Some(value) = value {
            pairs.push((label, value, Tone::Plain));
        }
    }
    if let Some(message) = &summary.error_message {
        pairs.push(("error", message.clone(), Tone::Bad));
    }
    if let Some(url) = text_attr(&item, "recording_url") {
        let label = if summary.provider == "retell" {
            "recording"
        } else {
            "voicemail"
        };
        pairs.push((label, url.to_string(), Tone::Plain));
    }
    for (name, label) in RETELL_TEXT_FIELDS {
        if let Some(value) = text_attr(&item, name) {
            pairs.push((label, value.to_string(), Tone::Plain));
        }
    }
    if let Some(ms) = number_attr(&item, "duration_ms") {
        pairs.push(("duration", format!("{ms} ms"), Tone::Plain));
    }
    for (name, label) in [
        ("call_successful", "successful"),
        ("in_voicemail", "in voicemail"),
    ] {
        if let Some(value) = item.get(name).and_then(|v| v.as_bool().ok()) {
            let text = if *value { "yes" } else { "no" };
            pairs.push((label, text.to_string(), Tone::Plain));
        }
    }
    if let Some(source) = &summary.source {
        pairs.push(("source", source.clone(), Tone::Plain));
    }
    if summary.is_test {
        pairs.push(("test", "yes (never alerts)".into(), Tone::Warn));
    }
    pairs.extend(lifecycle_lines(&summary.lifecycle, tz));
    pairs.push(("events", summary.event_count.to_string(), Tone::Plain));
    let mut out = fields(&pairs, context.color);

    out.push('\n');
    let mut table = Table::new(&["WHEN", "EVENT", "DETAIL"]);
    for event in &events {
        table.row(vec![
            (
                text_attr(event, "occurred_at")
                    .map(|k| local_time(k, tz))
                    .unwrap_or_default(),
                Tone::Plain,
            ),
            (
                text_attr(event, "kind").unwrap_or("?").to_string(),
                Tone::Plain,
            ),
            (event_detail(event), Tone::Plain),
        ]);
    }
    out.push_str(&table.render(context.color));

    if let Some(text) = &final_transcript {
        out.push_str(&format!(
            "\n{}\n",
            paint("Transcript (final)", Tone::Header, context.color)
        ));
        let mut turns = Table::new(&["WHEN", "SPEAKER", "SAID"]);
        for (speaker, message, ts) in transcript_turns(text) {
            turns.row(vec![
                (
                    ts.map(|s| unix_local(&s, tz)).unwrap_or_else(|| "-".into()),
                    Tone::Plain,
                ),
                (speaker.unwrap_or_else(|| "?".into()), Tone::Plain),
                (message, Tone::Plain),
            ]);
        }
        out.push_str(&turns.render(context.color));
    } else if !live.is_empty() {
        out.push_str(&format!(
            "\n{}\n",
            paint(
                "Transcript (live lines; the call has not ended)",
                Tone::Header,
                context.color
            )
        ));
        let mut lines = Table::new(&["WHEN", "SPEAKER", "SAID"]);
        for line in &live {
            let when = line
                .line_timestamp
                .as_deref()
                .map(|s| unix_local(s, tz))
                .filter(|s| s != "-")
                .unwrap_or_else(|| local_time(&line.occurred_at, tz));
            lines.row(vec![
                (when, Tone::Plain),
                (
                    line.speaker.clone().unwrap_or_else(|| "?".into()),
                    Tone::Plain,
                ),
                (line.text.clone(), Tone::Plain),
            ]);
        }
        out.push_str(&lines.render(context.color));
    }
    if let Some(error) = transcript_error {
        out.push_str(&format!("\ntranscript unreadable: {error}\n"));
    }
    Ok(out.trim_end().to_string())
}

/// `sms show MESSAGE_ID [--provider P]`: summary and status history
/// (pattern 4).
pub async fn show_sms(
    store: &Store,
    provider: Provider,
    message_id: &str,
    context: &Context,
) -> Result<String, CliError> {
    let Some(SmsRecord { summary, history }) = store
        .sms_message(provider, message_id)
        .await
        .map_err(storage)?
    else {
        return Err(CliError::Failure(format!(
            "no {provider} message {message_id} in the table: check the id in `callhooks calls list --number <E164>`"
        )));
    };
    if context.json {
        let out = json!({
            "summary": sms_json(&summary),
            "history": history,
        });
        return Ok(serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    let tz = &context.tz;
    let (status, tone) = sms_status(&summary);
    let mut pairs: Vec<(&str, String, Tone)> = vec![
        (
            "message",
            format!("{} {}", summary.provider, summary.message_id),
            Tone::Plain,
        ),
        ("status", status, tone),
        (
            "direction",
            or_dash(summary.direction.map(|d| d.as_str())),
            Tone::Plain,
        ),
        ("from", or_dash(summary.from.as_deref()), Tone::Plain),
        ("to", or_dash(summary.to.as_deref()), Tone::Plain),
        (
            "first seen",
            local_time(&summary.first_seen_at, tz),
            Tone::Plain,
        ),
    ];
    if let Some(segments) = summary.segments {
        pairs.push(("segments", segments.to_string(), Tone::Plain));
    }
    if let Some(text) = &summary.message_text {
        pairs.push(("text", text.clone(), Tone::Plain));
    }
    for media in summary.medias.iter().flatten() {
        pairs.push(("media", media.clone(), Tone::Plain));
    }
    if let Some(message) = &summary.failure_message {
        pairs.push(("failure", message.clone(), Tone::Bad));
    }
    if let Some(rule) = &summary.rejected_by {
        pairs.push(("rejected by", rule.clone(), Tone::Warn));
    }
    pairs.extend(lifecycle_lines(&summary.lifecycle, &context.tz));
    let mut out = fields(&pairs, context.color);
    out.push('\n');
    let mut table = Table::new(&["WHEN", "STATUS", "MESSAGE"]);
    for entry in &history {
        let tone = match SmsStatus::parse(&entry.status) {
            Some(SmsStatus::Failed) => Tone::Bad,
            Some(SmsStatus::Delivered) => Tone::Good,
            None => Tone::Warn,
            Some(_) => Tone::Plain,
        };
        let status = if entry.known {
            entry.status.clone()
        } else {
            format!("{} (undocumented)", entry.status)
        };
        table.row(vec![
            (local_time(&entry.at, tz), Tone::Plain),
            (status, tone),
            (or_dash(entry.message.as_deref()), Tone::Plain),
        ]);
    }
    out.push_str(&table.render(context.color));
    Ok(out.trim_end().to_string())
}

/// `unrecognized list`: deliveries kept raw because they could not be read.
pub fn render_unrecognized(
    found: &[callhooks::store::operator::UnrecognizedDelivery],
    context: &Context,
) -> String {
    if context.json {
        return serde_json::to_string_pretty(found).unwrap_or_default();
    }
    if found.is_empty() {
        return "no unrecognized deliveries: every delivery kept was understood".into();
    }
    let mut table = Table::new(&["RECEIVED", "ROUTE", "BYTES", "REASON", "ID"]);
    for delivery in found {
        table.row(vec![
            (local_time(&delivery.received_at, &context.tz), Tone::Plain),
            (delivery.route.clone(), Tone::Plain),
            (delivery.body_bytes.to_string(), Tone::Plain),
            (delivery.reason.chars().take(80).collect(), Tone::Warn),
            (delivery.id.clone(), Tone::Dim),
        ]);
    }
    table.render(context.color)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_is_read_as_salpres_turns_or_retells_lines() {
        let retell =
            serde_json::to_string("Agent: Hi\nUser: A table: for four\n\nno speaker here").unwrap();
        let turns = transcript_turns(&retell);
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[0], (Some("Agent".into()), "Hi".into(), None));
        assert_eq!(
            turns[1],
            (Some("User".into()), "A table: for four".into(), None)
        );
        assert_eq!(turns[2], (None, "no speaker here".into(), None));
        let salpre = r#"[{"type":"customer","message":"Hello","utc_timestamp":"1795449080"}]"#;
        assert_eq!(
            transcript_turns(salpre),
            vec![(
                Some("customer".into()),
                "Hello".into(),
                Some("1795449080".into())
            )]
        );
    }

    #[test]
    fn since_takes_moments_dates_and_durations() {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let now: Timestamp = "2026-11-23T15:51:22Z".parse().unwrap();
        let at = |s: &str| parse_since(s, now, &tz).map(|t| t.to_string());
        assert_eq!(
            at("2026-11-23T09:00:00-08:00").unwrap(),
            "2026-11-23T17:00:00Z"
        );
        assert_eq!(at("2026-11-23").unwrap(), "2026-11-23T08:00:00Z");
        assert_eq!(at("2h").unwrap(), "2026-11-23T13:51:22Z");
        assert_eq!(at("90m").unwrap(), "2026-11-23T14:21:22Z");
        assert_eq!(at("7d").unwrap(), "2026-11-16T15:51:22Z");
        assert!(at("yesterday-ish")
            .unwrap_err()
            .to_string()
            .contains("--since"));
    }

    #[test]
    fn stored_moments_show_in_the_local_zone() {
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        assert_eq!(
            local_time("2026-11-23T15:51:22.123Z", &tz),
            "2026-11-23 07:51:22 PST"
        );
        assert_eq!(local_time("garbage", &tz), "garbage");
    }
}
