//! `sdnotify run` as a `Type=notify` unit's ExecStart under real systemd managers (252, 257,
//! the newest): the unit becomes active only when the service is ready, shows the service's
//! status, keeps the supervisor as its main process, and its watchdog follows the service's
//! pings (relayed), so a wedged service ends the unit with Result=watchdog.

mod support;

use std::time::Duration;

use support::example;
use support::units::{
    assert_becomes_active, assert_ends_cleanly, assert_watchdog_fires, managers, start, state, PROPS,
};

const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

fn usec(props: &std::collections::HashMap<String, String>, key: &str) -> u64 {
    props[key].parse().unwrap_or_else(|_| panic!("{key}: {props:?}"))
}

#[test]
fn a_notify_unit_running_sdnotify_run_is_active_when_the_service_is_ready() {
    let Some(service) = example("service") else {
        return;
    };
    for manager in managers("a_notify_unit_running_sdnotify_run_is_active_when_the_service_is_ready") {
        let unit = "sdnotify-relay.service";
        start(
            &manager,
            unit,
            &["Type=notify"],
            &["SERVICE_RUN_SECS=60"],
            &[SDNOTIFY, "run", "--", &service],
        );
        let mut props: Vec<&str> = PROPS.to_vec();
        props.extend([
            "MainPID",
            "ExecMainPID",
            "ExecMainStartTimestampMonotonic",
            "ActiveEnterTimestampMonotonic",
        ]);
        let active = assert_becomes_active(&manager, unit, &props, Duration::from_secs(10));
        // The demo service takes 200 ms to load its configuration before READY=1.
        let waited =
            usec(&active, "ActiveEnterTimestampMonotonic") - usec(&active, "ExecMainStartTimestampMonotonic");
        assert!(
            waited >= 200_000,
            "systemd {}: active after {waited} µs, before the service was ready",
            manager.version
        );
        assert!(
            active["StatusText"].starts_with("demo listening on 127.0.0.1:"),
            "systemd {}: {active:?}",
            manager.version
        );
        assert_eq!(
            active["MainPID"], active["ExecMainPID"],
            "the supervisor stays the main process"
        );
        let _ = manager.systemctl(&["stop", unit]);
        // A clean stop: sdnotify run dies of the service's SIGTERM, as the service did.
        assert_ends_cleanly(&manager, unit, Duration::from_secs(10));
    }
}

#[test]
fn the_units_watchdog_follows_the_service_behind_sdnotify_run() {
    let Some(heartbeat) = example("watchdog_heartbeat") else {
        return;
    };
    for manager in managers("the_units_watchdog_follows_the_service_behind_sdnotify_run") {
        let unit = "sdnotify-relay-watchdog.service";
        start(
            &manager,
            unit,
            &["Type=notify", "WatchdogSec=1"],
            &["EXAMPLE_WEDGE_AFTER_MS=2500", "EXAMPLE_RUN_MS=60000"],
            &[SDNOTIFY, "run", "--", &heartbeat],
        );
        assert_becomes_active(&manager, unit, PROPS, Duration::from_secs(5));
        // Twice WatchdogSec= while the service beats: alive only through the relayed pings.
        std::thread::sleep(Duration::from_secs(2));
        let alive = manager.show(unit, PROPS);
        assert_eq!(
            (state(&alive), alive["Result"].as_str()),
            ("active", "success"),
            "systemd {}: {alive:?}",
            manager.version
        );
        let ended = assert_watchdog_fires(&manager, unit);
        assert_eq!(ended["StatusText"], "wedged", "the service's last status");
    }
}
