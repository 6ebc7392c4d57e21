//! The CLI's conveniences (docs/cli.md): the stack named once (`--stack`,
//! by default samconfig.toml's `stack_name`) resolves the table and the
//! webhook URLs; `stats` and `calls list` without `--number` read the
//! recent-activity index (GSI3, one partition per UTC day: no scan);
//! `completions` prints a shell's completion script; colour follows the
//! anstream conventions.

use crate::history::{self, local_time};
use crate::table::{Table, Tone};
use crate::{CliError, Context};
use callhooks::store::operator::TimelineEntry;
use callhooks::store::Store;
use callhooks::time::{self, Timestamp};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// `stack_name` from samconfig.toml's `[default.global.parameters]` (or
/// `[default.deploy.parameters]`): the stack `sam deploy` makes.
pub fn samconfig_stack(text: &str) -> Option<String> {
    let mut section = "";
    let mut found: BTreeMap<&str, String> = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "stack_name" {
            continue;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.split_once('"'))
            .map(|(v, _)| v)
            .or_else(|| {
                value
                    .strip_prefix('\'')
                    .and_then(|v| v.split_once('\''))
                    .map(|(v, _)| v)
            });
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            found.insert(section, value.to_string());
        }
    }
    found
        .remove("default.global.parameters")
        .or_else(|| found.remove("default.deploy.parameters"))
}

/// The stack to use: `--stack` (or `CALLHOOKS_STACK`), else samconfig.toml
/// in the current directory.
pub fn stack_name(flag: Option<String>, dir: &Path) -> Option<String> {
    flag.filter(|s| !s.is_empty()).or_else(|| {
        std::fs::read_to_string(dir.join("samconfig.toml"))
            .ok()
            .and_then(|text| samconfig_stack(&text))
    })
}

/// The table: `--table` (or `TABLE_NAME`) if given, else the stack's
/// `EventsTableName` output.
pub async fn resolve_table(
    table: Option<String>,
    stack: Option<&str>,
    sdk: &aws_config::SdkConfig,
) -> Result<Option<String>, CliError> {
    if let Some(table) = table.filter(|t| !t.is_empty()) {
        return Ok(Some(table));
    }
    let Some(stack) = stack else {
        return Ok(None);
    };
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let outputs = crate::urls::stack_outputs(&client, stack).await?;
    match outputs.get("EventsTableName") {
        Some(table) => Ok(Some(table.clone())),
        None => Err(CliError::Failure(format!(
            "stack {stack:?} has no EventsTableName output: is it a callhooks stack? (--stack NAME, or --table NAME)"
        ))),
    }
}

/// The alerts topic of the stack (its `AlertsTopicArn` output), for
/// `alerts replay` without `--topic-arn`.
pub async fn resolve_topic(
    stack: Option<&str>,
    sdk: &aws_config::SdkConfig,
) -> Result<String, CliError> {
    let stack = stack.ok_or_else(|| {
        CliError::Invalid(
            "no topic: pass --stack NAME (the stack given to `sam deploy`), --topic-arn ARN or set ALERTS_TOPIC_ARN (the stack's AlertsTopicArn output)"
                .into(),
        )
    })?;
    let client = aws_sdk_cloudformation::Client::new(sdk);
    let outputs = crate::urls::stack_outputs(&client, stack)
        .await
        .map_err(|e| {
            CliError::Failure(format!(
                "{}; or pass --topic-arn ARN or set ALERTS_TOPIC_ARN",
                e.message()
            ))
        })?;
    outputs.get("AlertsTopicArn").cloned().ok_or_else(|| {
        CliError::Failure(format!(
            "stack {stack:?} has no AlertsTopicArn output: is it a callhooks stack? (--stack NAME, or --topic-arn ARN)"
        ))
    })
}

