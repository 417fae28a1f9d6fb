//! The manager's side of socket activation: passing descriptors to a program it starts.

use std::os::fd::BorrowedFd;
use std::process::Command;

use crate::error::Error;
use crate::message::validate_fdname;
use crate::sys;

/// Passes `fds` to the program `command` will run as systemd passes a socket unit's
/// descriptors: as descriptors 3, 4, … in that order (not close-on-exec there), with
/// `LISTEN_FDS` set to their number and `LISTEN_FDNAMES` to their names, `unknown` for one
/// without a name (what `sd_listen_fds_with_names(3)` calls it). No name given: no
/// `LISTEN_FDNAMES`.
///
/// The descriptors stay the caller's: `command` holds close-on-exec copies until it is dropped.
/// Call it once per command.
///
/// `LISTEN_PID` must be the pid of the process that takes the descriptors, which `Command`
/// cannot know before it starts: start the program through a shell that sets it and execs in
/// place, keeping its pid, as below. Without it, [`listen_fds`](crate::listen_fds) in the
/// program sees nothing.
///
/// A name systemd would refuse ([`fdname_is_valid`](crate::fdname_is_valid)) is an
/// [`Error::InvalidValue`], and `command` is left unchanged.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// use std::os::fd::AsFd;
/// use std::process::Command;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut command = Command::new("sh");
/// command.arg("-c").arg(
///     r#"LISTEN_PID=$$; export LISTEN_PID; exec sh -c 'echo "$LISTEN_FDS $LISTEN_FDNAMES"; test -S /proc/self/fd/3'"#,
/// );
/// sdnotify::env::scrub(&mut command);
/// sdnotify::manager::pass_listen_fds(&mut command, &[(listener.as_fd(), Some("http"))])?;
/// let output = command.output()?;
/// assert!(output.status.success());
/// assert_eq!(output.stdout, b"1 http\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pass_listen_fds(command: &mut Command, fds: &[(BorrowedFd<'_>, Option<&str>)]) -> Result<(), Error> {
    if fds.is_empty() {
        return Ok(());
    }
    for name in fds.iter().filter_map(|(_, name)| *name) {
        validate_fdname(name)?;
    }
    let descriptors: Vec<BorrowedFd<'_>> = fds.iter().map(|(fd, _)| *fd).collect();
    sys::place_from_3_on_exec(command, &descriptors)?;
    command.env("LISTEN_FDS", fds.len().to_string());
    if fds.iter().any(|(_, name)| name.is_some()) {
        let names: Vec<&str> = fds.iter().map(|(_, name)| name.unwrap_or("unknown")).collect();
        command.env("LISTEN_FDNAMES", names.join(":"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    fn env_of(command: &Command, key: &str) -> Option<String> {
        command
            .get_envs()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
    }

    #[test]
    fn a_name_systemd_refuses_changes_nothing() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut command = Command::new("true");
        let err = pass_listen_fds(&mut command, &[(socket.as_fd(), Some("a:b"))]).unwrap_err();
        assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
        assert_eq!(command.get_envs().count(), 0);
    }

    #[test]
    fn names_default_to_unknown_and_are_absent_when_none_is_given() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut named = Command::new("true");
        pass_listen_fds(&mut named, &[(a.as_fd(), None), (b.as_fd(), Some("dns"))]).unwrap();
        assert_eq!(env_of(&named, "LISTEN_FDS").as_deref(), Some("2"));
        assert_eq!(env_of(&named, "LISTEN_FDNAMES").as_deref(), Some("unknown:dns"));
        let mut nameless = Command::new("true");
        pass_listen_fds(&mut nameless, &[(a.as_fd(), None)]).unwrap();
        assert_eq!(env_of(&nameless, "LISTEN_FDNAMES"), None);
        let mut none = Command::new("true");
        pass_listen_fds(&mut none, &[]).unwrap();
        assert_eq!(none.get_envs().count(), 0);
    }
}
