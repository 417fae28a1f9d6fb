//! Writing events without ever blocking supervision: the loop hands each line to a writer
//! thread through a bounded queue; a reader that stalls (a stopped pager, a wedged log shipper)
//! costs events, which are counted and reported, never the start timeout, the watchdog or the
//! forwarding of a stop.

use std::io::Write as _;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::event::Event;

/// Lines the writer may fall behind by before events are dropped.
const QUEUE: usize = 4096;

/// How often text mode reports the running ping count.
const PING_SUMMARY_EVERY: Duration = Duration::from_secs(5);

/// How long the supervisor waits, at its end, for the last lines to be written.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct Reporter {
    json: bool,
    start: Instant,
    queue: Option<SyncSender<String>>,
    done: Receiver<()>,
    writer: Option<JoinHandle<()>>,
    dropped: u64,
    last_ping_report: Option<Instant>,
    unreported_pings: bool,
}

impl Reporter {
    pub(crate) fn new(json: bool, start: Instant) -> std::io::Result<Reporter> {
        let (queue, lines) = mpsc::sync_channel::<String>(QUEUE);
        let (finished, done) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("sdnotify-run-output".to_owned())
            .spawn(move || {
                let mut stdout = std::io::stdout().lock();
                for line in lines {
                    if writeln!(stdout, "{line}").and_then(|()| stdout.flush()).is_err() {
                        // Nobody reads: keep draining so the loop never waits.
                        continue;
                    }
                }
                let _ = finished.send(());
            })?;
        Ok(Reporter {
            json,
            start,
            queue: Some(queue),
            done,
            writer: Some(writer),
            dropped: 0,
            last_ping_report: None,
            unreported_pings: false,
        })
    }

    pub(crate) fn emit(&mut self, event: &Event) {
        if let (Event::Ping { count }, false) = (event, self.json) {
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
        if self.dropped > 0 {
            let note = Event::EventsDropped { count: self.dropped };
            if self.push(&note) {
                self.dropped = 0;
            }
        }
        if !self.push(event) {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    fn push(&mut self, event: &Event) -> bool {
        let line = event.line(self.json, self.start.elapsed().as_secs_f64());
        match self.queue.as_ref().map(|q| q.try_send(line)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }

    /// Text mode: report the ping count now if some pings went unreported (before other news
    /// such as STOPPING, so the count reads in order).
    pub(crate) fn flush_pings(&mut self, count: u64) {
        if !self.json && self.unreported_pings {
            self.last_ping_report = None;
            self.emit(&Event::Ping { count });
        }
    }

    /// Lets the writer finish, waiting at most [`FLUSH_TIMEOUT`] for a slow reader.
    pub(crate) fn close(mut self) {
        self.queue = None;
        if self.done.recv_timeout(FLUSH_TIMEOUT).is_ok() {
            if let Some(writer) = self.writer.take() {
                let _ = writer.join();
            }
        }
    }
}