/// Colour on stdout by the anstream conventions: never with `NO_COLOR`,
/// always with `CLICOLOR_FORCE`, never with `CLICOLOR=0` or `TERM=dumb`,
/// else on a terminal.
pub fn color_on_stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// `callhooks completions <shell>`: the completion script.
pub fn completions(shell: clap_complete::Shell) -> String {
    let mut command = <crate::Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "callhooks", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `url` with `?token=<token>` (the way Zonitel authenticates: it only
/// takes a URL).
pub fn with_token(url: &str, token: &str) -> Result<String, CliError> {
    let mut parsed = reqwest::Url::parse(url)
        .map_err(|e| CliError::Failure(format!("stack output {url:?} is not a URL ({e})")))?;
    let others: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != "token")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(others);
    parsed.query_pairs_mut().append_pair("token", token);
    Ok(parsed.to_string())
}

/// `calls list` without `--number`: every number's calls and messages,
/// newest first, from the recent-activity index. Without `--since` it
/// looks back [`RECENT_DAYS`] days.
pub async fn recent(
    store: &Store,
    since: Option<Timestamp>,
    page: history::Page,
    missed_only: bool,
    context: &Context,
) -> Result<String, CliError> {
    let limit = page.limit;
    let since = match since {
        Some(since) => since,
        None => context
            .now
            .checked_sub(jiff::SignedDuration::from_hours(24 * RECENT_DAYS))
            .unwrap_or(context.now),
    };
    let since_key = time::to_key(since);
    let today = context.now.to_zoned(TimeZone::UTC).date();
    let missed = |entry: &TimelineEntry| matches!(entry, TimelineEntry::Call(c) if c.is_missed());
    let keep: Option<&dyn Fn(&TimelineEntry) -> bool> =
        if missed_only { Some(&missed) } else { None };
    let entries = store
        .recent_activity_window(today, &since_key, page.until.as_deref(), limit, keep)
        .await
        .map_err(|e| CliError::Storage(e.to_string()))?;
    let subject = if missed_only {
        "missed calls of any number".to_string()
    } else {
        "calls or messages of any number".to_string()
    };
    if entries.is_empty() && !context.json {
        return Ok(format!(
            "no {subject} since {} (the day index holds what was recorded after it was added to the table)",
            local_time(&since_key, &context.tz)
        ));
    }
    history::render_list(&entries, &subject, Some(since_key), limit, context)
}

/// `calls list --incomplete`: the calls and messages the sweeper flagged
/// and no closing event has closed since, most recently flagged first.
pub async fn incomplete(
    store: &Store,
    limit: usize,
    context: &Context,
) -> Result<String, CliError> {
    let items = callhooks::sweep::incomplete_summaries(store, limit)
        .await
        .map_err(|e| CliError::Storage(e.to_string()))?;
    let entries = items
        .iter()
        .map(TimelineEntry::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CliError::Storage(e.to_string()))?;
    history::render_list(
        &entries,
        "incomplete calls or stuck messages",
        None,
        limit,
        context,
    )
}

/// How many days `calls list` without `--number` or `--since` looks back.
pub const RECENT_DAYS: i64 = 7;

/// One provider's day in `stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub calls: u64,
    pub missed: u64,
    /// Calls that failed (a provider's error event or failed call).
    pub errors: u64,
    pub sms: u64,
    pub sms_failed: u64,
    /// Calls flagged incomplete and outbound messages stuck, not closed
    /// since (docs/lifecycles.md).
    pub incomplete: u64,
}

/// One row of `stats --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StatsRow {
    /// The local date (`TZ` or the system's zone).
    pub date: String,
    pub provider: String,
    #[serde(flatten)]
    pub counts: DayCounts,
}

