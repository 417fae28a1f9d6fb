//! `sdnotify --fork -- CMD`: the pid printed at once, READY=1 awaited from CMD, and CMD's own
//! status when it ends first; a message from any process other than CMD or its descendants is
//! ignored, although the socket's name is there for anyone to find in /proc/net/unix.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sdnotify_runtime::{Notifier, State};

const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

#[test]
fn fork_waits_for_ready_and_prints_the_pid() {
    let out = Command::new(SDNOTIFY)
        .args(["--fork", "--", SDNOTIFY, "--ready", "--status=child up"])
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pid: u32 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    assert!(pid > 1);
    let failed = Command::new(SDNOTIFY)
        .args(["--fork", "--", "false"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("exited (exit status: 1) before it sent READY=1")
    );
}

#[test]
fn fork_returns_from_a_command_substitution_once_ready() {
    // `pid=$(sdnotify --fork -- daemon)`: the daemon must not hold the substitution's pipe.
    let started = std::time::Instant::now();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "pid=$({SDNOTIFY} --fork -- sh -c 'echo noise; {SDNOTIFY} --ready; exec sleep 3'); echo \"pid=$pid\"; kill $pid"
        ))
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited for the daemon to exit"
    );
    let pid = stdout.trim().strip_prefix("pid=").unwrap_or_default();
    assert!(pid.parse::<u32>().is_ok(), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("noise"),
        "the daemon's stdout goes to stderr"
    );
    let quiet = Command::new(SDNOTIFY)
        .args(["-q", "--fork", "--", SDNOTIFY, "--ready"])
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    assert_eq!(
        (quiet.status.code(), quiet.stdout.len()),
        (Some(0), 0),
        "-q: no pid printed"
    );
}

#[test]
fn fork_ignores_ready_from_a_process_that_is_not_the_command() {
    // The command becomes ready by itself after 1.5 s; a stranger (this test) sends READY=1
    // first, to the socket it finds as any local user would.
    let script = format!("sleep 1.5; {SDNOTIFY} --ready; exec sleep 20");
    let mut fork = Command::new(SDNOTIFY)
        .args(["--fork", "--", "sh", "-c", &script])
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(fork.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let command: u32 = line.trim().parse().unwrap();
    let command_guard = KillOnDrop(command);
    let started = Instant::now();
    let prefix = format!("@sdnotify/{}/", fork.id());
    let address = loop {
        let table = std::fs::read_to_string("/proc/net/unix").unwrap();
        if let Some(name) = table.split_whitespace().find(|w| w.starts_with(&prefix)) {
            break name.to_owned();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "no socket {prefix}… in /proc/net/unix"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let stranger = Notifier::connect(&address).unwrap();
    stranger.notify(&[State::Ready]).unwrap();
    stranger.barrier(Duration::from_secs(5)).ok();
    assert!(
        fork.try_wait().unwrap().is_none(),
        "sdnotify --fork took READY=1 from a process that is not its command"
    );
    let status = fork.wait().unwrap();
    assert!(
        status.success(),
        "the command's own READY=1 ends the wait: {status}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "it returned before the command was ready"
    );
    // The command's stdout is sdnotify's stderr: end it, so the pipe closes.
    drop(command_guard);
    let mut stderr = String::new();
    fork.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(
        stderr.contains(&format!("from unexpected process {}", std::process::id())),
        "{stderr}"
    );
}

/// Ends the forked command (left running by design) when the test ends, passed or failed.
struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.0 as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}
