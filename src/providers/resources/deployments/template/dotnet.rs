//! The .NET formatting the template language exposes: `format()` follows
//! `System.String.Format` (template-functions-string#format), `utcNow(format)` takes .NET
//! date/time format strings (template-functions-date#utcnow). Invariant culture.

use serde_json::Value;

/// `String.Format(fmt, args)`: `{index[,alignment][:format]}` with `{{`/`}}` escapes.
pub(crate) fn composite_format(fmt: &str, args: &[Value]) -> Result<String, String> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == '}')
                    .map(|p| p + i)
                    .ok_or("input string was not in a correct format")?;
                let item: String = chars[i + 1..end].iter().collect();
                out.push_str(&format_item(&item, args)?);
                i = end + 1;
            }
            '}' => return Err("input string was not in a correct format".into()),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn format_item(item: &str, args: &[Value]) -> Result<String, String> {
    let (head, spec) = match item.split_once(':') {
        Some((h, s)) => (h, Some(s)),
        None => (item, None),
    };
    let (index, align) = match head.split_once(',') {
        Some((i, a)) => (i, a.trim().parse::<i64>().ok()),
        None => (head, None),
    };
    let index: usize = index
        .trim()
        .parse()
        .map_err(|_| "input string was not in a correct format")?;
    if align.is_some_and(|w| w.unsigned_abs() > 1_000) {
        return Err("the alignment must not exceed 1000".into());
    }
    let v = args.get(index).ok_or(
        "index (zero based) must be greater than or equal to zero and less than the size of the argument list",
    )?;
    let text = format_value(v, spec.unwrap_or(""));
    Ok(match align {
        Some(w) if w > 0 => format!("{text:>width$}", width = w as usize),
        Some(w) if w < 0 => format!("{text:<width$}", width = (-w) as usize),
        _ => text,
    })
}

