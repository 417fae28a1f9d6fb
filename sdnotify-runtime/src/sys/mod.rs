//! The operating system, in one place. Every system call of the runtime goes through this
//! module, and every `unsafe` block of the crate lives below it, each with its `// SAFETY:`.
//!
//! `linux/` does the work, on the C library's interface (`libc`): the same ground the
//! ecosystem's foundations (std, mio, socket2, tokio, sd-notify) stand on, and the lightest
//! build. `elsewhere.rs` is the same interface on every other target, where no service
//! manager speaks this protocol: nothing is sent, received or inherited, as on Linux with
//! `NOTIFY_SOCKET` unset, so a service builds and runs unchanged on a developer's laptop.
//!
//! The rest of the crate is plain Rust that does not know which one it got.

#![allow(unsafe_code)]
// What only the Linux side reads (socket addresses, poll results...) is unused elsewhere.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::time::Duration;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub(crate) use linux::*;

#[cfg(not(target_os = "linux"))]
mod elsewhere;
#[cfg(not(target_os = "linux"))]
pub(crate) use elsewhere::*;

mod atomic_fd;
pub(crate) use atomic_fd::AtomicFd;

/// Whether this target talks to a service manager at all.
pub(crate) const SUPPORTED: bool = cfg!(target_os = "linux");

/// Descriptors: std's own types where the target has them (every unix, WASI). Windows has
/// none; there they are types without values, so the same signatures compile and the only
/// slice of descriptors anyone can pass is an empty one.
pub(crate) mod fd {
    #[cfg(any(unix, target_os = "wasi"))]
    pub(crate) use std::os::fd::{AsFd, BorrowedFd, IntoRawFd, OwnedFd, RawFd};

    #[cfg(not(any(unix, target_os = "wasi")))]
    pub(crate) use self::none::{AsFd, BorrowedFd, OwnedFd, RawFd};

    // Public, as they stand in public signatures, but unnameable: nobody can make one.
    #[cfg(not(any(unix, target_os = "wasi")))]
    #[allow(unreachable_pub)]
    mod none {
        /// A descriptor number (this target has none).
        pub type RawFd = i32;

        /// An owned descriptor: none can exist on this target.
        #[derive(Debug)]
        pub enum OwnedFd {}

        /// A borrowed descriptor: none can exist on this target.
        #[derive(Debug, Clone, Copy)]
        pub enum BorrowedFd<'a> {
            #[doc(hidden)]
            __Never(std::convert::Infallible, std::marker::PhantomData<&'a ()>),
        }

        /// std's `AsFd`, for the types above.
        pub trait AsFd {
            /// Borrows the descriptor.
            fn as_fd(&self) -> BorrowedFd<'_>;
        }

        impl AsFd for OwnedFd {
            fn as_fd(&self) -> BorrowedFd<'_> {
                match *self {}
            }
        }
    }

    /// An owned descriptor as a std type (`TcpListener`, `UdpSocket`, ...).
    #[cfg(any(unix, target_os = "wasi"))]
    pub(crate) fn into_std<T: From<OwnedFd>>(fd: OwnedFd) -> T {
        T::from(fd)
    }

    /// No descriptor exists on this target, so none is ever converted.
    #[cfg(not(any(unix, target_os = "wasi")))]
    pub(crate) fn into_std<T>(fd: OwnedFd) -> T {
        match fd {}
    }
}

/// A socket type, as the protocol's addresses name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SockType {
    Dgram,
    Stream,
    SeqPacket,
}

/// Where a socket connects or binds: a path, an abstract name (without its leading NUL), or an
/// AF_VSOCK address.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint<'a> {
    Path(&'a [u8]),
    Abstract(&'a [u8]),
    Vsock { cid: u32, port: u32 },
}

/// The credentials a message speaks for (`SCM_CREDENTIALS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Creds {
    pub(crate) pid: i32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// What a wait on one descriptor saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Polled {
    /// Nothing before the timeout.
    TimedOut,
    /// Ready for what was asked.
    Ready,
    /// The other end is gone (`POLLHUP`).
    HungUp,
}

