//! `sdnotify run --type=notify-reload`: the handshake systemd's Type=notify-reload expects,
//! with shell scripts and with the greeter examples (examples/reload.rs, reload_tokio.rs).

use std::io::{BufRead, BufReader};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::example;
use support::supervised::{command, run};

mod support;

/// A service under `sdnotify run --json`, stopped (SIGTERM to the supervisor) once `until`
/// holds for an event; the events and the supervisor's exit status.
fn run_until(
    options: &[&str],
    command_line: &[&str],
    mut on_event: impl FnMut(&Value) -> bool,
) -> (Vec<Value>, ExitStatus) {
    let mut cmd = command(options, command_line, &[]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let pid = child.id().to_string();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut events = Vec::new();
    let mut stopped = false;
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let done = on_event(&event);
        events.push(event);
        if (done || Instant::now() > deadline) && !stopped {
            let _ = std::process::Command::new("kill")
                .args(["-s", "TERM", &pid])
                .status();
            stopped = true;
        }
    }
    let status = child.wait().unwrap();
    assert!(stopped, "the supervisor ended by itself: {events:?}");
    (events, status)
}

fn named<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == name).collect()
}

/// The greeter's configuration in a fresh file.
fn greeter_conf(test: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sdnotify-run-reload-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("greeter.conf");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_greeter_reloads_under_sdnotify_run() {
    let Some(greeter) = example("reload") else {
        return;
    };
    let conf = greeter_conf("sync", "greeting = hello\ninterval_ms = 100\n");
    let (events, status) = run_until(
        &["--type=notify-reload", "--reload-after=300ms"],
        &[&greeter, conf.to_str().unwrap()],
        |e| e["event"] == "reloaded",
    );
    let _ = std::fs::remove_dir_all(conf.parent().unwrap());
    let requested = named(&events, "reload-requested");
    assert_eq!(requested.len(), 1, "{events:?}");
    assert_eq!(requested[0]["signal"], "SIGHUP");
    let asked = requested[0]["monotonic_usec"].as_u64().unwrap();
    let reloading = named(&events, "reloading")[0]["monotonic_usec"].as_u64().unwrap();
    assert!(
        reloading >= asked,
        "MONOTONIC_USEC {reloading} >= request {asked}"
    );
    let statuses: Vec<&str> = named(&events, "status")
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.last().copied(),
        Some("greeting \"hello\" every 100 ms (configuration #2)")
    );
    assert!(named(&events, "reload-failed").is_empty() && named(&events, "warning").is_empty());
    // Stopped by the test: the greeter dies of SIGTERM, and so does sdnotify run (a shell
    // reports it as 143; systemd as a clean stop).
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(status.signal(), Some(15), "{events:?}");
}

#[test]
fn reload_signal_sigusr1_with_the_tokio_greeter() {
    let Some(greeter) = example("reload_tokio") else {
        return;
    };
    let conf = greeter_conf("tokio", "greeting = hello\ninterval_ms = 100\n");
    let (events, _) = run_until(
        &[
            "--type=notify-reload",
            "--reload-after=300ms",
            "--reload-signal=USR1",
        ],
        &[&greeter, conf.to_str().unwrap()],
        |e| e["event"] == "reloaded",
    );
    let _ = std::fs::remove_dir_all(conf.parent().unwrap());
    assert_eq!(named(&events, "reload-requested")[0]["signal"], "SIGUSR1");
    assert_eq!(named(&events, "signal")[0]["signal"], "SIGUSR1");
    assert_eq!(named(&events, "reloaded").len(), 1);
    assert!(named(&events, "start-failed").is_empty());
}

