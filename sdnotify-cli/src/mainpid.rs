//! `--pid`: the process must be alive, and the newest systemd-notify names it twice: by pid
//! (`MAINPID=`) and by its pidfd's inode id (`MAINPIDFDID=`), which no recycled pid can match.

/// The pidfd inode id of a live process, `None` where the kernel has no pidfs; an error when
/// no process has that pid, as systemd-notify 257+ refuses it.
pub(crate) fn pidfd_id(pid: u32) -> Result<Option<u64>, String> {
    let no_such = || format!("cannot refer to --pid={pid}: no such process");
    let pid = sdnotify_runtime::Pid::new(pid).ok_or_else(no_such)?;
    sdnotify_runtime::pidfd_id(pid).map_err(|_| no_such())
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
