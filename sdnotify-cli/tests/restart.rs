//! `sdnotify run --restart=`: systemd's Restart= table, the start rate limit, no restart after a
//! stop request, and restarts that keep the listening sockets and hand the fd store back, so
//! no request is refused while the service restarts.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http::{free_port, get_pid as get};
use support::supervised::{command, run, Ready, Running};

fn reasons(events: &[Value], name: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == name)
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_crash_loop_restarts_until_the_start_limit() {
    let r = run(
        &[
            "--restart=on-failure",
            "--restart-sec=10ms",
            "--start-limit-burst=3",
        ],
        &["sh", "-c", "sdnotify --ready; exit 3"],
        &[],
    );
    assert_eq!(r.count("started"), 3, "{:?}", r.names());
    assert_eq!(
        reasons(&r.events, "restarting"),
        ["exited with a failure status"; 2]
    );
    assert_eq!(r.count("start-limit-hit"), 1);
    assert_eq!(r.code, Some(3), "the last instance's status");
}

#[test]
fn on_failure_does_not_restart_a_clean_exit_and_always_does() {
    let clean = run(&["--restart=on-failure"], &["sh", "-c", "sdnotify --ready"], &[]);
    assert_eq!(
        (clean.count("started"), clean.count("restarting"), clean.code),
        (1, 0, Some(0))
    );
    let always = run(
        &["--restart=always", "--restart-sec=10ms", "--start-limit-burst=2"],
        &["sh", "-c", "sdnotify --ready"],
        &[],
    );
    assert_eq!(reasons(&always.events, "restarting"), ["exited cleanly"]);
    let watchdog = run(
        &[
            "--restart=on-watchdog",
            "--watchdog=200ms",
            "--timeout-stop=1s",
            "--restart-sec=10ms",
            "--start-limit-burst=2",
        ],
        &["sh", "-c", "sdnotify --ready; sleep 5"],
        &[],
    );
    assert_eq!(reasons(&watchdog.events, "restarting"), ["missed its watchdog"]);
    assert_eq!(watchdog.code, Some(125));
}

#[test]
fn a_stop_request_is_never_followed_by_a_restart() {
    let ready = Ready::start(&["--restart=always"], &["sh", "-c", "sdnotify --ready; sleep 30"]);
    let (rest, status) = ready.signal_and_wait(rustix::process::Signal::TERM);
    // Ended, not restarted: of the stop's SIGTERM, as the service.
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(15), "{rest:?}");
    assert!(!rest.iter().any(|e| e["event"] == "restarting"), "{rest:?}");
}

#[test]
fn restarts_keep_the_socket_and_hand_the_store_back_so_no_request_is_refused() {
    let Some(server) = support::example("zero_downtime") else {
        return;
    };
    let port = free_port();
    let mut child = command(
        &[
            &format!("--listen=http=127.0.0.1:{port}"),
            "--restart=always",
            "--restart-sec=0",
            "--fdstore-max=4",
        ],
        &[&server, "127.0.0.1:1"],
        &[],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .map(Running)
    .unwrap();
    let supervisor = rustix::process::Pid::from_raw(child.0.id() as i32).unwrap();
    let events = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let reader = {
        let events = Arc::clone(&events);
        let stdout = BufReader::new(child.0.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                events.lock().unwrap().push(serde_json::from_str(&line).unwrap());
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !events.lock().unwrap().iter().any(|e| e["event"] == "ready") {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = get(port).expect("served by the first instance");
    // A client that never pauses, counting what fails, while the service restarts.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client = {
        let (stop, sent, failed) = (Arc::clone(&stop), Arc::clone(&sent), Arc::clone(&failed));
        std::thread::spawn(move || {
            let mut pids = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                match get(port) {
                    Ok(pid) if !pids.contains(&pid) => pids.push(pid),
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("request failed: {e}");
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            pids
        })
    };
    let mut current = first;
    for _ in 0..3 {
        // The instance ends (as on a crash or an upgrade); --restart=always starts the next.
        let pid = rustix::process::Pid::from_raw(current as i32).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(next) = get(port) {
                if next != current {
                    current = next;
                    break;
                }
            }
            assert!(Instant::now() < deadline, "no new instance");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let pids = client.join().unwrap();
    rustix::process::kill_process(supervisor, rustix::process::Signal::TERM).unwrap();
    assert!(child.0.wait().unwrap().success());
    reader.join().unwrap();
    let events = events.lock().unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "of {} requests",
        sent.load(Ordering::Relaxed)
    );
    assert!(pids.len() >= 2, "the client saw the restarts: {pids:?}");
    let handed: Vec<&Value> = events.iter().filter(|e| e["event"] == "handed-back").collect();
    assert_eq!(handed.len(), 3, "each restart got the store back");
    assert_eq!(handed[0]["names"], serde_json::json!(["http"]));
    let stored = events.iter().rfind(|e| e["event"] == "fdstore").unwrap();
    assert_eq!(stored["stored"], 1, "the same socket is stored once");
}
