//! The supervisor's loop: one thread polling the notification socket, a signal pipe and the
//! main process's pidfd; it hands datagrams to `notices`, protocol state to `state`,
//! processes to `process`, output to `report`, and what the outer manager hears to `relay`.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{Signal, WaitStatus};
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::Pid;

use super::classify::Access;
use super::control::{Client, Control};
use super::ending::{self, Ending};
use super::event::Event;
use super::fdstore::Store;
use super::relay::Relay;
use super::report::Reporter;
use super::restart::Ended;
use super::signals::{Signals, WATCHDOG_SIGNAL};
use super::sockets::Sockets;
use super::state::{Effect, Phase, State};
use super::{exit, process, Options, ReloadSignal};

/// The longest the loop sleeps, so a missed wake-up can never stall it.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// How the main process ended: its status when it was our child, else unknown.
type MainExit = Option<WaitStatus>;

/// The supervisor: what lives as long as it does (the notification socket, the output, the
/// listening sockets, the fd store), and the running instance of the service (see
/// `lifecycle`, which starts and restarts instances).
pub(super) struct Supervisor {
    pub(super) options: Options,
    pub(super) listener: Listener,
    pub(super) reporter: Reporter,
    pub(super) sockets: Sockets,
    pub(super) fdstore: Store,
    /// `--name`: the control socket, and the clients waiting for what they asked.
    pub(super) control: Option<Control>,
    /// The outer manager's `NOTIFY_SOCKET`, when `sdnotify run` has one: the service's state
    /// is passed on to it.
    pub(super) relay: Option<Relay>,
    pub(super) clients: Vec<Client>,
    /// `sdnotify ctl NAME restart`: the instance stops and the next starts, whatever
    /// `--restart=` says.
    pub(super) restart_requested: bool,
    /// What `status` tells: the last STATUS=, the last ping, how many restarts.
    pub(super) status_text: Option<String>,
    pub(super) last_ping: Option<Instant>,
    pub(super) restarts: u32,
    // The instance:
    pub(super) state: State,
    pub(super) first: Pid,
    pub(super) main: Pid,
    pub(super) main_fd: Option<OwnedFd>,
    pub(super) main_exit: Option<MainExit>,
    pub(super) access: Access,
    pub(super) received_any: bool,
    pub(super) stop_requests: u32,
    pub(super) ending: Ending,
    /// How the last instance ended.
    pub(super) last: Option<Last>,
}

/// How an instance ended: its status, how systemd would call it, and the exit code `sdnotify
/// run` ends with when no restart follows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Last {
    pub(super) code: Option<i32>,
    pub(super) signal: Option<i32>,
    pub(super) ended: Ended,
    pub(super) exit: u8,
}

impl Supervisor {
    /// Runs the instance until it has ended (see [`Last`]).
    pub(super) fn run_loop(&mut self, signals: &Signals) {
        loop {
            let now = Instant::now();
            let next = [
                self.state.next_deadline(),
                self.ending.kill_at(),
                self.ending.give_up_at(),
                self.relay.as_ref().and_then(|r| r.next_deadline(now)),
            ]
            .into_iter()
            .flatten()
            .min();
            let timeout = next.map_or(MAX_SLEEP, |at| at.saturating_duration_since(now).min(MAX_SLEEP));
            self.wait(signals, timeout);
            signals.drain();
            if let Some(signal) = signals.take_stop() {
                if signal == WATCHDOG_SIGNAL {
                    self.forward(Signal::ABORT, signal);
                }
                self.on_stop_request(signal);
            }
            for (signal, name) in signals.take_forwarded() {
                self.forward(signal, name);
            }
            self.receive_all();
            if let Some(relay) = self.relay.as_mut() {
                relay.flush();
            }
            self.serve_control();
            self.track_processes();
            let mut fx = Vec::new();
            self.state.check_deadlines(Instant::now(), &mut fx);
            self.apply(fx);
            if self.ending.kill_at().is_some_and(|at| at <= Instant::now()) {
                self.kill(Signal::KILL, "SIGKILL");
            }
            if self.progress_ending() {
                return;
            }
        }
    }

