//! Sending notifications: one connected socket, created once and reused.

use std::ffi::OsStr;
use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use rustix::io::Errno;
use rustix::net::{
    SendAncillaryBuffer, SendAncillaryMessage, SendFlags, Shutdown, SocketAddrUnix, SocketFlags, SocketType,
    UCred,
};

use crate::address::{AddressKind, VsockAddr};
use crate::error::MAX_FDS;
use crate::{Error, Message, NotifyAddress, State};

/// A sender of notifications to one manager socket (`sd_notify(3)` and friends).
///
/// The socket is created close-on-exec and connected on first use, then reused, so a message
/// costs one `send(2)`. If the manager's socket was re-created (the send is refused), the
/// notifier reconnects once and sends again. Sends use `MSG_NOSIGNAL` and never raise SIGPIPE.
/// Like libsystemd, a send blocks while the manager's receive queue is full.
/// AF_VSOCK stream and seqpacket addresses need a connection per message, closed after it.
///
/// ```no_run
/// use sdnotify_runtime::{Notifier, State};
/// use std::time::Duration;
///
/// let notifier = Notifier::connect("/run/user/1000/my-manager.sock")?;
/// notifier.notify(&[State::Ready, State::Status("serving")])?;
/// notifier.barrier(Duration::from_secs(5))?; // the manager has read everything sent before
/// # Ok::<(), sdnotify_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct Notifier {
    address: NotifyAddress,
    socket: RwLock<Option<OwnedFd>>,
}

impl Notifier {
    /// A notifier for `$NOTIFY_SOCKET`, connected now; `Ok(None)` when the variable is unset.
    ///
    /// The variable is read once per process (see [`env`](crate::env)).
    ///
    /// ```
    /// if let Some(notifier) = sdnotify_runtime::Notifier::from_env()? {
    ///     notifier.notify(&[sdnotify_runtime::State::Ready])?;
    /// }
    /// # Ok::<(), sdnotify_runtime::Error>(())
    /// ```
    pub fn from_env() -> Result<Option<Notifier>, Error> {
        match &crate::env::snapshot().notify_socket {
            None => Ok(None),
            Some(address) => Notifier::connect(address).map(Some),
        }
    }

    /// A notifier for the given address (any form `$NOTIFY_SOCKET` may take), connected now.
    ///
    /// ```no_run
    /// let notifier = sdnotify_runtime::Notifier::connect("@my-test-manager")?;
    /// # Ok::<(), sdnotify_runtime::Error>(())
    /// ```
    pub fn connect(address: impl AsRef<OsStr>) -> Result<Notifier, Error> {
        let notifier = Notifier::unconnected(NotifyAddress::parse(address)?);
        if !notifier.connects_per_message() {
            let (socket, _) = notifier.open()?;
            *notifier.write_socket() = Some(socket);
        }
        Ok(notifier)
    }

    /// A notifier that connects at its first send (the process-wide sender, which must not fail
    /// when the manager is not listening yet).
    pub(crate) fn unconnected(address: NotifyAddress) -> Notifier {
        Notifier {
            address,
            socket: RwLock::new(None),
        }
    }

    /// The address this notifier sends to.
    pub fn address(&self) -> &NotifyAddress {
        &self.address
    }

    /// Sends states as one message (see [`Message::from_states`] for the validation).
    pub fn notify(&self, states: &[State<'_>]) -> Result<(), Error> {
        self.send(&Message::from_states(states)?, &[], None)
    }

    /// Sends wire text as it is (see [`Message::from_raw`]).
    ///
    /// ```no_run
    /// # let notifier = sdnotify_runtime::Notifier::connect("/run/x")?;
    /// notifier.notify_raw("READY=1\nX_VERSION=2")?;
    /// # Ok::<(), sdnotify_runtime::Error>(())
    /// ```
    pub fn notify_raw(&self, text: &str) -> Result<(), Error> {
        self.send(&Message::from_raw(text)?, &[], None)
    }

    /// Sends states with file descriptors attached (`SCM_RIGHTS`, at most 253), as
    /// `sd_notify_with_fds` does; typically `FDSTORE=1` and an `FDNAME=`.
    ///
    /// ```no_run
    /// use sdnotify_runtime::State;
    /// use std::os::fd::AsFd;
    ///
    /// # let notifier = sdnotify_runtime::Notifier::connect("/run/x")?;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// notifier.notify_with_fds(&[State::FdStore, State::FdName("http")], &[listener.as_fd()])?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notify_with_fds(&self, states: &[State<'_>], fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        self.send(&Message::from_states(states)?, fds, None)
    }

