//! `sdnotify`: a drop-in `systemd-notify` that never mangles data.

mod args;
mod compose;
mod fork;
mod notify;
mod user;

use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match notify::main(argv) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sdnotify: {message}");
            ExitCode::FAILURE
        }
    }
}
