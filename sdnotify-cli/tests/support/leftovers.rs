//! What a manager of support/user_manager.rs leaves on the machine (cgroups, its runtime and
//! state directories), and clearing what a killed test run could not.
//!
//! Each of those is named `sdnotify-{test,xdg,manager}-PID-…` after the test process that made
//! it. A test process that is killed (a timeout, an interrupted CI run) never runs the managers'
//! `Drop`, and its leftovers would fail the next run's "nothing left behind" check although that
//! run left nothing. So the first manager a test process starts removes the leftovers of test
//! processes that no longer exist. Only empty cgroups go (the kernel refuses to remove one with
//! a process inside, and no process is signalled here: one still running there is reported by
//! the CI check, not ended by a later run that did not start it).

use std::path::{Path, PathBuf};

use super::user_manager::trees_base;

/// Removes, once per test process, what managers of test processes that have ended left.
pub fn sweep() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let cgroup_roots = [
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/systemd",
            "/sys/fs/cgroup/unified",
        ];
        for root in cgroup_roots {
            for dir in stale(Path::new(root), &["sdnotify-test-"]) {
                remove_tree(&dir);
            }
        }
        let mut dirs = vec![PathBuf::from("/tmp"), std::env::temp_dir()];
        for suite in ["trixie", "sid"] {
            dirs.push(trees_base().join(suite).join("tmp"));
        }
        dirs.dedup();
        for dir in dirs {
            for stale in stale(&dir, &["sdnotify-xdg-", "sdnotify-manager-"]) {
                // A tree's `sdnotify-manager-…` is an empty mount point; the host's holds files.
                let _ = std::fs::remove_dir_all(stale);
            }
        }
    });
}

/// The entries of `dir` named `PREFIX` + the pid of a process that no longer exists + `-…`.
fn stale(dir: &Path, prefixes: &[&str]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| {
            let name = entry.file_name();
            let Some(rest) = prefixes.iter().find_map(|p| name.to_str()?.strip_prefix(p)) else {
                return false;
            };
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
            pid.is_some_and(|pid| pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists())
        })
        .map(|entry| entry.path())
        .collect()
}

/// The pids in a cgroup tree.
pub fn collect_pids(dir: &Path, pids: &mut Vec<i32>) {
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

/// Removes a cgroup tree bottom-up (a cgroup with a process inside stays).
pub fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