    fn wait(&self, signals: &Signals, timeout: Duration) {
        let ts = Timespec {
            tv_sec: i64::try_from(timeout.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: timeout.subsec_nanos().into(),
        };
        let mut fds = vec![
            PollFd::new(&self.listener, PollFlags::IN),
            PollFd::new(&signals.wake, PollFlags::IN),
        ];
        if let (Some(fd), None) = (&self.main_fd, &self.main_exit) {
            fds.push(PollFd::new(fd, PollFlags::IN));
        }
        let control = self.control.as_ref().map(Control::fds).unwrap_or_default();
        fds.extend(control.iter().map(|fd| PollFd::new(fd, PollFlags::IN)));
        // EINTR (a signal) is a wake-up like any other.
        let _ = poll(&mut fds, Some(&ts));
    }

    /// Reaps every child that ended and notices the main process's end, whether it was our
    /// child (its status) or not (its pidfd became readable, or, without a pidfd, its /proc
    /// entry is gone or a zombie; status unknown). Liveness is looked at before reaping, so a
    /// child that ends in between is reaped with its status.
    fn track_processes(&mut self) {
        let main_gone = self.main_exit.is_none()
            && match &self.main_fd {
                Some(fd) => readable(fd.as_fd()),
                // "Cannot tell" is not "gone": the next turn looks again.
                None => matches!(process::is_descendant(self.main), Ok(false)),
            };
        for (pid, status) in process::reap() {
            if pid == self.main && self.main_exit.is_none() {
                self.on_main_exit(Some(status));
            } else if pid == self.first {
                self.emit(Event::ProcessExited {
                    pid: pid.get(),
                    code: status.exit_status(),
                    signal: status.terminating_signal(),
                });
            }
        }
        if main_gone && self.main_exit.is_none() {
            self.on_main_exit(None);
        }
    }

    fn on_main_exit(&mut self, status: MainExit) {
        // What it sent before it ended (its STOPPING=1 on the way out) is queued by now, but
        // may have come after this turn's receive: read it first, as the main process's.
        self.receive_all();
        self.main_exit = Some(status);
        self.main_fd = None;
        let mut fx = Vec::new();
        self.state.on_main_exit(self.received_any, &mut fx);
        self.apply(fx);
    }

    pub(super) fn on_stop_request(&mut self, signal: &'static str) {
        self.stop_requests = self.stop_requests.saturating_add(1);
        if self.stop_requests == 1 {
            self.emit(Event::StopRequested { signal });
            let mut fx = Vec::new();
            self.state.on_stop_request(&mut fx);
            self.apply(fx);
        } else {
            // Asked twice: do not wait any longer.
            self.kill(Signal::KILL, "SIGKILL");
        }
    }

    pub(super) fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Emit(event) => {
                    if matches!(
                        event,
                        Event::Stopping | Event::WatchdogTimeout { .. } | Event::WatchdogTrigger
                    ) {
                        self.reporter.flush_pings(self.state.pings);
                    }
                    self.emit(event);
                }
                Effect::Stop { signal, name } => {
                    self.kill(signal, name);
                    self.ending.arm();
                }
                Effect::AwaitStop => self.ending.arm(),
                Effect::RequestReload(reload) => self.request_reload(reload),
            }
        }
    }

    /// A stop signal as `--kill-mode` sends it (see [`Ending::kill`]). When the supervisor has
    /// no descriptor left to reach the service with, it makes room and tries again.
    fn kill(&mut self, signal: Signal, name: &'static str) {
        let main = self.main_exit.is_none().then_some(self.main);
        let mut events = Vec::new();
        let mut sent = self.ending.kill(main, signal, name, &mut events);
        if sent.as_ref().is_err_and(process::out_of_descriptors) && self.make_room() {
            events.clear();
            sent = self.ending.kill(main, signal, name, &mut events);
        }
        events.into_iter().for_each(|e| self.emit(e));
        if let Err(e) = sent {
            self.emit(Event::Warning(format!(
                "{name} may not have reached every process of the service: {e}"
            )));
        }
    }

    /// `f` (a look at the service or a signal), once more after making room when the
    /// supervisor ran out of descriptors.
    fn with_room<T>(&mut self, f: impl Fn() -> std::io::Result<T>) -> std::io::Result<T> {
        match f() {
            Err(e) if process::out_of_descriptors(&e) && self.make_room() => f(),
            other => other,
        }
    }

    /// Frees descriptors for the supervisor's own work by closing the fd store, the one thing a
    /// service can make it hold many of; only once the service is stopping (the store would
    /// be closed at the end anyway). Whether anything was freed.
    fn make_room(&mut self) -> bool {
        if self.state.phase != Phase::Deactivating {
            return false;
        }
        let closed = self.fdstore.close_all();
        if closed > 0 {
            self.emit(Event::Warning(format!(
                "out of file descriptors while stopping the service: closed the {closed} in the fd store to reach it"
            )));
        }
        closed > 0
    }

    /// A signal `sdnotify run` has no meaning for, passed on to the main process (tini's way).
    fn forward(&mut self, signal: Signal, name: &'static str) {
        if self.main_exit.is_some() {
            return;
        }
        match ending::signal_main(self.main, signal, name) {
            Ok(Some(event)) => self.emit(event),
            Ok(None) => {}
            Err(e) => self.emit(Event::Warning(format!("cannot forward {name}: {e}"))),
        }
    }

    fn request_reload(&mut self, reload: ReloadSignal) {
        if self.main_exit.is_some() {
            return;
        }
        if process::catches_or_blocks(self.main, reload.signal) == Some(false) {
            self.emit(Event::Warning(format!(
                "the main process no longer catches or blocks {}; sending it anyway, as systemd does",
                reload.name
            )));
        }
        match ending::signal_main(self.main, reload.signal, reload.name) {
            Ok(Some(event)) => self.emit(event),
            Ok(None) => {}
            Err(e) => self.emit(Event::Warning(format!("cannot send {}: {e}", reload.name))),
        }
    }

    /// After the main process exited: the rest of the service goes too (as a cgroup's), then
    /// the instance has ended (`true`, with [`Last`] set). Whatever the service does, that is
    /// at most `--timeout-stop` and [`AFTER_SIGKILL`](super::ending) after a stop began: a main
    /// process that outlives SIGKILL (or cannot be seen) is given up on.
    fn progress_ending(&mut self) -> bool {
        let given_up = self.ending.give_up_at().is_some_and(|at| at <= Instant::now());
        let Some(status) = self.main_exit else {
            if !given_up {
                return false;
            }
            self.emit(Event::Warning(format!(
                "the main process {} was not seen to end after SIGKILL; giving up on it",
                self.main
            )));
            let rest = self.with_room(process::descendants).unwrap_or_default();
            self.state.outcome.get_or_insert(128 + 9);
            self.finish(None, &rest);
            return true;
        };
        // With --kill-mode=process the rest is left running (and listed); otherwise it goes.
        let rest = self.with_room(process::descendants);
        if ending::nothing_left(self.options.kill_mode, &rest) || given_up {
            self.finish(status, rest.as_deref().unwrap_or_default());
            return true;
        }
        let mut events = Vec::new();
        let mut sent = self.ending.end_the_rest(&mut events);
        if sent.as_ref().is_err_and(process::out_of_descriptors) && self.make_room() {
            sent = self.ending.end_the_rest(&mut events);
        }
        events.into_iter().for_each(|e| self.emit(e));
        if let Err(e) = sent {
            self.emit(Event::Warning(format!(
                "the rest of the service may not have been signalled: {e}"
            )));
        }
        // Killed processes that are our children are reaped on the next pass.
        false
    }

    /// Records how the instance ended (the `exited` event follows when no restart does).
    fn finish(&mut self, status: MainExit, left: &[Pid]) {
        self.reporter.flush_pings(self.state.pings);
        if !left.is_empty() {
            self.emit(Event::LeftRunning {
                pids: left.iter().map(|p| p.get()).collect(),
            });
        }
        let (code, signal) = status.map_or((None, None), |s| (s.exit_status(), s.terminating_signal()));
        let exit = self.state.outcome.unwrap_or_else(|| match (code, signal) {
            (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
            (None, Some(signal)) => 128u8.saturating_add(u8::try_from(signal).unwrap_or(127)),
            _ => 0,
        });
        let ended = match self.state.outcome {
            Some(exit::START_TIMEOUT) => Ended::Timeout,
            Some(exit::WATCHDOG) => Ended::Watchdog,
            Some(_) => Ended::ExitCode,
            None => Ended::from_status(code, signal),
        };
        self.last = Some(Last {
            code,
            signal,
            ended,
            exit,
        });
    }

    pub(super) fn emit(&mut self, event: Event) {
        self.reporter.emit(&event);
        self.after_event(&event);
        if let Some(relay) = self.relay.as_mut() {
            // The service's STOPPING=1 is the supervisor's only when no restart can follow.
            let final_stop = self.stop_requests > 0
                || (self.options.restart == super::restart::Policy::No && !self.restart_requested);
            relay.on_event(&event, final_stop);
            self.relay_warnings();
        }
    }

    /// What the relay has to say, said here (not relayed).
    pub(super) fn relay_warnings(&mut self) {
        if let Some(relay) = self.relay.as_mut() {
            for warning in relay.take_warnings() {
                self.reporter.emit(&Event::Warning(warning));
            }
        }
    }
}

/// Whether a pidfd reports its process ended (readable), without waiting.
fn readable(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(&fd, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&zero)).is_ok_and(|n| n > 0)
}
