//! What the supervisor sets up before its loop: the socket's private directory, the fd store's
//! size, and the service's command line and environment.

use std::path::PathBuf;
use std::process::Command;

use sdnotify_runtime::manager::Listener;

use super::event::Event;
use super::sockets;
use super::{fdstore, process, Options};

/// A private directory for the socket, removed (with the socket) when the supervisor ends.
/// Mode 0711 and a 0666 socket, so a service that drops privileges still reaches it; who may
/// send is decided by the sender's pid, not by file permissions.
pub(crate) struct PrivateDir(pub(crate) PathBuf);

impl PrivateDir {
    pub(crate) fn create() -> std::io::Result<PrivateDir> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let mut last = None;
        for attempt in 0..16u32 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let name = format!("sdnotify-run-{}-{nanos:x}{attempt}", std::process::id());
            let path = std::env::temp_dir().join(name);
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o711))?;
                    return Ok(PrivateDir(path));
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("no directory name left")))
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Descriptors handed to the service (listening sockets, then the fd store's), with names.
pub(crate) type Handed<'a> = [(std::os::fd::BorrowedFd<'a>, Option<&'a str>)];

/// The command, with NOTIFY_SOCKET (and WATCHDOG_USEC/WATCHDOG_PID, the LISTEN_* variables for
/// `handed`, FDSTORE) set, stdin /dev/null unless inherited, and (with --json) stdout sent to
/// stderr.
pub(crate) fn build_command(
    options: &Options,
    listener: &Listener,
    handed: &Handed<'_>,
    fdstore_max: usize,
) -> std::io::Result<Command> {
    let Some((program, args)) = options.command.split_first() else {
        return Err(std::io::Error::other("no command given"));
    };
    // WATCHDOG_PID and LISTEN_PID must be the service's own pid, known only after fork: a shell
    // sets them and execs the command in place, keeping the pid.
    let watchdog_pid = options
        .service_watchdog
        .map(|_| "WATCHDOG_PID=$$; export WATCHDOG_PID;");
    let assignments: Vec<&str> = watchdog_pid
        .into_iter()
        .chain(sockets::pid_assignment(handed))
        .collect();
    let mut command = match assignments.is_empty() {
        false => {
            if !is_executable(program) {
                // The shell would report this as exit 127 after starting; say it plainly.
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!(
                        "no such executable: {}",
                        super::escape::shell_words(&options.command[..1])
                    ),
                ));
            }
            let mut sh = Command::new("/bin/sh");
            sh.arg("-c")
                .arg(format!("{} exec \"$0\" \"$@\"", assignments.join(" ")))
                .arg(program)
                .args(args);
            sh
        }
        true => {
            let mut direct = Command::new(program);
            direct.args(args);
            direct
        }
    };
    sdnotify_runtime::env::scrub(&mut command);
    command.env("NOTIFY_SOCKET", listener.address());
    if let Some(interval) = options.service_watchdog {
        command.env("WATCHDOG_USEC", interval.as_micros().max(1).to_string());
    }
    sockets::hand_over(&mut command, handed)?;
    if fdstore_max > 0 {
        // As systemd 254+: the store's size, when it has one.
        command.env("FDSTORE", fdstore_max.to_string());
    } else {
        command.env_remove("FDSTORE");
    }
    let stdio = process::stdio(options.inherit_stdin, options.json)?;
    command.stdin(stdio.stdin).stdout(stdio.stdout);
    Ok(command)
}

/// Whether `program` names something the shell could execute (a path, or a name on $PATH).
fn is_executable(program: &std::ffi::OsString) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let path = std::path::Path::new(program);
    if program.to_string_lossy().contains('/') {
        return runnable(path);
    }
    std::env::var_os("PATH")
        .is_some_and(|dirs| std::env::split_paths(&dirs).any(|dir| runnable(&dir.join(program))))
}

/// The fd store's size as it fits the descriptor limit (see [`fdstore::fit`]): a given
/// `--fdstore-max` that does not fit is an error; the default is lowered, with a warning.
pub(crate) fn fdstore_max(options: &Options) -> Result<(usize, Option<Event>), String> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    let open = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64);
    match fdstore::fit(options.fdstore_max, limit, open) {
        Ok(max) => Ok((max, None)),
        Err(why) if options.fdstore_max_given => Err(why),
        Err(_) => {
            let room = (0..options.fdstore_max)
                .rev()
                .find(|&n| fdstore::fit(n, limit, open).is_ok())
                .unwrap_or(0);
            let warning = Event::Warning(format!(
                "the descriptor limit (RLIMIT_NOFILE {}) leaves room for {room} in the fd store: \
                 --fdstore-max lowered from {} (raise it with ulimit -n)",
                limit.unwrap_or(u64::MAX),
                options.fdstore_max
            ));
            Ok((room, Some(warning)))
        }
    }
}
