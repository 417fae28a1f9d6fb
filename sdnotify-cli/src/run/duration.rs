//! Time spans on the command line, read as systemd reads `TimeoutStartSec=` (systemd.time(7)):
//! `90s`, `500ms`, `1min 30s`, `2s500ms`, `1.5h`, `1w`, `infinity`; a bare number is seconds.
//! Arithmetic is checked: a span that does not fit in 64-bit microseconds is an error.

use std::time::Duration;

/// A parsed span: `None` is `infinity`.
pub(crate) type Span = Option<Duration>;

const USEC_PER_SEC: u64 = 1_000_000;

/// The units of systemd.time(7), as microseconds.
fn unit(name: &str) -> Option<u64> {
    Some(match name {
        "" | "s" | "sec" | "second" | "seconds" => USEC_PER_SEC,
        "us" | "usec" | "µs" | "μs" => 1,
        "ms" | "msec" => 1_000,
        "m" | "min" | "minute" | "minutes" => 60 * USEC_PER_SEC,
        "h" | "hr" | "hour" | "hours" => 3_600 * USEC_PER_SEC,
        "d" | "day" | "days" => 86_400 * USEC_PER_SEC,
        "w" | "week" | "weeks" => 7 * 86_400 * USEC_PER_SEC,
        "M" | "month" | "months" => 2_629_800 * USEC_PER_SEC,
        "y" | "year" | "years" => 31_557_600 * USEC_PER_SEC,
        _ => return None,
    })
}

pub(crate) fn parse(text: &str) -> Result<Span, String> {
    let invalid =
        |why: &str| format!("invalid time span {text:?}: {why} (e.g. 500ms, 90s, 1min 30s, infinity)");
    let trimmed = text.trim();
    if trimmed == "infinity" {
        return Ok(None);
    }
    if trimmed.is_empty() {
        return Err(invalid("empty"));
    }
    let mut rest = trimmed;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (whole, after) = rest.split_at(digits);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
                f.split_at(n)
            }
            None => ("", after),
        };
        if (whole.is_empty() && fraction.is_empty()) || after.starts_with('.') {
            return Err(invalid("expected a number"));
        }
        let after = after.trim_start();
        let name_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(after.len());
        let (name, after) = after.split_at(name_len);
        let per = unit(name).ok_or_else(|| invalid(&format!("unknown unit {name:?}")))?;
        let part = component(whole, fraction, per).ok_or_else(|| invalid("out of range"))?;
        total = total.checked_add(part).ok_or_else(|| invalid("out of range"))?;
        rest = after.trim_start();
    }
    // usec_t's largest value is systemd's infinity.
    if total == u64::MAX {
        return Err(invalid("out of range"));
    }
    Ok(Some(Duration::from_micros(total)))
}

/// `whole.fraction` units of `per` microseconds, truncated to whole microseconds.
fn component(whole: &str, fraction: &str, per: u64) -> Option<u64> {
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut value = whole.checked_mul(per)?;
    let mut scale = per;
    for digit in fraction.bytes().take(18) {
        scale /= 10;
        value = value.checked_add(u64::from(digit - b'0').checked_mul(scale)?)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Span {
        Some(Duration::from_secs_f64(s))
    }

    #[test]
    fn systemd_time_spans() {
        assert_eq!(parse("90").unwrap(), secs(90.0));
        assert_eq!(parse("500ms").unwrap(), secs(0.5));
        assert_eq!(parse("1.5s").unwrap(), secs(1.5));
        assert_eq!(parse("1min 30s").unwrap(), secs(90.0));
        assert_eq!(parse("2s 500ms").unwrap(), secs(2.5));
        assert_eq!(parse("2s500ms").unwrap(), secs(2.5));
        assert_eq!(parse("1 min").unwrap(), secs(60.0));
        assert_eq!(parse("1w").unwrap(), secs(604_800.0));
        assert_eq!(parse("1.5min").unwrap(), secs(90.0));
        assert_eq!(parse("250us").unwrap(), Some(Duration::from_micros(250)));
        assert_eq!(parse("0").unwrap(), Some(Duration::ZERO));
        assert_eq!(parse("infinity").unwrap(), None);
        assert_eq!(parse(" 5s ").unwrap(), secs(5.0));
    }

    #[test]
    fn garbage_and_overflow_are_errors() {
        for bad in [
            "",
            "soon",
            "5 parsecs",
            "-1s",
            "1..5s",
            ".",
            "s",
            "9999999999999999999",
            "18446744073709551615us",
            "1e3",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(parse("9999999999999999999").unwrap_err().contains("out of range"));
    }
}
