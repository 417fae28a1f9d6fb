//! `#[sdnotify::main]` observed from the manager's side: each example runs as a child process
//! against a receiver socket, and the exact sequence of notifications and its timing are checked.

use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use sdnotify::manager::Listener;

mod support;
use support::{example, Reap};

/// One received notification line, with when it arrived.
#[derive(Debug, Clone)]
struct Event {
    at: Duration,
    line: String,
    datagram: usize,
}

struct Run {
    events: Vec<Event>,
    status: ExitStatus,
    stderr: String,
}

impl Run {
    fn lines(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.line.as_str()).collect()
    }

    fn first(&self, line: &str) -> Option<&Event> {
        self.events.iter().find(|e| e.line == line)
    }

    fn count(&self, line: &str) -> usize {
        self.events.iter().filter(|e| e.line == line).count()
    }

    fn at(&self, line: &str) -> Duration {
        self.first(line)
            .unwrap_or_else(|| panic!("no {line:?} in {:?}", self.lines()))
            .at
    }

    /// When each `line` arrived.
    fn times(&self, line: &str) -> Vec<Duration> {
        self.events
            .iter()
            .filter(|e| e.line == line)
            .map(|e| e.at)
            .collect()
    }

    fn last_line(&self) -> &str {
        &self.events.last().expect("events").line
    }

    /// Lines other than watchdog pings.
    fn without_pings(&self) -> Vec<&str> {
        self.lines().into_iter().filter(|l| *l != "WATCHDOG=1").collect()
    }
}

fn run(name: &str, env: &[(&str, &str)], notify_socket: bool) -> Run {
    run_with(name, env, notify_socket, Listener::bind_unique().unwrap(), None)
}

