//! Sockets by name: the listener a `.socket` unit (or `sdnotify run --listen`) passed, or the one
//! the service stored in the fd store before a restart, as the std type the program serves
//! with, checked to be what it asks for; or, when there is none (the program runs alone), one
//! it binds itself. And libsystemd's `sd_is_*` checks ([`is_socket`] and its kin).
//!
//! systemd passes socket-activated descriptors and those kept in the fd store the same way
//! (`LISTEN_FDS`, named by `FileDescriptorName=` or `FDNAME=`), so one call takes either:
//!
//! ```no_run
//! # use sdnotify_runtime as sdnotify;
//! use sdnotify::activation;
//!
//! // Under systemd: the socket named `http`; alone: a socket bound here.
//! let listener = activation::tcp_listener_or_bind("http", "127.0.0.1:8080")?;
//! // Keep it across a restart (FileDescriptorStoreMax=1, FileDescriptorStorePreserve=restart).
//! use std::os::fd::AsFd;
//! sdnotify::fdstore("http", &[listener.as_fd()])?;
//! # Ok::<(), sdnotify::Error>(())
//! ```
//!
//! For tokio, the std listener is made non-blocking first (tokio requires it; a blocking one
//! would stall the runtime's thread):
//!
//! ```no_run
//! # use sdnotify_runtime as sdnotify;
//! # fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = sdnotify::activation::tcp_listener_or_bind("http", "127.0.0.1:8080")?;
//! listener.set_nonblocking(true)?;
//! // let listener = tokio::net::TcpListener::from_std(listener)?;
//! # Ok(()) }
//! ```
//!
//! Off Linux nothing is passed: every `*_or_bind` binds, the others return `Ok(None)`, and the
//! `is_*` checks fail with `Unsupported`.

use std::net::{TcpListener, ToSocketAddrs, UdpSocket};

use crate::error::Error;
use crate::listen::listen_fds;
use crate::sys::fd::{into_std, OwnedFd};
use crate::sys::{self, family, FdKind, SockType};

mod checks;

pub use checks::{is_fifo, is_mq, is_socket, is_socket_inet, is_socket_sockaddr, is_socket_unix, is_special};

/// A socket address family, for the `is_socket*` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Family {
    /// `AF_UNIX`.
    Unix,
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
    /// `AF_VSOCK`.
    Vsock,
}

impl Family {
    fn raw(self) -> i32 {
        match self {
            Family::Unix => family::UNIX,
            Family::Inet => family::INET,
            Family::Inet6 => family::INET6,
            Family::Vsock => family::VSOCK,
        }
    }
}

/// A socket type, for the `is_socket*` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketType {
    /// `SOCK_STREAM`.
    Stream,
    /// `SOCK_DGRAM`.
    Datagram,
    /// `SOCK_SEQPACKET`.
    SeqPacket,
}

impl SocketType {
    fn sys(self) -> SockType {
        match self {
            SocketType::Stream => SockType::Stream,
            SocketType::Datagram => SockType::Dgram,
            SocketType::SeqPacket => SockType::SeqPacket,
        }
    }
}

/// What a typed taker asks for.
struct Wanted {
    families: &'static [i32],
    ty: SockType,
    listening: bool,
    what: &'static str,
}

const TCP_LISTENER: Wanted = Wanted {
    families: &[family::INET, family::INET6],
    ty: SockType::Stream,
    listening: true,
    what: "a listening TCP socket",
};
const UDP_SOCKET: Wanted = Wanted {
    families: &[family::INET, family::INET6],
    ty: SockType::Dgram,
    listening: false,
    what: "a UDP socket",
};
#[cfg(unix)]
const UNIX_LISTENER: Wanted = Wanted {
    families: &[family::UNIX],
    ty: SockType::Stream,
    listening: true,
    what: "a listening unix stream socket",
};
#[cfg(unix)]
const UNIX_DATAGRAM: Wanted = Wanted {
    families: &[family::UNIX],
    ty: SockType::Dgram,
    listening: false,
    what: "a unix datagram socket",
};

/// The first not yet taken descriptor named `name`, if it is what `wanted` says; an error
/// naming it and what it is otherwise (it is then left where it was).
fn take(name: &str, wanted: &Wanted) -> Result<Option<OwnedFd>, Error> {
    for passed in listen_fds()?.iter().filter(|fd| fd.name() == name) {
        let checked = passed.take_if(|fd| match sys::describe(fd) {
            Ok(FdKind::Socket {
                family,
                ty,
                listening,
            }) if wanted.families.contains(&family)
                && ty == Some(wanted.ty)
                && (listening || !wanted.listening) =>
            {
                Ok(())
            }
            Ok(kind) => Err(describe(&kind)),
            Err(e) => Err(format!("a descriptor that cannot be inspected ({e})")),
        });
        match checked {
            Ok(Some(fd)) => return Ok(Some(fd)),
            Ok(None) => continue, // taken before
            Err(found) => {
                return Err(Error::WrongDescriptor {
                    fd: passed.raw_fd(),
                    name: name.to_owned(),
                    expected: wanted.what,
                    found,
                })
            }
        }
    }
    Ok(None)
}

