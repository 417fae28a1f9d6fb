//! Reading the wire format with the service manager's rules: the only parser of notifications.
//!
//! systemd (every version up to the newest) reads a datagram with `strv_split_newlines`, i.e.
//! `extract_first_word(…, "\n\r", 0)`: it splits at LF and CR, drops empty lines, and removes a
//! backslash while keeping the byte after it literally (even LF or CR). A lone trailing
//! backslash, an embedded NUL or more than 4096 bytes make it drop the whole datagram.

use std::fmt;
use std::time::Duration;

use crate::address::parse_u32;
use crate::error::MAX_MESSAGE_LEN;
use crate::state::{NotifyAccess, State};

/// Why the manager would drop a whole datagram.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Notification, ParseError};
///
/// assert_eq!(Notification::parse(b"READY=1\\"), Err(ParseError::TrailingBackslash));
/// assert_eq!(Notification::parse(b"A\0"), Err(ParseError::Nul { offset: 1 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// Longer than the 4096 bytes the manager reads.
    TooLarge {
        /// The datagram's length.
        len: usize,
    },
    /// A NUL byte at this offset.
    Nul {
        /// Offset of the first NUL.
        offset: usize,
    },
    /// The datagram ends in a backslash that escapes nothing.
    TrailingBackslash,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::TooLarge { len } => {
                write!(
                    f,
                    "datagram of {len} bytes exceeds the {MAX_MESSAGE_LEN}-byte limit"
                )
            }
            ParseError::Nul { offset } => write!(f, "embedded NUL byte at offset {offset}"),
            ParseError::TrailingBackslash => f.write_str("invalid escape: a lone trailing backslash"),
        }
    }
}

impl std::error::Error for ParseError {}

/// A datagram as the service manager understands it: its lines, unescaped.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Notification, State};
///
/// let n = Notification::parse(b"READY=1\r\n\nSTATUS=C:\\\\tmp\nX_A=1")?;
/// assert_eq!(n.lines(), ["READY=1", r"STATUS=C:\tmp", "X_A=1"]);
/// assert!(n.has("READY=1"));
/// assert_eq!(n.get("STATUS"), Some(r"C:\tmp"));
/// assert_eq!(n.states().collect::<Vec<_>>(),
///            [State::Ready, State::Status(r"C:\tmp"), State::Custom("X_A", "1")]);
/// # Ok::<(), sdnotify::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Notification {
    lines: Vec<String>,
    utf8: bool,
}

impl Notification {
    /// Splits and unescapes a datagram exactly as the manager does.
    pub fn parse(datagram: &[u8]) -> Result<Notification, ParseError> {
        if datagram.len() > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLarge { len: datagram.len() });
        }
        if let Some(offset) = datagram.iter().position(|&b| b == 0) {
            return Err(ParseError::Nul { offset });
        }
        let mut lines = Vec::new();
        let mut utf8 = true;
        let mut current = Vec::new();
        let mut finish = |current: &mut Vec<u8>| {
            if !current.is_empty() {
                let bytes = std::mem::take(current);
                lines.push(String::from_utf8(bytes).unwrap_or_else(|e| {
                    utf8 = false;
                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                }));
            }
        };
        let mut bytes = datagram.iter();
        while let Some(&b) = bytes.next() {
            match b {
                b'\\' => match bytes.next() {
                    Some(&escaped) => current.push(escaped),
                    None => return Err(ParseError::TrailingBackslash),
                },
                b'\n' | b'\r' => finish(&mut current),
                _ => current.push(b),
            }
        }
        finish(&mut current);
        Ok(Notification { lines, utf8 })
    }

    /// The non-empty lines, unescaped, in the order sent. Lines that were not UTF-8 are shown
    /// with replacement characters (see [`is_utf8`](Self::is_utf8)).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Whether every line was valid UTF-8 (systemd ignores a `STATUS=` that is not).
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// Whether a line equals `line` exactly, the way the manager matches flags like `READY=1`.
    pub fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l == line)
    }

    /// The value of the first line starting with `KEY=` (for valued keys the first one wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
    }

    /// Each `KEY=VALUE` line as a typed [`State`]; lines without `=` are skipped.
    pub fn states(&self) -> impl Iterator<Item = State<'_>> {
        self.lines.iter().filter_map(|l| State::from_line(l))
    }
}

