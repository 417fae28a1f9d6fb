//! Linux: the system calls, through the C library (`libc`).

mod describe;
mod fds;
mod process;
mod requests;
mod socket;

pub(crate) use describe::{describe, file_id, local_addr, path_id};
pub(crate) use fds::{claim_inherited, identify_inherited, pipe, place_from_3_on_exec, read};
pub(crate) use process::{
    current_pid, gid, monotonic, no_such_process, pidfd_open, pidfs_inode, realtime_signals, signal_names,
    uid,
};
pub(crate) use requests::{clear_request, prepare_wake, take_request, wait_wake, watch};
pub(crate) use socket::{
    bind, connect, poll, recv, send, set_nonblocking, set_passcred, set_recv_timeout, shutdown_write, socket,
};

use std::io;

/// The result of a call that returns -1 and sets `errno` on failure.
fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// `f` again while it fails with EINTR (a signal arrived during the call).
fn retry<T>(mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
