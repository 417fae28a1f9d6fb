//! Sockets by name, each case in a child process that inherits one socket at fd 3 with
//! `LISTEN_FDS=1`, `LISTEN_FDNAMES` and its own `LISTEN_PID`, as systemd passes a `.socket`
//! unit's (or the fd store's) descriptor.

use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, Output};

use sdnotify_runtime::activation;
use sdnotify_runtime::env::PROTOCOL_VARS;

const SCENARIO: &str = "SDNOTIFY_ACTIVATION_SCENARIO";

/// The test binary as the service; it prints what it got.
#[test]
fn activation_scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "tcp" => match activation::tcp_listener("http") {
            Ok(Some(l)) => println!("RESULT: tcp {}", l.local_addr().unwrap()),
            Ok(None) => println!("RESULT: none"),
            Err(e) => println!("RESULT: error {e}"),
        },
        "tcp-twice" => {
            let first = activation::tcp_listener("http").unwrap();
            let second = activation::tcp_listener("http").unwrap();
            println!("RESULT: {} then {}", first.is_some(), second.is_some());
        }
        "tcp-or-bind" => {
            let l = activation::tcp_listener_or_bind("http", "127.0.0.1:0").unwrap();
            println!("RESULT: bound {}", l.local_addr().unwrap().ip());
        }
        "udp" => {
            let s = activation::udp_socket("dns").unwrap().unwrap();
            println!("RESULT: udp {}", s.local_addr().unwrap());
        }
        "unix-listener" => {
            let l = activation::unix_listener("control").unwrap().unwrap();
            println!(
                "RESULT: unix {:?}",
                l.local_addr().unwrap().as_pathname().unwrap()
            );
        }
        "unix-datagram" => {
            let s = activation::unix_datagram("log").unwrap().unwrap();
            println!(
                "RESULT: unix-dgram {:?}",
                s.local_addr().unwrap().as_pathname().unwrap()
            );
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Runs `scenario` with `fd` as fd 3 named `name`; its RESULT line.
fn service(scenario: &str, fd: Option<&OwnedFd>, name: &str) -> String {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("export LISTEN_PID=$$; exec \"$0\" --exact activation_scenario_entry_point --nocapture")
        .arg(std::env::current_exe().unwrap());
    for var in PROTOCOL_VARS {
        cmd.env_remove(var);
    }
    cmd.env(SCENARIO, scenario);
    if let Some(fd) = fd {
        sdnotify_runtime::manager::pass_listen_fds(&mut cmd, &[(fd.as_fd(), Some(name))]).unwrap();
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&stdout);
    assert!(status.success(), "{text}\n{}", String::from_utf8_lossy(&stderr));
    text.split("RESULT: ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_listening_tcp_socket_is_taken_by_its_name_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = OwnedFd::from(listener);
    assert_eq!(service("tcp", Some(&fd), "http"), format!("tcp {addr}"));
    assert_eq!(service("tcp-twice", Some(&fd), "http"), "true then false");
    assert_eq!(service("tcp", Some(&fd), "other"), "none", "another name");
}

#[test]
fn without_a_passed_socket_the_program_binds_its_own() {
    assert_eq!(service("tcp", None, ""), "none");
    assert_eq!(service("tcp-or-bind", None, ""), "bound 127.0.0.1");
}

#[test]
fn a_descriptor_that_is_not_what_was_asked_is_an_error_saying_what_it_is() {
    let udp = OwnedFd::from(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    assert_eq!(
        service("tcp", Some(&udp), "http"),
        "error descriptor 3 (named `http`) is an IPv4 datagram socket, not a listening TCP socket"
    );
    let unbound = OwnedFd::from(std::net::TcpStream::connect(listening_peer()).unwrap());
    assert_eq!(
        service("tcp", Some(&unbound), "http"),
        "error descriptor 3 (named `http`) is an IPv4 stream socket, not a listening TCP socket"
    );
    let file = OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
    assert_eq!(
        service("tcp", Some(&file), "http"),
        "error descriptor 3 (named `http`) is a character device, not a listening TCP socket"
    );
}

/// A listener to connect a stream to (kept open by leaking it for the test's life).
fn listening_peer() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::mem::forget(listener);
    addr
}

#[test]
fn udp_and_unix_sockets_by_name() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = udp.local_addr().unwrap();
    assert_eq!(
        service("udp", Some(&OwnedFd::from(udp)), "dns"),
        format!("udp {addr}")
    );
    let dir = std::env::temp_dir().join(format!("sdnotify-activation-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("control.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    assert_eq!(
        service("unix-listener", Some(&OwnedFd::from(listener)), "control"),
        format!("unix {path:?}")
    );
    let log = dir.join("log.sock");
    let datagram = std::os::unix::net::UnixDatagram::bind(&log).unwrap();
    assert_eq!(
        service("unix-datagram", Some(&OwnedFd::from(datagram)), "log"),
        format!("unix-dgram {log:?}")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_sd_is_checks() {
    use activation::{
        is_fifo, is_mq, is_socket, is_socket_inet, is_socket_sockaddr, is_socket_unix, is_special,
    };
    use activation::{Family, SocketType};
    use std::os::fd::AsFd;
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap();
    let fd = tcp.as_fd();
    assert!(is_socket(fd, None, None, None).unwrap());
    assert!(is_socket(fd, Some(Family::Inet), Some(SocketType::Stream), Some(true)).unwrap());
    assert!(!is_socket(fd, Some(Family::Inet6), None, None).unwrap());
    assert!(!is_socket(fd, None, Some(SocketType::Datagram), None).unwrap());
    assert!(is_socket_inet(fd, None, None, Some(true), Some(addr.port())).unwrap());
    assert!(!is_socket_inet(fd, None, None, None, Some(addr.port().wrapping_add(1))).unwrap());
    assert!(is_socket_inet(fd, Some(Family::Unix), None, None, None).is_err());
    assert!(is_socket_sockaddr(fd, Some(SocketType::Stream), &addr, Some(true)).unwrap());
    assert!(!is_socket_unix(fd, None, None, None).unwrap());
    let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    assert!(is_socket_unix(a.as_fd(), Some(SocketType::Stream), Some(false), Some(b"")).unwrap());
    let null = std::fs::File::open("/dev/null").unwrap();
    assert!(is_special(null.as_fd(), Some("/dev/null".as_ref())).unwrap());
    assert!(!is_special(null.as_fd(), Some("/dev/zero".as_ref())).unwrap());
    assert!(!is_fifo(null.as_fd(), None).unwrap());
    let (read, _write) = rustix::pipe::pipe().unwrap();
    assert!(is_fifo(read.as_fd(), None).unwrap());
    assert!(!is_socket(read.as_fd(), None, None, None).unwrap());
    assert!(!is_mq(read.as_fd(), None).unwrap());
}