impl<'a> State<'a> {
    /// Reads one unescaped line as the state it stands for.
    ///
    /// Known keys with the values systemd acts on become their variant; anything else (an
    /// unknown key, or `READY=0`) is [`State::Custom`]. `None` for a line without `=`.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::State;
    /// use std::time::Duration;
    ///
    /// assert_eq!(State::from_line("WATCHDOG_USEC=2000000"),
    ///            Some(State::WatchdogUsec(Duration::from_secs(2))));
    /// assert_eq!(State::from_line("READY=0"), Some(State::Custom("READY", "0")));
    /// assert_eq!(State::from_line("garbage"), None);
    /// ```
    pub fn from_line(line: &'a str) -> Option<State<'a>> {
        let (key, value) = line.split_once('=')?;
        let usec = || {
            value
                .parse::<u64>()
                .ok()
                .filter(|_| is_digits(value))
                .map(Duration::from_micros)
        };
        let number = || parse_u32(value);
        let typed = match (key, value) {
            ("READY", "1") => Some(State::Ready),
            ("RELOADING", "1") => Some(State::Reloading),
            ("STOPPING", "1") => Some(State::Stopping),
            ("WATCHDOG", "1") => Some(State::Watchdog),
            ("WATCHDOG", "trigger") => Some(State::WatchdogTrigger),
            ("FDSTORE", "1") => Some(State::FdStore),
            ("FDSTOREREMOVE", "1") => Some(State::FdStoreRemove),
            ("RESTART_RESET", "1") => Some(State::RestartReset),
            ("MAINPIDFD", "1") => Some(State::MainPidFd),
            ("MAINPIDFDID", _) => value
                .parse()
                .ok()
                .filter(|_| is_digits(value))
                .map(State::MainPidFdId),
            ("FDPOLL", "0") => Some(State::FdPoll(false)),
            ("FDPOLL", "1") => Some(State::FdPoll(true)),
            ("STATUS", _) => Some(State::Status(value)),
            ("BUSERROR", _) => Some(State::BusError(value)),
            ("VARLINKERROR", _) => Some(State::VarlinkError(value)),
            ("FDNAME", _) => Some(State::FdName(value)),
            ("ERRNO", _) => number().map(State::Errno),
            ("MAINPID", _) => number().map(State::MainPid),
            ("EXIT_STATUS", _) => number().and_then(|n| u8::try_from(n).ok()).map(State::ExitStatus),
            ("WATCHDOG_USEC", _) => usec().map(State::WatchdogUsec),
            ("EXTEND_TIMEOUT_USEC", _) => usec().map(State::ExtendTimeoutUsec),
            ("MONOTONIC_USEC", _) => usec().map(State::MonotonicUsec),
            ("NOTIFYACCESS", _) => NotifyAccess::parse(value).map(State::NotifyAccess),
            _ => None,
        };
        Some(typed.unwrap_or(State::Custom(key, value)))
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(datagram: &[u8]) -> Vec<String> {
        Notification::parse(datagram).unwrap().lines().to_vec()
    }

    #[test]
    fn splits_at_lf_and_cr_and_drops_empty_lines() {
        assert_eq!(lines(b"\n\nA=1\r\rB=2\r\n"), ["A=1", "B=2"]);
        assert_eq!(lines(b""), Vec::<String>::new());
    }

    #[test]
    fn unescapes_like_the_manager_measured_on_252() {
        // protocol.md: `STATUS=C:\tmp and \\ double; cr:a<CR>b` shows as `C:tmp and \ double; cr:a`.
        let n = Notification::parse(b"STATUS=C:\\tmp and \\\\ double; cr:a\rb").unwrap();
        assert_eq!(n.get("STATUS"), Some("C:tmp and \\ double; cr:a"));
        assert_eq!(n.lines()[1], "b");
        // An escaped line break stays in the line.
        assert_eq!(lines(b"A=x\\\ny"), ["A=x\ny"]);
    }

    #[test]
    fn whole_datagram_dropped_for_nul_size_and_trailing_backslash() {
        assert_eq!(
            Notification::parse(b"READY=1\\"),
            Err(ParseError::TrailingBackslash)
        );
        assert_eq!(
            Notification::parse(b"READY=1\0"),
            Err(ParseError::Nul { offset: 7 })
        );
        assert_eq!(
            Notification::parse(&[b'a'; 4097]),
            Err(ParseError::TooLarge { len: 4097 })
        );
        assert!(Notification::parse(&[b'a'; 4096]).is_ok());
    }

    #[test]
    fn first_valued_key_wins_and_flags_match_whole_lines() {
        let n = Notification::parse(b"STATUS=a\nSTATUS=b\nREADY=10").unwrap();
        assert_eq!(n.get("STATUS"), Some("a"));
        assert!(!n.has("READY=1"));
        assert_eq!(n.get("STAT"), None);
    }

    #[test]
    fn non_utf8_lines_are_flagged() {
        let n = Notification::parse(b"READY=1\nSTATUS=\xff").unwrap();
        assert!(!n.is_utf8());
        assert!(n.has("READY=1"));
    }

    #[test]
    fn typed_values_must_be_strict_numbers() {
        assert_eq!(
            State::from_line("MAINPID=+5"),
            Some(State::Custom("MAINPID", "+5"))
        );
        assert_eq!(
            State::from_line("EXIT_STATUS=256"),
            Some(State::Custom("EXIT_STATUS", "256"))
        );
        assert_eq!(
            State::from_line("WATCHDOG_USEC= 5"),
            Some(State::Custom("WATCHDOG_USEC", " 5"))
        );
        assert_eq!(
            State::from_line("NOTIFYACCESS=all"),
            Some(State::NotifyAccess(NotifyAccess::All))
        );
    }
}
