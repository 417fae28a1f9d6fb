//! What the crate says about itself: the `SDNOTIFY_DEBUG=1` trace of each message, and reports
//! (a status that could not be sent, a watchdog not started, …) that can never make the
//! program panic. On stderr; with the `log` feature through the `log` facade once a logger is
//! installed, so they show in the program's own log format.

use std::fmt;

use crate::error::Error;
use crate::message::Message;

/// How much a line matters: `log`'s level for it.
#[derive(Clone, Copy)]
enum Kind {
    /// Something did not work (a report).
    Warning,
    /// A message and its outcome (`SDNOTIFY_DEBUG=1`).
    Trace,
}

pub(crate) fn trace(message: &Message, result: &Result<bool, Error>) {
    let text = format!("{:?}", String::from_utf8_lossy(message.as_bytes()));
    let line = match result {
        Ok(true) => format!("sent {text}"),
        Ok(false) => format!("not sent (NOTIFY_SOCKET unset) {text}"),
        Err(err) => format!("error: {err}: {text}"),
    };
    trace_line(format_args!("{line}"));
}

/// One line of the `SDNOTIFY_DEBUG=1` trace.
pub(crate) fn trace_line(line: fmt::Arguments<'_>) {
    emit(Kind::Trace, line);
}

/// Reports a problem: `sdnotify: …` on stderr (ignoring failure: unlike `eprintln!`, a closed
/// or broken stderr cannot make it panic), or a warning through `log`. For the facade's
/// generated code; not public API.
#[doc(hidden)]
pub fn __report(message: fmt::Arguments<'_>) {
    emit(Kind::Warning, message);
}

fn emit(kind: Kind, message: fmt::Arguments<'_>) {
    #[cfg(feature = "log")]
    if via_log::emit(kind, message) {
        return;
    }
    let _ = kind;
    stderr(message);
}

fn stderr(message: fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr().lock(), "sdnotify: {message}");
}

/// Holds reports back until [`__release_reports`]: the attribute's start-up runs before the
/// program's first line, where it installs its logger. No effect without the `log` feature.
/// For the facade; not public API.
#[doc(hidden)]
pub fn __defer_reports() {
    #[cfg(feature = "log")]
    via_log::defer();
}

/// Sends what was held back: through `log` if a logger is installed by now, else on stderr.
/// For the facade; not public API.
#[doc(hidden)]
pub fn __release_reports() {
    #[cfg(feature = "log")]
    via_log::release();
}

#[cfg(feature = "log")]
mod via_log {
    use std::fmt;
    use std::sync::Mutex;

    use super::Kind;

    /// The most lines held back; later ones go to stderr at once.
    const MAX_HELD: usize = 32;

    /// `Some` while reports are held back (see `__defer_reports`).
    static HELD: Mutex<Option<Vec<(Kind, String)>>> = Mutex::new(None);

    fn level(kind: Kind) -> log::Level {
        match kind {
            Kind::Warning => log::Level::Warn,
            // Asked for with SDNOTIFY_DEBUG=1: shown at the levels loggers show by default.
            Kind::Trace => log::Level::Info,
        }
    }

    /// Whether a logger is installed: `log` keeps the maximum level at Off until one sets it.
    fn logger_installed() -> bool {
        log::max_level() != log::LevelFilter::Off
    }

    fn log(kind: Kind, message: fmt::Arguments<'_>) {
        log::log!(target: "sdnotify", level(kind), "{message}");
    }

    /// Sends the line through `log`, or holds it back; `false` when it is for stderr.
    pub(super) fn emit(kind: Kind, message: fmt::Arguments<'_>) -> bool {
        let installed = logger_installed();
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(lines) = held.as_mut() {
            if !installed {
                if lines.len() < MAX_HELD {
                    lines.push((kind, message.to_string()));
                    return true;
                }
                return false;
            }
            let lines = held.take().unwrap_or_default();
            // Never log under the lock: a logger may itself report through here.
            drop(held);
            for (kind, line) in lines {
                log(kind, format_args!("{line}"));
            }
        } else {
            drop(held);
        }
        if installed {
            log(kind, message);
        }
        installed
    }

    pub(super) fn defer() {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if held.is_none() {
            *held = Some(Vec::new());
        }
    }

    pub(super) fn release() {
        let lines = HELD.lock().unwrap_or_else(|e| e.into_inner()).take();
        let installed = logger_installed();
        for (kind, line) in lines.unwrap_or_default() {
            match installed {
                true => log(kind, format_args!("{line}")),
                false => super::stderr(format_args!("{line}")),
            }
        }
    }
}
