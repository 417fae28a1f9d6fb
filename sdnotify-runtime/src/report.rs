//! What the crate says on stderr: the `SDNOTIFY_DEBUG=1` trace of each message, and reports
//! that cannot make the program panic.

use crate::error::Error;
use crate::message::Message;

pub(crate) fn trace(message: &Message, result: &Result<bool, Error>) {
    let text = format!("{:?}", String::from_utf8_lossy(message.as_bytes()));
    match result {
        Ok(true) => __report(format_args!("sent {text}")),
        Ok(false) => __report(format_args!("not sent (NOTIFY_SOCKET unset) {text}")),
        Err(err) => __report(format_args!("error: {err}: {text}")),
    }
}

/// Writes `sdnotify: …` to stderr, ignoring failure: unlike `eprintln!`, a closed or broken
/// stderr cannot make it panic. For the facade's generated code; not public API.
#[doc(hidden)]
pub fn __report(message: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "sdnotify: {message}");
}