/// What a wait is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    Read,
    Write,
}

/// One received datagram as the kernel gave it (see `manager`, Linux only).
#[cfg(target_os = "linux")]
#[derive(Debug)]
pub(crate) struct Received {
    /// The datagram's full length (`MSG_TRUNC`), also when longer than the buffer.
    pub(crate) len: usize,
    /// The sender's pid (0 when outside our pid namespace), uid and gid.
    pub(crate) creds: Option<(u32, u32, u32)>,
    pub(crate) fds: Vec<fd::OwnedFd>,
    /// `MSG_CTRUNC`: ancillary data (descriptors) was lost.
    pub(crate) control_truncated: bool,
}

/// Why an announced descriptor is not one this process inherited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotInherited {
    /// The number is not open.
    NotOpen,
    /// It is close-on-exec: this process opened it (every descriptor Rust opens is), or
    /// another library claimed it; a descriptor that crossed `exec` has the flag clear.
    CloseOnExec,
}

/// An inherited descriptor's identity (`st_dev`, `st_ino`), to tell it from a later one that
/// took its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity(pub(crate) u64, pub(crate) u64);

/// What an open descriptor is (`fstat`, and for a socket its options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FdKind {
    Socket {
        /// `AF_*`.
        family: i32,
        ty: Option<SockType>,
        listening: bool,
    },
    Fifo,
    File,
    CharDevice,
    Directory,
    /// A POSIX message queue (`mq_open`).
    MessageQueue,
    Other,
}

/// A socket's own address (`getsockname`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LocalAddr {
    Inet(std::net::SocketAddr),
    /// A path, or an abstract name with its leading NUL; empty when unnamed.
    Unix(Vec<u8>),
    Other,
}

/// The address families the checks name.
pub(crate) mod family {
    pub(crate) const UNIX: i32 = 1;
    pub(crate) const INET: i32 = 2;
    pub(crate) const INET6: i32 = 10;
    pub(crate) const VSOCK: i32 = 40;
}

/// An `OsStr`'s bytes: exact where strings are bytes (unix, WASI), its UTF-8 (lossily) on
/// Windows, where no address of the protocol can be used anyway.
pub(crate) fn os_bytes(text: &std::ffi::OsStr) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    return std::borrow::Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(text));
    #[cfg(target_os = "wasi")]
    return std::borrow::Cow::Borrowed(std::os::wasi::ffi::OsStrExt::as_bytes(text));
    #[cfg(not(any(unix, target_os = "wasi")))]
    return match text.to_string_lossy() {
        std::borrow::Cow::Borrowed(s) => std::borrow::Cow::Borrowed(s.as_bytes()),
        std::borrow::Cow::Owned(s) => std::borrow::Cow::Owned(s.into_bytes()),
    };
}

/// A `Duration` as a poll timeout in milliseconds, rounded up (a 1 µs wait is not 0 ms, which
/// would not wait at all); `-1`, no limit, for `None` or beyond `i32::MAX` ms.
pub(crate) fn poll_millis(timeout: Option<Duration>) -> i32 {
    let Some(timeout) = timeout else { return -1 };
    let millis = timeout.as_nanos().saturating_add(999_999) / 1_000_000;
    i32::try_from(millis).unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_timeouts_round_up_and_saturate_to_no_limit() {
        assert_eq!(poll_millis(None), -1);
        assert_eq!(poll_millis(Some(Duration::ZERO)), 0);
        assert_eq!(poll_millis(Some(Duration::from_nanos(1))), 1);
        assert_eq!(poll_millis(Some(Duration::from_millis(1500))), 1500);
        assert_eq!(poll_millis(Some(Duration::MAX)), -1);
    }
}
