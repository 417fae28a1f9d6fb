//! `cargo bench -p sdnotify-cli`: `sdnotify --ready` against `systemd-notify --ready` as whole
//! processes, in one run: wall time per call (spawn, send, barrier, exit) against a receiver
//! that answers barriers at once, calls alternating between the two programs; then peak RSS.
//!
//! Peak RSS is the child's own `VmHWM`, read from /proc while the receiver holds its barrier
//! open: `ru_maxrss` from wait4(2) would also count the parent's memory image from before
//! `exec` (a vfork child shares it), which says nothing about the program.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sdnotify_runtime::manager::Listener;

const SYSTEMD_NOTIFY: &str = "/usr/bin/systemd-notify";

fn spawn(program: &str, socket: &std::ffi::OsStr) -> std::process::Child {
    Command::new(program)
        .arg("--ready")
        .env("NOTIFY_SOCKET", socket)
        .env_remove("MANAGERPID")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn")
}

fn run_once(program: &str, socket: &std::ffi::OsStr) -> Duration {
    let start = Instant::now();
    let status = spawn(program, socket).wait().expect("wait");
    let elapsed = start.elapsed();
    assert!(status.success(), "{program} failed");
    elapsed
}

/// A receiver on its own thread; with `hold`, each datagram (so each barrier) stays open that
/// long before it is dropped and the barrier answered.
fn receiver(hold: Duration) -> (std::ffi::OsString, Arc<AtomicBool>, std::thread::JoinHandle<u64>) {
    let listener = Listener::bind_unique().expect("bind");
    listener
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("timeout");
    let socket = listener.address().to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_receiver = Arc::clone(&stop);
    let thread = std::thread::spawn(move || {
        let mut received = 0u64;
        while !stop_receiver.load(Ordering::Relaxed) {
            if let Ok(datagram) = listener.recv() {
                received += 1;
                if datagram.is_barrier() {
                    std::thread::sleep(hold);
                }
            }
        }
        received
    });
    (socket, stop, thread)
}

/// The child's own peak RSS, read while it waits for its barrier.
fn peak_rss_kib(program: &str, socket: &std::ffi::OsStr) -> u64 {
    let mut child = spawn(program, socket);
    std::thread::sleep(Duration::from_millis(150));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("/proc status");
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    assert!(child.wait().expect("wait").success());
    hwm
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let sdnotify = env!("CARGO_BIN_EXE_sdnotify");
    let (socket, stop, drain) = receiver(Duration::ZERO);
    let have_peer = std::path::Path::new(SYSTEMD_NOTIFY).exists();
    let calls = if quick { 3 } else { 300 };
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..calls {
        ours.push(run_once(sdnotify, &socket));
        if have_peer {
            theirs.push(run_once(SYSTEMD_NOTIFY, &socket));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let received = drain.join().expect("receiver");
    assert_eq!(
        received,
        (ours.len() + theirs.len()) as u64 * 2,
        "a message and a barrier per call"
    );

    let (hold_socket, hold_stop, hold_receiver) = receiver(Duration::from_millis(300));
    let rss_runs = if quick { 1 } else { 5 };
    let peak = |program: &str| {
        (0..rss_runs)
            .map(|_| peak_rss_kib(program, &hold_socket))
            .max()
            .unwrap_or(0)
    };
    let our_peak = peak(sdnotify);
    let their_peak = if have_peer { peak(SYSTEMD_NOTIFY) } else { 0 };
    hold_stop.store(true, Ordering::Relaxed);
    hold_receiver.join().expect("receiver");

    let report = |name: &str, samples: &[Duration], rss_kib: u64| -> (f64, u64) {
        let ms = median(samples.iter().map(|d| d.as_secs_f64() * 1e3).collect());
        println!("{name:<32} {ms:>10.3} ms {:>10.2} MiB", rss_kib as f64 / 1024.0);
        (ms, rss_kib)
    };
    println!();
    println!("--ready with the default barrier: median time of {calls} calls each; peak RSS (VmHWM)");
    println!("{:<32} {:>13} {:>14}", "program", "time per call", "peak RSS");
    let (our_ms, our_rss) = report("sdnotify --ready", &ours, our_peak);
    if have_peer {
        let (their_ms, their_rss) = report("systemd-notify --ready (252)", &theirs, their_peak);
        println!(
            "ratio sdnotify / systemd-notify: time {:.2}x, peak RSS {:.2}x",
            our_ms / their_ms,
            our_rss as f64 / their_rss as f64
        );
    } else {
        println!("SKIPPED systemd-notify: {SYSTEMD_NOTIFY} is not installed");
    }
    println!();
}
