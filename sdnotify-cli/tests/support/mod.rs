//! Test support shared by the CLI's integration tests.
#![allow(unreachable_pub, dead_code)]

pub mod http;
mod leftovers;
pub mod supervised;
pub mod units;
pub mod user_manager;

use std::path::PathBuf;

/// The path of one of the facade's examples next to the `sdnotify` binary under test
/// (target/PROFILE/examples/NAME). Brought up to date once per test binary when the workspace is
/// there (so `cargo test -p sdnotify-cli` works in a fresh target directory, and never runs an
/// example older than the library); `None`, with the reason said, in a standalone package that
/// has no examples (a failure with `CI=true`).
pub fn example(name: &str) -> Option<String> {
    static BUILT: std::sync::Mutex<Option<bool>> = std::sync::Mutex::new(None);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_sdnotify"));
    let profile_dir = bin.parent().unwrap().to_path_buf();
    let path = profile_dir.join("examples").join(name);
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if built.is_none() {
        let has_facade = std::fs::read_to_string(workspace.join("Cargo.toml"))
            .is_ok_and(|m| m.contains("name = \"sdnotify\""));
        let ok = has_facade && {
            let target_dir = profile_dir.parent().unwrap();
            let mut cargo = std::process::Command::new(env!("CARGO"));
            cargo
                .current_dir(&workspace)
                .args(["build", "--quiet", "--examples", "-p", "sdnotify", "--target-dir"])
                .arg(target_dir);
            if profile_dir.ends_with("release") {
                cargo.arg("--release");
            }
            cargo.status().is_ok_and(|s| s.success())
        };
        *built = Some(ok);
    }
    if *built == Some(true) && path.exists() {
        return Some(path.to_string_lossy().into_owned());
    }
    let message = format!(
        "SKIPPED: the example {name:?} needs the sdnotify workspace (the facade's examples), which this package does not have"
    );
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
    user_manager::say(&message);
    None
}
