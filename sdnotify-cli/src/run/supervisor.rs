//! The supervisor's loop: one thread polling the notification socket and a signal pipe, with
//! deadlines for start-up, the watchdog, the reload handshake and the kill that follows a stop.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{kill_process, kill_process_group, Pid, Signal};
use sdnotify_runtime::manager::{Datagram, Listener};
use sdnotify_runtime::monotonic_now;

use super::classify::{classify, Action, Decision, Received};
use super::event::{Event, Reporter};
use super::{exit, Options, ServiceType};

/// The longest the loop sleeps, so a missed wake-up can never stall it.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// A private directory for the socket, removed (with the socket) when the supervisor ends.
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("sdnotify-run-{}-{nanos:x}", std::process::id()));
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(PrivateDir(path))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where a reload stands.
#[derive(Debug, Clone, Copy)]
enum Reload {
    Idle,
    /// SIGHUP sent at this CLOCK_MONOTONIC time (µs); waiting for RELOADING=1.
    Requested {
        at_usec: u64,
        deadline: Instant,
    },
    /// RELOADING=1 seen; waiting for READY=1.
    Reloading {
        since: Instant,
        deadline: Instant,
    },
}

/// Signals the loop reacts to, set by signal-hook's handlers.
struct Signals {
    interrupt: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
    wake: UnixStream,
}

impl Signals {
    fn register() -> std::io::Result<Signals> {
        use signal_hook::consts::{SIGCHLD, SIGINT, SIGTERM};
        let (wake, wake_write) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        wake_write.set_nonblocking(true)?;
        let interrupt = Arc::new(AtomicBool::new(false));
        let terminate = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(SIGINT, Arc::clone(&interrupt))?;
        signal_hook::flag::register(SIGTERM, Arc::clone(&terminate))?;
        for signal in [SIGINT, SIGTERM, SIGCHLD] {
            signal_hook::low_level::pipe::register(signal, wake_write.try_clone()?)?;
        }
        Ok(Signals {
            interrupt,
            terminate,
            wake,
        })
    }

    /// The stop signal received since the last call, if any.
    fn take_stop(&self) -> Option<&'static str> {
        if self.terminate.swap(false, Ordering::Relaxed) {
            Some("SIGTERM")
        } else if self.interrupt.swap(false, Ordering::Relaxed) {
            Some("SIGINT")
        } else {
            None
        }
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        while let Ok(n) = std::io::Read::read(&mut &self.wake, &mut buf) {
            if n == 0 {
                break;
            }
        }
    }
}

struct Supervisor {
    options: Options,
    listener: Listener,
    reporter: Reporter,
    start: Instant,
    child: Child,
    group: Pid,
    main_pid: u32,
    access_all: bool,
    ready: bool,
    stopping: bool,
    start_deadline: Option<Instant>,
    watchdog: Option<Duration>,
    watchdog_deadline: Option<Instant>,
    pings: u64,
    kill_deadline: Option<Instant>,
    reload_at: Option<Instant>,
    reload: Reload,
    stop_requests: u32,
    outcome: Option<u8>,
    fdstore: Vec<(String, OwnedFd)>,
}

