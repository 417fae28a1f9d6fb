//! A heartbeat that proves an executor alive: a task that beats each time it is polled, woken
//! by the watchdog thread once per period. A runtime that stops polling tasks stops the beats,
//! so `watchdog = "heartbeat"` stops the pings and the manager's watchdog fires.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use crate::outbox::report;
use crate::watchdog_thread;

/// The tasks to wake at the watchdog thread's next tick: one waker per heartbeat task, taken
/// (and so emptied) at each tick, so it never outgrows the number of tasks.
static WAKERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());
static UNGATED_REPORTED: AtomicBool = AtomicBool::new(false);

/// A task for your async runtime that beats for `watchdog = "heartbeat"` as long as the runtime
/// polls it: spawn it once, and a runtime wedged by a blocking call stops the watchdog pings,
/// so systemd (or `sdnotify run`) ends the service with `Result=watchdog`.
///
/// The watchdog thread wakes the task once per ping period (`WATCHDOG_USEC / 2`) and pings at
/// the next tick only if the task ran in between: a runtime that cannot poll it within one
/// period misses a ping, and one blocked for `WATCHDOG_USEC` is killed. It works with any
/// executor (it needs no timer of its own), never completes, and costs one wake-up per period;
/// without a watchdog (`WATCHDOG_USEC` unset, or off systemd) it is never woken.
///
/// What it proves is that the runtime still polls tasks. On a multi-threaded runtime such as
/// tokio's default, a task blocking one worker is not caught while another worker can take the
/// heartbeat; one that blocks every worker is. To tie the pings to your own loop as well, call
/// [`heartbeat()`](crate::heartbeat) from there instead, or both (either beat counts).
///
/// With `watchdog = "auto"` the thread pings regardless, so the task changes nothing; that is
/// reported once on stderr.
///
/// ```no_run
/// #[tokio::main(flavor = "current_thread")]
/// #[sdnotify::main(watchdog = "heartbeat")]
/// async fn main() {
///     tokio::spawn(sdnotify::executor_heartbeat());
///     sdnotify::init! {};
///     loop {
///         // Serve. A std::thread::sleep here would wedge the runtime: the pings stop.
///         tokio::time::sleep(std::time::Duration::from_secs(1)).await;
///     }
/// }
/// ```
pub fn executor_heartbeat() -> ExecutorHeartbeat {
    ExecutorHeartbeat { _private: () }
}

/// The task returned by [`executor_heartbeat()`]: a future that never completes.
#[derive(Debug)]
#[must_use = "a heartbeat does nothing unless spawned on the runtime it watches"]
pub struct ExecutorHeartbeat {
    _private: (),
}

impl Future for ExecutorHeartbeat {
    type Output = Infallible;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Infallible> {
        watchdog_thread::beat();
        if watchdog_thread::running_ungated() && !UNGATED_REPORTED.swap(true, Ordering::Relaxed) {
            report(format_args!(
                "executor_heartbeat() has no effect: the watchdog pings regardless; use \
                 #[sdnotify::main(watchdog = \"heartbeat\")] for the pings to depend on it"
            ));
        }
        let mut wakers = WAKERS.lock().unwrap_or_else(|e| e.into_inner());
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// Wakes every heartbeat task: called by the watchdog thread after each tick, so a task that
/// runs before the next tick earns the next ping.
pub(crate) fn wake_all() {
    let wakers = std::mem::take(&mut *WAKERS.lock().unwrap_or_else(|e| e.into_inner()));
    for waker in wakers {
        waker.wake();
    }
}
