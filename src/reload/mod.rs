//! Reloads (`#[sdnotify::main(reload = "SIGHUP")]`, `Type=notify-reload`): requests, and the
//! handshake around the application's own reload code.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use sdnotify_runtime::State;

use crate::outbox::{one_line, send, stopping_sent};

/// The reload signal's handler and the waiters: Linux does the work; elsewhere no request ever
/// comes.
#[cfg_attr(not(target_os = "linux"), path = "requests_elsewhere.rs")]
pub(crate) mod requests;

/// Whether the framework's "reload failed" text is still the service's status.
static FAILURE_SHOWN: AtomicBool = AtomicBool::new(false);

/// A `status!` replaced the "reload failed" text, so a good reload need not clear it.
pub(crate) fn status_replaced() {
    FAILURE_SHOWN.store(false, Ordering::Relaxed);
}

/// Whether a reload was requested (the reload signal arrived) since the last time this said
/// so: `true` once per pending request, then `false` until the next. Requests that arrive while
/// a reload runs add up to one more; a reload that starts ([`Reloading::begin`]) serves the
/// requests that came before it.
///
/// Costs one atomic swap, so a main loop can ask on every turn. Always `false` without the
/// attribute's `reload = "SIG…"` option.
///
/// ```no_run
/// # fn serve_one_request() {}
/// # fn load_config() -> std::io::Result<()> { Ok(()) }
/// #[sdnotify::main(reload = "SIGHUP")]
/// fn main() {
///     loop {
///         serve_one_request();
///         if sdnotify::reload_requested() {
///             let _ = sdnotify::reload(load_config);
///         }
///     }
/// }
/// ```
pub fn reload_requested() -> bool {
    requests::take()
}

/// Blocks the calling thread until a reload is requested, and takes the request (like
/// [`reload_requested`] returning `true`). Returns at once when one is pending.
///
/// Without the attribute's `reload = "SIG…"` option no request can come: it says so on stderr
/// once and blocks for good.
///
/// Each process waits for its own requests. A program that forks without exec (a prefork
/// server) keeps the handler in every child; a request sent to a worker wakes that worker's
/// waiters and no other process's, whether the worker was forked before or after its parent
/// first waited (`examples/prefork.rs` relays the parent's requests to its workers).
///
/// ```no_run
/// # fn load_config() -> Result<(), String> { Ok(()) }
/// #[sdnotify::main(reload = "SIGHUP")]
/// fn main() {
///     std::thread::spawn(|| loop {
///         sdnotify::wait_reload_request();
///         let _ = sdnotify::reload(load_config);
///     });
///     // ... serve ...
/// }
/// ```
pub fn wait_reload_request() {
    requests::wait(None);
}

/// [`wait_reload_request`] for at most `timeout`: `true` when a request came (and was taken),
/// `false` when the time ran out.
///
/// ```no_run
/// use std::time::Duration;
///
/// #[sdnotify::main(reload = "SIGUSR1")]
/// fn main() {
///     while !sdnotify::wait_reload_request_timeout(Duration::from_secs(1)) {
///         // ... one second of housekeeping ...
///     }
/// }
/// ```
pub fn wait_reload_request_timeout(timeout: Duration) -> bool {
    requests::wait(Some(timeout))
}

/// A future that completes when a reload is requested, taking the request; on any executor
/// (a helper thread wakes it, no reactor is needed).
///
/// Dropping it before it completes takes nothing, so it can sit in a `select!` loop.
///
/// ```no_run
/// # async fn load_config() -> Result<(), std::io::Error> { Ok(()) }
/// #[sdnotify::main(reload = "SIGHUP")]
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() {
///     loop {
///         sdnotify::reload_request().await;
///         let _ = sdnotify::reload_async(load_config()).await;
///     }
/// }
/// ```
pub fn reload_request() -> ReloadRequest {
    ReloadRequest {
        registration: requests::Registration::default(),
    }
}

/// The future of [`reload_request`].
#[derive(Debug)]
#[must_use = "a future does nothing unless awaited"]
pub struct ReloadRequest {
    registration: requests::Registration,
}

impl Future for ReloadRequest {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.registration.poll(cx, requests::take, requests::register)
    }
}

