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

/// `(state, parent)` from `/proc/PID/stat`; `Ok(None)` when there is no such process (or
/// thread). The command name may hold spaces and `)`. Any other failure (no descriptor left to
/// open the file, say) is an error: "cannot tell" is never "gone".
fn stat(pid: u32) -> io::Result<Option<(u8, u32)>> {
    let text = match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(text) => text,
        Err(e) if vanished(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let parsed = (|| {
        let close = text.iter().rposition(|&b| b == b')')?;
        let mut fields = text.get(close + 2..)?.split(|&b| b == b' ');
        let state = *fields.next()?.first()?;
        let parent = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
        Some((state, parent))
    })();
    parsed.map(Some).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("/proc/{pid}/stat is unreadable"),
        )
    })
}

/// Errors that mean the process is gone (its `/proc` entry vanished while it was read).
fn vanished(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error())
}

/// Whether an error is the supervisor running out of descriptors (EMFILE, ENFILE).
pub(crate) fn out_of_descriptors(e: &io::Error) -> bool {
    let raw = e.raw_os_error();
    raw == Some(rustix::io::Errno::MFILE.raw_os_error())
        || raw == Some(rustix::io::Errno::NFILE.raw_os_error())
}

/// Whether `pid` is alive (not a zombie) and a descendant of this process. `/proc/TID/stat`
/// also answers for a thread (with its process's parent): see [`thread_group`].
pub(crate) fn is_descendant(pid: Pid) -> io::Result<bool> {
    let me = std::process::id();
    Ok(pid.get() != me && descends_from(pid, me)?)
}

/// Whether `pid` is alive (not a zombie) and `ancestor` itself or one of its descendants.
pub(crate) fn descends_from(pid: Pid, ancestor: u32) -> io::Result<bool> {
    let Some((state, mut parent)) = stat(pid.get())? else {
        return Ok(false);
    };
    if state == b'Z' {
        return Ok(false);
    }
    if pid.get() == ancestor {
        return Ok(true);
    }
    // A chain longer than any real process tree is a loop or a lie: not ours.
    for _ in 0..4096 {
        if parent == ancestor {
            return Ok(true);
        }
        if parent <= 1 {
            return Ok(false);
        }
        match stat(parent)? {
            Some((_, next)) => parent = next,
            None => return Ok(false),
        }
    }
    Ok(false)
}

/// The process (thread-group leader) `pid` belongs to: itself for a process, another pid for
/// a thread; `Ok(None)` when it is gone.
pub(crate) fn thread_group(pid: Pid) -> io::Result<Option<Pid>> {
    let status = match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Ok(status) => status,
        Err(e) if vanished(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| Pid::parse(v.trim())))
}

/// Every live descendant of this process, found through `/proc` (no cgroup needed). An error
/// when `/proc` cannot be read: never an empty list that only looks like "nothing left".
pub(crate) fn descendants() -> io::Result<Vec<Pid>> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((state, parent)) = stat(pid)? {
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
    Ok(found)
}

