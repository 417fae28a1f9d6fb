//! The protocol's environment variables: read once, never modified.
//!
//! Unsetting `NOTIFY_SOCKET` after READY is the most common bug in other implementations (every
//! later watchdog ping and STOPPING is silently dropped), and `remove_var` is unsound once threads
//! exist. So the library reads the variables once, caches them, and leaves the process
//! environment alone; [`scrub`] keeps them from a child process instead.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use once_cell::sync::Lazy;

/// Where the service manager listens for notifications.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The watchdog interval in microseconds.
pub const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// The pid the watchdog settings are meant for.
pub const WATCHDOG_PID: &str = "WATCHDOG_PID";
/// The number of socket-activation file descriptors, starting at fd 3.
pub const LISTEN_FDS: &str = "LISTEN_FDS";
/// The pid the socket-activation descriptors are meant for.
pub const LISTEN_PID: &str = "LISTEN_PID";
/// `:`-separated names of the socket-activation descriptors.
pub const LISTEN_FDNAMES: &str = "LISTEN_FDNAMES";
/// Set to `1` to trace every notification sdnotify sends (or would send) on stderr.
pub const SDNOTIFY_DEBUG: &str = "SDNOTIFY_DEBUG";

/// Every variable of the protocol that [`scrub`] removes.
pub const PROTOCOL_VARS: [&str; 6] = [
    NOTIFY_SOCKET,
    WATCHDOG_USEC,
    WATCHDOG_PID,
    LISTEN_FDS,
    LISTEN_PID,
    LISTEN_FDNAMES,
];

/// The protocol variables as they were when the library first looked.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) notify_socket: Option<OsString>,
    pub(crate) watchdog_usec: Option<OsString>,
    pub(crate) watchdog_pid: Option<OsString>,
    pub(crate) listen_fds: Option<OsString>,
    pub(crate) listen_pid: Option<OsString>,
    pub(crate) listen_fdnames: Option<OsString>,
    pub(crate) debug: bool,
}

static SNAPSHOT: Lazy<Snapshot> = Lazy::new(|| Snapshot {
    notify_socket: std::env::var_os(NOTIFY_SOCKET),
    watchdog_usec: std::env::var_os(WATCHDOG_USEC),
    watchdog_pid: std::env::var_os(WATCHDOG_PID),
    listen_fds: std::env::var_os(LISTEN_FDS),
    listen_pid: std::env::var_os(LISTEN_PID),
    listen_fdnames: std::env::var_os(LISTEN_FDNAMES),
    debug: std::env::var_os(SDNOTIFY_DEBUG).is_some_and(|v| v == OsStr::new("1")),
});

pub(crate) fn snapshot() -> &'static Snapshot {
    &SNAPSHOT
}

/// Removes the protocol variables from a child's environment, so that a helper process does
/// not talk to (or pretend to be) the service manager. The parent's environment is untouched.
///
/// ```
/// use std::process::Command;
///
/// let mut child = Command::new("env");
/// sdnotify_runtime::env::scrub(&mut child);
/// assert!(child.get_envs().any(|(k, v)| k == "NOTIFY_SOCKET" && v.is_none()));
/// ```
pub fn scrub(command: &mut Command) -> &mut Command {
    for var in PROTOCOL_VARS {
        command.env_remove(var);
    }
    command
}

/// Whether `SDNOTIFY_DEBUG=1` was set when the library first looked.
///
/// ```
/// let tracing = sdnotify_runtime::env::debug_enabled();
/// # let _ = tracing;
/// ```
pub fn debug_enabled() -> bool {
    snapshot().debug
}
