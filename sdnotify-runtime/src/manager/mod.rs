//! The manager's side of the socket: receive notifications as systemd does.
//!
//! What the supervisor (`sdnotify run`), the CLI's tests and your own tests use to see exactly
//! what a service sends: the bytes, the sender's credentials and the descriptors; and
//! [`pass_listen_fds`], which hands a program descriptors as socket activation does.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::address::{AddressKind, NotifyAddress};
use crate::error::{Error, MAX_MESSAGE_LEN};
use crate::parse::{Notification, ParseError};
use crate::sys::{self, SockType};

mod pass;

pub use pass::pass_listen_fds;

/// A bound notification socket that receives datagrams with their senders' credentials.
///
/// It sets `SO_PASSCRED`, is close-on-exec, and removes its socket file when dropped (if it
/// created one).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{manager::Listener, Notifier, State};
///
/// let listener = Listener::bind_unique()?;
/// let notifier = Notifier::connect(listener.address())?;
/// notifier.notify(&[State::Ready])?;
///
/// let datagram = listener.recv()?;
/// assert_eq!(datagram.bytes(), b"READY=1");
/// assert_eq!(datagram.pid(), Some(std::process::id()));
/// assert!(datagram.parse()?.has("READY=1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Listener {
    socket: OwnedFd,
    address: OsString,
    path: Option<PathBuf>,
}

impl Listener {
    /// Binds a datagram socket at an absolute path or `@abstract` name (any unix form of
    /// `$NOTIFY_SOCKET`).
    pub fn bind(address: impl AsRef<OsStr>) -> Result<Listener, Error> {
        let address = address.as_ref();
        let parsed = NotifyAddress::parse(address)?;
        let AddressKind::Unix { .. } = &parsed.kind else {
            return Err(Error::InvalidAddress {
                address: address.to_string_lossy().into_owned(),
                reason: "a listener binds unix sockets only",
            });
        };
        let endpoint = parsed.kind.endpoint();
        let socket = sys::socket(&endpoint, SockType::Dgram)?;
        sys::bind(socket.as_fd(), &endpoint)?;
        let path = (address.as_bytes().first() == Some(&b'/')).then(|| PathBuf::from(address));
        let listener = Listener {
            socket,
            address: address.to_owned(),
            path,
        };
        sys::set_passcred(listener.socket.as_fd())?;
        Ok(listener)
    }

    /// Binds a socket under a fresh, unique abstract name (`@sdnotify/PID/N/TIME`), which
    /// leaves nothing on the file system.
    pub fn bind_unique() -> Result<Listener, Error> {
        Listener::bind(unique_name("@sdnotify"))
    }

    /// Binds a socket at a fresh, unique path in `dir`, removed when the listener is dropped.
    pub fn bind_unique_in(dir: impl Into<PathBuf>) -> Result<Listener, Error> {
        let dir = dir.into();
        let name = unique_name("sdnotify");
        Listener::bind(dir.join(format!("{}.sock", name.replace('/', "-"))))
    }

    /// The address to put in `$NOTIFY_SOCKET`.
    pub fn address(&self) -> &OsStr {
        &self.address
    }

    /// Limits how long [`recv`](Self::recv) waits; `None` waits forever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        sys::set_recv_timeout(self.socket.as_fd(), timeout)
    }

    /// Makes [`recv`](Self::recv) return an error of kind `WouldBlock` instead of waiting when
    /// nothing is queued, for use in an event loop.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// let listener = sdnotify::manager::Listener::bind_unique()?;
    /// listener.set_nonblocking(true)?;
    /// assert_eq!(listener.recv().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        sys::set_nonblocking(self.socket.as_fd(), nonblocking)
    }

    /// Receives one datagram: its bytes (at most 4097 are kept, enough to tell it was too
    /// long), the sender's credentials and any descriptors (close-on-exec).
    ///
    /// With a read timeout set, an expired wait is an error of kind `WouldBlock`.
    pub fn recv(&self) -> io::Result<Datagram> {
        let mut buf = vec![0u8; MAX_MESSAGE_LEN + 1];
        let received = sys::recv(self.socket.as_fd(), &mut buf)?;
        buf.truncate(received.len.min(buf.len()));
        Ok(Datagram {
            bytes: buf,
            len: received.len,
            creds: received
                .creds
                .map(|(pid, uid, gid)| Credentials { pid, uid, gid }),
            fds: received.fds,
            fds_truncated: received.control_truncated,
        })
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{prefix}/{}/{}/{nanos:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The sender's pid, uid and gid, as the kernel attached them (`SCM_CREDENTIALS`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{manager::Listener, Notifier};
///
/// let listener = Listener::bind_unique()?;
/// Notifier::connect(listener.address())?.notify_raw("X_PING=1")?;
/// let creds = listener.recv()?.credentials().expect("SO_PASSCRED is set");
/// assert_eq!(creds.pid, std::process::id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials {
    /// The sending process (or the pid it was allowed to speak for); 0 when the sender is not
    /// visible in this process's pid namespace.
    pub pid: u32,
    /// Its user id.
    pub uid: u32,
    /// Its group id.
    pub gid: u32,
}

/// One received datagram: bytes, credentials and descriptors.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{manager::Listener, Notifier, State};
///
/// let listener = Listener::bind_unique()?;
/// let notifier = Notifier::connect(listener.address())?;
/// let (_read, write) = std::os::unix::net::UnixStream::pair()?;
/// notifier.notify_with_fds(&[State::FdStore], &[std::os::fd::AsFd::as_fd(&write)])?;
///
/// let mut datagram = listener.recv()?;
/// assert_eq!(datagram.bytes(), b"FDSTORE=1");
/// assert_eq!(datagram.take_fds().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Datagram {
    bytes: Vec<u8>,
    len: usize,
    creds: Option<Credentials>,
    fds: Vec<OwnedFd>,
    fds_truncated: bool,
}

impl Datagram {
    /// The bytes received (for an oversize datagram, its first 4097 bytes).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The datagram's full length, also when it was longer than what was kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the datagram was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sender's credentials.
    pub fn credentials(&self) -> Option<Credentials> {
        self.creds
    }

    /// The sender's pid; `None` when the datagram came without credentials or the sender is
    /// not visible in this process's pid namespace (the kernel's pid 0).
    pub fn pid(&self) -> Option<u32> {
        self.creds.map(|c| c.pid).filter(|&pid| pid != 0)
    }

    /// The descriptors that came with it.
    pub fn fds(&self) -> &[OwnedFd] {
        &self.fds
    }

    /// Takes the descriptors out (to store them); dropping the datagram closes the rest.
    pub fn take_fds(&mut self) -> Vec<OwnedFd> {
        std::mem::take(&mut self.fds)
    }

    /// Whether the kernel dropped ancillary data that did not fit (`MSG_CTRUNC`: descriptors
    /// lost, e.g. because the receiver's descriptor table is full). systemd drops such a
    /// datagram whole.
    pub fn fds_truncated(&self) -> bool {
        self.fds_truncated
    }

    /// Whether this is a barrier (`BARRIER=1` with exactly one descriptor), answered by
    /// dropping the datagram, which closes the descriptor.
    pub fn is_barrier(&self) -> bool {
        self.fds.len() == 1 && Notification::parse(&self.bytes).is_ok_and(|n| n.has("BARRIER=1"))
    }

    /// Parses the datagram with the manager's rules.
    pub fn parse(&self) -> Result<Notification, ParseError> {
        if self.len > MAX_MESSAGE_LEN {
            return Err(ParseError::TooLarge { len: self.len });
        }
        Notification::parse(&self.bytes)
    }
}
