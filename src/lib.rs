//! # sdnotify
//!
//! Make a Linux service a correct systemd citizen with one attribute: readiness, status,
//! watchdog and shutdown over systemd's service-notification protocol (`sd_notify(3)`), in pure
//! Rust, verified against a real systemd.
//!
//! ```no_run
//! #[sdnotify::main]
//! fn main() -> Result<(), std::io::Error> {
//!     let config = sdnotify::init! {
//!         sdnotify::status!("loading {}", "app.toml");
//!         let config = std::fs::read_to_string("app.toml")?; // an Err here: no READY, STOPPING
//!         config
//!     }; // READY=1 is sent here
//!     loop {
//!         // ... serve one request with `config` ...
//!         sdnotify::heartbeat(); // matters with watchdog = "heartbeat"
//!         # let _ = &config; break;
//!     }
//!     Ok(())
//! } // STOPPING=1 on every way out
//! ```
//!
//! The protocol itself is here too (from the `sdnotify-runtime` crate, re-exported): the typed
//! [`State`]s, the process-wide [`notify`] and its shorthands, the explicit [`Notifier`]
//! (descriptors, credentials, barrier), [`watchdog_enabled`], [`listen_fds`], [`booted`],
//! [`env::scrub`], and the manager's side in `manager`.
//!
//! Linux does the work; elsewhere it compiles to nothing. On macOS, the BSDs, Windows and WASI
//! a service with every option of the attribute builds and runs unchanged, as on Linux with
//! `NOTIFY_SOCKET` unset: `notify*` returns `Ok(false)`, [`listen_fds`] is empty,
//! [`watchdog_enabled`] is `None`, [`booted`] is false, and a `reload = "…"` option never
//! fires; no `cfg(target_os)` is needed around `#[sdnotify::main]`. The manager's side
//! (`sdnotify::manager`) is Linux only.
//!
//! The library's own diagnostics and the `SDNOTIFY_DEBUG=1` trace are lines on stderr; with the
//! `log` feature they go through the `log` facade (target `sdnotify`) once the program has
//! installed a logger, and what goes wrong before `main`'s first line waits for it until
//! `init!` completes.

pub use sdnotify_runtime::*;

/// Makes a function (normally `main`) a correct systemd service.
///
/// - **READY=1** is sent once, right after the [`init!`] section completes; without an `init!`,
///   before the body runs. `ready = "manual"` leaves it to your call of [`ready()`] (and an
///   `init!` with it is a compile error).
/// - **STOPPING=1** is sent on every way out: return, `Err`, early `return`, panic (also with
///   `panic = "abort"`, from a panic hook), [`exit()`]. An `Err` or a panic also sends one
///   `STATUS=` line saying what failed: the error's `Display` where it has one (else its
///   `Debug`), and for an `std::io::Error` with an OS code also `ERRNO=`. The exit code is
///   unchanged.
/// - **Watchdog**: with `WATCHDOG_USEC` set (and `WATCHDOG_PID` absent or ours), a thread named
///   `sdnotify-watchdog` sends `WATCHDOG=1` every `WATCHDOG_USEC / 2`, sleeping in between, until
///   STOPPING. `watchdog = "heartbeat"` pings only if [`heartbeat()`] was called since the last
///   ping, so systemd catches a wedged main loop; in an async `main`, spawn
///   [`executor_heartbeat()`] on the runtime and a wedged runtime stops the pings.
///   `watchdog = "off"` starts no thread. An invalid
///   `WATCHDOG_USEC` starts no thread and is reported once on stderr.
/// - **Reload** (`reload = "SIGHUP"`, or any name systemd's `ReloadSignal=` accepts, such as
///   `"SIGUSR1"` or `"SIGRTMIN+2"`): the signal's handler is installed when the function starts,
///   before READY=1 (systemd 262 refuses a `Type=notify-reload` service that does not catch its
///   reload signal then), and a signal during `init!` is remembered. The program takes requests
///   with [`reload_requested()`], [`wait_reload_request()`] or the [`reload_request()`] future,
///   and wraps its reload code in [`reload()`] / [`reload_async()`] (or [`Reloading`]): RELOADING=1
///   with MONOTONIC_USEC in one datagram, then READY=1, a failure in `STATUS=`. Without the
///   option the signal keeps its default action. An unknown or uncatchable signal (`"SIGKILL"`)
///   is a compile error.
/// - Off systemd (`NOTIFY_SOCKET` unset) nothing changes and no thread starts (except that a
///   `reload` signal still means "reload", for `kill -HUP` while developing).
///   `SDNOTIFY_DEBUG=1` traces every message on stderr.
///
/// Options: `watchdog = "auto" | "heartbeat" | "off"`, `ready = "auto" | "manual"`,
/// `reload = "SIG…"`, `crate = "path"` (when the `sdnotify` dependency is renamed). It composes with
/// `#[tokio::main]` in either order, and `main` may return `()`, `Result<(), E>` or `ExitCode`.
///
/// ```no_run
/// use std::time::Duration;
///
/// #[sdnotify::main(watchdog = "heartbeat")]
/// fn main() {
///     let jobs = sdnotify::init! { vec![1, 2, 3] };
///     for job in jobs.iter().cycle() {
///         std::thread::sleep(Duration::from_millis(*job));
///         sdnotify::heartbeat();
///     }
/// }
/// ```
pub use sdnotify_macros::main;

