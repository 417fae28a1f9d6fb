//! # sdnotify
//!
//! Make a Linux service a correct systemd citizen: readiness, status, watchdog, fd store and
//! socket activation over systemd's service-notification protocol (`sd_notify(3)`), in pure
//! Rust, verified against a real systemd.
//!
//! ```no_run
//! use sdnotify::State;
//!
//! // ... load configuration, bind sockets ...
//! sdnotify::notify(&[State::Ready, State::Status("serving")])?;
//! loop {
//!     // ... serve ...
//!     # break;
//! }
//! sdnotify::stopping()?;
//! # Ok::<(), sdnotify::Error>(())
//! ```
//!
//! Everything here is re-exported from [`sdnotify_runtime`]: the typed [`State`]s, the
//! process-wide [`notify`] and its shorthands, the explicit [`Notifier`] (descriptors,
//! credentials, barrier), [`watchdog_enabled`], [`listen_fds`], [`booted`], [`env::scrub`],
//! and the manager's side in [`manager`].

pub use sdnotify_runtime::*;

/// The README's examples, compiled as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
