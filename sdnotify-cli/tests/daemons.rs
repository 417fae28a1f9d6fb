//! Real daemons from Debian's packages, each under `sdnotify run` and as a `Type=notify` unit of
//! the real systemd (the host's manager, see support/user_manager.rs), started, reloaded the
//! way Debian's unit reloads it, and stopped: both must agree. A daemon that is not installed
//! is SKIPPED with the reason (a failure with `CI=true`; `.ci/run` installs them).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use rustix::process::{kill_process, Pid, Signal};
use serde_json::Value;
use support::supervised::command;
use support::user_manager::{require, say, Systemd};

struct Daemon {
    name: &'static str,
    program: &'static str,
    /// The command line, given the scratch directory holding its configuration.
    args: fn(&Path) -> Vec<String>,
    config: Option<(&'static str, &'static str)>,
    /// How Debian's unit reloads it (ExecReload=kill -SIG $MAINPID), if it reloads.
    reload: Option<Signal>,
}

const HAPROXY_CFG: &str = "global\n    log stderr format raw local0 err\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend web\n    bind unix@DIR/haproxy.sock\n    http-request return status 200\n";
const UNBOUND_CONF: &str = "server:\n    interface: 127.0.0.1\n    port: PORT\n    do-daemonize: no\n    use-systemd: yes\n    chroot: \"\"\n    username: \"\"\n    pidfile: \"\"\n    directory: \"DIR\"\n    logfile: \"\"\n    use-syslog: no\n    verbosity: 0\nremote-control:\n    control-enable: no\n";
const PHP_FPM_CONF: &str = "[global]\nerror_log = /proc/self/fd/2\ndaemonize = no\n[www]\nuser = nobody\ngroup = nogroup\nlisten = DIR/php-fpm.sock\npm = static\npm.max_children = 1\n";

fn daemons() -> Vec<Daemon> {
    vec![
        Daemon {
            name: "redis",
            program: "redis-server",
            args: |dir| {
                [
                    "--port",
                    "0",
                    "--unixsocket",
                    &d(dir, "redis.sock"),
                    "--supervised",
                    "systemd",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ]
                .map(str::to_owned)
                .to_vec()
            },
            config: None,
            reload: None,
        },
        Daemon {
            name: "haproxy",
            program: "haproxy",
            // Debian's haproxy.service: Type=notify, ExecStart=haproxy -Ws -f CONFIG -p PIDFILE,
            // ExecReload=kill -USR2 $MAINPID.
            args: |dir| {
                ["-Ws", "-f", &d(dir, "haproxy.cfg"), "-p", &d(dir, "haproxy.pid")]
                    .map(str::to_owned)
                    .to_vec()
            },
            config: Some(("haproxy.cfg", HAPROXY_CFG)),
            reload: Some(Signal::USR2),
        },
        Daemon {
            name: "unbound",
            program: "unbound",
            // Debian's unbound.service: Type=notify, unbound -d -p, ExecReload=kill -HUP.
            args: |dir| {
                ["-d", "-p", "-c", &d(dir, "unbound.conf")]
                    .map(str::to_owned)
                    .to_vec()
            },
            config: Some(("unbound.conf", UNBOUND_CONF)),
            reload: Some(Signal::HUP),
        },
        Daemon {
            name: "php-fpm",
            program: "php-fpm8.2",
            // Debian's php8.2-fpm.service: Type=notify, --nodaemonize, ExecReload=kill -USR2.
            args: |dir| {
                [
                    "--nodaemonize",
                    "--allow-to-run-as-root",
                    "--fpm-config",
                    &d(dir, "php-fpm.conf"),
                ]
                .map(str::to_owned)
                .to_vec()
            },
            config: Some(("php-fpm.conf", PHP_FPM_CONF)),
            reload: Some(Signal::USR2),
        },
    ]
}

/// `DIR/FILE` as text, for a command line.
fn d(dir: &Path, file: &str) -> String {
    dir.join(file).display().to_string()
}

fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn scratch(name: &str, daemon: &Daemon) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sdnotify-daemon-{}-{name}-{}",
        daemon.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    if let Some((file, text)) = daemon.config {
        // unbound will not listen on port 0: a port of this test run's own.
        let port = 20_000 + std::process::id() % 20_000;
        let text = text
            .replace("DIR", &dir.display().to_string())
            .replace("PORT", &port.to_string());
        std::fs::write(dir.join(file), text).unwrap();
    }
    dir
}

/// Finds the daemon, or says why not (a failure with CI=true).
fn find(daemon: &Daemon) -> Option<PathBuf> {
    let found = installed(daemon.program);
    if found.is_none() {
        let message = format!(
            "SKIPPED {}: {} is not installed (apt-get install it)",
            daemon.name, daemon.program
        );
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{message} (in CI a skip is a failure)"
        );
        say(&message);
    }
    found
}

/// `sdnotify run --json` with its events read on a thread.
struct Supervised {
    child: Child,
    events: Receiver<Value>,
    seen: Vec<Value>,
}

