//! Weekly schedule windows (a number's Retell routing): is this moment
//! inside a window, in the window's own time zone?
//!
//! A window is wall-clock time in an IANA zone, so "09:00-17:00
//! America/New_York" follows daylight saving time. `start` is inclusive and
//! `end` exclusive; `end` before `start` wraps past midnight and the window
//! belongs to the day it starts on (a `fri` 22:00-06:00 window covers
//! Saturday 03:00); `start` equal to `end` is the whole day. Time zones come
//! from the tz database bundled into the binary by jiff (Lambda's image has
//! none).

use crate::config::{AgentChoiceError, RetellConfig, ScheduleWindow};
use crate::time::Timestamp;
use jiff::tz::TimeZone;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTES_PER_DAY: u16 = 24 * 60;

/// A [`ScheduleWindow`] checked and ready to evaluate.
#[derive(Clone, Debug)]
pub struct Window {
    /// Monday first.
    days: [bool; 7],
    start: u16,
    end: u16,
    time_zone: TimeZone,
}

impl Window {
    /// Checks a window; the error names the field (`time_zone: ...`).
    pub fn parse(window: &ScheduleWindow) -> Result<Self, WindowError> {
        if window.days.is_empty() {
            return Err(WindowError::NoDays);
        }
        let mut days = [false; 7];
        for (index, day) in window.days.iter().enumerate() {
            let weekday = DAYS
                .iter()
                .position(|d| d.eq_ignore_ascii_case(day.trim()))
                .ok_or_else(|| WindowError::UnknownDay {
                    index,
                    day: day.clone(),
                })?;
            days[weekday] = true;
        }
        let start = minutes(&window.start, false).map_err(WindowError::Start)?;
        let end = minutes(&window.end, true).map_err(WindowError::End)?;
        let time_zone = TimeZone::get(&window.time_zone)
            .map_err(|_| WindowError::TimeZone(window.time_zone.clone()))?;
        Ok(Window {
            days,
            start,
            end: end % MINUTES_PER_DAY,
            time_zone,
        })
    }

    /// Whether `at` falls inside the window.
    pub fn contains(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.time_zone.clone());
        let day = usize::from(local.weekday().to_monday_zero_offset() as u8);
        let previous_day = (day + 6) % 7;
        let now = u16::from(local.hour() as u8) * 60 + u16::from(local.minute() as u8);
        if self.start == self.end {
            self.days[day]
        } else if self.start < self.end {
            self.days[day] && self.start <= now && now < self.end
        } else {
            (self.days[day] && now >= self.start) || (self.days[previous_day] && now < self.end)
        }
    }
}

/// What is wrong with a schedule window, naming its field (`time_zone: ...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("days: must name at least one day (mon..sun)")]
    NoDays,
    #[error("days[{index}]: {day:?} is not one of mon..sun")]
    UnknownDay { index: usize, day: String },
    #[error("start: {0}")]
    Start(NotTimeOfDay),
    #[error("end: {0}")]
    End(NotTimeOfDay),
    #[error("time_zone: {0:?} is not an IANA time zone name (e.g. America/New_York)")]
    TimeZone(String),
}

/// Text that is not `HH:MM`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time of day as HH:MM (00:00 to 23:59)")]
pub struct NotTimeOfDay(pub String);

/// What is wrong with a number's Retell part, named as in the document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RetellConfigError {
    /// `path` is the window's (`retell.chat.schedules[1]`).
    #[error("{path}.{error}")]
    Window { path: String, error: WindowError },
    #[error(transparent)]
    Agent(#[from] AgentChoiceError),
}

/// `HH:MM` as minutes after midnight; `24:00` only as an end.
fn minutes(text: &str, is_end: bool) -> Result<u16, NotTimeOfDay> {
    let bad = || NotTimeOfDay(text.to_string());
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    match (h, m) {
        (24, 0) if is_end => Ok(MINUTES_PER_DAY),
        (0..=23, 0..=59) => Ok(h * 60 + m),
        _ => Err(bad()),
    }
}

/// Checks every schedule window of a number's Retell part, naming the field
/// as it appears in the document (`retell.schedules[1].time_zone: ...`).
pub fn check_retell_config(config: &RetellConfig) -> Result<(), RetellConfigError> {
    let check = |path: String, window: &ScheduleWindow| {
        Window::parse(window)
            .map(drop)
            .map_err(|error| RetellConfigError::Window { path, error })
    };
    for (i, window) in config.schedules.iter().enumerate() {
        check(format!("retell.schedules[{i}]"), window)?;
    }
    if let Some(chat) = &config.chat {
        for (i, window) in chat.schedules.iter().enumerate() {
            check(format!("retell.chat.schedules[{i}]"), window)?;
        }
    }
    // Every agent id (contacts, default, schedules, chat's) is checked there.
    Ok(crate::config::check_agent_overrides(config)?)
}

