//! The background thread that keeps systemd's watchdog fed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Whether `heartbeat()` was called since the last ping.
static BEAT: AtomicBool = AtomicBool::new(false);
/// A thread runs that pings without waiting for beats (`watchdog = "auto"`).
static UNGATED: AtomicBool = AtomicBool::new(false);

/// The shortest pause between pings: at most 10 pings a second, the rate limit per unit under
/// discussion upstream (systemd issues 13090, 37288). A `WATCHDOG_USEC` below twice this starts
/// no thread.
pub(crate) const MIN_PERIOD: Duration = Duration::from_millis(100);

/// Marks the main loop alive for `watchdog = "heartbeat"`.
pub(crate) fn beat() {
    BEAT.store(true, Ordering::Relaxed);
}

/// Whether a watchdog thread runs that pings regardless of beats.
pub(crate) fn running_ungated() -> bool {
    UNGATED.load(Ordering::Relaxed)
}

/// A named thread that sends `WATCHDOG=1` every `period`, sleeping in between; with `gated`,
/// only when [`beat`] was called since the last ping. Stopped (and joined) by [`stop`](Self::stop).
pub(crate) struct WatchdogThread {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: JoinHandle<()>,
}

impl WatchdogThread {
    pub(crate) fn spawn(period: Duration, gated: bool, ping: fn()) -> std::io::Result<WatchdogThread> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        UNGATED.store(!gated, Ordering::Relaxed);
        let signal = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("sdnotify-watchdog".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || {
                let (lock, condvar) = &*signal;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let (guard, _) = condvar
                        .wait_timeout_while(stopped, period, |stopped| !*stopped)
                        .unwrap_or_else(|e| e.into_inner());
                    if *guard {
                        return;
                    }
                    // The lock is released during the send, so `stop` never waits on it.
                    drop(guard);
                    if !gated || BEAT.swap(false, Ordering::Relaxed) {
                        ping();
                    }
                    // After the verdict: a heartbeat task must run within the next period
                    // to earn the next ping.
                    crate::executor_heartbeat::wake_all();
                    stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                }
            })?;
        Ok(WatchdogThread { stop, handle })
    }

    /// Asks the thread to stop without waiting (from a panic hook, which must not block).
    pub(crate) fn signal_stop(&self) {
        let (lock, condvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        condvar.notify_all();
    }

    /// Stops the thread and waits for it: no ping can follow.
    pub(crate) fn stop(self) {
        self.signal_stop();
        let _ = self.handle.join();
        UNGATED.store(false, Ordering::Relaxed);
    }
}
