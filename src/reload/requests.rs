//! Reload requests: the reload signal's handler, the pending request, and the waiters.
//!
//! The handler only sets a flag and writes one byte to a socket pair (both async-signal-safe,
//! through signal-hook, which chains with other handlers of the signal such as tokio's). A
//! thread started on the first wait reads the bytes and wakes blocked threads and futures; a
//! program that only polls [`take`] never starts it.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Waker;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use once_cell::sync::{Lazy, OnceCell};

use crate::__private::report;

/// Set by the handler; taken by whoever serves the request.
static PENDING: Lazy<Arc<AtomicBool>> = Lazy::new(|| Arc::new(AtomicBool::new(false)));

/// The installed handler: the signal and the read end of the handler's socket pair.
static INSTALLED: OnceCell<Installed> = OnceCell::new();

/// Whether a wait without a handler was reported already.
static NEVER_REPORTED: AtomicBool = AtomicBool::new(false);

struct Installed {
    reader: UnixStream,
    /// The thread that turns the handler's bytes into wake-ups, once something waits.
    waker_thread: OnceCell<JoinHandle<()>>,
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
    let (reader, writer) = UnixStream::pair()?;
    let installed = Installed {
        reader,
        waker_thread: OnceCell::new(),
        ring_lock: Mutex::new(()),
        ring: Condvar::new(),
        wakers: Mutex::new(Vec::new()),
    };
    if INSTALLED.set(installed).is_err() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a reload signal is installed already",
        ));
    }
    // The flag first: a thread woken by the byte must find it set.
    signal_hook::flag::register(signal, Arc::clone(&PENDING))?;
    signal_hook::low_level::pipe::register(signal, writer)?;
    Ok(())
}

/// Takes the pending request, if there is one.
pub(crate) fn take() -> bool {
    PENDING.swap(false, Ordering::AcqRel)
}

/// Forgets a pending request: a reload that starts now serves it.
pub(crate) fn clear() {
    PENDING.store(false, Ordering::Release);
}

/// Blocks until a request is pending and takes it; `false` when `timeout` passed first.
pub(crate) fn wait(timeout: Option<Duration>) -> bool {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let Some(installed) = waiting_on() else {
        // No handler: no request will ever come.
        match deadline {
            Some(deadline) => std::thread::sleep(deadline.saturating_duration_since(Instant::now())),
            None => loop {
                std::thread::park();
            },
        }
        return false;
    };
    let mut held = installed.ring_lock.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if take() {
            return true;
        }
        held = match deadline {
            None => installed.ring.wait(held).unwrap_or_else(|e| e.into_inner()),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                match installed.ring.wait_timeout(held, left) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                }
            }
        };
    }
}

/// Registers `waker` under `id` (replacing its earlier one) to be woken by the next request.
pub(crate) fn register(id: u64, waker: &Waker) {
    let Some(installed) = waiting_on() else {
        return;
    };
    let mut wakers = installed.wakers.lock().unwrap_or_else(|e| e.into_inner());
    match wakers.iter_mut().find(|(known, _)| *known == id) {
        Some((_, old)) if old.will_wake(waker) => {}
        Some((_, old)) => old.clone_from(waker),
        None => wakers.push((id, waker.clone())),
    }
}

/// Forgets the waker registered under `id` (its future is gone).
pub(crate) fn unregister(id: u64) {
    if let Some(installed) = INSTALLED.get() {
        let mut wakers = installed.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers.retain(|(known, _)| *known != id);
    }
}

/// A new id for a future's waker.
pub(crate) fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The installed handler with its wake-up thread running, or `None` (reported once) when
/// there is no handler to wait on.
fn waiting_on() -> Option<&'static Installed> {
    let Some(installed) = INSTALLED.get() else {
        if !NEVER_REPORTED.swap(true, Ordering::Relaxed) {
            report(format_args!(
                "waiting for a reload request, but none can come: #[sdnotify::main] has no \
                 `reload = \"SIG…\"` option"
            ));
        }
        return None;
    };
    let started = installed.waker_thread.get_or_try_init(|| {
        std::thread::Builder::new()
            .name("sdnotify-reload".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || ring_on_every_byte(installed))
    });
    if let Err(err) = started {
        report(format_args!("cannot start the reload thread: {err}"));
        return None;
    }
    Some(installed)
}

fn ring_on_every_byte(installed: &'static Installed) {
    let mut buffer = [0u8; 64];
    loop {
        match (&installed.reader).read(&mut buffer) {
            Ok(0) => return,
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => {
                report(format_args!("reload requests are no longer read: {err}"));
                return;
            }
        }
        {
            let _held = installed.ring_lock.lock().unwrap_or_else(|e| e.into_inner());
            installed.ring.notify_all();
        }
        let wakers = std::mem::take(&mut *installed.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, waker) in wakers {
            waker.wake();
        }
    }
}
