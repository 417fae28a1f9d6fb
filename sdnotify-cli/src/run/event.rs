//! What the supervisor reports: one event per line, as text or as a JSON object.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};

/// One thing that happened, with the fields a script may want.
#[derive(Debug)]
pub(crate) enum Event {
    Started {
        pid: u32,
        command: String,
        socket: String,
    },
    Ready {
        startup: Duration,
    },
    Reloaded {
        took: Duration,
    },
    Status(String),
    Reloading {
        monotonic_usec: Option<u64>,
    },
    Stopping,
    Ping {
        count: u64,
    },
    WatchdogTrigger,
    WatchdogUsec(Duration),
    ExtendTimeout(Duration),
    MainPid(u32),
    Errno(String),
    BusError(String),
    ExitStatus(String),
    NotifyAccess(String),
    FdStore {
        name: String,
        fds: usize,
        stored: usize,
    },
    FdStoreRemove {
        name: String,
        removed: usize,
        stored: usize,
    },
    StrayFds {
        fds: usize,
    },
    Barrier,
    Unknown {
        line: String,
    },
    Rejected {
        pid: Option<u32>,
        reason: String,
    },
    ReloadRequested {
        monotonic_usec: u64,
    },
    StartTimeout {
        after: Duration,
    },
    WatchdogTimeout {
        interval: Duration,
    },
    ProtocolError(String),
    StopRequested {
        signal: &'static str,
    },
    Signal {
        signal: &'static str,
        pid: i32,
    },
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        pings: u64,
        exit: u8,
    },
}

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::Ready { .. } => "ready",
            Event::Reloaded { .. } => "reloaded",
            Event::Status(_) => "status",
            Event::Reloading { .. } => "reloading",
            Event::Stopping => "stopping",
            Event::Ping { .. } => "watchdog",
            Event::WatchdogTrigger => "watchdog-trigger",
            Event::WatchdogUsec(_) => "watchdog-usec",
            Event::ExtendTimeout(_) => "extend-timeout",
            Event::MainPid(_) => "mainpid",
            Event::Errno(_) => "errno",
            Event::BusError(_) => "buserror",
            Event::ExitStatus(_) => "exit-status",
            Event::NotifyAccess(_) => "notify-access",
            Event::FdStore { .. } => "fdstore",
            Event::FdStoreRemove { .. } => "fdstore-remove",
            Event::StrayFds { .. } => "stray-fds",
            Event::Barrier => "barrier",
            Event::Unknown { .. } => "unknown",
            Event::Rejected { .. } => "rejected",
            Event::ReloadRequested { .. } => "reload-requested",
            Event::StartTimeout { .. } => "start-timeout",
            Event::WatchdogTimeout { .. } => "watchdog-timeout",
            Event::ProtocolError(_) => "protocol-error",
            Event::StopRequested { .. } => "stop-requested",
            Event::Signal { .. } => "signal",
            Event::Exited { .. } => "exited",
        }
    }

    fn text(&self) -> String {
        match self {
            Event::Started { pid, command, socket } => {
                format!("started pid {pid}: {command} (NOTIFY_SOCKET={socket})")
            }
            Event::Ready { startup } => format!("READY after {}", secs(*startup)),
            Event::Reloaded { took } => format!("READY: reload finished after {}", secs(*took)),
            Event::Status(text) => format!("STATUS: {text}"),
            Event::Reloading {
                monotonic_usec: Some(t),
            } => format!("RELOADING (MONOTONIC_USEC={t})"),
            Event::Reloading { monotonic_usec: None } => "RELOADING (no MONOTONIC_USEC)".to_owned(),
            Event::Stopping => "STOPPING".to_owned(),
            Event::Ping { count: 1 } => "WATCHDOG=1: first ping".to_owned(),
            Event::Ping { count } => format!("watchdog: {count} pings"),
            Event::WatchdogTrigger => "WATCHDOG=trigger: the service asks to be treated as hung".to_owned(),
            Event::WatchdogUsec(d) => format!("WATCHDOG_USEC: the watchdog interval is now {}", secs(*d)),
            Event::ExtendTimeout(d) => format!("EXTEND_TIMEOUT_USEC: {} more", secs(*d)),
            Event::MainPid(pid) => format!("MAINPID: the main process is now {pid}"),
            Event::Errno(n) => format!("ERRNO={n}"),
            Event::BusError(name) => format!("BUSERROR={name}"),
            Event::ExitStatus(n) => format!("EXIT_STATUS={n}"),
            Event::NotifyAccess(a) => format!("NOTIFYACCESS: now {a}"),
            Event::FdStore { name, fds, stored } => {
                format!("FDSTORE: kept {fds} fd(s) as {name:?}; {stored} stored")
            }
            Event::FdStoreRemove {
                name,
                removed,
                stored,
            } => {
                format!("FDSTOREREMOVE: closed {removed} fd(s) named {name:?}; {stored} stored")
            }
            Event::StrayFds { fds } => format!("closed {fds} fd(s) sent without FDSTORE=1"),
            Event::Barrier => "BARRIER: answered".to_owned(),
            Event::Unknown { line } => format!("unknown line: {line}"),
            Event::Rejected {
                pid: Some(pid),
                reason,
            } => format!("rejected a datagram from pid {pid}: {reason}"),
            Event::Rejected { pid: None, reason } => format!("rejected a datagram: {reason}"),
            Event::ReloadRequested { monotonic_usec } => {
                format!("reload requested: SIGHUP sent; expecting RELOADING=1 with MONOTONIC_USEC >= {monotonic_usec}, then READY=1")
            }
            Event::StartTimeout { after } => format!("start timeout: no READY=1 within {}", secs(*after)),
            Event::WatchdogTimeout { interval } => {
                format!("watchdog timeout: no ping within {}", secs(*interval))
            }
            Event::ProtocolError(reason) => format!("protocol error: {reason}"),
            Event::StopRequested { signal } => format!("{signal} received: stopping the service"),
            Event::Signal { signal, pid } => format!("sent {signal} to {}", target(*pid)),
            Event::Exited {
                code,
                signal,
                pings,
                exit,
            } => {
                let how = match (code, signal) {
                    (Some(c), _) => format!("exited with status {c}"),
                    (None, Some(s)) => format!("killed by signal {s}"),
                    _ => "ended".to_owned(),
                };
                format!("{how}; {pings} watchdog ping(s); sdnotify run exits with {exit}")
            }
        }
    }

    fn json_fields(&self, out: &mut String) {
        let mut field = |key: &str, value: String| {
            let _ = write!(out, ",{}:{}", json_string(key), value);
        };
        let s = |v: &str| json_string(v);
        let d = |v: &Duration| format!("{:.6}", v.as_secs_f64());
        match self {
            Event::Started { pid, command, socket } => {
                field("pid", pid.to_string());
                field("command", s(command));
                field("socket", s(socket));
            }
            Event::Ready { startup } => field("startup_s", d(startup)),
            Event::Reloaded { took } => field("took_s", d(took)),
            Event::Status(text) => field("text", s(text)),
            Event::Reloading { monotonic_usec } => field(
                "monotonic_usec",
                monotonic_usec.map_or("null".to_owned(), |t| t.to_string()),
            ),
            Event::Ping { count } => field("count", count.to_string()),
            Event::WatchdogUsec(v) | Event::ExtendTimeout(v) => field("seconds", d(v)),
            Event::MainPid(pid) => field("pid", pid.to_string()),
            Event::Errno(v) | Event::BusError(v) | Event::ExitStatus(v) | Event::NotifyAccess(v) => {
                field("value", s(v))
            }
            Event::FdStore { name, fds, stored } => {
                field("name", s(name));
                field("fds", fds.to_string());
                field("stored", stored.to_string());
            }
            Event::FdStoreRemove {
                name,
                removed,
                stored,
            } => {
                field("name", s(name));
                field("removed", removed.to_string());
                field("stored", stored.to_string());
            }
            Event::StrayFds { fds } => field("fds", fds.to_string()),
            Event::Unknown { line } => field("line", s(line)),
            Event::Rejected { pid, reason } => {
                field("pid", pid.map_or("null".to_owned(), |p| p.to_string()));
                field("reason", s(reason));
            }
            Event::ReloadRequested { monotonic_usec } => field("monotonic_usec", monotonic_usec.to_string()),
            Event::StartTimeout { after } => field("seconds", d(after)),
            Event::WatchdogTimeout { interval } => field("seconds", d(interval)),
            Event::ProtocolError(reason) => field("reason", s(reason)),
            Event::StopRequested { signal } => field("signal", s(signal)),
            Event::Signal { signal, pid } => {
                field("signal", s(signal));
                field("target", s(&target(*pid)));
            }
            Event::Exited {
                code,
                signal,
                pings,
                exit,
            } => {
                field("code", code.map_or("null".to_owned(), |c| c.to_string()));
                field("signal", signal.map_or("null".to_owned(), |c| c.to_string()));
                field("pings", pings.to_string());
                field("exit", exit.to_string());
            }
            Event::Stopping | Event::WatchdogTrigger | Event::Barrier => {}
        }
    }
}

