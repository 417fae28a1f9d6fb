//! Building the wire format: the only place notification bytes are produced.
//!
//! A message is `KEY=VALUE` lines joined by `\n`, with no trailing newline (as systemd-notify
//! sends). The manager splits at LF *and* CR and removes backslashes as escapes, so a value's
//! `\` is written as `\\`, and a value with LF, CR or NUL is refused rather than mangled.

use std::borrow::Cow;
use std::io::Write as _;
use std::time::Duration;

use crate::error::Error;
use crate::error::MAX_MESSAGE_LEN;
use crate::parse::Notification;
use crate::state::State;

/// The longest `FDNAME` systemd accepts (`FDNAME_MAX`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Message, State, MAX_FDNAME_LEN};
/// let name = "n".repeat(MAX_FDNAME_LEN + 1);
/// assert!(Message::from_states(&[State::FdName(&name)]).is_err());
/// ```
pub const MAX_FDNAME_LEN: usize = 255;

/// A validated notification, ready to send: at most 4096 bytes, no NUL.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Message, State};
///
/// let msg = Message::from_states(&[State::Ready, State::Status(r"C:\data")])?;
/// assert_eq!(msg.as_bytes(), br"READY=1
/// STATUS=C:\\data");
///
/// let raw = Message::from_raw("READY=1\nX_CUSTOM=yes")?;
/// assert_eq!(raw.as_bytes(), b"READY=1\nX_CUSTOM=yes");
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    bytes: Cow<'static, [u8]>,
}

impl Message {
    /// Encodes states as one message, escaping `\` and validating every key and value.
    ///
    /// Errors: [`Error::InvalidKey`], [`Error::InvalidValue`] (LF, CR or NUL in a value, an
    /// invalid `FDNAME`, a duration over `u64::MAX` microseconds), [`Error::MessageTooLarge`].
    pub fn from_states(states: &[State<'_>]) -> Result<Message, Error> {
        // The watchdog ping and the other bare flags need no buffer at all.
        if let [state] = states {
            if let Some(line) = flag_line(state) {
                return Ok(Message {
                    bytes: Cow::Borrowed(line.as_bytes()),
                });
            }
        }
        let mut out = Vec::with_capacity(64);
        for (i, state) in states.iter().enumerate() {
            if i > 0 {
                out.push(b'\n');
            }
            encode_line(state, &mut out)?;
            if out.len() > MAX_MESSAGE_LEN {
                // Report the full length the caller asked for, not where we stopped.
                let rest: usize = states[i + 1..].iter().map(line_len_hint).sum();
                return Err(Error::MessageTooLarge {
                    len: out.len() + rest,
                });
            }
        }
        Ok(Message {
            bytes: Cow::Owned(out),
        })
    }

    /// Encodes free-form lines, as systemd-notify's arguments are (`READY=0`, `Y`, `Z=`): each
    /// line's `\` is escaped and a line with LF, CR or NUL is refused, but keys are not checked.
    /// Lines are bytes and need not be UTF-8, except a `STATUS=` line, which the manager would
    /// ignore.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::Message;
    ///
    /// let msg = Message::from_lines(&["READY=1", r"STATUS=C:\tmp", "Y"])?;
    /// assert_eq!(msg.as_bytes(), b"READY=1\nSTATUS=C:\\\\tmp\nY");
    /// assert!(Message::from_lines(&["STATUS=a\nb"]).is_err());
    /// assert!(Message::from_lines(&[b"X_PATH=/srv/\xff"]).is_ok());
    /// assert!(Message::from_lines(&[b"STATUS=\xff"]).is_err());
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn from_lines<S: AsRef<[u8]>>(lines: &[S]) -> Result<Message, Error> {
        let mut out = Vec::with_capacity(64);
        for (i, line) in lines.iter().enumerate() {
            let line = line.as_ref();
            if i > 0 {
                out.push(b'\n');
            }
            let key = line.split(|&b| b == b'=').next().unwrap_or(line);
            let key = String::from_utf8_lossy(key);
            if let Some(status) = line.strip_prefix(b"STATUS=") {
                if std::str::from_utf8(status).is_err() {
                    return Err(Error::InvalidValue {
                        key: key.into_owned(),
                        reason: "is not UTF-8 (the manager ignores such a status)",
                    });
                }
            }
            escape_value(&key, line, &mut out)?;
        }
        if out.len() > MAX_MESSAGE_LEN {
            return Err(Error::MessageTooLarge { len: out.len() });
        }
        Ok(Message {
            bytes: Cow::Owned(out),
        })
    }

    /// Takes wire text as it is (like Python sdnotify's `notify("READY=1")`): nothing is escaped,
    /// but a NUL byte or a length over 4096 bytes is refused, as the manager would drop it.
    pub fn from_raw(text: &str) -> Result<Message, Error> {
        if text.len() > MAX_MESSAGE_LEN {
            return Err(Error::MessageTooLarge { len: text.len() });
        }
        if text.contains('\0') {
            return Err(Error::InvalidValue {
                key: raw_key(text),
                reason: "contains a NUL byte",
            });
        }
        Ok(Message {
            bytes: Cow::Owned(text.as_bytes().to_vec()),
        })
    }

    /// Whether the manager would read a `MAINPIDFD=1` line, which names the new main process
    /// by the one pidfd sent with the message (checked before sending).
    pub(crate) fn names_main_pidfd(&self) -> bool {
        const LINE: &[u8] = b"MAINPIDFD=1";
        let bytes = &self.bytes[..];
        // Without a backslash, the manager's lines are the text between LF and CR, so the line
        // needs these bytes in a row; only then (or with escapes) is the message parsed.
        let maybe = bytes.contains(&b'\\') || bytes.windows(LINE.len()).any(|w| w == LINE);
        maybe && Notification::parse(bytes).is_ok_and(|n| n.has("MAINPIDFD=1"))
    }

    /// The bytes that go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the message is empty (a 0-byte datagram, which the manager ignores).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Message({:?})", String::from_utf8_lossy(&self.bytes))
    }
}

