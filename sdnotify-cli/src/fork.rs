//! `--fork -- CMD`: start CMD with a fresh notification socket, print its pid, wait for its
//! READY=1 and exit, leaving it running — as systemd-notify 262 does it: the pid is printed at
//! once (unless `-q`), CMD gets /dev/null for stdin and our stderr for its stdout (so
//! `pid=$(sdnotify --fork -- daemon)` returns once the daemon is ready), and when CMD exits
//! before READY=1, sdnotify exits with CMD's status (203 when it cannot be executed).

use std::io::Write as _;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use sdnotify_runtime::manager::Listener;

use crate::args::Args;

/// systemd's EXIT_EXEC: the command could not be executed.
const EXIT_EXEC: u8 = 203;

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
    loop {
        match listener.recv() {
            // A barrier is answered by dropping its datagram, which closes its descriptor.
            Ok(datagram) => {
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
