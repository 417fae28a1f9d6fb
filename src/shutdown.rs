//! The shutdown, as the program asks for it: [`shutdown_requested`] (a future) and
//! [`wait_shutdown`] (blocking) wait for SIGTERM or SIGINT, and STOPPING=1 goes out the moment
//! the signal arrives, from the signal thread (a busy or wedged executor cannot delay it), so
//! the manager shows the service `deactivating` while it drains. The exit path sends no second
//! STOPPING.
//!
//! The first call of any of them installs the handlers; before it, SIGTERM and SIGINT keep
//! their default action (ending the process). So make it before READY=1 (in `init!`): a stop
//! the manager sends right after READY=1 then finds them. Off Linux nothing is installed: the
//! future never resolves and the signals keep their default action.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::task::{Context, Poll};

use crate::waiting::{self, Kind};

/// Set once SIGTERM or SIGINT arrived; never cleared (a shutdown does not un-happen).
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handlers for SIGTERM and SIGINT and the STOPPING=1 hook, once.
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        waiting::on_every_wake(on_wake);
        for (signal, name) in [(libc_sigterm(), "SIGTERM"), (libc_sigint(), "SIGINT")] {
            if let Err(err) = waiting::install(Kind::Shutdown, signal) {
                crate::outbox::report(format_args!("shutdown requests: cannot handle {name}: {err}"));
            }
        }
        // A signal that arrived before the first wait: the wake thread starts with the first
        // wait, so look now too.
        on_wake();
    });
}

fn libc_sigterm() -> i32 {
    sdnotify_runtime::signal::from_name("SIGTERM").unwrap_or(15)
}

fn libc_sigint() -> i32 {
    sdnotify_runtime::signal::from_name("SIGINT").unwrap_or(2)
}

/// On the signal thread after each wake-up: a shutdown request sends STOPPING=1 at once.
fn on_wake() {
    if waiting::take(Kind::Shutdown) && !REQUESTED.swap(true, Ordering::AcqRel) {
        crate::__private::stop(None);
    }
}

fn requested() -> bool {
    on_wake();
    REQUESTED.load(Ordering::Acquire)
}

/// Whether SIGTERM or SIGINT arrived (and STOPPING=1 went out), for a loop that polls. The first
/// call installs the handlers: make it before READY=1, in `init!`.
///
/// ```no_run
/// #[sdnotify::main]
/// fn main() {
///     sdnotify::init! {
///         let _ = sdnotify::shutdown_pending(); // SIGTERM and SIGINT are caught from here on
///     };
///     while !sdnotify::shutdown_pending() {
///         // ... one unit of work ...
///         # break;
///     }
/// }
/// ```
pub fn shutdown_pending() -> bool {
    install();
    requested()
}

/// Blocks until SIGTERM or SIGINT arrives; STOPPING=1 has gone out when it returns.
///
/// ```no_run
/// #[sdnotify::main]
/// fn main() {
///     std::thread::spawn(|| { /* ... serve ... */ });
///     sdnotify::wait_shutdown();
///     // ... drain, then return ...
/// }
/// ```
pub fn wait_shutdown() {
    install();
    waiting::wait(Kind::Shutdown, None, requested);
}

/// A future that resolves when SIGTERM or SIGINT arrives, STOPPING=1 sent at that moment; for
/// any executor (no tokio dependency). Creating it installs the handlers: create it before
/// READY=1. Made for graceful shutdowns:
///
/// ```no_run
/// # async fn serve(listener: tokio::net::TcpListener, app: axum::Router) -> std::io::Result<()> {
/// axum::serve(listener, app)
///     .with_graceful_shutdown(sdnotify::shutdown_requested())
///     .await
/// # }
/// ```
pub fn shutdown_requested() -> ShutdownRequest {
    install();
    ShutdownRequest {
        registration: waiting::Registration::default(),
    }
}

/// The future of [`shutdown_requested`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct ShutdownRequest {
    registration: waiting::Registration,
}

impl Future for ShutdownRequest {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.registration.poll(cx, requested, waiting::register)
    }
}