/// The key of the raw line holding a NUL, for the error message.
fn raw_key(text: &str) -> String {
    let line = text.split('\n').find(|l| l.contains('\0')).unwrap_or(text);
    line.split('=').next().unwrap_or("").replace('\0', "\\0")
}

/// Whether `states` is one payload-free state, which needs neither validation nor a buffer.
#[inline]
pub(crate) fn is_single_flag(states: &[State<'_>]) -> bool {
    matches!(states, [state] if flag_line(state).is_some())
}

/// The complete line of a state that has no payload.
#[inline]
fn flag_line(state: &State<'_>) -> Option<&'static str> {
    Some(match state {
        State::Ready => "READY=1",
        State::Reloading => "RELOADING=1",
        State::Stopping => "STOPPING=1",
        State::Watchdog => "WATCHDOG=1",
        State::WatchdogTrigger => "WATCHDOG=trigger",
        State::FdStore => "FDSTORE=1",
        State::FdStoreRemove => "FDSTOREREMOVE=1",
        State::RestartReset => "RESTART_RESET=1",
        State::MainPidFd => "MAINPIDFD=1",
        State::FdPoll(false) => "FDPOLL=0",
        State::FdPoll(true) => "FDPOLL=1",
        _ => return None,
    })
}

/// The key a state is sent under.
pub(crate) fn key_of<'a>(state: &State<'a>) -> &'a str {
    match state {
        State::Ready => "READY",
        State::Reloading => "RELOADING",
        State::Stopping => "STOPPING",
        State::Status(_) => "STATUS",
        State::Errno(_) => "ERRNO",
        State::BusError(_) => "BUSERROR",
        State::VarlinkError(_) => "VARLINKERROR",
        State::ExitStatus(_) => "EXIT_STATUS",
        State::MainPid(_) => "MAINPID",
        State::MainPidFdId(_) => "MAINPIDFDID",
        State::MainPidFd => "MAINPIDFD",
        State::Watchdog | State::WatchdogTrigger => "WATCHDOG",
        State::WatchdogUsec(_) => "WATCHDOG_USEC",
        State::ExtendTimeoutUsec(_) => "EXTEND_TIMEOUT_USEC",
        State::FdStore => "FDSTORE",
        State::FdStoreRemove => "FDSTOREREMOVE",
        State::FdName(_) => "FDNAME",
        State::FdPoll(_) => "FDPOLL",
        State::MonotonicUsec(_) => "MONOTONIC_USEC",
        State::NotifyAccess(_) => "NOTIFYACCESS",
        State::RestartReset => "RESTART_RESET",
        State::Custom(key, _) => key,
    }
}

