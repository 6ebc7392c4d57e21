//! Timestamps as the table stores them: UTC, millisecond precision, fixed
//! width, so that string order is time order in sort keys.

pub use jiff::Timestamp;

/// `2026-11-23T15:51:22.123Z`: RFC 3339, always three fractional digits.
pub fn to_key(at: Timestamp) -> String {
    utc_millis(at, UtcLayout::KEY)
}

/// `20261123T155122123Z`: the moment in a derived call id (UTC, to the
/// millisecond, no separators).
pub fn to_id_stamp(at: Timestamp) -> String {
    utc_millis(at, UtcLayout::ID_STAMP)
}

/// The separators of a UTC millisecond rendering, and the same layout as a
/// strftime format.
struct UtcLayout {
    date: &'static str,
    time: &'static str,
    fraction: &'static str,
    strftime: &'static str,
}

impl UtcLayout {
    const KEY: UtcLayout = UtcLayout {
        date: "-",
        time: ":",
        fraction: ".",
        strftime: "%Y-%m-%dT%H:%M:%S%.3fZ",
    };
    const ID_STAMP: UtcLayout = UtcLayout {
        date: "",
        time: "",
        fraction: "",
        strftime: "%Y%m%dT%H%M%S%3fZ",
    };
}

/// `at` in UTC to the millisecond, laid out as `layout` says. Written digit
/// by digit: every event needs several keys, and strftime interprets its
/// format string on each call. Years before 0 (never a real event) keep
/// strftime's own rendering.
fn utc_millis(at: Timestamp, layout: UtcLayout) -> String {
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    if t.year() < 0 {
        return at.strftime(layout.strftime).to_string();
    }
    let mut out = String::with_capacity(24);
    push_digits(&mut out, t.year(), 4);
    out.push_str(layout.date);
    push_digits(&mut out, t.month(), 2);
    out.push_str(layout.date);
    push_digits(&mut out, t.day(), 2);
    out.push('T');
    push_digits(&mut out, t.hour(), 2);
    out.push_str(layout.time);
    push_digits(&mut out, t.minute(), 2);
    out.push_str(layout.time);
    push_digits(&mut out, t.second(), 2);
    out.push_str(layout.fraction);
    push_digits(&mut out, t.subsec_nanosecond() / 1_000_000, 3);
    out.push('Z');
    out
}

/// Appends a non-negative `value` as exactly `width` decimal digits, zero
/// padded (callers pass values that fit).
fn push_digits(out: &mut String, value: impl Into<i32>, width: u32) {
    let value = value.into();
    for place in (0..width).rev() {
        let digit = (value / 10_i32.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
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
    fn keys_and_stamps_are_strftimes() {
        // Every field's carry, sub-millisecond truncation, leap days, and
        // the ends of jiff's range (years before 0 take strftime itself).
        let mut moments: Vec<Timestamp> = [
            0,
            1_700_000_000_000_000_000,
            1_795_449_082_123_456_789,
            1_795_449_082_999_999_999,
            951_782_400_000_000_000, // 2000-02-29
            -1,
            -62_167_219_200_000_000_001, // just before year 0
        ]
        .into_iter()
        .map(|ns| Timestamp::from_nanosecond(ns).unwrap())
        .collect();
        moments.extend([Timestamp::MIN, Timestamp::MAX, Timestamp::now()]);
        let mut ns: i128 = 1_600_000_000_000_000_000;
        for _ in 0..2_000 {
            // Steps of about 1.3 days plus odd nanoseconds cover every field.
            ns += 112_233_445_566_778;
            moments.push(Timestamp::from_nanosecond(ns).unwrap());
        }
        for at in moments {
            assert_eq!(
                to_key(at),
                at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "{at:?}"
            );
            assert_eq!(
                to_id_stamp(at),
                at.strftime("%Y%m%dT%H%M%S%3fZ").to_string(),
                "{at:?}"
            );
        }
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
