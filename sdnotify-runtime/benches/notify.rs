//! `cargo bench -p sdnotify-runtime`: nanoseconds per `WATCHDOG=1` notification, in one run,
//! for sdnotify, the physical limit (a bare `send(2)` on a connected socket) and peers.
//!
//! Every implementation sends to the same bound socket (with `SO_PASSCRED`, as systemd sets).
//! Sends are timed in small batches and the receiver is drained between batches, untimed, so the
//! queue never fills and the receiver's speed is not measured: a batch is at most
//! `/proc/sys/net/unix/max_dgram_qlen` datagrams (10 on some machines), past which a send blocks. Rounds alternate between the
//! implementations; the table shows each one's median round.

use std::hint::black_box;
use std::os::fd::AsFd;
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::{Notifier, State};

const CALLS_PER_ROUND: usize = 20_000;
const ROUNDS: usize = 15;
const ROLE: &str = "SDNOTIFY_BENCH_ROLE";

#[link(name = "libsystemd.so.0", kind = "dylib", modifiers = "+verbatim")]
extern "C" {
    fn sd_notify(unset_environment: i32, state: *const std::ffi::c_char) -> i32;
}

fn main() {
    if std::env::var_os(ROLE).is_some_and(|r| r == "unset") {
        return unset_child();
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this binary too: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");

    let dir = std::env::temp_dir();
    let listener = Listener::bind_unique_in(&dir).expect("bind the receiver");
    // Benchmark code, single-threaded here: the peers read NOTIFY_SOCKET on every call, and
    // sdnotify's process-wide sender reads it once, at its first use below.
    std::env::set_var("NOTIFY_SOCKET", listener.address());

    let bare = rustix::net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, SocketFlags::CLOEXEC, None)
        .expect("socket");
    let addr = rustix::net::SocketAddrUnix::new(listener.address()).expect("address");
    rustix::net::connect(&bare, &addr).expect("connect");
    let notifier = Notifier::connect(listener.address()).expect("connect the notifier");

    type Impl<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let impls: Vec<Impl<'_>> = vec![
        (
            "bare send(2), connected (the limit)",
            Box::new(|| {
                rustix::net::send(&bare, b"WATCHDOG=1", SendFlags::NOSIGNAL).expect("send");
            }),
        ),
        (
            "sdnotify::notify(&[State::Watchdog])",
            Box::new(|| {
                assert!(sdnotify_runtime::notify(black_box(&[State::Watchdog])).expect("notify"));
            }),
        ),
        (
            "sdnotify Notifier::notify",
            Box::new(|| notifier.notify(black_box(&[State::Watchdog])).expect("notify")),
        ),
        (
            "sd-notify 0.5 crate",
            Box::new(|| sd_notify::notify(&[sd_notify::NotifyState::Watchdog]).expect("sd-notify")),
        ),
        (
            "libsystemd sd_notify (C)",
            Box::new(|| {
                // SAFETY: a NUL-terminated string literal; libsystemd does not keep the pointer.
                let r = unsafe { sd_notify(0, c"WATCHDOG=1".as_ptr()) };
                assert!(r > 0, "sd_notify returned {r}");
            }),
        ),
    ];

    let batch = batch_size();
    let (rounds, batches) = if quick {
        (1, 2)
    } else {
        (ROUNDS, CALLS_PER_ROUND / batch)
    };
    let mut samples = vec![Vec::new(); impls.len()];
    for (_, f) in &impls {
        run_batches(f, &listener, batch, 50); // warm up; the process-wide sender connects here
    }
    for _ in 0..rounds {
        for (i, (_, f)) in impls.iter().enumerate() {
            let elapsed = run_batches(f, &listener, batch, batches);
            samples[i].push(elapsed.as_nanos() as f64 / (batches * batch) as f64);
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let limit = medians[0];
    println!();
    println!(
        "WATCHDOG=1 to a unix datagram socket with SO_PASSCRED; median of {rounds} rounds x {} calls, batches of {batch}",
        batches * batch
    );
    println!("{:<42} {:>12} {:>10}", "implementation", "ns per call", "x limit");
    for ((name, _), ns) in impls.iter().zip(&medians) {
        println!("{name:<42} {ns:>12.1} {:>9.2}x", ns / limit);
    }
    let unset = unset_ns(quick);
    println!(
        "{:<42} {:>12.2} {:>10}",
        "sdnotify::notify, NOTIFY_SOCKET unset", unset, "-"
    );
    println!();
}

/// A batch that never fills the receiver's queue.
fn batch_size() -> usize {
    std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .map_or(8, |qlen| qlen.clamp(1, 8))
}

/// Times `batches` batches of `batch` calls; drains the receiver after each batch, untimed.
fn run_batches(f: &dyn Fn(), listener: &Listener, batch: usize, batches: usize) -> Duration {
    let mut total = Duration::ZERO;
    let mut buf = [0u8; 64];
    for _ in 0..batches {
        let start = Instant::now();
        for _ in 0..batch {
            f();
        }
        total += start.elapsed();
        for _ in 0..batch {
            drain_one(listener.as_fd(), &mut buf);
        }
    }
    total
}

fn drain_one(socket: std::os::fd::BorrowedFd<'_>, buf: &mut [u8]) {
    let (_, len) = rustix::net::recv(socket, &mut *buf, RecvFlags::empty()).expect("recv");
    // The sd-notify crate ends each line with a newline; the others send none.
    let got = &buf[..len];
    assert_eq!(got.strip_suffix(b"\n").unwrap_or(got), b"WATCHDOG=1");
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    samples[samples.len() / 2]
}

/// The unset case runs in a child, whose environment has no NOTIFY_SOCKET from the start.
fn unset_ns(quick: bool) -> f64 {
    let out = Command::new(std::env::current_exe().expect("current exe"))
        .env_remove("NOTIFY_SOCKET")
        .env(ROLE, "unset")
        .env("SDNOTIFY_BENCH_QUICK", if quick { "1" } else { "0" })
        .output()
        .expect("run the unset child");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .parse()
        .expect("a number")
}

fn unset_child() {
    let calls: u32 = if std::env::var_os("SDNOTIFY_BENCH_QUICK").is_some_and(|q| q == "1") {
        1000
    } else {
        20_000_000
    };
    assert!(!sdnotify_runtime::notify(&[State::Watchdog]).expect("unset is not an error"));
    let start = Instant::now();
    for _ in 0..calls {
        black_box(sdnotify_runtime::notify(black_box(&[State::Watchdog])).ok());
    }
    println!("{}", start.elapsed().as_nanos() as f64 / f64::from(calls));
}
