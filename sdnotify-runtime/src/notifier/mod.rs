//! Sending notifications: one connected socket, created once and reused.

mod socket;

use std::ffi::OsStr;
use std::io;
use std::time::{Duration, Instant};

use self::socket::{is_disconnect, send_on, wait_for_hangup};
use crate::address::{AddressKind, NotifyAddress};
use crate::error::{Error, MAX_FDS};
use crate::message::Message;
use crate::state::State;
use crate::sys::fd::{AsFd, BorrowedFd, OwnedFd};
use crate::sys::{self, AtomicFd, Creds, SockType};

/// A sender of notifications to one manager socket (`sd_notify(3)` and friends).
///
/// The socket is created close-on-exec and connected on first use, then reused, so a message
/// costs one `send(2)`. If the manager's socket was re-created (the send is refused), the
/// notifier connects the same socket again and sends once more. Sends use `MSG_NOSIGNAL` and
/// never raise SIGPIPE. AF_VSOCK stream and seqpacket addresses need a connection per message,
/// closed after it.
///
/// No lock is taken anywhere: the socket is published with one atomic compare-and-swap and a
/// reconnect reuses it, so a `fork(2)` at any moment (a pre-fork server) leaves the child a
/// working sender.
///
/// Like libsystemd, [`notify`](Self::notify) and [`send`](Self::send) block while the manager's
/// receive queue is full; [`send_within`](Self::send_within) bounds that wait.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{Notifier, State};
/// use std::time::Duration;
///
/// let notifier = Notifier::connect("/run/user/1000/my-manager.sock")?;
/// notifier.notify(&[State::Ready, State::Status("serving")])?;
/// notifier.barrier(Duration::from_secs(5))?; // the manager has read everything sent before
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[derive(Debug)]
pub struct Notifier {
    address: NotifyAddress,
    /// The kept socket, once there is one.
    socket: AtomicFd,
}

