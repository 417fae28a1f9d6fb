//! A private systemd user manager for tests, confined to its own cgroup subtree and to cgroup
//! and mount namespaces, so it can only see and touch what it starts.
//!
//! Why the care: a manager that starts in the root cgroup moves every process of the machine
//! into its own `init.scope`. This one is started by a shell that first moves itself into a
//! fresh cgroup subtree, then enters new cgroup and mount namespaces where `/run/systemd/system`
//! exists on a tmpfs (the manager refuses to run on a system not booted with systemd) and the
//! cgroup hierarchies are mounted afresh (showing only the subtree). Dropping the guard stops the
//! manager, kills whatever is left in its cgroups and removes them, and removes its runtime dir.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The running manager; `Drop` tears it down.
pub struct UserManager {
    pid: u32,
    runtime_dir: PathBuf,
    state_dir: PathBuf,
    cgroups: Vec<PathBuf>,
    pub version: u32,
}

/// Starts a manager, or says why it cannot (and fails the test when `CI=true`).
pub fn require(test: &str) -> Option<UserManager> {
    match UserManager::start() {
        Ok(manager) => Some(manager),
        Err(reason) => {
            let message = format!("SKIPPED {test}: {reason}");
            assert_ne!(
                std::env::var("CI").as_deref(),
                Ok("true"),
                "{message} (in CI a skip is a failure)"
            );
            say(&message);
            None
        }
    }
}

