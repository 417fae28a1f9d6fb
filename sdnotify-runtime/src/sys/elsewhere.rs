//! Every target but Linux: no service manager speaks this protocol there, so nothing is sent,
//! received or inherited. Each call that would talk to a manager fails with `Unsupported`
//! (the crate never gets that far: its process-wide sender is off, as with `NOTIFY_SOCKET`
//! unset); what a service only reads (the clock, its ids) answers plainly.

use std::io;
use std::os::raw::c_int;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::fd::{BorrowedFd, OwnedFd, RawFd};
use super::{Creds, Endpoint, Identity, Interest, NotInherited, Polled, SockType};

fn unsupported<T>() -> io::Result<T> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "the service-notification protocol exists on Linux only",
    ))
}

pub(crate) fn socket(_to: &Endpoint<'_>, _ty: SockType) -> io::Result<OwnedFd> {
    unsupported()
}

pub(crate) fn connect(_socket: BorrowedFd<'_>, _to: &Endpoint<'_>) -> io::Result<()> {
    unsupported()
}

pub(crate) fn send(
    _socket: BorrowedFd<'_>,
    _bytes: &[u8],
    _fds: &[BorrowedFd<'_>],
    _creds: Option<Creds>,
    _wait: bool,
) -> io::Result<()> {
    unsupported()
}

pub(crate) fn poll(
    _fd: BorrowedFd<'_>,
    _interest: Interest,
    _timeout: Option<Duration>,
) -> io::Result<Polled> {
    unsupported()
}

pub(crate) fn shutdown_write(_socket: BorrowedFd<'_>) -> io::Result<()> {
    unsupported()
}

pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    unsupported()
}

pub(crate) fn read(_fd: BorrowedFd<'_>, _buf: &mut [u8]) -> io::Result<usize> {
    unsupported()
}

/// Nothing was inherited: the crate never asks (no socket activation here).
pub(crate) fn identify_inherited(_fd: RawFd) -> Result<Identity, NotInherited> {
    Err(NotInherited::NotOpen)
}

pub(crate) fn claim_inherited(_fd: RawFd, _identity: Identity) -> io::Result<OwnedFd> {
    unsupported()
}

pub(crate) fn describe(_fd: BorrowedFd<'_>) -> io::Result<super::FdKind> {
    unsupported()
}

pub(crate) fn file_id(_fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    unsupported()
}

pub(crate) fn path_id(_path: &std::path::Path) -> io::Result<(u64, u64)> {
    unsupported()
}

pub(crate) fn local_addr(_fd: BorrowedFd<'_>) -> io::Result<super::LocalAddr> {
    unsupported()
}

pub(crate) fn pidfd_open(_pid: i32) -> io::Result<OwnedFd> {
    unsupported()
}

pub(crate) fn no_such_process(_e: &io::Error) -> bool {
    false
}

pub(crate) fn pidfs_inode(_pidfd: BorrowedFd<'_>) -> io::Result<Option<u64>> {
    Ok(None)
}

/// This process's id where the target has one; WASI has no processes (1 stands for this one).
pub(crate) fn current_pid() -> i32 {
    #[cfg(target_os = "wasi")]
    return 1;
    #[cfg(not(target_os = "wasi"))]
    return i32::try_from(std::process::id()).unwrap_or(1);
}

pub(crate) fn uid() -> u32 {
    0
}

pub(crate) fn gid() -> u32 {
    0
}

/// A monotonic clock with an arbitrary start (the first call); only messages that are never
/// sent here read it.
pub(crate) fn monotonic() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// No signal is resolved by name here: no reload signal is installed off Linux.
pub(crate) fn signal_names() -> &'static [(&'static str, c_int)] {
    &[]
}

pub(crate) fn realtime_signals() -> Option<(c_int, c_int)> {
    None
}
