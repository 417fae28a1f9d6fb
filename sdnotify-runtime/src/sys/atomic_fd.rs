//! A descriptor owned through an atomic: published once by whichever thread gets there first,
//! borrowed without a lock (so a `fork(2)` at any moment leaves the child a working one), and
//! closed when the owner is dropped.

use std::sync::atomic::{AtomicI32, Ordering};

use super::fd::{BorrowedFd, OwnedFd};
#[cfg(any(unix, target_os = "wasi"))]
use super::fd::{IntoRawFd, RawFd};

/// No descriptor published yet.
#[cfg(any(unix, target_os = "wasi"))]
const EMPTY: RawFd = -1;

#[derive(Debug)]
pub(crate) struct AtomicFd(AtomicI32);

#[cfg(any(unix, target_os = "wasi"))]
impl AtomicFd {
    pub(crate) const fn empty() -> AtomicFd {
        AtomicFd(AtomicI32::new(EMPTY))
    }

    /// The published descriptor, if there is one.
    pub(crate) fn get(&self) -> Option<BorrowedFd<'_>> {
        let fd = self.0.load(Ordering::Acquire);
        // SAFETY: a published descriptor is owned by `self` and closed only in `drop`, which
        // cannot run while `&self` is borrowed.
        (fd != EMPTY).then(|| unsafe { BorrowedFd::borrow_raw(fd) })
    }

    /// Publishes `fd` unless another descriptor was published first (then `fd` is closed);
    /// the one published.
    pub(crate) fn publish(&self, fd: OwnedFd) -> BorrowedFd<'_> {
        let raw = fd.into_raw_fd();
        let published = match self
            .0
            .compare_exchange(EMPTY, raw, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => raw,
            Err(first) => {
                use std::os::fd::FromRawFd;
                // SAFETY: `raw` came from `into_raw_fd` above and was never published.
                drop(unsafe { OwnedFd::from_raw_fd(raw) });
                first
            }
        };
        // SAFETY: as in `get`: the published descriptor lives as long as `self`.
        unsafe { BorrowedFd::borrow_raw(published) }
    }
}

#[cfg(any(unix, target_os = "wasi"))]
impl Drop for AtomicFd {
    fn drop(&mut self) {
        let fd = *self.0.get_mut();
        if fd != EMPTY {
            use std::os::fd::FromRawFd;
            // SAFETY: `self` owns its published descriptor, and `&mut self` means no borrow of
            // it is alive.
            drop(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
}

/// No descriptors on this target: nothing is ever published.
#[cfg(not(any(unix, target_os = "wasi")))]
impl AtomicFd {
    pub(crate) const fn empty() -> AtomicFd {
        AtomicFd(AtomicI32::new(-1))
    }

    pub(crate) fn get(&self) -> Option<BorrowedFd<'_>> {
        let _ = self.0.load(Ordering::Relaxed);
        None
    }

    pub(crate) fn publish(&self, fd: OwnedFd) -> BorrowedFd<'_> {
        match fd {}
    }
}
