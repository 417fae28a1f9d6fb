//! Reload requests off Linux: no service manager sends them, so no handler is installed and
//! none ever comes (`reload = "SIG…"` compiles and never fires). Waits block for their timeout,
//! or for good, as a wait for a request that cannot come does on Linux.

use std::io;
use std::task::{Context, Poll, Waker};
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

/// A future's registration: no wake-up ever comes, so none is kept.
#[derive(Debug, Default)]
pub(crate) struct Registration;

impl Registration {
    /// Ready once `done()` holds (it never does here).
    pub(crate) fn poll(
        &mut self,
        _cx: &mut Context<'_>,
        done: impl Fn() -> bool,
        _register: impl Fn(u64, &Waker),
    ) -> Poll<()> {
        if done() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
