//! `alerts list`, `alerts replay`: the alert ledger (docs/alerts.md), read
//! by day partition, and failed alerts published again through it.

use crate::history::local_time;
use crate::table::{Table, Tone};
use crate::{CliError, Context};
use callhooks::alerts::delivery::{AlertDispatch, Clock, Replayed};
use callhooks::alerts::ledger::{AlertState, Ledger, LedgerEntry};
use callhooks::alerts::stream::SnsPublisher;
use callhooks::time::Timestamp;
use serde_json::{json, Value};

fn storage(e: callhooks::store::StoreError) -> CliError {
    CliError::Storage(e.to_string())
}

/// What to call an entry's state: a claim that ran out is `stalled` (its
/// attempt crashed, or published without being marked).
fn state(entry: &LedgerEntry, now: Timestamp) -> (&'static str, Tone) {
    match entry.state {
        AlertState::Published => ("published", Tone::Good),
        AlertState::Failed => ("failed", Tone::Bad),
        AlertState::InProgress if entry.is_stalled(now) => ("stalled", Tone::Warn),
        AlertState::InProgress => ("in_progress", Tone::Warn),
    }
}

/// Failed, or stalled: what `replay --failed` sends.
fn needs_replay(entry: &LedgerEntry, now: Timestamp) -> bool {
    entry.state == AlertState::Failed || entry.is_stalled(now)
}

fn entry_json(entry: &LedgerEntry, now: Timestamp) -> Value {
    json!({
        "alert_id": entry.alert_id,
        "state": state(entry, now).0,
        "occurred_at": entry.occurred_at,
        "alert_type": entry.alert_type,
        "provider": entry.provider,
        "call_id": entry.call_id,
        "message_id": entry.message_id,
        "from": entry.from,
        "to": entry.to,
        "subject": entry.subject,
        "sns_message_id": entry.sns_message_id,
        "attempts": entry.attempts,
        "published_at": entry.published_at,
        "failed_at": entry.failed_at,
        "last_error": entry.last_error,
        "dead_lettered": entry.dead_lettered,
        "replays": entry.replays,
    })
}

/// `alerts list`: newest first, one page (`page.limit`, before
/// `page.until`).
pub async fn list(
    ledger: &Ledger,
    since: Timestamp,
    failed_only: bool,
    page: crate::history::Page,
    context: &Context,
) -> Result<String, CliError> {
    let now = context.now;
    let last_day = page
        .until
        .as_deref()
        .and_then(|u| u.parse::<Timestamp>().ok())
        .map_or(now, |until| until.min(now));
    let mut entries = ledger.list(since, last_day).await.map_err(storage)?;
    entries.reverse();
    if let Some(until) = &page.until {
        entries.retain(|e| e.occurred_at.as_str() < until.as_str());
    }
    if failed_only {
        entries.retain(|e| needs_replay(e, now));
    }
    let full = entries.len() > page.limit;
    entries.truncate(page.limit);
    let hint = if full {
        crate::history::older_page_hint(entries.last().map(|e| e.occurred_at.as_str()), context)
    } else {
        String::new()
    };
    if context.json {
        let all: Vec<Value> = entries.iter().map(|e| entry_json(e, now)).collect();
        return Ok(serde_json::to_string_pretty(&all).unwrap_or_default());
    }
    if entries.is_empty() {
        let what = if failed_only {
            "failed alerts"
        } else {
            "alerts"
        };
        return Ok(format!(
            "no {what} since {}",
            local_time(&callhooks::time::to_key(since), &context.tz)
        ));
    }
    let mut table = Table::new(&[
        "TIME",
        "STATE",
        "TYPE",
        "PROVIDER",
        "FROM",
        "TO",
        "ALERT ID",
        "SNS MESSAGE ID",
    ]);
    let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    for entry in &entries {
        let (state, tone) = state(entry, now);
        let state = match entry.replays {
            0 => state.to_string(),
            n => format!("{state} (replayed {n}x)"),
        };
        table.row(vec![
            (local_time(&entry.occurred_at, &context.tz), Tone::Plain),
            (state, tone),
            (entry.alert_type.clone(), Tone::Plain),
            (entry.provider.clone(), Tone::Plain),
            (dash(&entry.from), Tone::Plain),
            (dash(&entry.to), Tone::Plain),
            (entry.alert_id.clone(), Tone::Dim),
            (dash(&entry.sns_message_id), Tone::Plain),
        ]);
    }
    Ok(format!("{}{hint}", table.render(context.color).trim_end()))
}

