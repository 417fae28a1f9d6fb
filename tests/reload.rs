//! `#[sdnotify::main(reload = "…")]` seen from the manager's side: the greeter examples
//! (`reload`, `reload_tokio`) run against a receiver socket, get their reload signal, and the
//! datagrams are checked byte for byte. The same examples run under real systemd managers in
//! sdnotify-cli/tests/systemd.rs.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sdnotify::manager::Listener;

mod support;
use support::{example, Reap};

/// A greeter running against a receiver socket, with its configuration file.
struct Greeter {
    child: Reap,
    listener: Listener,
    conf: PathBuf,
}

impl Greeter {
    fn start(name: &str, conf: &str) -> Greeter {
        let dir = std::env::temp_dir().join(format!(
            "sdnotify-reload-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let conf_path = dir.join("greeter.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let listener = Listener::bind_unique().unwrap();
        let mut cmd = Command::new(example(name));
        sdnotify::env::scrub(&mut cmd);
        cmd.env_remove("SDNOTIFY_DEBUG")
            .env("NOTIFY_SOCKET", listener.address())
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = Reap(cmd.spawn().unwrap_or_else(|e| panic!("{name}: {e}")));
        Greeter {
            child,
            listener,
            conf: conf_path,
        }
    }

    fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The next datagram's bytes, waiting up to 10 s.
    fn next(&self) -> String {
        self.next_within(Duration::from_secs(10))
            .expect("a datagram within 10 s")
    }

    fn next_within(&self, timeout: Duration) -> Option<String> {
        self.listener.set_read_timeout(Some(timeout)).unwrap();
        match self.listener.recv() {
            Ok(d) => Some(String::from_utf8(d.bytes().to_vec()).unwrap()),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
            Err(e) => panic!("recv: {e}"),
        }
    }

    /// Datagrams up to and including the first that is exactly `last`.
    fn until(&self, last: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let datagram = self.next();
            let done = datagram == last;
            seen.push(datagram);
            if done {
                return seen;
            }
            assert!(seen.len() < 50, "no {last:?} in {seen:?}");
        }
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {name}");
    }

    fn configure(&self, conf: &str) {
        std::fs::write(&self.conf, conf).unwrap();
    }

    fn alive(&mut self) -> bool {
        self.child.0.try_wait().unwrap().is_none()
    }

    /// Whether the process catches `signal` right now (SigCgt in /proc/PID/status), as systemd
    /// 262 checks when READY=1 arrives.
    fn catches(&self, signal: i32) -> bool {
        catches(self.pid(), signal)
    }
}

impl Drop for Greeter {
    fn drop(&mut self) {
        if let Some(dir) = self.conf.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn started(name: &str, conf: &str) -> Greeter {
    let greeter = Greeter::start(name, conf);
    let startup = greeter.until("READY=1");
    assert_eq!(startup.last().unwrap(), "READY=1");
    greeter
}

/// RELOADING=1 and MONOTONIC_USEC (not before `asked`) in one datagram, nothing else.
fn assert_reloading(datagram: &str, asked: Duration) {
    let lines: Vec<&str> = datagram.lines().collect();
    assert_eq!(lines.len(), 2, "{datagram:?}");
    assert_eq!(lines[0], "RELOADING=1");
    let usec: u128 = lines[1]
        .strip_prefix("MONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("{datagram:?}"))
        .parse()
        .unwrap();
    assert!(
        usec >= asked.as_micros(),
        "MONOTONIC_USEC={usec} is before the request ({asked:?})"
    );
}

#[test]
fn a_reload_is_reloading_with_monotonic_usec_in_one_datagram_then_ready() {
    let mut greeter = started("reload", "greeting = hello\ninterval_ms = 200");
    assert!(
        greeter.catches(libc_sighup()),
        "SIGHUP is caught once READY=1 is sent"
    );
    greeter.configure("greeting = bonjour\ninterval_ms = 200");
    let asked = sdnotify::monotonic_now();
    greeter.signal("HUP");
    assert_reloading(&greeter.next(), asked);
    assert_eq!(
        greeter.next(),
        "STATUS=greeting \"bonjour\" every 200 ms (configuration #2)"
    );
    assert_eq!(greeter.next(), "READY=1");
    // A second reload in a row goes the same way.
    let asked = sdnotify::monotonic_now();
    greeter.signal("HUP");
    assert_reloading(&greeter.next(), asked);
    assert!(greeter.next().ends_with("(configuration #3)"));
    assert_eq!(greeter.next(), "READY=1");
    assert!(greeter.alive());
}

#[test]
fn requests_during_a_reload_add_up_to_one_more() {
    let greeter = started("reload", "greeting = hello\ninterval_ms = 200");
    // Each reload now takes 800 ms (warming caches).
    greeter.configure("greeting = hello\ninterval_ms = 200\nwarmup_ms = 800");
    greeter.signal("HUP");
    assert!(greeter.next().starts_with("RELOADING=1\n"));
    for _ in 0..3 {
        greeter.signal("HUP");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(greeter.next().ends_with("(configuration #2)"));
    assert_eq!(greeter.next(), "READY=1");
    // The three became one more reload, and then nothing is pending.
    assert!(greeter.next().starts_with("RELOADING=1\n"));
    assert!(greeter.next().ends_with("(configuration #3)"));
    assert_eq!(greeter.next(), "READY=1");
    assert_eq!(greeter.next_within(Duration::from_millis(1500)), None);
}

#[test]
fn a_reload_signal_during_init_is_remembered_and_served_after_ready() {
    let mut greeter = Greeter::start("reload", "greeting = hello\ninterval_ms = 200\nwarmup_ms = 1000");
    assert_eq!(
        greeter.next(),
        "STATUS=loading greeter.conf".replace("greeter.conf", &greeter.conf.display().to_string())
    );
    // The handler is in place from the start of main, before init! ends.
    assert!(greeter.catches(libc_sighup()));
    greeter.signal("HUP");
    let rest = greeter.until("READY=1");
    assert_eq!(rest.last().unwrap(), "READY=1", "startup READY: {rest:?}");
    assert!(greeter.next().starts_with("RELOADING=1\nMONOTONIC_USEC="));
    assert!(greeter.next().ends_with("(configuration #2)"));
    assert_eq!(greeter.next(), "READY=1");
    assert!(greeter.alive());
}

#[test]
fn a_failed_reload_sends_ready_with_the_error_and_keeps_running() {
    let mut greeter = started("reload", "greeting = hello\ninterval_ms = 200");
    greeter.configure("greeting = hello\nvolume = 11");
    greeter.signal("HUP");
    assert!(greeter.next().starts_with("RELOADING=1\n"));
    let conf = greeter.conf.display().to_string();
    assert_eq!(
        greeter.next(),
        format!("READY=1\nSTATUS=reload failed: {conf}:2: unknown setting `volume`")
    );
    assert!(greeter.alive());
    // Mended: the next reload's own status replaces the failure, then a bare READY=1.
    greeter.configure("greeting = hello\ninterval_ms = 200");
    greeter.signal("HUP");
    assert!(greeter.next().starts_with("RELOADING=1\n"));
    assert!(greeter.next().ends_with("(configuration #2)"));
    assert_eq!(greeter.next(), "READY=1");
}

#[test]
fn tokio_reloads_on_its_own_signal_and_dies_of_the_other() {
    let mut greeter = started("reload_tokio", "greeting = hello\ninterval_ms = 200");
    assert!(greeter.catches(libc_sigusr1()));
    assert!(!greeter.catches(libc_sighup()));
    greeter.configure("greeting = hola\ninterval_ms = 200");
    let asked = sdnotify::monotonic_now();
    greeter.signal("USR1");
    assert_reloading(&greeter.next(), asked);
    assert_eq!(
        greeter.next(),
        "STATUS=greeting \"hola\" every 200 ms (configuration #2)"
    );
    assert_eq!(greeter.next(), "READY=1");
    // SIGHUP is not its reload signal: the default action ends it.
    greeter.signal("HUP");
    let status = greeter.child.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc_sighup())
    );
}

#[test]
fn without_the_option_the_reload_signal_still_terminates() {
    // examples/service.rs has no `reload` option.
    let listener = Listener::bind_unique().unwrap();
    listener.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut cmd = Command::new(example("service"));
    sdnotify::env::scrub(&mut cmd);
    cmd.env("NOTIFY_SOCKET", listener.address())
        .env("SERVICE_RUN_SECS", "20")
        .env("SERVICE_INIT_MS", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = Reap(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listener.recv().unwrap().parse().unwrap().has("READY=1") {
        assert!(Instant::now() < deadline);
    }
    assert!(!catches(child.0.id(), libc_sighup()));
    Command::new("kill")
        .args(["-s", "HUP", &child.0.id().to_string()])
        .status()
        .unwrap();
    let status = child.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc_sighup())
    );
}

#[test]
fn off_systemd_the_signal_still_reloads() {
    // No NOTIFY_SOCKET: nothing is sent, but SIGHUP re-reads the file (handy with `kill -HUP`
    // while developing) instead of killing the process.
    let dir = std::env::temp_dir().join(format!("sdnotify-reload-off-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("greeter.conf");
    std::fs::write(&conf, "greeting = one\ninterval_ms = 50").unwrap();
    let mut cmd = Command::new(example("reload"));
    sdnotify::env::scrub(&mut cmd);
    cmd.arg(&conf).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = Reap(cmd.spawn().unwrap());
    let mut out = std::io::BufReader::new(child.0.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "one\n");
    std::fs::write(&conf, "greeting = two\ninterval_ms = 50").unwrap();
    Command::new("kill")
        .args(["-s", "HUP", &child.0.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        line.clear();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        if line == "two\n" {
            break;
        }
        assert_eq!(line, "one\n");
        assert!(Instant::now() < deadline, "never reloaded");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether the process catches `signal` right now (SigCgt in /proc/PID/status), as systemd
/// 262 checks when READY=1 arrives.
fn catches(pid: u32, signal: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    mask & (1 << (signal - 1)) != 0
}

fn libc_sighup() -> i32 {
    sdnotify::signal::from_name("SIGHUP").unwrap()
}

fn libc_sigusr1() -> i32 {
    sdnotify::signal::from_name("SIGUSR1").unwrap()
}
