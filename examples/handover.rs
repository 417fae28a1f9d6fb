//! Handing the main process over by pidfd (`MAINPIDFD=1`, systemd 257+): the first process
//! starts the real daemon, names it to the manager by a pidfd (which, unlike a pid, cannot be
//! recycled), sends READY=1 and exits; the unit stays active with the daemon as its MainPID.
//!
//! No `#[sdnotify::main]` here on purpose: its STOPPING=1 at exit would end the unit.

use std::os::fd::AsFd;
use std::process::Command;
use std::time::Duration;

use sdnotify::{Notifier, Pid, State};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("--daemon") {
        let ms = std::env::var("EXAMPLE_RUN_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3000);
        std::thread::sleep(Duration::from_millis(ms));
        return Ok(());
    }
    let daemon = Command::new(std::env::current_exe()?).arg("--daemon").spawn()?;
    let pid = Pid::new(daemon.id()).ok_or("the daemon has no valid pid")?;
    println!("daemon pid {pid}");
    if let Some(notifier) = Notifier::from_env()? {
        let pidfd = pid.pidfd()?;
        notifier.notify_with_fds(&[State::MainPidFd, State::Ready], &[pidfd.as_fd()])?;
        notifier.barrier(Duration::from_secs(5))?;
    }
    Ok(())
}
