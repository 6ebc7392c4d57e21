//! The pages: each reads only what it shows and renders it as HTML
//! ([`super::html`]); every stored value goes through [`text`].

use super::charts;
use super::html::{block, fields, page, q, seg, select, table, text};
use super::reads::{self, CallFilter};
use super::Console;
use crate::history::SinceError;
use callhooks::alerts::delivery::{AlertDispatch, Clock, Replayed};
use callhooks::alerts::ledger::{AlertState, LedgerEntry};
use callhooks::alerts::outgoing::LedgerKey;
use callhooks::daily_counts::{missed_hour_attr, CallOutcome, DailyCounts, Totals};
use callhooks::event::{Channel, Provider};
use callhooks::phone::PhoneNumber;
use callhooks::providers::retell::answer::{caller_history, decide, ConfigLookup};
use callhooks::providers::retell::inbound::{InboundKind, InboundRequest};
use callhooks::providers::voxtelesys::{answer_voice, CallAnswer};
use callhooks::store::operator::TimelineEntry;
use callhooks::store::plan::Item;
use callhooks::store::StoreError;
use callhooks::time::{self, Timestamp};
use jiff::ToSpan;
use std::collections::BTreeMap;
use std::fmt::Write;

/// What a page handler gives back.
pub enum Answer {
    Html(String),
    /// 303 to this path.
    Redirect(String),
    NotFound(String),
    BadRequest(String),
}

pub type Query = BTreeMap<String, String>;

fn get<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn storage_page(title: &str, current: &str, error: &StoreError) -> Answer {
    Answer::Html(page(
        title,
        current,
        &format!(
            "<p class=\"error\">The table could not be read: {}</p>",
            text(&error.to_string())
        ),
    ))
}

