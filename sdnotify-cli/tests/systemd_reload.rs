//! `#[sdnotify::main(reload = "…")]` as `Type=notify-reload` units of the real systemd: the
//! greeter examples (examples/reload.rs, examples/reload_tokio.rs) started, reloaded with
//! `systemctl reload`, given a bad configuration and a reload signal during start-up. systemd
//! 252 has no `Type=notify-reload` and says NOT RUN; 257 and the newest run everything.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use support::example;
use support::units::{assert_becomes_active, managers, start, state};
use support::user_manager::{say, UserManager};

const PROPS: &[&str] = &[
    "ActiveState",
    "SubState",
    "Result",
    "StatusText",
    "MainPID",
    "NRestarts",
];

/// The managers that have `Type=notify-reload` (253+); the others say NOT RUN.
fn reload_managers(test: &str) -> impl Iterator<Item = UserManager> + '_ {
    managers(test).filter(move |manager| {
        let runs = manager.version >= 253;
        if !runs {
            say(&format!(
                "{test}: NOT RUN on systemd {}: Type=notify-reload needs 253 (tests/reload.rs \
                 checks the handshake's bytes, tests/run_reload.rs under `sdnotify run`)",
                manager.version
            ));
        }
        runs
    })
}

/// The greeter's configuration file in the manager's scratch directory (seen by its units).
fn configure(manager: &UserManager, unit: &str, text: &str) -> PathBuf {
    let path = manager.scratch().join(format!("{unit}.conf"));
    std::fs::write(&path, text).unwrap();
    path
}

fn status(props: &HashMap<String, String>) -> &str {
    props.get("StatusText").map_or("", String::as_str)
}

/// `systemctl reload`, its success, and how long it took.
fn reload(manager: &UserManager, unit: &str) -> (bool, Duration) {
    let begun = Instant::now();
    let out = manager.systemctl(&["reload", unit]);
    (out.status.success(), begun.elapsed())
}

fn started(
    manager: &UserManager,
    unit: &str,
    properties: &[&str],
    command: &[&str],
) -> HashMap<String, String> {
    start(manager, unit, properties, &[], command);
    assert_becomes_active(manager, unit, PROPS, Duration::from_secs(10))
}

