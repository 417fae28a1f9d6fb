//! What a descriptor is: file type, socket family, type and state, its own address, and
//! whether it is a message queue (the `sd_is_*` checks and the typed listeners stand on these).

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};

use super::check;
use super::process::stat;
use crate::sys::{FdKind, LocalAddr, SockType};

/// The descriptor's kind; for a socket, its family, type and whether it listens.
pub(crate) fn describe(fd: BorrowedFd<'_>) -> io::Result<FdKind> {
    let mode = stat(fd)?.st_mode & libc::S_IFMT;
    Ok(match mode {
        libc::S_IFSOCK => FdKind::Socket {
            family: sockopt_int(fd, libc::SO_DOMAIN)?,
            ty: match sockopt_int(fd, libc::SO_TYPE)? {
                libc::SOCK_STREAM => Some(SockType::Stream),
                libc::SOCK_DGRAM => Some(SockType::Dgram),
                libc::SOCK_SEQPACKET => Some(SockType::SeqPacket),
                _ => None,
            },
            listening: sockopt_int(fd, libc::SO_ACCEPTCONN)? != 0,
        },
        libc::S_IFIFO => FdKind::Fifo,
        libc::S_IFREG => FdKind::File,
        libc::S_IFCHR => FdKind::CharDevice,
        libc::S_IFDIR => FdKind::Directory,
        _ if is_message_queue(fd) => FdKind::MessageQueue,
        _ => FdKind::Other,
    })
}

fn sockopt_int(fd: BorrowedFd<'_>, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into the live `value` and updates `len`.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// `mq_getattr` succeeds on message queue descriptors only.
fn is_message_queue(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: mq_attr is plain data; all-zero is a valid value to be overwritten.
    let mut attr: libc::mq_attr = unsafe { MaybeUninit::zeroed().assume_init() };
    // SAFETY: mq_getattr writes one mq_attr into the live `attr`; on a descriptor that is not
    // a queue it fails with EBADF and writes nothing.
    unsafe { libc::mq_getattr(fd.as_raw_fd(), &mut attr) == 0 }
}

/// `(st_dev, st_ino)` of the file behind `fd`.
pub(crate) fn file_id(fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    let st = stat(fd)?;
    #[allow(clippy::useless_conversion)] // st_dev and st_ino differ in width between targets.
    Ok((u64::from(st.st_dev), u64::from(st.st_ino)))
}

/// `(st_dev, st_ino)` of the file at `path`, following links (without opening it: a FIFO's
/// open would wait for a writer).
pub(crate) fn path_id(path: &std::path::Path) -> io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path)?;
    Ok((metadata.dev(), metadata.ino()))
}

/// The socket's own address (`getsockname`).
pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> io::Result<LocalAddr> {
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value to be overwritten.
    let mut storage: libc::sockaddr_storage = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes into the live storage and updates `len`.
    check(unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut storage as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    })?;
    let len = len as usize;
    Ok(match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in for AF_INET; storage is aligned for it.
            let sin = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            LocalAddr::Inet(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 for AF_INET6; storage is aligned for it.
            let sin6 = unsafe { *(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            LocalAddr::Inet(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        libc::AF_UNIX => {
            // SAFETY: the kernel wrote a sockaddr_un of `len` bytes; storage is aligned for it.
            let sun = unsafe { &*(&storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_un>() };
            let offset = size_of::<libc::sa_family_t>();
            let path: Vec<u8> = sun.sun_path[..len.saturating_sub(offset).min(sun.sun_path.len())]
                .iter()
                .map(|&c| c as u8)
                .collect();
            // A path ends at its NUL; an abstract name (leading NUL) is exactly `len` long.
            let path = match path.first() {
                Some(0) => path,
                _ => path.split(|&b| b == 0).next().unwrap_or_default().to_vec(),
            };
            LocalAddr::Unix(path)
        }
        _ => LocalAddr::Other,
    })
}
