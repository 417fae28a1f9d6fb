//! Sockets by name: the listener a `.socket` unit (or `sdnotify run --listen`) passed, or the one
//! the service stored in the fd store before a restart, as the std type the program serves
//! with, checked to be what it asks for; or, when there is none (the program runs alone), one
//! it binds itself. And libsystemd's `sd_is_*` checks.
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

use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs, UdpSocket};
use std::path::Path;

use crate::error::Error;
use crate::listen::listen_fds;
use crate::sys::fd::{into_std, BorrowedFd, OwnedFd};
use crate::sys::{self, family, FdKind, LocalAddr, SockType};

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
    path: impl AsRef<Path>,
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
    path: impl AsRef<Path>,
) -> Result<std::os::unix::net::UnixDatagram, Error> {
    match unix_datagram(name)? {
        Some(socket) => Ok(socket),
        None => Ok(std::os::unix::net::UnixDatagram::bind(path)?),
    }
}

/// Whether `fd` is a FIFO, and (with `path`) the one at that path (`sd_is_fifo(3)`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// let stdin = std::io::stdin();
/// let piped = sdnotify::activation::is_fifo(std::os::fd::AsFd::as_fd(&stdin), None)?;
/// # let _ = piped;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_fifo(fd: BorrowedFd<'_>, path: Option<&Path>) -> io::Result<bool> {
    Ok(sys::describe(fd)? == FdKind::Fifo && same_file(fd, path)?)
}

/// Whether `fd` is a regular file or a character device (a file in `/proc`, `/sys` or
/// `/dev`), and (with `path`) the one at that path (`sd_is_special(3)`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// let null = std::fs::File::open("/dev/null")?;
/// let fd = std::os::fd::AsFd::as_fd(&null);
/// assert!(sdnotify::activation::is_special(fd, Some("/dev/null".as_ref()))?);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_special(fd: BorrowedFd<'_>, path: Option<&Path>) -> io::Result<bool> {
    Ok(matches!(sys::describe(fd)?, FdKind::File | FdKind::CharDevice) && same_file(fd, path)?)
}

/// Whether `fd` is a POSIX message queue, and (with `path`, such as `/app`) the one of that name
/// (`sd_is_mq(3)`).
pub fn is_mq(fd: BorrowedFd<'_>, path: Option<&str>) -> io::Result<bool> {
    if sys::describe(fd)? != FdKind::MessageQueue {
        return Ok(false);
    }
    let path = path.map(|p| format!("/dev/mqueue/{}", p.trim_start_matches('/')));
    same_file(fd, path.as_deref().map(Path::new))
}

/// Whether `fd` is a socket of `family`, `ty` and (when given) listening state; `None` accepts
/// any (`sd_is_socket(3)`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// use sdnotify::activation::{is_socket, Family, SocketType};
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let fd = std::os::fd::AsFd::as_fd(&listener);
/// assert!(is_socket(fd, Some(Family::Inet), Some(SocketType::Stream), Some(true))?);
/// assert!(!is_socket(fd, Some(Family::Unix), None, None)?);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_socket(
    fd: BorrowedFd<'_>,
    family: Option<Family>,
    ty: Option<SocketType>,
    listening: Option<bool>,
) -> io::Result<bool> {
    let FdKind::Socket {
        family: is_family,
        ty: is_ty,
        listening: is_listening,
    } = sys::describe(fd)?
    else {
        return Ok(false);
    };
    Ok(family.map_or(true, |f| f.raw() == is_family)
        && ty.map_or(true, |t| Some(t.sys()) == is_ty)
        && listening.map_or(true, |l| l == is_listening))
}

/// Whether `fd` is an IPv4 or IPv6 socket (or of `family`, which must be one of them), of `ty`,
/// listening state and bound `port` when given (`sd_is_socket_inet(3)`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
/// let port = socket.local_addr()?.port();
/// let fd = std::os::fd::AsFd::as_fd(&socket);
/// assert!(sdnotify::activation::is_socket_inet(fd, None, None, None, Some(port))?);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_socket_inet(
    fd: BorrowedFd<'_>,
    family: Option<Family>,
    ty: Option<SocketType>,
    listening: Option<bool>,
    port: Option<u16>,
) -> io::Result<bool> {
    if family.is_some_and(|f| !matches!(f, Family::Inet | Family::Inet6)) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "family must be Inet or Inet6",
        ));
    }
    let inet = is_socket(fd, family, ty, listening)?
        && (family.is_some()
            || is_socket(fd, Some(Family::Inet), None, None)?
            || is_socket(fd, Some(Family::Inet6), None, None)?);
    if !inet {
        return Ok(false);
    }
    Ok(match port {
        None => true,
        Some(port) => matches!(sys::local_addr(fd)?, LocalAddr::Inet(a) if a.port() == port),
    })
}

/// Whether `fd` is a unix socket of `ty` and listening state when given, bound at `path` (a
/// path, or an abstract name with its leading NUL) when given (`sd_is_socket_unix(3)`).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// let path = std::env::temp_dir().join(format!("sdnotify-doc-{}.sock", std::process::id()));
/// let listener = std::os::unix::net::UnixListener::bind(&path)?;
/// let fd = std::os::fd::AsFd::as_fd(&listener);
/// use std::os::unix::ffi::OsStrExt;
/// assert!(sdnotify::activation::is_socket_unix(fd, None, Some(true), Some(path.as_os_str().as_bytes()))?);
/// # std::fs::remove_file(&path)?;
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_socket_unix(
    fd: BorrowedFd<'_>,
    ty: Option<SocketType>,
    listening: Option<bool>,
    path: Option<&[u8]>,
) -> io::Result<bool> {
    if !is_socket(fd, Some(Family::Unix), ty, listening)? {
        return Ok(false);
    }
    Ok(match path {
        None => true,
        Some(path) => matches!(sys::local_addr(fd)?, LocalAddr::Unix(bound) if bound == path),
    })
}

/// Whether `fd` is a socket of `ty` and listening state when given, bound to exactly `addr`
/// (`sd_is_socket_sockaddr(3)`, for IP addresses).
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let fd = std::os::fd::AsFd::as_fd(&listener);
/// assert!(sdnotify::activation::is_socket_sockaddr(fd, None, &addr, Some(true))?);
/// # }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn is_socket_sockaddr(
    fd: BorrowedFd<'_>,
    ty: Option<SocketType>,
    addr: &SocketAddr,
    listening: Option<bool>,
) -> io::Result<bool> {
    let family = if addr.is_ipv4() {
        Family::Inet
    } else {
        Family::Inet6
    };
    if !is_socket(fd, Some(family), ty, listening)? {
        return Ok(false);
    }
    Ok(matches!(sys::local_addr(fd)?, LocalAddr::Inet(bound) if bound == *addr))
}

/// Whether `fd` is the file at `path` (true without a path; false when nothing is there).
fn same_file(fd: BorrowedFd<'_>, path: Option<&Path>) -> io::Result<bool> {
    let Some(path) = path else { return Ok(true) };
    let Ok(at_path) = sys::path_id(path) else {
        return Ok(false);
    };
    Ok(sys::file_id(fd)? == at_path)
}
