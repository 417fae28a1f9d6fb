//! `--fork -- CMD`: start CMD with a fresh notification socket, wait for its READY=1, print its
//! pid and exit, leaving it running.

use std::process::{Command, ExitCode};
use std::time::Duration;

use sdnotify_runtime::manager::Listener;

use crate::args::Args;

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    let Some((program, rest)) = args.operands.split_first() else {
        return Err("--fork needs a command line after `--`".to_owned());
    };
    let listener =
        Listener::bind_unique().map_err(|e| format!("cannot create a notification socket: {e}"))?;
    listener
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| format!("cannot set up the notification socket: {e}"))?;
    let mut command = Command::new(program);
    command.args(rest);
    sdnotify_runtime::env::scrub(&mut command);
    command.env("NOTIFY_SOCKET", listener.address());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {program:?}: {e}"))?;
    loop {
        match listener.recv() {
            // A barrier is answered by dropping its datagram, which closes its descriptor.
            Ok(datagram) => {
                if datagram.parse().is_ok_and(|n| n.has("READY=1")) {
                    println!("{}", child.id());
                    return Ok(ExitCode::SUCCESS);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                    return Err(format!("{program:?} exited ({status}) before it sent READY=1"));
                }
            }
            Err(e) => return Err(format!("cannot receive notifications: {e}")),
        }
    }
}