/// Counts per local day and provider, test calls and messages left out
/// (they never alert either).
pub fn tally(entries: &[TimelineEntry], tz: &TimeZone) -> Vec<StatsRow> {
    let mut days: BTreeMap<(String, String), DayCounts> = BTreeMap::new();
    for entry in entries {
        let (first_seen, provider, is_test) = match entry {
            TimelineEntry::Call(c) => (&c.first_seen_at, &c.provider, c.is_test),
            TimelineEntry::Sms(m) => (&m.first_seen_at, &m.provider, m.is_test),
        };
        if is_test {
            continue;
        }
        let date = first_seen
            .parse::<Timestamp>()
            .map(|at| at.to_zoned(tz.clone()).date().to_string())
            .unwrap_or_else(|_| first_seen.get(..10).unwrap_or("?").to_string());
        let counts = days.entry((date, provider.clone())).or_default();
        match entry {
            TimelineEntry::Call(c) => {
                counts.calls += 1;
                counts.missed += u64::from(c.is_missed());
                counts.errors += u64::from(c.failed_at.is_some());
                counts.incomplete += u64::from(c.lifecycle.is_incomplete());
            }
            TimelineEntry::Sms(m) => {
                counts.sms += 1;
                counts.sms_failed += u64::from(m.failed_at.is_some());
                counts.incomplete += u64::from(m.lifecycle.is_incomplete());
            }
        }
    }
    days.into_iter()
        .rev()
        .map(|((date, provider), counts)| StatsRow {
            date,
            provider,
            counts,
        })
        .collect()
}

