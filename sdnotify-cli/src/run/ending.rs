//! Ending the service as a cgroup ends: the stop signal by `--kill-mode`, SIGCONT so stopped
//! processes see it, SIGKILL after `--timeout-stop`, and the rest of the service after the main
//! process is gone.

use std::io;
use std::time::{Duration, Instant};

use rustix::process::Signal;
use sdnotify_runtime::Pid;

use super::event::Event;
use super::{process, KillMode};

/// How long processes get to vanish after SIGKILL before the supervisor gives up on them.
const AFTER_SIGKILL: Duration = Duration::from_secs(5);

pub(crate) struct Ending {
    mode: KillMode,
    timeout_stop: Option<Duration>,
    /// SIGKILL is due then.
    kill_at: Option<Instant>,
    /// SIGKILL was sent then.
    killed_at: Option<Instant>,
    /// The rest of the service was told to stop after the main process exited.
    rest_signalled: bool,
}

impl Ending {
    pub(crate) fn new(mode: KillMode, timeout_stop: Option<Duration>) -> Ending {
        Ending {
            mode,
            timeout_stop,
            kill_at: None,
            killed_at: None,
            rest_signalled: false,
        }
    }

    pub(crate) fn kill_at(&self) -> Option<Instant> {
        self.kill_at
    }

    /// When the supervisor stops waiting for processes that outlived SIGKILL.
    pub(crate) fn give_up_at(&self) -> Option<Instant> {
        self.killed_at.and_then(|at| at.checked_add(AFTER_SIGKILL))
    }

    /// Starts the `--timeout-stop` clock (once; never with an infinite timeout).
    pub(crate) fn arm(&mut self) {
        if self.kill_at.is_none() && self.killed_at.is_none() {
            self.kill_at = self.timeout_stop.and_then(|t| Instant::now().checked_add(t));
        }
    }

    /// `signal` as `--kill-mode` sends it: every process of the service (`control-group`, and
    /// SIGKILL with `mixed`), or the main process alone (`main`, if it still runs). A stop
    /// signal other than SIGKILL is followed by SIGCONT, as systemd does. An error when a
    /// process could not be reached or the service could not be listed (the caller makes room
    /// and tries again); the clocks move on either way, so the supervisor still ends.
    pub(crate) fn kill(
        &mut self,
        main: Option<Pid>,
        signal: Signal,
        name: &'static str,
        events: &mut Vec<Event>,
    ) -> io::Result<()> {
        let everyone = match self.mode {
            KillMode::ControlGroup => true,
            KillMode::Mixed => signal == Signal::KILL,
            KillMode::Process => false,
        };
        if signal == Signal::KILL {
            self.kill_at = None;
            self.killed_at = Some(Instant::now());
        }
        if everyone {
            let sent = process::signal_all(signal);
            if let Ok(count @ 1..) = sent {
                events.push(Event::Signal {
                    signal: name,
                    target: format!("{count} process(es) of the service"),
                });
            }
            if signal != Signal::KILL {
                process::signal_all(Signal::CONT)?;
            }
            sent.map(drop)
        } else if let Some(main) = main {
            let sent = signal_main(main, signal, name)?;
            if let Some(event) = sent {
                events.push(event);
                if signal != Signal::KILL {
                    process::signal(main, Signal::CONT)?;
                }
            }
            Ok(())
        } else {
            Ok(())
        }
    }

    /// After the main process exited, once: SIGKILL to the rest with `mixed`, SIGTERM (then
    /// SIGKILL after `--timeout-stop`) with `control-group`.
    pub(crate) fn end_the_rest(&mut self, events: &mut Vec<Event>) -> io::Result<()> {
        if self.rest_signalled || self.killed_at.is_some() {
            return Ok(());
        }
        self.rest_signalled = true;
        match self.mode {
            KillMode::Mixed => self.kill(None, Signal::KILL, "SIGKILL", events),
            KillMode::ControlGroup => {
                self.arm();
                self.kill(None, Signal::TERM, "SIGTERM", events)
            }
            KillMode::Process => Ok(()),
        }
    }
}

/// `signal` to the main process alone, if it is still one of the service's; the event to
/// report when it was sent.
pub(crate) fn signal_main(main: Pid, signal: Signal, name: &'static str) -> io::Result<Option<Event>> {
    Ok(process::signal(main, signal)?.then(|| Event::Signal {
        signal: name,
        target: format!("pid {main} (the main process)"),
    }))
}

/// Whether the service is over once its main process ended: with `--kill-mode=process` the
/// rest is left running; otherwise only when the scan found nothing. A scan that failed is
/// never "nothing left".
pub(crate) fn nothing_left(mode: KillMode, rest: &io::Result<Vec<Pid>>) -> bool {
    mode == KillMode::Process || rest.as_ref().is_ok_and(Vec::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_scan_is_never_nothing_left() {
        let failed = || {
            Err(io::Error::from_raw_os_error(
                rustix::io::Errno::MFILE.raw_os_error(),
            ))
        };
        assert!(!nothing_left(KillMode::ControlGroup, &failed()));
        assert!(!nothing_left(KillMode::Mixed, &failed()));
        assert!(nothing_left(KillMode::ControlGroup, &Ok(Vec::new())));
        assert!(!nothing_left(KillMode::ControlGroup, &Ok(vec![Pid::current()])));
        assert!(nothing_left(KillMode::Process, &Ok(vec![Pid::current()])));
    }

    #[test]
    fn the_clocks_move_on_when_signals_cannot_be_sent() {
        // `process` mode with no main process: nothing of the test's own is signalled.
        let mut ending = Ending::new(KillMode::Process, Some(Duration::from_secs(1)));
        ending.arm();
        assert!(ending.kill_at().is_some());
        let mut events = Vec::new();
        ending.kill(None, Signal::KILL, "SIGKILL", &mut events).unwrap();
        assert!(events.is_empty());
        assert!(ending.kill_at().is_none());
        assert!(ending.give_up_at().is_some());
    }
}