pub(crate) fn run(options: Options) -> Result<u8, (u8, String)> {
    let fail = |e: std::io::Error| (exit::CANNOT_START, format!("cannot set up: {e}"));
    let dir = PrivateDir::create().map_err(fail)?;
    let listener =
        Listener::bind(dir.0.join("notify.sock")).map_err(|e| (exit::CANNOT_START, e.to_string()))?;
    listener.set_nonblocking(true).map_err(fail)?;
    let signals = Signals::register().map_err(fail)?;
    let start = Instant::now();
    let mut reporter = Reporter::new(options.json, start);
    let child = spawn(&options, &listener).map_err(|e| {
        (
            exit::CANNOT_START,
            format!("cannot start {:?}: {e}", options.command[0]),
        )
    })?;
    let pid = child.id();
    reporter.emit(&Event::Started {
        pid,
        command: display_command(&options.command),
        socket: listener.address().to_string_lossy().into_owned(),
    });
    let mut supervisor = Supervisor {
        start_deadline: Some(start + options.timeout_start),
        watchdog: options.watchdog,
        access_all: options.notify_access_all,
        options,
        listener,
        reporter,
        start,
        child,
        group: Pid::from_raw(pid as i32).expect("a child's pid is positive"),
        main_pid: pid,
        ready: false,
        stopping: false,
        watchdog_deadline: None,
        pings: 0,
        kill_deadline: None,
        reload_at: None,
        reload: Reload::Idle,
        stop_requests: 0,
        outcome: None,
        fdstore: Vec::new(),
    };
    let code = supervisor.run_loop(&signals);
    drop(supervisor);
    drop(dir);
    Ok(code)
}

/// The command, with NOTIFY_SOCKET (and WATCHDOG_USEC/WATCHDOG_PID) set, in its own process
/// group so that stopping it reaches every process it started, as systemd's cgroup kill does.
fn spawn(options: &Options, listener: &Listener) -> std::io::Result<Child> {
    let (program, args) = options.command.split_first().expect("clap requires a command");
    let mut command = match options.watchdog {
        // WATCHDOG_PID must be the service's own pid, known only after fork: a shell sets it
        // and execs the command in place, keeping the pid.
        Some(_) => {
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg("WATCHDOG_PID=$$; export WATCHDOG_PID; exec \"$0\" \"$@\"")
                .arg(program)
                .args(args);
            sh
        }
        None => {
            let mut direct = Command::new(program);
            direct.args(args);
            direct
        }
    };
    sdnotify_runtime::env::scrub(&mut command);
    command.env("NOTIFY_SOCKET", listener.address()).process_group(0);
    if let Some(interval) = options.watchdog {
        command.env("WATCHDOG_USEC", interval.as_micros().max(1).to_string());
    }
    if options.watchdog.is_some() && !is_executable(program) {
        // The shell would report this as exit 127 after starting; say it plainly instead.
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such executable",
        ));
    }
    command.spawn()
}

/// Whether `program` names something the shell could execute (a path, or a name on $PATH).
fn is_executable(program: &OsString) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let path = std::path::Path::new(program);
    if path.components().count() > 1 || program.to_string_lossy().contains('/') {
        return runnable(path);
    }
    std::env::var_os("PATH")
        .is_some_and(|dirs| std::env::split_paths(&dirs).any(|dir| runnable(&dir.join(program))))
}

