//! `sdnotify run` under an outer manager (its own `NOTIFY_SOCKET`): the service's state is
//! relayed as the supervisor's own, byte for byte as checked here against a listener playing
//! the outer manager, and through a nested `sdnotify run`. Under real systemd managers:
//! `systemd_relay.rs`.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sdnotify_runtime::manager::{Datagram, Listener};
use support::example;
use support::supervised::{command, run, Ready, SDNOTIFY};

mod support;

/// Everything the listener receives until `done` says so or 20 s pass.
fn receive_until(listener: &Listener, mut done: impl FnMut(&[Datagram]) -> bool) -> Vec<Datagram> {
    listener
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while !done(&got) && Instant::now() < deadline {
        if let Ok(d) = listener.recv() {
            got.push(d);
        }
    }
    got
}

fn text(d: &Datagram) -> String {
    String::from_utf8_lossy(d.bytes()).into_owned()
}

/// The inner `sdnotify run`, with `listener` as its manager.
fn inner(listener: &Listener, options: &[&str], service: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = command(options, service, env);
    cmd.env("NOTIFY_SOCKET", listener.address())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn each_datagram_of_the_service_is_relayed_as_the_supervisors_own() {
    let listener = Listener::bind_unique().unwrap();
    let script = "sdnotify --status=a; sdnotify --ready --status='b\\\\c'; sdnotify --status=x MAINPID=1; \
                  sdnotify --reloading; sdnotify --ready; sdnotify ERRNO=5 --stopping";
    let mut child = inner(&listener, &["--notify-access=all"], &["sh", "-c", script], &[])
        .spawn()
        .unwrap();
    let got = receive_until(&listener, |got| {
        got.iter().any(|d| text(d).contains("STOPPING=1"))
    });
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let texts: Vec<String> = got.iter().map(text).collect();
    assert_eq!(texts.len(), 6, "{texts:?}");
    assert_eq!(texts[0], "STATUS=a");
    // The status is b\\c; the drop-in escaped each backslash, and so does the relay.
    let sent = format!("READY=1\n{}", r"STATUS=b\\\\c");
    assert_eq!(texts[1], sent, "the bytes the service sent");
    assert_eq!(texts[2], "STATUS=x", "MAINPID= is never relayed");
    let (reloading, usec) = texts[3].split_once('\n').unwrap();
    assert_eq!(reloading, "RELOADING=1");
    let usec: u64 = usec.strip_prefix("MONOTONIC_USEC=").unwrap().parse().unwrap();
    assert!(usec > 0);
    assert_eq!(texts[4], "READY=1");
    assert_eq!(texts[5], "STOPPING=1\nERRNO=5");
    for d in &got {
        assert_eq!(d.pid(), Some(child.id()), "sent by the supervisor itself");
    }
}

#[test]
fn the_outer_watchdog_is_passed_on_and_the_pings_relayed() {
    let Some(watchdog_auto) = example("watchdog_auto") else {
        return;
    };
    let listener = Listener::bind_unique().unwrap();
    let mut child = inner(
        &listener,
        &[],
        &[&watchdog_auto],
        &[("WATCHDOG_USEC", "400000"), ("EXAMPLE_RUN_MS", "1000")],
    )
    .spawn()
    .unwrap();
    let got = receive_until(&listener, |got| got.iter().any(|d| text(d) == "STOPPING=1"));
    assert!(child.wait().unwrap().success());
    let pings = got.iter().filter(|d| text(d) == "WATCHDOG=1").count();
    assert!(
        pings >= 3,
        "the service pinged every 200 ms: {:?}",
        got.iter().map(text).collect::<Vec<_>>()
    );

    // WATCHDOG_PID naming another process: the interval is not ours, nor the service's.
    let listener = Listener::bind_unique().unwrap();
    let mut child = inner(
        &listener,
        &[],
        &[&watchdog_auto],
        &[
            ("WATCHDOG_USEC", "400000"),
            ("WATCHDOG_PID", "1"),
            ("EXAMPLE_RUN_MS", "500"),
        ],
    )
    .spawn()
    .unwrap();
    let got = receive_until(&listener, |got| got.iter().any(|d| text(d) == "STOPPING=1"));
    assert!(child.wait().unwrap().success());
    assert!(
        got.iter().all(|d| text(d) != "WATCHDOG=1"),
        "{:?}",
        got.iter().map(text).collect::<Vec<_>>()
    );
}

#[test]
fn a_full_outer_queue_never_stalls_the_supervisor_and_pending_messages_follow() {
    let listener = Listener::bind_unique().unwrap();
    // Fill the outer manager's queue as a wedged manager would leave it.
    let filler = UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    let mut queued = 0;
    while filler.send_to(b"X_FILL=1", listener.address()).is_ok() {
        queued += 1;
        assert!(queued < 100_000, "the queue never filled");
    }
    let mut child = inner(
        &listener,
        &["--notify-access=all"],
        &[
            "sh",
            "-c",
            "sdnotify --ready --status=up; sleep 0.5; sdnotify --status=still",
        ],
        &[],
    )
    .spawn()
    .unwrap();
    // The service ends (and so the supervisor) while nothing can be relayed.
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut left = 0;
    listener
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    while listener.recv().is_ok_and(|d| text(&d) == "X_FILL=1") {
        left += 1;
    }
    assert!(
        left >= queued - 1,
        "nothing relayed pushed out the queue: {left} of {queued}"
    );

    // Room after a while: what waited is sent, in order.
    let listener = Listener::bind_unique().unwrap();
    let mut queued = 0;
    while filler.send_to(b"X_FILL=1", listener.address()).is_ok() {
        queued += 1;
    }
    let mut child = inner(
        &listener,
        &["--notify-access=all"],
        &["sh", "-c", "sdnotify --status=one; sdnotify --ready; sleep 1"],
        &[],
    )
    .spawn()
    .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let got = receive_until(&listener, |got| got.iter().any(|d| text(d) == "READY=1"));
    let relayed: Vec<String> = got.iter().map(text).filter(|t| t != "X_FILL=1").collect();
    assert_eq!(relayed, ["STATUS=one", "READY=1"], "{} filled", queued);
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_nested_sdnotify_run_is_transparent() {
    let Some(service) = example("service") else {
        return;
    };
    let r = run(
        &["--watchdog=400ms"],
        &[SDNOTIFY, "run", "--", &service],
        &[("SERVICE_RUN_SECS", "1.2")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let names = r.names();
    assert_eq!(r.count("started"), 1, "{names:?}");
    assert_eq!(
        r.count("mainpid"),
        0,
        "MAINPID stays the inner supervisor: {names:?}"
    );
    assert_eq!(r.count("rejected"), 0, "{names:?}");
    assert_eq!(r.events[1]["text"], "loading configuration");
    assert!(r.t("ready") >= 0.2, "ready when the service is: {}", r.t("ready"));
    assert!(r.count("watchdog") >= 4, "the service's pings: {names:?}");
    assert!(r.t("stopping") > r.t("ready"));
    assert_eq!(names.last(), Some(&"exited"));
}

#[test]
fn a_wedged_service_under_a_nested_run_is_caught_by_the_outer_watchdog() {
    let Some(heartbeat) = example("watchdog_heartbeat") else {
        return;
    };
    let r = run(
        &["--watchdog=300ms", "--timeout-stop=2s"],
        &[SDNOTIFY, "run", "--", &heartbeat],
        &[("EXAMPLE_WEDGE_AFTER_MS", "600"), ("EXAMPLE_RUN_MS", "10000")],
    );
    assert_eq!(
        r.code,
        Some(125),
        "the outer watchdog fired: {:?} {}",
        r.names(),
        r.stderr
    );
    assert!(
        r.count("watchdog") >= 2,
        "pings relayed until the wedge: {:?}",
        r.names()
    );
    // The outer supervisor's own verdict: the inner one passes the interval on, not enforcing it.
    assert_eq!(r.count("watchdog-timeout"), 1, "{:?}", r.names());
    assert_eq!(r.first("status")["text"], "wedged");
}

#[test]
fn the_outer_watchdog_is_fed_while_the_inner_run_restarts_the_service() {
    let Some(watchdog_auto) = example("watchdog_auto") else {
        return;
    };
    let r = run(
        &["--watchdog=300ms"],
        &[
            SDNOTIFY,
            "run",
            "--restart=always",
            "--restart-sec=800ms",
            "--start-limit-burst=3",
            "--",
            &watchdog_auto,
        ],
        &[("EXAMPLE_RUN_MS", "300")],
    );
    let names = r.names();
    assert_eq!(r.count("watchdog-timeout"), 0, "{names:?} {}", r.stderr);
    let restarts: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e["event"] == "status")
        .filter_map(|e| e["text"].as_str())
        .filter(|t| t.starts_with("sdnotify run: the service"))
        .collect();
    assert_eq!(restarts.len(), 2, "{restarts:?}");
    assert_eq!(r.count("ready"), 1, "READY=1 is told once: {names:?}");
}

/// systemd's watchdog signals the unit's processes with SIGABRT (WatchdogSignal=); in a
/// container only PID 1 gets it. `sdnotify run` passes it on to the main process, ends the
/// service and removes its socket directory, rather than dying of it and leaving that behind.
#[test]
fn sigabrt_reaches_the_service_and_the_supervisor_cleans_up() {
    let ready = Ready::start(&[], &["sh", "-c", "sdnotify --ready; exec sleep 30"]);
    let dir = ready.socket_dir.clone();
    let (rest, status) = ready.signal_and_wait(rustix::process::Signal::ABORT);
    let of = |name: &str| {
        rest.iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name}: {rest:?}"))
    };
    assert_eq!(of("stop-requested")["signal"], "SIGABRT");
    assert_eq!(
        of("signal")["signal"],
        "SIGABRT",
        "passed on to the main process: {rest:?}"
    );
    assert_eq!(of("exited")["signal"], 6, "the service died of it: {rest:?}");
    assert_eq!(status.code(), Some(128 + 6));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

/// Its own malformed NOTIFY_SOCKET or WATCHDOG_USEC: refused before the service starts, saying
/// which and what to do.
#[test]
fn a_malformed_outer_environment_is_refused_at_start() {
    let marker = std::env::temp_dir().join(format!("sdnotify-relay-started-{}", std::process::id()));
    let touch = format!("touch {}", marker.display());
    let listener = Listener::bind_unique().unwrap();
    let address = listener.address().to_str().unwrap().to_owned();
    for (env, says) in [
        (
            vec![("NOTIFY_SOCKET", "relative")],
            "its own NOTIFY_SOCKET: invalid notification socket address",
        ),
        (
            vec![("NOTIFY_SOCKET", address.as_str()), ("WATCHDOG_USEC", "abc")],
            "its own WATCHDOG_USEC: invalid $WATCHDOG_USEC=\"abc\"",
        ),
    ] {
        let out = command(&[], &["sh", "-c", &touch], &env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(says) && stderr.contains("unset it"), "{stderr}");
        assert!(!marker.exists(), "{env:?}: the service ran");
    }
    listener
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    assert!(listener.recv().is_err(), "nothing was sent");
}
