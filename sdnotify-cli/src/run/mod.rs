//! `sdnotify run [OPTIONS] -- CMD [ARGS…]`: a local supervisor that plays systemd's part.

mod classify;
pub(crate) mod control;
mod duration;
mod ending;
mod escape;
mod event;
mod fdstore;
mod lifecycle;
mod notices;
pub(crate) mod process;
mod relay;
mod report;
mod requests;
mod restart;
mod setup;
mod signals;
mod sockets;
mod state;
mod supervisor;

use std::ffi::OsString;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Arg, ArgAction, Command};

/// Exit codes of `sdnotify run` itself; otherwise it exits with the service's status.
pub(crate) mod exit {
    /// The command line of `run` was wrong.
    pub(crate) const USAGE: u8 = 2;
    /// The notify-reload protocol was broken (EX_PROTOCOL): the reload signal was not caught
    /// at READY=1, or a reload was not finished with the handshake.
    pub(crate) const PROTOCOL_ERROR: u8 = 76;
    /// The main process exited before READY=1: a failed start (systemd's Result=protocol).
    pub(crate) const START_FAILED: u8 = 121;
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

/// systemd's KillMode=: who gets the stop signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KillMode {
    /// Every process of the service gets SIGTERM, then SIGKILL.
    ControlGroup,
    /// The main process gets SIGTERM; every remaining process gets SIGKILL.
    Mixed,
    /// Only the main process is signalled; the rest is left running.
    Process,
}

#[derive(Debug)]
pub(crate) struct Options {
    /// `None`: no watchdog (also for 0 and infinity, as WatchdogSec=).
    pub(crate) watchdog: Option<Duration>,
    /// `--watchdog` was given; without it, the outer manager's watchdog (see `relay`) is the
    /// service's.
    pub(crate) watchdog_given: bool,
    /// The interval the service gets in WATCHDOG_USEC: `--watchdog`, else the outer manager's,
    /// which that manager enforces (the supervisor enforces only its own).
    pub(crate) service_watchdog: Option<Duration>,
    /// `None`: no timeout (0 and infinity, as systemd).
    pub(crate) timeout_start: Option<Duration>,
    pub(crate) timeout_stop: Option<Duration>,
    pub(crate) notify_access: classify::Access,
    pub(crate) service_type: ServiceType,
    pub(crate) reload_after: Option<Duration>,
    /// systemd's ReloadSignal= (SIGHUP by default).
    pub(crate) reload_signal: ReloadSignal,
    pub(crate) fdstore_max: usize,
    /// systemd's Restart= and RestartSec=.
    pub(crate) restart: restart::Policy,
    pub(crate) restart_sec: Duration,
    /// StartLimitBurst= and StartLimitIntervalSec=.
    pub(crate) start_limit_burst: usize,
    pub(crate) start_limit_interval: Duration,
    /// `--fdstore-max` was given (not the default): a value that does not fit is an error.
    pub(crate) fdstore_max_given: bool,
    pub(crate) kill_mode: KillMode,
    /// `--name`: reachable by `sdnotify ctl NAME`.
    pub(crate) name: Option<String>,
    /// `--listen` and `--listen-datagram`, in order.
    pub(crate) listen: Vec<sockets::ListenSpec>,
    pub(crate) inherit_stdin: bool,
    pub(crate) json: bool,
    pub(crate) command: Vec<OsString>,
}

/// The signal that asks a notify-reload service to reload, and its name for the output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReloadSignal {
    pub(crate) signal: rustix::process::Signal,
    pub(crate) name: &'static str,
}

/// `--reload-signal`: a name or number as ReloadSignal= reads it (sdnotify_runtime::signal).
fn reload_signal(text: &str) -> Result<ReloadSignal, String> {
    let number = sdnotify_runtime::signal::from_name(text)
        .ok_or_else(|| format!("`{text}` is not a signal, expected e.g. SIGHUP or SIGUSR1"))?;
    // rustix sends named signals only; the real-time range belongs to the C library.
    let signal = rustix::process::Signal::from_named_raw(number)
        .ok_or_else(|| format!("`{text}`: real-time signals are not supported by sdnotify run"))?;
    let name = sdnotify_runtime::signal::name(number);
    Ok(ReloadSignal {
        signal,
        // One name for the life of the process, shown in events.
        name: Box::leak(name.into_boxed_str()),
    })
}

