//! Durations on the command line, as systemd writes them: `90s`, `500ms`, `1min`, `1.5s`; a
//! bare number is seconds.

use std::time::Duration;

pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 500ms, 2s, 1.5min"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" | "msec" => value / 1e3,
        "us" | "usec" => value / 1e6,
        "m" | "min" => value * 60.0,
        "h" | "hr" => value * 3600.0,
        other => {
            return Err(format!(
                "invalid duration {text:?}: unknown unit {other:?} (us, ms, s, min, h)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("invalid duration {text:?}: out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_style_durations() {
        assert_eq!(parse("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2min").unwrap(), Duration::from_secs(120));
        assert_eq!(parse("250us").unwrap(), Duration::from_micros(250));
        assert!(parse("soon").is_err());
        assert!(parse("5 parsecs").is_err());
        assert!(parse("").is_err());
    }
}
