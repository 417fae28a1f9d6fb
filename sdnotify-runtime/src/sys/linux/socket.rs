//! Sockets: creating, connecting and binding them, `send(2)`/`sendmsg(2)` with descriptors and
//! credentials, `recvmsg(2)` on the manager's side, `poll(2)` and the socket options.

use std::io;
use std::mem::{size_of, size_of_val, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::{check, retry};
use crate::error::MAX_FDS;
use crate::sys::{poll_millis, Creds, Endpoint, Interest, Polled, Received, SockType};

/// A new close-on-exec socket of the family `to` needs.
pub(crate) fn socket(to: &Endpoint<'_>, ty: SockType) -> io::Result<OwnedFd> {
    let family = match to {
        Endpoint::Path(_) | Endpoint::Abstract(_) => libc::AF_UNIX,
        Endpoint::Vsock { .. } => libc::AF_VSOCK,
    };
    let ty = match ty {
        SockType::Dgram => libc::SOCK_DGRAM,
        SockType::Stream => libc::SOCK_STREAM,
        SockType::SeqPacket => libc::SOCK_SEQPACKET,
    };
    // SAFETY: socket(2) takes plain integers and returns a new descriptor or -1.
    let fd = check(unsafe { libc::socket(family, ty | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: the descriptor was just created and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `connect(2)` (again while interrupted); on a datagram socket it replaces the peer.
pub(crate) fn connect(socket: BorrowedFd<'_>, to: &Endpoint<'_>) -> io::Result<()> {
    with_sockaddr(to, |addr, len| {
        // SAFETY: `addr` points at an initialised socket address of `len` bytes, alive for
        // the call.
        retry(|| check(unsafe { libc::connect(socket.as_raw_fd(), addr, len) })).map(drop)
    })
}

/// `bind(2)`.
pub(crate) fn bind(socket: BorrowedFd<'_>, to: &Endpoint<'_>) -> io::Result<()> {
    with_sockaddr(to, |addr, len| {
        // SAFETY: as in `connect`.
        check(unsafe { libc::bind(socket.as_raw_fd(), addr, len) }).map(drop)
    })
}

/// Builds the C socket address for `to` on the stack and hands it to `f` with its length.
fn with_sockaddr<R>(to: &Endpoint<'_>, f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> R) -> R {
    match *to {
        Endpoint::Path(name) | Endpoint::Abstract(name) => {
            // SAFETY: sockaddr_un is plain data; all-zero is a valid empty address.
            let mut addr: libc::sockaddr_un = unsafe { MaybeUninit::zeroed().assume_init() };
            addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
            // An abstract name starts with a NUL; a path ends with one (the zeroed tail).
            let start = usize::from(matches!(to, Endpoint::Abstract(_)));
            // NotifyAddress checked that 107 bytes at most come here; never write past the end.
            let room = addr.sun_path.len() - 1;
            let name = &name[..name.len().min(room)];
            for (slot, &byte) in addr.sun_path[start..].iter_mut().zip(name) {
                *slot = byte as libc::c_char;
            }
            let path_offset = size_of::<libc::sa_family_t>();
            let len = match to {
                Endpoint::Abstract(_) => path_offset + 1 + name.len(),
                _ => path_offset + name.len() + 1,
            };
            f((&addr as *const libc::sockaddr_un).cast(), len as libc::socklen_t)
        }
        Endpoint::Vsock { cid, port } => {
            // SAFETY: sockaddr_vm is plain data; all-zero is a valid empty address.
            let mut addr: libc::sockaddr_vm = unsafe { MaybeUninit::zeroed().assume_init() };
            addr.svm_family = libc::AF_VSOCK as libc::sa_family_t;
            addr.svm_cid = cid;
            addr.svm_port = port;
            f(
                (&addr as *const libc::sockaddr_vm).cast(),
                size_of::<libc::sockaddr_vm>() as libc::socklen_t,
            )
        }
    }
}

/// Room for `MAX_FDS` descriptors and one `ucred`, each with its header, as `u64`s so the
/// buffer is aligned for `cmsghdr`.
const CONTROL_WORDS: usize =
    (cmsg_space(MAX_FDS * size_of::<RawFd>()) + cmsg_space(size_of::<libc::ucred>())) / 8 + 1;

/// `CMSG_SPACE` for Linux (headers and payloads padded to `size_of::<usize>()`), as a constant.
const fn cmsg_space(payload: usize) -> usize {
    cmsg_align(size_of::<libc::cmsghdr>()) + cmsg_align(payload)
}

const fn cmsg_align(n: usize) -> usize {
    (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1)
}

/// Exactly one system call (again while interrupted): `send(2)` for bare bytes, `sendmsg(2)`
/// with `SCM_RIGHTS` and `SCM_CREDENTIALS` otherwise. Never raises SIGPIPE; with `wait` false
/// it fails with `WouldBlock` instead of waiting for room.
pub(crate) fn send(
    socket: BorrowedFd<'_>,
    bytes: &[u8],
    fds: &[BorrowedFd<'_>],
    creds: Option<Creds>,
    wait: bool,
) -> io::Result<()> {
    let flags = libc::MSG_NOSIGNAL | if wait { 0 } else { libc::MSG_DONTWAIT };
    if fds.is_empty() && creds.is_none() {
        return retry(|| {
            // SAFETY: `bytes` is a live slice of `bytes.len()` bytes for the call.
            let n = unsafe { libc::send(socket.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), flags) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
    assert!(fds.len() <= MAX_FDS, "the caller checks MAX_FDS");
    let rights_len = size_of_val(fds);
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    let rights_space = if fds.is_empty() { 0 } else { cmsg_space(rights_len) };
    let creds_space = if creds.is_some() {
        cmsg_space(size_of::<libc::ucred>())
    } else {
        0
    };
    msg.msg_controllen = (rights_space + creds_space) as _;
    // SAFETY: msg_control points at `control` (zeroed, aligned for cmsghdr, CONTROL_WORDS
    // words: room for MAX_FDS descriptors and one ucred) and msg_controllen is what the headers
    // below need; CMSG_FIRSTHDR/CMSG_NXTHDR return headers inside it, and each payload copied
    // into CMSG_DATA is exactly the length its header announces.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        if !fds.is_empty() {
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(rights_len as u32) as _;
            // BorrowedFd is a transparent RawFd.
            std::ptr::copy_nonoverlapping(fds.as_ptr().cast::<u8>(), libc::CMSG_DATA(cmsg), rights_len);
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        if let Some(creds) = creds {
            let ucred = libc::ucred {
                pid: creds.pid,
                uid: creds.uid,
                gid: creds.gid,
            };
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_CREDENTIALS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::ucred>() as u32) as _;
            libc::CMSG_DATA(cmsg).cast::<libc::ucred>().write_unaligned(ucred);
        }
    }
    retry(|| {
        // SAFETY: `msg` points at `iov` (which points at `bytes`, only read) and at `control`,
        // filled above with well-formed control messages; all live for the call.
        let n = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, flags) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    })
}

/// `CMSG_LEN`: a header and `payload` bytes, without the trailing padding.
const fn cmsg_len(payload: usize) -> usize {
    cmsg_align(size_of::<libc::cmsghdr>()) + payload
}

/// One `recvmsg(2)` (again while interrupted) with room for `MAX_FDS` descriptors (received
/// close-on-exec) and the sender's credentials.
pub(crate) fn recv(socket: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
    let mut control = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid empty header.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of_val(&control) as _;
    let n = retry(|| {
        // SAFETY: `msg` points at `iov` (which points at `buf`) and at `control`, all alive
        // and exclusively borrowed for the call; the kernel writes within the lengths given.
        let n = unsafe {
            libc::recvmsg(
                socket.as_raw_fd(),
                &mut msg,
                libc::MSG_TRUNC | libc::MSG_CMSG_CLOEXEC,
            )
        };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    })?;
    let mut received = Received {
        len: n,
        creds: None,
        fds: Vec::new(),
        control_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0,
    };
    // SAFETY: `msg` was filled by a successful recvmsg; CMSG_FIRSTHDR/CMSG_NXTHDR stay within
    // msg_controllen and return null at the end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: a non-null header from CMSG_FIRSTHDR/NXTHDR lies within `control`, which is
        // aligned for cmsghdr.
        let header = unsafe { &*cmsg };
        let payload_len = (header.cmsg_len as usize).saturating_sub(cmsg_len(0));
        // SAFETY: the payload follows the header inside the buffer (the kernel reduced
        // cmsg_len to what it wrote when it truncated).
        let data = unsafe { libc::CMSG_DATA(cmsg) };
        match (header.cmsg_level, header.cmsg_type) {
            (libc::SOL_SOCKET, libc::SCM_RIGHTS) => {
                for i in 0..payload_len / size_of::<RawFd>() {
                    // SAFETY: `i` indexes whole descriptors inside the payload; unaligned read
                    // because the payload has no alignment guarantee for i32 beyond the header's.
                    let fd = unsafe { data.add(i * size_of::<RawFd>()).cast::<RawFd>().read_unaligned() };
                    // SAFETY: the kernel installed this descriptor in our table for us to own.
                    received.fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
            (libc::SOL_SOCKET, libc::SCM_CREDENTIALS) if payload_len >= size_of::<libc::ucred>() => {
                // SAFETY: a whole ucred is in the payload; libc's ucred is plain integers, so
                // any value (pid 0 included) is valid.
                let ucred = unsafe { data.cast::<libc::ucred>().read_unaligned() };
                received.creds = Some((u32::try_from(ucred.pid).unwrap_or(0), ucred.uid, ucred.gid));
            }
            _ => {}
        }
        // SAFETY: as for CMSG_FIRSTHDR above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(received)
}

/// Waits until `fd` is ready for `interest`, hung up, or `timeout` passed (`None`: no limit).
/// A signal ends the wait early with `Interrupted`.
pub(crate) fn poll(fd: BorrowedFd<'_>, interest: Interest, timeout: Option<Duration>) -> io::Result<Polled> {
    let events = match interest {
        Interest::Read => libc::POLLIN,
        Interest::Write => libc::POLLOUT,
    };
    let mut pollfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events,
        revents: 0,
    };
    // SAFETY: one live, exclusively borrowed pollfd for the call.
    let n = check(unsafe { libc::poll(&mut pollfd, 1, poll_millis(timeout)) })?;
    Ok(if n == 0 {
        Polled::TimedOut
    } else if pollfd.revents & libc::POLLHUP != 0 {
        Polled::HungUp
    } else {
        Polled::Ready
    })
}

/// `shutdown(SHUT_WR)`: the peer reads the end of the stream.
pub(crate) fn shutdown_write(socket: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: shutdown takes a descriptor and a constant.
    check(unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_WR) }).map(drop)
}

/// `SO_PASSCRED`: every datagram received comes with its sender's credentials.
pub(crate) fn set_passcred(socket: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    setsockopt(socket, libc::SO_PASSCRED, &on)
}

/// `SO_RCVTIMEO`; `None` waits without limit.
pub(crate) fn set_recv_timeout(socket: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<()> {
    let tv = match timeout {
        None => libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        Some(t) => {
            // A zero timeval means "no limit": the shortest real wait is 1 µs.
            let t = t.max(Duration::from_micros(1));
            libc::timeval {
                tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
                tv_usec: t.subsec_micros() as libc::suseconds_t,
            }
        }
    };
    setsockopt(socket, libc::SO_RCVTIMEO, &tv)
}

fn setsockopt<T>(socket: BorrowedFd<'_>, option: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live, initialised T of `size_of::<T>()` bytes, the type the option
    // expects (each caller passes the option's own C type).
    check(unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// `O_NONBLOCK` on or off (`FIONBIO`).
pub(crate) fn set_nonblocking(socket: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    let mut on = libc::c_int::from(nonblocking);
    // SAFETY: FIONBIO reads one int from the live `on`.
    check(unsafe { libc::ioctl(socket.as_raw_fd(), libc::FIONBIO, &mut on) }).map(drop)
}
