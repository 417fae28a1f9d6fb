//! `sdnotify run` as systemd's manager supervises: main-PID handover, every descendant, kill
//! modes, clean JSON, and a service that cannot turn the supervisor against anything.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sdnotify_runtime::{Message, Notifier, State};
use support::supervised::{command, events, run, Ready, SDNOTIFY};

const SCENARIO: &str = "SDNOTIFY_SUPERVISE_SCENARIO";

/// The test binary as a service that sends what no shell script can.
#[test]
fn service_scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    let notifier = Notifier::from_env().unwrap().expect("NOTIFY_SOCKET");
    match scenario.as_str() {
        "forged-lines" => {
            // An escaped line break survives the manager's parser as a real one.
            let raw = "STATUS=\x1b[31mred\x07 and a \\\n[    0.001s] READY after 0.000s";
            notifier
                .send(&Message::from_raw(raw).unwrap(), &[], None)
                .unwrap();
            notifier.notify(&[State::Ready]).unwrap();
        }
        "bad-fdname" => {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            let msg = Message::from_raw("FDSTORE=1\nFDNAME=a:b").unwrap();
            notifier
                .send(&msg, &[std::os::fd::AsFd::as_fd(&a)], None)
                .unwrap();
            notifier.notify(&[State::Ready]).unwrap();
        }
        "many-fds" => {
            let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
            let fds = vec![std::os::fd::AsFd::as_fd(&a); 100];
            notifier.notify_with_fds(&[State::FdStore], &fds).unwrap();
            notifier.notify(&[State::Ready]).unwrap();
        }
        // The newest protocol's handover: the new main process by pidfd (MAINPIDFD=1 + fd).
        "pidfd-handover" => {
            // Never waited for here: it becomes the service's main process, reaped by the
            // supervisor once this process exits.
            #[allow(clippy::zombie_processes)]
            let daemon = Command::new("sh")
                .args(["-c", "sleep 0.5; exit 7"])
                .spawn()
                .unwrap();
            let pid = rustix::process::Pid::from_raw(daemon.id() as i32).unwrap();
            let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).unwrap();
            let msg = Message::from_raw("MAINPIDFD=1\nREADY=1").unwrap();
            notifier
                .send(&msg, &[std::os::fd::AsFd::as_fd(&pidfd)], None)
                .unwrap();
            notifier.barrier(Duration::from_secs(5)).unwrap();
        }
        "flood" => {
            for i in 0..20_000 {
                notifier
                    .notify(&[State::Status(&format!("busy {i} {}", "x".repeat(100)))])
                    .unwrap();
            }
            std::thread::sleep(Duration::from_secs(30));
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn scenario(name: &str, options: &[&str]) -> support::supervised::Run {
    let exe = std::env::current_exe().unwrap();
    let exe = exe.to_str().unwrap();
    run(
        options,
        &[exe, "--exact", "service_scenario_entry_point", "--nocapture"],
        &[(SCENARIO, name)],
    )
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|rest| !rest.trim_start().starts_with('Z'))
    })
}

/// Kills a process of the test's own on drop.
struct Bystander(std::process::Child);

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn hostile_main_pids_are_refused_and_nothing_outside_is_signalled() {
    let bystander = Bystander(Command::new("sleep").arg("30").spawn().unwrap());
    let outside = bystander.0.id();
    // $PPID of the service's shell is the supervisor itself.
    let script = format!(
        "sdnotify --ready; for p in 4294967295 4294967294 0 -1 {outside} $PPID 2147483000; do \
           sdnotify --no-block MAINPID=$p; done; sdnotify --no-block WATCHDOG=trigger; sleep 5"
    );
    let r = run(&["--timeout-stop=2s"], &["sh", "-c", &script], &[]);
    assert_eq!(r.code, Some(125), "{:?}", r.names());
    let refused: Vec<&str> = r
        .events
        .iter()
        .filter(|e| e["event"] == "rejected")
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(refused.len(), 7, "{refused:?}");
    assert!(
        refused[..4].iter().all(|r| r.contains("not a process id")),
        "{refused:?}"
    );
    assert!(
        refused[4].contains("not a live process of the service"),
        "{refused:?}"
    );
    assert!(refused[5].contains("the supervisor itself"), "{refused:?}");
    assert!(
        refused[6].contains("not a live process of the service"),
        "{refused:?}"
    );
    assert_eq!(r.count("mainpid"), 0);
    assert!(alive(outside), "the bystander was signalled");
    assert!(r.events.iter().filter(|e| e["event"] == "signal").all(|e| {
        let target = e["target"].as_str().unwrap();
        target.contains("of the service") || target.contains("(the main process)")
    }));
}

