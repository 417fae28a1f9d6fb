//! The command line, with systemd-notify's GNU getopt habits: unique prefixes of long options,
//! options after operands, `--` ending the options, and `--pid` taking a value only with `=`.

use std::ffi::OsString;

use clap::{Arg, ArgAction, ArgMatches, Command};

/// What `--generate` can print (see `generate.rs`).
pub(crate) const GENERATE_KINDS: [&str; 4] = ["man", "complete-bash", "complete-zsh", "complete-fish"];

/// What the command line asks for.
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub(crate) ready: bool,
    pub(crate) reloading: bool,
    pub(crate) stopping: bool,
    /// Bytes, as systemd-notify sends them (the manager itself requires UTF-8 for STATUS).
    pub(crate) status: Option<OsString>,
    pub(crate) pid: Option<String>,
    pub(crate) uid: Option<String>,
    pub(crate) booted: bool,
    pub(crate) no_block: bool,
    pub(crate) exec: bool,
    pub(crate) fds: Vec<i32>,
    pub(crate) fdname: Option<String>,
    pub(crate) fork: bool,
    pub(crate) quiet: bool,
    /// `--generate=WHAT`: print the man page or a completion script.
    pub(crate) generate: Option<String>,
    /// `VARIABLE=VALUE` operands (with `--fork`, the command), any bytes but NUL.
    pub(crate) operands: Vec<OsString>,
}

pub(crate) fn command() -> Command {
    let flag = |name: &'static str, help: &'static str| {
        Arg::new(name).long(name).help(help).action(ArgAction::SetTrue)
    };
    Command::new("sdnotify")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Notify the service manager about start-up completion and other status changes")
        .override_usage(
            "sdnotify [OPTIONS] [VARIABLE=VALUE]...\n       \
             sdnotify --exec [OPTIONS] [VARIABLE=VALUE]... ; CMDLINE...\n       \
             sdnotify --fork [OPTIONS] -- CMDLINE...\n       \
             sdnotify run [OPTIONS] -- CMD [ARGS]...   (a local supervisor; see `sdnotify run --help`)",
        )
        .after_help(
            "Values are sent as given, except that a backslash is escaped so the manager shows it\n\
             as written; a value with a line break or NUL is refused and nothing is sent.",
        )
        .infer_long_args(true)
        .args_override_self(true)
        .disable_version_flag(true)
        .arg(flag(
            "ready",
            "Inform the service manager about service start-up completion",
        ))
        .arg(flag(
            "reloading",
            "Inform the service manager about configuration reloading",
        ))
        .arg(flag(
            "stopping",
            "Inform the service manager about service shutdown",
        ))
        .arg(
            Arg::new("pid")
                .long("pid")
                .value_name("PID")
                .help("Set main PID of daemon: a number, auto, self or parent")
                .num_args(0..=1)
                .require_equals(true)
                .default_missing_value("auto"),
        )
        .arg(
            Arg::new("uid")
                .long("uid")
                .value_name("USER")
                .help("Set user to send from"),
        )
        .arg(
            Arg::new("status")
                .long("status")
                .value_name("TEXT")
                .help("Set status text")
                .allow_hyphen_values(true)
                .value_parser(clap::value_parser!(OsString)),
        )
        .arg(flag("booted", "Check if the system was booted up with systemd"))
        .arg(flag("no-block", "Do not wait until the operation finished"))
        .arg(flag(
            "exec",
            "Execute the command line after ';' once the notification is sent",
        ))
        .arg(
            Arg::new("fd")
                .long("fd")
                .value_name("FD")
                .help("Pass the specified file descriptor along with the message")
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(i32).range(0..)),
        )
        .arg(
            Arg::new("fdname")
                .long("fdname")
                .value_name("NAME")
                .help("Name to assign to passed file descriptor(s)"),
        )
        .arg(flag(
            "fork",
            "Start the command line, wait for its READY=1, print its PID and exit",
        ))
        .arg(
            Arg::new("quiet")
                .short('q')
                .long("quiet")
                .help("Do not report that $NOTIFY_SOCKET is not set")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("generate")
                .long("generate")
                .value_name("WHAT")
                .help("Print the man page or a shell completion script (not in systemd-notify)")
                .value_parser(GENERATE_KINDS),
        )
        .arg(
            Arg::new("version")
                .long("version")
                .help("Show package version")
                .action(ArgAction::Version),
        )
        .arg(
            Arg::new("operands")
                .value_name("VARIABLE=VALUE")
                .help("Lines to send; each replaces the line of the same name (with --fork: the command)")
                .num_args(0..)
                .action(ArgAction::Append)
                .value_parser(clap::value_parser!(OsString)),
        )
}

pub(crate) fn parse(argv: &[OsString]) -> Result<Args, clap::Error> {
    let matches = command().try_get_matches_from(argv)?;
    Ok(from_matches(&matches))
}

fn from_matches(m: &ArgMatches) -> Args {
    let string = |id: &str| m.get_one::<String>(id).cloned();
    Args {
        ready: m.get_flag("ready"),
        reloading: m.get_flag("reloading"),
        stopping: m.get_flag("stopping"),
        status: m.get_one::<OsString>("status").cloned(),
        pid: string("pid"),
        uid: string("uid"),
        booted: m.get_flag("booted"),
        no_block: m.get_flag("no-block"),
        exec: m.get_flag("exec"),
        fds: m
            .get_many::<i32>("fd")
            .map(|v| v.copied().collect())
            .unwrap_or_default(),
        fdname: string("fdname"),
        fork: m.get_flag("fork"),
        quiet: m.get_flag("quiet"),
        generate: string("generate"),
        operands: m
            .get_many::<OsString>("operands")
            .map(|v| v.cloned().collect())
            .unwrap_or_default(),
    }
}