    /// Sends states on behalf of another process (`sd_pid_notify_with_fds`): the message carries
    /// `SCM_CREDENTIALS` with `pid` and our uid and gid.
    ///
    /// Speaking for another pid needs `CAP_SYS_ADMIN`; when the kernel refuses, the message is
    /// sent again with our own credentials, as libsystemd does.
    ///
    /// ```no_run
    /// use sdnotify_runtime::State;
    /// # let notifier = sdnotify_runtime::Notifier::connect("/run/x")?;
    /// let parent = std::os::unix::process::parent_id();
    /// notifier.notify_as(parent, &[State::Ready], &[])?;
    /// # Ok::<(), sdnotify_runtime::Error>(())
    /// ```
    pub fn notify_as(&self, pid: u32, states: &[State<'_>], fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        self.send(&Message::from_states(states)?, fds, Some(pid))
    }

    /// Sends a built message, with descriptors and credentials if given; the one primitive every
    /// other method uses.
    ///
    /// ```no_run
    /// use sdnotify_runtime::Message;
    /// # let notifier = sdnotify_runtime::Notifier::connect("/run/x")?;
    /// let msg = Message::from_raw("READY=1")?;
    /// notifier.send(&msg, &[], Some(std::process::id()))?;
    /// # Ok::<(), sdnotify_runtime::Error>(())
    /// ```
    pub fn send(&self, message: &Message, fds: &[BorrowedFd<'_>], pid: Option<u32>) -> Result<(), Error> {
        if fds.len() > MAX_FDS {
            return Err(Error::TooManyFds { count: fds.len() });
        }
        let creds = match pid {
            None => None,
            Some(pid) => Some(UCred {
                pid: rustix::process::Pid::from_raw(pid as i32).ok_or_else(|| Error::InvalidValue {
                    key: "pid".to_owned(),
                    reason: "not a process id",
                })?,
                uid: rustix::process::getuid(),
                gid: rustix::process::getgid(),
            }),
        };
        let bytes = message.as_bytes();
        match self.transmit(bytes, fds, creds) {
            // The kernel refuses to let an unprivileged sender speak for another pid.
            Err(Errno::PERM) if creds.is_some() => Ok(self.transmit(bytes, fds, None)?),
            other => Ok(other?),
        }
    }

    /// Waits until the manager has processed every message sent before (`sd_notify_barrier(3)`).
    ///
    /// Sends `BARRIER=1` with the write end of a fresh pipe as its only descriptor, closes ours,
    /// and waits for the manager to close its copy. Errors with [`Error::BarrierTimeout`] if it
    /// does not within `timeout`.
    ///
    /// ```no_run
    /// # let notifier = sdnotify_runtime::Notifier::connect("/run/x")?;
    /// notifier.barrier(std::time::Duration::from_secs(5))?;
    /// # Ok::<(), sdnotify_runtime::Error>(())
    /// ```
    pub fn barrier(&self, timeout: Duration) -> Result<(), Error> {
        let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
        self.transmit(b"BARRIER=1", &[write.as_fd()], None)?;
        drop(write);
        wait_for_hangup(&read, timeout)
    }

    /// vsock stream and seqpacket (and `vsock:` when it may pick them) need a connection per
    /// message; the manager reads each until the sender shuts down its side.
    fn connects_per_message(&self) -> bool {
        matches!(self.address.kind, AddressKind::Vsock { types, .. } if types != [SocketType::DGRAM])
    }

    /// One send on the kept socket; on a socket the manager no longer listens on, one reconnect.
    fn transmit(&self, bytes: &[u8], fds: &[BorrowedFd<'_>], creds: Option<UCred>) -> Result<(), Errno> {
        if self.connects_per_message() {
            return self.transmit_per_connection(bytes, fds, creds);
        }
        {
            let guard = self.socket.read().unwrap_or_else(|e| e.into_inner());
            if let Some(socket) = guard.as_ref() {
                match send_on(socket.as_fd(), bytes, fds, creds) {
                    Err(e) if is_disconnect(e) => {}
                    other => return other,
                }
            }
        }
        let mut guard = self.write_socket();
        let (socket, _) = self.open()?;
        let sent = send_on(socket.as_fd(), bytes, fds, creds);
        *guard = Some(socket);
        sent
    }

    /// A fresh connection for one message, its write side shut down after it.
    fn transmit_per_connection(
        &self,
        bytes: &[u8],
        fds: &[BorrowedFd<'_>],
        creds: Option<UCred>,
    ) -> Result<(), Errno> {
        let (socket, ty) = self.open()?;
        send_on(socket.as_fd(), bytes, fds, creds)?;
        if ty != SocketType::DGRAM {
            rustix::net::shutdown(&socket, Shutdown::Write)?;
        }
        Ok(())
    }

    /// A new close-on-exec socket connected to the address.
    fn open(&self) -> Result<(OwnedFd, SocketType), Errno> {
        match &self.address.kind {
            AddressKind::Unix(addr) => Ok((connect_unix(addr)?, SocketType::DGRAM)),
            AddressKind::Vsock { types, addr } => {
                let mut last = Errno::INVAL;
                for &ty in *types {
                    match connect_vsock(addr, ty) {
                        Ok(socket) => return Ok((socket, ty)),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
        }
    }

    fn write_socket(&self) -> std::sync::RwLockWriteGuard<'_, Option<OwnedFd>> {
        self.socket.write().unwrap_or_else(|e| e.into_inner())
    }
}

fn connect_unix(addr: &SocketAddrUnix) -> Result<OwnedFd, Errno> {
    let socket = rustix::net::socket_with(
        rustix::net::AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    retry_eintr(|| rustix::net::connect(&socket, addr))?;
    Ok(socket)
}

fn connect_vsock(addr: &VsockAddr, ty: SocketType) -> Result<OwnedFd, Errno> {
    let socket = rustix::net::socket_with(rustix::net::AddressFamily::VSOCK, ty, SocketFlags::CLOEXEC, None)?;
    retry_eintr(|| rustix::net::connect(&socket, addr))?;
    Ok(socket)
}

/// The errors of a send on a connected socket whose peer is gone or was re-created.
fn is_disconnect(e: Errno) -> bool {
    matches!(
        e,
        Errno::CONNREFUSED | Errno::NOTCONN | Errno::CONNRESET | Errno::PIPE
    )
}

fn retry_eintr<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// Exactly one system call: `send(2)` for a bare message, `sendmsg(2)` with ancillary data.
fn send_on(
    socket: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    creds: Option<UCred>,
) -> Result<(), Errno> {
    let flags = SendFlags::NOSIGNAL;
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
fn wait_for_hangup(read: &OwnedFd, timeout: Duration) -> Result<(), Error> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = Timespec {
            tv_sec: left.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: left.subsec_nanos().into(),
        };
        let mut fds = [PollFd::new(read, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
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
