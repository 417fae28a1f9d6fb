//! The fd store: descriptors a service hands over with `FDSTORE=1`, kept by name up to
//! `--fdstore-max`, closed with `FDSTOREREMOVE=1` or when the supervisor ends.

use std::os::fd::OwnedFd;

use super::event::Event;

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
        assert!(matches!(
            store.remove("a"),
            Event::FdStoreRemove {
                removed: 2,
                stored: 1,
                ..
            }
        ));
    }
}