pub(crate) fn command() -> Command {
    let duration = |name: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name("DURATION")
            .help(help)
            .value_parser(|s: &str| duration::parse(s))
    };
    let choice = |name: &'static str,
                  value: &'static str,
                  help: &'static str,
                  values: &'static [&'static str],
                  default: &'static str| {
        Arg::new(name)
            .long(name)
            .value_name(value)
            .help(help)
            .value_parser(clap::builder::PossibleValuesParser::new(values))
            .default_value(default)
    };
    Command::new("sdnotify run")
        .about("Run a command as systemd would run a Type=notify service, and show what it reports")
        .override_usage("sdnotify run [OPTIONS] -- CMD [ARGS]...")
        .after_help(
            "DURATION is a systemd time span (systemd.time(7)): 500ms, 90s, 1min 30s, 1.5h, 1w, infinity;\n\
             a bare number is seconds. For the timeouts, 0 and infinity mean no timeout.\n\n\
             The service's stdin is /dev/null (--stdin=inherit keeps it); with --json its stdout and\n\
             stderr go to sdnotify's stderr, so stdout carries JSON events only.\n\n\
             With a NOTIFY_SOCKET of its own (a Type=notify unit, podman --sdnotify=container,\n\
             another sdnotify run), it relays the service's READY, STATUS, RELOADING, STOPPING,\n\
             WATCHDOG, EXTEND_TIMEOUT_USEC and ERRNO to it as its own, and without --watchdog the\n\
             service gets that manager's WATCHDOG_USEC (which that manager enforces).\n\n\
             Exit status: the main process's own (128+N when killed by signal N; asked to stop,\n\
             it dies of the service's SIGTERM, SIGINT, SIGHUP or SIGPIPE itself), or\n  \
             121  the main process exited before READY=1 (a failed start)\n  \
             124  no READY=1 within --timeout-start\n  \
             125  the watchdog expired and the service was killed\n   \
             76  notify-reload broken: the reload signal not caught at READY=1, or a reload unfinished\n  \
             127  the command could not be started\n    \
             2  the command line of `sdnotify run` was wrong, or its own NOTIFY_SOCKET or\n         \
                WATCHDOG_USEC",
        )
        .arg(duration(
            "watchdog",
            "Set WATCHDOG_USEC/WATCHDOG_PID and enforce it: SIGABRT, then SIGKILL, when a ping is late (default: the outer manager's, passed on)",
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
        .arg(choice(
            "notify-access",
            "WHO",
            "Whose notifications count: main (the main process), all (any process of the service), none; exec is main",
            &["main", "all", "exec", "none"],
            "main",
        ))
        .arg(choice(
            "type",
            "TYPE",
            "notify, or notify-reload (SIGHUP, then RELOADING=1 + MONOTONIC_USEC, then READY=1)",
            &["notify", "notify-reload"],
            "notify",
        ))
        .arg(choice(
            "kill-mode",
            "MODE",
            "Who is stopped: control-group (every process of the service), mixed (SIGTERM to the main process, SIGKILL to all), process (the main process only)",
            &["control-group", "mixed", "process"],
            "control-group",
        ))
        .arg(choice(
            "stdin",
            "INPUT",
            "The service's stdin: null (as systemd's StandardInput=null), or inherit sdnotify's",
            &["null", "inherit"],
            "null",
        ))
        .arg(duration(
            "reload-after",
            "With --type=notify-reload: request a reload this long after READY=1",
        ))
        .arg(
            Arg::new("reload-signal")
                .long("reload-signal")
                .value_name("SIGNAL")
                .help("With --type=notify-reload: the signal that requests a reload (ReloadSignal=)")
                .value_parser(|s: &str| reload_signal(s))
                .default_value("SIGHUP"),
        )
        .arg(
            Arg::new("fdstore-max")
                .long("fdstore-max")
                .value_name("N")
                .help("How many descriptors FDSTORE=1 may keep (FileDescriptorStoreMax=; 0, the default, disables the store; within the descriptor limit, ulimit -n); they are handed to each restarted instance")
                .value_parser(clap::value_parser!(usize))
                .default_value("0"),
        )
        .arg(choice(
            "restart",
            "WHEN",
            "Start the service again when it ends (Restart=): no, on-success, on-failure, on-abnormal, on-watchdog, always; never after a stop request",
            restart::POLICIES,
            "no",
        ))
        .arg(duration("restart-sec", "Time before a restart (RestartSec=)").default_value("100ms"))
        .arg(
            Arg::new("start-limit-burst")
                .long("start-limit-burst")
                .value_name("N")
                .help("At most N starts within --start-limit-interval, then no more restarts (StartLimitBurst=; 0: no limit)")
                .value_parser(clap::value_parser!(usize))
                .default_value("5"),
        )
        .arg(duration("start-limit-interval", "The start limit's window (StartLimitIntervalSec=)").default_value("10s"))
        .arg(
            Arg::new("name")
                .long("name")
                .value_name("NAME")
                .help("Answer `sdnotify ctl NAME status|reload|restart|stop` (same user or root)")
                .value_parser(|s: &str| {
                    if control::name_is_valid(s) {
                        Ok(s.to_owned())
                    } else {
                        Err(format!("`{s}` is not a name: letters, digits and -_.@, at most 64"))
                    }
                }),
        )
        .arg(
            Arg::new("listen")
                .long("listen")
                .value_name("[NAME=]ADDRESS")
                .help("Bind a stream socket and pass it as systemd passes a socket unit's (ListenStream=, FileDescriptorName=): IP:PORT, PORT, /path or @name; repeatable")
                .action(ArgAction::Append)
                .value_parser(|s: &str| sockets::parse(s, false)),
        )
        .arg(
            Arg::new("listen-datagram")
                .long("listen-datagram")
                .value_name("[NAME=]ADDRESS")
                .help("The same with a datagram socket (ListenDatagram=)")
                .action(ArgAction::Append)
                .value_parser(|s: &str| sockets::parse(s, true)),
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
    let text = |id: &str| m.get_one::<String>(id).map(String::as_str);
    let service_type = match text("type") {
        Some("notify-reload") => ServiceType::NotifyReload,
        _ => ServiceType::Notify,
    };
    // A span given: Some(Some(d)) finite, Some(None) infinity.
    let span = |id: &str| m.get_one::<duration::Span>(id).copied();
    let timeout = |id: &str| span(id).flatten().filter(|d| !d.is_zero());
    let reload_after = match span("reload-after") {
        Some(None) => {
            return Err(command().error(
                clap::error::ErrorKind::ValueValidation,
                "--reload-after needs a finite time span",
            ))
        }
        other => other.flatten(),
    };
    let reload_signal = m
        .get_one::<ReloadSignal>("reload-signal")
        .copied()
        .unwrap_or(ReloadSignal {
            signal: rustix::process::Signal::HUP,
            name: "SIGHUP",
        });
    let signal_given = m.value_source("reload-signal") == Some(clap::parser::ValueSource::CommandLine);
    if signal_given && service_type != ServiceType::NotifyReload {
        return Err(command().error(
            clap::error::ErrorKind::ArgumentConflict,
            "--reload-signal needs --type=notify-reload",
        ));
    }
    if reload_after.is_some() && service_type != ServiceType::NotifyReload {
        return Err(command().error(
            clap::error::ErrorKind::ArgumentConflict,
            "--reload-after needs --type=notify-reload",
        ));
    }
    Ok(Options {
        watchdog: timeout("watchdog"),
        watchdog_given: m.value_source("watchdog") == Some(clap::parser::ValueSource::CommandLine),
        service_watchdog: timeout("watchdog"),
        timeout_start: timeout("timeout-start"),
        timeout_stop: timeout("timeout-stop"),
        notify_access: text("notify-access")
            .and_then(classify::Access::parse)
            .unwrap_or(classify::Access::Main),
        service_type,
        reload_after,
        reload_signal,
        fdstore_max: m.get_one::<usize>("fdstore-max").copied().unwrap_or(0),
        restart: text("restart")
            .and_then(restart::Policy::parse)
            .unwrap_or(restart::Policy::No),
        restart_sec: span("restart-sec")
            .flatten()
            .unwrap_or(Duration::from_millis(100)),
        start_limit_burst: m.get_one::<usize>("start-limit-burst").copied().unwrap_or(5),
        start_limit_interval: span("start-limit-interval")
            .flatten()
            .unwrap_or(Duration::from_secs(10)),
        fdstore_max_given: m.value_source("fdstore-max") == Some(clap::parser::ValueSource::CommandLine),
        listen: listen_specs(&m),
        name: m.get_one::<String>("name").cloned(),
        kill_mode: match text("kill-mode") {
            Some("mixed") => KillMode::Mixed,
            Some("process") => KillMode::Process,
            _ => KillMode::ControlGroup,
        },
        inherit_stdin: text("stdin") == Some("inherit"),
        json: m.get_flag("json"),
        command: m
            .get_many::<OsString>("command")
            .map(|c| c.cloned().collect())
            .unwrap_or_default(),
    })
}

/// `--listen` and `--listen-datagram` in the order given on the command line.
fn listen_specs(m: &clap::ArgMatches) -> Vec<sockets::ListenSpec> {
    let mut specs: Vec<(usize, sockets::ListenSpec)> = Vec::new();
    for id in ["listen", "listen-datagram"] {
        if let (Some(values), Some(indices)) = (m.get_many::<sockets::ListenSpec>(id), m.indices_of(id)) {
            specs.extend(indices.zip(values.cloned()));
        }
    }
    specs.sort_by_key(|(at, _)| *at);
    specs.into_iter().map(|(_, spec)| spec).collect()
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
    match lifecycle::run(options) {
        Ok(outcome) => {
            if let Some(signal) = outcome.die_of {
                // Resets the handler and raises the signal; returns only if it did not end us.
                let _ = signal_hook::low_level::emulate_default_handler(signal);
            }
            ExitCode::from(outcome.code)
        }
        Err((code, message)) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "sdnotify run: {message}");
            ExitCode::from(code)
        }
    }
}
