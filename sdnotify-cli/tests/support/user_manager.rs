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

use super::leftovers;

/// Which systemd runs the manager: the host's, or the one installed in a Debian tree (made
/// by `.ci/run` with debootstrap: trixie = 257, sid = the newest).
#[derive(Debug, Clone)]
pub enum Systemd {
    Host,
    Tree(PathBuf),
}

impl Systemd {
    /// The host's systemd and every Debian tree present under `$SDNOTIFY_SYSTEMD_TREES`
    /// (default `/var/cache/sdnotify`), in that order: trixie, then sid.
    pub fn all() -> Vec<Systemd> {
        let base = trees_base();
        let mut all = vec![Systemd::Host];
        for suite in ["trixie", "sid"] {
            let tree = base.join(suite);
            if tree.join("usr/lib/systemd/systemd").exists() {
                all.push(Systemd::Tree(tree));
            } else {
                let message = format!(
                    "NOT RUN on Debian {suite}: no tree at {} (.ci/run makes it)",
                    tree.display()
                );
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
                say(&message);
            }
        }
        all
    }

    fn root(&self) -> Option<&Path> {
        match self {
            Systemd::Host => None,
            Systemd::Tree(root) => Some(root),
        }
    }
}

/// Where the Debian trees are: `$SDNOTIFY_SYSTEMD_TREES`, by default `/var/cache/sdnotify`.
pub(super) fn trees_base() -> PathBuf {
    std::env::var_os("SDNOTIFY_SYSTEMD_TREES")
        .map_or_else(|| PathBuf::from("/var/cache/sdnotify"), PathBuf::from)
}

/// The running manager; `Drop` tears it down.
pub struct UserManager {
    pid: u32,
    /// The runtime dir as the host sees it (inside the tree for a tree's manager).
    runtime_dir: PathBuf,
    /// The same dir as the manager sees it.
    inner_runtime_dir: PathBuf,
    state_dir: PathBuf,
    cgroups: Vec<PathBuf>,
    root: Option<PathBuf>,
    pub version: u32,
}

/// Starts a manager of the host's systemd, or says why it cannot (and fails the test when
/// `CI=true`).
pub fn require(test: &str) -> Option<UserManager> {
    require_on(test, &Systemd::Host, &[])
}

/// Starts a manager of `systemd` with `binds` (host directories, visible at the same paths
/// inside a tree), or says why it cannot (and fails the test when `CI=true`).
pub fn require_on(test: &str, systemd: &Systemd, binds: &[&Path]) -> Option<UserManager> {
    match UserManager::start_on(systemd, binds) {
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

/// A name no other manager of this machine has: the pid, a per-process counter (two tests of one
/// binary can read the same clock value) and the time.
fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

impl UserManager {
    pub fn start() -> Result<UserManager, String> {
        UserManager::start_on(&Systemd::Host, &[])
    }

    pub fn start_on(systemd: &Systemd, binds: &[&Path]) -> Result<UserManager, String> {
        if !rustix::process::geteuid().is_root() {
            return Err("needs root to create cgroups and namespaces".to_owned());
        }
        let root = systemd.root().map(Path::to_path_buf);
        let prefix = root.clone().unwrap_or_else(|| PathBuf::from("/"));
        if !prefix.join("usr/lib/systemd/systemd").exists() {
            return Err(format!(
                "systemd is not installed ({}/usr/lib/systemd/systemd)",
                prefix.display()
            ));
        }
        if Command::new("unshare").arg("--version").output().is_err() {
            return Err("unshare (util-linux) is not installed".to_owned());
        }
        let layout = layout()?;
        // A test run that was killed could not tear its managers down: clear what it left.
        leftovers::sweep();
        let name = unique("sdnotify-test");
        // A short runtime dir: socket paths under it must fit sun_path. A tree's manager has it
        // inside the tree (the same dir, seen from both sides).
        let inner_runtime_dir = PathBuf::from("/tmp").join(unique("sdnotify-xdg"));
        let runtime_dir = prefix.join(inner_runtime_dir.strip_prefix("/").unwrap_or(&inner_runtime_dir));
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
            inner_runtime_dir,
            state_dir,
            cgroups: Vec::new(),
            root,
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
        let script = match &manager.root {
            None => format!(
                "#!/bin/sh\nset -e\nmkdir -p /run/systemd\nmount -t tmpfs tmpfs /run/systemd\nmkdir -p /run/systemd/system\n{mounts}\n\
                 export XDG_RUNTIME_DIR={}\nexec /usr/lib/systemd/systemd --user --log-target=console --log-level=info\n",
                manager.runtime_dir.display()
            ),
            // A tree's manager: chrooted, with /dev, /proc, sysfs, a cgroup2-only view (systemd
            // 258+ supports nothing else) and a fresh /run, all inside the private mount
            // namespace; each bind shows a host directory at the same path inside.
            Some(root) => {
                let r = root.display();
                let mut text = format!(
                    "#!/bin/sh\nset -e\nmount --rbind /dev {r}/dev\nmount -t proc proc {r}/proc\nmount -t sysfs sysfs {r}/sys\n\
                     mount -t cgroup2 cgroup2 {r}/sys/fs/cgroup\nmount -t tmpfs tmpfs {r}/run\nmkdir -p {r}/run/systemd/system\n"
                );
                // The state dir holds the units' output files: the same path inside too.
                for bind in binds.iter().copied().chain([manager.state_dir.as_path()]) {
                    let b = bind.display();
                    text.push_str(&format!("mkdir -p {r}{b}\nmount --bind {b} {r}{b}\n"));
                }
                text.push_str(&format!(
                    "export XDG_RUNTIME_DIR={}\nexec chroot {r} /usr/lib/systemd/systemd --user --log-target=console --log-level=info\n",
                    manager.inner_runtime_dir.display()
                ));
                text
            }
        };
        std::fs::write(&inner, script).map_err(|e| e.to_string())?;
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

    /// A client program of this manager's systemd: the host's, or the tree's own run inside
    /// the manager's namespaces and root (where the bind mounts are).
    fn command(&self, program: &str) -> Command {
        let mut cmd = match &self.root {
            None => Command::new(program),
            Some(_) => {
                let mut c = Command::new("nsenter");
                c.args(["-t", &self.pid.to_string(), "-m", "-C", "-r", "--", program]);
                c
            }
        };
        let runtime = if self.root.is_some() {
            &self.inner_runtime_dir
        } else {
            &self.runtime_dir
        };
        cmd.env("XDG_RUNTIME_DIR", runtime)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("NOTIFY_SOCKET");
        cmd
    }

    /// Runs `program` (a path inside the tree, or the host's) inside the manager's namespaces
    /// and root: the tree's own `systemd-notify` as the differential oracle.
    pub fn inside(&self, program: &str) -> Command {
        self.command(program)
    }

    /// The root the manager's units run in (`/` for the host's).
    pub fn root(&self) -> &Path {
        self.root.as_deref().unwrap_or(Path::new("/"))
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
            leftovers::collect_pids(cg, &mut pids);
        }
        pids
    }
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
                leftovers::remove_tree(cg);
                if !cg.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = std::fs::remove_dir_all(&self.runtime_dir);
        if let Some(root) = &self.root {
            // The empty mount point made inside the tree for the state dir (the mount itself
            // went with the manager's mount namespace).
            let inside = root.join(self.state_dir.strip_prefix("/").unwrap_or(&self.state_dir));
            let _ = std::fs::remove_dir(inside);
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