/// What a descriptor is, for an error message.
fn describe(kind: &FdKind) -> String {
    match kind {
        FdKind::Socket {
            family,
            ty,
            listening,
        } => {
            let family = match *family {
                family::UNIX => "unix",
                family::INET => "IPv4",
                family::INET6 => "IPv6",
                family::VSOCK => "vsock",
                _ => "other-family",
            };
            let ty = match ty {
                Some(SockType::Stream) => "stream",
                Some(SockType::Dgram) => "datagram",
                Some(SockType::SeqPacket) => "seqpacket",
                None => "other-type",
            };
            let state = if *listening { "listening " } else { "" };
            let text = format!("{state}{family} {ty} socket");
            let article = if text.starts_with(['a', 'e', 'i', 'o', 'u', 'I']) {
                "an"
            } else {
                "a"
            };
            format!("{article} {text}")
        }
        FdKind::Fifo => "a FIFO".to_owned(),
        FdKind::File => "a regular file".to_owned(),
        FdKind::CharDevice => "a character device".to_owned(),
        FdKind::Directory => "a directory".to_owned(),
        FdKind::MessageQueue => "a message queue".to_owned(),
        FdKind::Other => "neither a socket nor a file".to_owned(),
    }
}

/// The listening TCP socket passed under `name` (socket activation or the fd store);
/// `Ok(None)` when there is none. [`Error::WrongDescriptor`] when the descriptor of that name
/// is something else.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// if let Some(listener) = sdnotify::activation::tcp_listener("http")? {
///     println!("serving on {}", listener.local_addr()?);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn tcp_listener(name: &str) -> Result<Option<TcpListener>, Error> {
    Ok(take(name, &TCP_LISTENER)?.map(into_std))
}

/// [`tcp_listener`], or else a listener bound to `addr`: one binary that runs under systemd
/// and alone.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let listener = sdnotify::activation::tcp_listener_or_bind("http", "[::]:8080")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn tcp_listener_or_bind(name: &str, addr: impl ToSocketAddrs) -> Result<TcpListener, Error> {
    match tcp_listener(name)? {
        Some(listener) => Ok(listener),
        None => Ok(TcpListener::bind(addr)?),
    }
}

/// The UDP socket passed under `name`; `Ok(None)` when there is none.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let socket = sdnotify::activation::udp_socket("dns")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn udp_socket(name: &str) -> Result<Option<UdpSocket>, Error> {
    Ok(take(name, &UDP_SOCKET)?.map(into_std))
}

/// [`udp_socket`], or else one bound to `addr`.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let socket = sdnotify::activation::udp_socket_or_bind("dns", "127.0.0.1:5353")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
pub fn udp_socket_or_bind(name: &str, addr: impl ToSocketAddrs) -> Result<UdpSocket, Error> {
    match udp_socket(name)? {
        Some(socket) => Ok(socket),
        None => Ok(UdpSocket::bind(addr)?),
    }
}

/// The listening unix stream socket passed under `name`; `Ok(None)` when there is none.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let listener = sdnotify::activation::unix_listener("control")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[cfg(unix)]
pub fn unix_listener(name: &str) -> Result<Option<std::os::unix::net::UnixListener>, Error> {
    Ok(take(name, &UNIX_LISTENER)?.map(into_std))
}

/// [`unix_listener`], or else one bound at `path`.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let listener = sdnotify::activation::unix_listener_or_bind("control", "/run/app.sock")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[cfg(unix)]
pub fn unix_listener_or_bind(
    name: &str,
    path: impl AsRef<std::path::Path>,
) -> Result<std::os::unix::net::UnixListener, Error> {
    match unix_listener(name)? {
        Some(listener) => Ok(listener),
        None => Ok(std::os::unix::net::UnixListener::bind(path)?),
    }
}

/// The unix datagram socket passed under `name`; `Ok(None)` when there is none.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let socket = sdnotify::activation::unix_datagram("log")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[cfg(unix)]
pub fn unix_datagram(name: &str) -> Result<Option<std::os::unix::net::UnixDatagram>, Error> {
    Ok(take(name, &UNIX_DATAGRAM)?.map(into_std))
}

/// [`unix_datagram`], or else one bound at `path`.
///
/// ```no_run
/// # use sdnotify_runtime as sdnotify;
/// let socket = sdnotify::activation::unix_datagram_or_bind("log", "/run/app-log.sock")?;
/// # Ok::<(), sdnotify::Error>(())
/// ```
#[cfg(unix)]
pub fn unix_datagram_or_bind(
    name: &str,
    path: impl AsRef<std::path::Path>,
) -> Result<std::os::unix::net::UnixDatagram, Error> {
    match unix_datagram(name)? {
        Some(socket) => Ok(socket),
        None => Ok(std::os::unix::net::UnixDatagram::bind(path)?),
    }
}
