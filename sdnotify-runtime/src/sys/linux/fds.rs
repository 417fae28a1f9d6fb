//! Descriptors as numbers: pipes, reads, and the descriptors a process inherits across `exec`
//! (socket activation), identified when the environment is first read and claimed once.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use super::check;
use crate::sys::{Identity, NotInherited};

/// A close-on-exec pipe: (read end, write end).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 writes two descriptors into the live array.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both descriptors were just created and nothing else owns them.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// One `read(2)`.
pub(crate) fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into the live, exclusive `buf`.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// `fcntl(F_GETFD)` on a number.
fn fd_flags(fd: RawFd) -> io::Result<libc::c_int> {
    // SAFETY: fcntl on a number that is not open fails with EBADF and touches nothing.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// `(st_dev, st_ino)` of the open file behind a number.
fn identity(fd: RawFd) -> io::Result<Identity> {
    // SAFETY: the borrow lives for this one call and the number is open (fd_flags checked it
    // or the caller did); fstat only reads the descriptor.
    let st = super::process::stat(unsafe { BorrowedFd::borrow_raw(fd) })?;
    #[allow(clippy::useless_conversion)] // st_dev and st_ino differ in width between targets.
    Ok(Identity(u64::from(st.st_dev), u64::from(st.st_ino)))
}

/// Whether `fd` is a descriptor this process inherited across `exec`, and which open file it
/// is. Changes nothing.
pub(crate) fn identify_inherited(fd: RawFd) -> Result<Identity, NotInherited> {
    let flags = fd_flags(fd).map_err(|_| NotInherited::NotOpen)?;
    if flags & libc::FD_CLOEXEC != 0 {
        return Err(NotInherited::CloseOnExec);
    }
    identity(fd).map_err(|_| NotInherited::NotOpen)
}

/// Held while a descriptor is claimed, so two threads cannot both see it unclaimed.
static CLAIMING: Mutex<()> = Mutex::new(());

/// Takes ownership of inherited descriptor `fd` if it is still the open file identified as
/// `identity` and unclaimed; it is close-on-exec from then on. Once claimed, it is close-on-exec,
/// and a second claim fails: one owner, whoever asks.
pub(crate) fn claim_inherited(fd: RawFd, identity: Identity) -> io::Result<OwnedFd> {
    let _held = CLAIMING.lock().unwrap_or_else(|e| e.into_inner());
    let replaced = || io::Error::new(io::ErrorKind::NotFound, "not the descriptor that was inherited");
    if identify_inherited(fd) != Ok(identity) {
        return Err(replaced());
    }
    // SAFETY: F_SETFD on an open number (checked just above) changes only its flag; it marks
    // the descriptor claimed before anything owns it, so a failure here leaves it untouched.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    // SAFETY: a descriptor that was not close-on-exec and is the same open file that crossed
    // `exec` into this process (its identity taken when the environment was first read, before
    // the runtime opened anything) had no owner in this process: every descriptor Rust opens is
    // close-on-exec, and a claim marks it so under the lock above, so it is owned once.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `fds` descriptors 3, 4, … (not close-on-exec) of the program `command` runs, as a
/// manager passes socket-activated descriptors. Close-on-exec copies are made now, above that
/// range, so moving one into place in the child never overwrites another; `command` owns them
/// until it is dropped, so they stay open in the parent until the child has exec'd.
pub(crate) fn place_from_3_on_exec(
    command: &mut std::process::Command,
    fds: &[BorrowedFd<'_>],
) -> io::Result<()> {
    use std::os::unix::process::CommandExt;
    let above = RawFd::try_from(3 + fds.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut copies = Vec::with_capacity(fds.len());
    for fd in fds {
        // SAFETY: F_DUPFD_CLOEXEC on a borrowed, open descriptor only creates a new one.
        let copy = check(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, above) })?;
        // SAFETY: the descriptor was just created and nothing else owns it.
        copies.push(unsafe { OwnedFd::from_raw_fd(copy) });
    }
    // SAFETY: between fork and exec the closure only calls dup2, which is async-signal-safe, on
    // the copies it owns (open until the command is dropped); dup2's result is not
    // close-on-exec, so it crosses into the program.
    unsafe {
        command.pre_exec(move || {
            for (target, copy) in (3..).zip(&copies) {
                check(libc::dup2(copy.as_raw_fd(), target))?;
            }
            Ok(())
        });
    }
    Ok(())
}
