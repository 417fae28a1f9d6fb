//! `sdnotify`: a drop-in `systemd-notify` that never mangles data.

mod args;
mod compose;
mod fork;
mod generate;
mod mainpid;
mod notify;
mod run;
mod user;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `sdnotify run …` is the supervisor; anything else is the drop-in systemd-notify (where a
    // first operand `run` would be an odd line to send).
    if argv.get(1).is_some_and(|a| a == "run") {
        return run::main(&argv[1..]);
    }
    match notify::main(argv) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sdnotify: {message}");
            ExitCode::FAILURE
        }
    }
}