/// A pidfd, so that a later signal reaches this very process and never one that got its pid.
/// `Ok(None)` when the process is gone (or `pid` is not a process: a thread has no pidfd).
pub(crate) fn pidfd(pid: Pid) -> io::Result<Option<OwnedFd>> {
    let Some(target) = rustix::process::Pid::from_raw(pid.as_raw()) else {
        return Ok(None);
    };
    match pidfd_open(target, PidfdFlags::empty()) {
        Ok(fd) => Ok(Some(fd)),
        Err(rustix::io::Errno::SRCH | rustix::io::Errno::NOENT | rustix::io::Errno::INVAL) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Signals `pid` if, and only if, it is one of the service's processes: the pidfd is opened
/// first and the ancestry checked after, so a pid reused in between is never signalled.
/// `Ok(false)` when it is not (or no longer) one; an error when that cannot be told.
pub(crate) fn signal(pid: Pid, signal: Signal) -> io::Result<bool> {
    let Some(fd) = pidfd(pid)? else {
        return Ok(false);
    };
    Ok(is_descendant(pid)? && pidfd_send_signal(&fd, signal).is_ok())
}

/// Signals every live descendant; how many were signalled, or the first error that kept one
/// from being reached (the others are signalled all the same).
pub(crate) fn signal_all(sig: Signal) -> io::Result<usize> {
    let mut count = 0;
    let mut failed = None;
    for pid in descendants()? {
        match signal(pid, sig) {
            Ok(sent) => count += usize::from(sent),
            Err(e) => failed = failed.or(Some(e)),
        }
    }
    failed.map_or(Ok(count), Err)
}

/// `PIDFD_THREAD` (`O_EXCL`) in a pidfd's file flags: it refers to one thread.
const PIDFD_THREAD: u32 = 0o200;

/// The process a pidfd sent with `MAINPIDFD=1` refers to (`Pid:` in its fdinfo), or why it
/// cannot be the main process: not a pidfd, its process gone, or a thread's pidfd.
pub(crate) fn process_of_pidfd(fd: &OwnedFd) -> Result<Pid, String> {
    use std::os::fd::AsRawFd;
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
        .map_err(|e| format!("its descriptor cannot be inspected: {e}"))?;
    let field = |key: &str| info.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
    let Some(pid) = field("Pid:") else {
        return Err("the descriptor is not a pidfd".to_owned());
    };
    let flags = field("flags:")
        .and_then(|f| u32::from_str_radix(f, 8).ok())
        .unwrap_or(0);
    if flags & PIDFD_THREAD != 0 {
        return Err("the descriptor is a thread's pidfd (PIDFD_THREAD), not a process's".to_owned());
    }
    Pid::parse(pid).ok_or_else(|| "the pidfd's process has ended".to_owned())
}

/// Whether `pid` catches or blocks `signal` (SigCgt or SigBlk in /proc/PID/status), what
/// systemd 262 checks of a notify-reload service; `None` when that cannot be read.
///
/// A mask blocking every signal is looked at again for a moment: glibc while it creates a
/// thread, and a shell around `vfork`, block everything for an instant, and a process caught
/// there (more likely on a loaded machine) is not one that blocks its reload signal. A
/// program that really blocks it (for a signalfd) blocks its own set, not all.
pub(crate) fn catches_or_blocks(pid: Pid, signal: Signal) -> Option<bool> {
    let bit = u32::try_from(signal.as_raw()).ok()?.checked_sub(1)?;
    let bit = 1u64.checked_shl(bit)?;
    let mut masks = signal_masks(pid)?;
    for _ in 0..25 {
        if !blocks_everything(masks.blocked) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        masks = signal_masks(pid)?;
    }
    Some((masks.caught | masks.blocked) & bit != 0)
}

struct Masks {
    caught: u64,
    blocked: u64,
}

fn signal_masks(pid: Pid) -> Option<Masks> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let mask = |key: &str| {
        let hex = status.lines().find_map(|l| l.strip_prefix(key))?;
        u64::from_str_radix(hex.trim(), 16).ok()
    };
    Some(Masks {
        caught: mask("SigCgt:")?,
        blocked: mask("SigBlk:")?,
    })
}

/// Every standard signal blocked that can be (all of 1–31 but SIGKILL and SIGSTOP).
fn blocks_everything(blocked: u64) -> bool {
    let standard = (1u64 << 31) - 1;
    let unblockable = (1u64 << (libc::SIGKILL - 1)) | (1u64 << (libc::SIGSTOP - 1));
    blocked & standard == standard & !unblockable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_all_signals_block_is_told_from_a_chosen_set() {
        // sigfillset as /proc shows it (the kernel drops SIGKILL and SIGSTOP), with and
        // without the real-time signals.
        assert!(blocks_everything(0xfffffffe7ffbfeff));
        assert!(blocks_everything(0x7ffbfeff));
        // A program blocking SIGHUP and SIGUSR1 for its signalfd.
        assert!(!blocks_everything(0x201));
        assert!(!blocks_everything(0));
    }

    #[test]
    fn only_descendants_are_ours() {
        assert!(
            !is_descendant(Pid::current()).unwrap(),
            "the supervisor itself is not the service's"
        );
        assert!(!is_descendant(Pid::new(1).unwrap()).unwrap());
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let pid = Pid::new(child.id()).unwrap();
        assert!(is_descendant(pid).unwrap());
        assert!(descendants().unwrap().contains(&pid));
        assert!(signal(pid, Signal::KILL).unwrap());
        child.wait().unwrap();
        assert!(!is_descendant(pid).unwrap());
        assert!(!signal(pid, Signal::KILL).unwrap(), "a reaped pid is nobody's");
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
    fn a_pidfd_names_its_process_and_a_thread_pidfd_is_refused() {
        let fd = pidfd(Pid::current()).unwrap().unwrap();
        assert_eq!(process_of_pidfd(&fd), Ok(Pid::current()));
        let not_a_pidfd = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        assert!(process_of_pidfd(&not_a_pidfd)
            .unwrap_err()
            .contains("not a pidfd"));
        let me = rustix::process::getpid();
        // PIDFD_THREAD is Linux 6.9+; older kernels refuse the flag.
        if let Ok(thread_fd) = pidfd_open(me, PidfdFlags::from_bits_retain(PIDFD_THREAD)) {
            let why = process_of_pidfd(&thread_fd).unwrap_err();
            assert!(why.contains("thread's pidfd"), "{why}");
        }
    }

    #[test]
    fn a_thread_is_not_a_process() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            tx.send(rustix::thread::gettid()).unwrap();
            let _ = done_rx.recv();
        });
        let tid = rx.recv().unwrap();
        let tid = Pid::new(tid.as_raw_nonzero().get().unsigned_abs()).unwrap();
        assert_eq!(thread_group(tid).unwrap(), Some(Pid::current()));
        assert_eq!(thread_group(Pid::current()).unwrap(), Some(Pid::current()));
        assert_eq!(
            pidfd(tid).unwrap().map(|_| ()),
            None,
            "a thread has no (process) pidfd"
        );
        done_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(thread_group(Pid::new(2_147_483_000).unwrap()).unwrap(), None);
    }
}
