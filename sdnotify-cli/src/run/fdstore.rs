//! The fd store: descriptors a service hands over with `FDSTORE=1`, kept by name up to
//! `--fdstore-max`, closed with `FDSTOREREMOVE=1` or when the supervisor ends. The store must
//! fit in the supervisor's descriptor table beside its own work (see [`fit`]): a service that
//! fills the table would leave the supervisor unable to open a pidfd or read /proc, and so
//! unable to stop it.

use std::os::fd::OwnedFd;

use sdnotify_runtime::MAX_FDS;

use super::event::Event;

/// Descriptors the supervisor keeps free for its own work beside the store and one incoming
/// message's descriptors: the socket, the signal pipe, pidfds, /proc reads, the service's
/// stdio while it starts.
pub(crate) const RESERVE: u64 = 32;

/// How many descriptors the store may keep under `limit` (RLIMIT_NOFILE's soft value, `None`
/// for unlimited) when `open` are open already: `requested`, or an error saying what fits.
/// One message's descriptors (up to 253) and [`RESERVE`] are set aside.
pub(crate) fn fit(requested: usize, limit: Option<u64>, open: u64) -> Result<usize, String> {
    let Some(limit) = limit else {
        return Ok(requested);
    };
    let set_aside = open.saturating_add(RESERVE).saturating_add(MAX_FDS as u64);
    let room = limit.saturating_sub(set_aside);
    if u64::try_from(requested).is_ok_and(|r| r <= room) {
        return Ok(requested);
    }
    // The first line is the same everywhere; the second has this machine's numbers.
    Err(format!(
        "--fdstore-max={requested} does not fit the descriptor limit (ulimit -n)\n  \
         RLIMIT_NOFILE is {limit}: beside the {open} descriptors open now, {RESERVE} for its own \
         work and {MAX_FDS} for one incoming message, the supervisor can keep at most {room}; \
         raise the limit or lower --fdstore-max"
    ))
}

pub(crate) struct Store {
    max: usize,
    entries: Vec<(String, OwnedFd)>,
}

impl Store {
    pub(crate) fn new(max: usize) -> Store {
        Store {
            max,
            entries: Vec::new(),
        }
    }

    /// Keeps `fds` under `name` if they all fit; otherwise closes them. A descriptor for an
    /// open file the store holds already is not kept twice (systemd's dedup: a service that
    /// stores its listener at every start). What happened, as an event.
    pub(crate) fn keep(&mut self, name: &str, fds: Vec<OwnedFd>) -> Event {
        if self.max == 0 {
            return Event::Rejected {
                pid: None,
                reason: format!(
                    "FDSTORE=1 with {} fd(s), but the fd store is disabled (--fdstore-max=0, as systemd's \
                     FileDescriptorStoreMax= default); closed",
                    fds.len()
                ),
            };
        }
        let mut kept: Vec<OwnedFd> = Vec::new();
        for fd in fds {
            let duplicate = self
                .entries
                .iter()
                .map(|(_, held)| held)
                .chain(&kept)
                .any(|held| same_file(held, &fd));
            if !duplicate {
                kept.push(fd);
            }
        }
        let fds = kept;
        let room = self.max.saturating_sub(self.entries.len());
        if fds.len() > room {
            return Event::Rejected {
                pid: None,
                reason: format!(
                    "FDSTORE=1 with {} fd(s), but only {room} more fit (--fdstore-max={}); closed",
                    fds.len(),
                    self.max
                ),
            };
        }
        let count = fds.len();
        self.entries
            .extend(fds.into_iter().map(|fd| (name.to_owned(), fd)));
        Event::FdStore {
            name: name.to_owned(),
            fds: count,
            stored: self.entries.len(),
        }
    }

    /// The stored descriptors with their names, in the order stored: handed to the next
    /// instance (systemd's `FileDescriptorStorePreserve=restart`).
    pub(crate) fn fds(&self) -> impl Iterator<Item = (std::os::fd::BorrowedFd<'_>, &str)> {
        use std::os::fd::AsFd;
        self.entries.iter().map(|(name, fd)| (fd.as_fd(), name.as_str()))
    }

