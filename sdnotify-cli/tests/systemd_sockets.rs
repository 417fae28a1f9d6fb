//! `examples/zero_downtime.rs` under real systemd managers: served through a `.socket` unit
//! (252, 257, the newest), and kept across `systemctl restart` by the fd store alone (254+: the
//! first instance binds and stores its listener, the next one gets it back by name).
//! `cargo bench -p sdnotify-cli --bench zero_downtime` measures the same with a client that
//! never pauses.

mod support;

use std::time::{Duration, Instant};

use support::example;
use support::http::{fd_store_unit, free_port, get_pid, socket_unit};
use support::units::{assert_ends_cleanly, managers};

/// The pid answering on `port`, retried for a few seconds (the unit may still be starting).
fn pid_at(port: u16) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match get_pid(port) {
            Ok(pid) => return pid,
            Err(e) => assert!(Instant::now() < deadline, "nothing answered on port {port}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn socket_units_and_the_fd_store_keep_the_listener_across_restarts() {
    let Some(server) = example("zero_downtime") else {
        return;
    };
    for manager in managers("socket_units_and_the_fd_store_keep_the_listener_across_restarts") {
        let port = free_port();
        let service = socket_unit(&manager, "sdnotify-zd-socket", port, &server);
        let first = pid_at(port);
        assert!(manager.systemctl(&["restart", &service]).status.success());
        let second = pid_at(port);
        assert_ne!(
            first, second,
            "systemd {}: a new instance on the socket unit's socket",
            manager.version
        );
        let _ = manager.systemctl(&["stop", "sdnotify-zd-socket.socket", &service]);

        if manager.version < 254 {
            support::user_manager::say(&format!(
                "NOT RUN on systemd {}: FileDescriptorStorePreserve= needs 254",
                manager.version
            ));
            continue;
        }
        let port = free_port();
        let unit = "sdnotify-zd-store.service";
        fd_store_unit(&manager, unit, port, &server);
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

/// A SIGTERM to the service (from outside systemd: `kill`, a container runtime) makes
/// `shutdown_requested()` send STOPPING=1 at once: the unit is `deactivating` while the service
/// drains for 2 s, then `inactive` with Result=success.
#[test]
fn stopping_is_sent_the_moment_sigterm_arrives() {
    let Some(server) = example("zero_downtime") else {
        return;
    };
    for manager in managers("stopping_is_sent_the_moment_sigterm_arrives") {
        let port = free_port();
        let unit = "sdnotify-zd-drain.service";
        let out = manager.systemd_run(&[
            "--unit",
            unit,
            "-p",
            "Type=notify",
            "-E",
            "ZD_DRAIN_MS=2000",
            "--",
            &server,
            &format!("127.0.0.1:{port}"),
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pid = pid_at(port);
        let signalled = Instant::now();
        let target = rustix::process::Pid::from_raw(pid as i32).unwrap();
        rustix::process::kill_process(target, rustix::process::Signal::TERM).unwrap();
        let props = ["ActiveState", "SubState", "Result", "MainPID"];
        let draining = manager.wait_for(unit, &props, Duration::from_secs(2), |p| {
            p["ActiveState"] == "deactivating"
        });
        assert_eq!(
            draining["ActiveState"], "deactivating",
            "systemd {}: {draining:?}",
            manager.version
        );
        assert!(
            signalled.elapsed() < Duration::from_millis(1500),
            "while it drains"
        );
        assert_eq!(draining["MainPID"], pid.to_string(), "the service still runs");
        assert_ends_cleanly(&manager, unit, Duration::from_secs(10));
    }
}