fn line_len_hint(state: &State<'_>) -> usize {
    let value = match state {
        State::Status(v)
        | State::BusError(v)
        | State::VarlinkError(v)
        | State::FdName(v)
        | State::Custom(_, v) => v.len(),
        _ => 20,
    };
    key_of(state).len() + 2 + value
}

fn encode_line(state: &State<'_>, out: &mut Vec<u8>) -> Result<(), Error> {
    if let Some(line) = flag_line(state) {
        out.extend_from_slice(line.as_bytes());
        return Ok(());
    }
    let key = key_of(state);
    if let State::Custom(..) = state {
        validate_key(key)?;
    }
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    // Writing into a Vec cannot fail, so the `write!` results below are always Ok.
    match *state {
        State::Status(text) | State::BusError(text) | State::VarlinkError(text) | State::Custom(_, text) => {
            escape_value(key, text, out)?;
        }
        State::FdName(name) => {
            validate_fdname(name)?;
            escape_value(key, name, out)?;
        }
        State::Errno(n) | State::MainPid(n) => {
            let _ = write!(out, "{n}");
        }
        State::ExitStatus(n) => {
            let _ = write!(out, "{n}");
        }
        State::MainPidFdId(id) => {
            let _ = write!(out, "{id}");
        }
        State::WatchdogUsec(d) | State::ExtendTimeoutUsec(d) | State::MonotonicUsec(d) => {
            let _ = write!(out, "{}", micros(key, d)?);
        }
        State::NotifyAccess(access) => out.extend_from_slice(access.as_str().as_bytes()),
        // Flags were written above.
        _ => unreachable!("flag states are encoded by flag_line"),
    }
    Ok(())
}

/// Whole microseconds, the unit of every `*_USEC` key; it must fit the manager's `usec_t`.
fn micros(key: &str, d: Duration) -> Result<u64, Error> {
    u64::try_from(d.as_micros()).map_err(|_| Error::InvalidValue {
        key: key.to_owned(),
        reason: "the duration does not fit in 64-bit microseconds",
    })
}

/// Checks a custom key: not empty, no `=`, whitespace, control character or backslash.
pub(crate) fn validate_key(key: &str) -> Result<(), Error> {
    let reason = if key.is_empty() {
        "the key is empty"
    } else if key.contains('=') {
        "the key contains `=`"
    } else if key.chars().any(char::is_whitespace) {
        "the key contains whitespace"
    } else if key.chars().any(char::is_control) {
        "the key contains a control character"
    } else if key.contains('\\') {
        "the key contains a backslash"
    } else {
        return Ok(());
    };
    Err(Error::InvalidKey {
        key: key.to_owned(),
        reason,
    })
}

/// Whether systemd accepts `name` as an `FDNAME=` (`fdname_is_valid`): up to 255 bytes of
/// printable ASCII, space included, without `:`.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// assert!(sdnotify::fdname_is_valid("http"));
/// assert!(!sdnotify::fdname_is_valid("a:b"));
/// assert!(!sdnotify::fdname_is_valid(&"x".repeat(256)));
/// ```
pub fn fdname_is_valid(name: &str) -> bool {
    validate_fdname(name).is_ok()
}

