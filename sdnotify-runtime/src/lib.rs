//! systemd's service-notification protocol (`sd_notify(3)`) in pure Rust.
//!
//! This is the runtime behind the [`sdnotify`](https://docs.rs/sdnotify) crate; use it through
//! that facade. It sends readiness, status, watchdog pings and fd-store entries to the service
//! manager, waits for it with a barrier, reads the watchdog and socket-activation settings, and
//! validates everything it sends, so user input can never inject a line the manager would act on.
//!
//! ```no_run
//! # use sdnotify_runtime as sdnotify;
//! use sdnotify::State;
//!
//! // ... start up ...
//! sdnotify::notify(&[State::Ready, State::Status("accepting connections")])?;
//! if let Some(interval) = sdnotify::watchdog_enabled()? {
//!     // ping every interval / 2
//!     sdnotify::watchdog_ping()?;
//! }
//! sdnotify::stopping()?;
//! # Ok::<(), sdnotify::Error>(())
//! ```
//!
//! Off systemd (`NOTIFY_SOCKET` unset) every function returns `Ok(false)` and sends nothing,
//! after checking the message as it would have sent it.
//!
//! Linux does the work; elsewhere it compiles to nothing. On macOS, the BSDs, Windows and WASI
//! the crate builds and behaves as on Linux with `NOTIFY_SOCKET` unset: every `notify*` is
//! `Ok(false)` (bad input is still refused), [`listen_fds`] is empty, [`watchdog_enabled`] is
//! `None` and [`booted`] is false. The manager's side (`manager`) is Linux only.

// Every `unsafe` block is in `sys`, the one module allowed to have them.
#![deny(unsafe_code)]
// Where descriptors do not exist (Windows) they are types without values (see `sys::fd`):
// the code that would pass them on is unreachable there, by construction.
#![cfg_attr(
    not(any(unix, target_os = "wasi")),
    allow(unreachable_code, unused_variables, unused_mut)
)]

pub mod activation;
mod address;
mod booted;
pub mod env;
mod error;
mod listen;
#[cfg(target_os = "linux")]
pub mod manager;
mod message;
mod notifier;
mod parse;
mod pid;
mod report;
pub mod signal;
mod state;
mod sys;
mod watchdog;

use std::time::Duration;

use std::sync::OnceLock;

pub use address::NotifyAddress;
pub use booted::booted;
pub use error::{Error, MAX_FDS, MAX_MESSAGE_LEN};
pub use listen::{listen_fds, ListenFd, LISTEN_FDS_START};
pub use message::{fdname_is_valid, Message, MAX_FDNAME_LEN};
pub use notifier::Notifier;
pub use parse::{Notification, ParseError};
pub use pid::{pidfd_id, Pid};
#[doc(hidden)]
pub use report::{__defer_reports, __release_reports, __report};
use report::{trace, trace_line};
pub use state::{monotonic_now, NotifyAccess, State};
pub use watchdog::watchdog_enabled;

/// The process-wide sender for `$NOTIFY_SOCKET`: parsed once, connected at first use.
struct Global {
    sender: Result<Option<Notifier>, Error>,
    /// `SDNOTIFY_DEBUG=1`: kept here so the hot path reads one lazily initialised value.
    debug: bool,
}

/// The process-wide sender, read from the environment at its first use.
fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(read_global)
}

fn read_global() -> Global {
    let env = env::snapshot();
    let sender = match &env.notify_socket {
        // Off Linux no manager listens: as with the variable unset.
        Some(address) if sys::SUPPORTED => {
            NotifyAddress::parse(address).map(|a| Some(Notifier::unconnected(a)))
        }
        _ => Ok(None),
    };
    Global {
        sender,
        debug: env.debug,
    }
}

impl Notifier {
    /// The process-wide notifier behind [`notify`]; `Ok(None)` when `NOTIFY_SOCKET` is unset.
    ///
    /// Use it for what the shorthands do not cover, such as sending descriptors.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::{Notifier, State};
    ///
    /// if let Some(notifier) = Notifier::global()? {
    ///     notifier.notify(&[State::FdStoreRemove, State::FdName("old")])?;
    /// }
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn global() -> Result<Option<&'static Notifier>, Error> {
        match &global().sender {
            Ok(notifier) => Ok(notifier.as_ref()),
            Err(err) => Err(err.clone_detached()),
        }
    }
}

/// Sends states to the service manager as one message (`sd_notify(3)`).
///
/// `Ok(true)` when sent, `Ok(false)` when `NOTIFY_SOCKET` is unset. The message is validated
/// either way, so a bad value is caught during development too. With `SDNOTIFY_DEBUG=1` each
/// message and its outcome is traced on stderr.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{notify, State};
///
/// let sent = notify(&[State::Ready, State::Status("ready for requests")])?;
/// # let _ = sent;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn notify(states: &[State<'_>]) -> Result<bool, Error> {
    notify_until(states, None)
}

