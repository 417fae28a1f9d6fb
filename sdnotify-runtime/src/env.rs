//! The protocol's environment variables: read once, never modified.
//!
//! Unsetting `NOTIFY_SOCKET` after READY is the most common bug in other implementations (every
//! later watchdog ping and STOPPING is silently dropped), and `remove_var` is unsound once threads
//! exist. So the library reads the variables once, caches them, and leaves the process
//! environment alone; [`scrub`] keeps them from a child process instead.

use std::ffi::{OsStr, OsString};
use std::process::Command;

use std::sync::OnceLock;

use crate::error::Error;

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

/// `$FDSTORE` (254): the size of the service's fd store (`FileDescriptorStoreMax=`), set
/// only when it is enabled.
pub const FDSTORE: &str = "FDSTORE";
/// `$MAINPIDFDID` (258): the pidfd inode id of the service's main process.
pub const MAINPIDFDID: &str = "MAINPIDFDID";
/// `$MANAGERPIDFDID` (258): the pidfd inode id of the service manager.
pub const MANAGERPIDFDID: &str = "MANAGERPIDFDID";

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
    pub(crate) fdstore: Option<OsString>,
    pub(crate) main_pidfd_id: Option<OsString>,
    pub(crate) manager_pidfd_id: Option<OsString>,
    pub(crate) debug: bool,
}

static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();

fn read_snapshot() -> Snapshot {
    let snapshot = Snapshot {
        notify_socket: std::env::var_os(NOTIFY_SOCKET),
        watchdog_usec: std::env::var_os(WATCHDOG_USEC),
        watchdog_pid: std::env::var_os(WATCHDOG_PID),
        listen_fds: std::env::var_os(LISTEN_FDS),
        listen_pid: std::env::var_os(LISTEN_PID),
        listen_fdnames: std::env::var_os(LISTEN_FDNAMES),
        fdstore: std::env::var_os(FDSTORE),
        main_pidfd_id: std::env::var_os(MAINPIDFDID),
        manager_pidfd_id: std::env::var_os(MANAGERPIDFDID),
        debug: std::env::var_os(SDNOTIFY_DEBUG).is_some_and(|v| v == OsStr::new("1")),
    };
    // Now, before the runtime opens a descriptor of its own that could take a number the
    // environment announces (see `listen_fds`).
    crate::listen::identify(
        snapshot.listen_pid.as_deref(),
        snapshot.listen_fds.as_deref(),
        snapshot.listen_fdnames.as_deref(),
    );
    snapshot
}

pub(crate) fn snapshot() -> &'static Snapshot {
    SNAPSHOT.get_or_init(read_snapshot)
}

/// Removes the protocol variables from a child's environment, so that a helper process does
/// not talk to (or pretend to be) the service manager. The parent's environment is untouched.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use std::process::Command;
///
/// let mut child = Command::new("env");
/// sdnotify::env::scrub(&mut child);
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
/// # use sdnotify_runtime as sdnotify;
/// let tracing = sdnotify::env::debug_enabled();
/// # let _ = tracing;
/// ```
pub fn debug_enabled() -> bool {
    snapshot().debug
}

/// `$FDSTORE` (systemd 254+): how many descriptors the manager keeps for this service
/// (`FileDescriptorStoreMax=`). `None` when unset: the store is disabled, or the manager is
/// older than 254 (see [`fdstore_enabled`]).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// match sdnotify::env::fdstore_max()? {
///     Some(n) => println!("the manager keeps up to {n} descriptors"),
///     None => println!("no fd store announced"),
/// }
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn fdstore_max() -> Result<Option<u32>, Error> {
    number(
        FDSTORE,
        snapshot().fdstore.as_deref(),
        "not a number of descriptors",
    )
}

/// Whether the manager keeps descriptors sent with `FDSTORE=1`, as far as the environment
/// tells: `Some(true)` with a positive `$FDSTORE`, `Some(false)` when a manager that announces
/// its store (258+, which also sets `$MANAGERPIDFDID`) set none or 0, `None` when unknown
/// (an older manager, or no manager).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// if sdnotify::env::fdstore_enabled()? == Some(false) {
///     println!("FileDescriptorStoreMax= is 0 for this unit: descriptors would be closed");
/// }
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn fdstore_enabled() -> Result<Option<bool>, Error> {
    let announced = snapshot().manager_pidfd_id.is_some();
    Ok(match fdstore_max()? {
        Some(n) => Some(n > 0),
        None if announced => Some(false),
        None => None,
    })
}

/// `$MAINPIDFDID` (systemd 258+): the pidfd inode id the manager knows the service's main
/// process by; compare with [`pidfd_id`](crate::pidfd_id) of a process.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// let id = sdnotify::env::main_pidfd_id()?;
/// # let _ = id;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn main_pidfd_id() -> Result<Option<u64>, Error> {
    id(MAINPIDFDID, snapshot().main_pidfd_id.as_deref())
}

/// `$MANAGERPIDFDID` (systemd 258+): the pidfd inode id of the service manager.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// let id = sdnotify::env::manager_pidfd_id()?;
/// # let _ = id;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn manager_pidfd_id() -> Result<Option<u64>, Error> {
    id(MANAGERPIDFDID, snapshot().manager_pidfd_id.as_deref())
}

fn id(var: &'static str, value: Option<&OsStr>) -> Result<Option<u64>, Error> {
    let Some(value) = value else {
        return Ok(None);
    };
    value
        .to_str()
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse().ok())
        .map(Some)
        .ok_or_else(|| Error::InvalidEnvironment {
            var,
            value: value.to_string_lossy().into_owned(),
            reason: "not a pidfd inode id",
        })
}

fn number(var: &'static str, value: Option<&OsStr>, reason: &'static str) -> Result<Option<u32>, Error> {
    match value {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .and_then(crate::address::parse_u32)
            .map(Some)
            .ok_or_else(|| Error::InvalidEnvironment {
                var,
                value: v.to_string_lossy().into_owned(),
                reason,
            }),
    }
}
