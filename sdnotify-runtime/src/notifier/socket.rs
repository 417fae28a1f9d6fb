//! The system calls behind a send: sockets, `send(2)`/`sendmsg(2)` with ancillary data, waits
//! for a full queue, and the barrier's wait for the manager's hangup.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketAddrUnix, SocketFlags, SocketType, UCred,
};

use crate::address::VsockAddr;
use crate::error::MAX_FDS;
use crate::Error;

pub(super) fn unix_dgram_socket() -> Result<OwnedFd, Errno> {
    rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
}

pub(super) fn connect_unix(addr: &SocketAddrUnix) -> Result<OwnedFd, Errno> {
    let socket = unix_dgram_socket()?;
    retry_eintr(|| rustix::net::connect(&socket, addr))?;
    Ok(socket)
}

pub(super) fn connect_vsock(addr: &VsockAddr, ty: SocketType) -> Result<OwnedFd, Errno> {
    let socket = rustix::net::socket_with(rustix::net::AddressFamily::VSOCK, ty, SocketFlags::CLOEXEC, None)?;
    retry_eintr(|| rustix::net::connect(&socket, addr))?;
    Ok(socket)
}

/// The errors of a send on a connected socket whose peer is gone or was re-created.
pub(super) fn is_disconnect(e: Errno) -> bool {
    matches!(
        e,
        Errno::CONNREFUSED | Errno::NOTCONN | Errno::CONNRESET | Errno::PIPE
    )
}

pub(super) fn retry_eintr<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Exactly one system call: `send(2)` for a bare message, `sendmsg(2)` with ancillary data.
/// With a deadline the send does not block: while the manager's queue is full it polls for
/// room until the deadline, then fails with `EAGAIN`.
pub(super) fn send_on(
    socket: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    creds: Option<UCred>,
    deadline: Option<Instant>,
) -> Result<(), Errno> {
    let Some(deadline) = deadline else {
        return send_once(socket, bytes, fds, creds, SendFlags::NOSIGNAL);
    };
    loop {
        match send_once(
            socket,
            bytes,
            fds,
            creds,
            SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
        ) {
            Err(Errno::AGAIN) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() || !wait_writable(socket, left)? {
                    return Err(Errno::AGAIN);
                }
            }
            other => return other,
        }
    }
}

/// Polls until the socket can send (the manager's queue has room) or `timeout` passes.
pub(super) fn wait_writable(socket: BorrowedFd<'_>, timeout: Duration) -> Result<bool, Errno> {
    use rustix::event::{poll, PollFd, PollFlags};
    let ts = timespec(timeout);
    let mut fds = [PollFd::new(&socket, PollFlags::OUT)];
    match poll(&mut fds, Some(&ts)) {
        Ok(n) => Ok(n > 0),
        Err(Errno::INTR) => Ok(true),
        Err(e) => Err(e),
    }
}

pub(super) fn timespec(d: Duration) -> rustix::event::Timespec {
    rustix::event::Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: d.subsec_nanos().into(),
    }
}

pub(super) fn send_once(
    socket: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    creds: Option<UCred>,
    flags: SendFlags,
) -> Result<(), Errno> {
    if fds.is_empty() && creds.is_none() {
        return retry_eintr(|| rustix::net::send(socket, bytes, flags)).map(drop);
    }
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS), ScmCredentials(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !fds.is_empty() {
        let pushed = control.push(SendAncillaryMessage::ScmRights(fds));
        debug_assert!(pushed, "the buffer holds MAX_FDS descriptors");
    }
    if let Some(creds) = creds {
        let pushed = control.push(SendAncillaryMessage::ScmCredentials(creds));
        debug_assert!(pushed, "the buffer holds one set of credentials");
    }
    let iov = [IoSlice::new(bytes)];
    retry_eintr(|| rustix::net::sendmsg(socket, &iov, &mut control, flags)).map(drop)
}

/// Polls the read end of the barrier pipe until the manager closes the write end.
pub(super) fn wait_for_hangup(read: &OwnedFd, timeout: Duration) -> Result<(), Error> {
    use rustix::event::{poll, PollFd, PollFlags};
    // A timeout too long to represent is a wait without end.
    let deadline = Instant::now().checked_add(timeout);
    loop {
        let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
        let ts = left.map(timespec);
        let left = left.unwrap_or(Duration::MAX);
        let mut fds = [PollFd::new(read, PollFlags::IN)];
        match poll(&mut fds, ts.as_ref()) {
            Ok(0) => return Err(Error::BarrierTimeout(timeout)),
            Ok(_) if fds[0].revents().contains(PollFlags::HUP) => return Ok(()),
            // Nothing should be written to the pipe; if something is, keep waiting for the hangup.
            Ok(_) => {
                let mut buf = [0u8; 64];
                let _ = rustix::io::read(read, &mut buf);
                if left.is_zero() {
                    return Err(Error::BarrierTimeout(timeout));
                }
            }
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}