#[test]
fn time_spans_as_systemd_reads_them_and_zero_means_no_timeout() {
    // 0 is no start timeout (systemd's TimeoutStartSec=0), not an immediate kill.
    let script = "sleep 1.2; sdnotify --ready";
    let r = run(
        &["--timeout-start=0", "--timeout-stop=1min 30s"],
        &["sh", "-c", script],
        &[],
    );
    assert_eq!(r.code, Some(0), "{:?} {}", r.names(), r.stderr);
    assert_eq!(r.count("start-timeout"), 0);
    let r = run(
        &["--timeout-start=infinity", "--watchdog=0"],
        &["sh", "-c", "sdnotify --ready"],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn the_main_process_hands_over_and_its_exit_status_counts() {
    // A first process starts the daemon and exits 0; the daemon says it is the main process
    // with READY=1, and exits 5 later: systemd 252 keeps the unit active and reports status 5.
    let script = "sh -c 'sdnotify --ready MAINPID=$$; sleep 0.6; exit 5' & sleep 0.3; exit 0";
    let r = run(&["--notify-access=all"], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(5), "{:?} {}", r.names(), r.stderr);
    let handover = r.first("mainpid");
    let first = r.first("started")["pid"].as_u64().unwrap();
    assert_eq!(handover["previous"].as_u64(), Some(first));
    let exited_first = r.first("process-exited");
    assert_eq!(
        (exited_first["pid"].as_u64(), exited_first["code"].as_i64()),
        (Some(first), Some(0))
    );
    assert!(r.t("process-exited") < r.t("exited"));
    assert_eq!(r.first("exited")["code"].as_i64(), Some(5));
}

#[test]
fn the_main_process_hands_over_by_pidfd() {
    let r = scenario("pidfd-handover", &[]);
    assert_eq!(r.code, Some(7), "{:?} {}", r.names(), r.stderr);
    let first = r.first("started")["pid"].as_u64().unwrap();
    assert_eq!(r.first("mainpid")["previous"].as_u64(), Some(first));
    assert_eq!(r.first("exited")["code"].as_i64(), Some(7));
}

#[test]
fn a_main_process_in_a_session_of_its_own_is_reaped_with_its_status() {
    // wait(-1), not waitpid(0, …): php-fpm and setsid leave the supervisor's process group.
    let r = run(
        &[],
        &["sh", "-c", "exec setsid sh -c 'sdnotify --ready; exit 3'"],
        &[],
    );
    assert_eq!(r.code, Some(3), "{:?}", r.names());
    assert_eq!(r.first("exited")["code"].as_i64(), Some(3));
}

#[test]
fn a_descendant_in_its_own_session_ends_with_the_service() {
    let dir = tempdir("escape");
    let pidfile = dir.join("pid");
    let script = format!(
        "setsid sleep 30 & echo $! > {}; sdnotify --ready; sleep 0.2",
        pidfile.display()
    );
    let r = run(&[], &["sh", "-c", &script], &[]);
    assert_eq!(r.code, Some(0), "{:?} {}", r.names(), r.stderr);
    let escapee: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(!alive(escapee), "the setsid descendant outlived the service");
    assert!(r
        .events
        .iter()
        .any(|e| e["event"] == "signal" && e["signal"] == "SIGTERM"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_stop_request_ends_every_descendant_and_sigkill_follows_for_the_stubborn() {
    let dir = tempdir("stop");
    let pidfile = dir.join("pid");
    // READY=1 only once the escapee ignores SIGTERM, so the stop cannot catch it earlier.
    let trapped = dir.join("trapped");
    let script = format!(
        "setsid sh -c 'trap \"\" TERM; touch {t}; sleep 30' & echo $! > {p}; \
         while [ ! -e {t} ]; do sleep 0.01; done; sdnotify --ready; sleep 30",
        t = trapped.display(),
        p = pidfile.display()
    );
    let mut child = command(&["--timeout-stop=500ms"], &["sh", "-c", &script], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ready = line.contains("\"event\":\"ready\"");
        seen.push(line);
        if ready {
            break;
        }
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(child.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    seen.extend(lines.map(Result::unwrap));
    child.wait().unwrap();
    let escapee: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    assert!(!alive(escapee), "the stubborn escapee outlived the stop");
    let all = seen.join("\n");
    assert!(all.contains("\"signal\":\"SIGKILL\""), "{all}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn kill_mode_process_leaves_the_rest_and_says_so() {
    let script = "sleep 30 >/dev/null 2>&1 & sdnotify --ready; sleep 0.2";
    let r = run(&["--kill-mode=process"], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(0));
    let left = r.first("left-running")["pids"].as_array().unwrap().clone();
    assert_eq!(left.len(), 1);
    let pid = left[0].as_u64().unwrap() as u32;
    assert!(alive(pid));
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
}

#[test]
fn kill_mode_mixed_kills_the_rest_at_once_when_the_main_process_ends() {
    let script = "sh -c 'trap \"\" TERM; sleep 30' & sdnotify --ready; sleep 0.2";
    let started = Instant::now();
    let r = run(
        &["--kill-mode=mixed", "--timeout-stop=30s"],
        &["sh", "-c", script],
        &[],
    );
    assert_eq!(r.code, Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "waited for --timeout-stop"
    );
    assert_eq!(r.first("signal")["signal"], "SIGKILL");
}

#[test]
fn json_stdout_carries_events_only_and_the_service_output_goes_to_stderr() {
    let script = "echo hello from stdout; echo and stderr >&2; sdnotify --ready";
    let r = run(&[], &["sh", "-c", script], &[]);
    assert_eq!(r.code, Some(0));
    assert!(
        r.stderr.contains("hello from stdout") && r.stderr.contains("and stderr"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_started_event_quotes_the_command_as_a_shell_needs_it() {
    let r = run(&[], &["sh", "-c", "exit 0", "a b", ""], &[]);
    assert_eq!(r.first("started")["command"], "sh -c 'exit 0' 'a b' ''");
}

#[test]
fn exiting_before_ready_is_a_failed_start_with_a_hint() {
    let r = run(&[], &["true"], &[]);
    assert_eq!(r.code, Some(121), "{:?}", r.names());
    assert!(r.first("start-failed")["reason"]
        .as_str()
        .unwrap()
        .contains("is NOTIFY_SOCKET passed on"));
    let r = run(&[], &["sh", "-c", "sdnotify --status=starting; exit 0"], &[]);
    assert_eq!(r.code, Some(121));
    assert!(r.first("start-failed")["reason"]
        .as_str()
        .unwrap()
        .contains("never READY=1"));
}

#[test]
fn reloading_before_the_first_ready_is_ignored_as_systemd_does() {
    // haproxy -Ws (Debian's unit command line) sends RELOADING=1 before its first READY=1. The
    // trap: a notify-reload service must catch its reload signal by READY=1 (systemd 262).
    let script = "trap ':' HUP; sdnotify --reloading; sdnotify --ready; sleep 0.2";
    let r = run(
        &["--type=notify-reload", "--timeout-start=2s"],
        &["sh", "-c", script],
        &[],
    );
    assert_eq!(r.code, Some(0), "{:?}", r.names());
    assert!(r.t("ignored") < r.t("ready"));
    assert_eq!(r.count("start-timeout"), 0);
}

#[test]
fn a_sender_outside_the_service_is_refused_under_notify_access_all() {
    let mut child = command(
        &["--notify-access=all"],
        &["sh", "-c", "sleep 1; sdnotify --ready"],
        &[],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut first)
        .unwrap();
    let started: serde_json::Value = serde_json::from_str(&first).unwrap();
    let socket = started["socket"].as_str().unwrap();
    // Not a descendant of the supervisor: this test process.
    Notifier::connect(socket)
        .unwrap()
        .notify(&[State::Ready])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let events = events(&out.stdout);
    let rejected = events
        .iter()
        .find(|e| e["event"] == "rejected")
        .expect("rejected");
    assert!(rejected["reason"]
        .as_str()
        .unwrap()
        .contains("not one of the service's processes"));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn text_mode_escapes_everything_the_service_sends() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(SDNOTIFY)
        .args(["run", "--"])
        .arg(&exe)
        .args(["--exact", "service_scenario_entry_point", "--nocapture"])
        .env(SCENARIO, "forged-lines")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let status = text
        .lines()
        .find(|l| l.contains("STATUS:"))
        .expect("a STATUS line");
    assert!(
        status.contains("\\x1b[31mred\\x07 and a \\x0a[    0.001s] READY"),
        "{status}"
    );
    assert_eq!(
        text.matches("READY after").count(),
        2,
        "one forged inside STATUS, escaped; one real:\n{text}"
    );
    assert!(!text.contains('\x1b') && !text.contains('\x07'));
}

#[test]
fn an_invalid_fdname_is_stored_as_stored() {
    let r = scenario("bad-fdname", &["--fdstore-max=8"]);
    assert_eq!(r.first("fdstore")["name"], "stored");
    assert!(r.first("rejected")["reason"]
        .as_str()
        .unwrap()
        .contains("FDNAME=a:b"));
}

#[test]
fn a_datagram_whose_descriptors_did_not_fit_is_dropped_whole() {
    // The supervisor (and the service) may hold 32 descriptors; 100 are sent.
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 32 && exec \"$@\"")
        .arg("sh")
        .arg(SDNOTIFY)
        .args(["run", "--json", "--"])
        .arg(&exe)
        .args(["--exact", "service_scenario_entry_point", "--nocapture"])
        .env(SCENARIO, "many-fds")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let events = events(&out.stdout);
    let rejected = events
        .iter()
        .find(|e| e["event"] == "rejected")
        .expect("rejected");
    assert!(
        rejected["reason"].as_str().unwrap().contains("MSG_CTRUNC"),
        "{rejected}"
    );
    assert!(
        !events.iter().any(|e| e["event"] == "fdstore"),
        "applied half: {events:?}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_stalled_reader_never_stalls_supervision() {
    // Nobody reads stdout: the flood fills the pipe, and the start timeout must still fire.
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(SDNOTIFY)
        .args(["run", "--json", "--timeout-start=2s", "--timeout-stop=1s", "--"])
        .arg(&exe)
        .args(["--exact", "service_scenario_entry_point", "--nocapture"])
        .env(SCENARIO, "flood")
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("supervision stalled behind a stdout nobody reads");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(124));
}

#[test]
fn stdin_is_dev_null_unless_inherited() {
    let script = "sdnotify --ready --status=\"$(readlink /proc/$$/fd/0)\"";
    let mut cmd = command(&[], &["sh", "-c", script], &[]);
    let out = cmd.stdin(Stdio::piped()).output().unwrap();
    let first = events(&out.stdout);
    let status = first.iter().find(|e| e["event"] == "status").unwrap();
    assert_eq!(status["text"], "/dev/null");
    let mut cmd = command(&["--stdin=inherit"], &["sh", "-c", script], &[]);
    let out = cmd.stdin(Stdio::piped()).output().unwrap();
    let second = events(&out.stdout);
    let status = second.iter().find(|e| e["event"] == "status").unwrap();
    assert!(status["text"].as_str().unwrap().starts_with("pipe:"), "{status}");
}

#[test]
fn sighup_and_sigquit_stop_the_service_and_remove_the_socket() {
    for signal in [rustix::process::Signal::HUP, rustix::process::Signal::QUIT] {
        let ready = Ready::start(&[], &["sh", "-c", "sdnotify --ready; sleep 30"]);
        let dir = ready.socket_dir.clone();
        let (rest, status) = ready.signal_and_wait(signal);
        assert!(
            rest.iter().any(|e| e["event"] == "stop-requested"),
            "{signal:?}: {rest:?}"
        );
        // The service died of the SIGTERM of the stop, and sdnotify run of the same (a
        // shell reports 143).
        use std::os::unix::process::ExitStatusExt as _;
        assert_eq!(
            status.signal(),
            Some(15),
            "{signal:?}: the service's SIGTERM status"
        );
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
}

#[test]
fn a_service_that_drops_privileges_still_reaches_its_socket() {
    let root = rustix::process::geteuid().is_root();
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    if !root || !setpriv {
        println!("SKIPPED: needs root and setpriv(1) to drop privileges");
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "skipped in CI");
        return;
    }
    let script = "exec setpriv --reuid=65534 --regid=65534 --clear-groups sdnotify --ready";
    let r = run(&["--notify-access=all"], &["sh", "-c", script], &[]);
    assert_eq!(r.count("ready"), 1, "{:?} {}", r.names(), r.stderr);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sdnotify-supervise-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