fn target(pid: i32) -> String {
    if pid < 0 {
        format!("process group {}", -pid)
    } else {
        format!("pid {pid}")
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// A JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Writes events to stdout; in text mode watchdog pings are summarised, not printed one by one.
pub(crate) struct Reporter {
    json: bool,
    start: Instant,
    last_ping_report: Option<Instant>,
    unreported_pings: bool,
}

/// How often text mode reports the running ping count.
const PING_SUMMARY_EVERY: Duration = Duration::from_secs(5);

impl Reporter {
    pub(crate) fn new(json: bool, start: Instant) -> Reporter {
        Reporter {
            json,
            start,
            last_ping_report: None,
            unreported_pings: false,
        }
    }

    pub(crate) fn emit(&mut self, event: &Event) {
        let t = self.start.elapsed().as_secs_f64();
        let line = if self.json {
            let mut out = format!("{{\"t\":{t:.6},\"event\":{}", json_string(event.name()));
            event.json_fields(&mut out);
            out.push('}');
            out
        } else {
            if let Event::Ping { count } = event {
                let due = self
                    .last_ping_report
                    .is_none_or(|at| at.elapsed() >= PING_SUMMARY_EVERY);
                if *count > 1 && !due {
                    self.unreported_pings = true;
                    return;
                }
                self.last_ping_report = Some(Instant::now());
                self.unreported_pings = false;
            }
            format!("[{t:>9.3}s] {}", event.text())
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }

    /// Text mode: report the ping count now if some pings went unreported (before other news
    /// such as STOPPING, so the count reads in order).
    pub(crate) fn flush_pings(&mut self, count: u64) {
        if !self.json && self.unreported_pings {
            self.last_ping_report = None;
            self.emit(&Event::Ping { count });
        }
    }
}
