//! Reload requests: the reload signal's handler, the pending request, and the waiters.
//!
//! The runtime's handler (`sdnotify_runtime::signal::__requests`) sets a flag and writes one
//! byte to this process's wake pipe, both async-signal-safe, and calls the handler installed
//! before it (tokio's, for one). A thread started on the first wait reads the wake-ups and
//! rings the blocked threads and futures; a program that only polls [`take`] never starts it.
//!
//! The waiting state belongs to one process. After `fork(2)` (a prefork server's workers) the
//! child has the flag and the handler but not the parent's thread, so a process whose pid is
//! not the one its waiting state was made for makes its own (and the runtime its own wake
//! pipe) at its first wait: a request sent to a process wakes that process's waiters, before
//! and after a fork.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use sdnotify_runtime::signal::__requests;

use crate::outbox::report;

/// Whether a handler was installed, and the waiting state of the process that waits.
static INSTALLED: OnceLock<Mutex<Option<Arc<Waiting>>>> = OnceLock::new();

/// Whether a wait without a handler was reported already.
static NEVER_REPORTED: AtomicBool = AtomicBool::new(false);

/// What one process's waiters share.
struct Waiting {
    /// The process this was made in.
    pid: u32,
    /// Held while a waiter looks at the flag and while the ring is rung, so a waiter that
    /// found no request is already waiting when the next ring comes.
    ring_lock: Mutex<()>,
    ring: Condvar,
    wakers: Mutex<Vec<(u64, Waker)>>,
}

/// Makes `signal` a reload request from now on (before READY=1, so systemd 262 sees it caught).
pub(crate) fn install(name: &str) -> io::Result<()> {
    let signal = sdnotify_runtime::signal::from_name(name)
        .filter(|s| sdnotify_runtime::signal::can_be_handled(*s))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name} is not a signal this machine can deliver to a handler"),
            )
        })?;
    if INSTALLED.set(Mutex::new(None)).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a reload signal is installed already",
        ));
    }
    __requests::watch(signal)
}

/// Takes the pending request, if there is one.
pub(crate) fn take() -> bool {
    __requests::take()
}

/// Forgets a pending request: a reload that starts now serves it.
pub(crate) fn clear() {
    __requests::clear()
}

/// Blocks until a request is pending and takes it; `false` when `timeout` passed first.
pub(crate) fn wait(timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let Some(waiting) = waiting_on() else {
        // No handler: no request will ever come.
        match deadline {
            Some(deadline) => std::thread::sleep(deadline.saturating_duration_since(Instant::now())),
            None => loop {
                std::thread::park();
            },
        }
        return false;
    };
    let mut held = waiting.ring_lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if take() {
            return true;
        }
        held = match deadline {
            None => waiting.ring.wait(held).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                match waiting.ring.wait_timeout(held, left) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
        };
    }
}

/// Registers `waker` under `id` (replacing its earlier one) to be woken by the next request.
pub(crate) fn register(id: u64, waker: &Waker) {
    let Some(waiting) = waiting_on() else {
        return;
    };
    let mut wakers = waiting.wakers.lock().unwrap_or_else(|e| e.into_inner());
    match wakers.iter_mut().find(|(known, _)| *known == id) {
        Some((_, old)) if old.will_wake(waker) => {}
        Some((_, old)) => old.clone_from(waker),
        None => wakers.push((id, waker.clone())),
    }
}

/// Forgets the waker registered under `id` (its future is gone).
pub(crate) fn unregister(id: u64) {
    let Some(installed) = INSTALLED.get() else {
        return;
    };
    let waiting = installed.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(waiting) = waiting {
        let mut wakers = waiting.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers.retain(|(known, _)| *known != id);
    }
}

/// A new id for a future's waker.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// This process's waiting state, made (with its wake-up thread) on its first wait, or `None`
/// (reported once) when there is no handler to wait on.
fn waiting_on() -> Option<Arc<Waiting>> {
    let Some(installed) = INSTALLED.get() else {
        if !NEVER_REPORTED.swap(true, Ordering::Relaxed) {
            report(format_args!(
                "waiting for a reload request, but none can come: #[sdnotify::main] has no \
                 `reload = \"SIG…\"` option"
            ));
        }
        return None;
    };
    let me = std::process::id();
    let mut slot = installed.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(waiting) = slot.as_ref().filter(|w| w.pid == me) {
        return Some(Arc::clone(waiting));
    }
    // First wait in this process (after a fork, the parent's state stays with the parent).
    match Waiting::start(me) {
        Ok(waiting) => {
            *slot = Some(Arc::clone(&waiting));
            Some(waiting)
        }
        Err(err) => {
            report(format_args!("cannot wait for reload requests: {err}"));
            None
        }
    }
}

impl Waiting {
    /// The state, and the thread that turns this process's wake-ups into rings.
    fn start(pid: u32) -> io::Result<Arc<Waiting>> {
        // Before any waiter looks at the flag: a request from now on is never missed.
        __requests::prepare_wake()?;
        let waiting = Arc::new(Waiting {
            pid,
            ring_lock: Mutex::new(()),
            ring: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&waiting);
        std::thread::Builder::new()
            .name("sdnotify-reload".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || ring_on_every_wake(&for_thread))?;
        Ok(waiting)
    }
}

fn ring_on_every_wake(waiting: &Waiting) {
    loop {
        if let Err(err) = __requests::wait_wake() {
            report(format_args!("reload requests are no longer read: {err}"));
            return;
        }
        {
            let _held = waiting.ring_lock.lock().unwrap_or_else(|e| e.into_inner());
            waiting.ring.notify_all();
        }
        let wakers = std::mem::take(&mut *waiting.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, waker) in wakers {
            waker.wake();
        }
    }
}
