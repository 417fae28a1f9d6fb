//! Reload requests: the reload signal (`reload = "SIG…"`) as a request, over the signal
//! waiting shared with the shutdown (`crate::waiting`).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Waker;
use std::time::Duration;

use crate::outbox::report;
use crate::waiting::{self, Kind};

/// Whether a wait without a handler was reported already.
static NEVER_REPORTED: AtomicBool = AtomicBool::new(false);

/// Makes `signal` a reload request from now on (before READY=1, so systemd 262 sees it caught).
pub(crate) fn install(name: &str) -> io::Result<()> {
    let signal = sdnotify_runtime::signal::from_name(name)
        .filter(|s| sdnotify_runtime::signal::can_be_handled(*s))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name} is not a signal this machine can deliver to a handler"),
            )
        })?;
    if waiting::is_installed(Kind::Reload) {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a reload signal is installed already",
        ));
    }
    waiting::install(Kind::Reload, signal)
}

/// Takes the pending request, if there is one; without the option, says once that none comes.
pub(crate) fn take() -> bool {
    report_if_none_can_come();
    waiting::take(Kind::Reload)
}

/// Forgets a pending request: a reload that starts now serves it.
pub(crate) fn clear() {
    waiting::clear(Kind::Reload)
}

/// Blocks until a request is pending and takes it; `false` when `timeout` passed first.
pub(crate) fn wait(timeout: Option<Duration>) -> bool {
    report_if_none_can_come();
    waiting::wait(Kind::Reload, timeout, || waiting::take(Kind::Reload))
}

/// Registers `waker` under `id` to be woken by the next request.
pub(crate) fn register(id: u64, waker: &Waker) {
    report_if_none_can_come();
    if waiting::is_installed(Kind::Reload) {
        waiting::register(id, waker);
    }
}

pub(crate) use crate::waiting::Registration;

/// Says once that a wait without the option never ends.
fn report_if_none_can_come() {
    if !waiting::is_installed(Kind::Reload) && !NEVER_REPORTED.swap(true, Ordering::Relaxed) {
        report(format_args!(
            "a reload request is looked for, but none can come: #[sdnotify::main] has no \
             `reload = \"SIG…\"` option (so reload_requested() is always false)"
        ));
    }
}
