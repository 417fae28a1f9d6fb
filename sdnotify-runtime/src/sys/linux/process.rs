//! Processes, identities, the clock and signal numbers.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::raw::c_int;
use std::time::Duration;

use super::check;

/// This process's id (never fails).
pub(crate) fn current_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// The real user id (never fails).
pub(crate) fn uid() -> u32 {
    // SAFETY: getuid has no preconditions.
    unsafe { libc::getuid() }
}

/// The real group id (never fails).
pub(crate) fn gid() -> u32 {
    // SAFETY: getgid has no preconditions.
    unsafe { libc::getgid() }
}

/// `CLOCK_MONOTONIC` now.
pub(crate) fn monotonic() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the live `ts`; CLOCK_MONOTONIC always
    // exists on Linux, so it cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    // CLOCK_MONOTONIC is never negative.
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `pidfd_open(2)`: a close-on-exec descriptor for process `pid` (Linux 5.3).
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: the system call takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a new descriptor (it fits in an int); nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as c_int) })
}

/// Whether an error says the process does not exist (`ESRCH`).
pub(crate) fn no_such_process(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ESRCH)
}

/// pidfs's magic number (`PID_FS_MAGIC`): only there do pidfds have per-process inode ids.
const PID_FS_MAGIC: i64 = 0x5049_4446;

/// The inode number of a pidfd where pidfds live on pidfs (Linux 6.9), `None` elsewhere.
pub(crate) fn pidfs_inode(pidfd: BorrowedFd<'_>) -> io::Result<Option<u64>> {
    // SAFETY: statfs is plain data; all-zero is a valid value to be overwritten.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs writes one statfs into the live `fs`.
    check(unsafe { libc::fstatfs(pidfd.as_raw_fd(), &mut fs) })?;
    #[allow(clippy::useless_conversion)] // f_type is narrower than i64 on some targets.
    if i64::from(fs.f_type) != PID_FS_MAGIC {
        return Ok(None);
    }
    Ok(Some(stat(pidfd)?.st_ino))
}

pub(super) fn stat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: stat is plain data; all-zero is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes one stat into the live `st`.
    check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st)
}

/// The standard signals by name, without the `SIG` prefix, in systemd's spelling.
const STANDARD: &[(&str, c_int)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    #[cfg(not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64")))]
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The standard signals of this architecture, by name (without `SIG`).
pub(crate) fn signal_names() -> &'static [(&'static str, c_int)] {
    STANDARD
}

/// The real-time range as the C library leaves it to programs (`SIGRTMIN`, `SIGRTMAX`).
pub(crate) fn realtime_signals() -> Option<(c_int, c_int)> {
    Some((libc::SIGRTMIN(), libc::SIGRTMAX()))
}
