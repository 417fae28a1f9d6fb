//! `sdnotify`: a drop-in `systemd-notify` that never mangles data.
//!
//! Linux only: it plays the service manager's part and talks to one, with Linux's sockets,
//! pidfds and /proc. Elsewhere the build stops here with one error saying so (the libraries,
//! `sdnotify` and `sdnotify-runtime`, build everywhere).

#[cfg(not(target_os = "linux"))]
compile_error!(
    "the `sdnotify` command (sdnotify-cli) runs on Linux only: it speaks systemd's protocol with \
     Linux's sockets, pidfds and /proc. The library crates, `sdnotify` and `sdnotify-runtime`, \
     build on every target (and do nothing off Linux)."
);

#[cfg(target_os = "linux")]
mod args;
#[cfg(target_os = "linux")]
mod compose;
#[cfg(target_os = "linux")]
mod fork;
#[cfg(target_os = "linux")]
mod generate;
#[cfg(target_os = "linux")]
mod mainpid;
#[cfg(target_os = "linux")]
mod notify;
#[cfg(target_os = "linux")]
mod run;
#[cfg(target_os = "linux")]
mod user;

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `sdnotify run …` is the supervisor; anything else is the drop-in systemd-notify (where a
    // first operand `run` would be an odd line to send).
    if argv.get(1).is_some_and(|a| a == "ctl") {
        return run::control::client(&argv[1..]);
    }
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
