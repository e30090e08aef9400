//! Timestamps as ARM writes them (`2026-01-01T00:00:00.0000000Z`), from milliseconds since
//! the Unix epoch, and the durations clients name (`3s`, `250ms`). The calendar is the `time`
//! crate's; this module fixes the range azemu accepts so that arithmetic on client-supplied
//! times and durations cannot overflow.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since 1970-01-01T00:00:00Z.
pub(crate) type Millis = i64;

/// The earliest time azemu represents: 0000-01-01T00:00:00Z (RFC 3339 years have four digits).
pub(crate) const MIN_TIME: Millis = -62_167_219_200_000;
/// The latest time azemu represents: 9999-12-31T23:59:59.999Z.
pub(crate) const MAX_TIME: Millis = 253_402_300_799_999;
/// The longest duration a client may name: the whole representable range (10000 years).
/// Any time in range plus any duration in range stays far inside `i64`.
pub(crate) const MAX_DURATION: Millis = MAX_TIME - MIN_TIME + 1;

/// True when `t` lies in the range azemu represents.
pub(crate) fn in_range(t: Millis) -> bool {
    (MIN_TIME..=MAX_TIME).contains(&t)
}

fn datetime(ms: Millis) -> OffsetDateTime {
    let ms = ms.clamp(MIN_TIME, MAX_TIME);
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-01-01T00:00:00.0000000Z` (seven fractional digits, as ARM does). Times outside the
/// represented range are clamped to it.
pub(crate) fn rfc3339(ms: Millis) -> String {
    let t = datetime(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}0000Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// `Thu, 01 Jan 2026 00:00:00 GMT`: the HTTP `Date` format (IMF-fixdate, RFC 9110 §5.6.7).
pub(crate) fn http_date(ms: Millis) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = datetime(ms);
    let day = t.weekday().to_string();
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        &day[..3],
        t.day(),
        MONTHS[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an RFC 3339 time (`2026-01-01T00:00:00Z`, `2026-01-01T01:00:00.5+01:00`) into UTC
/// milliseconds (finer fractions are truncated). `None` for anything that is not a real date
/// and time (February 31 included) or that lies outside [`MIN_TIME`]..=[`MAX_TIME`].
pub(crate) fn parse_rfc3339(s: &str) -> Option<Millis> {
    let t = OffsetDateTime::parse(s.trim(), &Rfc3339).ok()?;
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    let ms = Millis::try_from(ms).ok()?;
    in_range(ms).then_some(ms)
}

/// Parses a duration such as `250ms`, `3s`, `2m`, `1h` or a bare number of seconds. `None`
/// when it is not a finite, non-negative number or is longer than [`MAX_DURATION`].
pub(crate) fn parse_duration_ms(s: &str) -> Option<Millis> {
    let s = s.trim();
    let (num, unit_ms) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000.0)
    } else {
        (s, 1000.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    duration_ms(v * unit_ms)
}

/// A duration given as a number of seconds (`{"advance": 90}`), checked like
/// [`parse_duration_ms`].
pub(crate) fn duration_from_secs(secs: f64) -> Option<Millis> {
    duration_ms(secs * 1000.0)
}

fn duration_ms(ms: f64) -> Option<Millis> {
    // `MAX_DURATION` is exactly representable as f64 (it is below 2^53).
    (ms.is_finite() && ms >= 0.0 && ms <= MAX_DURATION as f64).then_some(ms as Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_imf_fixdate() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        let t = parse_rfc3339("2026-01-01T00:01:30Z").unwrap();
        assert_eq!(http_date(t), "Thu, 01 Jan 2026 00:01:30 GMT");
        let t = parse_rfc3339("2024-02-29T23:59:59.999Z").unwrap();
        assert_eq!(http_date(t), "Thu, 29 Feb 2024 23:59:59 GMT");
    }

    #[test]
    fn formats_and_parses_round_trip() {
        let t = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(t, 1_767_225_600_000);
        assert_eq!(rfc3339(t), "2026-01-01T00:00:00.0000000Z");
        let t2 = parse_rfc3339("2024-02-29T23:59:59.123Z").unwrap();
        assert_eq!(rfc3339(t2), "2024-02-29T23:59:59.1230000Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.0000000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.9990000Z");
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00.9999999Z"), Some(t + 999));
        assert_eq!(parse_rfc3339("2026-01-01T01:00:00+01:00"), Some(t));
        assert_eq!(parse_rfc3339(" 2026-01-01T00:00:00+00:00 "), Some(t));
    }

    #[test]
    fn refuses_dates_that_do_not_exist() {
        assert_eq!(parse_rfc3339("2026-02-31T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2025-02-29T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-01-01T24:00:00Z"), None);
        assert_eq!(parse_rfc3339("2026-01-01"), None);
        assert_eq!(parse_rfc3339("999999999999999-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("tomorrow"), None);
    }

    #[test]
    fn the_range_ends_are_representable_and_clamped() {
        assert_eq!(rfc3339(MAX_TIME), "9999-12-31T23:59:59.9990000Z");
        assert_eq!(rfc3339(MIN_TIME), "0000-01-01T00:00:00.0000000Z");
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59.999Z"), Some(MAX_TIME));
        assert_eq!(parse_rfc3339("0000-01-01T00:00:00Z"), Some(MIN_TIME));
        assert_eq!(rfc3339(i64::MAX), rfc3339(MAX_TIME));
        assert_eq!(rfc3339(i64::MIN), rfc3339(MIN_TIME));
        assert_eq!(MAX_DURATION, 10_000 * 146_097 / 400 * 86_400_000);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("3s"), Some(3000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("2"), Some(2000));
        assert_eq!(parse_duration_ms("1.5m"), Some(90_000));
        assert_eq!(parse_duration_ms("x"), None);
        assert_eq!(parse_duration_ms("-1s"), None);
        assert_eq!(parse_duration_ms("1e300s"), None);
        assert_eq!(parse_duration_ms("inf"), None);
        assert_eq!(parse_duration_ms("NaN"), None);
        assert_eq!(duration_from_secs(1e300), None);
        assert_eq!(duration_from_secs(90.0), Some(90_000));
    }
}
