//! What the facade's integration tests share: finding an example, and a child that is killed
//! when the test fails before it ended.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::process::Child;

/// target/PROFILE/examples/NAME, next to this test's own binary (an absolute path as given).
/// The examples are brought up to date once per test binary: `cargo test --test NAME` builds
/// no example by itself, and a stale one would test old code.
pub fn example(name: &str) -> PathBuf {
    if name.starts_with('/') {
        return PathBuf::from(name);
    }
    // target/debug/deps/TEST-… → target/debug/examples/NAME
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let mut cargo = std::process::Command::new(env!("CARGO"));
        cargo
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--quiet", "--examples", "-p", "sdnotify", "--target-dir"])
            .arg(profile_dir.parent().unwrap());
        if profile_dir.ends_with("release") {
            cargo.arg("--release");
        }
        let built = cargo.status().is_ok_and(|s| s.success());
        assert!(built, "cargo build --examples failed");
    });
    profile_dir.join("examples").join(name)
}

/// Checks that nothing more arrives at `receiver` within 300 ms (after the one STOPPING=1).
pub fn assert_nothing_more(receiver: &sdnotify::manager::Listener) {
    receiver
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let more = receiver.recv();
    assert!(
        more.is_err(),
        "one STOPPING=1 only: {:?}",
        more.map(|d| d.bytes().to_vec())
    );
}

/// Kills the child if the test fails before it ended.
pub struct Reap(pub Child);

impl Drop for Reap {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}