mod executor_heartbeat;
mod outbox;
mod reload;
/// SIGTERM and SIGINT as a shutdown the program waits for: Linux does the work; elsewhere the
/// signals keep their default action.
#[cfg_attr(not(target_os = "linux"), path = "shutdown_elsewhere.rs")]
mod shutdown;
#[cfg(target_os = "linux")]
mod waiting;
mod watchdog_thread;

pub use executor_heartbeat::{executor_heartbeat, ExecutorHeartbeat};
pub use shutdown::{shutdown_pending, shutdown_requested, wait_shutdown, ShutdownRequest};

pub use reload::{
    reload, reload_async, reload_request, reload_requested, wait_reload_request, wait_reload_request_timeout,
    ReloadRequest, Reloading,
};

#[doc(hidden)]
pub mod __private;

/// Marks the start-up section of a `#[sdnotify::main]` function: READY=1 is sent right after it
/// completes.
///
/// Its value is the block's value. `?` and `return` inside it leave the function as usual, and
/// then READY is never sent. One per function, as a statement at the top level of its body (the
/// attribute finds it with a shallow scan, which keeps expansion fast); anywhere else (a nested
/// block, a closure, outside `#[sdnotify::main]`, or with `ready = "manual"`) it is a compile
/// error.
///
/// ```no_run
/// #[sdnotify::main]
/// fn main() -> std::io::Result<()> {
///     let listener = sdnotify::init! {
///         std::net::TcpListener::bind("127.0.0.1:8080")?
///     };
///     for stream in listener.incoming() {
///         drop(stream?);
///     }
///     Ok(())
/// }
/// ```
#[macro_export]
macro_rules! init {
    ($($body:tt)*) => {
        ::core::compile_error! {
            "`sdnotify::init!` must be a statement at the top level of the body of a function annotated with `#[sdnotify::main]` (not inside a nested block, `if`, loop or closure)"
        }
    };
}

/// What `#[sdnotify::main]` turns its `init!` into.
#[doc(hidden)]
#[macro_export]
macro_rules! __init_section {
    ($($body:tt)*) => {{
        let __sdnotify_value = { $($body)* };
        $crate::__private::init_completed();
        __sdnotify_value
    }};
}

/// Sends `STATUS=` with `format!`-style arguments; never fails the program.
///
/// A status that cannot be sent (say, one with a line break) is reported on stderr and not sent.
///
/// ```
/// let done = 3;
/// sdnotify::status!("warming caches ({done}/8)");
/// ```
#[macro_export]
macro_rules! status {
    ($($arg:tt)+) => {
        $crate::__private::status(::core::format_args!($($arg)+))
    };
}

/// Tells the watchdog thread the main loop is alive (`watchdog = "heartbeat"`): the next ping
/// is sent only if this was called since the previous one. Costs one relaxed atomic store.
///
/// ```
/// loop {
///     // ... one unit of work ...
///     sdnotify::heartbeat();
///     # break;
/// }
/// ```
pub fn heartbeat() {
    watchdog_thread::beat();
}

/// Sends STOPPING=1 (stopping the watchdog thread first) and exits with `code`, for programs
/// that end with `std::process::exit`.
///
/// ```no_run
/// sdnotify::exit(2);
/// ```
pub fn exit(code: i32) -> ! {
    __private::stop(None);
    std::process::exit(code)
}

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