fn format_value(v: &Value, spec: &str) -> String {
    match v {
        Value::Number(n) if !spec.is_empty() => match n.as_i64() {
            Some(i) => format_int(i, spec),
            None => format_float(n.as_f64().unwrap_or(0.0), spec),
        },
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Standard numeric format strings N, D, X, F, G, P, E for integers.
fn format_int(i: i64, spec: &str) -> String {
    let kind = spec.chars().next().unwrap_or('G');
    let prec: Option<usize> = spec[kind.len_utf8()..].parse().ok().map(|p: usize| p.min(99));
    match kind {
        'N' | 'n' => format_float(i as f64, &format!("N{}", prec.unwrap_or(2))),
        'F' | 'f' => format!("{:.*}", prec.unwrap_or(2), i as f64),
        'D' | 'd' => {
            let digits = format!("{:0width$}", i.unsigned_abs(), width = prec.unwrap_or(0));
            if i < 0 {
                format!("-{digits}")
            } else {
                digits
            }
        }
        'X' => format!("{:0width$X}", i, width = prec.unwrap_or(0)),
        'x' => format!("{:0width$x}", i, width = prec.unwrap_or(0)),
        'P' | 'p' => format!(
            "{} %",
            format_float(i as f64 * 100.0, &format!("N{}", prec.unwrap_or(2)))
        ),
        _ => i.to_string(),
    }
}

fn format_float(f: f64, spec: &str) -> String {
    let kind = spec.chars().next().unwrap_or('G');
    let prec: Option<usize> = spec.get(1..).and_then(|p| p.parse().ok()).map(|p: usize| p.min(99));
    match kind {
        'N' | 'n' => {
            let fixed = format!("{:.*}", prec.unwrap_or(2), f.abs());
            let (int, frac) = fixed
                .split_once('.')
                .map_or((fixed.as_str(), None), |(a, b)| (a, Some(b)));
            let mut grouped = String::new();
            for (k, c) in int.chars().enumerate() {
                if k > 0 && (int.len() - k) % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(c);
            }
            let sign = if f < 0.0 { "-" } else { "" };
            match frac {
                Some(fr) => format!("{sign}{grouped}.{fr}"),
                None => format!("{sign}{grouped}"),
            }
        }
        'F' | 'f' => format!("{:.*}", prec.unwrap_or(2), f),
        _ => f.to_string(),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

/// Formats a UTC instant with a .NET standard or custom date/time format.
pub(crate) fn format_datetime(ms: i64, fmt: &str) -> Result<String, String> {
    // .NET DateTime's range: 0001-01-01 to 9999-12-31.
    if !(-62_135_596_800_000..=253_402_300_799_999).contains(&ms) {
        return Err("the date time is outside the range of representable values".into());
    }
    let pattern = match fmt {
        "d" => "MM/dd/yyyy",
        "D" => "dddd, dd MMMM yyyy",
        "f" => "dddd, dd MMMM yyyy HH:mm",
        "F" => "dddd, dd MMMM yyyy HH:mm:ss",
        "g" => "MM/dd/yyyy HH:mm",
        "G" => "MM/dd/yyyy HH:mm:ss",
        "M" | "m" => "MMMM dd",
        "o" | "O" => "yyyy-MM-ddTHH:mm:ss.fffffffK",
        "r" | "R" => "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        "t" => "HH:mm",
        "T" => "HH:mm:ss",
        "u" => "yyyy-MM-dd HH:mm:ssZ",
        "U" => "dddd, dd MMMM yyyy HH:mm:ss",
        "Y" | "y" => "yyyy MMMM",
        f if f.chars().count() == 1 => return Err(format!("the format '{f}' is not a valid date time format")),
        f => f,
    };
    Ok(custom_datetime(ms, pattern))
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an ISO 8601 timestamp (`2020-04-07 14:53:14Z`, `2020-04-07T14:53:14.123+02:00`,
/// `20190305T175318Z`, `2020-04-07`) to milliseconds since the epoch, UTC.
pub(crate) fn parse_iso(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    let (y, mo, d, rest) = if digits.len() >= 10 && digits.as_bytes()[4] == b'-' {
        (
            s.get(0..4)?.parse().ok()?,
            s.get(5..7)?.parse().ok()?,
            s.get(8..10)?.parse().ok()?,
            &s[10..],
        )
    } else {
        (
            s.get(0..4)?.parse().ok()?,
            s.get(4..6)?.parse().ok()?,
            s.get(6..8)?.parse().ok()?,
            s.get(8..)?,
        )
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let rest = rest.trim_start_matches(['T', 't', ' ']);
    let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let clock: String = clock.chars().filter(|c| *c != ':').collect();
    let (whole, frac) = clock.split_once('.').unwrap_or((clock.as_str(), ""));
    let part = |r: std::ops::Range<usize>| whole.get(r).map_or(Some(0), |t| t.parse::<i64>().ok());
    let (h, mi, sec) = (part(0..2)?, part(2..4)?, part(4..6)?);
    let ms = format!("{frac:0<3}").get(0..3)?.parse::<i64>().ok()?;
    let offset = match zone.as_bytes().first() {
        Some(b'+' | b'-') => {
            let z: String = zone[1..].chars().filter(|c| *c != ':').collect();
            let mins = z.get(0..2)?.parse::<i64>().ok()? * 60 + z.get(2..4).map_or(Some(0), |t| t.parse().ok())?;
            if zone.starts_with('-') {
                -mins
            } else {
                mins
            }
        }
        _ => 0,
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 24 + h) * 60 + mi - offset) * 60_000 + sec * 1000 + ms)
}

/// An ISO 8601 duration (`P3Y`, `-P9D`, `PT1H30M`, `PT0.5S`) in milliseconds, with years of
/// 365 days and months of 30 days, as .NET's `XmlConvert.ToTimeSpan` counts them (which is why
/// `dateTimeAdd('2023-01-31 00:00:00Z', 'P1M')` is `2023-03-02T00:00:00Z` in
/// bicep-functions-date#datetimeadd).
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let (neg, s) = match s.trim().strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.trim()),
    };
    let body = s.strip_prefix('P')?;
    let mut total = 0f64;
    let mut in_time = false;
    let mut num = String::new();
    for c in body.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' | '.' => num.push(c),
            unit => {
                let n: f64 = num.parse().ok()?;
                num.clear();
                let day = 86_400_000f64;
                total += n * match (unit, in_time) {
                    ('Y', false) => 365.0 * day,
                    ('M', false) => 30.0 * day,
                    ('W', false) => 7.0 * day,
                    ('D', false) => day,
                    ('H', true) => 3_600_000.0,
                    ('M', true) => 60_000.0,
                    ('S', true) => 1000.0,
                    _ => return None,
                };
            }
        }
    }
    if !num.is_empty() || body.is_empty() {
        return None;
    }
    let ms = total.round() as i64;
    Some(if neg { -ms } else { ms })
}

struct Parts {
    y: i64,
    mo: usize,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    frac: u32,
    dow: usize,
}

fn parts(ms: i64) -> Parts {
    let text = crate::arm::time::rfc3339(ms);
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
    let days = ms.div_euclid(86_400_000);
    Parts {
        y: num(0..4),
        mo: num(5..7) as usize,
        d: num(8..10) as u32,
        h: num(11..13) as u32,
        mi: num(14..16) as u32,
        s: num(17..19) as u32,
        frac: num(20..27) as u32,
        dow: days.rem_euclid(7) as usize,
    }
}

