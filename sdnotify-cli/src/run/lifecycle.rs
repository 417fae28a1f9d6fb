//! The service's life as the supervisor runs it: set up once (notification socket, signals,
//! listening sockets, fd store), start an instance, and when it has ended, start it again as
//! `--restart=` says (after `--restart-sec`, within the start rate limit) or end with its
//! status. The listening sockets stay open in between, so connections wait in their backlog;
//! the fd store is handed to each new instance with its names.

use std::time::Instant;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use super::control::Control;
use super::ending::Ending;
use super::event::Event;
use super::fdstore::Store;
use super::relay::Relay;
use super::report::Reporter;
use super::restart::{self, StartLimit};
use super::setup::{self, build_command, PrivateDir};
use super::signals::Signals;
use super::sockets::Sockets;
use super::state::{State, Timeouts};
use super::supervisor::{Last, Supervisor};
use super::{escape, exit, process, Options};
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::Pid;

/// How `sdnotify run` ends: its exit code, or the signal it dies of (see [`clean_stop_signal`]).
pub(crate) struct Outcome {
    pub(crate) code: u8,
    pub(crate) die_of: Option<i32>,
}

pub(crate) fn run(mut options: Options) -> Result<Outcome, (u8, String)> {
    // The outer manager's NOTIFY_SOCKET and WATCHDOG_USEC are read before anything here opens a
    // descriptor, once (the service's environment is scrubbed of them).
    let relay = Relay::from_env().map_err(|why| (exit::USAGE, why))?;
    if let (false, Some(interval)) = (options.watchdog_given, relay.as_ref().and_then(Relay::watchdog)) {
        options.service_watchdog = Some(interval);
    }
    let fail = |e: std::io::Error| (exit::CANNOT_START, format!("cannot set up: {e}"));
    let (fdstore_max, fdstore_warning) = setup::fdstore_max(&options).map_err(|why| (exit::USAGE, why))?;
    let dir = PrivateDir::create().map_err(fail)?;
    let socket_path = dir.0.join("notify.sock");
    let listener = Listener::bind(&socket_path).map_err(|e| (exit::CANNOT_START, e.to_string()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o666)).map_err(fail)?;
    }
    listener.set_nonblocking(true).map_err(fail)?;
    process::become_subreaper().map_err(fail)?;
    let signals = Signals::register().map_err(fail)?;
    let start = Instant::now();
    let reporter = Reporter::new(options.json, start).map_err(fail)?;
    let sockets = Sockets::open(&options.listen).map_err(|e| (exit::CANNOT_START, e))?;
    let control = match &options.name {
        Some(name) => Some(Control::bind(name).map_err(|e| (exit::CANNOT_START, e))?),
        None => None,
    };
    let mut supervisor = Supervisor::new(options, listener, reporter, sockets, Store::new(fdstore_max));
    supervisor.control = control;
    supervisor.relay = relay;
    for event in supervisor.sockets.events() {
        supervisor.emit(event);
    }
    if let Some(warning) = fdstore_warning {
        supervisor.emit(warning);
    }
    if let Err(e) = supervisor.start_instance() {
        let message = format!(
            "cannot start {}: {e}",
            escape::shell_words(&supervisor.options.command[..1])
        );
        let Supervisor { reporter, .. } = supervisor;
        reporter.close();
        return Err((exit::CANNOT_START, message));
    }
    let mut limit = StartLimit::new(
        supervisor.options.start_limit_burst,
        supervisor.options.start_limit_interval,
    );
    limit.allow(Instant::now());
    let code = loop {
        supervisor.run_loop(&signals);
        if let Some(code) = supervisor.after_instance(&signals, &mut limit) {
            break code;
        }
    };
    let die_of = clean_stop_signal(&supervisor);
    let Supervisor { reporter, .. } = supervisor;
    reporter.close();
    drop(dir);
    Ok(Outcome { code, die_of })
}

/// The signal `sdnotify run` ends by, as the service did: asked to stop, the service died of
/// a signal its manager counts as a clean stop (systemd: SIGHUP, SIGINT, SIGTERM, SIGPIPE), so
/// whatever runs `sdnotify run` (systemd, a shell, another supervisor) sees the same clean
/// stop, not a failure with code 128+N. Never as PID 1, which cannot be killed by its own
/// signal (the code 128+N says it instead).
fn clean_stop_signal(supervisor: &Supervisor) -> Option<i32> {
    const CLEAN: [i32; 4] = [libc::SIGHUP, libc::SIGINT, libc::SIGTERM, libc::SIGPIPE];
    let signal = supervisor.last?.signal?;
    let asked = supervisor.stop_requests > 0;
    (asked && CLEAN.contains(&signal) && std::process::id() != 1).then_some(signal)
}

