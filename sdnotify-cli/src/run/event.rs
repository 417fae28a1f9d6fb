//! What the supervisor reports: one event per line, as text or as a JSON object. Everything a
//! service sent is escaped on the way out (see `escape`).

use std::fmt::Write as _;
use std::time::Duration;

use super::escape;

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
    /// The fd store's descriptors handed to a restarted instance, by name.
    HandedBack {
        names: Vec<String>,
    },
    /// The service ended and starts again after `after`.
    Restarting {
        reason: &'static str,
        /// The how-manieth restart this is.
        count: u32,
        code: Option<i32>,
        signal: Option<i32>,
        after: Duration,
    },
    /// Too many starts in the window: no more restarts.
    StartLimitHit {
        burst: usize,
        interval: Duration,
    },
    /// `sdnotify ctl` asked this.
    ControlRequest {
        request: &'static str,
    },
    /// A socket handed to the service as descriptor `fd`.
    Listening {
        fd: i32,
        name: Option<String>,
        what: String,
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
    MainPid {
        pid: u32,
        previous: u32,
    },
    /// A line the supervisor shows without acting on it (ERRNO=, BUSERROR=, EXIT_STATUS=, …).
    Info {
        key: String,
        value: String,
    },
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
    /// A datagram or a line refused, and why.
    Rejected {
        pid: Option<u32>,
        reason: String,
    },
    /// A line accepted but without effect in the service's present state, and why.
    Ignored {
        reason: String,
    },
    ReloadRequested {
        signal: &'static str,
        monotonic_usec: u64,
    },
    /// Something the service should hear about, that changes nothing (as systemd logs it).
    Warning(String),
    ReloadFailed(String),
    StartTimeout {
        after: Duration,
    },
    StartFailed(String),
    WatchdogTimeout {
        interval: Duration,
    },
    StopRequested {
        signal: &'static str,
    },
    Signal {
        signal: &'static str,
        target: String,
    },
    ProcessExited {
        pid: u32,
        code: Option<i32>,
        signal: Option<i32>,
    },
    LeftRunning {
        pids: Vec<u32>,
    },
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        pings: u64,
        exit: u8,
    },
    EventsDropped {
        count: u64,
    },
}