/// `callhooks stats [--since 7d]`: calls, missed calls, errors, messages
/// and failed messages per provider per day, newest day first. Reads one
/// GSI3 partition per UTC day in the range.
pub async fn stats(store: &Store, since: Timestamp, context: &Context) -> Result<String, CliError> {
    let since_key = time::to_key(since);
    let first = since.to_zoned(TimeZone::UTC).date();
    let today = context.now.to_zoned(TimeZone::UTC).date();
    let mut entries = Vec::new();
    let mut day: Date = first;
    while day <= today {
        let found = store
            .day_activity(day, Some(&since_key), None)
            .await
            .map_err(|e| CliError::Storage(e.to_string()))?;
        entries.extend(found);
        day = match day.tomorrow() {
            Ok(next) => next,
            Err(_) => break,
        };
    }
    let rows = tally(&entries, &context.tz);
    if context.json {
        return Ok(serde_json::to_string_pretty(&rows).unwrap_or_default());
    }
    let since_text = local_time(&since_key, &context.tz);
    if rows.is_empty() {
        return Ok(format!("no calls or messages since {since_text}"));
    }
    let mut table = Table::new(&[
        "DATE",
        "PROVIDER",
        "CALLS",
        "MISSED",
        "ERRORS",
        "SMS",
        "SMS FAILED",
        "INCOMPLETE",
    ]);
    let count = |n: u64, bad: bool| {
        let tone = if n > 0 && bad { Tone::Bad } else { Tone::Plain };
        (n.to_string(), tone)
    };
    for row in &rows {
        let c = &row.counts;
        table.row(vec![
            (row.date.clone(), Tone::Plain),
            (row.provider.clone(), Tone::Plain),
            count(c.calls, false),
            count(c.missed, true),
            count(c.errors, true),
            count(c.sms, false),
            count(c.sms_failed, true),
            count(c.incomplete, true),
        ]);
    }
    Ok(format!(
        "{}\n(since {since_text}; test calls and messages not counted)",
        table.render(context.color).trim_end()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use callhooks::store::{CallSummary, SmsSummary};

    #[test]
    fn the_stack_name_comes_from_samconfig_global_then_deploy() {
        let text = "version = 0.1\n\n[default.global.parameters]\nstack_name = \"callhooks\"\n\n[default.deploy.parameters]\nstack_name = 'other'\n";
        assert_eq!(samconfig_stack(text).as_deref(), Some("callhooks"));
        let deploy_only = "[default.deploy.parameters]\nstack_name = \"prod-hooks\" # ours\n";
        assert_eq!(samconfig_stack(deploy_only).as_deref(), Some("prod-hooks"));
        assert_eq!(
            samconfig_stack("[staging.global.parameters]\nstack_name = \"s\"\n"),
            None
        );
        assert_eq!(
            samconfig_stack("[default.global.parameters]\nstack_name = \"\"\n"),
            None
        );
        let repo = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../samconfig.toml"),
        )
        .unwrap();
        assert_eq!(samconfig_stack(&repo).as_deref(), Some("callhooks"));
        assert_eq!(
            stack_name(Some("mine".into()), Path::new("/nonexistent")).as_deref(),
            Some("mine")
        );
        assert_eq!(stack_name(None, Path::new("/nonexistent")), None);
    }

    #[test]
    fn token_urls_carry_one_encoded_token() {
        assert_eq!(
            with_token("https://a.example/zonitel/calls", "t0k/n+=").unwrap(),
            "https://a.example/zonitel/calls?token=t0k%2Fn%2B%3D"
        );
        assert_eq!(
            with_token("https://a.example/zonitel/sms?token=old&x=1", "new").unwrap(),
            "https://a.example/zonitel/sms?x=1&token=new"
        );
    }

    #[test]
    fn completions_name_the_subcommands() {
        let bash = completions(clap_complete::Shell::Bash);
        for word in ["stats", "calls", "completions", "--stack", "zonitel"] {
            assert!(bash.contains(word), "{word}");
        }
        assert!(completions(clap_complete::Shell::Zsh).contains("#compdef callhooks"));
    }

    fn call(provider: &str, at: &str, missed: bool, failed: bool, is_test: bool) -> TimelineEntry {
        TimelineEntry::Call(CallSummary {
            provider: provider.into(),
            call_id: "c".into(),
            direction: Some(callhooks::event::Direction::Inbound),
            from: None,
            to: None,
            caller_name: None,
            first_seen_at: at.into(),
            is_test,
            event_count: 1,
            initiated_at: None,
            ringing_at: None,
            answered_at: None,
            ended_at: None,
            failed_at: failed.then(|| at.to_string()),
            unanswered_at: missed.then(|| at.to_string()),
            source: None,
            error_message: None,
            missed_at: None,
            lifecycle: Default::default(),
        })
    }

    fn sms(at: &str, failed: bool) -> TimelineEntry {
        let mut summary: SmsSummary = serde_json::from_value(serde_json::json!({
            "provider": "zonitel", "message_id": "m", "first_seen_at": at,
        }))
        .unwrap();
        summary.failed_at = failed.then(|| at.to_string());
        TimelineEntry::Sms(summary)
    }

    #[test]
    fn stats_count_per_local_day_and_provider_without_tests() {
        let entries = vec![
            call("salpre", "2026-11-23T15:00:00.000Z", true, false, false),
            call("salpre", "2026-11-23T16:00:00.000Z", false, true, false),
            call("salpre", "2026-11-23T17:00:00.000Z", false, false, true),
            // 02:00 UTC on the 24th is still the 23rd in Los Angeles.
            call("zonitel", "2026-11-24T02:00:00.000Z", false, false, false),
            sms("2026-11-24T02:30:00.000Z", true),
            sms("2026-11-25T12:00:00.000Z", false),
        ];
        let tz = TimeZone::get("America/Los_Angeles").unwrap();
        let rows = tally(&entries, &tz);
        let summary: Vec<(String, String, DayCounts)> = rows
            .into_iter()
            .map(|r| (r.date, r.provider, r.counts))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "2026-11-25".into(),
                    "zonitel".into(),
                    DayCounts {
                        sms: 1,
                        ..Default::default()
                    }
                ),
                (
                    "2026-11-23".into(),
                    "zonitel".into(),
                    DayCounts {
                        calls: 1,
                        sms: 1,
                        sms_failed: 1,
                        ..Default::default()
                    }
                ),
                (
                    "2026-11-23".into(),
                    "salpre".into(),
                    DayCounts {
                        calls: 2,
                        missed: 1,
                        errors: 1,
                        ..Default::default()
                    }
                ),
            ]
        );
    }
}