impl Notifier {
    /// A notifier for `$NOTIFY_SOCKET`, connected now; `Ok(None)` when the variable is unset.
    ///
    /// The variable is read once per process (see [`env`](crate::env)).
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// if let Some(notifier) = sdnotify::Notifier::from_env()? {
    ///     notifier.notify(&[sdnotify::State::Ready])?;
    /// }
    /// # Ok::<(), sdnotify::Error>(())
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
    /// # use sdnotify_runtime as sdnotify;
    /// let notifier = sdnotify::Notifier::connect("@my-test-manager")?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn connect(address: impl AsRef<OsStr>) -> Result<Notifier, Error> {
        let notifier = Notifier::unconnected(NotifyAddress::parse(address)?);
        if !notifier.connects_per_message() {
            let (socket, _) = notifier.open()?;
            notifier.socket.publish(socket);
        }
        Ok(notifier)
    }

    /// A notifier that connects at its first send (the process-wide sender, which must not fail
    /// when the manager is not listening yet).
    pub(crate) fn unconnected(address: NotifyAddress) -> Notifier {
        Notifier {
            address,
            socket: AtomicFd::empty(),
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
    /// # use sdnotify_runtime as sdnotify;
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
    /// notifier.notify_raw("READY=1\nX_VERSION=2")?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn notify_raw(&self, text: &str) -> Result<(), Error> {
        self.send(&Message::from_raw(text)?, &[], None)
    }

    /// Sends states with file descriptors attached (`SCM_RIGHTS`, at most 253), as
    /// `sd_notify_with_fds` does; typically `FDSTORE=1` and an `FDNAME=`.
    ///
    /// ```no_run
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::State;
    /// use std::os::fd::AsFd;
    ///
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
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
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::State;
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
    /// let parent = std::os::unix::process::parent_id();
    /// notifier.notify_as(parent, &[State::Ready], &[])?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn notify_as(&self, pid: u32, states: &[State<'_>], fds: &[BorrowedFd<'_>]) -> Result<(), Error> {
        self.send(&Message::from_states(states)?, fds, Some(pid))
    }

    /// Sends a built message, with descriptors and credentials if given; the one primitive every
    /// other method uses.
    ///
    /// ```no_run
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::Message;
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
    /// let msg = Message::from_raw("READY=1")?;
    /// notifier.send(&msg, &[], Some(std::process::id()))?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn send(&self, message: &Message, fds: &[BorrowedFd<'_>], pid: Option<u32>) -> Result<(), Error> {
        self.send_until(message, fds, pid, None)
    }

    /// [`send`](Self::send), waiting at most `timeout` for room in the manager's receive queue;
    /// [`Error::SendTimeout`] when there is none by then, and nothing is sent.
    ///
    /// What the `#[sdnotify::main]` framework sends on its own (READY, pings, STOPPING,
    /// `status!`) goes this way, so a wedged manager can never wedge the program.
    ///
    /// ```no_run
    /// # use sdnotify_runtime as sdnotify;
    /// use sdnotify::Message;
    /// use std::time::Duration;
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
    /// let ping = Message::from_raw("WATCHDOG=1")?;
    /// notifier.send_within(&ping, &[], None, Duration::from_millis(500))?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn send_within(
        &self,
        message: &Message,
        fds: &[BorrowedFd<'_>],
        pid: Option<u32>,
        timeout: Duration,
    ) -> Result<(), Error> {
        // A timeout too long to represent waits without a bound, like `send`.
        let deadline = Instant::now().checked_add(timeout);
        self.send_until(message, fds, pid, deadline.map(|at| (at, timeout)))
    }

    fn send_until(
        &self,
        message: &Message,
        fds: &[BorrowedFd<'_>],
        pid: Option<u32>,
        deadline: Option<(Instant, Duration)>,
    ) -> Result<(), Error> {
        if fds.len() > MAX_FDS {
            return Err(Error::TooManyFds { count: fds.len() });
        }
        if fds.len() != 1 && message.names_main_pidfd() {
            return Err(Error::FdCount {
                line: "MAINPIDFD=1",
                needed: 1,
                given: fds.len(),
            });
        }
        let creds = pid.map(|pid| self.credentials_of(pid)).transpose()?;
        let bytes = message.as_bytes();
        let at = deadline.map(|(at, _)| at);
        let sent = self.transmit_as(bytes, fds, creds, at);
        match (sent, deadline) {
            (Err(e), Some((_, timeout))) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(Error::SendTimeout(timeout))
            }
            (sent, _) => Ok(sent?),
        }
    }

    /// Waits until the manager has processed every message sent before (`sd_notify_barrier(3)`).
    ///
    /// Sends `BARRIER=1` with the write end of a fresh pipe as its only descriptor, closes ours,
    /// and waits for the manager to close its copy. Errors with [`Error::BarrierTimeout`] if it
    /// does not within `timeout`.
    ///
    /// ```no_run
    /// # use sdnotify_runtime as sdnotify;
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
    /// notifier.barrier(std::time::Duration::from_secs(5))?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn barrier(&self, timeout: Duration) -> Result<(), Error> {
        self.barrier_as(None, timeout)
    }

    /// [`barrier`](Self::barrier) with the credentials of `pid`, as systemd-notify 257+ sends
    /// its barrier with the same credentials as the message before it (with the same fallback
    /// to our own when the kernel refuses).
    ///
    /// ```no_run
    /// # use sdnotify_runtime as sdnotify;
    /// # let notifier = sdnotify::Notifier::connect("/run/x")?;
    /// let parent = std::os::unix::process::parent_id();
    /// notifier.barrier_as(Some(parent), std::time::Duration::from_secs(5))?;
    /// # Ok::<(), sdnotify::Error>(())
    /// ```
    pub fn barrier_as(&self, pid: Option<u32>, timeout: Duration) -> Result<(), Error> {
        let creds = pid.map(|pid| self.credentials_of(pid)).transpose()?;
        let (read, write) = sys::pipe()?;
        let fds = [write.as_fd()];
        self.transmit_as(b"BARRIER=1", &fds, creds, None)?;
        drop(write);
        wait_for_hangup(&read, timeout)
    }

    fn credentials_of(&self, pid: u32) -> Result<Creds, Error> {
        let pid = crate::pid::Pid::new(pid).ok_or_else(|| Error::InvalidValue {
            key: "pid".to_owned(),
            reason: "not a process id (1 to 2147483647)",
        })?;
        Ok(Creds {
            pid: pid.as_raw(),
            uid: sys::uid(),
            gid: sys::gid(),
        })
    }

    /// vsock stream and seqpacket (and `vsock:` when it may pick them) need a connection per
    /// message; the manager reads each until the sender shuts down its side.
    fn connects_per_message(&self) -> bool {
        matches!(self.address.kind, AddressKind::Vsock { types, .. } if types != [SockType::Dgram])
    }

    /// [`transmit`](Self::transmit) speaking for `creds`; when the kernel refuses to let an
    /// unprivileged sender speak for another pid, once more with our own credentials, as
    /// libsystemd does.
    fn transmit_as(
        &self,
        bytes: &[u8],
        fds: &[BorrowedFd<'_>],
        creds: Option<Creds>,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        match self.transmit(bytes, fds, creds, deadline) {
            Err(e) if creds.is_some() && e.kind() == io::ErrorKind::PermissionDenied => {
                self.transmit(bytes, fds, None, deadline)
            }
            other => other,
        }
    }

    /// One send on the kept socket; on a socket the manager no longer listens on (or one not
    /// connected yet), one `connect(2)` of the same socket and one more send.
    fn transmit(
        &self,
        bytes: &[u8],
        fds: &[BorrowedFd<'_>],
        creds: Option<Creds>,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        if self.connects_per_message() {
            return self.transmit_per_connection(bytes, fds, creds, deadline);
        }
        let socket = self.kept_socket()?;
        match send_on(socket, bytes, fds, creds, deadline) {
            Err(e) if is_disconnect(&e) => {
                // connect(2) on a datagram socket replaces its peer, so the descriptor (which
                // other threads may be using) never changes.
                if let AddressKind::Unix { .. } = &self.address.kind {
                    sys::connect(socket, &self.address.kind.endpoint())?;
                }
                send_on(socket, bytes, fds, creds, deadline)
            }
            other => other,
        }
    }

    /// The kept socket, created at the first use; when two threads race to create it, one
    /// socket is published and the other closed.
    fn kept_socket(&self) -> io::Result<BorrowedFd<'_>> {
        if let Some(socket) = self.socket.get() {
            return Ok(socket);
        }
        let fresh = match self.open() {
            Ok((connected, _)) => connected,
            // The manager is not listening yet: keep an unconnected socket; the send fails
            // with ENOTCONN and is retried after a connect.
            Err(_) => sys::socket(&self.address.kind.endpoint(), SockType::Dgram)?,
        };
        Ok(self.socket.publish(fresh))
    }

    /// A fresh connection for one message, its write side shut down after it.
    fn transmit_per_connection(
        &self,
        bytes: &[u8],
        fds: &[BorrowedFd<'_>],
        creds: Option<Creds>,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        let (socket, ty) = self.open()?;
        send_on(socket.as_fd(), bytes, fds, creds, deadline)?;
        if ty != SockType::Dgram {
            sys::shutdown_write(socket.as_fd())?;
        }
        Ok(())
    }

    /// A new close-on-exec socket connected to the address (for vsock, the first of its
    /// socket types that connects).
    fn open(&self) -> io::Result<(OwnedFd, SockType)> {
        let endpoint = self.address.kind.endpoint();
        let types: &[SockType] = match &self.address.kind {
            AddressKind::Unix { .. } => &[SockType::Dgram],
            AddressKind::Vsock { types, .. } => types,
        };
        let mut last = None;
        for &ty in types {
            let connected = sys::socket(&endpoint, ty).and_then(|socket| {
                sys::connect(socket.as_fd(), &endpoint)?;
                Ok(socket)
            });
            match connected {
                Ok(socket) => return Ok((socket, ty)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| io::ErrorKind::InvalidInput.into()))
    }
}
