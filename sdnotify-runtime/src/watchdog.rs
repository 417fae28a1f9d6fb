//! Whether the manager expects watchdog pings, and how often (`sd_watchdog_enabled`).

use std::ffi::OsStr;
use std::time::Duration;

use crate::address::parse_u32;
use crate::env::{snapshot, WATCHDOG_PID, WATCHDOG_USEC};
use crate::error::Error;

/// The watchdog interval the manager expects pings within, or `None` when no watchdog is set
/// up for this process (`sd_watchdog_enabled(3)`).
///
/// `WATCHDOG_USEC` must be a positive decimal number of microseconds; if `WATCHDOG_PID` is set
/// it must be a pid, and a pid other than ours means the watchdog is not ours. Zero, garbage or
/// overflow is an [`Error::InvalidEnvironment`] — never silently a zero interval, which would
/// make a ping loop spin. Ping at half the interval.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// match sdnotify::watchdog_enabled() {
///     Ok(Some(interval)) => println!("ping every {:?}", interval / 2),
///     Ok(None) => println!("no watchdog"),
///     Err(err) => eprintln!("{err}"),
/// }
/// ```
pub fn watchdog_enabled() -> Result<Option<Duration>, Error> {
    if !crate::sys::SUPPORTED {
        return Ok(None); // no manager to ping off Linux
    }
    let env = snapshot();
    watchdog_interval(
        env.watchdog_usec.as_deref(),
        env.watchdog_pid.as_deref(),
        u32::try_from(crate::sys::current_pid()).unwrap_or(0),
    )
}

/// The rules of [`watchdog_enabled`] on given values, so they can be tested without an
/// environment.
pub(crate) fn watchdog_interval(
    usec: Option<&OsStr>,
    pid: Option<&OsStr>,
    our_pid: u32,
) -> Result<Option<Duration>, Error> {
    let Some(usec) = usec else { return Ok(None) };
    let invalid = |var, value: &OsStr, reason| Error::InvalidEnvironment {
        var,
        value: value.to_string_lossy().into_owned(),
        reason,
    };
    let text = usec.to_str().unwrap_or("");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            WATCHDOG_USEC,
            usec,
            "not a decimal number of microseconds",
        ));
    }
    let micros: u64 = text
        .parse()
        .map_err(|_| invalid(WATCHDOG_USEC, usec, "does not fit in 64 bits"))?;
    if micros == 0 {
        return Err(invalid(WATCHDOG_USEC, usec, "a zero interval is not valid"));
    }
    if let Some(pid) = pid {
        let parsed = pid
            .to_str()
            .and_then(parse_u32)
            .filter(|&p| p > 0)
            .ok_or_else(|| invalid(WATCHDOG_PID, pid, "not a process id"))?;
        if parsed != our_pid {
            return Ok(None);
        }
    }
    Ok(Some(Duration::from_micros(micros)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(usec: Option<&str>, pid: Option<&str>) -> Result<Option<Duration>, Error> {
        watchdog_interval(usec.map(OsStr::new), pid.map(OsStr::new), 42)
    }

    #[test]
    fn unset_means_no_watchdog() {
        assert_eq!(interval(None, None).unwrap(), None);
        assert_eq!(interval(None, Some("garbage")).unwrap(), None);
    }

    #[test]
    fn the_interval_is_kept_to_the_microsecond() {
        assert_eq!(interval(Some("1"), None).unwrap(), Some(Duration::from_micros(1)));
        assert_eq!(
            interval(Some("2000000"), Some("42")).unwrap(),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn another_pids_watchdog_is_not_ours() {
        assert_eq!(interval(Some("2000000"), Some("43")).unwrap(), None);
    }

    #[test]
    fn garbage_is_an_error_never_zero() {
        for (usec, pid, var, reason) in [
            ("0", None, WATCHDOG_USEC, "a zero interval is not valid"),
            ("", None, WATCHDOG_USEC, "not a decimal number of microseconds"),
            (
                "12abc",
                None,
                WATCHDOG_USEC,
                "not a decimal number of microseconds",
            ),
            ("-5", None, WATCHDOG_USEC, "not a decimal number of microseconds"),
            (
                "18446744073709551616",
                None,
                WATCHDOG_USEC,
                "does not fit in 64 bits",
            ),
            ("1000", Some("x"), WATCHDOG_PID, "not a process id"),
            ("1000", Some("0"), WATCHDOG_PID, "not a process id"),
            ("1000", Some(""), WATCHDOG_PID, "not a process id"),
        ] {
            match interval(Some(usec), pid) {
                Err(Error::InvalidEnvironment {
                    var: v, reason: r, ..
                }) => {
                    assert_eq!((v, r), (var, reason), "{usec:?} {pid:?}")
                }
                other => panic!("{usec:?} {pid:?}: {other:?}"),
            }
        }
    }
}
