//! libsystemd's `sd_is_*` checks: what a descriptor is (a FIFO, a special file, a message
//! queue, a socket of a family, type and listening state, bound where), each asked of the
//! kernel through the OS seam.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use super::{Family, SocketType};
use crate::sys::fd::BorrowedFd;
use crate::sys::{self, FdKind, LocalAddr};

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
