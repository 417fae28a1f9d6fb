//! Fault injection: what the transport does when the manager misbehaves or the process forks.

mod common;

use std::io::{BufRead, Write};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{path_listener, recv};
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::{Error, Notification, Notifier, State};

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sdnotify-fault-{name}-{}.sock", std::process::id()))
}

/// A socket file nobody listens on: what is left when a manager died without cleaning up.
fn stale_socket(name: &str) -> std::path::PathBuf {
    let path = temp_path(name);
    let _ = std::fs::remove_file(&path);
    drop(UnixDatagram::bind(&path).unwrap()); // std leaves the file behind
    path
}

#[test]
fn no_receiver_is_connection_refused() {
    let path = stale_socket("refused");
    match Notifier::connect(&path) {
        Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(&path).unwrap();
}

const SCENARIO: &str = "SDNOTIFY_FAULT_SCENARIO";

/// Child side of the scenarios below.
#[test]
fn fault_scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        // The process-wide sender cannot reach a manager that is not there yet, then reaches it
        // once it listens: it connects lazily and retries on every send.
        "late-manager" => {
            let err = sdnotify_runtime::status("early").unwrap_err();
            println!("early: {err}");
            std::io::stdout().flush().unwrap();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).unwrap();
            assert!(sdnotify_runtime::status("late").unwrap());
        }
        // A child forked after the socket was opened speaks with its own pid on the inherited
        // socket.
        "fork" => {
            assert!(sdnotify_runtime::status("parent").unwrap());
            // SAFETY: the child only sends one datagram and leaves with _exit, touching no lock
            // another thread could hold (the sender's lock is free: no send is in progress).
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                let ok = sdnotify_runtime::status("child").is_ok();
                // SAFETY: ends the forked child without running the parent's destructors.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            let mut status = 0;
            // SAFETY: waits for the child forked above.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            println!("child-pid: {pid}");
        }
        // Another thread is reconnecting without pause (the manager's socket is stale) while
        // this one forks: a child must never inherit a held lock, so its own send returns.
        "fork-while-reconnecting" => {
            std::thread::spawn(|| loop {
                let _ = sdnotify_runtime::status("busy");
            });
            for _ in 0..300 {
                // SAFETY: the child makes one send and leaves with _exit; glibc makes malloc
                // fork-safe, and the sender takes no lock of its own.
                let pid = unsafe { libc::fork() };
                assert!(pid >= 0, "fork failed");
                if pid == 0 {
                    let refused = sdnotify_runtime::status("child").is_err();
                    // SAFETY: ends the forked child without running the parent's destructors.
                    unsafe { libc::_exit(if refused { 0 } else { 1 }) };
                }
                let mut status = 0;
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                // SAFETY: polls the child forked above.
                while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
                    if std::time::Instant::now() > deadline {
                        // SAFETY: our own child, not yet reaped.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        panic!("a child forked during a reconnect never finished its send");
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
            }
            println!("forks: 300");
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn scenario(name: &str, socket: &std::ffi::OsStr) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "fault_scenario_entry_point",
        "--nocapture",
        "--test-threads=1",
    ]);
    sdnotify_runtime::env::scrub(&mut cmd);
    cmd.env(SCENARIO, name)
        .env("NOTIFY_SOCKET", socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn the_process_wide_sender_reaches_a_manager_that_starts_late() {
    let path = stale_socket("late");
    let mut child = scenario("late-manager", path.as_os_str());
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // libtest prints "test … " before the child's own output, on the same line.
    while !line.contains("early:") {
        line.clear();
        assert!(out.read_line(&mut line).unwrap() > 0, "the child ended early");
    }
    assert!(line.contains("Connection refused"), "{line}");
    std::fs::remove_file(&path).unwrap();
    let listener = Listener::bind(&path).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(recv(&listener).bytes(), b"STATUS=late");
}

#[test]
fn a_forked_child_sends_with_its_own_pid() {
    let listener = path_listener();
    let child = scenario("fork", listener.address());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8(out.stdout).unwrap();
    let child_pid: u32 = text
        .lines()
        .find_map(|l| l.split("child-pid: ").nth(1))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let parent = recv(&listener);
    let forked = recv(&listener);
    assert_eq!(forked.bytes(), b"STATUS=child");
    assert_eq!(
        forked.pid(),
        Some(child_pid),
        "the kernel attributes it to the child"
    );
    assert_ne!(parent.pid(), forked.pid());
}

fn max_dgram_qlen() -> usize {
    std::fs::read_to_string("/proc/sys/net/unix/max_dgram_qlen")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(10)
}

#[test]
fn a_full_receive_queue_blocks_the_sender_until_the_manager_reads() {
    // Documented behaviour (as libsystemd's): the send waits; nothing is dropped.
    let listener = path_listener();
    let notifier = Arc::new(Notifier::connect(listener.address()).unwrap());
    let qlen = max_dgram_qlen();
    let total = qlen + 10;
    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let (notifier, sent) = (Arc::clone(&notifier), Arc::clone(&sent));
        std::thread::spawn(move || {
            for i in 0..total {
                notifier
                    .notify(&[State::Custom("X_SEQ", &i.to_string())])
                    .unwrap();
                sent.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let before_reading = sent.load(Ordering::SeqCst);
    assert!(
        before_reading <= qlen + 1 && before_reading < total,
        "the sender must wait once the queue holds max_dgram_qlen={qlen} datagrams, but sent {before_reading}"
    );
    for i in 0..total {
        let d = recv(&listener);
        assert_eq!(d.bytes(), format!("X_SEQ={i}").as_bytes());
    }
    sender.join().unwrap();
    assert_eq!(sent.load(Ordering::SeqCst), total);
}

#[test]
fn a_fork_while_another_thread_reconnects_leaves_the_child_a_working_sender() {
    let path = stale_socket("fork-reconnect");
    let out = scenario("fork-while-reconnecting", path.as_os_str())
        .wait_with_output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && stdout.contains("forks: 300"), "{stdout}");
}

#[test]
fn a_bounded_send_to_a_full_queue_times_out_and_sends_nothing() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    // The kernel queues one datagram more than net.unix.max_dgram_qlen.
    let qlen = max_dgram_qlen() + 1;
    for i in 0..qlen {
        notifier
            .notify(&[State::Custom("X_SEQ", &i.to_string())])
            .unwrap();
    }
    let late = sdnotify_runtime::Message::from_raw("X_LATE=1").unwrap();
    let started = std::time::Instant::now();
    match notifier.send_within(&late, &[], None, Duration::from_millis(200)) {
        Err(Error::SendTimeout(t)) => assert_eq!(t, Duration::from_millis(200)),
        other => panic!("expected a send timeout, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(200));
    for i in 0..qlen {
        assert_eq!(recv(&listener).bytes(), format!("X_SEQ={i}").as_bytes());
    }
    common::assert_nothing_received(&listener);
    // With room again, the bounded send goes through at once.
    notifier
        .send_within(&late, &[], None, Duration::from_millis(200))
        .unwrap();
    assert_eq!(recv(&listener).bytes(), b"X_LATE=1");
}

#[test]
fn a_barrier_after_the_manager_went_away_is_an_error_not_a_success() {
    let path = temp_path("gone");
    let listener = Listener::bind(&path).unwrap();
    let notifier = Notifier::connect(&path).unwrap();
    notifier.notify(&[State::Ready]).unwrap();
    drop(listener);
    match notifier.barrier(Duration::from_millis(500)) {
        Err(Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound
            ),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_barrier_to_a_hung_manager_times_out() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let err = notifier.barrier(Duration::from_millis(300)).unwrap_err();
    assert!(matches!(err, Error::BarrierTimeout(_)), "{err:?}");
    drop(listener);
}

#[test]
fn a_million_notifications_to_a_draining_receiver_none_lost() {
    const N: u32 = 1_000_000;
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let receiver = std::thread::spawn(move || {
        listener.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut expected = 0u32;
        while expected < N {
            let d = listener.recv().expect("no gap longer than 10 s");
            let n = Notification::parse(d.bytes()).unwrap();
            let seq: u32 = n.get("X_SEQ").unwrap().parse().unwrap();
            assert_eq!(seq, expected, "in order, none lost");
            expected += 1;
        }
        expected
    });
    let mut buf = String::new();
    for i in 0..N {
        buf.clear();
        use std::fmt::Write as _;
        write!(buf, "WATCHDOG=1\nX_SEQ={i}").unwrap();
        notifier.notify_raw(&buf).unwrap();
    }
    assert_eq!(receiver.join().unwrap(), N);
}
