//! Transient units under the private managers of support/user_manager.rs: starting one,
//! watching its properties, reading its output.

use std::collections::HashMap;

use super::user_manager::{require_on, say, Systemd, UserManager};

const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

/// Starts a transient unit without waiting (`--no-block`), so its start-up can be watched.
pub fn start(manager: &UserManager, unit: &str, properties: &[&str], env: &[&str], command: &[&str]) {
    // No --collect: a failed unit must stay loaded to be inspected (the private manager, and
    // every unit with it, goes away when the test ends).
    let mut args = vec!["--no-block", "--unit", unit];
    for p in properties {
        args.extend(["-p", p]);
    }
    for e in env {
        args.extend(["-E", e]);
    }
    let output_file = format!("StandardOutput=file:{}/{unit}.out", manager.scratch().display());
    args.extend(["-p", &output_file, "-p", "StandardError=inherit", "--"]);
    args.extend(command);
    let out = manager.systemd_run(&args);
    assert!(
        out.status.success(),
        "systemd-run {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The cargo target directory, bound inside a tree's manager so units can run what was built.
pub fn target_dir() -> std::path::PathBuf {
    let bin = std::path::PathBuf::from(SDNOTIFY);
    bin.parent().and_then(|p| p.parent()).unwrap().to_path_buf()
}

/// A manager of each systemd (the host's, then Debian trixie's and sid's trees where present),
/// one after the other, each saying which version the test runs on.
pub fn managers(test: &str) -> impl Iterator<Item = UserManager> + '_ {
    Systemd::all().into_iter().filter_map(move |systemd| {
        let manager = require_on(test, &systemd, &[&target_dir()])?;
        say(&format!("{test}: running on systemd {}", manager.version));
        Some(manager)
    })
}

pub const PROPS: &[&str] = &[
    "ActiveState",
    "SubState",
    "Result",
    "StatusText",
    "ExecMainStatus",
    "ExecMainCode",
    "ActiveEnterTimestampMonotonic",
];

pub fn state(props: &HashMap<String, String>) -> &str {
    props.get("ActiveState").map_or("", String::as_str)
}

/// Waits for `unit` to become active and checks it did; its properties then.
pub fn assert_becomes_active(
    manager: &UserManager,
    unit: &str,
    properties: &[&str],
    within: std::time::Duration,
) -> HashMap<String, String> {
    let active = manager.wait_for(unit, properties, within, |p| state(p) == "active");
    assert_eq!(
        state(&active),
        "active",
        "{unit} on systemd {}: {active:?}",
        manager.version
    );
    active
}

/// Waits for `unit` to end and checks it ended as a clean stop: `inactive`, Result=success.
pub fn assert_ends_cleanly(manager: &UserManager, unit: &str, within: std::time::Duration) {
    let ended = manager.wait_for(unit, PROPS, within, |p| matches!(state(p), "inactive" | "failed"));
    assert_eq!(
        (state(&ended), ended["Result"].as_str()),
        ("inactive", "success"),
        "{unit} on systemd {}: {ended:?}",
        manager.version
    );
}

/// Waits for `unit`'s watchdog to fire (Result=watchdog) and checks it did; its properties then.
pub fn assert_watchdog_fires(manager: &UserManager, unit: &str) -> HashMap<String, String> {
    let ended = manager.wait_for(unit, PROPS, std::time::Duration::from_secs(15), |p| {
        p["Result"] == "watchdog"
    });
    assert_eq!(
        ended["Result"], "watchdog",
        "{unit} on systemd {}: {ended:?}",
        manager.version
    );
    ended
}

/// The output a unit wrote (start() sends StandardOutput= to a file in the scratch dir).
pub fn output(manager: &UserManager, unit: &str) -> String {
    std::fs::read_to_string(manager.scratch().join(format!("{unit}.out"))).unwrap_or_default()
}
