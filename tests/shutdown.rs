//! The shutdown the program waits for (`examples/shutdown.rs`, `wait_shutdown()`): SIGTERM or
//! SIGINT makes STOPPING=1 go out at once, while the program still drains; the exit path sends
//! no second one; and the program ends with its own status.

use std::process::{Command, Stdio};
use std::time::Duration;

use sdnotify::manager::Listener;

mod support;
use support::{example, Reap};

fn stops_gracefully_on(signal: libc::c_int) {
    let receiver = Listener::bind_unique().unwrap();
    let mut cmd = Command::new(example("shutdown"));
    sdnotify::env::scrub(&mut cmd);
    cmd.env("NOTIFY_SOCKET", receiver.address())
        .env("SHUTDOWN_DRAIN_MS", "800")
        .stdout(Stdio::null());
    let mut child = Reap(cmd.spawn().unwrap());
    receiver.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(receiver.recv().unwrap().bytes(), b"READY=1");
    let pid = libc::pid_t::try_from(child.0.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions; `pid` is our child's.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    assert_eq!(receiver.recv().unwrap().bytes(), b"STOPPING=1");
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "STOPPING=1 came while it drains"
    );
    assert!(child.0.wait().unwrap().success());
    support::assert_nothing_more(&receiver);
}

#[test]
fn sigterm_sends_stopping_at_once_and_once() {
    stops_gracefully_on(libc::SIGTERM);
}

#[test]
fn sigint_too() {
    stops_gracefully_on(libc::SIGINT);
}
