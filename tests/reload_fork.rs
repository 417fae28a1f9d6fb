//! Reload requests across `fork(2)`: `examples/prefork.rs` forks two workers that wait for
//! reload requests beside their parent. A request sent to one process wakes that process alone,
//! four times in a row (a shared wake-up pipe lost one in two), and a worker forked after the
//! parent started waiting (a respawn) is woken too.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod support;
use support::{example, Reap};

/// The prefork example, off systemd (the reload option works there too), with its output lines.
struct Prefork {
    parent: Reap,
    lines: mpsc::Receiver<String>,
    /// Every worker pid seen, ended with the test.
    workers: Vec<u32>,
}

impl Prefork {
    fn start() -> Prefork {
        let mut cmd = Command::new(example("prefork"));
        sdnotify::env::scrub(&mut cmd);
        cmd.arg("60").stdout(Stdio::piped()).stderr(Stdio::null());
        let mut parent = Reap(cmd.spawn().unwrap());
        let stdout = BufReader::new(parent.0.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Prefork {
            parent,
            lines,
            workers: Vec::new(),
        }
    }

    /// The next line, within 5 s.
    fn line(&mut self) -> String {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(5))
            .expect("a line within 5 s");
        if let Some(pid) = worker_pid(&line) {
            if !self.workers.contains(&pid) {
                self.workers.push(pid);
            }
        }
        line
    }

    /// Lines until one for which `wanted` holds; the others seen before it.
    fn until(&mut self, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        let mut before = Vec::new();
        loop {
            let line = self.line();
            if wanted(&line) {
                return before;
            }
            before.push(line);
        }
    }

    /// Whatever else is printed within `quiet`.
    fn more_within(&mut self, quiet: Duration) -> Vec<String> {
        let deadline = Instant::now() + quiet;
        let mut seen = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            seen.push(line);
        }
        seen
    }
}

impl Drop for Prefork {
    /// The workers outlive a killed parent for up to half a second; they are ended here.
    fn drop(&mut self) {
        for &pid in &self.workers {
            signal(pid, libc::SIGKILL);
        }
    }
}

/// "worker N PID: …" → PID.
fn worker_pid(line: &str) -> Option<u32> {
    let mut words = line.split_whitespace();
    (words.next()? == "worker").then_some(())?;
    words.nth(1)?.trim_end_matches(':').parse().ok()
}

/// `signal` to `pid`, a process this test started.
fn signal(pid: u32, signal: libc::c_int) {
    if let Ok(pid @ 1..) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions; the pid is positive.
        unsafe { libc::kill(pid, signal) };
    }
}

#[test]
fn a_reload_request_wakes_the_process_it_was_sent_to_before_and_after_fork() {
    let mut prefork = Prefork::start();
    let mut ready = Vec::new();
    while ready.len() < 3 {
        ready.push(prefork.line());
    }
    let parent = prefork.parent.0.id();
    assert!(ready.contains(&format!("parent {parent}: ready")), "{ready:?}");
    let worker = |n: usize| {
        let prefix = format!("worker {n} ");
        ready
            .iter()
            .find(|l| l.starts_with(&prefix))
            .and_then(|l| worker_pid(l))
            .unwrap_or_else(|| panic!("no worker {n} in {ready:?}"))
    };
    let (a, b) = (worker(0), worker(1));
    // Parent and workers all wait now: a request to one worker is that worker's alone.
    for generation in 2..=5 {
        signal(a, libc::SIGUSR1);
        let expected = |l: &str| l.ends_with(&format!(" {a}: reload {generation}"));
        let others = prefork.until(expected);
        assert!(others.is_empty(), "{others:?}");
        let others = prefork.more_within(Duration::from_millis(300));
        assert!(others.is_empty(), "only worker {a} was asked: {others:?}");
    }
    // A request to the parent is relayed: the parent and each worker reload.
    signal(parent, libc::SIGUSR1);
    let mut seen = vec![prefork.line(), prefork.line(), prefork.line()];
    seen.sort();
    let mut wanted = vec![
        format!("parent {parent}: reload 2"),
        format!("worker 0 {a}: reload 6"),
        format!("worker 1 {b}: reload 2"),
    ];
    wanted.sort();
    assert_eq!(seen, wanted);
    // A worker forked after the parent waited (a respawn) hears its own requests.
    signal(b, libc::SIGKILL);
    let respawned = prefork.line();
    let c = worker_pid(&respawned).unwrap();
    assert_eq!(respawned, format!("worker 1 {c}: ready"));
    for generation in 2..=5 {
        signal(c, libc::SIGUSR1);
        let others = prefork.until(|l| l == format!("worker 1 {c}: reload {generation}"));
        assert!(others.is_empty(), "{others:?}");
    }
    let others = prefork.more_within(Duration::from_millis(300));
    assert!(others.is_empty(), "{others:?}");
}
