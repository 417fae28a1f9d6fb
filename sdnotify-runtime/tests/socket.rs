//! The transport against real sockets: exact bytes, credentials, descriptors, barrier, reconnect.

mod common;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use common::{assert_nothing_received, path_listener, recv};
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::{Error, Notifier, State};

#[test]
fn exact_bytes_to_a_path_socket() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    notifier
        .notify(&[State::Ready, State::Status(r"C:\tmp"), State::MainPid(42)])
        .unwrap();
    assert_eq!(recv(&listener).bytes(), b"READY=1\nSTATUS=C:\\\\tmp\nMAINPID=42");
}

#[test]
fn exact_bytes_to_an_abstract_socket() {
    let listener = Listener::bind_unique().unwrap();
    assert_eq!(listener.address().to_str().unwrap().as_bytes()[0], b'@');
    let notifier = Notifier::connect(listener.address()).unwrap();
    notifier.notify(&[State::Watchdog]).unwrap();
    notifier.notify_raw("X_A=1\nX_B=2\n").unwrap();
    assert_eq!(recv(&listener).bytes(), b"WATCHDOG=1");
    assert_eq!(recv(&listener).bytes(), b"X_A=1\nX_B=2\n");
}

#[test]
fn an_empty_message_is_a_zero_byte_datagram() {
    let listener = path_listener();
    Notifier::connect(listener.address())
        .unwrap()
        .notify_raw("")
        .unwrap();
    let datagram = recv(&listener);
    assert!(datagram.is_empty());
}

#[test]
fn the_kernel_attaches_our_credentials() {
    let listener = path_listener();
    Notifier::connect(listener.address())
        .unwrap()
        .notify(&[State::Ready])
        .unwrap();
    let creds = recv(&listener).credentials().unwrap();
    assert_eq!(creds.pid, std::process::id());
    assert_eq!(creds.uid, rustix::process::getuid().as_raw());
    assert_eq!(creds.gid, rustix::process::getgid().as_raw());
}

#[test]
fn notify_as_speaks_for_another_pid_when_privileged() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let parent = std::os::unix::process::parent_id();
    notifier.notify_as(parent, &[State::Ready], &[]).unwrap();
    let datagram = recv(&listener);
    assert_eq!(datagram.bytes(), b"READY=1");
    // Forging a pid needs CAP_SYS_ADMIN; without it the message goes out with our own pid.
    let expected = if rustix::process::geteuid().is_root() {
        parent
    } else {
        std::process::id()
    };
    assert_eq!(datagram.pid(), Some(expected));
}

#[test]
fn notify_as_rejects_pid_zero_and_sends_nothing() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let err = notifier.notify_as(0, &[State::Ready], &[]).unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert_nothing_received(&listener);
}

#[test]
fn descriptors_travel_with_scm_rights() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let (reader, writer) = rustix::pipe::pipe().unwrap();
    let mut reader = std::fs::File::from(reader);
    notifier
        .notify_with_fds(&[State::FdStore, State::FdName("pipe")], &[writer.as_fd()])
        .unwrap();
    drop(writer);
    let mut datagram = recv(&listener);
    assert_eq!(datagram.bytes(), b"FDSTORE=1\nFDNAME=pipe");
    let fds = datagram.take_fds();
    assert_eq!(fds.len(), 1);
    let flags = rustix::io::fcntl_getfd(&fds[0]).unwrap();
    assert!(
        flags.contains(rustix::io::FdFlags::CLOEXEC),
        "received fds are close-on-exec"
    );
    // The received descriptor is the pipe's write end.
    let mut received = std::fs::File::from(fds.into_iter().next().unwrap());
    received.write_all(b"through the store").unwrap();
    drop(received);
    let mut text = String::new();
    reader.read_to_string(&mut text).unwrap();
    assert_eq!(text, "through the store");
}

fn pipes(n: usize) -> Vec<OwnedFd> {
    (0..n).map(|_| rustix::pipe::pipe().unwrap().1).collect()
}

#[test]
fn up_to_253_descriptors_fit_in_one_message() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let fds = pipes(253);
    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
    notifier.notify_with_fds(&[State::FdStore], &borrowed).unwrap();
    let datagram = recv(&listener);
    assert_eq!(datagram.fds().len(), 253);
    assert!(!datagram.fds_truncated());
}

#[test]
fn bad_input_254_descriptors_is_too_many_and_sends_nothing() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let fds = pipes(254);
    let borrowed: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
    let err = notifier
        .notify_with_fds(&[State::FdStore], &borrowed)
        .unwrap_err();
    assert!(matches!(err, Error::TooManyFds { count: 254 }), "{err:?}");
    assert_nothing_received(&listener);
}

#[test]
fn barrier_returns_once_the_manager_closed_its_descriptor() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    notifier.notify(&[State::Ready]).unwrap();
    let manager = std::thread::spawn(move || {
        let ready = recv(&listener);
        let barrier = recv(&listener);
        (ready.bytes().to_vec(), barrier.is_barrier(), barrier.fds().len())
        // Dropping `barrier` closes the pipe's write end: the barrier is answered.
    });
    notifier.barrier(Duration::from_secs(5)).unwrap();
    let (ready, is_barrier, fds) = manager.join().unwrap();
    assert_eq!(ready, b"READY=1");
    assert!(is_barrier);
    assert_eq!(fds, 1);
}

#[test]
fn barrier_times_out_when_the_manager_keeps_the_descriptor() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let err = notifier.barrier(Duration::from_millis(200)).unwrap_err();
    assert!(
        matches!(err, Error::BarrierTimeout(t) if t == Duration::from_millis(200)),
        "{err:?}"
    );
    // The barrier is still queued, unanswered, with its descriptor.
    assert!(recv(&listener).is_barrier());
}

#[test]
fn reconnects_once_when_the_manager_socket_was_recreated() {
    let dir = std::env::temp_dir().join(format!("sdnotify-reconnect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notify.sock");
    let first = Listener::bind(&path).unwrap();
    let notifier = Notifier::connect(&path).unwrap();
    notifier.notify(&[State::Status("one")]).unwrap();
    assert_eq!(recv(&first).bytes(), b"STATUS=one");
    drop(first); // removes the socket file
    let second = Listener::bind(&path).unwrap();
    notifier.notify(&[State::Status("two")]).unwrap();
    assert_eq!(recv(&second).bytes(), b"STATUS=two");
    drop(second);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_receiver_is_an_io_error_with_its_source() {
    let missing = std::env::temp_dir().join(format!("sdnotify-missing-{}.sock", std::process::id()));
    let err = Notifier::connect(&missing).unwrap_err();
    match &err {
        Error::Io(io) => assert_eq!(io.kind(), std::io::ErrorKind::NotFound),
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn vsock_errors_surface_as_io_errors() {
    // This machine's kernel has no vsock datagram transport (and no loopback transport), so
    // this checks the AF_VSOCK path up to the kernel; delivery needs a VM with a vsock peer.
    match Notifier::connect("vsock-dgram:1:9999") {
        Err(Error::Io(_)) => {}
        Ok(n) => eprintln!(
            "vsock datagram socket connected on this kernel: {:?}",
            n.address()
        ),
        Err(other) => panic!("{other:?}"),
    }
}