/// A stored time (UTC key) in the operator's zone, to the second.
fn when(console: &Console, key: &str) -> String {
    match key.parse::<Timestamp>() {
        Ok(at) => text(
            &at.to_zoned(console.tz.clone())
                .strftime("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        Err(_) => text(key),
    }
}

fn outcome_cell(outcome: CallOutcome) -> String {
    let class = match outcome {
        CallOutcome::Answered => "good",
        CallOutcome::Missed | CallOutcome::Failed => "bad",
        CallOutcome::Incomplete => "warn",
        CallOutcome::Open => "",
    };
    format!("<span class=\"{class}\">{}</span>", outcome.as_str())
}

fn call_link(provider: &str, call_id: &str) -> String {
    format!("/call/{}/{}", seg(provider), seg(call_id))
}

fn phone_link(number: Option<&str>) -> String {
    match number {
        Some(n) if PhoneNumber::read(n).is_some() => {
            let e164 = PhoneNumber::read(n)
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            format!("<a href=\"/caller/{}\">{}</a>", seg(&e164), text(n))
        }
        Some(n) => text(n),
        None => String::new(),
    }
}

fn footer(reads: &str, started: std::time::Instant) -> String {
    format!(
        "<p class=\"empty\" id=\"cost\">{} in {} ms.</p>",
        text(reads),
        started.elapsed().as_millis()
    )
}

// ---------------------------------------------------------------- overview

/// The last `n` UTC days, oldest first, ending today.
fn last_days(now: Timestamp, n: usize) -> Vec<String> {
    let today = jiff::tz::Offset::UTC.to_datetime(now).date();
    let mut days: Vec<String> = (0..n as i64)
        .filter_map(|back| today.checked_sub(back.days()).ok())
        .map(|d| d.to_string())
        .collect();
    days.reverse();
    days
}

/// The missed-call counters of `counts` on a week of local hours.
pub fn missed_week(counts: &[DailyCounts], tz: &jiff::tz::TimeZone) -> [[i64; 24]; 7] {
    let mut grid = [[0i64; 24]; 7];
    for item in counts {
        for hour in 0..24u8 {
            let missed = item.get(&missed_hour_attr(hour));
            if missed == 0 {
                continue;
            }
            let Ok(at) = format!("{}T{hour:02}:00:00Z", item.day).parse::<Timestamp>() else {
                continue;
            };
            let local = at.to_zoned(tz.clone());
            let weekday = local.weekday().to_monday_zero_offset() as usize;
            grid[weekday][local.hour() as usize] += missed;
        }
    }
    grid
}

fn rate(totals: &Totals, part: &str) -> String {
    totals.rate(part).map_or("–".into(), |r| format!("{r:.0}%"))
}

fn seconds(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v.is_infinite() => "> 120 s".into(),
        Some(v) => format!("≤ {v:.0} s"),
    }
}

fn totals_row(label: String, t: &Totals) -> Vec<String> {
    vec![
        label,
        t.get("calls").to_string(),
        rate(t, "answered"),
        rate(t, "missed"),
        rate(t, "incomplete"),
        rate(t, "failed"),
        seconds(t.answer_quantile(0.5)),
        seconds(t.answer_quantile(0.95)),
        format!(
            "{} / {} / {}",
            t.get("sms_received"),
            t.get("sms_sent"),
            t.get("sms_failed")
        ),
        t.get("alerts").to_string(),
    ]
}

const TOTALS_HEADERS: [&str; 10] = [
    "",
    "calls",
    "answered",
    "missed",
    "incomplete",
    "failed",
    "answer median",
    "answer p95",
    "SMS in / out / failed",
    "alerts",
];

pub async fn overview(console: &Console, query: &Query) -> Answer {
    let started = std::time::Instant::now();
    let period: usize = match get(query, "days") {
        Some("1") => 1,
        Some("30") => 30,
        _ => 7,
    };
    let days = last_days(Timestamp::now(), period);
    let counts = match console.store.daily_counts(&days).await {
        Ok(c) => c,
        Err(e) => return storage_page("Overview", "/", &e),
    };
    let mut all = Totals::default();
    let mut by_provider: BTreeMap<String, Totals> = BTreeMap::new();
    let mut by_number: BTreeMap<String, Totals> = BTreeMap::new();
    for item in &counts {
        all.add(item);
        by_provider
            .entry(item.provider.clone())
            .or_default()
            .add(item);
        by_number.entry(item.number.clone()).or_default().add(item);
    }
    let mut body = String::new();
    body.push_str("<form class=\"filters\" method=\"get\" action=\"/\"><label>Period");
    body.push_str(&select(
        "days",
        &[("1", "today"), ("7", "7 days"), ("30", "30 days")],
        &period.to_string(),
    ));
    body.push_str("</label><button type=\"submit\">Show</button></form>");
    body.push_str("<div class=\"cards\" id=\"figures\">");
    for (label, value) in [
        ("calls", all.get("calls").to_string()),
        ("answered", rate(&all, "answered")),
        ("missed", rate(&all, "missed")),
        ("incomplete", rate(&all, "incomplete")),
        ("answer median", seconds(all.answer_quantile(0.5))),
        ("answer p95", seconds(all.answer_quantile(0.95))),
        ("SMS received", all.get("sms_received").to_string()),
        ("SMS sent", all.get("sms_sent").to_string()),
        ("SMS failed", all.get("sms_failed").to_string()),
        ("alerts", all.get("alerts").to_string()),
    ] {
        let _ = write!(
            body,
            "<div class=\"card\"><b>{}</b><span>{label}</span></div>",
            text(&value)
        );
    }
    body.push_str("</div><h2>Calls per day by provider</h2>");
    let providers: Vec<String> = by_provider.keys().cloned().collect();
    let series: Vec<(String, Vec<i64>)> = providers
        .iter()
        .map(|p| {
            let per_day = days
                .iter()
                .map(|d| {
                    counts
                        .iter()
                        .filter(|c| &c.day == d && &c.provider == p)
                        .map(|c| c.get("calls"))
                        .sum()
                })
                .collect();
            (p.clone(), per_day)
        })
        .collect();
    body.push_str(&charts::stacked_bars(&days, &series));
    body.push_str("<div class=\"legend\">");
    for (i, p) in providers.iter().enumerate() {
        let _ = write!(
            body,
            "<span><span class=\"swatch p{}\"></span>{}</span>",
            i % 5,
            text(p)
        );
    }
    let _ = write!(
        body,
        "</div><h2>Missed calls by weekday and hour</h2><p class=\"empty\">Hours in {}.</p>",
        text(console.tz.iana_name().unwrap_or("UTC"))
    );
    body.push_str(&charts::heat_map(&missed_week(&counts, &console.tz)));
    body.push_str("<h2>By provider</h2>");
    let rows: Vec<Vec<String>> = by_provider
        .iter()
        .map(|(p, t)| totals_row(text(p), t))
        .collect();
    body.push_str(&table(&TOTALS_HEADERS, &rows));
    body.push_str("<h2>By our number</h2>");
    let rows: Vec<Vec<String>> = by_number
        .iter()
        .map(|(n, t)| {
            let link = format!("<a href=\"/calls?number={}\">{}</a>", q(n), text(n));
            totals_row(link, t)
        })
        .collect();
    body.push_str(&table(&TOTALS_HEADERS, &rows));
    let bytes: usize = counts.iter().map(|c| c.bytes).sum();
    body.push_str(&footer(
        &format!(
            "{} counter items of {} days, {:.1} read units",
            counts.len(),
            days.len(),
            callhooks::store::units::read_units(bytes, false)
        ),
        started,
    ));
    Answer::Html(page("Overview", "/", &body))
}

// ------------------------------------------------------------------- calls

/// `input` (or `default`, as an operator would type it: `30d`) as a key.
fn since_key(console: &Console, input: Option<&str>, default: &str) -> Result<String, SinceError> {
    let at = crate::history::parse_since(input.unwrap_or(default), Timestamp::now(), &console.tz)?;
    Ok(time::to_key(at))
}

/// A calls filter the console cannot use.
#[derive(Debug, thiserror::Error)]
enum FilterError {
    #[error("{field}: {value:?} is not a number")]
    NotANumber { field: &'static str, value: String },
    #[error(transparent)]
    Since(#[from] SinceError),
}

pub async fn calls(console: &Console, query: &Query) -> Answer {
    let started = std::time::Instant::now();
    let phone = |field: &'static str| -> Result<Option<PhoneNumber>, FilterError> {
        match get(query, field) {
            None => Ok(None),
            Some(value) => {
                PhoneNumber::read(value)
                    .map(Some)
                    .ok_or_else(|| FilterError::NotANumber {
                        field,
                        value: value.to_string(),
                    })
            }
        }
    };
    let outcome = get(query, "outcome").and_then(CallOutcome::parse);
    let filter = (|| -> Result<CallFilter, FilterError> {
        Ok(CallFilter {
            number: phone("number")?,
            caller: phone("caller")?,
            provider: get(query, "provider")
                .and_then(Provider::parse)
                .map(|p| p.as_str().to_string()),
            outcome,
            since: since_key(console, get(query, "since"), "30d")?,
            before: match get(query, "before") {
                Some(b) => b.to_string(),
                None => match get(query, "until") {
                    Some(u) => format!("{}~", since_key(console, Some(u), "0d")?),
                    None => format!("{}~", time::to_key(Timestamp::now())),
                },
            },
        })
    })();
    let filter = match filter {
        Ok(f) => f,
        Err(e) => return Answer::BadRequest(e.to_string()),
    };
    let mut body = String::from(
        "<form class=\"filters\" method=\"get\" action=\"/calls\" id=\"call-filters\">",
    );
    for (name, label, hint) in [
        ("number", "Our number", "+18339664835"),
        ("caller", "Caller", "+14155552671"),
        ("since", "Since", "30d, 2026-12-01"),
        ("until", "Until", "now"),
    ] {
        let _ = write!(
            body,
            "<label>{label}<input name=\"{name}\" id=\"{name}\" value=\"{}\" placeholder=\"{hint}\" size=\"14\"></label>",
            text(get(query, name).unwrap_or(""))
        );
    }
    body.push_str("<label>Provider");
    // Every provider of the route table, named as the command line does,
    // with a capital.
    let labels: Vec<(&str, String)> = Provider::ALL
        .iter()
        .map(|p| {
            let name = p.as_str();
            let mut chars = name.chars();
            let label = chars
                .next()
                .map(|first| format!("{}{}", first.to_ascii_uppercase(), chars.as_str()))
                .unwrap_or_default();
            (name, label)
        })
        .collect();
    let mut providers = vec![("", "any")];
    providers.extend(labels.iter().map(|(name, label)| (*name, label.as_str())));
    body.push_str(&select(
        "provider",
        &providers,
        get(query, "provider").unwrap_or(""),
    ));
    body.push_str("</label><label>Outcome");
    let mut outcomes = vec![("", "any")];
    outcomes.extend(CallOutcome::ALL.iter().map(|o| (o.as_str(), o.as_str())));
    body.push_str(&select(
        "outcome",
        &outcomes,
        get(query, "outcome").unwrap_or(""),
    ));
    body.push_str("</label><button type=\"submit\">Filter</button></form>");
    let page_of = match reads::calls_page(&console.store, &filter, 50).await {
        Ok(p) => p,
        Err(e) => return storage_page("Calls", "/calls", &e),
    };
    let rows: Vec<Vec<String>> = page_of
        .calls
        .iter()
        .map(|(c, outcome)| {
            vec![
                format!(
                    "<a href=\"{}\">{}</a>",
                    call_link(&c.provider, &c.call_id),
                    when(console, &c.first_seen_at)
                ),
                text(&c.provider),
                phone_link(c.from.as_deref()),
                text(c.caller_name.as_deref().unwrap_or("")),
                phone_link(c.to.as_deref()),
                c.direction.map(|d| d.as_str()).unwrap_or("").to_string(),
                outcome_cell(*outcome),
            ]
        })
        .collect();
    body.push_str("<div id=\"calls\">");
    body.push_str(&table(
        &[
            "first seen",
            "provider",
            "from",
            "caller name",
            "to",
            "direction",
            "outcome",
        ],
        &rows,
    ));
    body.push_str("</div>");
    if let Some(next) = &page_of.next {
        let mut next_query = query.clone();
        next_query.insert("before".into(), next.clone());
        let qs: String = next_query
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{}={}", q(k), q(v)))
            .collect::<Vec<_>>()
            .join("&amp;");
        let _ = write!(
            body,
            "<p class=\"pager\"><a id=\"next-page\" href=\"/calls?{qs}\">Older calls →</a></p>"
        );
    }
    body.push_str(&footer(
        &format!(
            "{} index items read, {:.1} read units",
            page_of.items_read, page_of.read_units
        ),
        started,
    ));
    Answer::Html(page("Calls", "/calls", &body))
}

// --------------------------------------------------------------- one call

fn attr_text(item: &Item, name: &str) -> Option<String> {
    let value = item.get(name)?;
    if let Ok(s) = value.as_s() {
        return Some(s.clone());
    }
    if let Ok(n) = value.as_n() {
        return Some(n.clone());
    }
    if let Ok(b) = value.as_bool() {
        return Some(b.to_string());
    }
    None
}

fn safe_link(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!(
            "<a href=\"{}\" rel=\"noreferrer noopener\" target=\"_blank\">{}</a>",
            text(url),
            text(url)
        )
    } else {
        text(url)
    }
}

/// The transcript of a JSON value: a list of turns (`role`/`speaker` and
/// `content`/`text`), or a text.
fn transcript_html(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Array(turns) => {
            let mut out = String::from("<div id=\"transcript\">");
            for turn in turns {
                let who = turn
                    .get("role")
                    .or_else(|| turn.get("speaker"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("?");
                let said = turn
                    .get("content")
                    .or_else(|| turn.get("text"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("");
                let class = if who == "agent" { "agent" } else { "user" };
                let _ = write!(
                    out,
                    "<div class=\"turn {class}\"><b>{}</b>: {}</div>",
                    text(who),
                    text(said)
                );
            }
            out.push_str("</div>");
            out
        }
        serde_json::Value::String(s) => format!("<pre id=\"transcript\">{}</pre>", block(s)),
        other => format!("<pre id=\"transcript\">{}</pre>", block(&other.to_string())),
    }
}

pub async fn call(console: &Console, provider: &str, call_id: &str) -> Answer {
    let started = std::time::Instant::now();
    let Some(provider) = Provider::parse(provider) else {
        return Answer::NotFound(format!("no provider {provider:?}"));
    };
    let store = &console.store;
    let (summary, events) = tokio::join!(
        store.call_summary_item(provider, call_id),
        store.conversation_events(Channel::Call, provider, call_id)
    );
    let (summary, events) = match (summary, events) {
        (Ok(Some(s)), Ok(e)) => (s, e),
        (Ok(None), _) => {
            return Answer::NotFound(format!("no call {call_id:?} of {}", provider.as_str()))
        }
        (Err(e), _) | (_, Err(e)) => return storage_page("Call", "/calls", &e),
    };
    let Ok(call) = callhooks::store::CallSummary::from_item(&summary) else {
        return Answer::NotFound("the call's summary cannot be read".into());
    };
    let outcome = CallOutcome::of(
        &call,
        attr_text(&summary, callhooks::daily_counts::INCOMPLETE_AT).as_deref(),
    );
    let mut body = String::new();
    let mut pairs: Vec<(&str, String)> = vec![
        ("provider", text(&call.provider)),
        ("call id", text(&call.call_id)),
        ("outcome", outcome_cell(outcome)),
        (
            "direction",
            call.direction
                .map(|d| d.as_str().to_string())
                .unwrap_or_default(),
        ),
        ("from", phone_link(call.from.as_deref())),
        (
            "caller name",
            text(call.caller_name.as_deref().unwrap_or("")),
        ),
        ("to", phone_link(call.to.as_deref())),
        ("first seen", when(console, &call.first_seen_at)),
    ];
    for (label, name) in [
        ("ringing", "ringing_at"),
        ("answered", "answered_at"),
        ("unanswered", "unanswered_at"),
        ("ended", "ended_at"),
        ("failed", "failed_at"),
        ("incomplete", "incomplete_at"),
    ] {
        if let Some(at) = attr_text(&summary, name) {
            pairs.push((label, when(console, &at)));
        }
    }
    for (label, name) in [
        ("error", "error_message"),
        ("disconnection", "disconnection_reason"),
        ("duration (ms)", "duration_ms"),
        ("transferred to", "transfer_destination"),
        ("Retell agent", "retell_agent_id"),
        ("dial outcome", "dial_outcome"),
    ] {
        if let Some(v) = attr_text(&summary, name) {
            pairs.push((label, text(&v)));
        }
    }
    body.push_str(&fields(&pairs));

    // Routing: what the stored summary says, and what the decision code
    // answers for this caller today.
    body.push_str("<h2>Routing decision</h2>");
    if let Some(rule) = attr_text(&summary, "rejected_by") {
        let _ = write!(
            body,
            "<p id=\"routing\">Rejected by rule <b>{}</b>.</p>",
            text(&rule)
        );
    } else {
        let (from, to) = (
            call.from.as_deref().and_then(PhoneNumber::read),
            call.to.as_deref().and_then(PhoneNumber::read),
        );
        let at = call
            .first_seen_at
            .parse::<Timestamp>()
            .unwrap_or_else(|_| Timestamp::now());
        match dry_run_answer(console, provider, from, to, at).await {
            Ok(html) => {
                let _ = write!(body, "<div id=\"routing\"><p class=\"empty\">With today's configuration, at the time of the call:</p>{html}</div>");
            }
            Err(e) => {
                let _ = write!(body, "<p class=\"error\">{}</p>", text(&e.to_string()));
            }
        }
    }

    // Recordings.
    let mut recordings: Vec<String> = attr_text(&summary, "recording_url").into_iter().collect();
    // Transcript and analysis from the latest event that carries them.
    let mut transcript: Option<serde_json::Value> = None;
    let mut analysis: Option<serde_json::Value> = None;
    for event in &events {
        let Some(raw) = attr_text(event, "raw") else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&raw) else {
            continue;
        };
        let call_obj = json.get("call");
        if let Some(t) = call_obj
            .and_then(|c| c.get("transcript_object"))
            .filter(|t| t.is_array())
        {
            transcript = Some(t.clone());
        } else if let Some(t) = call_obj
            .and_then(|c| c.get("transcript"))
            .filter(|t| t.is_string())
        {
            transcript = Some(t.clone());
        }
        if let Some(a) = call_obj
            .and_then(|c| c.get("call_analysis"))
            .filter(|a| a.is_object())
        {
            analysis = Some(a.clone());
        }
        if let Some(url) = call_obj
            .and_then(|c| c.get("recording_url"))
            .and_then(|u| u.as_str())
        {
            if !recordings.iter().any(|r| r == url) {
                recordings.push(url.to_string());
            }
        }
    }
    // Salpre's final transcript sits in its event's raw body (the same
    // reading as `Store::final_transcript`, without reading the events again).
    if transcript.is_none() {
        let carrier = events.iter().rev().find_map(|e| {
            Some((
                attr_text(e, callhooks::store::TRANSCRIPT_POINTER)?,
                attr_text(e, "raw")?,
            ))
        });
        if let Some((pointer, raw)) = carrier {
            transcript = callhooks::store::json_at_pointer(&raw, &pointer)
                .and_then(|found| serde_json::from_str(found).ok());
        }
    }
    if let Some(t) = &transcript {
        body.push_str("<h2>Transcript</h2>");
        body.push_str(&transcript_html(t));
    }
    if let Some(serde_json::Value::Object(map)) = &analysis {
        body.push_str("<h2>Retell's analysis</h2>");
        let pairs: Vec<(&str, String)> = map
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    text(
                        &v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    ),
                )
            })
            .collect();
        body.push_str(&fields(&pairs));
    }
    if !recordings.is_empty() {
        body.push_str("<h2>Recordings</h2><ul>");
        for r in &recordings {
            let _ = write!(body, "<li>{}</li>", safe_link(r));
        }
        body.push_str("</ul>");
    }

    // Timeline.
    body.push_str("<h2>Timeline</h2>");
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            let sk = attr_text(e, "SK").unwrap_or_default();
            let at = attr_text(e, "occurred_at")
                .unwrap_or_else(|| sk.get(6..30).unwrap_or("").to_string());
            let kind = attr_text(e, "event_type")
                .or_else(|| attr_text(e, "kind"))
                .unwrap_or_default();
            let anomalies = e
                .get("anomalies")
                .and_then(|v| v.as_l().ok())
                .map(|l| {
                    l.iter()
                        .filter_map(|a| a.as_s().ok().cloned())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_default();
            let raw = attr_text(e, "raw").unwrap_or_default();
            vec![
                when(console, &at),
                text(&attr_text(e, "provider").unwrap_or_else(|| call.provider.clone())),
                text(&kind),
                text(&anomalies),
                format!(
                    "<details><summary>{} bytes</summary><pre>{}</pre></details>",
                    raw.len(),
                    block(&raw)
                ),
            ]
        })
        .collect();
    body.push_str("<div id=\"timeline\">");
    body.push_str(&table(
        &["time", "provider", "event", "oddities", "raw"],
        &rows,
    ));
    body.push_str("</div>");

    // Alerts of this call: the ledger days from the call's first day on.
    // An incident happens between the call's first sight and its last
    // phase: usually one ledger day.
    let first = call
        .first_seen_at
        .parse::<Timestamp>()
        .unwrap_or_else(|_| Timestamp::now());
    let since = first
        .checked_sub(jiff::SignedDuration::from_mins(10))
        .unwrap_or(first);
    let until = [
        &call.ended_at,
        &call.failed_at,
        &call.unanswered_at,
        &call.missed_at,
    ]
    .into_iter()
    .flatten()
    .filter_map(|at| at.parse::<Timestamp>().ok())
    .max()
    .unwrap_or(first)
    .max(first);
    body.push_str("<h2>Alerts</h2>");
    match console.ledger.list(since, until).await {
        Ok(entries) => {
            let mine: Vec<&LedgerEntry> = entries
                .iter()
                .filter(|e| e.call_id.as_deref() == Some(call_id) && e.provider == call.provider)
                .collect();
            body.push_str(&alerts_table(console, &mine, false));
        }
        Err(e) => {
            let _ = write!(body, "<p class=\"error\">{}</p>", text(&e.to_string()));
        }
    }
    body.push_str(&footer(
        &format!("summary and {} event items", events.len()),
        started,
    ));
    Answer::Html(page(&format!("Call {call_id}"), "/calls", &body))
}