fn custom_datetime(ms: i64, pattern: &str) -> String {
    let p = parts(ms);
    let c: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let run = c[i..].iter().take_while(|x| **x == ch).count();
        match ch {
            '\'' | '"' => {
                let end = c[i + 1..].iter().position(|x| *x == ch).map_or(c.len(), |e| i + 1 + e);
                out.extend(&c[i + 1..end]);
                i = end + 1;
                continue;
            }
            '\\' => {
                if let Some(n) = c.get(i + 1) {
                    out.push(*n);
                }
                i += 2;
                continue;
            }
            'y' => out.push_str(&match run {
                1 => (p.y % 100).to_string(),
                2 => format!("{:02}", p.y % 100),
                n => format!("{:0n$}", p.y),
            }),
            'M' => out.push_str(&match run {
                1 => p.mo.to_string(),
                2 => format!("{:02}", p.mo),
                3 => MONTHS[p.mo - 1][..3].to_string(),
                _ => MONTHS[p.mo - 1].to_string(),
            }),
            'd' => out.push_str(&match run {
                1 => p.d.to_string(),
                2 => format!("{:02}", p.d),
                3 => DAYS[p.dow][..3].to_string(),
                _ => DAYS[p.dow].to_string(),
            }),
            'H' => out.push_str(&pad(p.h, run)),
            'h' => out.push_str(&pad(if p.h.is_multiple_of(12) { 12 } else { p.h % 12 }, run)),
            'm' => out.push_str(&pad(p.mi, run)),
            's' => out.push_str(&pad(p.s, run)),
            'f' | 'F' => out.push_str(&format!("{:07}", p.frac)[..run.min(7)]),
            't' => out.push_str(&(if p.h < 12 { "AM" } else { "PM" })[..run.min(2)]),
            'K' => out.push('Z'),
            'z' => out.push_str(if run >= 3 {
                "+00:00"
            } else if run == 2 {
                "+00"
            } else {
                "+0"
            }),
            other => {
                out.extend(std::iter::repeat_n(other, run));
            }
        }
        i += run;
    }
    out
}

fn pad(v: u32, run: usize) -> String {
    if run >= 2 {
        format!("{v:02}")
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn composite_format_matches_the_documented_example() {
        // template-functions-string#format
        let s = composite_format(
            "{0}, {1}. Formatted number: {2:N0}",
            &[json!("Hello"), json!("User"), json!(8175133)],
        );
        assert_eq!(s.unwrap(), "Hello, User. Formatted number: 8,175,133");
    }

    #[test]
    fn composite_format_escapes_alignment_and_specifiers() {
        let args = [json!(42), json!(true), json!(-7)];
        assert_eq!(composite_format("{{{0}}}", &args).unwrap(), "{42}");
        assert_eq!(composite_format("[{0,5}][{0,-5}]", &args).unwrap(), "[   42][42   ]");
        assert_eq!(
            composite_format("{0:D5} {0:X} {0:x4} {2:D3}", &args).unwrap(),
            "00042 2A 002a -007"
        );
        assert_eq!(composite_format("{1}", &args).unwrap(), "True");
        assert_eq!(composite_format("{0:N2}", &[json!(1234.5)]).unwrap(), "1,234.50");
        assert!(composite_format("{3}", &args).is_err());
        assert!(composite_format("{0", &args).is_err());
        assert!(composite_format("}", &args).is_err());
    }

    // 2019-03-05T17:53:18Z, the instant of the template-functions-date#utcnow example.
    const DOC_INSTANT: i64 = 1_551_808_398_000;

    #[test]
    fn utc_now_formats_match_the_documented_examples() {
        assert_eq!(
            format_datetime(DOC_INSTANT, "yyyyMMddTHHmmssZ").unwrap(),
            "20190305T175318Z"
        );
        assert_eq!(format_datetime(DOC_INSTANT, "d").unwrap(), "03/05/2019");
        assert_eq!(format_datetime(DOC_INSTANT, "M d").unwrap(), "3 5");
        assert_eq!(format_datetime(DOC_INSTANT, "u").unwrap(), "2019-03-05 17:53:18Z");
        assert_eq!(format_datetime(DOC_INSTANT, "s").unwrap(), "2019-03-05T17:53:18");
        assert_eq!(
            format_datetime(DOC_INSTANT, "o").unwrap(),
            "2019-03-05T17:53:18.0000000Z"
        );
        assert_eq!(
            format_datetime(DOC_INSTANT, "R").unwrap(),
            "Tue, 05 Mar 2019 17:53:18 GMT"
        );
        assert_eq!(format_datetime(DOC_INSTANT, "hh:mm tt").unwrap(), "05:53 PM");
        assert!(format_datetime(DOC_INSTANT, "Q").is_err());
    }
}
