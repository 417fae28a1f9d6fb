//! The signals `sdnotify run` reacts to, set by signal-hook's handlers: SIGTERM, SIGINT, SIGHUP
//! and SIGQUIT stop the service (each would otherwise end the supervisor and orphan it), and so
//! does SIGABRT, an outer manager's watchdog, which the main process gets too;
//! SIGCHLD wakes the loop; the signals it has no meaning for (SIGUSR1, SIGUSR2, SIGWINCH,
//! SIGALRM, …) are forwarded to the main process, as tini does. As a pid namespace's PID 1
//! (a container's init), a signal without a handler would be dropped by the kernel.

use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustix::process::Signal;

const STOP_SIGNALS: [(i32, &str); 5] = [
    (signal_hook::consts::SIGTERM, "SIGTERM"),
    (signal_hook::consts::SIGINT, "SIGINT"),
    (signal_hook::consts::SIGHUP, "SIGHUP"),
    (signal_hook::consts::SIGQUIT, "SIGQUIT"),
    (signal_hook::consts::SIGABRT, "SIGABRT"),
];

/// The stop signal that is also passed on to the main process: an outer manager's watchdog
/// (systemd's WatchdogSignal=), meant for the service, whose core dump says where it hung.
pub(crate) const WATCHDOG_SIGNAL: &str = "SIGABRT";

/// Passed on to the main process.
const FORWARDED: [(Signal, &str); 8] = [
    (Signal::USR1, "SIGUSR1"),
    (Signal::USR2, "SIGUSR2"),
    (Signal::WINCH, "SIGWINCH"),
    (Signal::ALARM, "SIGALRM"),
    (Signal::VTALARM, "SIGVTALRM"),
    (Signal::PROF, "SIGPROF"),
    (Signal::IO, "SIGIO"),
    (Signal::POWER, "SIGPWR"),
];

pub(crate) struct Signals {
    stop: Arc<AtomicBool>,
    stop_name: [Arc<AtomicBool>; 5],
    forward: [Arc<AtomicBool>; 8],
    pub(crate) wake: UnixStream,
}

impl Signals {
    pub(crate) fn register() -> std::io::Result<Signals> {
        let (wake, wake_write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        wake_write.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_name = [(); 5].map(|()| Arc::new(AtomicBool::new(false)));
        for ((signal, _), flag) in STOP_SIGNALS.iter().zip(&stop_name) {
            signal_hook::flag::register(*signal, Arc::clone(flag))?;
            signal_hook::flag::register(*signal, Arc::clone(&stop))?;
            signal_hook::low_level::pipe::register(*signal, wake_write.try_clone()?)?;
        }
        let forward = [(); 8].map(|()| Arc::new(AtomicBool::new(false)));
        for ((signal, _), flag) in FORWARDED.iter().zip(&forward) {
            signal_hook::flag::register(signal.as_raw(), Arc::clone(flag))?;
            signal_hook::low_level::pipe::register(signal.as_raw(), wake_write.try_clone()?)?;
        }
        signal_hook::low_level::pipe::register(signal_hook::consts::SIGCHLD, wake_write)?;
        Ok(Signals {
            stop,
            stop_name,
            forward,
            wake,
        })
    }

    /// The stop signal that arrived since the last call, if any.
    pub(crate) fn take_stop(&self) -> Option<&'static str> {
        if !self.stop.swap(false, Ordering::Relaxed) {
            return None;
        }
        let named = STOP_SIGNALS
            .iter()
            .zip(&self.stop_name)
            .find(|(_, flag)| flag.swap(false, Ordering::Relaxed));
        Some(named.map_or("a stop signal", |((_, name), _)| name))
    }

    /// The signals to forward that arrived since the last call (each once, however often it
    /// came: signals do not queue either).
    pub(crate) fn take_forwarded(&self) -> Vec<(Signal, &'static str)> {
        FORWARDED
            .iter()
            .zip(&self.forward)
            .filter(|(_, flag)| flag.swap(false, Ordering::Relaxed))
            .map(|(&signal, _)| signal)
            .collect()
    }

    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = std::io::Read::read(&mut &self.wake, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}
