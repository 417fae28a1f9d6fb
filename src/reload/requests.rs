//! Reload requests: the reload signal's handler, the pending request, and the waiters.
//!
//! The handler sets a flag; a process that waits also has the handler write one byte to a
//! socket pair of its own (both async-signal-safe, through signal-hook, which chains with other
//! handlers of the signal such as tokio's). A thread started on the first wait reads the bytes
//! and wakes blocked threads and futures; a program that only polls [`take`] never starts it.
//!
//! The pair, its handler and its thread belong to one process. After `fork(2)` (a prefork
//! server's workers) the child has the flag and the handler, but not the parent's thread, and
//! its handler would write into the pair it shares with the parent, whose thread would take the
//! byte. So a process whose pid is not the one its waiting state was made for makes its own
//! pair, handler and thread at its first wait: a request sent to a process wakes that
//! process's waiters, before and after a fork.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use signal_hook::SigId;
use std::sync::OnceLock;

use crate::__private::report;

/// Set by the handler; taken by whoever serves the request.
static PENDING: OnceLock<Arc<AtomicBool>> = OnceLock::new();

fn pending() -> &'static Arc<AtomicBool> {
    PENDING.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// The installed handler: its signal, and the waiting state of the process that waits.
static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Whether a wait without a handler was reported already.
static NEVER_REPORTED: AtomicBool = AtomicBool::new(false);

struct Installed {
    signal: i32,
    /// The waiting state of the process it was made in (see the module's docs).
    waiting: Mutex<Option<Arc<Waiting>>>,
}

/// What one process's waiters share.
struct Waiting {
    /// The process this was made in.
    pid: u32,
    reader: UnixStream,
    /// The handler that writes to this pair, removed in a child that makes its own.
    writes: SigId,
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
    let installed = Installed {
        signal,
        waiting: Mutex::new(None),
    };
    if INSTALLED.set(installed).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a reload signal is installed already",
        ));
    }
    signal_hook::flag::register(signal, Arc::clone(pending()))?;
    Ok(())
}

/// Takes the pending request, if there is one.
pub(crate) fn take() -> bool {
    pending().swap(false, Ordering::AcqRel)
}

/// Forgets a pending request: a reload that starts now serves it.
pub(crate) fn clear() {
    pending().store(false, Ordering::Release);
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
    let waiting = installed
        .waiting
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
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
    let mut slot = installed.waiting.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(waiting) = slot.as_ref().filter(|w| w.pid == me) {
        return Some(Arc::clone(waiting));
    }
    // First wait in this process. After a fork, the inherited handler writes to the parent's
    // pair: it goes, and this process gets its own.
    if let Some(inherited) = slot.take() {
        signal_hook::low_level::unregister(inherited.writes);
    }
    match Waiting::start(installed.signal, me) {
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
    /// A pair whose writing end the handler of `signal` writes to, and the thread that reads it.
    fn start(signal: i32, pid: u32) -> io::Result<Arc<Waiting>> {
        let (reader, writer) = UnixStream::pair()?;
        let writes = signal_hook::low_level::pipe::register(signal, writer)?;
        let waiting = Arc::new(Waiting {
            pid,
            reader,
            writes,
            ring_lock: Mutex::new(()),
            ring: Condvar::new(),
            wakers: Mutex::new(Vec::new()),
        });
        let for_thread = Arc::clone(&waiting);
        let started = std::thread::Builder::new()
            .name("sdnotify-reload".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || ring_on_every_byte(&for_thread));
        if let Err(err) = started {
            signal_hook::low_level::unregister(writes);
            return Err(err);
        }
        Ok(waiting)
    }
}

fn ring_on_every_byte(waiting: &Waiting) {
    let mut buffer = [0u8; 64];
    loop {
        match (&waiting.reader).read(&mut buffer) {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                report(format_args!("reload requests are no longer read: {err}"));
                return;
            }
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
