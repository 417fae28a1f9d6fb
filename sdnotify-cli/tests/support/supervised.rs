//! `sdnotify run --json` as a test sees it: the events, the exit code, stderr.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

/// The sdnotify command that scripts run: the one under test first on PATH.
pub fn path_with_sdnotify() -> String {
    let bin_dir = PathBuf::from(SDNOTIFY).parent().unwrap().to_path_buf();
    format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

pub struct Run {
    pub events: Vec<Value>,
    pub code: Option<i32>,
    pub stderr: String,
}

impl Run {
    pub fn names(&self) -> Vec<&str> {
        self.events.iter().map(|e| e["event"].as_str().unwrap()).collect()
    }

    pub fn first(&self, name: &str) -> &Value {
        self.events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no {name} event in {:?}", self.names()))
    }

    pub fn count(&self, name: &str) -> usize {
        self.events.iter().filter(|e| e["event"] == name).count()
    }

    pub fn t(&self, name: &str) -> f64 {
        self.first(name)["t"].as_f64().unwrap()
    }
}

/// `sdnotify run --json OPTIONS -- COMMAND`, not started yet, with the protocol variables
/// removed and the sdnotify under test first on PATH.
pub fn command(options: &[&str], command: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(SDNOTIFY);
    cmd.arg("run").arg("--json").args(options).arg("--").args(command);
    for var in [
        "NOTIFY_SOCKET",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
        "LISTEN_FDS",
        "LISTEN_PID",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("PATH", path_with_sdnotify())
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    cmd
}

/// Parses `--json` output: one event per line, nothing else.
pub fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

pub fn run(options: &[&str], command_line: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = command(options, command_line, env);
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    Run {
        events: events(&stdout),
        code: status.code(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Stops the supervisor when the test is done with it (or fails): SIGTERM, so it ends its
/// service and removes its socket directory; SIGKILL only if it has not ended within 10 s.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_some() {
            return;
        }
        if let Some(pid) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.0.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.0.kill();
                let _ = self.0.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `sdnotify run --json` whose service is ready: the supervisor (stopped when dropped), the
/// events still to come, and the directory of its notification socket.
pub struct Ready {
    pub child: Running,
    lines: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    pub socket_dir: PathBuf,
}

impl Ready {
    pub fn start(options: &[&str], command_line: &[&str]) -> Ready {
        use std::io::BufRead as _;
        let mut child = Running(
            command(options, command_line, &[])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
        let mut socket = PathBuf::new();
        for line in lines.by_ref() {
            let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
            if event["event"] == "started" {
                socket = PathBuf::from(event["socket"].as_str().unwrap());
            }
            if event["event"] == "ready" {
                break;
            }
        }
        let socket_dir = socket.parent().expect("a started event").to_path_buf();
        Ready {
            child,
            lines,
            socket_dir,
        }
    }

    /// Sends `signal` to the supervisor; the events that followed, and how it ended.
    pub fn signal_and_wait(
        mut self,
        signal: rustix::process::Signal,
    ) -> (Vec<Value>, std::process::ExitStatus) {
        let pid = rustix::process::Pid::from_raw(self.child.0.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).unwrap();
        let rest = self
            .lines
            .by_ref()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
        (rest, self.child.0.wait().unwrap())
    }
}