// ---------------------------------------------------------------- a caller

pub async fn caller(console: &Console, number: &str, query: &Query) -> Answer {
    let started = std::time::Instant::now();
    let Some(phone) = PhoneNumber::read(number) else {
        return Answer::BadRequest(format!("{number:?} is not a number"));
    };
    let store = &console.store;
    let (timeline, contact) = tokio::join!(
        store.timeline_since(&phone, None, 100),
        store.contact(&phone)
    );
    let (timeline, contact) = match (timeline, contact) {
        (Ok(t), Ok(c)) => (t, c),
        (Err(e), _) | (_, Err(e)) => return storage_page("Caller", "/calls", &e),
    };
    let mut body = String::new();
    body.push_str("<h2>Contact record</h2>");
    match &contact {
        Some(c) => {
            let _ = write!(
                body,
                "<pre id=\"contact\">{}</pre><p><a href=\"/contacts/{}\">Edit the contact</a></p>",
                block(&serde_json::to_string_pretty(c).unwrap_or_default()),
                seg(phone.as_str())
            );
        }
        None => {
            let _ = write!(
                body,
                "<p class=\"empty\">No contact record. <a href=\"/contacts/{}\">Add one</a>.</p>",
                seg(phone.as_str())
            );
        }
    }
    // What a Retell agent would be told if this caller called now: the
    // same decision code retell-inbound runs, for each number they called.
    body.push_str("<h2>What the agent would get now</h2>");
    let calls: Vec<callhooks::store::CallSummary> = timeline
        .iter()
        .filter_map(|e| match e {
            TimelineEntry::Call(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    // The number asked for, else the one they last called (Retell first).
    let called: Option<PhoneNumber> = get(query, "to").and_then(PhoneNumber::read).or_else(|| {
        calls
            .iter()
            .find(|c| c.provider == "retell")
            .or(calls.first())
            .and_then(|c| c.to.as_deref())
            .and_then(PhoneNumber::read)
    });
    let _ = write!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/caller/{}\"><label>If they called<input name=\"to\" id=\"to\" value=\"{}\" placeholder=\"+18339664835\"></label><button type=\"submit\">Show</button></form>",
        seg(phone.as_str()),
        text(called.as_ref().map(PhoneNumber::as_str).unwrap_or(""))
    );
    match dry_run_answer(
        console,
        Provider::Retell,
        Some(phone.clone()),
        called,
        Timestamp::now(),
    )
    .await
    {
        Ok(html) => body.push_str(&html),
        Err(e) => {
            let _ = write!(body, "<p class=\"error\">{}</p>", text(&e.to_string()));
        }
    }
    body.push_str("<h2>Calls and messages</h2>");
    let rows: Vec<Vec<String>> = timeline
        .iter()
        .map(|entry| match entry {
            TimelineEntry::Call(c) => vec![
                format!(
                    "<a href=\"{}\">{}</a>",
                    call_link(&c.provider, &c.call_id),
                    when(console, &c.first_seen_at)
                ),
                "call".into(),
                text(&c.provider),
                phone_link(c.from.as_deref()),
                phone_link(c.to.as_deref()),
                outcome_cell(CallOutcome::of(c, None)),
            ],
            TimelineEntry::Sms(m) => vec![
                when(console, &m.first_seen_at),
                "SMS".into(),
                text(&m.provider),
                phone_link(m.from.as_deref()),
                phone_link(m.to.as_deref()),
                text(m.message_text.as_deref().unwrap_or("")),
            ],
        })
        .collect();
    body.push_str(&table(
        &[
            "first seen",
            "what",
            "provider",
            "from",
            "to",
            "outcome / text",
        ],
        &rows,
    ));
    body.push_str(&footer(
        &format!("{} timeline items and the contact", timeline.len()),
        started,
    ));
    Answer::Html(page(&format!("Caller {}", phone.as_str()), "/calls", &body))
}

// -------------------------------------------------------------------- SMS

pub async fn sms(console: &Console, query: &Query) -> Answer {
    let started = std::time::Instant::now();
    let store = &console.store;
    let number = get(query, "number").and_then(PhoneNumber::read);
    // Without a number: the day index, today and the day before (`days`).
    let days: i64 = get(query, "days")
        .and_then(|d| d.parse().ok())
        .unwrap_or(2)
        .clamp(1, 31);
    let entries = match &number {
        Some(n) => store.timeline_since(n, None, 60).await,
        None => {
            let now = Timestamp::now();
            let since = time::to_key(
                now.checked_sub(jiff::SignedDuration::from_hours(24 * days))
                    .unwrap_or(now),
            );
            let mut day = jiff::tz::Offset::UTC.to_datetime(now).date();
            let mut found: Vec<TimelineEntry> = Vec::new();
            let mut failed = None;
            for _ in 0..days {
                match store.day_activity(day, Some(&since), None).await {
                    Ok(entries) => found.extend(
                        entries
                            .into_iter()
                            .filter(|e| matches!(e, TimelineEntry::Sms(_))),
                    ),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
                if found.len() >= 60 {
                    break;
                }
                match day.yesterday() {
                    Ok(d) => day = d,
                    Err(_) => break,
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(found),
            }
        }
    };
    let entries = match entries {
        Ok(e) => e,
        Err(e) => return storage_page("SMS", "/sms", &e),
    };
    let messages: Vec<&callhooks::store::SmsSummary> = entries
        .iter()
        .filter_map(|e| match e {
            TimelineEntry::Sms(m) => Some(m),
            _ => None,
        })
        .take(40)
        .collect();
    // Each message's status history (pattern 4), side by side.
    let histories = super::reads::join_all(
        messages
            .iter()
            .map(|m| async move {
                match Provider::parse(&m.provider) {
                    Some(p) => store.sms_message(p, &m.message_id).await.ok().flatten(),
                    None => None,
                }
            })
            .collect(),
    )
    .await;
    let mut body = format!(
        "<form class=\"filters\" method=\"get\" action=\"/sms\"><label>Number<input name=\"number\" id=\"number\" value=\"{}\" placeholder=\"+14155552671\"></label><button type=\"submit\">Show</button></form>",
        text(get(query, "number").unwrap_or(""))
    );
    // Conversations: messages grouped by the pair of numbers.
    let mut conversations: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        let mut pair = [
            m.from.clone().unwrap_or_default(),
            m.to.clone().unwrap_or_default(),
        ];
        pair.sort();
        conversations
            .entry((pair[0].clone(), pair[1].clone()))
            .or_default()
            .push(i);
    }
    if conversations.is_empty() {
        body.push_str("<p class=\"empty\">No messages.</p>");
    }
    for ((a, b), indexes) in &conversations {
        let _ = write!(
            body,
            "<h2>{} ↔ {}</h2>",
            phone_link(Some(a)),
            phone_link(Some(b))
        );
        let rows: Vec<Vec<String>> = indexes
            .iter()
            .map(|&i| {
                let m = messages[i];
                let history = histories[i]
                    .as_ref()
                    .map(|r| {
                        r.history
                            .iter()
                            .map(|h| {
                                format!(
                                    "{} {}{}",
                                    text(&h.status),
                                    when(console, &h.at),
                                    h.message
                                        .as_deref()
                                        .map(|m| format!(" ({})", text(m)))
                                        .unwrap_or_default()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("<br>")
                    })
                    .unwrap_or_default();
                vec![
                    when(console, &m.first_seen_at),
                    text(&m.provider),
                    phone_link(m.from.as_deref()),
                    text(m.message_text.as_deref().unwrap_or("")),
                    m.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    history,
                ]
            })
            .collect();
        body.push_str(&table(
            &[
                "first seen",
                "provider",
                "from",
                "text",
                "status",
                "status history",
            ],
            &rows,
        ));
    }
    body.push_str(&footer(
        &format!("{} messages and their histories", messages.len()),
        started,
    ));
    Answer::Html(page("SMS", "/sms", &body))
}

// ----------------------------------------------------------------- alerts

fn alerts_table(console: &Console, entries: &[&LedgerEntry], with_replay: bool) -> String {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .rev()
        .map(|e| {
            let state = if e.replays > 0 {
                format!("{} (replayed {}×)", e.state.as_str(), e.replays)
            } else {
                e.state.as_str().to_string()
            };
            let class = match e.state {
                AlertState::Published => "good",
                AlertState::Failed => "bad",
                _ => "warn",
            };
            let target = match (&e.call_id, &e.message_id) {
                (Some(c), _) => {
                    format!("<a href=\"{}\">{}</a>", call_link(&e.provider, c), text(c))
                }
                (_, Some(m)) => text(m),
                _ => String::new(),
            };
            let mut row = vec![
                when(console, &e.occurred_at),
                text(&e.alert_type),
                text(&e.provider),
                target,
                format!("<span class=\"{class}\">{}</span>", text(&state)),
                text(
                    e.sns_message_id
                        .as_deref()
                        .or(e.last_error.as_deref())
                        .unwrap_or(""),
                ),
            ];
            if with_replay {
                row.push(format!(
                    "<a class=\"replay\" href=\"/alerts/replay?pk={}&amp;sk={}\">Replay…</a>",
                    q(&e.pk),
                    q(&e.sk)
                ));
            }
            row
        })
        .collect();
    let mut headers = vec![
        "occurred",
        "type",
        "provider",
        "call or message",
        "state",
        "SNS message / error",
    ];
    if with_replay {
        headers.push("");
    }
    format!("<div id=\"alerts\">{}</div>", table(&headers, &rows))
}

pub async fn alerts(console: &Console, query: &Query) -> Answer {
    let started = std::time::Instant::now();
    let days: i64 = get(query, "days")
        .and_then(|d| d.parse().ok())
        .unwrap_or(7)
        .clamp(1, 90);
    let now = Timestamp::now();
    let since = now
        .checked_sub(jiff::SignedDuration::from_hours(24 * days))
        .unwrap_or(now);
    let entries = match console.ledger.list(since, now).await {
        Ok(e) => e,
        Err(e) => return storage_page("Alerts", "/alerts", &e),
    };
    let state = get(query, "state");
    let shown: Vec<&LedgerEntry> = entries
        .iter()
        .filter(|e| match state {
            Some("failed") => e.state != AlertState::Published,
            Some("replayed") => e.replays > 0,
            Some("published") => e.state == AlertState::Published,
            _ => true,
        })
        .collect();
    let mut body = String::from("<form class=\"filters\" method=\"get\" action=\"/alerts\"><label>Days<input name=\"days\" value=\"");
    let _ = write!(body, "{days}\" size=\"4\"></label><label>State");
    body.push_str(&select(
        "state",
        &[
            ("", "any"),
            ("published", "published"),
            ("failed", "failed or stalled"),
            ("replayed", "replayed"),
        ],
        state.unwrap_or(""),
    ));
    body.push_str("</label><button type=\"submit\">Show</button></form>");
    if let Some(done) = get(query, "done") {
        let _ = write!(
            body,
            "<p class=\"notice\" id=\"replay-result\">{}</p>",
            text(done)
        );
    }
    body.push_str(&alerts_table(console, &shown, console.publisher.is_some()));
    if console.publisher.is_none() {
        body.push_str("<p class=\"empty\">Replay needs the alerts topic: start the console with --topic-arn or ALERTS_TOPIC_ARN.</p>");
    }
    body.push_str(&footer(
        &format!("{} ledger entries of {days} days", entries.len()),
        started,
    ));
    Answer::Html(page("Alerts", "/alerts", &body))
}

pub async fn replay_confirm(console: &Console, query: &Query) -> Answer {
    let (Some(pk), Some(sk)) = (get(query, "pk"), get(query, "sk")) else {
        return Answer::BadRequest("which alert: pk and sk".into());
    };
    let key = LedgerKey {
        pk: pk.to_string(),
        sk: sk.to_string(),
    };
    let entry = match console.ledger.get(&key).await {
        Ok(Some(e)) => e,
        Ok(None) => return Answer::NotFound("no such alert".into()),
        Err(e) => return storage_page("Replay", "/alerts", &e),
    };
    let mut body = fields(&[
        ("alert", text(&entry.alert_id)),
        ("type", text(&entry.alert_type)),
        ("state", text(entry.state.as_str())),
        ("subject", text(&entry.subject)),
    ]);
    let again = entry.state == AlertState::Published;
    let _ = write!(
        body,
        "<p>{}</p><form method=\"post\" action=\"/alerts/replay\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><input type=\"hidden\" name=\"pk\" value=\"{}\"><input type=\"hidden\" name=\"sk\" value=\"{}\">{}<button type=\"submit\" class=\"danger\" id=\"confirm-replay\">Publish it again</button> <a href=\"/alerts\">Cancel</a></form>",
        if again { "This alert was published already: subscribers will get it once more, marked replayed." } else { "This alert was not published: it will be published now, marked replayed." },
        text(&console.guard.token),
        text(pk),
        text(sk),
        if again { "<input type=\"hidden\" name=\"again\" value=\"1\">" } else { "" }
    );
    Answer::Html(page("Replay this alert?", "/alerts", &body))
}

pub async fn replay(console: &Console, form: &Query) -> Answer {
    let (Some(pk), Some(sk)) = (get(form, "pk"), get(form, "sk")) else {
        return Answer::BadRequest("which alert: pk and sk".into());
    };
    let Some(publisher) = &console.publisher else {
        return Answer::BadRequest("no alerts topic: start the console with --topic-arn".into());
    };
    let dispatch = AlertDispatch {
        ledger: &console.ledger,
        publisher,
        dead_letters: None::<&callhooks::alerts::stream::SqsDeadLetters>,
        clock: Clock::default(),
        deadline: None,
    };
    let key = LedgerKey {
        pk: pk.to_string(),
        sk: sk.to_string(),
    };
    let again = get(form, "again").is_some();
    let message = match dispatch.replay(&key, again).await {
        Ok(Replayed::Published(_, id)) => format!("Published again: SNS message {id}."),
        Ok(Replayed::AlreadyPublished(_)) => "Already published: nothing sent.".to_string(),
        Ok(Replayed::Busy(_)) => {
            "The alerts function is publishing it now: look again in a minute.".to_string()
        }
        Ok(Replayed::Failed(_, error)) => format!("SNS refused it again: {error}"),
        Err(e) => format!("The ledger could not be read: {e}"),
    };
    Answer::Redirect(format!("/alerts?done={}", q(&message)))
}

// ------------------------------------------------------------ unrecognized

pub async fn unrecognized(console: &Console) -> Answer {
    let started = std::time::Instant::now();
    let list = match console.store.unrecognized_deliveries(None, 100).await {
        Ok(l) => l,
        Err(e) => return storage_page("Unrecognized deliveries", "/unrecognized", &e),
    };
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                format!(
                    "<a href=\"/unrecognized/{}/{}\">{}</a>",
                    seg(&d.provider),
                    seg(&d.id),
                    when(console, &d.received_at)
                ),
                text(&d.route),
                text(&d.provider),
                text(&d.reason),
                d.body_bytes.to_string(),
                text(d.content_type.as_deref().unwrap_or("")),
            ]
        })
        .collect();
    let mut body = String::from("<div id=\"unrecognized\">");
    body.push_str(&table(
        &[
            "received",
            "route",
            "provider",
            "reason",
            "bytes",
            "content type",
        ],
        &rows,
    ));
    body.push_str("</div>");
    body.push_str(&footer(&format!("{} deliveries", list.len()), started));
    Answer::Html(page("Unrecognized deliveries", "/unrecognized", &body))
}

pub async fn unrecognized_one(console: &Console, provider: &str, id: &str) -> Answer {
    let pk = callhooks::store::keys::unrecognized_pk(provider, id);
    let items = match console
        .store
        .query_prefix(&pk, callhooks::store::keys::UNRECOGNIZED_SK)
        .await
    {
        Ok(items) => callhooks::store::assemble_parts(items),
        Err(e) => return storage_page("Unrecognized delivery", "/unrecognized", &e),
    };
    let Some(item) = items.first() else {
        return Answer::NotFound("no such delivery".into());
    };
    let d = callhooks::store::operator::UnrecognizedDelivery::from_item(item);
    let raw = attr_text(item, "raw").unwrap_or_default();
    let mut body = fields(&[
        ("received", when(console, &d.received_at)),
        ("route", text(&d.route)),
        ("provider", text(&d.provider)),
        ("reason", text(&d.reason)),
        (
            "content type",
            text(d.content_type.as_deref().unwrap_or("")),
        ),
        ("user agent", text(d.user_agent.as_deref().unwrap_or(""))),
        ("bytes", d.body_bytes.to_string()),
    ]);
    let _ = write!(
        body,
        "<h2>Body</h2><pre id=\"raw-body\">{}</pre>",
        block(&raw)
    );
    Answer::Html(page("Unrecognized delivery", "/unrecognized", &body))
}

// ----------------------------------------------------- numbers and contacts

pub async fn numbers(console: &Console) -> Answer {
    let started = std::time::Instant::now();
    let configs = match console.store.number_configs().await {
        Ok(c) => c,
        Err(e) => return storage_page("Numbers", "/numbers", &e),
    };
    let rows: Vec<Vec<String>> = configs
        .iter()
        .map(|c| {
            vec![
                format!(
                    "<a href=\"/numbers/{}\">{}</a>",
                    seg(c.number.as_str()),
                    text(c.number.as_str())
                ),
                text(c.label.as_deref().unwrap_or("")),
                if c.voxtelesys.is_some() {
                    "yes".into()
                } else {
                    String::new()
                },
                if c.retell.is_some() {
                    "yes".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    let mut body = String::from("<form class=\"filters\" method=\"get\" action=\"/numbers/new\"><label>Number<input name=\"number\" placeholder=\"+18339664835\"></label><button type=\"submit\">Add or edit</button></form>");
    body.push_str(&table(&["number", "label", "Voxtelesys", "Retell"], &rows));
    body.push_str("<p class=\"empty\">Listing numbers reads the whole table (their one Scan); each page of calls does not.</p>");
    body.push_str(&footer("the numbers' Scan", started));
    Answer::Html(page("Numbers", "/numbers", &body))
}

fn editor(kind: &str, number: &str, document: &str, error: Option<&str>, token: &str) -> String {
    let mut out = String::new();
    if let Some(e) = error {
        let _ = write!(out, "<p class=\"error\" id=\"save-error\">{}</p>", text(e));
    }
    let _ = write!(
        out,
        "<form method=\"post\" action=\"/{kind}/{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><textarea name=\"document\" id=\"document\" spellcheck=\"false\">{}</textarea><p><button type=\"submit\" id=\"save\">Save</button></p></form>",
        seg(number),
        text(token),
        block(document)
    );
    out
}

pub async fn number_edit(console: &Console, number: &str, saved: bool) -> Answer {
    let Ok(phone) = PhoneNumber::parse(number) else {
        return Answer::BadRequest(format!("{number:?} is not an E.164 number"));
    };
    let config = match console.store.number_config(&phone).await {
        Ok(c) => c,
        Err(e) => return storage_page("Number", "/numbers", &e),
    };
    let document = match &config {
        Some(c) => crate::safe::json_output(&serde_json::to_string_pretty(c).unwrap_or_default()),
        None => format!(
            "{{\n  \"number\": \"{}\",\n  \"label\": \"\"\n}}",
            phone.as_str()
        ),
    };
    let mut body = String::new();
    if saved {
        body.push_str("<p class=\"notice\" id=\"saved\">Saved. Warm functions see the change within NUMBER_CONFIG_CACHE_SECONDS (default 30 s).</p>");
    }
    body.push_str(&editor(
        "numbers",
        phone.as_str(),
        &document,
        None,
        &console.guard.token,
    ));
    let _ = write!(
        body,
        "<p><a href=\"/dry-run?to={}\">Dry run this number</a></p>",
        q(phone.as_str())
    );
    Answer::Html(page(
        &format!("Number {}", phone.as_str()),
        "/numbers",
        &body,
    ))
}

/// A saved document, which must be the one of the page it is saved from.
fn document_for<T, E: std::error::Error>(
    parsed: Result<T, E>,
    number_of: impl Fn(&T) -> &PhoneNumber,
    page: &str,
) -> Result<T, DocumentRefused<E>> {
    let document = parsed.map_err(DocumentRefused::Invalid)?;
    let named = number_of(&document).as_str();
    if named == page {
        Ok(document)
    } else {
        Err(DocumentRefused::OtherNumber {
            named: named.to_string(),
            page: page.to_string(),
        })
    }
}

/// Why an editor page did not save its document.
#[derive(Debug, thiserror::Error)]
enum DocumentRefused<E: std::error::Error> {
    #[error(transparent)]
    Invalid(E),
    #[error("the document is for {named}, not {page}")]
    OtherNumber { named: String, page: String },
}

pub async fn number_save(console: &Console, number: &str, form: &Query) -> Answer {
    let document = form.get("document").cloned().unwrap_or_default();
    let checked = document_for(crate::number_document(&document), |c| &c.number, number);
    match checked {
        Ok(config) => match console.store.put_number_config(&config).await {
            Ok(()) => Answer::Redirect(format!("/numbers/{}?saved=1", seg(number))),
            Err(e) => storage_page("Number", "/numbers", &e),
        },
        Err(e) => Answer::Html(page(
            &format!("Number {number}"),
            "/numbers",
            &editor(
                "numbers",
                number,
                &document,
                Some(&e.to_string()),
                &console.guard.token,
            ),
        )),
    }
}

pub async fn contact_edit(console: &Console, number: &str, saved: bool) -> Answer {
    let Ok(phone) = PhoneNumber::parse(number) else {
        return Answer::BadRequest(format!("{number:?} is not an E.164 number"));
    };
    let contact = match console.store.contact(&phone).await {
        Ok(c) => c,
        Err(e) => return storage_page("Contact", "/contacts", &e),
    };
    let document = match &contact {
        Some(c) => crate::safe::json_output(&serde_json::to_string_pretty(c).unwrap_or_default()),
        None => format!(
            "{{\n  \"number\": \"{}\",\n  \"name\": \"\"\n}}",
            phone.as_str()
        ),
    };
    let mut body = String::new();
    if saved {
        body.push_str("<p class=\"notice\" id=\"saved\">Saved.</p>");
    }
    body.push_str(&editor(
        "contacts",
        phone.as_str(),
        &document,
        None,
        &console.guard.token,
    ));
    let _ = write!(
        body,
        "<p><a href=\"/caller/{}\">This caller's calls</a></p>",
        seg(phone.as_str())
    );
    Answer::Html(page(
        &format!("Contact {}", phone.as_str()),
        "/contacts",
        &body,
    ))
}

pub async fn contacts(query: &Query) -> Answer {
    if let Some(n) = get(query, "number") {
        return match PhoneNumber::parse(n) {
            Ok(p) => Answer::Redirect(format!("/contacts/{}", seg(p.as_str()))),
            Err(e) => Answer::BadRequest(format!("{n:?}: {e}")),
        };
    }
    let body = "<form class=\"filters\" method=\"get\" action=\"/contacts\"><label>Caller's number<input name=\"number\" id=\"number\" placeholder=\"+14155552671\"></label><button type=\"submit\">Open</button></form><p class=\"empty\">Contacts are found by number (no listing: that would read the whole table).</p>";
    Answer::Html(page("Contacts", "/contacts", body))
}

pub async fn contact_save(console: &Console, number: &str, form: &Query) -> Answer {
    let document = form.get("document").cloned().unwrap_or_default();
    let checked = document_for(crate::contact_document(&document), |c| &c.number, number);
    match checked {
        Ok(contact) => match console.store.put_contact(&contact).await {
            Ok(()) => Answer::Redirect(format!("/contacts/{}?saved=1", seg(number))),
            Err(e) => storage_page("Contact", "/contacts", &e),
        },
        Err(e) => Answer::Html(page(
            &format!("Contact {number}"),
            "/contacts",
            &editor(
                "contacts",
                number,
                &document,
                Some(&e.to_string()),
                &console.guard.token,
            ),
        )),
    }
}

// ---------------------------------------------------------------- dry run

/// What the functions would answer: Retell's decision (agent, the rule that
/// chose it or rejected the call, the dynamic variables) and Voxtelesys'
/// (forward, voicemail or hang up), from the same code they run, with the
/// stored configuration, contact and caller history.
async fn dry_run_answer(
    console: &Console,
    provider: Provider,
    from: Option<PhoneNumber>,
    to: Option<PhoneNumber>,
    at: Timestamp,
) -> Result<String, StoreError> {
    let store = &console.store;
    let config = match &to {
        Some(n) => store.number_config(n).await?,
        None => None,
    };
    let mut out = String::new();
    let show_retell =
        provider == Provider::Retell || config.as_ref().is_some_and(|c| c.retell.is_some());
    let show_vox =
        provider == Provider::Voxtelesys || config.as_ref().is_some_and(|c| c.voxtelesys.is_some());
    if show_retell {
        let (contact, records) = match &from {
            Some(f) => (
                store.contact(f).await?,
                Some(store.caller_contact_and_calls(f, 20).await?),
            ),
            None => (None, None),
        };
        let history = records
            .as_ref()
            .map(|r| caller_history(&r.calls, r.more, to.as_ref(), at));
        let request = InboundRequest {
            kind: InboundKind::Call,
            from: from.clone(),
            to: to.clone(),
            agent_id: None,
            agent_version: None,
            event_timestamp: Some(at),
            custom_sip_headers: BTreeMap::new(),
            anomalies: Vec::new(),
        };
        let lookup = match &config {
            Some(c) => ConfigLookup::Found(c),
            None => ConfigLookup::Absent,
        };
        let decision = decide(
            &request,
            lookup,
            contact.as_ref(),
            history.as_ref(),
            None,
            at,
        );
        let body = decision.answer.body();
        let verdict = match decision.rejected_by {
            Some(rule) => format!(
                "<b class=\"bad\">rejected</b> by rule <b>{}</b>",
                text(rule)
            ),
            None => match &body.override_agent_id {
                Some(agent) => format!(
                    "agent <b>{}</b>, chosen by <b>{}</b>",
                    text(agent),
                    text(decision.agent_source)
                ),
                None => "the number's own agent in Retell (no rule chose one)".to_string(),
            },
        };
        let _ = write!(out, "<p class=\"verdict\">Retell: {verdict}.</p>");
        if !body.dynamic_variables.is_empty() {
            let pairs: Vec<(&str, String)> = body
                .dynamic_variables
                .iter()
                .map(|(k, v)| (k.as_str(), text(v)))
                .collect();
            out.push_str(&fields(&pairs));
        }
    }
    if show_vox {
        let vox = config.as_ref().and_then(|c| c.voxtelesys.as_ref());
        let verdict = match answer_voice(vox, "(the default message)") {
            CallAnswer::Forward { numbers, ring_timeout_s, .. } => format!(
                "forward to <b>{}</b> for {ring_timeout_s} s, then voicemail if set (rule: voxtelesys.forward_to)",
                text(&numbers.join(", "))
            ),
            CallAnswer::Voicemail { .. } => "voicemail (no forward_to; voxtelesys.voicemail)".to_string(),
            CallAnswer::HangUp { message } => format!("say {} and hang up (no Voxtelesys configuration)", text(message.as_deref().unwrap_or(""))),
            CallAnswer::Nothing => "nothing".into(),
        };
        let _ = write!(out, "<p class=\"verdict\">Voxtelesys: {verdict}.</p>");
    }
    if out.is_empty() {
        out.push_str("<p class=\"verdict\">This number has no configuration: Retell keeps its own agent, Voxtelesys callers hear the default message.</p>");
    }
    Ok(out)
}

pub async fn dry_run(console: &Console, query: &Query) -> Answer {
    let from_text = get(query, "from").unwrap_or("");
    let to_text = get(query, "to").unwrap_or("");
    let at_text = get(query, "at").unwrap_or("");
    let mut body =
        String::from("<form class=\"filters\" method=\"get\" action=\"/dry-run\" id=\"dry-run\">");
    for (name, label, value, hint) in [
        (
            "from",
            "Caller",
            from_text,
            "+14155552671 (empty: withheld)",
        ),
        ("to", "Calls our number", to_text, "+18339664835"),
        ("at", "At", at_text, "now, or 2026-12-07T09:30"),
    ] {
        let _ = write!(body, "<label>{label}<input name=\"{name}\" id=\"{name}\" value=\"{}\" placeholder=\"{hint}\"></label>", text(value));
    }
    body.push_str("<button type=\"submit\">What happens?</button></form>");
    if !to_text.is_empty() {
        let to = match PhoneNumber::parse(to_text) {
            Ok(t) => t,
            Err(e) => return Answer::BadRequest(format!("to {to_text:?}: {e}")),
        };
        let from = if from_text.is_empty() {
            None
        } else {
            match PhoneNumber::parse(from_text) {
                Ok(f) => Some(f),
                Err(e) => return Answer::BadRequest(format!("from {from_text:?}: {e}")),
            }
        };
        let at = if at_text.is_empty() || at_text == "now" {
            Timestamp::now()
        } else {
            match at_text.parse::<Timestamp>() {
                Ok(t) => t,
                Err(_) => match at_text
                    .parse::<jiff::civil::DateTime>()
                    .ok()
                    .and_then(|dt| dt.to_zoned(console.tz.clone()).ok())
                {
                    Some(z) => z.timestamp(),
                    None => {
                        return Answer::BadRequest(format!(
                            "at {at_text:?}: give 2026-12-07T09:30 (local) or RFC 3339"
                        ))
                    }
                },
            }
        };
        match dry_run_answer(console, Provider::Retell, from, Some(to), at).await {
            Ok(html) => {
                let _ = write!(
                    body,
                    "<div id=\"dry-run-answer\"><h2>At {}</h2>{html}</div>",
                    when(console, &time::to_key(at))
                );
            }
            Err(e) => return storage_page("Routing dry run", "/dry-run", &e),
        }
    }
    Answer::Html(page("Routing dry run", "/dry-run", &body))
}
