//! The drop-in `systemd-notify`: compose, send with the caller's credentials, wait for the
//! barrier, then optionally exec a command.

use std::ffi::OsString;
use std::os::fd::BorrowedFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode};
use std::time::Duration;

use sdnotify_runtime::{Message, Notifier};

use crate::args::{self, Args};
use crate::{compose, fork, mainpid, user};

/// How long the default barrier waits for the manager, as systemd-notify does; the send itself
/// waits as long at most for room in a full manager queue.
const BARRIER_TIMEOUT: Duration = Duration::from_secs(5);

/// With `--no-block`, the longest the send waits for room in a full manager queue.
const NO_BLOCK_SEND_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) fn main(argv: Vec<OsString>) -> Result<ExitCode, String> {
    if argv.len() <= 1 {
        // As systemd-notify: no arguments prints the help and fails.
        let _ = args::command().print_help();
        return Ok(ExitCode::FAILURE);
    }
    let (args, exec) = match parse_with_exec(&argv) {
        Ok(parsed) => parsed,
        Err(Usage::Clap(e)) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
            let _ = e.print();
            return Ok(ExitCode::from(code));
        }
        Err(Usage::Other(message)) => return Err(message),
    };
    if let Some(what) = &args.generate {
        return crate::generate::print(what);
    }
    if args.booted {
        return Ok(if sdnotify_runtime::booted() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if args.fork {
        return fork::run(&args);
    }
    if args.fdname.is_some() && args.fds.is_empty() {
        return Err("--fdname= requires --fd=".to_owned());
    }
    if let Some(name) = &args.fdname {
        if !sdnotify_runtime::fdname_is_valid(name) {
            return Err(format!(
                "invalid --fdname={name:?}: at most 255 printable ASCII characters, without `:`"
            ));
        }
    }
    let nothing_to_send = !(args.ready || args.reloading || args.stopping)
        && args.status.is_none()
        && args.pid.is_none()
        && args.fds.is_empty()
        && args.operands.is_empty();
    if nothing_to_send {
        let _ = args::command().print_help();
        return Ok(ExitCode::FAILURE);
    }
    let Some(address) = std::env::var_os("NOTIFY_SOCKET") else {
        if !args.quiet {
            eprintln!("No status data could be sent: $NOTIFY_SOCKET was not set");
        }
        return Ok(ExitCode::FAILURE);
    };
    let main_pid = args.pid.as_deref().map(resolve_pid).transpose()?;
    let main_pid = match main_pid {
        Some(pid) => Some((pid, mainpid::pidfd_id(pid)?)),
        None => None,
    };
    let source_pid = main_pid.map_or_else(default_source_pid, |(pid, _)| pid);
    let monotonic = u64::try_from(sdnotify_runtime::monotonic_now().as_micros()).unwrap_or(u64::MAX);
    let lines = compose::lines(&args, main_pid, monotonic);
    let message = Message::from_lines(&lines).map_err(|e| e.to_string())?;
    let fds = borrow_fds(&args.fds)?;
    if let Some(name) = &args.uid {
        let (uid, gid) = user::resolve(name)?;
        user::set_real_ids(uid, gid)?;
    }
    let notifier =
        Notifier::connect(&address).map_err(|e| format!("failed to notify the service manager: {e}"))?;
    let send_timeout = if args.no_block {
        NO_BLOCK_SEND_TIMEOUT
    } else {
        BARRIER_TIMEOUT
    };
    notifier
        .send_within(&message, &fds, Some(source_pid), send_timeout)
        .map_err(|e| format!("failed to notify the service manager: {e}"))?;
    if !args.no_block {
        // With the message's credentials, as systemd-notify 257+ (252 used its own).
        notifier
            .barrier_as(Some(source_pid), BARRIER_TIMEOUT)
            .map_err(|e| format!("failed to invoke the barrier: {e}"))?;
    }
    if let Some(command) = exec {
        let error = Command::new(&command[0]).args(&command[1..]).exec();
        return Err(format!("cannot execute {:?}: {error}", command[0]));
    }
    Ok(ExitCode::SUCCESS)
}

enum Usage {
    Clap(clap::Error),
    Other(String),
}

/// With `--exec`, the operands end at the first `;`; what follows is the command line, taken
/// as it is. Without `--exec`, a `;` is an ordinary operand, as in systemd-notify.
fn parse_with_exec(argv: &[OsString]) -> Result<(Args, Option<Vec<OsString>>), Usage> {
    if let Some(at) = argv.iter().position(|a| a == ";") {
        if let Ok(args) = args::parse(&argv[..at]) {
            if args.exec {
                // 262's form `; -- CMD ARGS` lets CMD take options: the `--` is not the command.
                let rest = &argv[at + 1..];
                let rest = rest.strip_prefix(&[OsString::from("--")][..]).unwrap_or(rest);
                let command = rest.to_vec();
                if command.is_empty() {
                    return Err(Usage::Other("--exec needs a command line after ';'".to_owned()));
                }
                return Ok((args, Some(command)));
            }
        }
    }
    let args = args::parse(argv).map_err(Usage::Clap)?;
    if args.exec {
        return Err(Usage::Other(
            "--exec needs ';' and a command line after the assignments".to_owned(),
        ));
    }
    Ok((args, None))
}

/// `--pid=`: a number, `self`, `parent`, or `auto` (also an empty value): the parent, unless
/// the parent is pid 1 or the service manager (`$MANAGERPID`), then ourselves.
fn resolve_pid(spec: &str) -> Result<u32, String> {
    match spec {
        "" | "auto" => Ok(default_source_pid()),
        "self" => Ok(std::process::id()),
        "parent" => Ok(std::os::unix::process::parent_id()),
        number => number
            .parse::<u32>()
            .ok()
            .filter(|&p| p > 0 && i32::try_from(p).is_ok())
            .ok_or_else(|| format!("invalid --pid={number:?}: expected a process id, auto, self or parent")),
    }
}

/// The pid a message speaks for by default, as systemd-notify decides it.
fn default_source_pid() -> u32 {
    let parent = std::os::unix::process::parent_id();
    let manager: Option<u32> = std::env::var("MANAGERPID").ok().and_then(|p| p.parse().ok());
    if parent <= 1 || Some(parent) == manager {
        std::process::id()
    } else {
        parent
    }
}

/// `--fd=N`: descriptors this process inherited, checked to be open.
#[allow(unsafe_code)] // An inherited descriptor exists only as a number.
fn borrow_fds(fds: &[i32]) -> Result<Vec<BorrowedFd<'static>>, String> {
    fds.iter()
        .map(|&fd| {
            if std::fs::symlink_metadata(format!("/proc/self/fd/{fd}")).is_err() {
                return Err(format!("--fd={fd}: no such open file descriptor"));
            }
            // SAFETY: the descriptor is open (checked above), was inherited for this purpose, and
            // nothing in this process closes it before the process exits or execs.
            Ok(unsafe { BorrowedFd::borrow_raw(fd) })
        })
        .collect()
}
