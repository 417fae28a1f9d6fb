//! Reload requests off Linux: no service manager sends them, so no handler is installed and
//! none ever comes (`reload = "SIG…"` compiles and never fires). Waits block for their timeout,
//! or for good, as a wait for a request that cannot come does on Linux.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Accepts the option; installs nothing.
pub(crate) fn install(_name: &str) -> io::Result<()> {
    Ok(())
}

/// Never a request.
pub(crate) fn take() -> bool {
    false
}

pub(crate) fn clear() {}

/// Sleeps through `timeout` (for good without one); `false`: no request came.
pub(crate) fn wait(timeout: Option<Duration>) -> bool {
    match timeout.and_then(|t| Instant::now().checked_add(t)) {
        Some(deadline) => std::thread::sleep(deadline.saturating_duration_since(Instant::now())),
        None => loop {
            std::thread::park();
        },
    }
    false
}

pub(crate) fn register(_id: u64, _waker: &Waker) {}

pub(crate) fn unregister(_id: u64) {}

/// A new id for a future's waker.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
