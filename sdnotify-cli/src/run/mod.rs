//! `sdnotify run [OPTIONS] -- CMD [ARGS…]`: a local supervisor that plays systemd's part.

mod classify;
mod duration;
mod event;
mod supervisor;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, Command};

/// Exit codes of `sdnotify run` itself; otherwise it exits with the service's status.
pub(crate) mod exit {
    /// The command line of `run` was wrong.
    pub(crate) const USAGE: u8 = 2;
    /// The notify-reload handshake was broken (EX_PROTOCOL).
    pub(crate) const PROTOCOL_ERROR: u8 = 76;
    /// No READY=1 within --timeout-start (as timeout(1)).
    pub(crate) const START_TIMEOUT: u8 = 124;
    /// The watchdog expired and the service was killed.
    pub(crate) const WATCHDOG: u8 = 125;
    /// The command could not be started (as a shell).
    pub(crate) const CANNOT_START: u8 = 127;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServiceType {
    Notify,
    NotifyReload,
}

#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) watchdog: Option<Duration>,
    pub(crate) timeout_start: Duration,
    pub(crate) timeout_stop: Duration,
    pub(crate) notify_access_all: bool,
    pub(crate) service_type: ServiceType,
    pub(crate) reload_after: Option<Duration>,
    pub(crate) fdstore_max: usize,
    pub(crate) json: bool,
    pub(crate) command: Vec<OsString>,
}

fn command() -> Command {
    let duration = |name: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name("DURATION")
            .help(help)
            .value_parser(|s: &str| duration::parse(s))
    };
    Command::new("sdnotify run")
        .about("Run a command as systemd would run a Type=notify service, and show what it reports")
        .override_usage("sdnotify run [OPTIONS] -- CMD [ARGS]...")
        .after_help(
            "DURATION is written as systemd writes it: 500ms, 2s, 1.5min (a bare number is seconds).\n\n\
             Exit status: the service's own (128+N when killed by signal N), or\n  \
             124  no READY=1 within --timeout-start\n  \
             125  the watchdog expired and the service was killed\n   \
             76  the notify-reload handshake was broken\n  \
             127  the command could not be started\n    \
             2  the command line of `sdnotify run` was wrong",
        )
        .arg(duration(
            "watchdog",
            "Set WATCHDOG_USEC/WATCHDOG_PID and enforce it: SIGABRT, then SIGKILL, when a ping is late",
        ))
        .arg(
            duration(
                "timeout-start",
                "Time allowed until READY=1 (EXTEND_TIMEOUT_USEC extends it)",
            )
            .default_value("90s"),
        )
        .arg(
            duration(
                "timeout-stop",
                "Time allowed after SIGTERM or SIGABRT before SIGKILL",
            )
            .default_value("90s"),
        )
        .arg(
            Arg::new("notify-access")
                .long("notify-access")
                .value_name("WHO")
                .help("Accept notifications from the main process only, or from any process")
                .value_parser(["main", "all"])
                .default_value("main"),
        )
        .arg(
            Arg::new("type")
                .long("type")
                .value_name("TYPE")
                .help("notify, or notify-reload (SIGHUP, then RELOADING=1 + MONOTONIC_USEC, then READY=1)")
                .value_parser(["notify", "notify-reload"])
                .default_value("notify"),
        )
        .arg(duration(
            "reload-after",
            "With --type=notify-reload: request a reload this long after READY=1",
        ))
        .arg(
            Arg::new("fdstore-max")
                .long("fdstore-max")
                .value_name("N")
                .help("How many descriptors FDSTORE=1 may keep")
                .value_parser(clap::value_parser!(usize))
                .default_value("64"),
        )
        .arg(
            Arg::new("json")
                .long("json")
                .help("Print one JSON object per event")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("command")
                .value_name("CMD")
                .help("The service to run, with NOTIFY_SOCKET (and WATCHDOG_USEC/WATCHDOG_PID) set")
                .required(true)
                .num_args(1..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(OsString)),
        )
}

fn parse(argv: &[OsString]) -> Result<Options, clap::Error> {
    let m = command().try_get_matches_from(argv)?;
    let service_type = match m.get_one::<String>("type").map(String::as_str) {
        Some("notify-reload") => ServiceType::NotifyReload,
        _ => ServiceType::Notify,
    };
    let reload_after = m.get_one::<Duration>("reload-after").copied();
    if reload_after.is_some() && service_type != ServiceType::NotifyReload {
        return Err(command().error(
            clap::error::ErrorKind::ArgumentConflict,
            "--reload-after needs --type=notify-reload",
        ));
    }
    Ok(Options {
        watchdog: m.get_one::<Duration>("watchdog").copied(),
        timeout_start: *m.get_one::<Duration>("timeout-start").expect("default"),
        timeout_stop: *m.get_one::<Duration>("timeout-stop").expect("default"),
        notify_access_all: m.get_one::<String>("notify-access").is_some_and(|a| a == "all"),
        service_type,
        reload_after,
        fdstore_max: *m.get_one::<usize>("fdstore-max").expect("default"),
        json: m.get_flag("json"),
        command: m
            .get_many::<OsString>("command")
            .expect("required")
            .cloned()
            .collect(),
    })
}

/// `argv` starts with `run`.
pub(crate) fn main(argv: &[OsString]) -> ExitCode {
    let options = match parse(argv) {
        Ok(options) => options,
        Err(e) => {
            let _ = e.print();
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => exit::USAGE,
            };
            return ExitCode::from(code);
        }
    };
    match supervisor::run(options) {
        Ok(code) => ExitCode::from(code),
        Err((code, message)) => {
            eprintln!("sdnotify run: {message}");
            ExitCode::from(code)
        }
    }
}
