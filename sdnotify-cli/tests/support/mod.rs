//! Test support shared by the CLI's integration tests.
#![allow(unreachable_pub, dead_code)]

pub mod supervised;
pub mod user_manager;

use std::path::PathBuf;

/// The path of a workspace example next to the `sdnotify` binary under test
/// (target/debug/examples/NAME), built by `cargo test --workspace`.
pub fn example(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_BIN_EXE_sdnotify"))
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: `cargo test --workspace` builds the examples",
        path.display()
    );
    path.to_string_lossy().into_owned()
}