#[test]
fn a_service_that_does_not_catch_its_reload_signal_fails_at_ready() {
    // As systemd 262: the start is refused when READY=1 arrives, whatever the signal.
    let Some(greeter) = example("reload") else {
        return;
    };
    let conf = greeter_conf("uncaught", "greeting = hello\n");
    let r = run(
        &["--type=notify-reload", "--reload-signal=SIGUSR2"],
        &[&greeter, conf.to_str().unwrap()],
        &[],
    );
    let _ = std::fs::remove_dir_all(conf.parent().unwrap());
    assert_eq!(r.code, Some(76), "{:?}", r.names());
    let reason = r.first("start-failed")["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("neither catches nor blocks SIGUSR2"), "{reason}");
    assert_eq!(r.count("ready"), 0);
}

#[test]
fn a_handler_gone_before_the_reload_is_warned_about_and_signalled_anyway() {
    // The trap is removed after READY=1: systemd 262 logs a warning and sends the signal.
    let script = "trap 'sdnotify --reloading --no-block; sdnotify --ready --no-block' HUP
        sdnotify --ready
        trap - HUP
        sleep 5 & wait";
    let r = run(
        &["--type=notify-reload", "--reload-after=300ms"],
        &["sh", "-c", script],
        &[],
    );
    let warning = r.first("warning")["text"].as_str().unwrap().to_owned();
    assert!(
        warning.contains("no longer catches or blocks SIGHUP"),
        "{warning}"
    );
    assert!(r.t("warning") <= r.t("signal"));
    // SIGHUP's default action ends the shell during the reload.
    assert_eq!(r.code, Some(76), "{:?}", r.names());
    assert!(r.first("reload-failed")["reason"]
        .as_str()
        .unwrap()
        .contains("exited during the reload"));
}

const RELOADABLE: &str = "
    trap 'sdnotify --reloading --no-block; sdnotify --ready --no-block' HUP
    sdnotify --ready
    i=0; while [ $i -lt 15 ]; do sleep 0.1 & wait; i=$((i+1)); done";

#[test]
fn notify_reload_handshake_good() {
    let r = run(
        &["--type=notify-reload", "--reload-after=300ms"],
        &["sh", "-c", RELOADABLE],
        &[],
    );
    assert_eq!(r.code, Some(0), "{:?} {}", r.names(), r.stderr);
    let requested = r.first("reload-requested")["monotonic_usec"].as_u64().unwrap();
    assert_eq!(r.first("signal")["signal"], "SIGHUP");
    let reloading = r.first("reloading")["monotonic_usec"].as_u64().unwrap();
    assert!(
        reloading >= requested,
        "MONOTONIC_USEC {reloading} >= request {requested}"
    );
    assert!(r.t("reloaded") >= r.t("reloading"));
    assert_eq!(r.count("reload-failed"), 0);
}

#[test]
fn notify_reload_handshake_bad() {
    // READY=1 without RELOADING=1 first.
    let lazy = RELOADABLE.replace("sdnotify --reloading --no-block; ", "");
    let r = run(
        &[
            "--type=notify-reload",
            "--reload-after=300ms",
            "--timeout-start=600ms",
        ],
        &["sh", "-c", &lazy],
        &[],
    );
    // As systemd: the bare READY=1 is ignored, and the reload fails at its timeout while the
    // service keeps running.
    assert_eq!(r.code, Some(76), "{:?}", r.names());
    assert!(r.first("ignored")["reason"]
        .as_str()
        .unwrap()
        .contains("before RELOADING=1"));
    assert!(r.t("reload-failed") < r.t("exited"));
    // RELOADING=1 with a MONOTONIC_USEC from before the request.
    let stale = RELOADABLE.replace(
        "sdnotify --reloading --no-block",
        "sdnotify --no-block RELOADING=1 MONOTONIC_USEC=1",
    );
    let r = run(
        &[
            "--type=notify-reload",
            "--reload-after=300ms",
            "--timeout-start=600ms",
        ],
        &["sh", "-c", &stale],
        &[],
    );
    assert_eq!(r.code, Some(76));
    assert!(r.first("ignored")["reason"]
        .as_str()
        .unwrap()
        .contains("older than the reload request"));
    // No answer at all within the timeout (caught, as systemd 262 wants, but never answered).
    let silent = RELOADABLE.replace(
        "trap 'sdnotify --reloading --no-block; sdnotify --ready --no-block' HUP",
        "trap ':' HUP",
    );
    let r = run(
        &[
            "--type=notify-reload",
            "--reload-after=200ms",
            "--timeout-start=300ms",
        ],
        &["sh", "-c", &silent],
        &[],
    );
    assert_eq!(r.code, Some(76));
    assert!(r.first("reload-failed")["reason"]
        .as_str()
        .unwrap()
        .contains("not finished"));
}
