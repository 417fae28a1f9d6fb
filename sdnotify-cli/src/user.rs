//! `--uid=USER`: resolve a user and become it before sending.

use rustix::process::{Gid, Uid};

/// A user name from /etc/passwd, or a numeric uid (whose gid is then looked up, or equal).
pub(crate) fn resolve(user: &str) -> Result<(Uid, Gid), String> {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entries = passwd.lines().filter_map(|line| {
        let mut f = line.split(':');
        let name = f.next()?;
        let _password = f.next()?;
        let uid: u32 = f.next()?.parse().ok()?;
        let gid: u32 = f.next()?.parse().ok()?;
        Some((name, uid, gid))
    });
    let numeric: Option<u32> = user.parse().ok();
    let found = entries
        .clone()
        .find(|(name, _, _)| *name == user)
        .or_else(|| numeric.and_then(|n| entries.clone().find(|(_, uid, _)| *uid == n)));
    match (found, numeric) {
        (Some((_, uid, gid)), _) => Ok((Uid::from_raw(uid), Gid::from_raw(gid))),
        (None, Some(n)) => Ok((Uid::from_raw(n), Gid::from_raw(n))),
        (None, None) => Err(format!(
            "cannot resolve user {user:?}: not in /etc/passwd and not a number"
        )),
    }
}

/// Changes the real uid and gid only, as systemd-notify does: the kernel reports the real ids
/// in the message's credentials, while the effective ids keep the privilege to speak for
/// another pid and to reach a root-owned socket.
///
/// The process is single-threaded here, so the per-thread system calls change the process.
pub(crate) fn set_real_ids(uid: Uid, gid: Gid) -> Result<(), String> {
    let fail = |what: &str, e: rustix::io::Errno| format!("cannot change the {what}: {e}");
    rustix::thread::set_thread_res_gid(gid, None, None).map_err(|e| fail("group", e))?;
    rustix::thread::set_thread_res_uid(uid, None, None).map_err(|e| fail("user", e))?;
    Ok(())
}
