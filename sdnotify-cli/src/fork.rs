//! `--fork -- CMD`: start CMD with a fresh notification socket, print its pid, wait for its
//! READY=1 and exit, leaving it running — as systemd-notify 262 does it: the pid is printed at
//! once (unless `-q`), CMD gets /dev/null for stdin and our stderr for its stdout (so
//! `pid=$(sdnotify --fork -- daemon)` returns once the daemon is ready), and when CMD exits
//! before READY=1, sdnotify exits with CMD's status (203 when it cannot be executed).
//!
//! The socket's abstract name can be found by anyone (`/proc/net/unix`), so only CMD and its
//! descendants are heard (systemd-notify 262 hears CMD alone); a message from any other process
//! is ignored with a warning, as 262 ignores it.

use std::io::Write as _;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use sdnotify_runtime::manager::{Datagram, Listener};
use sdnotify_runtime::Pid;

use crate::args::Args;
use crate::run::process;

/// systemd's EXIT_EXEC: the command could not be executed.
const EXIT_EXEC: u8 = 203;

/// Warnings about messages from other processes, at most: a flood of them must not flood the
/// terminal.
const MAX_WARNINGS: u32 = 10;

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    let Some((program, rest)) = args.operands.split_first() else {
        return Err("--fork needs a command line after `--`".to_owned());
    };
    let listener =
        Listener::bind_unique().map_err(|e| format!("cannot create a notification socket: {e}"))?;
    listener
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| format!("cannot set up the notification socket: {e}"))?;
    let stdout_to_stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| format!("cannot set up the command's output: {e}"))?;
    let mut command = Command::new(program);
    command.args(rest).stdin(Stdio::null()).stdout(stdout_to_stderr);
    sdnotify_runtime::env::scrub(&mut command);
    command.env("NOTIFY_SOCKET", listener.address());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "sdnotify: cannot execute {program:?}: {e}");
            return Ok(ExitCode::from(EXIT_EXEC));
        }
    };
    if !args.quiet {
        let mut stdout = std::io::stdout();
        let _ = writeln!(stdout, "{}", child.id()).and_then(|()| stdout.flush());
    }
    let mut warnings = 0u32;
    loop {
        match listener.recv() {
            // A barrier is answered by dropping its datagram, which closes its descriptor.
            Ok(datagram) => {
                if let Err(sender) = from_command(&datagram, child.id()) {
                    warnings = warnings.saturating_add(1);
                    if warnings <= MAX_WARNINGS {
                        let _ = writeln!(
                            std::io::stderr(),
                            "sdnotify: received a notification message from unexpected process {sender} \
                             (expected {} or one of its descendants), ignoring{}",
                            child.id(),
                            if warnings == MAX_WARNINGS {
                                "; further ones are not reported"
                            } else {
                                ""
                            }
                        );
                    }
                    continue;
                }
                if datagram.parse().is_ok_and(|n| n.has("READY=1")) {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                    // CMD's own status, as systemd-notify 262 exits with it.
                    let code = status
                        .code()
                        .or_else(|| status.signal().map(|s| 128 + s))
                        .and_then(|c| u8::try_from(c).ok())
                        .unwrap_or(1);
                    let _ = writeln!(
                        std::io::stderr(),
                        "sdnotify: {program:?} exited ({status}) before it sent READY=1"
                    );
                    return Ok(ExitCode::from(code));
                }
            }
            Err(e) => return Err(format!("cannot receive notifications: {e}")),
        }
    }
}

/// Whether the datagram comes from the command or one of its descendants; else its sender,
/// for the warning. A sender that cannot be placed is not the command's.
fn from_command(datagram: &Datagram, command: u32) -> Result<(), String> {
    let sender = datagram.pid();
    let ours = sender
        .and_then(Pid::new)
        .is_some_and(|pid| process::descends_from(pid, command).unwrap_or(false));
    if ours {
        return Ok(());
    }
    Err(sender.map_or_else(|| "(no credentials)".to_owned(), |pid| pid.to_string()))
}
