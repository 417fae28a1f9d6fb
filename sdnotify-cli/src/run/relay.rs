//! The service's state, passed on to the manager `sdnotify run` itself runs under (systemd,
//! podman `--sdnotify=container`, another `sdnotify run`), as its own: the outer manager sees the
//! service's readiness, status, reloads, watchdog pings and stop, while MAINPID stays the
//! supervisor (nothing here ever names a pid).
//!
//! What is passed on is what the supervisor accepted, after its own checks (see `classify` and
//! `state`), rebuilt from the parsed values; one relayed message per datagram of the service,
//! so the lines that came together (STOPPING=1 with its STATUS=) stay together. Sends never
//! block the supervisor: a message the outer manager has no room for waits in a short queue,
//! retried on each turn of the loop, and the oldest is dropped when that is full.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use sdnotify_runtime::{Message, Notifier};

use super::event::Event;

/// Messages kept while the outer manager's queue is full; beyond, the oldest goes.
const MAX_PENDING: usize = 32;

/// How soon a message left pending is tried again.
pub(super) const RETRY: Duration = Duration::from_millis(100);

/// What the outer manager was last told about the service's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Told {
    Starting,
    Ready,
    Reloading,
    Stopping,
}

pub(super) struct Relay {
    notifier: &'static Notifier,
    /// The outer manager's watchdog interval (`WATCHDOG_USEC`, meant for this process).
    watchdog: Option<Duration>,
    told: Told,
    /// The lines of the message being put together (one datagram of the service's).
    lines: Vec<String>,
    batching: bool,
    pending: VecDeque<Message>,
    last_ping: Option<Instant>,
    dropped: u64,
    /// Said once each: a message dropped, a send failed.
    warned_dropped: bool,
    warned_failed: bool,
    warnings: Vec<String>,
}

impl Relay {
    /// The relay to the manager named by this process's own `NOTIFY_SOCKET`, if it has one. A
    /// malformed `NOTIFY_SOCKET` or `WATCHDOG_USEC` is an error: the outer manager would never
    /// hear of the service.
    pub(super) fn from_env() -> Result<Option<Relay>, String> {
        let unset = "unset it to run without an outer manager";
        let notifier = match Notifier::global() {
            Ok(Some(notifier)) => notifier,
            Ok(None) => return Ok(None),
            Err(e) => return Err(format!("its own NOTIFY_SOCKET: {e}; {unset}")),
        };
        let watchdog = sdnotify_runtime::watchdog_enabled()
            .map_err(|e| format!("its own WATCHDOG_USEC: {e}; {unset} (and NOTIFY_SOCKET)"))?;
        let relay = Relay {
            notifier,
            watchdog,
            told: Told::Starting,
            lines: Vec::new(),
            batching: false,
            pending: VecDeque::new(),
            last_ping: None,
            dropped: 0,
            warned_dropped: false,
            warned_failed: false,
            warnings: Vec::new(),
        };
        Ok(Some(relay))
    }

    /// The outer manager's watchdog interval, which the service gets when `--watchdog` is not
    /// given.
    pub(super) fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Collects what follows into one message, until [`end_datagram`](Self::end_datagram).
    pub(super) fn begin_datagram(&mut self) {
        self.batching = true;
    }

    pub(super) fn end_datagram(&mut self) {
        self.batching = false;
        self.flush();
    }