impl Event {
    fn name(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::Ready { .. } => "ready",
            Event::Listening { .. } => "listening",
            Event::ControlRequest { .. } => "control",
            Event::HandedBack { .. } => "handed-back",
            Event::Restarting { .. } => "restarting",
            Event::StartLimitHit { .. } => "start-limit-hit",
            Event::Reloaded { .. } => "reloaded",
            Event::Status(_) => "status",
            Event::Reloading { .. } => "reloading",
            Event::Stopping => "stopping",
            Event::Ping { .. } => "watchdog",
            Event::WatchdogTrigger => "watchdog-trigger",
            Event::WatchdogUsec(_) => "watchdog-usec",
            Event::ExtendTimeout(_) => "extend-timeout",
            Event::MainPid { .. } => "mainpid",
            Event::Info { .. } => "info",
            Event::NotifyAccess(_) => "notify-access",
            Event::FdStore { .. } => "fdstore",
            Event::FdStoreRemove { .. } => "fdstore-remove",
            Event::StrayFds { .. } => "stray-fds",
            Event::Barrier => "barrier",
            Event::Unknown { .. } => "unknown",
            Event::Rejected { .. } => "rejected",
            Event::Ignored { .. } => "ignored",
            Event::ReloadRequested { .. } => "reload-requested",
            Event::Warning(_) => "warning",
            Event::ReloadFailed(_) => "reload-failed",
            Event::StartTimeout { .. } => "start-timeout",
            Event::StartFailed(_) => "start-failed",
            Event::WatchdogTimeout { .. } => "watchdog-timeout",
            Event::StopRequested { .. } => "stop-requested",
            Event::Signal { .. } => "signal",
            Event::ProcessExited { .. } => "process-exited",
            Event::LeftRunning { .. } => "left-running",
            Event::Exited { .. } => "exited",
            Event::EventsDropped { .. } => "events-dropped",
        }
    }

    fn text(&self) -> String {
        match self {
            Event::Started { pid, command, socket } => {
                format!("started pid {pid}: {command} (NOTIFY_SOCKET={socket})")
            }
            Event::Ready { startup } => format!("READY after {}", secs(*startup)),
            Event::ControlRequest { request } => format!("sdnotify ctl: {request}"),
            Event::HandedBack { names } => format!("fd store: {} descriptor(s) handed back ({})", names.len(), names.join(", ")),
            Event::Restarting {
                reason,
                count,
                code,
                signal,
                after,
            } => {
                let status = match (code, signal) {
                    (Some(c), _) => format!("status {c}"),
                    (None, Some(s)) => format!("signal {s}"),
                    _ => "unknown status".to_owned(),
                };
                format!("the service {reason} ({status}): restart #{count} in {}", secs(*after))
            }
            Event::StartLimitHit { burst, interval } => format!(
                "start limit hit: {burst} starts within {}; no more restarts",
                secs(*interval)
            ),
            Event::Listening { fd, name, what } => match name {
                Some(name) => format!("listening: {what} as fd {fd}, named {name}"),
                None => format!("listening: {what} as fd {fd}"),
            },
            Event::Reloaded { took } => format!("READY: reload finished after {}", secs(*took)),
            Event::Status(text) => format!("STATUS: {text}"),
            Event::Reloading { monotonic_usec: Some(t) } => format!("RELOADING (MONOTONIC_USEC={t})"),
            Event::Reloading { monotonic_usec: None } => "RELOADING (no MONOTONIC_USEC)".to_owned(),
            Event::Stopping => "STOPPING".to_owned(),
            Event::Ping { count: 1 } => "WATCHDOG=1: first ping".to_owned(),
            Event::Ping { count } => format!("watchdog: {count} pings"),
            Event::WatchdogTrigger => "WATCHDOG=trigger: the service asks to be treated as hung".to_owned(),
            Event::WatchdogUsec(d) => format!("WATCHDOG_USEC: the watchdog interval is now {}", secs(*d)),
            Event::ExtendTimeout(d) => format!("EXTEND_TIMEOUT_USEC: {} more", secs(*d)),
            Event::MainPid { pid, previous } => {
                format!("MAINPID: the main process is now {pid} (was {previous})")
            }
            Event::Info { key, value } => format!("{key}={value}"),
            Event::NotifyAccess(a) => format!("NOTIFYACCESS: now {a}"),
            Event::FdStore { name, fds, stored } => {
                format!("FDSTORE: kept {fds} fd(s) as {name:?}; {stored} stored")
            }
            Event::FdStoreRemove { name, removed, stored } => {
                format!("FDSTOREREMOVE: closed {removed} fd(s) named {name:?}; {stored} stored")
            }
            Event::StrayFds { fds } => format!("closed {fds} fd(s) sent without FDSTORE=1"),
            Event::Barrier => "BARRIER: answered".to_owned(),
            Event::Unknown { line } => format!("unknown line: {line}"),
            Event::Rejected { pid: Some(pid), reason } => format!("rejected from pid {pid}: {reason}"),
            Event::Rejected { pid: None, reason } => format!("rejected: {reason}"),
            Event::Ignored { reason } => format!("ignored: {reason}"),
            Event::Warning(text) => format!("warning: {text}"),
            Event::ReloadRequested { signal, monotonic_usec } => format!(
                "reload requested: {signal} sent; expecting RELOADING=1 with MONOTONIC_USEC >= {monotonic_usec}, then READY=1"
            ),
            Event::ReloadFailed(reason) => format!("reload failed: {reason}"),
            Event::StartTimeout { after } => format!("start timeout: no READY=1 within {}", secs(*after)),
            Event::StartFailed(reason) => format!("start failed: {reason}"),
            Event::WatchdogTimeout { interval } => format!("watchdog timeout: no ping within {}", secs(*interval)),
            Event::StopRequested { signal } => format!("{signal} received: stopping the service"),
            Event::Signal { signal, target } => format!("sent {signal} to {target}"),
            Event::ProcessExited { pid, code, signal } => format!("pid {pid} {}", how(*code, *signal)),
            Event::LeftRunning { pids } => format!(
                "left running (--kill-mode=process): {}",
                pids.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
            ),
            Event::Exited { code, signal, pings, exit } => format!(
                "main process {}; {pings} watchdog ping(s); sdnotify run exits with {exit}",
                how(*code, *signal)
            ),
            Event::EventsDropped { count } => format!("{count} event(s) dropped: the output was not read"),
        }
    }

    fn json_fields(&self, out: &mut String) {
        let mut field = |key: &str, value: String| {
            let _ = write!(out, ",{}:{}", escape::json(key), value);
        };
        let s = |v: &str| escape::json(v);
        let d = |v: &Duration| format!("{:.6}", v.as_secs_f64());
        let opt = |v: Option<i32>| v.map_or("null".to_owned(), |c| c.to_string());
        match self {
            Event::Started { pid, command, socket } => {
                field("pid", pid.to_string());
                field("command", s(command));
                field("socket", s(socket));
            }
            Event::Ready { startup } => field("startup_s", d(startup)),
            Event::ControlRequest { request } => field("request", s(request)),
            Event::HandedBack { names } => {
                let list: Vec<String> = names.iter().map(|n| s(n)).collect();
                field("names", format!("[{}]", list.join(",")));
            }
            Event::Restarting {
                reason,
                count,
                code,
                signal,
                after,
            } => {
                field("reason", s(reason));
                field("count", count.to_string());
                field("code", code.map_or("null".to_owned(), |c| c.to_string()));
                field("signal", signal.map_or("null".to_owned(), |c| c.to_string()));
                field("after_s", d(after));
            }
            Event::StartLimitHit { burst, interval } => {
                field("burst", burst.to_string());
                field("interval_s", d(interval));
            }
            Event::Listening { fd, name, what } => {
                field("fd", fd.to_string());
                field("name", name.as_deref().map_or("null".to_owned(), s));
                field("address", s(what));
            }
            Event::Reloaded { took } => field("took_s", d(took)),
            Event::Status(text) => field("text", s(text)),
            Event::Reloading { monotonic_usec } => field(
                "monotonic_usec",
                monotonic_usec.map_or("null".to_owned(), |t| t.to_string()),
            ),
            Event::Ping { count } => field("count", count.to_string()),
            Event::WatchdogUsec(v) | Event::ExtendTimeout(v) => field("seconds", d(v)),
            Event::MainPid { pid, previous } => {
                field("pid", pid.to_string());
                field("previous", previous.to_string());
            }
            Event::Info { key, value } => {
                field("key", s(key));
                field("value", s(value));
            }
            Event::NotifyAccess(v) => field("value", s(v)),
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
            Event::Ignored { reason } | Event::ReloadFailed(reason) | Event::StartFailed(reason) => {
                field("reason", s(reason))
            }
            Event::ReloadRequested {
                signal,
                monotonic_usec,
            } => {
                field("signal", s(signal));
                field("monotonic_usec", monotonic_usec.to_string());
            }
            Event::Warning(text) => field("text", s(text)),
            Event::StartTimeout { after } => field("seconds", d(after)),
            Event::WatchdogTimeout { interval } => field("seconds", d(interval)),
            Event::StopRequested { signal } => field("signal", s(signal)),
            Event::Signal { signal, target } => {
                field("signal", s(signal));
                field("target", s(target));
            }
            Event::ProcessExited { pid, code, signal } => {
                field("pid", pid.to_string());
                field("code", opt(*code));
                field("signal", opt(*signal));
            }
            Event::LeftRunning { pids } => field(
                "pids",
                format!(
                    "[{}]",
                    pids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                ),
            ),
            Event::Exited {
                code,
                signal,
                pings,
                exit,
            } => {
                field("code", opt(*code));
                field("signal", opt(*signal));
                field("pings", pings.to_string());
                field("exit", exit.to_string());
            }
            Event::EventsDropped { count } => field("count", count.to_string()),
            Event::Stopping | Event::WatchdogTrigger | Event::Barrier => {}
        }
    }

    /// The event as one line of output (no line break): text escaped, or a JSON object.
    pub(crate) fn line(&self, json: bool, t: f64) -> String {
        if json {
            let mut out = format!("{{\"t\":{t:.6},\"event\":{}", escape::json(self.name()));
            self.json_fields(&mut out);
            out.push('}');
            out
        } else {
            format!("[{t:>9.3}s] {}", escape::text(&self.text()))
        }
    }
}

fn how(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "ended (status unknown: it was not a child of the supervisor)".to_owned(),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}