/// [`notify`], waiting at most `timeout` while the manager's receive queue is full, then
/// failing with [`Error::SendTimeout`] (see [`Notifier::send_within`]).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{notify_within, State};
/// use std::time::Duration;
///
/// notify_within(&[State::Watchdog], Duration::from_millis(500))?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn notify_within(states: &[State<'_>], timeout: Duration) -> Result<bool, Error> {
    notify_until(states, Some(timeout))
}

fn notify_until(states: &[State<'_>], timeout: Option<Duration>) -> Result<bool, Error> {
    let global = global();
    // The common case off systemd: no lookups, no allocation.
    if let (Ok(None), false) = (&global.sender, global.debug) {
        if !message::is_single_flag(states) {
            Message::from_states(states)?;
        }
        return Ok(false);
    }
    let message = match Message::from_states(states) {
        Ok(message) => message,
        Err(err) => {
            if global.debug {
                trace_line(format_args!("error: {err}"));
            }
            return Err(err);
        }
    };
    let result = match Notifier::global() {
        Err(err) => Err(err),
        Ok(None) => Ok(false),
        Ok(Some(notifier)) => match timeout {
            None => notifier.send(&message, &[], None),
            Some(timeout) => notifier.send_within(&message, &[], None, timeout),
        }
        .map(|()| true),
    };
    if global.debug {
        trace(&message, &result);
    }
    result
}

/// `READY=1`: start-up is finished.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::ready()?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn ready() -> Result<bool, Error> {
    notify(&[State::Ready])
}

/// `STOPPING=1`: the service is shutting down.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::stopping()?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn stopping() -> Result<bool, Error> {
    notify(&[State::Stopping])
}

/// `RELOADING=1` with `MONOTONIC_USEC=now` in one datagram, as `Type=notify-reload` requires;
/// send [`ready`] when the reload is done.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::reloading()?;
/// // ... reload ...
/// sdnotify::ready()?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn reloading() -> Result<bool, Error> {
    notify(&[State::Reloading, State::MonotonicUsec(monotonic_now())])
}

/// `STATUS=…`: one line of free text, shown as the unit's status.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::status("warming caches (3/8)")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn status(text: &str) -> Result<bool, Error> {
    notify(&[State::Status(text)])
}

/// `WATCHDOG=1`: the keep-alive ping.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::watchdog_ping()?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn watchdog_ping() -> Result<bool, Error> {
    notify(&[State::Watchdog])
}

/// `EXTEND_TIMEOUT_USEC=…`: the current start-up, reload or shutdown needs `by` longer.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::extend_timeout(std::time::Duration::from_secs(30))?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn extend_timeout(by: Duration) -> Result<bool, Error> {
    notify(&[State::ExtendTimeoutUsec(by)])
}

/// Hands descriptors to the manager's fd store under `name` (`FDSTORE=1` and `FDNAME=`, the
/// descriptors sent with them), on the process-wide sender; the manager passes them back on
/// the service's next start. Refuses with [`Error::FdStoreDisabled`], sending nothing, where
/// the environment says the manager keeps no descriptors ([`env::fdstore_enabled`]) rather
/// than "succeeding" while the manager closes them.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// use std::os::fd::AsFd;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// sdnotify::fdstore("http", &[listener.as_fd()])?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fdstore(name: &str, fds: &[sys::fd::BorrowedFd<'_>]) -> Result<bool, Error> {
    let message = Message::from_states(&[State::FdStore, State::FdName(name)])?;
    if env::fdstore_enabled()? == Some(false) {
        return Err(Error::FdStoreDisabled);
    }
    match Notifier::global()? {
        None => Ok(false),
        Some(notifier) => notifier.send(&message, fds, None).map(|()| true),
    }
}

/// Closes the descriptors stored under `name` (`FDSTOREREMOVE=1` with `FDNAME=`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::fdstore_remove("http")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn fdstore_remove(name: &str) -> Result<bool, Error> {
    notify(&[State::FdStoreRemove, State::FdName(name)])
}

/// Waits until the manager has processed everything sent before (`sd_notify_barrier(3)`);
/// `Ok(false)` when `NOTIFY_SOCKET` is unset.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// sdnotify::barrier(std::time::Duration::from_secs(5))?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn barrier(timeout: Duration) -> Result<bool, Error> {
    match Notifier::global()? {
        None => Ok(false),
        Some(notifier) => notifier.barrier(timeout).map(|()| true),
    }
}