/// `run`, with a given listener (perhaps already holding datagrams) and stderr (perhaps broken).
fn run_with(
    name: &str,
    env: &[(&str, &str)],
    notify_socket: bool,
    listener: Listener,
    stderr: Option<Stdio>,
) -> Run {
    let piped = stderr.is_none();
    listener
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut cmd = Command::new(example(name));
    sdnotify::env::scrub(&mut cmd);
    cmd.env_remove("SDNOTIFY_DEBUG")
        .stderr(stderr.unwrap_or_else(Stdio::piped))
        .stdout(Stdio::null());
    if notify_socket {
        cmd.env("NOTIFY_SOCKET", listener.address());
    }
    cmd.envs(env.iter().copied());
    let start = Instant::now();
    let mut child = Reap(cmd.spawn().unwrap_or_else(|e| panic!("{name}: {e}")));
    let mut events = Vec::new();
    let mut datagrams = 0;
    let mut exited: Option<ExitStatus> = None;
    let deadline = start + Duration::from_secs(30);
    loop {
        match listener.recv() {
            Ok(d) => {
                datagrams += 1;
                let at = start.elapsed();
                for line in d.parse().unwrap().lines() {
                    events.push(Event {
                        at,
                        line: line.clone(),
                        datagram: datagrams,
                    });
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("recv: {e}"),
        }
        // Drain what is queued before deciding the child is done.
        if exited.is_some() {
            break;
        }
        exited = child.0.try_wait().unwrap();
        assert!(Instant::now() < deadline, "{name} did not exit within 30 s");
    }
    let mut stderr = String::new();
    if piped {
        std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    }
    Run {
        events,
        status: exited.unwrap(),
        stderr,
    }
}

#[test]
fn a_broken_stderr_never_changes_the_exit_code() {
    // A WATCHDOG_USEC below the floor makes the framework write to stderr before any user code
    // runs; stderr is a socket whose reader is gone (EPIPE), where `eprintln!` would panic.
    let (reader, writer) = std::os::unix::net::UnixStream::pair().unwrap();
    drop(reader);
    let r = run_with(
        "watchdog_auto",
        &[("WATCHDOG_USEC", "150000"), ("EXAMPLE_RUN_MS", "100")],
        true,
        Listener::bind_unique().unwrap(),
        Some(Stdio::from(std::os::fd::OwnedFd::from(writer))),
    );
    assert!(r.status.success(), "{:?}", r.status);
    assert_eq!(r.count("WATCHDOG=1"), 0, "no watchdog thread below the floor");
    assert_eq!(r.last_line(), "STOPPING=1");
}

#[test]
fn a_watchdog_usec_below_the_floor_starts_no_thread_and_says_why() {
    let r = run(
        "watchdog_auto",
        &[("WATCHDOG_USEC", "150000"), ("EXAMPLE_RUN_MS", "400")],
        true,
    );
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(r.count("WATCHDOG=1"), 0, "{:?}", r.lines());
    assert!(
        r.stderr
            .contains("watchdog not started: WATCHDOG_USEC=150000 is below 200ms"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_full_manager_queue_never_wedges_the_program() {
    // The manager stopped reading: its queue is full before the service starts and nobody
    // reads. Every send the framework makes gives up after its bound; the program runs and
    // exits as it would without systemd.
    let listener = Listener::bind_unique().unwrap();
    let filler = sdnotify::Notifier::connect(listener.address()).unwrap();
    let fill = sdnotify::Message::from_raw("X_FILL=1").unwrap();
    while filler
        .send_within(&fill, &[], None, Duration::from_millis(10))
        .is_ok()
    {}
    let mut cmd = Command::new(example("watchdog_auto"));
    sdnotify::env::scrub(&mut cmd);
    cmd.env_remove("SDNOTIFY_DEBUG")
        .env("NOTIFY_SOCKET", listener.address())
        .env("WATCHDOG_USEC", "400000")
        .env("EXAMPLE_RUN_MS", "500")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = Reap(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "wedged by the full queue");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("queue stayed full").count(),
        1,
        "reported once: {stderr}"
    );
    drop(listener);
}

#[test]
fn a_panic_in_a_destructor_during_unwinding_still_sends_stopping() {
    let r = run("panic_in_drop", &[], true);
    assert_eq!(
        r.status.signal(),
        Some(6),
        "aborted: {:?}\n{}",
        r.status,
        r.stderr
    );
    assert!(r.count("STOPPING=1") == 1, "{:?}", r.lines());
    let status = r
        .events
        .iter()
        .find(|e| e.line.starts_with("STATUS="))
        .unwrap_or_else(|| panic!("no STATUS in {:?}", r.lines()));
    assert!(
        status
            .line
            .contains(": request handler failed; then, while unwinding, panicked at ")
            && status.line.ends_with(": journal flush failed"),
        "{}",
        status.line
    );
}

#[test]
fn normal_run_status_before_ready_ready_after_init_stopping_last() {
    let r = run("service", &[("SERVICE_RUN_SECS", "0.5")], true);
    assert!(r.status.success(), "{}", r.stderr);
    let lines = r.without_pings();
    assert_eq!(
        lines[..3],
        [
            "STATUS=loading configuration",
            "STATUS=binding 127.0.0.1:0",
            "READY=1"
        ],
        "{lines:?}"
    );
    // The example's init sleeps 200 ms: READY only after it.
    assert!(
        r.at("READY=1") >= Duration::from_millis(200),
        "{:?}",
        r.at("READY=1")
    );
    assert!(r.at("STATUS=loading configuration") <= r.at("READY=1"));
    assert_eq!(r.count("READY=1"), 1);
    assert_eq!(r.count("STOPPING=1"), 1);
    assert_eq!(r.last_line(), "STOPPING=1");
}

#[test]
fn err_in_init_never_sends_ready() {
    let r = run("init_error", &[], true);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(r.count("READY=1"), 0);
    let lines = r.lines();
    assert_eq!(lines[0], "STATUS=reading /nonexistent/app.toml");
    assert_eq!(lines[1], "STOPPING=1");
    // The error's Display, and its OS code as ERRNO=.
    assert_eq!(
        lines[2], "STATUS=failed: No such file or directory (os error 2)",
        "{lines:?}"
    );
    assert_eq!(lines[3], "ERRNO=2", "{lines:?}");
    assert_eq!(
        (r.events[1].datagram, r.events[2].datagram),
        (r.events[3].datagram, r.events[3].datagram),
        "STOPPING, STATUS and ERRNO in one datagram"
    );
    assert_eq!(lines.len(), 4);
    assert!(
        r.stderr.contains("Error: Os { code: 2"),
        "Rust's own report is unchanged: {}",
        r.stderr
    );
}

#[test]
fn err_after_init_reports_the_error() {
    let r = run("late_error", &[], true);
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        r.lines(),
        [
            "STATUS=connecting",
            "READY=1",
            "STOPPING=1",
            "STATUS=failed: LostConnection { peer: \"db:5432\" }"
        ]
    );
}

#[test]
fn panic_sends_stopping_with_the_message_and_exits_101() {
    let r = run("panic", &[], true);
    assert_eq!(r.status.code(), Some(101));
    let lines = r.lines();
    assert_eq!(lines[..2], ["READY=1", "STOPPING=1"]);
    assert!(
        lines[2].starts_with("STATUS=panicked at examples/panic.rs:")
            && lines[2].ends_with(": no items to process"),
        "{lines:?}"
    );
    assert!(
        r.stderr.contains("no items to process"),
        "the default hook still prints: {}",
        r.stderr
    );
}

#[test]
fn early_return_keeps_the_exit_code() {
    let r = run("early_return", &[], true);
    assert_eq!(r.status.code(), Some(3));
    assert_eq!(r.lines(), ["READY=1", "STOPPING=1"]);
}

#[test]
fn auto_watchdog_pings_at_half_the_interval_while_main_blocks() {
    let r = run(
        "watchdog_auto",
        &[("WATCHDOG_USEC", "200000"), ("EXAMPLE_RUN_MS", "1000")],
        true,
    );
    assert!(r.status.success(), "{}", r.stderr);
    let pings = r.times("WATCHDOG=1");
    // ~1.3 s of life at one ping per 100 ms.
    assert!(
        (9..=15).contains(&pings.len()),
        "{} pings: {pings:?}",
        pings.len()
    );
    for pair in pings.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(80) && gap <= Duration::from_millis(250),
            "gap {gap:?}"
        );
    }
    assert_eq!(r.last_line(), "STOPPING=1");
    assert!(pings.last().unwrap() <= &r.at("STOPPING=1"));
}

#[test]
fn heartbeat_watchdog_stops_pinging_when_the_loop_wedges() {
    let r = run(
        "watchdog_heartbeat",
        &[
            ("WATCHDOG_USEC", "200000"),
            ("EXAMPLE_WEDGE_AFTER_MS", "600"),
            ("EXAMPLE_RUN_MS", "800"),
        ],
        true,
    );
    assert!(r.status.success(), "{}", r.stderr);
    let wedged = r.at("STATUS=wedged");
    let pings = r.times("WATCHDOG=1");
    assert!(pings.len() >= 4, "pings while alive: {pings:?}");
    let late: Vec<_> = pings
        .iter()
        .filter(|at| **at > wedged + Duration::from_millis(120))
        .collect();
    assert!(
        late.is_empty(),
        "pings after the loop wedged at {wedged:?}: {late:?}"
    );
    assert_eq!(r.last_line(), "STOPPING=1");
}

#[test]
fn executor_heartbeat_pings_only_while_the_runtime_polls_tasks() {
    let r = run(
        "executor_heartbeat",
        &[
            ("WATCHDOG_USEC", "200000"),
            ("EXAMPLE_BLOCK_AFTER_MS", "500"),
            ("EXAMPLE_BLOCK_MS", "800"),
            ("EXAMPLE_RUN_MS", "2000"),
        ],
        true,
    );
    assert!(r.status.success(), "{}", r.stderr);
    let blocked = r.at("STATUS=a task blocks the runtime");
    let unblocked = r.at("STATUS=the runtime runs again");
    let pings = r.times("WATCHDOG=1");
    let before = pings.iter().filter(|at| **at < blocked).count();
    assert!(before >= 3, "pings while the runtime ran: {pings:?}");
    // One ping may follow the block: the task ran just before it, within that period.
    let during: Vec<_> = pings
        .iter()
        .filter(|at| **at > blocked + Duration::from_millis(150) && **at < unblocked)
        .collect();
    assert!(
        during.is_empty(),
        "pings while the runtime was blocked ({blocked:?}..{unblocked:?}): {during:?}"
    );
    let after = pings.iter().filter(|at| **at > unblocked).count();
    assert!(after >= 3, "pings once the runtime ran again: {pings:?}");
    assert_eq!(r.last_line(), "STOPPING=1");
}

#[test]
fn watchdog_off_starts_no_thread() {
    let r = run("watchdog_off", &[("WATCHDOG_USEC", "100000")], true);
    assert_eq!(r.count("WATCHDOG=1"), 0);
    assert_eq!(
        r.lines(),
        ["READY=1", "STATUS=no watchdog thread here", "STOPPING=1"]
    );
}

#[test]
fn garbage_watchdog_usec_is_reported_once_and_starts_no_thread() {
    let r = run(
        "watchdog_auto",
        &[("WATCHDOG_USEC", "0"), ("EXAMPLE_RUN_MS", "300")],
        true,
    );
    assert_eq!(r.count("WATCHDOG=1"), 0);
    assert_eq!(
        r.stderr.matches("watchdog not started").count(),
        1,
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("a zero interval is not valid"));
}

#[test]
fn manual_ready_is_sent_where_the_program_says() {
    let r = run("ready_manual", &[], true);
    assert_eq!(
        r.lines(),
        [
            "STATUS=waiting for the first job",
            "READY=1",
            "STATUS=working",
            "STOPPING=1"
        ]
    );
    assert!(r.at("READY=1") >= Duration::from_millis(200));
}

#[test]
fn renamed_crate_path() {
    let r = run("crate_rename", &[], true);
    assert_eq!(r.lines(), ["READY=1", "STATUS=the answer is 42", "STOPPING=1"]);
}

#[test]
fn tokio_outside_the_attribute() {
    let r = run("tokio_outer", &[], true);
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(r.lines(), ["READY=1", "STATUS=async and ready", "STOPPING=1"]);
    assert!(r.at("READY=1") >= Duration::from_millis(100));
}

#[test]
fn tokio_inside_the_attribute() {
    let r = run("tokio_inner", &[], true);
    assert!(r.status.success(), "{}", r.stderr);
    assert_eq!(r.lines(), ["READY=1", "STATUS=async and ready", "STOPPING=1"]);
    assert!(r.at("READY=1") >= Duration::from_millis(100));
}

#[test]
fn off_systemd_nothing_changes_and_no_thread_starts() {
    // With WATCHDOG_USEC but no NOTIFY_SOCKET, no thread may start: count the threads.
    let mut child = Command::new(example("watchdog_auto"));
    sdnotify::env::scrub(&mut child);
    let child = child
        .env("WATCHDOG_USEC", "100000")
        .env("EXAMPLE_RUN_MS", "400")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reap(child);
    std::thread::sleep(Duration::from_millis(250));
    let threads = std::fs::read_dir(format!("/proc/{}/task", child.0.id()))
        .unwrap()
        .count();
    let status = child.0.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let output = (status, stderr);
    assert!(output.0.success());
    assert_eq!(threads, 1, "only the main thread");
    assert!(output.1.is_empty(), "{}", output.1);

    let r = run("late_error", &[], false);
    assert_eq!(r.status.code(), Some(1));
    assert!(r.events.is_empty());
}

#[test]
fn sdnotify_debug_traces_what_would_be_sent() {
    let r = run("early_return", &[("SDNOTIFY_DEBUG", "1")], false);
    assert!(
        r.stderr
            .contains("sdnotify: not sent (NOTIFY_SOCKET unset) \"READY=1\""),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("\"STOPPING=1\""), "{}", r.stderr);
}

/// The library as `cargo test` built it for this run: `deps/libsdnotify-HASH.rlib` (the
/// unhashed copy exists only after `cargo build`); the newest, if older builds are around.
fn newest_rlib(deps: &std::path::Path, prefix: &str) -> PathBuf {
    std::fs::read_dir(deps)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(prefix) && name.ends_with(".rlib")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .map(|e| e.path())
        .expect("the sdnotify rlib in target/debug/deps")
}

#[test]
fn panic_abort_sends_stopping_from_the_hook() {
    // The examples share the unwinding profile: build the panic example again with
    // `-C panic=abort` against the rlibs this test was built with.
    let debug = example("x").parent().unwrap().parent().unwrap().to_path_buf();
    let out_dir = std::env::temp_dir().join(format!("sdnotify-abort-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let binary = out_dir.join("panic_abort");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let build = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "-C",
            "panic=abort",
            "--crate-type",
            "bin",
            "-o",
        ])
        .arg(&binary)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/panic.rs"))
        .arg("--extern")
        .arg(format!(
            "sdnotify={}",
            newest_rlib(&debug.join("deps"), "libsdnotify-").display()
        ))
        .arg("-L")
        .arg(format!("dependency={}", debug.join("deps").display()))
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    let r = run(binary.to_str().unwrap(), &[], true);
    std::fs::remove_dir_all(&out_dir).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(r.status.signal(), Some(6), "aborted: {:?}", r.status);
    let lines = r.lines();
    assert_eq!(lines[..2], ["READY=1", "STOPPING=1"], "{lines:?}");
    assert!(lines[2].ends_with(": no items to process"), "{lines:?}");
}

#[test]
fn exit_sends_stopping_after_the_last_ping_and_keeps_the_code() {
    let r = run("exit", &[("WATCHDOG_USEC", "200000")], true);
    assert_eq!(r.status.code(), Some(4));
    assert_eq!(r.without_pings(), ["READY=1", "STOPPING=1"]);
    assert!(r.count("WATCHDOG=1") >= 1, "pinged while alive: {:?}", r.lines());
    assert_eq!(r.last_line(), "STOPPING=1", "no ping after STOPPING");
}
