//! Timestamps as ARM writes them (`2026-01-01T00:00:00.0000000Z`), from milliseconds since
//! the Unix epoch. Small and dependency-free: azemu only needs UTC formatting and parsing.

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u64;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i64 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u64;
    let mp = if m > 2 { m - 3 } else { m + 9 } as u64;
    let doy = (153 * mp + 2) / 5 + d as u64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i64 - 719_468
}

/// `2026-01-01T00:00:00.0000000Z` (seven fractional digits, as ARM does).
pub fn rfc3339(ms: Millis) -> String {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{frac:03}0000Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `Thu, 01 Jan 2026 00:00:00 GMT`: the HTTP `Date` format (IMF-fixdate, RFC 9110 §5.6.7).
pub fn http_date(ms: Millis) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(mo - 1) as usize],
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff…]Z` (UTC only).
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    let s = s.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once('T')?;
    let mut dp = date.split('-');
    let y: i64 = dp.next()?.parse().ok()?;
    let mo: u32 = dp.next()?.parse().ok()?;
    let d: u32 = dp.next()?.parse().ok()?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut tp = hms.split(':');
    let h: i64 = tp.next()?.parse().ok()?;
    let mi: i64 = tp.next()?.parse().ok()?;
    let se: i64 = tp.next()?.parse().ok()?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let ms_frac: i64 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        if !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        format!("{digits:0<3}").parse().ok()?
    };
    Some(((days_from_civil(y, mo, d) * 86_400) + h * 3600 + mi * 60 + se) * 1000 + ms_frac)
}

/// Parses a duration such as `250ms`, `3s`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration_ms(s: &str) -> Option<Millis> {
    let s = s.trim();
    let (num, mult) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else {
        (s, 1000)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v >= 0.0).then_some((v * mult as f64) as Millis)
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
        assert_eq!(rfc3339(t), "2026-01-01T00:00:00.0000000Z");
        let t2 = parse_rfc3339("2024-02-29T23:59:59.123Z").unwrap();
        assert_eq!(rfc3339(t2), "2024-02-29T23:59:59.1230000Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.0000000Z");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("3s"), Some(3000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("2"), Some(2000));
        assert_eq!(parse_duration_ms("x"), None);
    }
}
