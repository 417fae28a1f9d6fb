//! Signals turned into requests: the handler sets the flag of the request its signal stands for
//! (a reload, a shutdown) and writes one byte to this process's wake pipe, both
//! async-signal-safe, then calls the handler that was there before (tokio's, through
//! signal-hook-registry, which in turn calls ours when it comes second).
//!
//! The wake pipe belongs to one process: after `fork(2)` the child's first wait makes its own
//! (the handler writes to whichever is published), so a request sent to a process wakes that
//! process, never the one it was forked from. A published pipe is never closed: the handler
//! may be writing to it at any moment.

use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, IntoRawFd, RawFd};
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{check, retry};

/// Signal numbers go up to 64 (SIGRTMAX) on Linux.
const SIGNALS: usize = 65;

/// How many kinds of request there are (see `signal::__requests`).
pub(crate) const SLOTS: usize = 2;

/// Set by the handler, taken by whoever serves the request; one per kind.
static REQUESTED: [AtomicBool; SLOTS] = [AtomicBool::new(false), AtomicBool::new(false)];

// Array initializers: each element is a fresh value (`[const { … }; N]` needs Rust 1.79).
#[allow(clippy::declare_interior_mutable_const)]
const NONE: AtomicU8 = AtomicU8::new(0);
/// For each signal, the kind of request it stands for, plus one (0: not ours).
static SLOT_OF: [AtomicU8; SIGNALS] = [NONE; SIGNALS];

#[allow(clippy::declare_interior_mutable_const)]
const UNSET: OnceLock<libc::sigaction> = OnceLock::new();
/// For each signal, the handler that was installed before ours, called after ours.
static PREVIOUS: [OnceLock<libc::sigaction>; SIGNALS] = [UNSET; SIGNALS];

/// The write end of the wake pipe of the process that published it (-1: none yet).
static WAKE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Its read end, and the process it was made in.
static WAKE: Mutex<Option<(u32, RawFd)>> = Mutex::new(None);

/// Makes `signal` a request of kind `slot` (one kind per signal, installed once).
pub(crate) fn watch(signal: c_int, slot: usize) -> io::Result<()> {
    let index = usize::try_from(signal)
        .ok()
        .filter(|&i| (1..SIGNALS).contains(&i) && slot < SLOTS)
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    let marker = u8::try_from(slot + 1).unwrap_or(u8::MAX);
    if SLOT_OF[index]
        .compare_exchange(0, marker, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "this signal is handled already",
        ));
    }
    // SAFETY: sigaction is plain data; all-zero is a valid value to fill in.
    let mut action: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
    let handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = on_signal;
    action.sa_sigaction = handler as libc::sighandler_t;
    // SA_RESTART: the program's blocking calls go on rather than fail with EINTR.
    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART | libc::SA_ONSTACK;
    // SAFETY: `sa_mask` is a live sigset_t inside `action`.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    // SAFETY: sigaction is plain data; all-zero is a valid value to be overwritten.
    let mut previous: libc::sigaction = unsafe { MaybeUninit::zeroed().assume_init() };
    // SAFETY: `action` is a complete sigaction whose handler is async-signal-safe (see
    // `on_signal`); the old action is written into the live `previous`. One atomic swap, so a
    // handler installed by another thread at the same time is never lost.
    check(unsafe { libc::sigaction(signal, &action, &mut previous) })?;
    // A signal between the swap and this line is handled, not chained: harmless, the previous
    // action is the default one at the start of `main`, where this runs.
    let _ = PREVIOUS[index].set(previous);
    Ok(())
}

/// Takes the pending request of kind `slot`, if there is one.
pub(crate) fn take_request(slot: usize) -> bool {
    REQUESTED
        .get(slot)
        .is_some_and(|flag| flag.swap(false, Ordering::AcqRel))
}

/// Forgets a pending request of kind `slot`.
pub(crate) fn clear_request(slot: usize) {
    if let Some(flag) = REQUESTED.get(slot) {
        flag.store(false, Ordering::Release);
    }
}

/// Makes this process's wake pipe, if it has none of its own yet: from then on every request
/// wakes [`wait_wake`], also one that comes before it is called.
pub(crate) fn prepare_wake() -> io::Result<()> {
    wake_reader().map(drop)
}

/// Blocks until the handler writes to this process's wake pipe (at least once since the last
/// return), making the pipe first when this process has none of its own.
pub(crate) fn wait_wake() -> io::Result<()> {
    let reader = wake_reader()?;
    let mut buffer = [0u8; 64];
    retry(|| {
        // SAFETY: the kernel writes at most `buffer.len()` bytes into the live `buffer`; the
        // read end is never closed (see the module's docs).
        let n = unsafe { libc::read(reader.as_raw_fd(), buffer.as_mut_ptr().cast(), buffer.len()) };
        match n {
            0 => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
            n if n < 0 => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    })
}

/// This process's wake pipe's read end, made at the first call in each process.
fn wake_reader() -> io::Result<BorrowedFd<'static>> {
    let me = std::process::id();
    let mut wake = WAKE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((pid, reader)) = *wake {
        if pid == me {
            // SAFETY: a published pipe is never closed.
            return Ok(unsafe { BorrowedFd::borrow_raw(reader) });
        }
    }
    // First wait here (after a fork, the inherited pipe is the parent's: it stays open, unused).
    let (reader, writer) = super::fds::pipe()?;
    let (reader, writer) = (reader.into_raw_fd(), writer.into_raw_fd());
    // SAFETY: F_SETFL on the write end we just made: the handler must never block on a full pipe.
    check(unsafe { libc::fcntl(writer, libc::F_SETFL, libc::O_NONBLOCK) })?;
    WAKE_WRITE.store(writer, Ordering::Release);
    *wake = Some((me, reader));
    // SAFETY: as above; `into_raw_fd` gave up ownership, so nothing closes it.
    Ok(unsafe { BorrowedFd::borrow_raw(reader) })
}

/// The handler: async-signal-safe throughout (atomics, `write(2)`, errno saved and restored),
/// then the previous handler, if it was a function.
extern "C" fn on_signal(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: __errno_location returns this thread's errno, valid for the thread's life.
    let errno = unsafe { libc::__errno_location() };
    // SAFETY: as above.
    let saved = unsafe { *errno };
    let index = usize::try_from(signal).unwrap_or(0);
    let slot = SLOT_OF.get(index).map_or(0, |s| s.load(Ordering::Acquire));
    if let Some(flag) = usize::from(slot).checked_sub(1).and_then(|s| REQUESTED.get(s)) {
        flag.store(true, Ordering::SeqCst);
    }
    let fd = WAKE_WRITE.load(Ordering::Acquire);
    if fd >= 0 {
        // SAFETY: a published write end is never closed; one byte from a static. A full pipe
        // (EAGAIN) already holds a wake-up.
        unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *errno = saved };
    let Some(previous) = PREVIOUS.get(index).and_then(OnceLock::get) else {
        return;
    };
    let handler = previous.sa_sigaction;
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        return;
    }
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: with SA_SIGINFO, the kernel (and whoever installed it) made `sa_sigaction` a
        // three-argument handler; it gets this call's own arguments.
        let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { std::mem::transmute(handler) };
        f(signal, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the handler is a one-argument function.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
        f(signal);
    }
}