/// A reload in progress: [`begin`](Self::begin) sent `RELOADING=1` with `MONOTONIC_USEC=` in one
/// datagram, and `READY=1` follows however it ends.
///
/// - [`done`](Self::done): `READY=1`; the service runs with the new configuration.
/// - [`failed`](Self::failed): `READY=1` with `STATUS=reload failed: …`. As systemd.service(5)
///   puts it for a reload that fails, the service goes on with its old configuration, and
///   sd_notify(3) asks every `RELOADING=1` to be followed by `READY=1`; the status line tells
///   the user why. (No `ERRNO=`: it means the service failed, and it did not.)
/// - dropped (a `?` or a panic in the reload code): like `failed`, naming the reason.
///
/// The manager cannot tell a failed reload from a good one (the protocol has no way to say
/// so), so `systemctl reload` succeeds either way; `systemctl status` shows the status line.
///
/// ```no_run
/// # fn read_config() -> Result<String, std::io::Error> { Ok(String::new()) }
/// let reloading = sdnotify::Reloading::begin();
/// match read_config() {
///     Ok(config) => {
///         // ... switch to `config` ...
///         # drop(config);
///         reloading.done();
///     }
///     Err(err) => reloading.failed(&err),
/// }
/// ```
#[derive(Debug)]
#[must_use = "READY=1 is sent when the reload ends: call `done` or `failed`"]
pub struct Reloading {
    ended: bool,
}

impl Reloading {
    /// Sends `RELOADING=1` and `MONOTONIC_USEC=` (now) in one datagram. A request pending now is
    /// served by this reload and no longer pending.
    pub fn begin() -> Reloading {
        requests::clear();
        if !stopping_sent() {
            send(&[
                State::Reloading,
                State::MonotonicUsec(sdnotify_runtime::monotonic_now()),
            ]);
        }
        Reloading { ended: false }
    }

    /// The reload succeeded: `READY=1` (clearing a "reload failed" status left by an earlier
    /// reload, unless a `status!` replaced it since).
    pub fn done(mut self) {
        self.ended = true;
        if stopping_sent() {
            return;
        }
        if FAILURE_SHOWN.swap(false, Ordering::Relaxed) {
            send(&[State::Ready, State::Status("")]);
        } else {
            send(&[State::Ready]);
        }
    }

    /// The reload failed: `READY=1` with `STATUS=reload failed: <error>`; the service carries on
    /// with its old configuration.
    pub fn failed(mut self, error: &dyn fmt::Display) {
        self.ended = true;
        fail(format_args!("{error}"));
    }

    /// [`done`](Self::done) for `Ok`, [`failed`](Self::failed) with the error for `Err`.
    pub fn finish<T, E: fmt::Display>(self, result: &Result<T, E>) {
        match result {
            Ok(_) => self.done(),
            Err(error) => self.failed(error),
        }
    }
}

impl Drop for Reloading {
    fn drop(&mut self) {
        if !self.ended {
            if std::thread::panicking() {
                fail(format_args!("the reload code panicked"));
            } else {
                fail(format_args!("it ended without `done` or `failed`"));
            }
        }
    }
}

fn fail(why: fmt::Arguments<'_>) {
    if stopping_sent() {
        return;
    }
    let status = one_line(&format!("reload failed: {why}"));
    send(&[State::Ready, State::Status(&status)]);
    FAILURE_SHOWN.store(true, Ordering::Relaxed);
}

/// Runs the application's reload code inside the handshake systemd's `Type=notify-reload`
/// expects: `RELOADING=1` + `MONOTONIC_USEC=` before, `READY=1` after, and on `Err` the error in
/// `STATUS=` (see [`Reloading`]). Returns what the code returned.
///
/// ```no_run
/// use std::sync::RwLock;
///
/// static CONFIG: RwLock<String> = RwLock::new(String::new());
///
/// #[sdnotify::main(reload = "SIGHUP")]
/// fn main() {
///     loop {
///         sdnotify::wait_reload_request();
///         let _ = sdnotify::reload(|| -> std::io::Result<()> {
///             *CONFIG.write().unwrap() = std::fs::read_to_string("app.conf")?;
///             Ok(())
///         });
///     }
/// }
/// ```
pub fn reload<T, E: fmt::Display>(code: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
    let reloading = Reloading::begin();
    let result = code();
    reloading.finish(&result);
    result
}

/// [`reload`] for async code, on any executor: awaits `code` between `RELOADING=1` and
/// `READY=1`. A future dropped before it completes ends the reload as failed.
///
/// ```no_run
/// # async fn fetch_config() -> Result<String, std::io::Error> { Ok(String::new()) }
/// # async fn run() {
/// if let Ok(config) = sdnotify::reload_async(fetch_config()).await {
///     // ... switch to `config` ...
///     # drop(config);
/// }
/// # }
/// ```
pub async fn reload_async<T, E: fmt::Display>(code: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    let reloading = Reloading::begin();
    let result = code.await;
    reloading.finish(&result);
    result
}
