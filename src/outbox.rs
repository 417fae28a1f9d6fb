//! What the framework sends on its own (READY, pings, `status!`, reload handshakes, STOPPING)
//! and says on stderr: bounded sends that never fail or block the program, statuses made one
//! line, the STOPPING latch. Below both `__private` and `reload`, which share it.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sdnotify_runtime::State;

/// The longest the framework waits for room in the manager's queue before it gives a message
/// up: what it sends on its own (READY, pings, `status!`, STOPPING) must never wedge the
/// program, also when the manager is wedged.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_millis(500);

static STOPPING_SENT: AtomicBool = AtomicBool::new(false);
static ERROR_REPORTED: AtomicBool = AtomicBool::new(false);

/// Sends without ever failing or blocking the program: the wait for a full queue is bounded
/// by [`SEND_TIMEOUT`], and the first error is reported on stderr (every one with
/// `SDNOTIFY_DEBUG=1`, by the runtime's trace).
pub(crate) fn send(states: &[State<'_>]) {
    if let Err(err) = sdnotify_runtime::notify_within(states, SEND_TIMEOUT) {
        if !ERROR_REPORTED.swap(true, Ordering::Relaxed) {
            report(format_args!("{err}"));
        }
    }
}

/// Diagnostics on stderr that cannot panic (a closed or broken stderr makes `eprintln!` panic).
pub(crate) fn report(message: fmt::Arguments<'_>) {
    sdnotify_runtime::__report(message);
}

/// A status line made safe for `STATUS=`: one line, at most 1024 bytes.
pub(crate) fn one_line(text: &str) -> String {
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.retain(|c| c != '\0');
    if line.len() > 1024 {
        let mut end = 1021;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push_str("...");
    }
    line
}

/// Whether STOPPING=1 went out: nothing but a final status may follow it.
pub(crate) fn stopping_sent() -> bool {
    STOPPING_SENT.load(Ordering::Acquire)
}

/// Marks STOPPING=1 as sent; whether it was already.
pub(crate) fn mark_stopping() -> bool {
    STOPPING_SENT.swap(true, Ordering::AcqRel)
}
