//! Signals as requests (a reload, a shutdown), and the threads and futures that wait for them.
//!
//! The runtime's handler (`sdnotify_runtime::signal::__requests`) sets the flag of the request
//! its signal stands for and writes one byte to this process's wake pipe, both
//! async-signal-safe, and calls the handler installed before it (tokio's, for one). A thread
//! started on the first wait reads the wake-ups, runs the hooks registered with
//! [`on_every_wake`] (the shutdown's STOPPING=1), and rings the blocked threads and futures,
//! which each look at their own flag; a program that only polls [`take`] never starts it.
//!
//! The waiting state belongs to one process. After `fork(2)` (a prefork server's workers) the
//! child has the flags and the handlers but not the parent's thread, so a process whose pid is
//! not the one its waiting state was made for makes its own (and the runtime its own wake
//! pipe) at its first wait: a request sent to a process wakes that process's waiters, before
//! and after a fork.

use std::io;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use sdnotify_runtime::signal::__requests;
pub(crate) use sdnotify_runtime::signal::__requests::Kind;

use crate::outbox::report;

/// Which kinds have a handler (reload, shutdown).
static INSTALLED: [AtomicBool; 2] = [AtomicBool::new(false), AtomicBool::new(false)];

/// The waiting state of the process that waits.
static WAITING: Mutex<Option<Arc<Waiting>>> = Mutex::new(None);

/// Run by the wake thread after each wake-up, before the waiters are rung.
static HOOKS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// What one process's waiters share.
struct Waiting {
    /// The process this was made in.
    pid: u32,
    /// Held while a waiter looks at its flag and while the ring is rung, so a waiter that
    /// found no request is already waiting when the next ring comes.
    ring_lock: Mutex<()>,
    ring: Condvar,
    wakers: Mutex<Vec<(u64, Waker)>>,
}

fn index(kind: Kind) -> usize {
    match kind {
        Kind::Reload => 0,
        Kind::Shutdown => 1,
    }
}

/// Makes `signal` a request of `kind` from now on, and starts the wake thread now.
///
/// Now, not at the first wait: that comes right after READY=1, and while a thread is being
/// created glibc blocks every signal of the creating thread for a moment. A manager that looks
/// at the main thread's masks at READY=1 (systemd 262, `sdnotify run`) could then take a reload
/// signal nobody handles for a blocked one.
pub(crate) fn install(kind: Kind, signal: c_int) -> io::Result<()> {
    __requests::watch(signal, kind)?;
    INSTALLED[index(kind)].store(true, Ordering::Release);
    let _ = waiting_on();
    Ok(())
}

/// Whether a signal stands for `kind`.
pub(crate) fn is_installed(kind: Kind) -> bool {
    INSTALLED[index(kind)].load(Ordering::Acquire)
}

/// Takes the pending request of `kind`, if there is one.
pub(crate) fn take(kind: Kind) -> bool {
    __requests::take(kind)
}

/// Forgets a pending request of `kind`.
pub(crate) fn clear(kind: Kind) {
    __requests::clear(kind)
}

/// Runs `hook` on the wake thread after every wake-up (started by the first wait).
pub(crate) fn on_every_wake(hook: fn()) {
    HOOKS.lock().unwrap_or_else(|e| e.into_inner()).push(hook);
}

/// Blocks until `ready` holds (looked at after every wake-up); `false` when `timeout` passed
/// first. Without a handler for `kind` nothing can come: it waits out the timeout (for good
/// without one).
pub(crate) fn wait(kind: Kind, timeout: Option<Duration>, ready: impl Fn() -> bool) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let waiting = if is_installed(kind) { waiting_on() } else { None };
    let Some(waiting) = waiting else {
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
        if ready() {
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

/// Registers `waker` under `id` (replacing its earlier one) to be woken by the next wake-up.
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
fn unregister(id: u64) {
    let waiting = WAITING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(waiting) = waiting {
        let mut wakers = waiting.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers.retain(|(known, _)| *known != id);
    }
}

/// A future's place among the wakers: the look, the registration and the second look that
/// together miss no wake-up, and the unregistration when the future is dropped.
#[derive(Debug, Default)]
pub(crate) struct Registration(Option<u64>);

impl Registration {
    /// Ready once `done()` holds; otherwise registered (by `register`) for the next wake-up and
    /// looked at again: a wake-up between the first look and the registration rang no waker of
    /// this future's.
    pub(crate) fn poll(
        &mut self,
        cx: &mut Context<'_>,
        done: impl Fn() -> bool,
        register: impl Fn(u64, &Waker),
    ) -> Poll<()> {
        if done() {
            return Poll::Ready(());
        }
        let id = *self.0.get_or_insert_with(next_id);
        register(id, cx.waker());
        if done() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            unregister(id);
        }
    }
}

/// A new id for a future's waker.
fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// This process's waiting state, made (with its wake-up thread) on its first wait.
fn waiting_on() -> Option<Arc<Waiting>> {
    let me = std::process::id();
    let mut slot = WAITING.lock().unwrap_or_else(|e| e.into_inner());
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
            report(format_args!("cannot wait for signals: {err}"));
            None
        }
    }
}

impl Waiting {
    /// The state, and the thread that turns this process's wake-ups into rings.
    fn start(pid: u32) -> io::Result<Arc<Waiting>> {
        // Before any waiter looks at a flag: a request from now on is never missed.
        __requests::prepare_wake()?;
        let waiting = Arc::new(Waiting {
            pid,
            ring_lock: Mutex::new(()),
            ring: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&waiting);
        std::thread::Builder::new()
            .name("sdnotify-signals".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || ring_on_every_wake(&for_thread))?;
        Ok(waiting)
    }
}

fn ring_on_every_wake(waiting: &Waiting) {
    loop {
        if let Err(err) = __requests::wait_wake() {
            report(format_args!("signals are no longer read: {err}"));
            return;
        }
        let hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        hooks.iter().for_each(|hook| hook());
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