/// Checks an `FDNAME` as systemd's `fdname_is_valid` does: up to 255 bytes of printable ASCII
/// (space included), without `:`.
pub(crate) fn validate_fdname(name: &str) -> Result<(), Error> {
    let reason = if name.len() > MAX_FDNAME_LEN {
        "longer than the 255 bytes systemd allows"
    } else if name.contains(':') {
        "contains `:`, the separator of $LISTEN_FDNAMES"
    } else if name.bytes().any(|b| !(b' '..=b'~').contains(&b)) {
        "contains a byte that is not printable ASCII"
    } else {
        return Ok(());
    };
    Err(Error::InvalidValue {
        key: "FDNAME".to_owned(),
        reason,
    })
}

/// Appends a value with `\` escaped, refusing LF, CR and NUL.
fn escape_value(key: &str, value: impl AsRef<[u8]>, out: &mut Vec<u8>) -> Result<(), Error> {
    for &b in value.as_ref() {
        let reason = match b {
            b'\\' => {
                out.extend_from_slice(b"\\\\");
                continue;
            }
            b'\n' => "contains a newline (LF)",
            b'\r' => "contains a carriage return (CR)",
            0 => "contains a NUL byte",
            _ => {
                out.push(b);
                continue;
            }
        };
        return Err(Error::InvalidValue {
            key: key.to_owned(),
            reason,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mainpidfd_line_is_found_as_the_manager_reads_it() {
        let named = |text: &str| Message::from_raw(text).unwrap().names_main_pidfd();
        assert!(Message::from_states(&[State::MainPidFd])
            .unwrap()
            .names_main_pidfd());
        assert!(Message::from_states(&[State::Ready, State::MainPidFd])
            .unwrap()
            .names_main_pidfd());
        assert!(named("READY=1\rMAINPIDFD=1"));
        assert!(named("MAIN\\PIDFD=1"), "the manager drops the backslash");
        assert!(!named("MAINPIDFD=0"));
        assert!(!named("X_MAINPIDFD=1"));
        assert!(!named("MAINPIDFD=1\\"), "a trailing backslash drops the datagram");
        assert!(!Message::from_states(&[State::Status("MAINPIDFD=1")])
            .unwrap()
            .names_main_pidfd());
        assert!(!Message::from_states(&[State::Watchdog])
            .unwrap()
            .names_main_pidfd());
    }
    use crate::state::NotifyAccess;

    fn bytes(states: &[State<'_>]) -> Vec<u8> {
        Message::from_states(states).unwrap().as_bytes().to_vec()
    }

    #[test]
    fn every_state_has_its_exact_line() {
        let cases: &[(State<'_>, &str)] = &[
            (State::Ready, "READY=1"),
            (State::Reloading, "RELOADING=1"),
            (State::Stopping, "STOPPING=1"),
            (State::Status("up"), "STATUS=up"),
            (State::Errno(2), "ERRNO=2"),
            (
                State::BusError("org.freedesktop.DBus.Error.Failed"),
                "BUSERROR=org.freedesktop.DBus.Error.Failed",
            ),
            (
                State::VarlinkError("io.systemd.Failed"),
                "VARLINKERROR=io.systemd.Failed",
            ),
            (State::ExitStatus(3), "EXIT_STATUS=3"),
            (State::MainPid(4321), "MAINPID=4321"),
            (
                State::MainPidFdId(18_446_744_073_709_551_615),
                "MAINPIDFDID=18446744073709551615",
            ),
            (State::MainPidFd, "MAINPIDFD=1"),
            (State::Watchdog, "WATCHDOG=1"),
            (State::WatchdogTrigger, "WATCHDOG=trigger"),
            (
                State::WatchdogUsec(Duration::from_millis(1500)),
                "WATCHDOG_USEC=1500000",
            ),
            (
                State::ExtendTimeoutUsec(Duration::from_secs(9)),
                "EXTEND_TIMEOUT_USEC=9000000",
            ),
            (State::FdStore, "FDSTORE=1"),
            (State::FdStoreRemove, "FDSTOREREMOVE=1"),
            (State::FdName("listener 1"), "FDNAME=listener 1"),
            (State::FdPoll(false), "FDPOLL=0"),
            (
                State::MonotonicUsec(Duration::from_micros(77)),
                "MONOTONIC_USEC=77",
            ),
            (State::NotifyAccess(NotifyAccess::Exec), "NOTIFYACCESS=exec"),
            (State::RestartReset, "RESTART_RESET=1"),
            (State::Custom("X_APP", "v"), "X_APP=v"),
        ];
        for (state, line) in cases {
            assert_eq!(bytes(&[*state]), line.as_bytes(), "{state:?}");
        }
    }

    #[test]
    fn lines_are_joined_without_trailing_newline() {
        assert_eq!(bytes(&[State::Ready, State::Status("a")]), b"READY=1\nSTATUS=a");
        assert_eq!(bytes(&[]), b"");
    }

    #[test]
    fn backslashes_are_escaped() {
        assert_eq!(bytes(&[State::Status(r"C:\tmp \\")]), br"STATUS=C:\\tmp \\\\");
        assert_eq!(bytes(&[State::Custom("X", "\\")]), br"X=\\");
    }

    #[test]
    fn line_breaks_and_nul_in_values_are_refused() {
        for (value, reason) in [
            ("a\nREADY=1", "contains a newline (LF)"),
            ("a\rb", "contains a carriage return (CR)"),
            ("a\0b", "contains a NUL byte"),
        ] {
            for state in [
                State::Status(value),
                State::BusError(value),
                State::Custom("X_K", value),
            ] {
                match Message::from_states(&[State::Ready, state]) {
                    Err(Error::InvalidValue { reason: r, .. }) => assert_eq!(r, reason),
                    other => panic!("{state:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn bad_keys_are_refused() {
        for (key, reason) in [
            ("", "the key is empty"),
            ("A=B", "the key contains `=`"),
            ("A B", "the key contains whitespace"),
            ("A\tB", "the key contains whitespace"),
            ("A\u{1}", "the key contains a control character"),
            ("A\\", "the key contains a backslash"),
        ] {
            match Message::from_states(&[State::Custom(key, "v")]) {
                Err(Error::InvalidKey { reason: r, .. }) => assert_eq!(r, reason, "{key:?}"),
                other => panic!("{key:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn fdnames_follow_systemds_rules() {
        assert!(Message::from_states(&[State::FdName("")]).is_ok());
        assert!(Message::from_states(&[State::FdName(&"n".repeat(255))]).is_ok());
        for bad in ["a:b", "tab\there", "é", &"n".repeat(256), "del\u{7f}"] {
            assert!(
                matches!(
                    Message::from_states(&[State::FdName(bad)]),
                    Err(Error::InvalidValue { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn size_limit_is_4096_bytes() {
        let fits = "x".repeat(4096 - "STATUS=".len());
        assert_eq!(Message::from_states(&[State::Status(&fits)]).unwrap().len(), 4096);
        let over = "x".repeat(4097 - "STATUS=".len());
        assert!(matches!(
            Message::from_states(&[State::Status(&over)]),
            Err(Error::MessageTooLarge { len: 4097 })
        ));
        assert!(matches!(
            Message::from_raw(&"y".repeat(4097)),
            Err(Error::MessageTooLarge { len: 4097 })
        ));
        assert_eq!(Message::from_raw(&"y".repeat(4096)).unwrap().len(), 4096);
    }

    #[test]
    fn durations_must_fit_in_usec_t() {
        assert!(matches!(
            Message::from_states(&[State::WatchdogUsec(Duration::MAX)]),
            Err(Error::InvalidValue { ref key, .. }) if key == "WATCHDOG_USEC"
        ));
    }

    #[test]
    fn raw_text_is_sent_as_is_but_not_with_nul() {
        assert_eq!(Message::from_raw("A=\\x\n").unwrap().as_bytes(), b"A=\\x\n");
        match Message::from_raw("READY=1\nSTATUS=a\0b") {
            Err(Error::InvalidValue { key, reason }) => {
                assert_eq!(key, "STATUS");
                assert_eq!(reason, "contains a NUL byte");
            }
            other => panic!("{other:?}"),
        }
    }
}
