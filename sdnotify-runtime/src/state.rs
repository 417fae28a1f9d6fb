//! The typed states a service can report, one variant per key of `sd_notify(3)`.

use std::time::Duration;

/// One line of a notification: a state the service reports to its manager.
///
/// Payloads are borrowed; times are [`Duration`]s sent as whole microseconds; pids are `u32`.
/// [`Message::from_states`](crate::Message::from_states) validates and encodes them.
/// The version in brackets is the systemd release that first understands the key; older
/// managers ignore keys they do not know.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Message, State};
/// use std::time::Duration;
///
/// let msg = Message::from_states(&[
///     State::Ready,
///     State::Status("serving 3 clients"),
///     State::ExtendTimeoutUsec(Duration::from_secs(5)),
/// ])?;
/// assert_eq!(msg.as_bytes(), b"READY=1\nSTATUS=serving 3 clients\nEXTEND_TIMEOUT_USEC=5000000");
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State<'a> {
    /// `READY=1`: start-up is finished; a `Type=notify` unit becomes active.
    Ready,
    /// `RELOADING=1` (217): the service reloads its configuration. For `Type=notify-reload`
    /// send it together with [`State::MonotonicUsec`], as [`reloading`](crate::reloading) does.
    Reloading,
    /// `STOPPING=1` (217): the service is shutting down; the manager disarms the watchdog.
    Stopping,
    /// `STATUS=…`: a single line of free text, shown as the unit's `StatusText`.
    Status(&'a str),
    /// `ERRNO=…`: an `errno`-style error code describing a failure.
    Errno(u32),
    /// `BUSERROR=…`: a D-Bus error name describing a failure.
    BusError(&'a str),
    /// `VARLINKERROR=…` (257): a Varlink error name describing a failure.
    VarlinkError(&'a str),
    /// `EXIT_STATUS=…` (254): the exit status the service is about to exit with.
    ExitStatus(u8),
    /// `MAINPID=…`: the pid of the service's main process, if not the sender.
    MainPid(u32),
    /// `MAINPIDFDID=…` (257): the inode id of the new main process's pidfd (on pidfs), sent
    /// after [`State::MainPid`] so that the manager can tell a recycled pid from the process
    /// meant; see [`pidfd_id`](crate::pidfd_id).
    MainPidFdId(u64),
    /// `MAINPIDFD=1` (257): the new main process is the one whose pidfd is the single
    /// descriptor sent with this message ([`Notifier::notify_with_fds`](crate::Notifier::notify_with_fds)),
    /// which no pid recycling can confuse.
    MainPidFd,
    /// `WATCHDOG=1`: keep-alive ping; send at least every `WATCHDOG_USEC`.
    Watchdog,
    /// `WATCHDOG=trigger` (243): fire the watchdog now, as if a ping was missed.
    WatchdogTrigger,
    /// `WATCHDOG_USEC=…`: change the watchdog interval until the next start.
    WatchdogUsec(Duration),
    /// `EXTEND_TIMEOUT_USEC=…` (236): the current start, reload or stop needs this much longer.
    ExtendTimeoutUsec(Duration),
    /// `FDSTORE=1` (219): keep the file descriptors sent with this message in the fd store.
    FdStore,
    /// `FDSTOREREMOVE=1` (236): remove the stored descriptors named by [`State::FdName`].
    FdStoreRemove,
    /// `FDNAME=…`: the name of the stored descriptors (≤ 255 printable ASCII bytes, no `:`).
    FdName(&'a str),
    /// `FDPOLL=0` (246) with `false`: do not watch the stored descriptors for `POLLHUP`.
    FdPoll(bool),
    /// `MONOTONIC_USEC=…` (253): `CLOCK_MONOTONIC` when the reload started; see
    /// [`monotonic_now`](crate::monotonic_now).
    MonotonicUsec(Duration),
    /// `NOTIFYACCESS=…` (254): change the unit's `NotifyAccess=` setting.
    NotifyAccess(NotifyAccess),
    /// `RESTART_RESET=1` (258): reset the unit's automatic restart counter.
    RestartReset,
    /// `KEY=VALUE` for a key not listed here; private extensions should start with `X_`.
    Custom(&'a str, &'a str),
}

/// Who may send notifications for a unit, as in `NotifyAccess=` (see [`State::NotifyAccess`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyAccess {
    /// No process may send notifications.
    None,
    /// Only the main process.
    Main,
    /// The main process and the control processes (`ExecStartPre=`, …).
    Exec,
    /// Every process in the unit's cgroup.
    All,
}

impl NotifyAccess {
    /// The setting as written in a unit file and on the wire.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// assert_eq!(sdnotify::NotifyAccess::All.as_str(), "all");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyAccess::None => "none",
            NotifyAccess::Main => "main",
            NotifyAccess::Exec => "exec",
            NotifyAccess::All => "all",
        }
    }

    /// Parses `none`, `main`, `exec` or `all`.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::NotifyAccess;
    /// assert_eq!(NotifyAccess::parse("main"), Some(NotifyAccess::Main));
    /// assert_eq!(NotifyAccess::parse("everyone"), None);
    /// ```
    pub fn parse(text: &str) -> Option<NotifyAccess> {
        Some(match text {
            "none" => NotifyAccess::None,
            "main" => NotifyAccess::Main,
            "exec" => NotifyAccess::Exec,
            "all" => NotifyAccess::All,
            _ => return None,
        })
    }
}

/// The current `CLOCK_MONOTONIC` time, the clock of [`State::MonotonicUsec`].
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// let a = sdnotify::monotonic_now();
/// assert!(sdnotify::monotonic_now() >= a);
/// ```
pub fn monotonic_now() -> Duration {
    crate::sys::monotonic()
}