#[test]
fn the_greeter_starts_and_reloads_as_type_notify_reload() {
    let Some(greeter) = example("reload") else {
        return;
    };
    for manager in reload_managers("greeter_notify_reload") {
        let unit = "sdnotify-greeter.service";
        let conf = configure(&manager, unit, "greeting = hello\ninterval_ms = 200\n");
        let conf = conf.to_str().unwrap();
        let active = started(&manager, unit, &["Type=notify-reload"], &[&greeter, conf]);
        assert_eq!(
            status(&active),
            "greeting \"hello\" every 200 ms (configuration #1)"
        );
        let pid = active["MainPID"].clone();

        // The new configuration takes 700 ms to warm up: `systemctl reload` returns only after
        // READY=1, with the new status in place.
        configure(
            &manager,
            unit,
            "greeting = hi\ninterval_ms = 200\nwarmup_ms = 700\n",
        );
        let (ok, took) = reload(&manager, unit);
        assert!(ok, "systemctl reload failed on systemd {}", manager.version);
        assert!(
            took >= Duration::from_millis(700),
            "returned after {took:?}, before READY=1"
        );
        let after = manager.show(unit, PROPS);
        assert_eq!(status(&after), "greeting \"hi\" every 200 ms (configuration #2)");
        assert_eq!((state(&after), &after["MainPID"]), ("active", &pid));

        // A second reload in a row.
        configure(&manager, unit, "greeting = hey\ninterval_ms = 200\n");
        assert!(reload(&manager, unit).0);
        assert_eq!(
            status(&manager.show(unit, PROPS)),
            "greeting \"hey\" every 200 ms (configuration #3)"
        );

        // A configuration that does not parse: the service keeps the old one and says why.
        configure(&manager, unit, "greeting = hey\nvolume = 11\n");
        let (ok, _) = reload(&manager, unit);
        assert!(
            ok,
            "the manager cannot tell a failed reload (READY=1 comes either way)"
        );
        let failed = manager.show(unit, PROPS);
        assert_eq!(
            status(&failed),
            format!("reload failed: {conf}:2: unknown setting `volume`")
        );
        assert_eq!((state(&failed), &failed["MainPID"]), ("active", &pid));
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn a_reload_signal_during_start_up_is_served_after_ready() {
    let Some(greeter) = example("reload") else {
        return;
    };
    for manager in reload_managers("reload_signal_during_init") {
        let unit = "sdnotify-greeter-early.service";
        let conf = configure(
            &manager,
            unit,
            "greeting = hello\ninterval_ms = 200\nwarmup_ms = 1500\n",
        );
        start(
            &manager,
            unit,
            &["Type=notify-reload"],
            &[],
            &[&greeter, conf.to_str().unwrap()],
        );
        let activating = manager.wait_for(unit, PROPS, Duration::from_secs(5), |p| {
            status(p).starts_with("loading")
        });
        assert_eq!(state(&activating), "activating", "{activating:?}");
        let kill = manager.systemctl(&["kill", "--kill-whom=main", "--signal=SIGHUP", unit]);
        assert!(kill.status.success(), "{}", String::from_utf8_lossy(&kill.stderr));
        let served = manager.wait_for(unit, PROPS, Duration::from_secs(10), |p| {
            status(p).ends_with("(configuration #2)")
        });
        assert_eq!(
            (state(&served), status(&served), served["NRestarts"].as_str()),
            (
                "active",
                "greeting \"hello\" every 200 ms (configuration #2)",
                "0"
            ),
            "on systemd {}",
            manager.version
        );
        assert_eq!(served["MainPID"], activating["MainPID"]);
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn tokio_with_reload_signal_sigusr1() {
    let Some(greeter) = example("reload_tokio") else {
        return;
    };
    for manager in reload_managers("reload_tokio_sigusr1") {
        let unit = "sdnotify-greeter-tokio.service";
        let conf = configure(&manager, unit, "greeting = hello\ninterval_ms = 200\n");
        let active = started(
            &manager,
            unit,
            &["Type=notify-reload", "ReloadSignal=SIGUSR1"],
            &[&greeter, conf.to_str().unwrap()],
        );
        configure(
            &manager,
            unit,
            "greeting = hola\ninterval_ms = 200\nwarmup_ms = 300\n",
        );
        let (ok, took) = reload(&manager, unit);
        assert!(ok && took >= Duration::from_millis(300), "{ok} {took:?}");
        let after = manager.show(unit, PROPS);
        assert_eq!(
            status(&after),
            "greeting \"hola\" every 200 ms (configuration #2)"
        );
        assert_eq!((state(&after), &after["MainPID"]), ("active", &active["MainPID"]));
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn without_the_option_a_notify_reload_unit_fails_as_the_manager_decides() {
    // examples/service.rs has no `reload` option: SIGHUP keeps its default action.
    let Some(service) = example("service") else {
        return;
    };
    for manager in reload_managers("notify_reload_without_the_option") {
        let unit = "sdnotify-no-reload.service";
        start(
            &manager,
            unit,
            &["Type=notify-reload"],
            &["SERVICE_RUN_SECS=30", "SERVICE_INIT_MS=0"],
            &[&service],
        );
        let settled = manager.wait_for(unit, PROPS, Duration::from_secs(10), |p| {
            matches!(state(p), "active" | "failed")
        });
        if manager.version >= 262 {
            // 262 checks at READY=1 that the reload signal is caught, and refuses the start.
            assert_eq!(
                (state(&settled), settled["Result"].as_str()),
                ("failed", "protocol"),
                "{settled:?}"
            );
        } else {
            assert_eq!(state(&settled), "active", "{settled:?}");
            // The reload signal ends it (what `systemctl reload` then says differs by version).
            let _ = reload(&manager, unit);
            // systemd counts death by SIGHUP as a clean exit: the unit is simply gone.
            let ended = manager.wait_for(unit, PROPS, Duration::from_secs(10), |p| state(p) != "active");
            assert_eq!(state(&ended), "inactive", "{ended:?}");
        }
        let _ = manager.systemctl(&["stop", unit]);
    }
}

#[test]
fn sdnotify_run_refuses_the_same_starts_as_the_newest_systemd() {
    // What counts as handling the reload signal at READY=1: a handler yes; ignoring it or no
    // trap at all, no. systemd before 262 starts all of them.
    let sdnotify = env!("CARGO_BIN_EXE_sdnotify");
    let cases = [
        ("caught", "trap ':' HUP; "),
        ("ignored", "trap '' HUP; "),
        ("default", ""),
    ];
    for manager in reload_managers("reload_signal_check_differential") {
        for (name, trap) in cases {
            let script = format!("{trap}{sdnotify} --ready; sleep 5 & wait");
            let unit = format!("sdnotify-check-{name}.service");
            start(
                &manager,
                &unit,
                &["Type=notify-reload"],
                &[],
                &["/bin/sh", "-c", &script],
            );
            let settled = manager.wait_for(&unit, PROPS, Duration::from_secs(10), |p| {
                matches!(state(p), "active" | "failed")
            });
            let systemd_starts = state(&settled) == "active";
            let _ = manager.systemctl(&["stop", &unit]);
            let ours = std::process::Command::new(sdnotify)
                .args([
                    "run",
                    "--type=notify-reload",
                    "--timeout-start=3s",
                    "--",
                    "/bin/sh",
                    "-c",
                ])
                .arg(script.replace("sleep 5", "sleep 0.3"))
                .env_remove("NOTIFY_SOCKET")
                .output()
                .unwrap();
            let we_start = ours.status.code() != Some(76);
            if manager.version >= 262 {
                assert_eq!(
                    we_start, systemd_starts,
                    "{name}: sdnotify run and systemd {} disagree",
                    manager.version
                );
            } else {
                assert!(
                    systemd_starts,
                    "{name} on systemd {}: {settled:?}",
                    manager.version
                );
            }
            say(&format!(
                "reload_signal_check_differential: {name}: systemd {} {}, sdnotify run {}",
                manager.version,
                if systemd_starts { "starts" } else { "refuses" },
                if we_start { "starts" } else { "refuses" }
            ));
        }
    }
}

/// The tokio greeter behind `sdnotify run` in a `Type=notify-reload` unit with
/// `ReloadSignal=SIGUSR1`: the manager signals the supervisor, which forwards SIGUSR1 to the
/// service, and relays its RELOADING=1 (with its MONOTONIC_USEC) and READY=1, so
/// `systemctl reload` returns once the service has reloaded.
#[test]
fn a_reload_reaches_the_service_behind_sdnotify_run() {
    let Some(greeter) = example("reload_tokio") else {
        return;
    };
    const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");
    for manager in reload_managers("reload_behind_sdnotify_run") {
        let unit = "sdnotify-greeter-relayed.service";
        let conf = configure(&manager, unit, "greeting = hello\ninterval_ms = 200\n");
        let active = started(
            &manager,
            unit,
            &["Type=notify-reload", "ReloadSignal=SIGUSR1"],
            &[SDNOTIFY, "run", "--", &greeter, conf.to_str().unwrap()],
        );
        configure(
            &manager,
            unit,
            "greeting = hola\ninterval_ms = 200\nwarmup_ms = 300\n",
        );
        let (ok, took) = reload(&manager, unit);
        assert!(
            ok && took >= Duration::from_millis(300),
            "systemd {}: {ok} {took:?}",
            manager.version
        );
        let after = manager.show(unit, PROPS);
        assert_eq!(
            (state(&after), status(&after)),
            ("active", "greeting \"hola\" every 200 ms (configuration #2)"),
            "systemd {}",
            manager.version
        );
        assert_eq!(
            after["MainPID"], active["MainPID"],
            "the supervisor stays the main process"
        );
        let _ = manager.systemctl(&["stop", unit]);
    }
}
