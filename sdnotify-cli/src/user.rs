//! `--uid=USER`: resolve a user as systemd-notify does and become it before sending.

use nix::unistd::{Uid as NssUid, User};
use rustix::process::{Gid, Uid};

/// A user name or a numeric uid, looked up through NSS (so LDAP, sssd and nss-systemd users
/// resolve as for systemd-notify). As systemd's `get_user_creds`: a number is a uid; the uids
/// that mean "unchanged" to the kernel, (uid_t)-1 and the 16-bit (uid_t)65535, are refused;
/// the user's gid comes from its passwd entry, so a user without one is an error.
pub(crate) fn resolve(user: &str) -> Result<(Uid, Gid), String> {
    let numeric = parse_uid(user)?;
    let found = match numeric {
        Some(uid) => User::from_uid(NssUid::from_raw(uid)),
        None => User::from_name(user),
    }
    .map_err(|e| format!("cannot resolve user {user:?}: {e}"))?;
    match found {
        Some(entry) => Ok((
            Uid::from_raw(entry.uid.as_raw()),
            Gid::from_raw(entry.gid.as_raw()),
        )),
        None => Err(format!("cannot resolve user {user:?}: no such user")),
    }
}

/// `Some(uid)` for a decimal uid, `None` for a name; an error for a uid that is not valid.
fn parse_uid(text: &str) -> Result<Option<u32>, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match text.parse::<u32>() {
        Ok(uid) if uid != u32::MAX && uid != u32::from(u16::MAX) => Ok(Some(uid)),
        _ => Err(format!(
            "invalid user {text:?}: not a valid uid (4294967295 and 65535 mean \"unchanged\" to the kernel)"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_that_mean_unchanged_are_refused() {
        assert!(resolve("4294967295").unwrap_err().contains("not a valid uid"));
        assert!(resolve("65535").unwrap_err().contains("not a valid uid"));
        assert!(resolve("99999999999").unwrap_err().contains("not a valid uid"));
    }

    #[test]
    fn names_and_numbers_through_nss() {
        assert_eq!(resolve("root").unwrap(), (Uid::ROOT, Gid::ROOT));
        assert_eq!(resolve("0").unwrap(), (Uid::ROOT, Gid::ROOT));
        assert!(resolve("no-such-user-sdnotify")
            .unwrap_err()
            .contains("no such user"));
    }
}
