//! `sdnotify ctl NAME status|reload|restart|stop` against `sdnotify run --name NAME`: answers
//! when the job is done, `status` exits as `systemctl is-active` (3 also for a name nothing
//! answers to), another user is refused, a stale socket from a killed supervisor is replaced and
//! a running one's name is not taken.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::supervised::{command, Running, SDNOTIFY};

/// A private `XDG_RUNTIME_DIR` for one test (the control sockets live there).
struct RuntimeDir(PathBuf);

impl RuntimeDir {
    fn new(test: &str) -> RuntimeDir {
        let dir = std::env::temp_dir().join(format!("sdnotify-ctl-{test}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        RuntimeDir(dir)
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(SDNOTIFY)
            .arg("ctl")
            .args(args)
            .env("XDG_RUNTIME_DIR", &self.0)
            .output()
            .unwrap()
    }

    /// `sdnotify run --name NAME OPTIONS -- CMD`, running, and ready (or answering).
    fn run(&self, name: &str, options: &[&str], cmd: &[&str]) -> Running {
        let mut all = vec!["--name", name];
        all.extend_from_slice(options);
        let child = command(&all, cmd, &[])
            .env("XDG_RUNTIME_DIR", &self.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let running = Running(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ctl(&[name, "status"]).status.code() != Some(0) {
            assert!(Instant::now() < deadline, "{name} never became active");
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }
}

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A notify-reload service in shell: SIGHUP reloads with the handshake.
const RELOADABLE: &str = "trap 'sdnotify --reloading; sdnotify --ready --status=reloaded' HUP; \
                          sdnotify --ready --status=serving; while :; do sleep 0.05; done";

#[test]
fn status_reload_restart_and_stop_answer_when_done() {
    let dir = RuntimeDir::new("jobs");
    let mut running = dir.run("svc", &["--type=notify-reload"], &["sh", "-c", RELOADABLE]);
    let status = dir.ctl(&["svc", "status"]);
    assert_eq!(status.status.code(), Some(0));
    assert!(
        stdout(&status).starts_with("active, main pid "),
        "{}",
        stdout(&status)
    );
    assert!(
        stdout(&status).contains("status \"serving\""),
        "{}",
        stdout(&status)
    );
    let json = dir.ctl(&["svc", "status", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(
        (value["state"].as_str(), value["restarts"].as_u64()),
        (Some("active"), Some(0))
    );
    let first_pid = value["main_pid"].as_u64().unwrap();

    let reload = dir.ctl(&["svc", "reload"]);
    assert_eq!(
        (reload.status.code(), stdout(&reload).as_str()),
        (Some(0), "reloaded")
    );
    assert!(stdout(&dir.ctl(&["svc", "status"])).contains("status \"reloaded\""));

    let restart = dir.ctl(&["svc", "restart"]);
    assert_eq!(
        (restart.status.code(), stdout(&restart).as_str()),
        (Some(0), "restarted: the new instance is ready")
    );
    let value: serde_json::Value =
        serde_json::from_str(&stdout(&dir.ctl(&["svc", "status", "--json"]))).unwrap();
    assert_ne!(value["main_pid"].as_u64().unwrap(), first_pid);
    assert_eq!(value["restarts"], 1);

    let stop = dir.ctl(&["svc", "stop"]);
    assert_eq!((stop.status.code(), stdout(&stop).as_str()), (Some(0), "stopped"));
    // The shell service dies of the SIGTERM, and so does sdnotify run, as asked to stop.
    use std::os::unix::process::ExitStatusExt as _;
    assert_eq!(running.0.wait().unwrap().signal(), Some(15));
    let gone = dir.ctl(&["svc", "status"]);
    assert_eq!(gone.status.code(), Some(3), "nothing answers any more");
}

#[test]
fn reload_without_notify_reload_and_unknown_names_are_errors() {
    let dir = RuntimeDir::new("errors");
    let _running = dir.run("plain", &[], &["sh", "-c", "sdnotify --ready; sleep 30"]);
    let reload = dir.ctl(&["plain", "reload"]);
    assert_eq!(reload.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&reload.stderr).contains("not --type=notify-reload"));
    let unknown = dir.ctl(&["nobody-here", "status"]);
    assert_eq!(unknown.status.code(), Some(3), "as systemctl is-active");
    assert_eq!(dir.ctl(&["plain", "dance"]).status.code(), Some(2));
    assert_eq!(dir.ctl(&["../escape", "status"]).status.code(), Some(2));
}

#[test]
fn another_user_is_refused() {
    if !rustix::process::geteuid().is_root() {
        let message = "SKIPPED another_user_is_refused: needs root to act as another user";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
        support::user_manager::say(message);
        return;
    }
    let dir = RuntimeDir::new("users");
    let _running = dir.run("guarded", &[], &["sh", "-c", "sdnotify --ready; sleep 30"]);
    // The socket's directory is 0700: open it up, so the peer check is what refuses.
    use std::os::unix::fs::PermissionsExt;
    let socket_dir = dir.0.join("sdnotify");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        socket_dir.join("guarded.ctl"),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            SDNOTIFY,
            "ctl",
            "guarded",
            "stop",
        ])
        .env("XDG_RUNTIME_DIR", &dir.0)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("permission denied"));
    assert_eq!(
        dir.ctl(&["guarded", "status"]).status.code(),
        Some(0),
        "still running"
    );
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_name_is_not_taken() {
    let dir = RuntimeDir::new("stale");
    let socket_dir = dir.0.join("sdnotify");
    std::fs::create_dir_all(&socket_dir).unwrap();
    // What a killed supervisor leaves: the socket file, nothing accepting.
    drop(std::os::unix::net::UnixListener::bind(socket_dir.join("web.ctl")).unwrap());
    let _running = dir.run("web", &[], &["sh", "-c", "sdnotify --ready; sleep 30"]);
    let second = command(&["--name", "web"], &["sh", "-c", "sdnotify --ready"], &[])
        .env("XDG_RUNTIME_DIR", &dir.0)
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&second.stderr).contains("is running already"));
    assert_eq!(
        dir.ctl(&["web", "status"]).status.code(),
        Some(0),
        "the first one still answers"
    );
}