    /// Its size (`--fdstore-max`).
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Closes every stored descriptor; how many there were.
    pub(crate) fn close_all(&mut self) -> usize {
        std::mem::take(&mut self.entries).len()
    }

    /// Closes every descriptor kept under `name`.
    pub(crate) fn remove(&mut self, name: &str) -> Event {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| n != name);
        let stored = self.entries.len();
        Event::FdStoreRemove {
            name: name.to_owned(),
            removed: before.saturating_sub(stored),
            stored,
        }
    }
}

/// Whether two descriptors are the same open file description (`kcmp(KCMP_FILE)`, as systemd's
/// `same_fd` asks): one socket stored at every start is kept once, two `open`s of one file are
/// two entries. Without kcmp (a kernel built without it), never the same.
fn same_file(a: &OwnedFd, b: &OwnedFd) -> bool {
    use std::os::fd::AsRawFd;
    /// `KCMP_FILE` from `<linux/kcmp.h>`.
    const KCMP_FILE: libc::c_long = 0;
    let pid = libc::c_long::from(rustix::process::getpid().as_raw_nonzero().get());
    #[allow(unsafe_code)]
    // SAFETY: kcmp compares two of this process's descriptors by number and reads no memory.
    let order = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            pid,
            pid,
            KCMP_FILE,
            libc::c_long::from(a.as_raw_fd()),
            libc::c_long::from(b.as_raw_fd()),
        )
    };
    order == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_fits_beside_the_supervisors_own_descriptors() {
        assert_eq!(fit(64, Some(1024), 10), Ok(64));
        assert_eq!(fit(100_000, None, 10), Ok(100_000));
        let room = 1024 - 10 - RESERVE - MAX_FDS as u64;
        assert_eq!(fit(room as usize, Some(1024), 10), Ok(room as usize));
        let refused = fit(room as usize + 1, Some(1024), 10).unwrap_err();
        assert!(refused.contains(&format!("at most {room}")), "{refused}");
        assert!(
            fit(1, Some(100), 10).is_err(),
            "a tiny limit leaves no room at all"
        );
        assert_eq!(fit(0, Some(100), 10), Ok(0));
    }

    /// `n` distinct open files.
    fn fds(n: usize) -> Vec<OwnedFd> {
        (0..n).map(|_| rustix::pipe::pipe().unwrap().0).collect()
    }

    #[test]
    fn the_same_open_file_is_kept_once_and_a_disabled_store_keeps_nothing() {
        let mut store = Store::new(3);
        let (read, _write) = rustix::pipe::pipe().unwrap();
        let copy = read.try_clone().unwrap();
        assert!(matches!(
            store.keep("a", vec![read]),
            Event::FdStore { stored: 1, .. }
        ));
        assert!(matches!(
            store.keep("a", vec![copy]),
            Event::FdStore { stored: 1, .. }
        ));
        assert_eq!(store.fds().map(|(_, name)| name).collect::<Vec<_>>(), ["a"]);
        let twice = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        assert!(
            matches!(
                store.keep("b", vec![twice(), twice()]),
                Event::FdStore { stored: 3, .. }
            ),
            "two opens of one file are two open files"
        );
        let mut off = Store::new(0);
        match off.keep("a", fds(1)) {
            Event::Rejected { reason, .. } => assert!(reason.contains("disabled"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keeps_up_to_the_limit_and_removes_by_name() {
        let mut store = Store::new(3);
        assert!(matches!(
            store.keep("a", fds(2)),
            Event::FdStore { stored: 2, .. }
        ));
        assert!(matches!(store.keep("b", fds(2)), Event::Rejected { .. }));
        assert!(matches!(
            store.keep("b", fds(1)),
            Event::FdStore { stored: 3, .. }
        ));
        assert_eq!(store.close_all(), 3);
        assert!(matches!(
            store.keep("a", fds(2)),
            Event::FdStore { stored: 2, .. }
        ));
        assert!(matches!(
            store.remove("a"),
            Event::FdStoreRemove {
                removed: 2,
                stored: 0,
                ..
            }
        ));
    }
}