/// Which alerts `alerts replay` sends.
pub enum Selection {
    Ids(Vec<String>),
    Failed,
}

/// An alert an operator asked to replay: its ledger entry, or the id that
/// names none since `--since`.
enum Target {
    Found(Box<LedgerEntry>),
    Unknown(String),
}

/// `alerts replay`: each alert published again through the ledger, with
/// `"replayed": true`. Fails (exit 1) when any was not sent.
pub async fn replay(
    ledger: &Ledger,
    publisher: &SnsPublisher,
    selection: Selection,
    since: Timestamp,
    again: bool,
    context: &Context,
) -> Result<String, CliError> {
    let now = context.now;
    let entries = ledger.list(since, now).await.map_err(storage)?;
    let mut targets: Vec<Target> = Vec::new();
    match selection {
        Selection::Failed => {
            targets.extend(
                entries
                    .into_iter()
                    .filter(|e| needs_replay(e, now))
                    .map(|e| Target::Found(Box::new(e))),
            );
            if targets.is_empty() {
                return Ok(format!(
                    "no failed alerts since {}: nothing to replay",
                    local_time(&callhooks::time::to_key(since), &context.tz)
                ));
            }
        }
        Selection::Ids(ids) => {
            for id in ids {
                let found = entries.iter().find(|e| e.alert_id == id.trim());
                targets.push(match found {
                    Some(entry) => Target::Found(Box::new(entry.clone())),
                    None => Target::Unknown(id),
                });
            }
        }
    }
    let dispatch = AlertDispatch {
        ledger,
        publisher,
        dead_letters: None::<&callhooks::alerts::stream::SqsDeadLetters>,
        clock: Clock::default(),
        deadline: None,
    };
    let mut results = Vec::new();
    let mut all_sent = true;
    for target in targets {
        let entry = match target {
            Target::Found(entry) => *entry,
            Target::Unknown(id) => {
                all_sent = false;
                results.push((
                    id,
                    "not found".to_string(),
                    format!(
                    "no alert with this id since {}: see `callhooks alerts list`, or widen --since",
                    local_time(&callhooks::time::to_key(since), &context.tz)
                ),
                    Tone::Bad,
                ));
                continue;
            }
        };
        let outcome = dispatch
            .replay(&entry.key(), again)
            .await
            .map_err(storage)?;
        let (result, detail, tone) = match outcome {
            Replayed::Published(_, sns_message_id) => (
                "published".to_string(),
                format!("SNS message {sns_message_id}"),
                Tone::Good,
            ),
            Replayed::AlreadyPublished(entry) => (
                "already published".to_string(),
                format!(
                    "SNS message {} at {}; --again sends it once more",
                    entry.sns_message_id.as_deref().unwrap_or("?"),
                    entry
                        .published_at
                        .as_deref()
                        .map(|at| local_time(at, &context.tz))
                        .unwrap_or_default()
                ),
                Tone::Plain,
            ),
            Replayed::Busy(_) => {
                all_sent = false;
                (
                    "busy".to_string(),
                    "the alerts function is publishing it now: look again in a minute".to_string(),
                    Tone::Warn,
                )
            }
            Replayed::Failed(_, error) => {
                all_sent = false;
                ("failed".to_string(), error, Tone::Bad)
            }
        };
        results.push((entry.alert_id, result, detail, tone));
    }
    let out = if context.json {
        let all: Vec<Value> = results
            .iter()
            .map(|(id, result, detail, _)| json!({"alert_id": id, "result": result, "detail": detail}))
            .collect();
        serde_json::to_string_pretty(&all).unwrap_or_default()
    } else {
        let mut table = Table::new(&["ALERT ID", "RESULT", "DETAIL"]);
        for (id, result, detail, tone) in results {
            table.row(vec![
                (id, Tone::Plain),
                (result, tone),
                (detail, Tone::Plain),
            ]);
        }
        table.render(context.color).trim_end().to_string()
    };
    if all_sent {
        Ok(out)
    } else {
        Err(CliError::Failure(out))
    }
}
