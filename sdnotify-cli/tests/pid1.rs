//! `sdnotify run` as a container's init, a pid namespace's PID 1 (`unshare --pid --fork
//! --mount-proc`), beside tini doing the same job: the signals it has no meaning for reach the
//! service (the kernel drops a signal PID 1 has no handler for), orphans are reaped, and the
//! service's exit status is passed on.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::supervised::SDNOTIFY;

/// The service: reports the signals it gets, leaves an orphan that exits at once, and ends
/// with status 7 on SIGTERM.
const SERVICE: &str = "trap 'echo got USR1' USR1; trap 'echo got USR2' USR2; trap 'echo got WINCH' WINCH; \
                       trap 'exit 7' TERM; sh -c 'sleep 0.1 &'; \"$0\" --ready 2>/dev/null; \
                       echo ready; while :; do sleep 0.05; done";

/// The init (`sdnotify run` or tini) in a new pid namespace, running SERVICE; its host pid.
fn start(init: &[&str]) -> Child {
    Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .args(init)
        .args(["sh", "-c", SERVICE, SDNOTIFY])
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The pid of the init inside the namespace, as the host sees it: unshare's only child.
fn init_pid(unshare: u32) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next().and_then(|p| p.parse().ok()) {
            return pid;
        }
        assert!(Instant::now() < deadline, "no init in the namespace");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Zombies whose parent is `pid` (orphans it has not reaped).
fn zombies_of(pid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let rest = stat.rsplit(')').next().unwrap_or_default();
            let mut fields = rest.split_whitespace();
            fields.next() == Some("Z") && fields.next() == Some(&pid.to_string())
        })
        .count()
}

fn signal(pid: u32, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
    rustix::process::kill_process(pid, signal).unwrap();
}

/// What the service printed, the zombies left and the exit status, for `init`.
fn fates(init: &[&str]) -> (Vec<String>, usize, Option<i32>) {
    use std::io::{BufRead, BufReader};
    let mut unshare = start(init);
    let pid = init_pid(unshare.id());
    let mut lines = BufReader::new(unshare.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        if line == "ready" {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300)); // the orphan has exited by now
    let zombies = zombies_of(pid);
    for sig in [
        rustix::process::Signal::USR1,
        rustix::process::Signal::USR2,
        rustix::process::Signal::WINCH,
    ] {
        signal(pid, sig);
        std::thread::sleep(Duration::from_millis(150));
    }
    signal(pid, rustix::process::Signal::TERM);
    seen.extend(lines.filter(|l| l.starts_with("got ")));
    let status = unshare.wait().unwrap();
    (seen, zombies, status.code())
}

#[test]
fn as_pid_1_it_forwards_signals_reaps_orphans_and_passes_the_status_on_like_tini() {
    if !rustix::process::geteuid().is_root() {
        let message = "SKIPPED: a pid namespace needs root here";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
        support::user_manager::say(message);
        return;
    }
    let ours = fates(&[SDNOTIFY, "run", "--"]);
    assert_eq!(
        ours.0,
        ["got USR1", "got USR2", "got WINCH"],
        "forwarded: {ours:?}"
    );
    assert_eq!(ours.1, 0, "orphans reaped");
    assert_eq!(ours.2, Some(7), "the service's status");
    if std::path::Path::new("/usr/bin/tini").exists() {
        let tini = fates(&["/usr/bin/tini", "--"]);
        assert_eq!(ours, tini, "the same as tini");
    } else {
        let message = "NOT RUN beside tini: no /usr/bin/tini (.ci/run installs it)";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
        support::user_manager::say(message);
    }
}
