//! `cargo bench -p sdnotify-cli --bench zero_downtime`: restarts without refused connections,
//! measured. `examples/zero_downtime.rs` (axum) serves `GET /` while a client on another thread
//! sends requests without pause and the service is restarted 10 times:
//!
//! - under `sdnotify run --listen http=… --restart=always --fdstore-max=1`, by `sdnotify ctl
//!   NAME restart`;
//! - under each systemd (252, 257, the newest) as a `.socket` unit (`ListenStream=`,
//!   `FileDescriptorName=http`), by `systemctl restart`;
//! - under 257 and the newest with the fd store alone (`FileDescriptorStoreMax=1`,
//!   `FileDescriptorStorePreserve=restart`, no socket unit).
//!
//! For each: requests sent, requests that failed (refused, reset, no answer), instances seen,
//! and the longest request. `cargo test --benches` runs the `sdnotify run` case with 2
//! restarts only.

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::http::{fd_store_unit, free_port, get_pid, socket_unit};
use support::units::managers;

/// What the client saw.
#[derive(Default)]
struct Tally {
    sent: u64,
    failed: u64,
    longest: Duration,
    pids: Vec<u32>,
}

fn get(port: u16) -> Option<u32> {
    get_pid(port).ok()
}

/// Sends requests without pause until told to stop.
fn client(port: u16) -> (Arc<AtomicBool>, std::thread::JoinHandle<Tally>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::spawn(move || {
        let mut tally = Tally::default();
        while !flag.load(Ordering::Relaxed) {
            let start = Instant::now();
            let answer = get(port);
            tally.longest = tally.longest.max(start.elapsed());
            tally.sent += 1;
            match answer {
                Some(pid) if !tally.pids.contains(&pid) => tally.pids.push(pid),
                Some(_) => {}
                None => tally.failed += 1,
            }
        }
        tally
    });
    (stop, handle)
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the client through `restarts` restarts done by `restart`; the tally.
fn measure(port: u16, restarts: usize, mut restart: impl FnMut()) -> Tally {
    wait_until("the service never answered", || get(port).is_some());
    let (stop, handle) = client(port);
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..restarts {
        restart();
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    handle.join().unwrap()
}

fn row(rows: &Mutex<Vec<String>>, case: &str, tally: &Tally, restarts: usize) {
    rows.lock().unwrap().push(format!(
        "{case:<44} {restarts:>8} {:>8} {:>7} {:>9} {:>10.1} ms",
        tally.sent,
        tally.failed,
        tally.pids.len(),
        tally.longest.as_secs_f64() * 1000.0
    ));
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let restarts = if quick { 2 } else { 10 };
    let Some(server) = support::example("zero_downtime") else {
        return;
    };
    let rows = Mutex::new(Vec::new());

    // sdnotify run, restarted by sdnotify ctl.
    let runtime = std::env::temp_dir().join(format!("sdnotify-bench-{}", std::process::id()));
    std::fs::create_dir_all(&runtime).unwrap();
    let port = free_port();
    let mut supervisor = Command::new(support::supervised::SDNOTIFY)
        .args([
            "run",
            "--name=bench",
            &format!("--listen=http=127.0.0.1:{port}"),
            "--restart=always",
            "--fdstore-max=1",
            "--start-limit-burst=0",
            "--",
            &server,
        ])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ctl = |request: &str| {
        Command::new(support::supervised::SDNOTIFY)
            .args(["ctl", "bench", request])
            .env("XDG_RUNTIME_DIR", &runtime)
            .output()
            .unwrap()
    };
    let tally = measure(port, restarts, || {
        let out = ctl("restart");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    });
    ctl("stop");
    let _ = supervisor.wait();
    let _ = std::fs::remove_dir_all(&runtime);
    row(
        &rows,
        "sdnotify run --listen, sdnotify ctl restart",
        &tally,
        restarts,
    );

    if !quick {
        for manager in managers("zero_downtime bench") {
            let version = manager.version;
            // A socket unit: the manager holds the listening socket.
            let port = free_port();
            let service = socket_unit(&manager, "sdnotify-zd-socket", port, &server);
            let tally = measure(port, restarts, || {
                let out = manager.systemctl(&["restart", &service]);
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            });
            let _ = manager.systemctl(&["stop", "sdnotify-zd-socket.socket", &service]);
            row(
                &rows,
                &format!("systemd {version}: .socket unit, systemctl restart"),
                &tally,
                restarts,
            );

            // The fd store alone (FileDescriptorStorePreserve= is 254+).
            if version < 254 {
                rows.lock().unwrap().push(format!(
                    "systemd {version}: fd store alone                    NOT RUN: FileDescriptorStorePreserve= needs 254"
                ));
                continue;
            }
            let port = free_port();
            let unit = "sdnotify-zd-store.service";
            fd_store_unit(&manager, unit, port, &server);
            let tally = measure(port, restarts, || {
                let out = manager.systemctl(&["restart", unit]);
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            });
            let _ = manager.systemctl(&["stop", unit]);
            row(
                &rows,
                &format!("systemd {version}: fd store alone, systemctl restart"),
                &tally,
                restarts,
            );
        }
    }
    println!(
        "\nzero-downtime restarts of examples/zero_downtime (axum), a client sending without pause\n\
         {:<44} {:>8} {:>8} {:>7} {:>9} {:>13}",
        "case", "restarts", "requests", "failed", "instances", "longest"
    );
    for line in rows.lock().unwrap().iter() {
        println!("{line}");
    }
}
