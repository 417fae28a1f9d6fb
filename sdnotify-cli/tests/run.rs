//! `sdnotify run`: real services under the supervisor, their events read from `--json`.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::example;
use support::supervised::{run, SDNOTIFY};

mod support;

const SCENARIO: &str = "SDNOTIFY_RUN_TEST_SCENARIO";

#[test]
fn the_demo_service_ready_status_watchdog_stopping() {
    let Some(example_service) = example("service") else {
        return;
    };
    let r = run(
        &["--watchdog=400ms"],
        &[&example_service],
        &[("SERVICE_RUN_SECS", "1.2")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let names = r.names();
    assert_eq!(names[0], "started");
    assert_eq!(r.events[1]["text"], "loading configuration");
    assert!(r.t("ready") >= 0.2, "init takes 200 ms: {}", r.t("ready"));
    assert!(r.first("ready")["startup_s"].as_f64().unwrap() >= 0.2);
    assert!(
        r.count("watchdog") >= 4,
        "pings every 200 ms for 1.2 s: {names:?}"
    );
    assert!(r.t("stopping") > r.t("ready"));
    assert_eq!(names.last(), Some(&"exited"));
    let exited = r.first("exited");
    assert_eq!(
        (exited["code"].as_i64(), exited["exit"].as_i64()),
        (Some(0), Some(0))
    );
}

#[test]
fn a_wedged_heartbeat_service_is_killed_by_the_watchdog() {
    let Some(example_watchdog_heartbeat) = example("watchdog_heartbeat") else {
        return;
    };
    let r = run(
        &["--watchdog=300ms", "--timeout-stop=2s"],
        &[&example_watchdog_heartbeat],
        &[("EXAMPLE_WEDGE_AFTER_MS", "600"), ("EXAMPLE_RUN_MS", "10000")],
    );
    assert_eq!(
        r.code,
        Some(125),
        "watchdog exit code; {:?} {}",
        r.names(),
        r.stderr
    );
    assert!(r.count("watchdog") >= 3, "{:?}", r.names());
    let timeout = r.t("watchdog-timeout");
    assert!(timeout > r.t("ready") + 0.5, "fires after the loop wedged");
    let abort = r.first("signal");
    assert_eq!(abort["signal"], "SIGABRT");
    assert_eq!(r.first("exited")["signal"].as_i64(), Some(6));
}

#[test]
fn no_ready_within_the_start_timeout() {
    let r = run(
        &["--timeout-start=300ms", "--timeout-stop=2s"],
        &["sleep", "30"],
        &[],
    );
    assert_eq!(r.code, Some(124));
    assert_eq!(r.first("start-timeout")["seconds"].as_f64(), Some(0.3));
    assert_eq!(r.first("signal")["signal"], "SIGTERM");
    assert_eq!(r.first("exited")["signal"].as_i64(), Some(15));
}

#[test]
fn extend_timeout_usec_is_honoured() {
    let script = "sdnotify --no-block EXTEND_TIMEOUT_USEC=2000000 && sleep 0.6 && sdnotify --ready";
    let r = run(&["--timeout-start=300ms"], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(0), "{:?} {}", r.names(), r.stderr);
    assert_eq!(r.count("start-timeout"), 0);
    assert!(r.t("ready") > 0.5);
    assert_eq!(r.first("extend-timeout")["seconds"].as_f64(), Some(2.0));
}

#[test]
fn still_killed_when_the_stop_times_out() {
    // A service that ignores SIGTERM gets SIGKILL after --timeout-stop.
    let script = "trap '' TERM; sdnotify --no-block --status=stubborn; sleep 30";
    let r = run(
        &["--timeout-start=300ms", "--timeout-stop=300ms"],
        &["sh", "-c", script],
        &[],
    );
    assert_eq!(r.code, Some(124));
    let signals: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e["event"] == "signal")
        .map(|e| e["signal"].as_str().unwrap())
        .collect();
    assert_eq!(signals, ["SIGTERM", "SIGKILL"]);
}

#[test]
fn notify_access_main_rejects_other_processes() {
    // The subshell is another process; its sdnotify speaks for it, not for the main process.
    // sdnotify speaks for its parent; run it under a shell of its own, which is not the main
    // process (`; true` keeps that shell from exec'ing it in place).
    // Without --no-block: the barrier keeps the helper alive until its message was read, so
    // the supervisor can still see that it belongs to the service (as systemd needs to).
    let script = "sh -c 'sdnotify --status=from-a-helper; true'; sdnotify --ready";
    let r = run(&[], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(0));
    assert!(r.first("rejected")["reason"]
        .as_str()
        .unwrap()
        .contains("is not the main process"));
    assert_eq!(r.count("status"), 0);
    let r = run(&["--notify-access=all"], &["sh", "-c", script], &[]);
    assert_eq!(r.count("rejected"), 0);
    assert_eq!(r.first("status")["text"], "from-a-helper");
}

#[test]
fn every_key_is_reported() {
    let script = "sdnotify --no-block --ready --status='a \\ b' ERRNO=5 BUSERROR=org.x.Failed EXIT_STATUS=3 \
                  X_CUSTOM=1 WATCHDOG_USEC=5000000 EXTEND_TIMEOUT_USEC=1000 MAINPID=$$ NOTIFYACCESS=main && \
                  sdnotify --stopping";
    let r = run(&[], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.first("status")["text"], "a \\ b", "shown as written");
    let info: Vec<(&str, &str)> = r
        .events
        .iter()
        .filter(|e| e["event"] == "info")
        .map(|e| (e["key"].as_str().unwrap(), e["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        info,
        [("ERRNO", "5"), ("BUSERROR", "org.x.Failed"), ("EXIT_STATUS", "3")]
    );
    assert_eq!(r.first("unknown")["line"], "X_CUSTOM=1");
    assert_eq!(r.first("watchdog-usec")["seconds"].as_f64(), Some(5.0));
    assert_eq!(r.first("notify-access")["value"], "main");
    assert_eq!(
        r.count("mainpid"),
        0,
        "MAINPID= naming the main process changes nothing"
    );
    assert_eq!(r.count("barrier"), 1, "the second call waited for its barrier");
    assert!(r.count("stopping") == 1);
}

#[test]
fn bad_command_lines() {
    let r = run(&[], &["/nonexistent/program"], &[]);
    assert_eq!(r.code, Some(127));
    assert!(r.stderr.contains("cannot start"), "{}", r.stderr);
    let r = run(&["--watchdog=1s"], &["/nonexistent/program"], &[]);
    assert_eq!(r.code, Some(127));
    let out = Command::new(SDNOTIFY)
        .args(["run", "--reload-after=1s", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reload-after needs --type=notify-reload"));
    let out = Command::new(SDNOTIFY)
        .args(["run", "--watchdog=soon", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid time span \"soon\""));
    let out = Command::new(SDNOTIFY).args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

// --- A hostile child: the test binary itself, run again in a scenario mode. ---

/// What the hostile child does; it reports the supervisor's fd count and peak memory.
#[test]
fn hostile_scenario_entry_point() {
    if std::env::var_os(SCENARIO).is_none() {
        return;
    }
    use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let supervisor = std::os::unix::process::parent_id();
    let fd_count = || {
        std::fs::read_dir(format!("/proc/{supervisor}/fd"))
            .unwrap()
            .count()
    };
    let notifier = sdnotify_runtime::Notifier::connect(std::env::var_os("NOTIFY_SOCKET").unwrap()).unwrap();
    notifier.notify(&[sdnotify_runtime::State::Ready]).unwrap();
    notifier.barrier(Duration::from_secs(5)).unwrap();
    let before = fd_count();
    let raw = rustix::net::socket(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::DGRAM,
        None,
    )
    .unwrap();
    let addr = rustix::net::SocketAddrUnix::new(std::env::var_os("NOTIFY_SOCKET").unwrap()).unwrap();
    rustix::net::connect(&raw, &addr).unwrap();
    // Oversize, NUL, a lone trailing backslash, invalid UTF-8.
    let _ = rustix::net::send(&raw, &vec![b'x'; 9000], SendFlags::empty());
    let _ = rustix::net::send(&raw, b"READY=1\0STATUS=nul", SendFlags::empty());
    let _ = rustix::net::send(&raw, b"STATUS=dangling\\", SendFlags::empty());
    let _ = rustix::net::send(&raw, b"STATUS=\xff\xfe", SendFlags::empty());
    // 300 descriptors: 253 to the fd store (more than it keeps), 47 without FDSTORE=1.
    let pipes: Vec<OwnedFd> = (0..300).map(|_| rustix::pipe::pipe().unwrap().0).collect();
    let borrowed: Vec<_> = pipes.iter().map(|f| f.as_fd()).collect();
    for (chunk, text) in [
        (&borrowed[..253], &b"FDSTORE=1\nFDNAME=flood"[..]),
        (&borrowed[253..], &b"X_STRAY=1"[..]),
    ] {
        let mut space = vec![std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(253))];
        let mut control = SendAncillaryBuffer::new(&mut space);
        assert!(control.push(SendAncillaryMessage::ScmRights(chunk)));
        rustix::net::sendmsg(
            &raw,
            &[std::io::IoSlice::new(text)],
            &mut control,
            SendFlags::empty(),
        )
        .unwrap();
    }
    // 100,000 messages.
    for i in 0..100_000u32 {
        let msg = if i % 2 == 0 {
            "WATCHDOG=1".to_owned()
        } else {
            format!("X_FLOOD={i}")
        };
        notifier.notify_raw(&msg).unwrap();
    }
    notifier.barrier(Duration::from_secs(30)).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{supervisor}/status")).unwrap();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap()
        .to_owned();
    eprintln!("fds-before {before} fds-after {} {hwm}", fd_count());
}

#[test]
fn a_hostile_child_cannot_crash_or_bloat_the_supervisor() {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(SDNOTIFY);
    // The child's own test-harness output must not mix with the JSON on stdout.
    cmd.args([
        "run",
        "--json",
        "--notify-access=all",
        "--fdstore-max=64",
        "--",
        "sh",
        "-c",
        "exec \"$0\" \"$@\" >/dev/null",
    ])
    .arg(&exe)
    .args([
        "--exact",
        "hostile_scenario_entry_point",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(SCENARIO, "1")
    .env_remove("NOTIFY_SOCKET")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "rejected")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("exceeds the 4096-byte limit")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("embedded NUL")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("trailing backslash")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("--fdstore-max=64")),
        "{reasons:?}"
    );
    assert!(events.iter().any(|e| e["event"] == "stray-fds" && e["fds"] == 47));
    let flood = events
        .iter()
        .filter(|e| e["event"] == "unknown" && e["line"].as_str().unwrap().starts_with("X_FLOOD="))
        .count();
    assert_eq!(flood, 50_000, "every X_FLOOD line reported, none lost");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("fds-before"))
        .expect("the child's report");
    let words: Vec<&str> = line.split_whitespace().collect();
    let (before, after): (usize, usize) = (words[1].parse().unwrap(), words[3].parse().unwrap());
    assert_eq!(after, before, "every received descriptor was closed: {line}");
    let hwm_kib: u64 = words[5].parse().unwrap();
    assert!(
        hwm_kib < 16 * 1024,
        "the supervisor stayed small under the flood: {line}"
    );
}

#[test]
fn sigterm_to_the_supervisor_stops_the_service_like_systemctl_stop() {
    let bin_dir = PathBuf::from(SDNOTIFY).parent().unwrap().to_path_buf();
    let child = Command::new(SDNOTIFY)
        .args(["run", "--json", "--", "sh", "-c", "sdnotify --ready; sleep 30"])
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let events: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "started",
            "ready",
            "barrier",
            "stop-requested",
            "signal",
            "exited"
        ],
        "{events:?}"
    );
    assert_eq!(events[4]["signal"], "SIGTERM");
    // The service died of SIGTERM, and so does the supervisor: a shell sees 143, systemd a
    // clean stop.
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(
        out.status.signal(),
        Some(15),
        "the service's status: killed by SIGTERM"
    );
    assert_eq!(events[5]["exit"], 128 + 15);
}

#[test]
fn watchdog_trigger_is_treated_as_a_missed_ping() {
    let script = "sdnotify --ready && sdnotify --no-block WATCHDOG=trigger && sleep 30";
    let r = run(&["--timeout-stop=2s"], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(125), "{:?}", r.names());
    assert!(r.t("watchdog-trigger") <= r.t("signal"));
    assert_eq!(r.first("signal")["signal"], "SIGABRT");
}

#[test]
fn the_fd_store_keeps_lists_and_removes_descriptors() {
    let script = "sdnotify --no-block --fd=3 --fd=4 --fdname=cache 3</dev/null 4</dev/null && \
                  sdnotify --no-block --fd=3 --fdname=conn 3</dev/null && \
                  sdnotify --no-block FDSTOREREMOVE=1 FDNAME=cache && sdnotify --ready";
    let r = run(
        &["--notify-access=all", "--fdstore-max=64"],
        &["sh", "-c", script],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let stores: Vec<(&str, u64, u64)> = r
        .events
        .iter()
        .filter(|e| e["event"] == "fdstore")
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["fds"].as_u64().unwrap(),
                e["stored"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(stores, [("cache", 2, 2), ("conn", 1, 3)]);
    let removed = r.first("fdstore-remove");
    assert_eq!(
        (removed["removed"].as_u64(), removed["stored"].as_u64()),
        (Some(2), Some(1))
    );
}
