//! `recvmsg(2)` with `SCM_RIGHTS` and `SCM_CREDENTIALS`, through libc's plain `ucred`.

use std::io;
use std::mem::{size_of, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::Credentials;
use crate::error::MAX_FDS;

/// What one `recvmsg` brought.
pub(super) struct Received {
    /// The datagram's full length (`MSG_TRUNC`), also when longer than the buffer.
    pub(super) len: usize,
    pub(super) creds: Option<Credentials>,
    pub(super) fds: Vec<OwnedFd>,
    /// `MSG_CTRUNC`: ancillary data (descriptors) was lost.
    pub(super) control_truncated: bool,
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

#[allow(unsafe_code)] // FFI: recvmsg and the CMSG_* walk over the control buffer it filled.
pub(super) fn recv(socket: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Received> {
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
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` points at `iov` (which points at `buf`) and at `control`, all alive and
    // exclusively borrowed for the call; the kernel writes within the lengths given.
    let n = unsafe {
        libc::recvmsg(
            socket.as_raw_fd(),
            &mut msg,
            libc::MSG_TRUNC | libc::MSG_CMSG_CLOEXEC,
        )
    };
    let len = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    let mut received = Received {
        len,
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
        // SAFETY: CMSG_LEN(0) is arithmetic on a constant.
        let header_len = unsafe { libc::CMSG_LEN(0) } as usize;
        let payload_len = (header.cmsg_len as usize).saturating_sub(header_len);
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
                received.creds = Some(Credentials {
                    pid: u32::try_from(ucred.pid).unwrap_or(0),
                    uid: ucred.uid,
                    gid: ucred.gid,
                });
            }
            _ => {}
        }
        // SAFETY: as for CMSG_FIRSTHDR above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(received)
}
