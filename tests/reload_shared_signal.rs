//! The reload signal's handler chains with other handlers of the same signal: with tokio's
//! `signal()` installed after it (`examples/reload_shared_signal.rs`), each SIGUSR1 reaches
//! both, twice in a row.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod support;
use support::{example, Reap};

#[test]
fn each_signal_reaches_both_handlers() {
    let mut cmd = Command::new(example("reload_shared_signal"));
    sdnotify::env::scrub(&mut cmd);
    let mut child = Reap(cmd.stdout(Stdio::piped()).spawn().unwrap());
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "listening");
    let pid = libc::pid_t::try_from(child.0.id()).unwrap();
    for _ in 0..2 {
        // SAFETY: kill has no memory-safety preconditions; `pid` is our child's.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
        assert_eq!(
            lines.next().unwrap().unwrap(),
            "tokio saw SIGUSR1; sdnotify's request: true"
        );
    }
    assert!(child.0.wait().unwrap().success());
}
