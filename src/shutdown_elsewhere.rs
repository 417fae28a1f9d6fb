//! The shutdown off Linux: no handler is installed, so SIGTERM and SIGINT keep their default
//! action and the future never resolves (the program ends as it did before).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Never: no signal is caught off Linux.
pub fn shutdown_pending() -> bool {
    false
}

/// Blocks for good: no signal is caught off Linux (the default action ends the program).
pub fn wait_shutdown() {
    loop {
        std::thread::park();
    }
}

/// A future that never resolves off Linux.
pub fn shutdown_requested() -> ShutdownRequest {
    ShutdownRequest { _private: () }
}

/// The future of [`shutdown_requested`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ShutdownRequest {
    _private: (),
}

impl Future for ShutdownRequest {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}