/// The first window containing `at`. A window that does not parse (a
/// document stored without `callhooks`, which checks it) never matches.
pub fn first_matching(windows: &[ScheduleWindow], at: Timestamp) -> Option<&ScheduleWindow> {
    windows.iter().find(|w| match Window::parse(w) {
        Ok(window) => window.contains(at),
        Err(error) => {
            tracing::warn!(%error, "schedule window ignored");
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentChoice;

    fn window(days: &[&str], start: &str, end: &str, tz: &str) -> ScheduleWindow {
        ScheduleWindow {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            time_zone: tz.into(),
            agent: AgentChoice {
                agent_id: "a".into(),
                ..Default::default()
            },
        }
    }

    /// A UTC instant from RFC 3339.
    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn contains(w: &ScheduleWindow, text: &str) -> bool {
        Window::parse(w).unwrap().contains(at(text))
    }

    #[test]
    fn weekdays_and_hours() {
        let w = window(
            &["mon", "tue", "wed", "thu", "fri"],
            "09:00",
            "17:00",
            "UTC",
        );
        assert!(contains(&w, "2026-11-23T09:00:00Z")); // Monday, start inclusive
        assert!(contains(&w, "2026-11-27T16:59:59Z")); // Friday
        assert!(!contains(&w, "2026-11-27T17:00:00Z")); // end exclusive
        assert!(!contains(&w, "2026-11-23T08:59:59Z"));
        assert!(!contains(&w, "2026-11-28T12:00:00Z")); // Saturday
        let weekend = window(&["SAT", "sun"], "00:00", "00:00", "UTC");
        assert!(contains(&weekend, "2026-11-28T00:00:00Z"));
        assert!(contains(&weekend, "2026-11-29T23:59:59Z"));
        assert!(!contains(&weekend, "2026-11-30T00:00:00Z"));
        let late = window(&["mon"], "18:00", "24:00", "UTC");
        assert!(contains(&late, "2026-11-23T23:59:00Z"));
        assert!(!contains(&late, "2026-11-24T00:00:00Z"));
    }

    #[test]
    fn midnight_wrap_belongs_to_the_starting_day() {
        let w = window(&["fri"], "22:00", "06:00", "UTC");
        assert!(contains(&w, "2026-11-27T22:00:00Z")); // Friday night
        assert!(contains(&w, "2026-11-28T05:59:00Z")); // Saturday early
        assert!(!contains(&w, "2026-11-28T06:00:00Z"));
        assert!(!contains(&w, "2026-11-27T05:00:00Z")); // Friday early: Thursday's
        assert!(!contains(&w, "2026-11-28T22:30:00Z")); // Saturday night
    }

    #[test]
    fn time_zone_and_daylight_saving() {
        let w = window(
            &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "09:00",
            "17:00",
            "America/New_York",
        );
        // Winter (EST, UTC-5): 09:00 local is 14:00 UTC.
        assert!(!contains(&w, "2026-01-12T13:30:00Z"));
        assert!(contains(&w, "2026-01-12T14:00:00Z"));
        // Summer (EDT, UTC-4): 09:00 local is 13:00 UTC.
        assert!(contains(&w, "2026-07-13T13:30:00Z"));
        // The day DST starts (Sunday 8 March 2026) and ends (1 November).
        assert!(contains(&w, "2026-03-08T13:00:00Z"));
        assert!(!contains(&w, "2026-03-07T13:00:00Z"));
        assert!(contains(&w, "2026-11-01T14:00:00Z"));
        assert!(!contains(&w, "2026-11-01T13:30:00Z"));
        // The weekday is the local one: Monday 01:00 in Tokyo is Sunday in UTC.
        let tokyo = window(&["mon"], "00:00", "02:00", "Asia/Tokyo");
        assert!(contains(&tokyo, "2026-11-22T16:30:00Z"));
    }

    #[test]
    fn bad_windows_name_the_field() {
        let cases = [
            (window(&[], "09:00", "17:00", "UTC"), "days"),
            (window(&["monday"], "09:00", "17:00", "UTC"), "days[0]"),
            (window(&["mon"], "9:00", "17:00", "UTC"), "start"),
            (window(&["mon"], "24:00", "17:00", "UTC"), "start"),
            (window(&["mon"], "09:00", "17:60", "UTC"), "end"),
            (
                window(&["mon"], "09:00", "17:00", "Mars/Olympus_Mons"),
                "time_zone",
            ),
            (window(&["mon"], "09:00", "17:00", "EST5EDT6"), "time_zone"),
        ];
        for (w, field) in cases {
            let err = Window::parse(&w).unwrap_err();
            assert!(err.to_string().starts_with(&format!("{field}: ")), "{err}");
        }
        let config = RetellConfig {
            schedules: vec![
                window(&["mon"], "09:00", "17:00", "UTC"),
                window(&["mon"], "09:00", "17:00", "Nowhere/City"),
            ],
            ..Default::default()
        };
        let err = check_retell_config(&config).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("retell.schedules[1].time_zone: "),
            "{err}"
        );
    }

    #[test]
    fn first_matching_window_wins_and_broken_ones_never_match() {
        let windows = vec![
            window(&["mon"], "09:00", "17:00", "Bad/Zone"),
            window(&["mon"], "09:00", "12:00", "UTC"),
            window(&["mon"], "00:00", "00:00", "UTC"),
        ];
        let found = first_matching(&windows, at("2026-11-23T10:00:00Z")).unwrap();
        assert_eq!(found.end, "12:00");
        let found = first_matching(&windows, at("2026-11-23T13:00:00Z")).unwrap();
        assert_eq!(found.end, "00:00");
        assert!(first_matching(&windows, at("2026-11-24T13:00:00Z")).is_none());
    }
}