impl Supervisor {
    fn new(
        options: Options,
        listener: Listener,
        reporter: Reporter,
        sockets: Sockets,
        fdstore: Store,
    ) -> Supervisor {
        let state = State::new(
            options.service_type,
            timeouts(&options),
            options.watchdog,
            Instant::now(),
        );
        Supervisor {
            state,
            access: options.notify_access,
            ending: Ending::new(options.kill_mode, options.timeout_stop),
            options,
            listener,
            reporter,
            sockets,
            fdstore,
            control: None,
            relay: None,
            clients: Vec::new(),
            restart_requested: false,
            status_text: None,
            last_ping: None,
            restarts: 0,
            // Until the first instance starts: no process is anybody's.
            first: Pid::current(),
            main: Pid::current(),
            main_fd: None,
            main_exit: Some(None),
            received_any: false,
            stop_requests: 0,
            last: None,
        }
    }

    /// Starts an instance: the command with the listening sockets and the fd store's
    /// descriptors, and the instance's state afresh.
    pub(super) fn start_instance(&mut self) -> std::io::Result<()> {
        let mut handed = self.sockets.fds();
        let stored: Vec<(std::os::fd::BorrowedFd<'_>, &str)> = self.fdstore.fds().collect();
        handed.extend(stored.iter().map(|&(fd, name)| (fd, Some(name))));
        let mut command = build_command(&self.options, &self.listener, &handed, self.fdstore.max())?;
        // The instance's clock (start-up time, --timeout-start) runs from before the fork, as
        // systemd's does: taken after the spawn and the `started` event, it began after the
        // service had, and a 200 ms start-up was once reported as 0.198 s.
        let began = Instant::now();
        let pid = process::spawn(&mut command)?;
        drop(command);
        let handed_back: Vec<String> = stored.iter().map(|(_, name)| (*name).to_owned()).collect();
        drop(handed);
        if !handed_back.is_empty() {
            self.emit(Event::HandedBack { names: handed_back });
        }
        self.emit(Event::Started {
            pid: pid.get(),
            command: escape::shell_words(&self.options.command),
            socket: self.listener.address().to_string_lossy().into_owned(),
        });
        self.state = State::new(
            self.options.service_type,
            timeouts(&self.options),
            self.options.watchdog,
            began,
        );
        self.first = pid;
        self.main = pid;
        self.main_fd = process::pidfd(pid).unwrap_or(None);
        self.main_exit = None;
        self.access = self.options.notify_access;
        self.received_any = false;
        self.ending = Ending::new(self.options.kill_mode, self.options.timeout_stop);
        self.last = None;
        self.status_text = None;
        self.last_ping = None;
        Ok(())
    }

    /// After an instance ended: `None` when another one started (as `--restart=` says), else
    /// the exit code of `sdnotify run`.
    fn after_instance(&mut self, signals: &Signals, limit: &mut StartLimit) -> Option<u8> {
        let last = self.last?;
        let requested = std::mem::take(&mut self.restart_requested);
        let restart =
            self.stop_requests == 0 && (requested || restart::restarts(self.options.restart, last.ended));
        if !restart {
            return Some(self.exited(last));
        }
        let delay = self.options.restart_sec;
        let at = Instant::now() + delay;
        if !limit.allow(at) {
            self.emit(Event::StartLimitHit {
                burst: self.options.start_limit_burst,
                interval: self.options.start_limit_interval,
            });
            return Some(self.exited(last));
        }
        self.restarts = self.restarts.saturating_add(1);
        self.emit(Event::Restarting {
            reason: if requested {
                "was restarted on request"
            } else {
                last.ended.reason()
            },
            count: self.restarts,
            code: last.code,
            signal: last.signal,
            after: delay,
        });
        if let Some(signal) = wait_for_stop(signals, at, &mut self.relay) {
            self.emit(Event::StopRequested { signal });
            return Some(self.exited(last));
        }
        match self.start_instance() {
            Ok(()) => None,
            Err(e) => {
                self.emit(Event::StartFailed(format!("cannot start the service again: {e}")));
                Some(exit::CANNOT_START)
            }
        }
    }

    /// The final event; the exit code.
    fn exited(&mut self, last: Last) -> u8 {
        self.emit(Event::Exited {
            code: last.code,
            signal: last.signal,
            pings: self.state.pings,
            exit: last.exit,
        });
        last.exit
    }
}

fn timeouts(options: &Options) -> Timeouts {
    Timeouts {
        start: options.timeout_start,
        reload_after: options.reload_after,
        reload_signal: options.reload_signal,
    }
}

/// Waits until `at`; the stop signal if one came first (Ctrl-C during `--restart-sec`). The
/// outer manager's watchdog is kept fed meanwhile.
fn wait_for_stop(signals: &Signals, at: Instant, relay: &mut Option<Relay>) -> Option<&'static str> {
    loop {
        if let Some(relay) = relay.as_mut() {
            relay.keep_alive(Instant::now());
        }
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        let left = left.min(super::relay::RETRY);
        let ts = Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: left.subsec_nanos().into(),
        };
        let mut fds = [PollFd::new(&signals.wake, PollFlags::IN)];
        let _ = poll(&mut fds, Some(&ts));
        signals.drain();
        if let Some(signal) = signals.take_stop() {
            return Some(signal);
        }
        // Orphans of the last instance are reaped as they go.
        let _ = process::reap();
    }
}
