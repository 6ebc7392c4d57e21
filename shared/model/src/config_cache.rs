//! Number configurations kept in a warm function's memory for a short time.
//!
//! A number's configuration (access pattern 5) changes when an operator
//! edits it, seldom; the calls that read it come many a minute. Kept for
//! `ttl` after a read, a warm function answers a Voxtelesys voice callback
//! with one DynamoDB request (the write) instead of two, and a Retell call
//! with two instead of three. An edit takes effect within `ttl`
//! (`NUMBER_CONFIG_CACHE_SECONDS`, default 30; 0 reads every time). An
//! absent configuration is kept too: it is an answer as much as a present
//! one. A failed read is not kept.

use crate::config::NumberConfig;
use crate::phone::PhoneNumber;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The environment variable that sets the time to keep a configuration.
pub const CACHE_SECONDS_ENV: &str = "NUMBER_CONFIG_CACHE_SECONDS";
pub const DEFAULT_CACHE_SECONDS: u64 = 30;
/// A bound on entries, so requests naming ever new numbers cannot grow
/// the function's memory: past it, expired entries go, then all of them.
pub const MAX_ENTRIES: usize = 1_000;

#[derive(Debug)]
pub struct NumberConfigCache {
    ttl: Duration,
    entries: Mutex<HashMap<PhoneNumber, Entry>>,
}

#[derive(Debug)]
struct Entry {
    read_at: Instant,
    config: Option<NumberConfig>,
}

impl NumberConfigCache {
    pub fn new(ttl: Duration) -> Self {
        NumberConfigCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A cache that keeps nothing: every call reads the table.
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO)
    }

    /// The time to keep from `NUMBER_CONFIG_CACHE_SECONDS` (whole seconds),
    /// else the default. A value that is not a number is an error, so a
    /// typo does not silently keep configurations longer than meant.
    pub fn from_env() -> Result<Self, CacheSecondsError> {
        let seconds = match std::env::var(CACHE_SECONDS_ENV) {
            Ok(value) if !value.trim().is_empty() => parse_seconds(&value)?,
            _ => DEFAULT_CACHE_SECONDS,
        };
        Ok(Self::new(Duration::from_secs(seconds)))
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The configuration read for `number` less than `ttl` before `now`:
    /// `Some(None)` when the number had none, `None` when not known.
    pub fn get(&self, number: &PhoneNumber, now: Instant) -> Option<Option<NumberConfig>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(number)
            .filter(|entry| now.saturating_duration_since(entry.read_at) < self.ttl)
            .map(|entry| entry.config.clone())
    }

    /// The configuration last read for `number`, however long ago: what a
    /// live call is answered from when the table cannot be read now.
    pub fn get_stale(&self, number: &PhoneNumber) -> Option<Option<NumberConfig>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(number).map(|entry| entry.config.clone())
    }

    /// Keeps what was read for `number` at `read_at`.
    pub fn put(&self, number: &PhoneNumber, config: Option<NumberConfig>, read_at: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(number) {
            entries.retain(|_, entry| read_at.saturating_duration_since(entry.read_at) < self.ttl);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(number.clone(), Entry { read_at, config });
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// [`CACHE_SECONDS_ENV`] holds something other than whole seconds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{CACHE_SECONDS_ENV} must be a whole number of seconds, not {value:?}")]
pub struct CacheSecondsError {
    pub value: String,
}

fn parse_seconds(value: &str) -> Result<u64, CacheSecondsError> {
    value.trim().parse::<u64>().map_err(|_| CacheSecondsError {
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(n: u32) -> PhoneNumber {
        PhoneNumber::parse(&format!("+1415555{n:04}")).unwrap()
    }

    fn config(n: u32) -> NumberConfig {
        NumberConfig {
            number: number(n),
            label: Some(format!("line {n}")),
            voxtelesys: None,
            retell: None,
        }
    }

    #[test]
    fn keeps_a_configuration_until_the_ttl_passes() {
        let cache = NumberConfigCache::new(Duration::from_secs(30));
        let t0 = Instant::now();
        assert_eq!(cache.get(&number(1), t0), None);
        cache.put(&number(1), Some(config(1)), t0);
        assert_eq!(
            cache.get(&number(1), t0 + Duration::from_secs(29)),
            Some(Some(config(1)))
        );
        assert_eq!(cache.get(&number(1), t0 + Duration::from_secs(30)), None);
        assert_eq!(cache.get(&number(2), t0), None);
    }

    #[test]
    fn keeps_an_absent_configuration_as_absent() {
        let cache = NumberConfigCache::new(Duration::from_secs(30));
        let t0 = Instant::now();
        cache.put(&number(1), None, t0);
        assert_eq!(cache.get(&number(1), t0), Some(None));
    }

    #[test]
    fn a_newer_read_replaces_the_older() {
        let cache = NumberConfigCache::new(Duration::from_secs(30));
        let t0 = Instant::now();
        cache.put(&number(1), None, t0);
        let later = t0 + Duration::from_secs(40);
        cache.put(&number(1), Some(config(1)), later);
        assert_eq!(cache.get(&number(1), later), Some(Some(config(1))));
    }

    #[test]
    fn zero_ttl_keeps_nothing() {
        let cache = NumberConfigCache::disabled();
        let t0 = Instant::now();
        cache.put(&number(1), Some(config(1)), t0);
        assert_eq!(cache.get(&number(1), t0), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn entries_are_bounded() {
        let cache = NumberConfigCache::new(Duration::from_secs(30));
        let t0 = Instant::now();
        for n in 0..MAX_ENTRIES as u32 {
            cache.put(&number(n), None, t0);
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        // All still fresh: making room drops them all, keeps the new one.
        cache.put(&number(9_999), None, t0 + Duration::from_secs(1));
        assert_eq!(cache.len(), 1);
        assert_eq!(
            cache.get(&number(9_999), t0 + Duration::from_secs(1)),
            Some(None)
        );
        // Expired ones go first, fresh ones stay.
        let cache = NumberConfigCache::new(Duration::from_secs(30));
        for n in 0..(MAX_ENTRIES as u32 - 1) {
            cache.put(&number(n), None, t0);
        }
        let later = t0 + Duration::from_secs(31);
        cache.put(&number(9_998), None, later);
        cache.put(&number(9_999), None, later);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&number(9_998), later), Some(None));
    }

    #[test]
    fn seconds_parse_or_name_the_variable() {
        assert_eq!(parse_seconds(" 45 "), Ok(45));
        assert_eq!(parse_seconds("0"), Ok(0));
        let error = parse_seconds("30s").unwrap_err();
        assert!(error.to_string().contains(CACHE_SECONDS_ENV), "{error}");
        assert!(parse_seconds("-1").is_err());
    }
}
