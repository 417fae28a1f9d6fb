//! Signal names as systemd reads them (`ReloadSignal=`, `KillSignal=`): `SIGHUP` or `HUP`,
//! `SIGRTMIN+3`, `RTMAX-1`, or a number.
//!
//! Numbers differ between architectures (SIGUSR1 is 10 on x86, 16 on MIPS), and the real-time
//! range depends on the C library, so names are resolved here, at run time, on the machine the
//! service runs on.

use std::os::raw::c_int;

use crate::sys;

/// The standard signals of this machine by name, without the `SIG` prefix, in systemd's
/// spelling (none off Linux, where no reload signal is ever installed).
fn standard() -> &'static [(&'static str, c_int)] {
    sys::signal_names()
}

/// `(SIGRTMIN, SIGRTMAX)` as the C library leaves them to programs.
fn realtime() -> (c_int, c_int) {
    sys::realtime_signals().unwrap_or((0, 0))
}

/// Every name [`from_name`] knows besides the real-time forms, without the `SIG` prefix.
pub fn standard_names() -> impl Iterator<Item = &'static str> {
    standard().iter().map(|(name, _)| *name)
}

/// The signal a name or number stands for, read as systemd reads `ReloadSignal=`: an optional
/// `SIG` prefix, a standard name, `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`, or a decimal number;
/// `None` for anything else or a signal out of range.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")] {
/// use sdnotify::signal;
///
/// assert_eq!(signal::from_name("SIGHUP"), Some(1));
/// assert_eq!(signal::from_name("HUP"), Some(1));
/// assert_eq!(signal::from_name("SIGRTMIN+1"), signal::from_name("RTMIN").map(|s| s + 1));
/// assert_eq!(signal::from_name("SIGFOO"), None);
/// # }
/// ```
pub fn from_name(name: &str) -> Option<c_int> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        let number: c_int = name.parse().ok()?;
        return is_valid(number).then_some(number);
    }
    let name = name.strip_prefix("SIG").unwrap_or(name);
    if let Some(&(_, number)) = standard().iter().find(|(known, _)| *known == name) {
        return Some(number);
    }
    let (min, max) = sys::realtime_signals()?;
    let offset = |rest: &str| -> Option<c_int> {
        if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest.parse::<c_int>().ok().filter(|n| *n <= max - min)
    };
    match name {
        "RTMIN" => Some(min),
        "RTMAX" => Some(max),
        _ => {
            if let Some(rest) = name.strip_prefix("RTMIN+") {
                offset(rest).map(|n| min + n)
            } else if let Some(rest) = name.strip_prefix("RTMAX-") {
                offset(rest).map(|n| max - n)
            } else {
                None
            }
        }
    }
}

/// The signal's name as systemd prints it (`SIGHUP`, `SIGRTMIN+3`), or its number.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// # #[cfg(target_os = "linux")]
/// assert_eq!(sdnotify::signal::name(1), "SIGHUP");
/// ```
pub fn name(signal: c_int) -> String {
    if let Some((name, _)) = standard().iter().find(|(_, number)| *number == signal) {
        return format!("SIG{name}");
    }
    let (min, max) = realtime();
    if min > 0 && (min..=max).contains(&signal) {
        return match signal - min {
            0 => "SIGRTMIN".to_owned(),
            n => format!("SIGRTMIN+{n}"),
        };
    }
    signal.to_string()
}

/// Whether a process may install a handler for the signal and go on running after it: not
/// SIGKILL/SIGSTOP (uncatchable), and not the signals that report a fault in the process itself
/// or end it by design (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGABRT).
pub fn can_be_handled(signal: c_int) -> bool {
    const NOT_HANDLED: [&str; 9] = ["KILL", "STOP", "SEGV", "BUS", "ILL", "FPE", "TRAP", "SYS", "ABRT"];
    is_valid(signal)
        && !standard()
            .iter()
            .any(|(name, number)| *number == signal && NOT_HANDLED.contains(name))
}

fn is_valid(signal: c_int) -> bool {
    (1..=realtime().1).contains(&signal)
}

/// Signals as requests, for the `sdnotify` facade's `reload = "SIG…"` option and its shutdown
/// future (Linux only; not public API, no stability promised). The handler sets the flag of
/// the request its signal stands for, wakes this process's waiters, then calls the handler
/// installed before it.
#[doc(hidden)]
#[cfg(target_os = "linux")]
pub mod __requests {
    use std::io;
    use std::os::raw::c_int;

    /// What a signal can stand for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `reload = "SIG…"`.
        Reload,
        /// SIGTERM and SIGINT, once the program asks for them.
        Shutdown,
    }

    impl Kind {
        fn slot(self) -> usize {
            match self {
                Kind::Reload => 0,
                Kind::Shutdown => 1,
            }
        }
    }

    /// Makes `signal` a request of `kind` from now on (one kind per signal).
    pub fn watch(signal: c_int, kind: Kind) -> io::Result<()> {
        crate::sys::watch(signal, kind.slot())
    }

    /// Takes the pending request of `kind`, if there is one.
    pub fn take(kind: Kind) -> bool {
        crate::sys::take_request(kind.slot())
    }

    /// Forgets a pending request of `kind`.
    pub fn clear(kind: Kind) {
        crate::sys::clear_request(kind.slot())
    }

    /// Makes this process ready to be woken (its own wake pipe): call it before looking at
    /// [`take`] and then waiting, so no request falls in between.
    pub fn prepare_wake() -> io::Result<()> {
        crate::sys::prepare_wake()
    }

    /// Blocks until a request of any kind arrives in this process (or one arrived since the
    /// last return).
    pub fn wait_wake() -> io::Result<()> {
        crate::sys::wait_wake()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn names_read_like_systemd() {
        assert_eq!(from_name("SIGUSR1"), Some(libc::SIGUSR1));
        assert_eq!(from_name("USR2"), Some(libc::SIGUSR2));
        assert_eq!(from_name("15"), Some(libc::SIGTERM));
        assert_eq!(from_name("SIGRTMIN"), Some(libc::SIGRTMIN()));
        assert_eq!(from_name("RTMAX-0"), Some(libc::SIGRTMAX()));
        let span = libc::SIGRTMAX() - libc::SIGRTMIN();
        assert_eq!(from_name(&format!("SIGRTMIN+{span}")), Some(libc::SIGRTMAX()));
        for bad in [
            "",
            "SIG",
            "sighup",
            "SIGHUP ",
            "0",
            "65",
            "-1",
            "+1",
            "RTMIN+",
            "RTMIN+-1",
            "RTMIN++1",
            "RTMAX+1",
            "99999999999999999999",
        ] {
            assert_eq!(from_name(bad), None, "{bad:?}");
        }
        assert_eq!(from_name(&format!("RTMIN+{}", span + 1)), None);
    }

    #[test]
    fn names_round_trip() {
        for signal in 1..=libc::SIGRTMAX() {
            let name = name(signal);
            // SIGIO and SIGPOLL are one signal; the first name is the one printed.
            assert_eq!(from_name(&name), Some(signal), "{name}");
        }
    }

    #[test]
    fn fault_and_uncatchable_signals_cannot_be_handled() {
        assert!(can_be_handled(libc::SIGHUP));
        assert!(can_be_handled(libc::SIGRTMIN()));
        for signal in [libc::SIGKILL, libc::SIGSTOP, libc::SIGSEGV, 0, 200] {
            assert!(!can_be_handled(signal), "{signal}");
        }
    }
}
