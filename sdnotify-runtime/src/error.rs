//! The one error type of the crate.

use std::fmt;
use std::io;
use std::time::Duration;

/// Why a notification could not be built or sent.
///
/// Every variant is a kind a caller can match on; the operating system's error is kept as the
/// [`source`](std::error::Error::source) of [`Error::Io`]. Nothing is sent when a message is
/// rejected for its content (every variant except `Io`, `BarrierTimeout` and `SendTimeout`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Error, Message, State};
///
/// let err = Message::from_states(&[State::Status("two\nlines")]).unwrap_err();
/// assert!(matches!(&err, Error::InvalidValue { key, .. } if key == "STATUS"));
/// assert_eq!(err.to_string(), "invalid value for `STATUS`: contains a newline (LF)");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// `NOTIFY_SOCKET` (or the address given to [`Notifier::connect`](crate::Notifier::connect))
    /// is not an address the protocol allows.
    InvalidAddress {
        /// The address as given, lossily converted to text.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A key is empty or contains `=`, whitespace or a control character.
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value the manager would misread: LF, CR or NUL in it, an `FDNAME` systemd refuses, a
    /// duration that does not fit in 64-bit microseconds.
    InvalidValue {
        /// The key whose value was refused.
        key: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The message is longer than the 4096 bytes the manager reads; it would be dropped whole.
    MessageTooLarge {
        /// The length the message would have had.
        len: usize,
    },
    /// More file descriptors than one message can carry (253, the kernel's `SCM_MAX_FD`).
    TooManyFds {
        /// How many were given.
        count: usize,
    },
    /// The message needs a set number of descriptors and was given another: `MAINPIDFD=1`
    /// names the new main process by the one pidfd sent with it, and the manager ignores it
    /// with none or several. Nothing was sent.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::{Error, Notifier, State};
    /// # let listener = sdnotify::manager::Listener::bind_unique()?;
    /// # let notifier = Notifier::connect(listener.address())?;
    /// let err = notifier.notify_with_fds(&[State::MainPidFd], &[]).unwrap_err();
    /// assert!(matches!(err, Error::FdCount { needed: 1, given: 0, .. }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    FdCount {
        /// The line that needs them.
        line: &'static str,
        /// How many it needs.
        needed: usize,
        /// How many were given.
        given: usize,
    },
    /// A descriptor passed under a name is not what the program asked for (see
    /// [`activation`](crate::activation)): a UDP socket where a listening TCP socket was
    /// expected, say. It is left where it was.
    WrongDescriptor {
        /// Its number.
        fd: i32,
        /// Its name (`FileDescriptorName=`, `FDNAME=`).
        name: String,
        /// What was asked for.
        expected: &'static str,
        /// What it is.
        found: String,
    },
    /// A protocol environment variable (`WATCHDOG_USEC`, `WATCHDOG_PID`, `LISTEN_FDS`, …)
    /// holds something that is not a valid value.
    InvalidEnvironment {
        /// The variable's name.
        var: &'static str,
        /// Its value, lossily converted to text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The socket could not be created, connected or written to.
    Io(io::Error),
    /// The manager did not confirm a barrier within the timeout.
    BarrierTimeout(Duration),
    /// The manager keeps no descriptors for this service (its `FileDescriptorStoreMax=` is 0, as
    /// `$FDSTORE` tells): descriptors sent with `FDSTORE=1` would be closed. Nothing was sent.
    FdStoreDisabled,
    /// The manager's receive queue stayed full for the whole timeout of a bounded send
    /// ([`Notifier::send_within`](crate::Notifier::send_within)); nothing was sent.
    SendTimeout(Duration),
}

/// The largest datagram the manager reads (`NOTIFY_BUFFER_MAX`, which is `PIPE_BUF`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// let text = "x".repeat(sdnotify::MAX_MESSAGE_LEN + 1);
/// assert!(sdnotify::Message::from_raw(&text).is_err());
/// ```
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The most file descriptors one message can carry (the kernel's `SCM_MAX_FD`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// assert_eq!(sdnotify::MAX_FDS, 253);
/// ```
pub const MAX_FDS: usize = 253;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidAddress { address, reason } => {
                write!(f, "invalid notification socket address {address:?}: {reason}")
            }
            Error::InvalidKey { key, reason } => write!(f, "invalid key {key:?}: {reason}"),
            Error::InvalidValue { key, reason } => {
                write!(f, "invalid value for `{key}`: {reason}")
            }
            Error::MessageTooLarge { len } => write!(
                f,
                "message is {len} bytes, more than the {MAX_MESSAGE_LEN} the manager reads"
            ),
            Error::TooManyFds { count } => write!(
                f,
                "{count} file descriptors given, at most {MAX_FDS} fit in one message"
            ),
            Error::FdCount { line, needed, given } => write!(
                f,
                "`{line}` needs exactly {needed} file descriptor(s) with the message, {given} given"
            ),
            Error::WrongDescriptor {
                fd,
                name,
                expected,
                found,
            } => write!(f, "descriptor {fd} (named `{name}`) is {found}, not {expected}"),
            Error::InvalidEnvironment { var, value, reason } => {
                write!(f, "invalid ${var}={value:?}: {reason}")
            }
            Error::Io(err) => write!(f, "cannot reach the service manager: {err}"),
            Error::BarrierTimeout(timeout) => write!(
                f,
                "the service manager did not confirm the barrier within {timeout:?}"
            ),
            Error::FdStoreDisabled => write!(
                f,
                "the service manager keeps no descriptors for this service ($FDSTORE is unset or 0); \
                 set FileDescriptorStoreMax= in the unit"
            ),
            Error::SendTimeout(timeout) => write!(
                f,
                "the service manager's queue stayed full for {timeout:?}; nothing was sent"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(err) => Some(err),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::Io(err)
    }
}

impl Error {
    /// A copy of an error that carries no `io::Error` (used to hand out a cached parse error).
    pub(crate) fn clone_detached(&self) -> Error {
        match self {
            Error::InvalidAddress { address, reason } => Error::InvalidAddress {
                address: address.clone(),
                reason,
            },
            Error::InvalidEnvironment { var, value, reason } => Error::InvalidEnvironment {
                var,
                value: value.clone(),
                reason,
            },
            Error::InvalidKey { key, reason } => Error::InvalidKey {
                key: key.clone(),
                reason,
            },
            Error::InvalidValue { key, reason } => Error::InvalidValue {
                key: key.clone(),
                reason,
            },
            Error::MessageTooLarge { len } => Error::MessageTooLarge { len: *len },
            Error::TooManyFds { count } => Error::TooManyFds { count: *count },
            Error::FdCount { line, needed, given } => Error::FdCount {
                line,
                needed: *needed,
                given: *given,
            },
            Error::WrongDescriptor {
                fd,
                name,
                expected,
                found,
            } => Error::WrongDescriptor {
                fd: *fd,
                name: name.clone(),
                expected,
                found: found.clone(),
            },
            Error::BarrierTimeout(t) => Error::BarrierTimeout(*t),
            Error::SendTimeout(t) => Error::SendTimeout(*t),
            Error::FdStoreDisabled => Error::FdStoreDisabled,
            Error::Io(err) => Error::Io(io::Error::new(err.kind(), err.to_string())),
        }
    }
}
