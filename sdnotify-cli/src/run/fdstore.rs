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

    /// Keeps `fds` under `name` if they all fit; otherwise closes them. What happened, as an
    /// event.
    pub(crate) fn keep(&mut self, name: &str, fds: Vec<OwnedFd>) -> Event {
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

    fn fds(n: usize) -> Vec<OwnedFd> {
        (0..n)
            .map(|_| OwnedFd::from(std::fs::File::open("/dev/null").unwrap()))
            .collect()
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
