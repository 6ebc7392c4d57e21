//! Timestamps as the table stores them: UTC, millisecond precision, fixed
//! width, so that string order is time order in sort keys.

pub use jiff::Timestamp;

/// `2026-11-23T15:51:22.123Z`: RFC 3339, always three fractional digits.
pub fn to_key(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A Unix time in seconds as providers send it, if it is a plausible one.
pub fn from_unix_seconds(seconds: i64) -> Option<Timestamp> {
    Timestamp::from_second(seconds).ok()
}

/// The TTL attribute value: Unix seconds `retention_days` after `at`.
pub fn expires_at(at: Timestamp, retention_days: u32) -> i64 {
    at.as_second() + i64::from(retention_days) * 86_400
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_width_and_sort_by_time() {
        let a = Timestamp::from_millisecond(1_700_000_000_000).unwrap();
        let b = Timestamp::from_millisecond(1_700_000_000_005).unwrap();
        assert_eq!(to_key(a), "2023-11-14T22:13:20.000Z");
        assert_eq!(to_key(b), "2023-11-14T22:13:20.005Z");
        assert!(to_key(a) < to_key(b));
    }

    #[test]
    fn ttl_is_retention_days_later() {
        let a = Timestamp::from_second(1_700_000_000).unwrap();
        assert_eq!(expires_at(a, 1), 1_700_086_400);
    }

    #[test]
    fn unix_seconds_out_of_range_are_refused() {
        assert!(from_unix_seconds(1_760_084_505).is_some());
        assert!(from_unix_seconds(i64::MAX).is_none());
    }
}
