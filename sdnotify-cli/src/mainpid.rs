//! `--pid`: the process must be alive, and the newest systemd-notify names it twice: by pid
//! (`MAINPID=`) and by its pidfd's inode id (`MAINPIDFDID=`), which no recycled pid can match.

use rustix::process::{pidfd_open, PidfdFlags};

/// pidfs's magic number (`PID_FS_MAGIC`): pidfds have unique inode ids only on pidfs
/// (Linux 6.9+); older kernels give every pidfd the same anonymous inode.
const PID_FS_MAGIC: i64 = 0x5049_4446;

/// The pidfd inode id of a live process, `None` where the kernel has no pidfs; an error when
/// no process has that pid, as systemd-notify 257+ refuses it.
pub(crate) fn pidfd_id(pid: u32) -> Result<Option<u64>, String> {
    let no_such = || format!("cannot refer to --pid={pid}: no such process");
    let target = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .ok_or_else(no_such)?;
    let fd = match pidfd_open(target, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::SRCH) => return Err(no_such()),
        // No pidfd_open (Linux < 5.3): the pid cannot be checked or named by id.
        Err(_) => return Ok(None),
    };
    // FsWord is narrower than i64 on some targets.
    #[allow(clippy::useless_conversion)]
    let on_pidfs = rustix::fs::fstatfs(&fd).is_ok_and(|fs| i64::from(fs.f_type) == PID_FS_MAGIC);
    if !on_pidfs {
        return Ok(None);
    }
    Ok(rustix::fs::fstat(&fd).ok().map(|st| st.st_ino))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_process_has_an_id_and_a_dead_pid_is_refused() {
        let me = pidfd_id(std::process::id()).unwrap();
        let parent = pidfd_id(std::os::unix::process::parent_id()).unwrap();
        if let (Some(me), Some(parent)) = (me, parent) {
            assert_ne!(me, parent, "pidfs ids are per process");
        }
        assert!(pidfd_id(2_147_483_000).unwrap_err().contains("no such process"));
        assert!(pidfd_id(u32::MAX).is_err());
    }
}