impl Supervised {
    fn start(program: &Path, args: &[String]) -> Supervised {
        let mut line: Vec<&str> = vec![program.to_str().unwrap()];
        line.extend(args.iter().map(String::as_str));
        let mut child = command(&["--timeout-start=10s", "--timeout-stop=5s"], &line, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(serde_json::from_str(&line).unwrap()).is_err() {
                    return;
                }
            }
        });
        Supervised {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 10 s) for an event named `name` after those seen so far.
    fn expect(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Ok(event) = self
            .events
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(event.clone());
            if event["event"] == name {
                return event;
            }
        }
        panic!("no {name} event; saw {:?}", self.names());
    }

    fn names(&self) -> Vec<String> {
        self.seen
            .iter()
            .map(|e| e["event"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    fn signal_supervisor(&self, signal: Signal) {
        kill_process(Pid::from_raw(self.child.id() as i32).unwrap(), signal).unwrap();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn under_sdnotify_run(daemon: &Daemon, program: &Path) {
    let dir = scratch("run", daemon);
    let mut run = Supervised::start(program, &(daemon.args)(&dir));
    let main = run.expect("started")["pid"].as_u64().unwrap();
    run.expect("ready");
    if let Some(signal) = daemon.reload {
        // Debian's ExecReload= signals the main process; the daemon then reports READY=1
        // again (with RELOADING=1 first, for haproxy and unbound).
        kill_process(Pid::from_raw(main as i32).unwrap(), signal).unwrap();
        let finished = if daemon.name == "php-fpm" {
            "ready"
        } else {
            "reloaded"
        };
        run.expect(finished);
    }
    run.signal_supervisor(Signal::TERM);
    let exited = run.expect("exited");
    let names = run.names();
    // Exit 0, or death by the SIGTERM of the stop (haproxy's master, when the stop lands while
    // it re-executes itself after a reload): a clean signal, which systemd counts as success.
    let code = exited["exit"].as_u64();
    assert!(
        code == Some(0) || (code == Some(143) && exited["signal"] == 15),
        "{}: {exited} {names:?}",
        daemon.name
    );
    for bad in [
        "start-failed",
        "start-timeout",
        "reload-failed",
        "watchdog-timeout",
        "left-running",
    ] {
        assert!(
            !names.iter().any(|n| n == bad),
            "{}: {bad} in {names:?}",
            daemon.name
        );
    }
    run.child.wait().unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

fn under_systemd(daemon: &Daemon, program: &Path) {
    let Some(manager) = require(daemon.name) else {
        return;
    };
    let dir = scratch("systemd", daemon);
    let unit = format!("sdnotify-daemon-{}.service", daemon.name);
    let mut args = vec![
        "--unit".to_owned(),
        unit.clone(),
        "-p".to_owned(),
        "Type=notify".to_owned(),
    ];
    args.extend(["-p".to_owned(), "StandardOutput=null".to_owned(), "--".to_owned()]);
    args.push(program.display().to_string());
    args.extend((daemon.args)(&dir));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = manager.systemd_run(&args);
    assert!(
        out.status.success(),
        "{}: {}",
        daemon.name,
        String::from_utf8_lossy(&out.stderr)
    );
    let props = [
        "ActiveState",
        "SubState",
        "Result",
        "MainPID",
        "ExecMainStatus",
        "StatusText",
    ];
    let active = |p: &std::collections::HashMap<String, String>| {
        p.get("ActiveState").map(String::as_str) == Some("active")
    };
    let up = manager.wait_for(&unit, &props, Duration::from_secs(10), active);
    assert!(
        active(&up),
        "{} under systemd {}: {up:?}",
        daemon.name,
        manager.version
    );
    if let Some(signal) = daemon.reload {
        let main: i32 = up["MainPID"].parse().unwrap();
        kill_process(Pid::from_raw(main).unwrap(), signal).unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let after = manager.wait_for(&unit, &props, Duration::from_secs(10), active);
        assert!(
            active(&after),
            "{} after its reload under systemd {}: {after:?}",
            daemon.name,
            manager.version
        );
    }
    let stop = manager.systemctl(&["stop", &unit]);
    assert!(stop.status.success());
    let ended = manager.show(&unit, &props);
    // A stopped transient unit is gone (inactive, no result) or inactive with success.
    assert_ne!(
        ended.get("Result").map(String::as_str),
        Some("protocol"),
        "{}: {ended:?}",
        daemon.name
    );
    assert_ne!(
        ended.get("ActiveState").map(String::as_str),
        Some("failed"),
        "{}: {ended:?}",
        daemon.name
    );
    say(&format!("{}: ran under systemd {}", daemon.name, manager.version));
    drop(manager);
    std::fs::remove_dir_all(dir).unwrap();
    for tree in Systemd::all().into_iter().skip(1) {
        if let Systemd::Tree(root) = tree {
            say(&format!(
                "{}: NOT RUN under the systemd of {}: the daemon is the host's (Debian 12) build, \
                 whose libraries the tree does not hold",
                daemon.name,
                root.display()
            ));
        }
    }
}

fn check(name: &str) {
    let daemon = daemons().into_iter().find(|d| d.name == name).unwrap();
    let Some(program) = find(&daemon) else {
        return;
    };
    under_sdnotify_run(&daemon, &program);
    under_systemd(&daemon, &program);
}

#[test]
fn redis_supervised_systemd() {
    check("redis");
}

#[test]
fn haproxy_master_worker() {
    check("haproxy");
}

#[test]
fn unbound_reloads_by_hup() {
    check("unbound");
}

#[test]
fn php_fpm_reloads_by_usr2() {
    check("php-fpm");
}