    /// What an event means to the outer manager. `final_stop`: the supervisor ends when this
    /// instance does (no restart can follow), so the service's STOPPING=1 is the supervisor's.
    pub(super) fn on_event(&mut self, event: &Event, final_stop: bool) {
        match event {
            Event::Ready { .. } if matches!(self.told, Told::Starting) => self.tell(Told::Ready, "READY=1"),
            Event::Reloaded { .. } if self.told == Told::Reloading => self.tell(Told::Ready, "READY=1"),
            Event::Reloading { monotonic_usec } if self.told == Told::Ready => {
                // The service's own time of the reload, else now (it is no earlier than any
                // request the outer manager made).
                let usec = monotonic_usec.unwrap_or_else(|| {
                    u64::try_from(sdnotify_runtime::monotonic_now().as_micros()).unwrap_or(u64::MAX)
                });
                self.tell(Told::Reloading, "RELOADING=1");
                self.lines.push(format!("MONOTONIC_USEC={usec}"));
            }
            Event::Stopping if final_stop => self.tell(Told::Stopping, "STOPPING=1"),
            // The supervisor itself ends: whatever the service said, the outer manager hears it.
            Event::StopRequested { .. } | Event::Exited { .. } => self.tell(Told::Stopping, "STOPPING=1"),
            Event::Status(text) => self.lines.push(format!("STATUS={}", one_line(text))),
            Event::Restarting { reason, count, .. } => self.lines.push(format!(
                "STATUS=sdnotify run: the service {reason}; restart {count}"
            )),
            Event::Ping { .. } if self.watchdog.is_some() => {
                self.lines.push("WATCHDOG=1".to_owned());
                self.last_ping = Some(Instant::now());
            }
            Event::WatchdogTrigger => self.lines.push("WATCHDOG=trigger".to_owned()),
            Event::WatchdogUsec(interval) => {
                self.watchdog = Some(*interval);
                self.lines
                    .push(format!("WATCHDOG_USEC={}", interval.as_micros().max(1)));
            }
            Event::ExtendTimeout(by) => self.lines.push(format!("EXTEND_TIMEOUT_USEC={}", by.as_micros())),
            Event::Info { key, value } => self.lines.push(format!("{key}={}", one_line(value))),
            _ => {}
        }
        if !self.batching {
            self.flush();
        }
    }

    /// Keeps the outer watchdog fed while no instance runs (between a service's end and its
    /// restart): the supervisor is alive and doing what it was asked.
    pub(super) fn keep_alive(&mut self, now: Instant) {
        let Some(interval) = self.watchdog else { return };
        if self
            .last_ping
            .is_none_or(|at| now.saturating_duration_since(at) >= interval / 2)
        {
            self.last_ping = Some(now);
            self.lines.push("WATCHDOG=1".to_owned());
            self.flush();
        }
    }

    /// When the loop should wake to retry what is pending.
    pub(super) fn next_deadline(&self, now: Instant) -> Option<Instant> {
        (!self.pending.is_empty()).then(|| now + RETRY)
    }

    /// What to tell the user (said by the supervisor, not relayed).
    pub(super) fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    fn tell(&mut self, told: Told, line: &str) {
        if self.told != told && self.told != Told::Stopping {
            self.told = told;
            self.lines.push(line.to_owned());
        }
    }

    /// Sends the collected lines as one message, after whatever is still pending, in order.
    pub(super) fn flush(&mut self) {
        if !self.lines.is_empty() {
            let lines = std::mem::take(&mut self.lines);
            match Message::from_lines(&lines) {
                Ok(message) => self.queue(message),
                // Built from values the supervisor parsed; say so rather than send a part.
                Err(e) => self
                    .warnings
                    .push(format!("not relayed to the outer manager: {e}")),
            }
        }
        while let Some(message) = self.pending.front() {
            match self.notifier.send_within(message, &[], None, Duration::ZERO) {
                Ok(()) => {
                    self.pending.pop_front();
                }
                Err(sdnotify_runtime::Error::SendTimeout(_)) => return,
                Err(e) => {
                    self.pending.pop_front();
                    if !std::mem::replace(&mut self.warned_failed, true) {
                        self.warnings
                            .push(format!("cannot relay to the outer manager: {e}"));
                    }
                }
            }
        }
    }

    fn queue(&mut self, message: Message) {
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
            self.dropped += 1;
            if !std::mem::replace(&mut self.warned_dropped, true) {
                self.warnings.push(format!(
                    "the outer manager takes no messages: the oldest of {MAX_PENDING} waiting is dropped"
                ));
            }
        }
        self.pending.push_back(message);
    }
}

/// A value made one line: the manager's unescaping can leave a CR or LF inside a value, which
/// the relayed message could not carry.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}
