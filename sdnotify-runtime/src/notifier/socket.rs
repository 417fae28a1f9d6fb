//! The waits around a send: a full manager queue (bounded by a deadline) and the barrier's
//! wait for the manager's hangup. The system calls themselves are `sys`'s.

use std::io;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::sys::fd::{BorrowedFd, OwnedFd};
use crate::sys::{self, Creds, Interest, Polled};

/// The errors of a send on a connected socket whose peer is gone or was re-created.
pub(super) fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::NotConnected
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
    )
}

/// Exactly one system call, waiting while the manager's queue is full. With a deadline the
/// send does not block: while the queue is full it polls for room until the deadline, then
/// fails with `WouldBlock`.
pub(super) fn send_on(
    socket: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    creds: Option<Creds>,
    deadline: Option<Instant>,
) -> io::Result<()> {
    let Some(deadline) = deadline else {
        return sys::send(socket, bytes, fds, creds, true);
    };
    loop {
        match sys::send(socket, bytes, fds, creds, false) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !wait_writable(socket, left)? {
                    return Err(e);
                }
            }
            other => return other,
        }
    }
}

/// Polls until the socket can send (the manager's queue has room) or `timeout` passes.
fn wait_writable(socket: BorrowedFd<'_>, timeout: Duration) -> io::Result<bool> {
    match sys::poll(socket, Interest::Write, Some(timeout)) {
        Ok(polled) => Ok(polled != Polled::TimedOut),
        // A signal: look again.
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
        Err(e) => Err(e),
    }
}

/// Polls the read end of the barrier pipe until the manager closes the write end.
pub(super) fn wait_for_hangup(read: &OwnedFd, timeout: Duration) -> Result<(), Error> {
    use crate::sys::fd::AsFd;
    // A timeout too long to represent is a wait without end.
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        match sys::poll(read.as_fd(), Interest::Read, left) {
            Ok(Polled::TimedOut) => return Err(Error::BarrierTimeout(timeout)),
            Ok(Polled::HungUp) => return Ok(()),
            // Nothing should be written to the pipe; if something is, keep waiting for the hangup.
            Ok(Polled::Ready) => {
                let mut buf = [0u8; 64];
                let _ = sys::read(read.as_fd(), &mut buf);
                if left.is_some_and(|l| l.is_zero()) {
                    return Err(Error::BarrierTimeout(timeout));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
