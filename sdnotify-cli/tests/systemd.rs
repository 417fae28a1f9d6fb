//! Proven under the real systemd: the examples and the CLI as transient units of a private
//! systemd user manager (see support/user_manager.rs). Without root or systemd each test says
//! SKIPPED; with CI=true that is a failure.

mod support;

use std::time::{Duration, Instant};

use support::example;
use support::units::{
    assert_becomes_active, assert_ends_cleanly, assert_watchdog_fires, managers, output, start, state, PROPS,
};
use support::user_manager::say;

const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

#[test]
fn type_notify_is_activating_until_init_completes_then_active_with_exact_status() {
    let Some(example_service) = example("service") else {
        return;
    };
    for manager in managers("type_notify_is_activating_until_init_completes") {
        let unit = "sdnotify-service.service";
        let began = Instant::now();
        start(
            &manager,
            unit,
            &["Type=notify"],
            &[
                "SERVICE_INIT_MS=1500",
                "SERVICE_RUN_SECS=30",
                r"SERVICE_NAME=C:\data\n and \\ two",
            ],
            &[&example_service],
        );
        let during = manager.wait_for(unit, PROPS, Duration::from_secs(5), |p| {
            state(p) == "activating" && p["StatusText"] == "loading configuration"
        });
        assert_eq!(state(&during), "activating", "{during:?}");
        assert_eq!(
            during["StatusText"], "loading configuration",
            "status! before READY is shown while activating"
        );
        assert_becomes_active(&manager, unit, PROPS, Duration::from_secs(10));
        assert!(
            began.elapsed() >= Duration::from_millis(1500),
            "active only after the 1.5 s init"
        );
        let status = manager.wait_for(unit, PROPS, Duration::from_secs(5), |p| {
            p["StatusText"].contains("listening")
        });
        let text = &status["StatusText"];
        assert!(
            text.starts_with(r"C:\data\n and \\ two listening on 127.0.0.1:"),
            "backslashes arrive as written: {text:?}"
        );
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn watchdog_auto_keeps_the_unit_alive() {
    let Some(example_watchdog_auto) = example("watchdog_auto") else {
        return;
    };
    for manager in managers("watchdog_auto_keeps_the_unit_alive") {
        let unit = "sdnotify-watchdog-auto.service";
        start(
            &manager,
            unit,
            &["Type=notify", "WatchdogSec=1"],
            &["EXAMPLE_RUN_MS=20000"],
            &[&example_watchdog_auto],
        );
        assert_becomes_active(&manager, unit, PROPS, Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(5));
        let later = manager.show(unit, PROPS);
        assert_eq!(
            (state(&later), later["SubState"].as_str()),
            ("active", "running"),
            "{later:?}"
        );
        assert_eq!(later["Result"], "success");
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn a_wedged_heartbeat_loop_ends_with_result_watchdog() {
    let Some(example_watchdog_heartbeat) = example("watchdog_heartbeat") else {
        return;
    };
    for manager in managers("a_wedged_heartbeat_loop_ends_with_result_watchdog") {
        let unit = "sdnotify-wedged.service";
        start(
            &manager,
            unit,
            &["Type=notify", "WatchdogSec=1"],
            &["EXAMPLE_WEDGE_AFTER_MS=1500", "EXAMPLE_RUN_MS=60000"],
            &[&example_watchdog_heartbeat],
        );
        assert_becomes_active(&manager, unit, PROPS, Duration::from_secs(5));
        assert_watchdog_fires(&manager, unit);
    }
}

/// `executor_heartbeat()` on a tokio runtime, `WatchdogSec=2`: a unit whose runtime a task
/// blocks is killed with Result=watchdog; one beside it whose runtime stays healthy runs to its
/// end with Result=success.
#[test]
fn a_blocked_runtime_ends_with_result_watchdog_a_healthy_one_does_not() {
    let Some(server) = example("executor_heartbeat") else {
        return;
    };
    for manager in managers("a_blocked_runtime_ends_with_result_watchdog_a_healthy_one_does_not") {
        let blocked = "sdnotify-runtime-blocked.service";
        let healthy = "sdnotify-runtime-healthy.service";
        let props = ["Type=notify", "WatchdogSec=2"];
        start(
            &manager,
            blocked,
            &props,
            &["EXAMPLE_BLOCK_AFTER_MS=1500", "EXAMPLE_RUN_MS=60000"],
            &[&server],
        );
        start(&manager, healthy, &props, &["EXAMPLE_RUN_MS=7000"], &[&server]);
        for unit in [blocked, healthy] {
            assert_becomes_active(&manager, unit, PROPS, Duration::from_secs(5));
        }
        assert_watchdog_fires(&manager, blocked);
        assert_ends_cleanly(&manager, healthy, Duration::from_secs(15));
        let _ = manager.systemctl(&["stop", blocked]);
    }
}

#[test]
fn err_in_init_fails_the_unit_with_the_error_and_never_ready() {
    let Some(example_init_error) = example("init_error") else {
        return;
    };
    for manager in managers("err_in_init_fails_the_unit") {
        let unit = "sdnotify-init-error.service";
        start(&manager, unit, &["Type=notify"], &[], &[&example_init_error]);
        let failed = manager.wait_for(unit, PROPS, Duration::from_secs(10), |p| state(p) == "failed");
        assert_eq!(state(&failed), "failed", "{failed:?}");
        assert_eq!(failed["ExecMainStatus"], "1");
        assert_eq!(
            failed["StatusText"], "failed: No such file or directory (os error 2)",
            "{failed:?}"
        );
        let errno = manager.show(unit, &["StatusErrno"]);
        assert_eq!(errno["StatusErrno"], "2", "ERRNO= reached the manager");
        assert_eq!(
            failed["ActiveEnterTimestampMonotonic"], "0",
            "never became active: READY was never seen"
        );
    }
}

#[test]
fn a_panic_sends_stopping_and_exits_101() {
    let Some(example_panic) = example("panic") else {
        return;
    };
    for manager in managers("a_panic_sends_stopping_and_exits_101") {
        let unit = "sdnotify-panic.service";
        start(&manager, unit, &["Type=notify"], &[], &[&example_panic]);
        let failed = manager.wait_for(unit, PROPS, Duration::from_secs(10), |p| state(p) == "failed");
        assert_eq!(state(&failed), "failed", "{failed:?}");
        assert_eq!(failed["ExecMainStatus"], "101");
        assert_ne!(
            failed["ActiveEnterTimestampMonotonic"], "0",
            "it was active before the panic"
        );
        // The STATUS travelled in the STOPPING=1 datagram, so the manager read that datagram.
        assert!(
            failed["StatusText"].starts_with("panicked at examples/panic.rs:")
                && failed["StatusText"].ends_with("no items to process"),
            "{failed:?}"
        );
    }
}

#[test]
fn the_cli_in_a_shell_script_unit_under_notify_access_all() {
    for manager in managers("the_cli_in_a_shell_script_unit") {
        let unit = "sdnotify-script.service";
        let marker = manager.scratch().join("barrier-returned");
        // With the default barrier, sdnotify returns only once the manager has processed the
        // message: the status must be visible the moment the marker appears.
        let script = format!(
            r#"{SDNOTIFY} --ready --status='C:\tmp and \\ two' && touch {} && exec sleep 30"#,
            marker.display()
        );
        start(
            &manager,
            unit,
            &["Type=notify", "NotifyAccess=all"],
            &[],
            &["/bin/sh", "-c", &script],
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while !marker.exists() {
            assert!(Instant::now() < deadline, "sdnotify did not return");
            std::thread::sleep(Duration::from_millis(10));
        }
        let props = manager.show(unit, PROPS);
        assert_eq!(state(&props), "active", "{props:?}");
        assert_eq!(
            props["StatusText"], r"C:\tmp and \\ two",
            "exactly as given, backslashes and all"
        );
        let _ = manager.systemctl(&["stop", unit]);

        // --no-block returns at once (no barrier); the manager still gets the message.
        let unit = "sdnotify-script-noblock.service";
        let script = format!("{SDNOTIFY} --no-block --ready --status=unblocked && exec sleep 30");
        start(
            &manager,
            unit,
            &["Type=notify", "NotifyAccess=all"],
            &[],
            &["/bin/sh", "-c", &script],
        );
        let props = manager.wait_for(unit, PROPS, Duration::from_secs(10), |p| state(p) == "active");
        assert_eq!(
            (state(&props), props["StatusText"].as_str()),
            ("active", "unblocked")
        );
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn type_notify_reload_where_the_manager_supports_it() {
    for manager in managers("type_notify_reload") {
        if manager.version < 253 {
            say(&format!(
                "NOT RUN: Type=notify-reload needs systemd >= 253; this manager is {} (the handshake is \
                 tested against protocol.md with `sdnotify run` instead)",
                manager.version
            ));
            continue;
        }
        let unit = "sdnotify-reload.service";
        let script = format!(
            "trap '{SDNOTIFY} --reloading --no-block; {SDNOTIFY} --ready --no-block' HUP; {SDNOTIFY} --ready; \
             while :; do sleep 0.1 & wait; done"
        );
        start(
            &manager,
            unit,
            &["Type=notify-reload"],
            &[],
            &["/bin/sh", "-c", &script],
        );
        assert_becomes_active(&manager, unit, PROPS, Duration::from_secs(5));
        let reload = manager.systemctl(&["reload", unit]);
        assert!(
            reload.status.success(),
            "{}",
            String::from_utf8_lossy(&reload.stderr)
        );
        assert_eq!(state(&manager.show(unit, PROPS)), "active");
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn the_main_process_hands_over_by_pidfd() {
    let Some(handover) = example("handover") else {
        return;
    };
    for manager in managers("mainpidfd_handover") {
        if manager.version < 257 {
            say(&format!(
                "NOT RUN on systemd {}: MAINPIDFD=1 needs 257",
                manager.version
            ));
            continue;
        }
        let unit = "sdnotify-handover.service";
        start(
            &manager,
            unit,
            &["Type=notify"],
            &["EXAMPLE_RUN_MS=4000"],
            &[&handover],
        );
        let props = ["ActiveState", "MainPID"];
        assert_becomes_active(&manager, unit, &props, Duration::from_secs(10));
        let daemon = manager.wait_for(unit, &props, Duration::from_secs(5), |p| {
            output(&manager, unit).contains(&format!("daemon pid {}", p["MainPID"]))
        });
        let printed = output(&manager, unit);
        assert!(
            printed.contains(&format!("daemon pid {}", daemon["MainPID"])),
            "MainPID {} is not the daemon: {printed}",
            daemon["MainPID"]
        );
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn the_fd_store_and_the_newest_environment() {
    let Some(fdstore) = example("fdstore") else {
        return;
    };
    for manager in managers("fdstore_environment") {
        if manager.version < 254 {
            say(&format!(
                "NOT RUN on systemd {}: $FDSTORE needs 254",
                manager.version
            ));
            continue;
        }
        let unit = "sdnotify-fdstore.service";
        let props = ["ActiveState", "NFileDescriptorStore"];
        start(
            &manager,
            unit,
            &["Type=notify", "FileDescriptorStoreMax=3"],
            &["EXAMPLE_RUN_MS=3000"],
            &[&fdstore],
        );
        let stored = manager.wait_for(unit, &props, Duration::from_secs(10), |p| {
            p["NFileDescriptorStore"] == "1"
        });
        assert_eq!(
            stored["NFileDescriptorStore"],
            "1",
            "{stored:?}\n{}",
            output(&manager, unit)
        );
        let printed = output(&manager, unit);
        assert!(printed.contains("fdstore_max Ok(Some(3))"), "{printed}");
        assert!(printed.contains("fdstore sent true"), "{printed}");
        if manager.version >= 258 {
            let line = printed
                .lines()
                .find(|l| l.starts_with("main_pidfd_id"))
                .unwrap_or_default();
            let ids: Vec<&str> = line
                .split(['(', ')'])
                .filter(|p| p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty())
                .collect();
            // $MAINPIDFDID, like $MAINPID, is set for control processes (ExecReload= …); where
            // it is set for the main process it must name it.
            assert!(
                line.contains("Ok(None)") || (ids.len() == 2 && ids[0] == ids[1]),
                "$MAINPIDFDID names another process: {line}"
            );
            assert!(printed.contains("manager_pidfd_id Ok(Some("), "{printed}");
        }
        let _ = manager.systemctl(&["stop", unit]);
        if manager.version < 258 {
            say(&format!(
                "NOT RUN on systemd {}: a disabled store is told apart only by 258+ ($MANAGERPIDFDID)",
                manager.version
            ));
            continue;
        }
        let unit = "sdnotify-fdstore-off.service";
        start(
            &manager,
            unit,
            &["Type=notify"],
            &["EXAMPLE_RUN_MS=500"],
            &[&fdstore],
        );
        assert_becomes_active(&manager, unit, &props, Duration::from_secs(10));
        let printed = manager
            .wait_for(unit, &props, Duration::from_secs(5), |_| {
                output(&manager, unit).contains("fdstore")
            })
            .get("NFileDescriptorStore")
            .cloned()
            .unwrap_or_default();
        let out = output(&manager, unit);
        assert!(
            out.contains("fdstore refused: the service manager keeps no descriptors"),
            "{out}"
        );
        assert_eq!(printed, "0");
        let _ = manager.systemctl(&["stop", unit]);
    }
}
