//! Services that try to wedge `sdnotify run` (security round 3): a thread offered as the main
//! process, by its id or by a thread pidfd, and a service that fills the supervisor's descriptor
//! table through the fd store and then ignores SIGTERM. Whatever they do, `sdnotify run` ends
//! within `--timeout-stop` and a small margin once the service is gone or a stop was asked for.

mod support;

use std::io::{BufRead, BufReader};
use std::os::fd::AsFd;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sdnotify_runtime::{Message, Notifier, State};
use serde_json::Value;
use support::supervised::command;
use support::units::{assert_becomes_active, managers, start, state};

const SCENARIO: &str = "SDNOTIFY_HOSTILE_SCENARIO";

/// How long any of these runs may take before the test calls it wedged.
const WEDGED: Duration = Duration::from_secs(15);

/// `PIDFD_THREAD` (Linux 6.9): a pidfd for one thread.
const PIDFD_THREAD: u32 = 0o200;

/// The exit status of a scenario that cannot run on this kernel.
const UNSUPPORTED: i32 = 42;

/// The test binary as a hostile service.
#[test]
fn hostile_scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    let notifier = Notifier::from_env().unwrap().expect("NOTIFY_SOCKET");
    match scenario.as_str() {
        "thread-mainpid" => {
            let tid = spawn_thread();
            let msg = Message::from_raw(&format!("READY=1\nMAINPID={tid}")).unwrap();
            notifier.send(&msg, &[], None).unwrap();
            notifier.barrier(Duration::from_secs(5)).unwrap();
            let hold = std::env::var("HOLD_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(300);
            std::thread::sleep(Duration::from_millis(hold));
            std::process::exit(3);
        }
        "thread-pidfd" => {
            let tid = spawn_thread();
            let flags = rustix::process::PidfdFlags::from_bits_retain(PIDFD_THREAD);
            let Ok(pidfd) = rustix::process::pidfd_open(tid, flags) else {
                std::process::exit(UNSUPPORTED);
            };
            let msg = Message::from_raw("MAINPIDFD=1\nREADY=1").unwrap();
            notifier.send(&msg, &[pidfd.as_fd()], None).unwrap();
            notifier.barrier(Duration::from_secs(5)).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            std::process::exit(3);
        }
        "fill-store" => {
            // Caught, so SIGTERM does nothing: only SIGKILL ends this service.
            let ignored = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            signal_hook::flag::register(signal_hook::consts::SIGTERM, ignored).unwrap();
            let count: usize = std::env::var("FILL").unwrap().parse().unwrap();
            // Distinct open files: the store keeps one open file once.
            let pipes: Vec<_> = (0..count).map(|_| rustix::pipe::pipe().unwrap().0).collect();
            for chunk in pipes.chunks(100) {
                let fds: Vec<_> = chunk.iter().map(|fd| fd.as_fd()).collect();
                notifier
                    .notify_with_fds(&[State::FdStore, State::FdName("filler")], &fds)
                    .unwrap();
            }
            notifier.notify(&[State::Ready]).unwrap();
            std::thread::sleep(Duration::from_secs(60));
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// A thread that sleeps for the rest of the process's life; its id.
fn spawn_thread() -> rustix::process::Pid {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        tx.send(rustix::thread::gettid()).unwrap();
        std::thread::sleep(Duration::from_secs(60));
    });
    rx.recv().unwrap()
}

/// `sdnotify run --json OPTIONS -- <this test binary as SCENARIO>`, running.
struct Supervised {
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

/// The service's pid, from the `started` event.
fn service_pid(seen: &[Value]) -> Option<i32> {
    let started = seen.iter().find(|e| e["event"] == "started")?;
    i32::try_from(started["pid"].as_u64()?).ok()
}

impl Supervised {
    fn start(scenario: &str, options: &[&str], env: &[(&str, &str)]) -> Supervised {
        let exe = std::env::current_exe().unwrap();
        let mut vars = vec![(SCENARIO, scenario)];
        vars.extend_from_slice(env);
        let mut child = command(
            options,
            &[
                exe.to_str().unwrap(),
                "--exact",
                "hostile_scenario_entry_point",
                "--nocapture",
            ],
            &vars,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(serde_json::from_str(&line).unwrap());
            }
        });
        Supervised {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Waits for an event named `name`; the events until then are kept.
    fn until(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + WEDGED;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {name} event; seen {:?}", self.seen));
            self.seen.push(event.clone());
            if event["event"] == name {
                return event;
            }
        }
    }

    /// Waits for `sdnotify run` to end (killing it, and failing, when it is wedged); its exit
    /// status and every event.
    fn finish(mut self) -> (Option<i32>, Vec<Value>) {
        let deadline = Instant::now() + WEDGED;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                // Drop ends the supervisor and the service.
                while let Ok(event) = self.events.try_recv() {
                    self.seen.push(event);
                }
                panic!(
                    "sdnotify run is wedged: still running after {WEDGED:?}; seen {:?}",
                    self.seen
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(event) = self.events.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(event);
        }
        (status.code(), std::mem::take(&mut self.seen))
    }
}

impl Drop for Supervised {
    /// A wedged supervisor is killed, and the service it left behind with it.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(pid) = service_pid(&self.seen).and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

fn reasons(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "rejected")
        .map(|e| e["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_thread_id_is_not_a_main_process() {
    let run = Supervised::start("thread-mainpid", &["--timeout-stop=2s"], &[]);
    let (code, events) = run.finish();
    let refused = reasons(&events);
    assert!(
        refused.iter().any(|r| r.contains("is a thread of process")),
        "{refused:?}"
    );
    assert!(!events.iter().any(|e| e["event"] == "mainpid"), "{events:?}");
    assert_eq!(
        code,
        Some(3),
        "the service's own status once it exited: {events:?}"
    );
}

#[test]
fn a_thread_pidfd_is_not_a_main_process() {
    let run = Supervised::start("thread-pidfd", &["--timeout-stop=2s"], &[]);
    let (code, events) = run.finish();
    if code == Some(121) && reasons(&events).is_empty() {
        let message = "SKIPPED: this kernel has no PIDFD_THREAD (Linux 6.9+)";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
        println!("{message}");
        return;
    }
    let refused = reasons(&events);
    assert!(
        refused
            .iter()
            .any(|r| r.contains("MAINPIDFD=1 refused") && r.contains("thread's pidfd")),
        "{refused:?}"
    );
    assert_eq!(code, Some(3), "{events:?}");
}

#[test]
fn a_full_descriptor_table_does_not_keep_the_stop_from_the_service() {
    let mut run = Supervised::start(
        "fill-store",
        &["--fdstore-max=300", "--timeout-stop=1s"],
        &[("FILL", "300")],
    );
    let started = run.until("started");
    let service = started["pid"].as_u64().unwrap() as u32;
    run.until("ready");
    // The supervisor's table is full now: every pidfd_open and /proc read fails with EMFILE,
    // as when a service fills a table whose limit the store did not fit.
    let supervisor = rustix::process::Pid::from_raw(run.child.id() as i32).unwrap();
    let full = rustix::process::Rlimit {
        current: Some(64),
        maximum: Some(64),
    };
    rustix::process::prlimit(Some(supervisor), rustix::process::Resource::Nofile, full).unwrap();
    rustix::process::kill_process(supervisor, rustix::process::Signal::TERM).unwrap();
    let stopped = Instant::now();
    let (code, events) = run.finish();
    assert_eq!(code, Some(137), "SIGKILL after --timeout-stop: {events:?}");
    assert!(
        stopped.elapsed() < Duration::from_secs(8),
        "--timeout-stop=1s and the margin"
    );
    assert!(
        events.iter().any(|e| e["event"] == "warning"
            && e["text"]
                .as_str()
                .is_some_and(|t| t.contains("closed the 300 in the fd store"))),
        "{events:?}"
    );
    let stat = std::fs::read_to_string(format!("/proc/{service}/stat")).unwrap_or_default();
    assert!(
        stat.is_empty()
            || stat
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z')),
        "the service outlived its supervisor: {stat}"
    );
}

/// The oracle for the first test: systemd keeps the process as the main process and, from 257
/// on (pidfd-based tracking), sees it exit. 252 loses it: the unit stays active with its main
/// process gone, the very wedge `sdnotify run` had (said, not failed, on 252).
#[test]
fn systemd_does_not_take_a_thread_as_the_main_process_either() {
    let exe = std::env::current_exe().unwrap();
    let scenario = format!("{SCENARIO}=thread-mainpid");
    for manager in managers("systemd_does_not_take_a_thread_as_the_main_process_either") {
        let unit = "sdnotify-thread-mainpid.service";
        start(
            &manager,
            unit,
            // A short stop: 252 waits for a process that is gone.
            &["Type=notify", "TimeoutStopSec=1s"],
            &[&scenario, "HOLD_MS=1500"],
            &[
                exe.to_str().unwrap(),
                "--exact",
                "hostile_scenario_entry_point",
                "--nocapture",
            ],
        );
        let props = [
            "ActiveState",
            "MainPID",
            "ExecMainPID",
            "ExecMainStatus",
            "Result",
        ];
        let active = assert_becomes_active(&manager, unit, &props, Duration::from_secs(5));
        assert_eq!(
            active["MainPID"], active["ExecMainPID"],
            "systemd {} kept the process as the main process: {active:?}",
            manager.version
        );
        let ended = manager.wait_for(unit, &props, Duration::from_secs(5), |p| state(p) == "failed");
        if manager.version >= 257 {
            assert_eq!(
                (state(&ended), ended["ExecMainStatus"].as_str()),
                ("failed", "3"),
                "{ended:?}"
            );
        } else {
            support::user_manager::say(&format!(
                "systemd {}: after the thread's MAINPID= and the process's exit, the unit is {} (MainPID={})",
                manager.version,
                state(&ended),
                ended["MainPID"]
            ));
        }
        let _ = manager.systemctl(&["stop", unit]);
    }
}