fn display_command(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Supervisor {
    fn run_loop(&mut self, signals: &Signals) -> u8 {
        loop {
            let timeout = self.next_deadline().map_or(MAX_SLEEP, |at| {
                at.saturating_duration_since(Instant::now()).min(MAX_SLEEP)
            });
            self.wait(signals, timeout);
            signals.drain();
            if let Some(signal) = signals.take_stop() {
                self.on_stop_request(signal);
            }
            self.receive_all();
            if let Ok(Some(status)) = self.child.try_wait() {
                // What the service sent just before it ended is still queued.
                self.receive_all();
                return self.finish(status);
            }
            self.check_deadlines();
        }
    }

    fn wait(&self, signals: &Signals, timeout: Duration) {
        let ts = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: timeout.subsec_nanos().into(),
        };
        let mut fds = [
            PollFd::new(&self.listener, PollFlags::IN),
            PollFd::new(&signals.wake, PollFlags::IN),
        ];
        // EINTR (a signal) is a wake-up like any other.
        let _ = poll(&mut fds, Some(&ts));
    }

    fn next_deadline(&self) -> Option<Instant> {
        let reload = match self.reload {
            Reload::Idle => None,
            Reload::Requested { deadline, .. } | Reload::Reloading { deadline, .. } => Some(deadline),
        };
        [
            self.start_deadline.filter(|_| !self.ready),
            self.watchdog_deadline,
            self.kill_deadline,
            self.reload_at,
            reload,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn receive_all(&mut self) {
        loop {
            match self.listener.recv() {
                Ok(datagram) => self.handle(datagram),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.reporter.emit(&Event::Rejected {
                        pid: None,
                        reason: format!("receive failed: {e}"),
                    });
                    return;
                }
            }
        }
    }

    /// One datagram, decided with the manager's rules (see `classify`) and then acted on. Every
    /// descriptor it carried is stored or closed when it goes out of scope.
    fn handle(&mut self, mut datagram: Datagram) {
        let received = Received {
            bytes: datagram.bytes(),
            len: datagram.len(),
            sender: datagram.pid(),
            fds: datagram.fds().len(),
        };
        let actions = match classify(&received, self.main_pid, self.access_all) {
            // Dropping the datagram closes the pipe's write end: that is the answer.
            Decision::Barrier => return self.reporter.emit(&Event::Barrier),
            Decision::Rejected(reason) => {
                let pid = datagram.pid();
                return self.reporter.emit(&Event::Rejected { pid, reason });
            }
            Decision::Actions(actions) => actions,
        };
        let mut fds = datagram.take_fds();
        for action in actions {
            match action {
                Action::Ready => self.on_ready(),
                Action::Reloading { monotonic_usec } => self.on_reloading(monotonic_usec),
                Action::Stopping => self.on_stopping(),
                Action::Ping => self.on_ping(),
                Action::WatchdogTrigger => {
                    self.reporter.emit(&Event::WatchdogTrigger);
                    self.watchdog_expired();
                }
                Action::FdStore { name } => self.on_fdstore(&name, std::mem::take(&mut fds)),
                Action::FdStoreRemove { name } => self.on_fdstore_remove(&name),
                Action::Status(text) => self.reporter.emit(&Event::Status(text)),
                Action::WatchdogUsec(interval) => self.on_watchdog_usec(interval),
                Action::ExtendTimeout(by) => self.on_extend(by),
                Action::MainPid(pid) => {
                    self.main_pid = pid;
                    self.reporter.emit(&Event::MainPid(pid));
                }
                Action::Errno(v) => self.reporter.emit(&Event::Errno(v)),
                Action::BusError(v) => self.reporter.emit(&Event::BusError(v)),
                Action::ExitStatus(v) => self.reporter.emit(&Event::ExitStatus(v)),
                Action::NotifyAccess { all, value } => {
                    self.access_all = all;
                    self.reporter.emit(&Event::NotifyAccess(value));
                }
                Action::Unknown(line) => self.reporter.emit(&Event::Unknown { line }),
                Action::InvalidValue(line) => self.reject_value(&line),
            }
        }
        if !fds.is_empty() {
            self.reporter.emit(&Event::StrayFds { fds: fds.len() });
        }
    }

    fn reject_value(&mut self, line: &str) {
        self.reporter.emit(&Event::Rejected {
            pid: Some(self.main_pid),
            reason: format!("invalid value in {line:?}"),
        });
    }

    fn on_ready(&mut self) {
        let now = Instant::now();
        match self.reload {
            Reload::Reloading { since, .. } => {
                self.reload = Reload::Idle;
                self.reporter.emit(&Event::Reloaded { took: now - since });
                return;
            }
            Reload::Requested { .. } => {
                self.protocol_error(
                    "READY=1 after the reload request, without RELOADING=1 and MONOTONIC_USEC first",
                );
                return;
            }
            Reload::Idle => {}
        }
        if self.ready {
            self.reporter.emit(&Event::Ready {
                startup: now - self.start,
            });
            return;
        }
        self.ready = true;
        self.start_deadline = None;
        self.reporter.emit(&Event::Ready {
            startup: now - self.start,
        });
        if let Some(interval) = self.watchdog {
            self.watchdog_deadline = Some(now + interval);
        }
        if self.options.service_type == ServiceType::NotifyReload {
            self.reload_at = self.options.reload_after.map(|after| now + after);
        }
    }

    fn on_reloading(&mut self, usec: Option<u64>) {
        self.reporter.emit(&Event::Reloading { monotonic_usec: usec });
        let now = Instant::now();
        let deadline = now + self.options.timeout_start;
        match (self.reload, usec) {
            (Reload::Requested { .. }, None) => {
                self.protocol_error("RELOADING=1 without MONOTONIC_USEC= in the same datagram");
            }
            (Reload::Requested { at_usec, .. }, Some(t)) if t < at_usec => {
                self.protocol_error(&format!(
                    "MONOTONIC_USEC={t} is older than the reload request ({at_usec})"
                ));
            }
            // Requested and answered in time, or a reload the service started by itself.
            _ => self.reload = Reload::Reloading { since: now, deadline },
        }
    }

    fn on_stopping(&mut self) {
        self.stopping = true;
        self.watchdog_deadline = None;
        self.reporter.flush_pings(self.pings);
        self.reporter.emit(&Event::Stopping);
    }

    fn on_ping(&mut self) {
        self.pings += 1;
        if let (Some(interval), false) = (self.watchdog, self.stopping) {
            // A ping before READY=1 arms the watchdog early, as in systemd.
            self.watchdog_deadline = Some(Instant::now() + interval);
        }
        self.reporter.emit(&Event::Ping { count: self.pings });
    }

    fn on_watchdog_usec(&mut self, interval: Duration) {
        self.watchdog = Some(interval);
        if self.watchdog_deadline.is_some() || (self.ready && !self.stopping) {
            self.watchdog_deadline = Some(Instant::now() + interval);
        }
        self.reporter.emit(&Event::WatchdogUsec(interval));
    }

    fn on_extend(&mut self, by: Duration) {
        let until = Instant::now() + by;
        if !self.ready {
            self.start_deadline = self.start_deadline.map(|d| d.max(until));
        }
        if let Reload::Requested { deadline, .. } | Reload::Reloading { deadline, .. } = &mut self.reload {
            *deadline = (*deadline).max(until);
        }
        if let Some(kill) = &mut self.kill_deadline {
            *kill = (*kill).max(until);
        }
        self.reporter.emit(&Event::ExtendTimeout(by));
    }

    fn on_fdstore(&mut self, name: &str, fds: Vec<OwnedFd>) {
        let room = self.options.fdstore_max.saturating_sub(self.fdstore.len());
        if fds.len() > room {
            self.reporter.emit(&Event::Rejected {
                pid: Some(self.main_pid),
                reason: format!(
                    "FDSTORE=1 with {} fd(s), but only {room} more fit (--fdstore-max={}); closed",
                    fds.len(),
                    self.options.fdstore_max
                ),
            });
            return;
        }
        let count = fds.len();
        self.fdstore
            .extend(fds.into_iter().map(|fd| (name.to_owned(), fd)));
        self.reporter.emit(&Event::FdStore {
            name: name.to_owned(),
            fds: count,
            stored: self.fdstore.len(),
        });
    }

    fn on_fdstore_remove(&mut self, name: &str) {
        let before = self.fdstore.len();
        self.fdstore.retain(|(n, _)| n != name);
        self.reporter.emit(&Event::FdStoreRemove {
            name: name.to_owned(),
            removed: before - self.fdstore.len(),
            stored: self.fdstore.len(),
        });
    }

    fn on_stop_request(&mut self, signal: &'static str) {
        self.stop_requests += 1;
        if self.stop_requests == 1 {
            self.reporter.emit(&Event::StopRequested { signal });
            self.begin_stop(Signal::TERM, "SIGTERM");
        } else {
            // Asked twice: do not wait any longer.
            self.signal_group(Signal::KILL, "SIGKILL");
        }
    }

    fn check_deadlines(&mut self) {
        let now = Instant::now();
        if !self.ready && self.start_deadline.is_some_and(|d| d <= now) {
            self.start_deadline = None;
            self.reporter.emit(&Event::StartTimeout {
                after: self.options.timeout_start,
            });
            self.outcome.get_or_insert(exit::START_TIMEOUT);
            self.begin_stop(Signal::TERM, "SIGTERM");
        }
        if self.watchdog_deadline.is_some_and(|d| d <= now) {
            self.reporter.emit(&Event::WatchdogTimeout {
                interval: self.watchdog.unwrap_or_default(),
            });
            self.watchdog_expired();
        }
        if self.kill_deadline.is_some_and(|d| d <= now) {
            self.kill_deadline = None;
            self.signal_group(Signal::KILL, "SIGKILL");
        }
        if self.reload_at.is_some_and(|d| d <= now) {
            self.reload_at = None;
            let at_usec = monotonic_now().as_micros() as u64;
            self.signal_main(Signal::HUP, "SIGHUP");
            self.reload = Reload::Requested {
                at_usec,
                deadline: now + self.options.timeout_start,
            };
            self.reporter.emit(&Event::ReloadRequested {
                monotonic_usec: at_usec,
            });
        }
        match self.reload {
            Reload::Requested { deadline, .. } | Reload::Reloading { deadline, .. } if deadline <= now => {
                self.protocol_error(
                    "the reload was not finished (RELOADING=1, then READY=1) within --timeout-start",
                );
            }
            _ => {}
        }
    }

    /// systemd's WatchdogSignal= (SIGABRT) to the main process, then the normal stop path.
    fn watchdog_expired(&mut self) {
        self.watchdog_deadline = None;
        self.reporter.flush_pings(self.pings);
        self.outcome.get_or_insert(exit::WATCHDOG);
        self.signal_main(Signal::ABORT, "SIGABRT");
        self.kill_deadline
            .get_or_insert(Instant::now() + self.options.timeout_stop);
    }

    fn protocol_error(&mut self, reason: &str) {
        self.reload = Reload::Idle;
        self.reporter.emit(&Event::ProtocolError(reason.to_owned()));
        self.outcome.get_or_insert(exit::PROTOCOL_ERROR);
        self.begin_stop(Signal::TERM, "SIGTERM");
    }

    fn begin_stop(&mut self, signal: Signal, name: &'static str) {
        self.watchdog_deadline = None;
        self.signal_group(signal, name);
        self.kill_deadline
            .get_or_insert(Instant::now() + self.options.timeout_stop);
    }

    fn signal_group(&mut self, signal: Signal, name: &'static str) {
        if kill_process_group(self.group, signal).is_ok() {
            self.reporter.emit(&Event::Signal {
                signal: name,
                pid: -self.group.as_raw_nonzero().get(),
            });
        }
    }

    fn signal_main(&mut self, signal: Signal, name: &'static str) {
        if let Some(pid) = Pid::from_raw(self.main_pid as i32) {
            if kill_process(pid, signal).is_ok() {
                self.reporter.emit(&Event::Signal {
                    signal: name,
                    pid: pid.as_raw_nonzero().get(),
                });
            }
        }
    }

    fn finish(&mut self, status: ExitStatus) -> u8 {
        self.reporter.flush_pings(self.pings);
        // Whatever the service left running goes with it, as with systemd's cgroup kill.
        let _ = kill_process_group(self.group, Signal::KILL);
        let exit = self
            .outcome
            .unwrap_or_else(|| match (status.code(), status.signal()) {
                (Some(code), _) => code as u8,
                (None, Some(signal)) => 128u8.saturating_add(signal as u8),
                _ => 1,
            });
        self.reporter.emit(&Event::Exited {
            code: status.code(),
            signal: status.signal(),
            pings: self.pings,
            exit,
        });
        exit
    }
}