/// Writes to the real stderr, past the test harness's capture, so a skip is always visible.
pub fn say(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

enum Layout {
    Unified,
    Hybrid,
}

fn layout() -> Result<Layout, String> {
    let root =
        rustix::fs::statfs("/sys/fs/cgroup").map_err(|e| format!("cannot inspect /sys/fs/cgroup: {e}"))?;
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    if root.f_type as i64 == CGROUP2_SUPER_MAGIC {
        Ok(Layout::Unified)
    } else if Path::new("/sys/fs/cgroup/unified").is_dir() && Path::new("/sys/fs/cgroup/systemd").is_dir() {
        Ok(Layout::Hybrid)
    } else {
        Err("unsupported cgroup layout under /sys/fs/cgroup".to_owned())
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

impl UserManager {
    pub fn start() -> Result<UserManager, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("needs root to create cgroups and namespaces".to_owned());
        }
        if !Path::new("/usr/lib/systemd/systemd").exists() {
            return Err("systemd is not installed (/usr/lib/systemd/systemd)".to_owned());
        }
        if Command::new("unshare").arg("--version").output().is_err() {
            return Err("unshare (util-linux) is not installed".to_owned());
        }
        let layout = layout()?;
        let name = unique("sdnotify-test");
        // A short runtime dir: socket paths under it must fit sun_path.
        let runtime_dir = PathBuf::from("/tmp").join(unique("sdnotify-xdg"));
        let state_dir = std::env::temp_dir().join(unique("sdnotify-manager"));
        std::fs::create_dir_all(&state_dir).map_err(|e| e.to_string())?;
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&runtime_dir)
                .map_err(|e| e.to_string())?;
        }
        let hierarchies: &[&str] = match layout {
            Layout::Unified => &[""],
            Layout::Hybrid => &["systemd", "unified"],
        };
        let mut manager = UserManager {
            pid: 0,
            runtime_dir,
            state_dir,
            cgroups: Vec::new(),
            version: 0,
        };
        for h in hierarchies {
            let path = Path::new("/sys/fs/cgroup").join(h).join(&name);
            std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            manager.cgroups.push(path);
        }
        let mounts = match layout {
            Layout::Unified => "mount -t cgroup2 cgroup2 /sys/fs/cgroup".to_owned(),
            Layout::Hybrid => [
                "mount -t tmpfs tmpfs /sys/fs/cgroup",
                "mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified",
                "mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd",
                "mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified",
            ]
            .join("\n"),
        };
        let inner = manager.state_dir.join("inner.sh");
        std::fs::write(
            &inner,
            format!(
                "#!/bin/sh\nset -e\nmkdir -p /run/systemd\nmount -t tmpfs tmpfs /run/systemd\nmkdir -p /run/systemd/system\n{mounts}\n\
                 export XDG_RUNTIME_DIR={}\nexec /usr/lib/systemd/systemd --user --log-target=console --log-level=info\n",
                manager.runtime_dir.display()
            ),
        )
        .map_err(|e| e.to_string())?;
        // The shell enters the new cgroups before anything else happens, then becomes the manager.
        let enter: String = manager
            .cgroups
            .iter()
            .map(|cg| format!("echo $$ > {}/cgroup.procs; ", cg.display()))
            .collect();
        let log = std::fs::File::create(manager.state_dir.join("manager.log")).map_err(|e| e.to_string())?;
        let child = Command::new("setsid")
            .arg("sh")
            .arg("-c")
            .arg(format!(
                "{enter}exec unshare --cgroup --mount --propagation private sh {}",
                inner.display()
            ))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start the manager: {e}"))?;
        manager.pid = child.id();
        // The manager is reaped by `Drop` through its pid; the Child handle is not needed.
        std::mem::forget(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = manager.systemctl(&["show", "--property=SystemState", "--value"]);
            let state = String::from_utf8_lossy(&state.stdout).trim().to_owned();
            if state == "running" || state == "degraded" {
                break;
            }
            if Instant::now() > deadline || !manager.alive() {
                let log = std::fs::read_to_string(manager.state_dir.join("manager.log")).unwrap_or_default();
                return Err(format!(
                    "the manager did not come up (state {state:?}); log:\n{log}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let version = manager.systemctl(&["--version"]);
        manager.version = String::from_utf8_lossy(&version.stdout)
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(manager)
    }

    fn alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).is_ok_and(|s| s.contains(") Z "))
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("NOTIFY_SOCKET");
        cmd
    }

    pub fn systemctl(&self, args: &[&str]) -> Output {
        self.command("systemctl")
            .arg("--user")
            .args(args)
            .output()
            .expect("systemctl")
    }

    /// `systemd-run --user ARGS`, returning its output.
    pub fn systemd_run(&self, args: &[&str]) -> Output {
        self.command("systemd-run")
            .arg("--user")
            .args(args)
            .output()
            .expect("systemd-run")
    }

    /// `systemctl --user show UNIT`, as a map of the requested properties.
    pub fn show(&self, unit: &str, properties: &[&str]) -> HashMap<String, String> {
        let out = self.systemctl(&["show", unit, &format!("--property={}", properties.join(","))]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect()
    }

    /// Waits until `condition` holds for the unit's properties, or the timeout passes.
    pub fn wait_for(
        &self,
        unit: &str,
        properties: &[&str],
        timeout: Duration,
        condition: impl Fn(&HashMap<String, String>) -> bool,
    ) -> HashMap<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let props = self.show(unit, properties);
            if condition(&props) || Instant::now() > deadline {
                return props;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A directory the units may write to (their output files).
    pub fn scratch(&self) -> &Path {
        &self.state_dir
    }

    fn pids_in_cgroups(&self) -> Vec<i32> {
        let mut pids = Vec::new();
        for cg in &self.cgroups {
            collect_pids(cg, &mut pids);
        }
        pids
    }
}

fn collect_pids(dir: &Path, pids: &mut Vec<i32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                collect_pids(&entry.path(), pids);
            }
        }
    }
}

/// Removes a cgroup tree bottom-up.
fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

impl Drop for UserManager {
    fn drop(&mut self) {
        use rustix::process::{kill_process, Pid, Signal};
        if self.pid != 0 {
            let _ = self
                .command("timeout")
                .args(["10", "systemctl", "--user", "exit"])
                .output();
            let pid = Pid::from_raw(self.pid as i32).expect("positive");
            let wait = |limit: Duration| {
                let deadline = Instant::now() + limit;
                while self.alive() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
            };
            wait(Duration::from_secs(10));
            if self.alive() {
                let _ = kill_process(pid, Signal::TERM);
                wait(Duration::from_secs(5));
            }
            if self.alive() {
                let _ = kill_process(pid, Signal::KILL);
                wait(Duration::from_secs(5));
            }
            // Reap it if it is our child (it is a child of this process after setsid's exec).
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG);
        }
        // Anything still inside is ours: kill it, then remove the subtree bottom-up.
        for _ in 0..50 {
            let pids = self.pids_in_cgroups();
            if pids.is_empty() {
                break;
            }
            for p in pids {
                if let Some(pid) = rustix::process::Pid::from_raw(p) {
                    let _ = kill_process(pid, Signal::KILL);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for cg in &self.cgroups {
            for _ in 0..20 {
                remove_tree(cg);
                if !cg.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
