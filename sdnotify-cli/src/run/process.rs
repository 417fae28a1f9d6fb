//! The service's processes as a cgroup would hold them: the supervisor is a child subreaper, so
//! every process the service starts stays its descendant (also after its parent exits or it
//! starts a session of its own), and only those descendants are ever signalled.

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};

use rustix::process::{pidfd_open, pidfd_send_signal, PidfdFlags, Signal, WaitOptions, WaitStatus};
use sdnotify_runtime::Pid;

/// Makes orphans of the service ours (`PR_SET_CHILD_SUBREAPER`), as the manager is.
pub(crate) fn become_subreaper() -> io::Result<()> {
    Ok(rustix::process::set_child_subreaper(Some(
        rustix::process::getpid(),
    ))?)
}

/// Starts the command and returns its pid.
pub(crate) fn spawn(command: &mut Command) -> io::Result<Pid> {
    // std's Child neither waits nor kills on drop: the supervisor reaps with waitpid(-1).
    let child = command.spawn()?;
    Pid::new(child.id()).ok_or_else(|| io::Error::other("the kernel returned an invalid pid"))
}

/// Where the service's standard streams go.
pub(crate) struct Stdio3 {
    pub(crate) stdin: Stdio,
    pub(crate) stdout: Stdio,
}

/// `/dev/null` for stdin unless inherited (systemd's StandardInput=null); with `json`, the
/// service's stdout goes to the supervisor's stderr, so stdout carries JSON only.
pub(crate) fn stdio(inherit_stdin: bool, json: bool) -> io::Result<Stdio3> {
    let stdin = if inherit_stdin {
        Stdio::inherit()
    } else {
        Stdio::null()
    };
    let stdout = if json {
        use std::os::fd::AsFd;
        Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?)
    } else {
        Stdio::inherit()
    };
    Ok(Stdio3 { stdin, stdout })
}

/// Children that ended, reaped now: the service's own and orphans handed to us.
pub(crate) fn reap() -> Vec<(Pid, WaitStatus)> {
    let mut ended = Vec::new();
    // wait(2)'s -1: rustix's waitpid(None) is 0, the caller's process group only, which
    // misses a service that made a group or session of its own (php-fpm, setsid).
    while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
        if let Some(pid) = Pid::new(pid.as_raw_nonzero().get().unsigned_abs()) {
            ended.push((pid, status));
        }
    }
    ended
}

/// `(state, parent)` from `/proc/PID/stat`; the command name may hold spaces and `)`.
fn stat(pid: u32) -> Option<(u8, u32)> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let mut fields = text.get(close + 2..)?.split(|&b| b == b' ');
    let state = *fields.next()?.first()?;
    let parent = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((state, parent))
}

/// Whether `pid` is alive (not a zombie) and a descendant of this process.
pub(crate) fn is_descendant(pid: Pid) -> bool {
    let me = std::process::id();
    let Some((state, mut parent)) = stat(pid.get()) else {
        return false;
    };
    if state == b'Z' || pid.get() == me {
        return false;
    }
    // A chain longer than any real process tree is a loop or a lie: not ours.
    for _ in 0..4096 {
        if parent == me {
            return true;
        }
        if parent <= 1 {
            return false;
        }
        match stat(parent) {
            Some((_, next)) => parent = next,
            None => return false,
        }
    }
    false
}

/// Every live descendant of this process, found through `/proc` (no cgroup needed).
pub(crate) fn descendants() -> Vec<Pid> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((state, parent)) = stat(pid) {
            if state != b'Z' {
                children.entry(parent).or_default().push(pid);
            }
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![std::process::id()];
    while let Some(parent) = queue.pop() {
        for &child in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            if found.len() < 1_000_000 {
                queue.push(child);
                found.extend(Pid::new(child));
            }
        }
    }
    found
}

/// A pidfd, so that a later signal reaches this very process and never one that got its pid.
pub(crate) fn pidfd(pid: Pid) -> Option<OwnedFd> {
    let target = rustix::process::Pid::from_raw(pid.as_raw())?;
    pidfd_open(target, PidfdFlags::empty()).ok()
}

/// Signals `pid` if, and only if, it is one of the service's processes: the pidfd is opened
/// first and the ancestry checked after, so a pid reused in between is never signalled.
pub(crate) fn signal(pid: Pid, signal: Signal) -> bool {
    let Some(fd) = pidfd(pid) else {
        return false;
    };
    is_descendant(pid) && pidfd_send_signal(&fd, signal).is_ok()
}

/// Signals every live descendant; returns how many were signalled.
pub(crate) fn signal_all(sig: Signal) -> usize {
    descendants().into_iter().filter(|&pid| signal(pid, sig)).count()
}

/// The pid a pidfd refers to (`Pid:` in its fdinfo), for `MAINPIDFD=1`; `None` when the
/// descriptor is not a pidfd or its process is gone.
pub(crate) fn pid_of_pidfd(fd: &OwnedFd) -> Option<Pid> {
    use std::os::fd::AsRawFd;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).ok()?;
    let line = info.lines().find_map(|l| l.strip_prefix("Pid:"))?;
    Pid::parse(line.trim())
}

/// Whether `pid` catches or blocks `signal` (SigCgt or SigBlk in /proc/PID/status), what
/// systemd 262 checks of a notify-reload service; `None` when that cannot be read.
pub(crate) fn catches_or_blocks(pid: Pid, signal: Signal) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = |key: &str| {
        let hex = status.lines().find_map(|l| l.strip_prefix(key))?;
        u64::from_str_radix(hex.trim(), 16).ok()
    };
    let bit = u32::try_from(signal.as_raw()).ok()?.checked_sub(1)?;
    let bit = 1u64.checked_shl(bit)?;
    Some((mask("SigCgt:")? | mask("SigBlk:")?) & bit != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_descendants_are_ours() {
        assert!(
            !is_descendant(Pid::current()),
            "the supervisor itself is not the service's"
        );
        assert!(!is_descendant(Pid::new(1).unwrap()));
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let pid = Pid::new(child.id()).unwrap();
        assert!(is_descendant(pid));
        assert!(descendants().contains(&pid));
        assert!(signal(pid, Signal::KILL));
        child.wait().unwrap();
        assert!(!is_descendant(pid));
        assert!(!signal(pid, Signal::KILL), "a reaped pid is nobody's");
    }

    #[test]
    fn caught_signals_are_seen() {
        let mut child = Command::new("sh")
            .args(["-c", "trap 'exit 0' USR1; sleep 5 & wait"])
            .spawn()
            .unwrap();
        let pid = Pid::new(child.id()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while catches_or_blocks(pid, Signal::USR1) != Some(true) {
            assert!(std::time::Instant::now() < deadline, "the trap never showed");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(catches_or_blocks(pid, Signal::USR2), Some(false));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(catches_or_blocks(pid, Signal::USR1), None, "gone");
    }

    #[test]
    fn a_pidfd_names_its_process() {
        let fd = pidfd(Pid::current()).unwrap();
        assert_eq!(pid_of_pidfd(&fd), Some(Pid::current()));
        let not_a_pidfd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        assert_eq!(pid_of_pidfd(&not_a_pidfd), None);
    }
}
