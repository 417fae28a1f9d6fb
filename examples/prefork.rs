//! Reloads in a prefork server: the parent forks its workers (without exec) and relays a reload
//! request (`systemctl reload`, here with `ReloadSignal=SIGUSR1`) to each of them; every worker
//! then reloads on its own. Each process waits for its own requests: a signal sent to one
//! worker wakes that worker alone, whether it was forked before or after its parent first
//! waited. A worker that dies is forked again.
//!
//! ```text
//! sdnotify run --type=notify-reload --reload-signal=SIGUSR1 --reload-after=2s -- cargo run --example prefork
//! kill -USR1 <a worker's pid>      # that worker alone reloads
//! ```
//!
//! The argument is how long the parent serves, in seconds (10 by default).

use std::io;
use std::time::{Duration, Instant};

const WORKERS: usize = 2;

#[sdnotify::main(reload = "SIGUSR1")]
fn main() -> io::Result<()> {
    let lifetime = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_secs);
    let mut workers: Vec<libc::pid_t> = sdnotify::init! {
        (0..WORKERS).map(spawn_worker).collect::<io::Result<_>>()?
    };
    println!("parent {}: ready", std::process::id());
    let end = Instant::now() + lifetime;
    let mut generation = 1;
    while Instant::now() < end {
        for (n, pid) in workers.iter_mut().enumerate() {
            if ended(*pid) {
                *pid = spawn_worker(n)?;
            }
        }
        if sdnotify::wait_reload_request_timeout(Duration::from_millis(100)) {
            // RELOADING=1 now, READY=1 once every worker has been asked.
            sdnotify::reload(|| workers.iter().try_for_each(|&pid| signal(pid, libc::SIGUSR1)))?;
            generation += 1;
            println!("parent {}: reload {generation}", std::process::id());
        }
    }
    for &pid in &workers {
        signal(pid, libc::SIGTERM)?;
        while !ended(pid) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}

/// Forks worker `n`; its pid.
fn spawn_worker(n: usize) -> io::Result<libc::pid_t> {
    let parent = std::process::id();
    // SAFETY: fork has no preconditions; the child runs `worker`, which only prints and waits
    // (Rust's allocator and stdout lock are usable after fork with glibc), and leaves with
    // `exit`, never returning into the parent's `main`.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            worker(n, parent);
            std::process::exit(0)
        }
        pid => Ok(pid),
    }
}

/// A worker: reloads on every request sent to it, and ends with its parent.
fn worker(n: usize, parent: u32) {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) };
    if std::os::unix::process::parent_id() != parent {
        return; // the parent ended before the line above
    }
    let me = std::process::id();
    println!("worker {n} {me}: ready");
    let mut generation = 1;
    loop {
        sdnotify::wait_reload_request();
        generation += 1;
        println!("worker {n} {me}: reload {generation}");
    }
}

fn signal(pid: libc::pid_t, signal: libc::c_int) -> io::Result<()> {
    // SAFETY: kill has no memory-safety preconditions; `pid` is one of our workers (positive).
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether worker `pid` has ended (and is reaped now, or was before).
fn ended(pid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: waitpid writes only the status integer we own; WNOHANG never blocks.
    let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    reaped == pid || reaped == -1
}
