//! The `log` feature: `examples/log_feature.rs`, built with it, shows the library's own lines
//! in its logger's format, including one from before `main`'s first line; with no logger
//! installed they are on stderr as without the feature.

use std::path::PathBuf;
use std::process::Command;

use sdnotify::manager::Listener;

/// The example, built with `--features log` into this test's target directory.
fn log_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "--example",
            "log_feature",
            "--features",
            "log",
            "--target-dir",
        ])
        .arg(profile_dir.parent().unwrap());
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    assert!(
        cargo.status().is_ok_and(|s| s.success()),
        "cargo build --features log failed"
    );
    profile_dir.join("examples").join("log_feature")
}

fn stderr_lines(no_logger: bool) -> Vec<String> {
    let listener = Listener::bind_unique().unwrap();
    let mut cmd = Command::new(log_example());
    sdnotify::env::scrub(&mut cmd);
    cmd.env("NOTIFY_SOCKET", listener.address())
        .env("WATCHDOG_USEC", "0")
        .env("SDNOTIFY_DEBUG", "1");
    if no_logger {
        cmd.env("EXAMPLE_NO_LOGGER", "1");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stderr)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_librarys_lines_go_through_the_programs_logger() {
    let lines = stderr_lines(false);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("[WARN sdnotify] ") || l.starts_with("[INFO sdnotify] ")),
        "every line in the logger's format: {lines:#?}"
    );
    let want = [
        // Said before main's first line, held until the logger was there.
        "[WARN sdnotify] watchdog not started: invalid $WATCHDOG_USEC=\"0\": a zero interval is not valid",
        "[INFO sdnotify] sent \"READY=1\"",
        // The trace's line for the refused message, and the report that it was not sent.
        "[INFO sdnotify] error: invalid value for `STATUS`: contains a newline (LF)",
        "[WARN sdnotify] invalid value for `STATUS`: contains a newline (LF)",
        "[INFO sdnotify] sent \"STOPPING=1\"",
    ];
    assert_eq!(lines, want);
}

#[test]
fn without_a_logger_the_lines_stay_on_stderr() {
    let lines = stderr_lines(true);
    let want = [
        "sdnotify: watchdog not started: invalid $WATCHDOG_USEC=\"0\": a zero interval is not valid",
        "sdnotify: sent \"READY=1\"",
        "sdnotify: error: invalid value for `STATUS`: contains a newline (LF)",
        "sdnotify: invalid value for `STATUS`: contains a newline (LF)",
        "sdnotify: sent \"STOPPING=1\"",
    ];
    assert_eq!(lines, want);
}
