//! Process ids as the kernel's `pid_t` allows them: 1 to 2³¹−1, never 0 or negative.

use std::fmt;
use std::num::NonZeroI32;

/// A process id that is a valid target for one process: positive and within `pid_t`.
///
/// `kill(2)` reads 0 as "my process group", -1 as "every process I may signal" and -N as
/// "process group N"; a pid read from a message or a command line as `u32` and cast to `pid_t`
/// can be any of those. A `Pid` cannot: every way to make one checks the range.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::Pid;
///
/// assert_eq!(Pid::parse("42").map(Pid::get), Some(42));
/// assert_eq!(Pid::parse("0"), None);
/// assert_eq!(Pid::parse("4294967295"), None); // would be -1 as a pid_t
/// assert_eq!(Pid::parse("+7"), None);
/// assert_eq!(Pid::new(2_147_483_648), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(NonZeroI32);

impl Pid {
    /// `Some` for 1 to 2³¹−1.
    pub fn new(pid: u32) -> Option<Pid> {
        i32::try_from(pid).ok().and_then(NonZeroI32::new).map(Pid)
    }

    /// Decimal digits only (no sign, no spaces), as systemd's `parse_pid` accepts a `MAINPID=`.
    pub fn parse(text: &str) -> Option<Pid> {
        if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        text.parse::<u32>().ok().and_then(Pid::new)
    }

    /// The calling process.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// assert_eq!(sdnotify::Pid::current().get(), std::process::id());
    /// ```
    pub fn current() -> Pid {
        // The kernel's own pid for us is always in range.
        Pid(NonZeroI32::new(crate::sys::current_pid()).unwrap_or(NonZeroI32::MIN))
    }

    /// The id as an unsigned number (what `std::process::id` returns).
    pub fn get(self) -> u32 {
        self.0.get().unsigned_abs()
    }

    /// The id as a `pid_t`, always positive.
    pub fn as_raw(self) -> i32 {
        self.0.get()
    }

    /// A pidfd for the process (`pidfd_open(2)`), close-on-exec: what `MAINPIDFD=1` sends.
    ///
    /// ```
    /// # use sdnotify_runtime as sdnotify;
    /// let fd = sdnotify::Pid::current().pidfd()?;
    /// # drop(fd);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pidfd(self) -> std::io::Result<crate::sys::fd::OwnedFd> {
        crate::sys::pidfd_open(self.as_raw())
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The inode id of `pid`'s pidfd on pidfs (Linux 6.9+): what systemd 257+ sends as
/// `MAINPIDFDID=` and sets as `$MAINPIDFDID`; unlike a pid, it is not reused while the system
/// runs. `Ok(None)` where the kernel has no pidfs (or no `pidfd_open`); an error of kind
/// `NotFound` when no process has that pid.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use sdnotify::{pidfd_id, Pid};
///
/// let mine = pidfd_id(Pid::current())?;
/// # let _ = mine;
/// # #[cfg(target_os = "linux")]
/// assert!(pidfd_id(Pid::new(2_147_483_000).unwrap()).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn pidfd_id(pid: Pid) -> std::io::Result<Option<u64>> {
    use crate::sys::fd::AsFd;
    let fd = match pid.pidfd() {
        Ok(fd) => fd,
        Err(e) if crate::sys::no_such_process(&e) => return Err(std::io::ErrorKind::NotFound.into()),
        Err(_) => return Ok(None),
    };
    Ok(crate::sys::pidfs_inode(fd.as_fd()).unwrap_or(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_pid_t_values() {
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            " 1",
            "1 ",
            "2147483648",
            "4294967295",
            "4294967296",
            "99999999999",
            "0x10",
        ] {
            assert_eq!(Pid::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Pid::parse("2147483647").map(Pid::as_raw), Some(i32::MAX));
        assert_eq!(Pid::parse("007").map(Pid::get), Some(7));
        assert_eq!(Pid::new(0), None);
        assert_eq!(Pid::new(u32::MAX), None);
    }
}
