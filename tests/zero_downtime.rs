//! `examples/zero_downtime.rs` (axum on tokio) against a receiver socket: it serves on the
//! listening socket passed to it under the name `http` (made non-blocking for tokio), stores it
//! in the fd store, sends READY=1, answers with its pid, and ends gracefully on SIGTERM; alone,
//! it binds the address it is given.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::Duration;

use sdnotify::manager::Listener;

mod support;
use support::{example, Reap};

/// `GET /` on `addr`: the response body.
fn get(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
    response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned()
}

/// The example with `NOTIFY_SOCKET` set to a fresh receiver and, when given, `passed` as fd 3
/// named `http` (as systemd passes a socket unit's descriptor).
fn start(passed: Option<&OwnedFd>, arg: &str) -> (Reap, Listener) {
    let receiver = Listener::bind_unique().unwrap();
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("export LISTEN_PID=$$; exec \"$0\" \"$1\"")
        .arg(example("zero_downtime"))
        .arg(arg);
    sdnotify::env::scrub(&mut cmd);
    cmd.env("NOTIFY_SOCKET", receiver.address())
        .env("ZD_DRAIN_MS", "1000")
        .stdout(Stdio::null());
    if let Some(fd) = passed {
        sdnotify::manager::pass_listen_fds(&mut cmd, &[(fd.as_fd(), Some("http"))]).unwrap();
    }
    (Reap(cmd.spawn().unwrap()), receiver)
}

/// The datagrams until READY=1, joined.
fn until_ready(receiver: &Listener) -> Vec<(String, usize)> {
    receiver.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut seen = Vec::new();
    loop {
        let datagram = receiver.recv().unwrap();
        let text = String::from_utf8_lossy(datagram.bytes()).into_owned();
        seen.push((text.clone(), datagram.fds().len()));
        if text.contains("READY=1") {
            return seen;
        }
    }
}

#[test]
fn the_passed_socket_is_served_stored_and_kept_until_a_graceful_end() {
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let fd = OwnedFd::from(socket);
    let (mut child, receiver) = start(Some(&fd), "127.0.0.1:1");
    let seen = until_ready(&receiver);
    assert_eq!(seen[0], ("FDSTORE=1\nFDNAME=http".to_owned(), 1), "{seen:?}");
    assert!(
        seen.contains(&(format!("STATUS=serving on {addr}"), 0)),
        "{seen:?}"
    );
    // Served on the passed socket (the argument would not even bind).
    assert_eq!(get(addr).trim(), child.0.id().to_string());
    assert_eq!(get(addr).trim(), child.0.id().to_string());
    let pid = libc::pid_t::try_from(child.0.id()).unwrap();
    // SAFETY: kill has no memory-safety preconditions; `pid` is our child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    // STOPPING=1 the moment the signal arrives, while the last connections drain (1 s).
    assert_eq!(receiver.recv().unwrap().bytes(), b"STOPPING=1");
    assert!(
        child.0.try_wait().unwrap().is_none(),
        "STOPPING=1 came before the end"
    );
    assert!(child.0.wait().unwrap().success(), "a graceful end exits 0");
    support::assert_nothing_more(&receiver);
}

#[test]
fn alone_it_binds_the_address_it_is_given() {
    let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (mut child, receiver) = start(None, &free.to_string());
    until_ready(&receiver);
    assert_eq!(get(free).trim(), child.0.id().to_string());
    child.0.kill().unwrap();
    child.0.wait().unwrap();
}
