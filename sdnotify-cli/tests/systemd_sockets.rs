//! `examples/zero_downtime.rs` under real systemd managers: served through a `.socket` unit
//! (252, 257, the newest), and kept across `systemctl restart` by the fd store alone (254+: the
//! first instance binds and stores its listener, the next one gets it back by name).
//! `cargo bench -p sdnotify-cli --bench zero_downtime` measures the same with a client that
//! never pauses.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::example;
use support::units::managers;

/// `GET /` on 127.0.0.1:`port`, retried for a few seconds (the unit may still be starting): the
/// answering pid.
fn pid_at(port: u16) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = (|| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
            stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            stream.write_all(b"GET / HTTP/1.0\r\nHost: t\r\n\r\n").ok()?;
            let mut response = String::new();
            stream.read_to_string(&mut response).ok()?;
            response.split("\r\n\r\n").nth(1)?.trim().parse().ok()
        })();
        if let Some(pid) = answer {
            return pid;
        }
        assert!(Instant::now() < deadline, "nothing answered on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn socket_units_and_the_fd_store_keep_the_listener_across_restarts() {
    let Some(server) = example("zero_downtime") else {
        return;
    };
    for manager in managers("socket_units_and_the_fd_store_keep_the_listener_across_restarts") {
        let port = free_port();
        let unit = "sdnotify-zd-socket";
        let out = manager.systemd_run(&[
            "--unit",
            unit,
            "--socket-property",
            &format!("ListenStream=127.0.0.1:{port}"),
            "--socket-property",
            "FileDescriptorName=http",
            "-p",
            "Type=notify",
            "--",
            &server,
            "127.0.0.1:1",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let first = pid_at(port);
        let service = format!("{unit}.service");
        assert!(manager.systemctl(&["restart", &service]).status.success());
        let second = pid_at(port);
        assert_ne!(
            first, second,
            "systemd {}: a new instance on the socket unit's socket",
            manager.version
        );
        let _ = manager.systemctl(&["stop", &format!("{unit}.socket"), &service]);

        if manager.version < 254 {
            support::user_manager::say(&format!(
                "NOT RUN on systemd {}: FileDescriptorStorePreserve= needs 254",
                manager.version
            ));
            continue;
        }
        let port = free_port();
        let unit = "sdnotify-zd-store.service";
        let out = manager.systemd_run(&[
            "--unit",
            unit,
            "-p",
            "Type=notify",
            "-p",
            "FileDescriptorStoreMax=1",
            "-p",
            "FileDescriptorStorePreserve=restart",
            "--",
            &server,
            &format!("127.0.0.1:{port}"),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let first = pid_at(port);
        let stored = manager.show(unit, &["NFileDescriptorStore"]);
        assert_eq!(stored["NFileDescriptorStore"], "1", "{stored:?}");
        assert!(manager.systemctl(&["restart", unit]).status.success());
        // The address is still held by the store: a new bind would fail; the new instance
        // answers because it took the stored socket by its name.
        let second = pid_at(port);
        assert_ne!(
            first, second,
            "systemd {}: the stored socket, handed back",
            manager.version
        );
        let _ = manager.systemctl(&["stop", unit]);
    }
}
