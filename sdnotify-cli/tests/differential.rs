//! sdnotify against systemd-notify, byte for byte: the same arguments, the same kind of
//! receiver, and the datagrams, credentials, barriers and exit codes compared. The oracles are
//! the host's systemd-notify (252 here) and those of the Debian trees (257, and the newest),
//! each run inside its tree with /proc mounted in a private mount namespace and the receiver's
//! socket inside the tree. sdnotify follows the newest; where an older one differs, the
//! difference must be one systemd made on purpose (listed in `older_may_differ`).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sdnotify_runtime::manager::Listener;

const SYSTEMD_NOTIFY: &str = "/usr/bin/systemd-notify";
const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

/// Which program runs: ours, or a systemd-notify (the host's, or a tree's).
#[derive(Clone, Debug)]
enum Program {
    Sdnotify,
    /// `sh ARGS` (a script that runs sdnotify with descriptors opened for it).
    Shell,
    Host,
    Tree {
        root: std::path::PathBuf,
        version: u32,
    },
}

impl Program {
    fn version(&self) -> u32 {
        match self {
            Program::Sdnotify | Program::Shell => 0,
            Program::Host => host_version(),
            Program::Tree { version, .. } => *version,
        }
    }

    fn root(&self) -> Option<&Path> {
        match self {
            Program::Tree { root, .. } => Some(root),
            _ => None,
        }
    }

    /// The command line for `args`: a tree's systemd-notify is run chrooted into its tree with
    /// /proc mounted, all in a private mount namespace; the process keeps its pid throughout.
    fn command(&self, args: &[&str]) -> Command {
        match self {
            Program::Sdnotify => {
                let mut c = Command::new(SDNOTIFY);
                c.args(args);
                c
            }
            Program::Shell => {
                let mut c = Command::new("sh");
                c.args(args);
                c
            }
            Program::Host => {
                let mut c = Command::new(SYSTEMD_NOTIFY);
                c.args(args);
                c
            }
            Program::Tree { root, .. } => {
                let mut c = Command::new("unshare");
                c.args(["--mount", "--propagation", "private", "sh", "-c"])
                    .arg(r#"mount -t proc proc "$0/proc" && exec chroot "$0" /usr/bin/systemd-notify "$@""#)
                    .arg(root)
                    .args(args);
                c
            }
        }
    }
}

fn host_version() -> u32 {
    static VERSION: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let out = Command::new(SYSTEMD_NOTIFY).arg("--version").output();
        out.ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    })
}

/// The oracles present, newest last: the host's systemd-notify and each tree's (trees need
/// root). Found once per test binary.
fn oracles() -> Vec<Program> {
    static ORACLES: std::sync::OnceLock<Vec<Program>> = std::sync::OnceLock::new();
    ORACLES.get_or_init(find_oracles).clone()
}

fn find_oracles() -> Vec<Program> {
    let mut all = Vec::new();
    if systemd_notify_available() {
        all.push(Program::Host);
    }
    if !rustix::process::geteuid().is_root() {
        return all; // the host's alone: nothing to order
    }
    let base = std::env::var_os("SDNOTIFY_SYSTEMD_TREES").map_or_else(
        || std::path::PathBuf::from("/var/cache/sdnotify"),
        std::path::PathBuf::from,
    );
    for suite in ["trixie", "sid"] {
        let root = base.join(suite);
        let version = Command::new("chroot")
            .arg(&root)
            .args(["dpkg-query", "-W", "-f=${Version}", "systemd"])
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split(['.', '-'])
                    .next()?
                    .parse()
                    .ok()
            });
        match version {
            Some(version) => all.push(Program::Tree { root, version }),
            None => {
                let message = format!(
                    "NOT RUN against Debian {suite}'s systemd-notify: no tree at {}",
                    root.display()
                );
                assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
                eprintln!("{message}");
            }
        }
    }
    all.sort_by_key(Program::version);
    all
}

/// One datagram as the manager sees it, with the pid expressed relative to the caller.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    text: String,
    pid: String,
    uid: u32,
    gid: u32,
    fds: usize,
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    datagrams: Vec<Seen>,
    code: Option<i32>,
}

#[derive(Clone, Copy)]
enum Socket {
    Path,
    Abstract,
    Unset,
}

fn systemd_notify_available() -> bool {
    if Path::new(SYSTEMD_NOTIFY).exists() {
        return true;
    }
    let reason = "SKIPPED: /usr/bin/systemd-notify is not installed (apt-get install systemd)";
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "{reason}; in CI a skip is a failure"
    );
    eprintln!("{reason}");
    false
}

/// Runs `program args` against a fresh receiver that answers barriers, and reports what arrived.
/// A tree's program gets a socket inside its tree (`$NOTIFY_SOCKET` as the tree sees it).
fn observe(program: &Program, args: &[&str], socket: Socket) -> (Outcome, String) {
    let root = program.root().map(Path::to_path_buf);
    let dir = root.as_ref().map_or_else(std::env::temp_dir, |r| r.join("tmp"));
    let listener = match socket {
        Socket::Abstract => Listener::bind_unique(),
        _ => Listener::bind_unique_in(&dir),
    }
    .unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut address = listener.address().to_owned();
    if let (Some(root), Socket::Path) = (&root, socket) {
        let inside = Path::new(&address).strip_prefix(root).unwrap();
        address = Path::new("/").join(inside).into_os_string();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stop_receiver = Arc::clone(&stop);
    let receiver = std::thread::spawn(move || {
        let mut got = Vec::new();
        loop {
            match listener.recv() {
                // Keep what matters and drop the datagram, closing its descriptors: a barrier is
                // answered at once.
                Ok(d) => got.push((d.bytes().to_vec(), d.credentials().unwrap(), d.fds().len())),
                Err(_) if stop_receiver.load(Ordering::Relaxed) => return got,
                Err(_) => {}
            }
        }
    });
    let mut cmd = program.command(args);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    for var in [
        "NOTIFY_SOCKET",
        "MANAGERPID",
        "WATCHDOG_USEC",
        "WATCHDOG_PID",
        "LISTEN_FDS",
        "LISTEN_PID",
    ] {
        cmd.env_remove(var);
    }
    if !matches!(socket, Socket::Unset) {
        cmd.env("NOTIFY_SOCKET", &address);
    }
    let child = cmd.spawn().unwrap();
    let child_pid = child.id();
    let output = child.wait_with_output().unwrap();
    std::thread::sleep(Duration::from_millis(60));
    stop.store(true, Ordering::Relaxed);
    let received = receiver.join().unwrap();
    let me = std::process::id();
    let datagrams = received
        .iter()
        .map(|(bytes, creds, fds)| {
            let pid = if creds.pid == me {
                "caller".to_owned()
            } else if creds.pid == child_pid {
                "self".to_owned()
            } else {
                creds.pid.to_string()
            };
            Seen {
                // Pids in the text, relative to the caller like the credentials.
                text: normalize_fd_id(
                    &String::from_utf8_lossy(bytes)
                        .replace(&format!("MAINPID={child_pid}"), "MAINPID=<self>")
                        .replace(&format!("MAINPID={me}"), "MAINPID=<caller>"),
                ),
                pid,
                uid: creds.uid,
                gid: creds.gid,
                fds: *fds,
            }
        })
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (
        Outcome {
            datagrams,
            code: output.status.code(),
        },
        stderr,
    )
}

/// A pidfd inode id differs from run to run; what counts is that it is there.
fn normalize_fd_id(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("MAINPIDFDID=") {
                "MAINPIDFDID=<id>"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What systemd-notify sent, less its own `ERRNO=`/`EXIT_STATUS=` reports on failure (254+):
/// sdnotify does not send those, on purpose: a usage error says nothing about the service.
fn oracle(program: &Program, args: &[&str], socket: Socket) -> (Outcome, String) {
    let (mut theirs, err) = observe(program, args, socket);
    theirs.datagrams.retain(|d| {
        !(d.pid == "self" && (d.text.starts_with("ERRNO=") || d.text.starts_with("EXIT_STATUS=")))
    });
    (theirs, err)
}

/// The differences systemd made on purpose between 252 and the newest: the barrier with the
/// message's credentials (257+), `MAINPIDFDID=` after `MAINPID=` and a `--pid=` naming no
/// process refused (257+, with pidfs).
fn older_may_differ(older: &Outcome, newest: &Outcome) -> bool {
    let strip = |o: &Outcome| Outcome {
        datagrams: o
            .datagrams
            .iter()
            .map(|d| Seen {
                text: d
                    .text
                    .lines()
                    .filter(|l| !l.starts_with("MAINPIDFDID="))
                    .collect::<Vec<_>>()
                    .join("\n"),
                pid: if d.text == "BARRIER=1" {
                    "any".to_owned()
                } else {
                    d.pid.clone()
                },
                uid: d.uid,
                gid: d.gid,
                fds: d.fds,
            })
            .collect(),
        code: o.code,
    };
    strip(older) == strip(newest) || (newest.code == Some(1) && newest.datagrams.is_empty())
}

/// sdnotify against every oracle: equal to the newest; each older one equal to it too, or
/// different only as `older_may_differ` allows. Returns sdnotify's outcome.
fn same(args: &[&str], socket: Socket) -> Outcome {
    let (ours, our_err) = observe(&Program::Sdnotify, args, socket);
    assert!(ours.datagrams.iter().all(|d| !d.text.starts_with("ERRNO=")));
    let oracles = oracles();
    let Some(newest) = oracles.last().cloned() else {
        return ours;
    };
    let (reference, their_err) = oracle(&newest, args, socket);
    assert_eq!(
        ours,
        reference,
        "sdnotify {args:?} differs from systemd-notify {}\nours: {our_err}\ntheirs: {their_err}",
        newest.version()
    );
    for older in &oracles[..oracles.len() - 1] {
        let (theirs, err) = oracle(older, args, socket);
        if err.contains("unrecognized option") || err.contains("invalid option") {
            eprintln!(
                "NOT RUN on systemd-notify {}: {args:?} is newer than it",
                older.version()
            );
            continue;
        }
        assert!(
            theirs == reference || older_may_differ(&theirs, &reference),
            "systemd-notify {} differs from {} on {args:?} in a way not known: {theirs:?} vs {reference:?}\n{err}",
            older.version(),
            newest.version()
        );
    }
    ours
}

/// The barrier as the newest systemd-notify sends it: with the message's credentials (the
/// caller's by default; 252 used its own).
fn barrier() -> Seen {
    Seen {
        text: "BARRIER=1".into(),
        pid: "caller".into(),
        uid: 0,
        gid: 0,
        fds: 1,
    }
}

/// The invocations compared with `Socket::Path`: every 252 option and their combinations.
const CASES: &[&[&str]] = &[
    &["--ready"],
    &["--ready", "--no-block"],
    &["--status=hello"],
    &["--status", "hello"],
    &["--status=hello world", "--no-block"],
    &["--status="],
    &["--no-block", "--status="],
    &["--stat=prefix", "--no-block"],
    &["--rea"],
    &["--rea", "--no-b"],
    &["--ready", "--status=x", "FOO=bar"],
    &[
        "--no-block",
        "--ready",
        "--status=hello world",
        "READY=0",
        "STATUS=override",
        "X_A=1",
    ],
    &["--no-block", "--ready", "X=1", "X=2", "Y", "Z="],
    &["--no-block", ""],
    &["--ready", ""],
    &["--pid", "--ready"],
    &["--pid", "--no-block"],
    &["--pid=", "--no-block"],
    &["--pid=auto", "--no-block"],
    &["--pid=self", "--ready"],
    &["--pid=parent", "--ready"],
    &["--pid=1", "--ready", "--no-block"],
    &["--pid", "77", "--no-block"],
    &["FOO=1", "--ready"],
    &["READY=1"],
    &["--ready", "--", "--not-an-option=1"],
    &["--status", "x", "--ready"],
    &["--ready", "READY"],
    &["--status=a", "STATUS"],
    &["STATUS=a", "STATUS=b", "--no-block"],
    &["--ready", "--no-block", "--no-block"],
    &["--status=first", "--status=second", "--no-block"],
    &["--status=ünïcødé ✓", "--no-block"],
    &["--uid=0", "--ready"],
    &["--uid=root", "--pid=self", "--status=as root"],
    &["--ready", "--status=x", "--pid=self", "X_Y=z", "--no-block"],
    &["--status", "-dash-value", "--no-block"],
    &["WATCHDOG=1", "--no-block"],
    &["--ready", "--status=tab\tinside"],
    &["--no-block", "--ready", "--status=x", ""],
    &["--no-block", "--status=x", "", "X=1"],
    &["--no-block", "--ready", "--status=x", "STATUS"],
    &["--no-block", "--ready", "--status=x", "STAT"],
    &["--no-block", "--ready", "Y", "Y"],
    &["--no-block", "--ready", "X", "X=2"],
    &["--no-block", "--ready", "=5"],
    &["--uid=nobody", "--pid=self", "--no-block", "--ready"],
];

#[test]
fn datagrams_credentials_and_barriers_are_identical() {
    if !systemd_notify_available() {
        return;
    }
    let mut compared = 0;
    for args in CASES {
        same(args, Socket::Path);
        compared += 1;
    }
    assert!(compared >= 30);
}

/// What systemd-notify 257/262 changed or added, each compared with the oracles.
#[test]
fn the_newest_systemd_notify_options_and_checks() {
    if !systemd_notify_available() {
        return;
    }
    let long_name = format!("--fdname={}", "n".repeat(300));
    for args in [
        &["--pid=2147483000", "--no-block"][..],
        &["--pid=self", "--no-block", "--ready"],
        &["--pid=parent", "--ready"],
        &["--fd=0", "--fdname=a:b", "--no-block"],
        &["--fd=0", &long_name, "--no-block"],
        &["--fd=0", "--fdname=ok", "--no-block"],
        &["--exec", "--ready", ";", "--", "true"],
        &["--exec", "--ready", ";", "true"],
        &["--fork", "--", "sh", "-c", "exit 7"],
        &["--fork", "--", "/nonexistent/program"],
        &["-q", "--fork", "--", "sh", "-c", "exit 3"],
    ] {
        same(args, Socket::Path);
    }
    let refused = same(&["--pid=2147483000", "--no-block"], Socket::Path);
    assert_eq!((refused.code, refused.datagrams.len()), (Some(1), 0));
    let forked = same(&["--fork", "--", "sh", "-c", "exit 7"], Socket::Path);
    assert_eq!(forked.code, Some(7), "CMD's status when it exits before READY=1");
    assert_eq!(
        same(&["--fork", "--", "/nonexistent/program"], Socket::Path).code,
        Some(203)
    );
}

#[test]
fn measured_examples_from_protocol_md() {
    if !systemd_notify_available() {
        return;
    }
    let out = same(&["--no-block", "--ready", "X=1", "X=2", "Y", "Z="], Socket::Path);
    assert_eq!(out.datagrams[0].text, "READY=1\nX=2\nY\nZ=");
    let out = same(&["--ready", "--status=x", "--pid=1", "FOO=bar"], Socket::Path);
    assert_eq!(
        out.datagrams[0].text,
        "READY=1\nSTATUS=x\nMAINPID=1\nMAINPIDFDID=<id>\nFOO=bar"
    );
    assert_eq!(out.datagrams[0].pid, "1", "credentials speak for --pid");
    assert_eq!(out.datagrams[1].pid, "1", "and so does the barrier (257+)");
    let out = same(&["--no-block", ""], Socket::Path);
    assert_eq!(out.datagrams[0].text, "");
}

#[test]
fn the_default_source_pid_is_the_caller() {
    if !systemd_notify_available() {
        return;
    }
    let out = same(&["--ready"], Socket::Path);
    assert_eq!(out.datagrams[0].pid, "caller");
    assert_eq!(
        out.datagrams[1],
        barrier(),
        "257+ send the barrier with the message's credentials (252 used its own pid)"
    );
}

#[test]
fn another_user_on_an_abstract_socket() {
    if !systemd_notify_available() || !rustix::process::geteuid().is_root() {
        return;
    }
    // Only the real ids change: the credentials say nobody, the effective root still speaks
    // for the caller and reaches a root-owned socket file.
    for socket in [Socket::Abstract, Socket::Path] {
        let out = same(&["--uid=nobody", "--ready"], socket);
        assert_eq!(out.code, Some(0));
        assert_eq!((out.datagrams[0].uid, out.datagrams[0].gid), (65534, 65534));
        assert_eq!(out.datagrams[0].pid, "caller");
    }
    let out = same(&["--uid=65534", "--status=numeric", "--no-block"], Socket::Path);
    assert_eq!(out.datagrams[0].uid, 65534);
}

#[test]
fn exit_codes_without_a_message() {
    if !systemd_notify_available() {
        return;
    }
    // No arguments: help and 1. --booted: 0 or 1, nothing sent. Unknown option: 1.
    assert_eq!(same(&[], Socket::Path).code, Some(1));
    let booted = same(&["--booted"], Socket::Path);
    assert!(booted.datagrams.is_empty());
    assert_eq!(
        booted.code,
        Some(if Path::new("/run/systemd/system").is_dir() {
            0
        } else {
            1
        })
    );
    assert_eq!(
        same(&["--help"], Socket::Path),
        Outcome {
            datagrams: vec![],
            code: Some(0)
        }
    );
    assert_eq!(
        same(&["--version"], Socket::Path),
        Outcome {
            datagrams: vec![],
            code: Some(0)
        }
    );
    assert_eq!(
        same(&["--bogus"], Socket::Path),
        Outcome {
            datagrams: vec![],
            code: Some(1)
        }
    );
    assert_eq!(
        same(&["--no-block"], Socket::Path),
        Outcome {
            datagrams: vec![],
            code: Some(1)
        }
    );
}

#[test]
fn notify_socket_unset() {
    if !systemd_notify_available() {
        return;
    }
    let (theirs, their_err) = observe(&Program::Host, &["--ready"], Socket::Unset);
    let (ours, our_err) = observe(&Program::Sdnotify, &["--ready"], Socket::Unset);
    assert_eq!(ours, theirs);
    assert_eq!(ours.code, Some(1));
    assert_eq!(our_err, their_err);
    assert_eq!(
        our_err,
        "No status data could be sent: $NOTIFY_SOCKET was not set\n"
    );
    let (quiet, quiet_err) = observe(&Program::Sdnotify, &["-q", "--ready"], Socket::Unset);
    assert_eq!((quiet.code, quiet_err.as_str()), (Some(1), ""));
}

// --- Where sdnotify differs on purpose: systemd-notify mangles these, sdnotify does not. ---

#[test]
fn backslashes_are_escaped() {
    let (ours, _) = observe(
        &Program::Sdnotify,
        &["--no-block", r"--status=C:\tmp \\ x", r"X_P=a\b"],
        Socket::Path,
    );
    assert_eq!(
        ours.datagrams[0].text,
        r"STATUS=C:\\tmp \\\\ x
X_P=a\\b"
    );
    let parsed = sdnotify_runtime::Notification::parse(ours.datagrams[0].text.as_bytes()).unwrap();
    assert_eq!(
        parsed.get("STATUS"),
        Some(r"C:\tmp \\ x"),
        "the manager shows it as written"
    );
}

#[test]
fn line_breaks_and_nul_are_refused_and_nothing_is_sent() {
    for (args, needle) in [
        (&["--status=a\nREADY=1"][..], "contains a newline (LF)"),
        (&["--ready", "X=a\rb"][..], "contains a carriage return (CR)"),
        (
            &["--no-block", "STATUS=x\nMAINPID=1"][..],
            "contains a newline (LF)",
        ),
    ] {
        let (ours, err) = observe(&Program::Sdnotify, args, Socket::Path);
        assert_eq!(
            ours,
            Outcome {
                datagrams: vec![],
                code: Some(1)
            },
            "{args:?}"
        );
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

// --- Options newer than 252, checked against protocol.md. ---

#[test]
fn reloading_sends_monotonic_usec_in_the_same_datagram() {
    let before = sdnotify_runtime::monotonic_now().as_micros() as u64;
    let (ours, _) = observe(&Program::Sdnotify, &["--reloading", "--no-block"], Socket::Path);
    let text = &ours.datagrams[0].text;
    let n = sdnotify_runtime::Notification::parse(text.as_bytes()).unwrap();
    assert_eq!(n.lines()[0], "RELOADING=1");
    let usec: u64 = n.get("MONOTONIC_USEC").unwrap().parse().unwrap();
    assert!(usec >= before && usec <= sdnotify_runtime::monotonic_now().as_micros() as u64);
    let (ours, _) = observe(
        &Program::Sdnotify,
        &["--stopping", "--ready", "--reloading", "--no-block"],
        Socket::Path,
    );
    let n = sdnotify_runtime::Notification::parse(ours.datagrams[0].text.as_bytes()).unwrap();
    assert_eq!(
        [&n.lines()[0], &n.lines()[2], &n.lines()[3]],
        ["RELOADING=1", "READY=1", "STOPPING=1"]
    );
}

#[test]
fn fd_and_fdname_pass_descriptors_with_fdstore() {
    // fd 3 and 4 opened by the shell for the child.
    let script =
        format!("exec {SDNOTIFY} --fd=3 --fd=4 --fdname=store --no-block X_A=1 3</dev/null 4</dev/null");
    let (ours, err) = observe(&Program::Shell, &["-c", &script], Socket::Path);
    assert_eq!(ours.code, Some(0), "{err}");
    assert_eq!(ours.datagrams[0].text, "FDSTORE=1\nFDNAME=store\nX_A=1");
    assert_eq!(ours.datagrams[0].fds, 2);
    let (bad, err) = observe(&Program::Sdnotify, &["--fd=99", "--no-block"], Socket::Path);
    assert_eq!((bad.code, bad.datagrams.len()), (Some(1), 0));
    assert!(err.contains("--fd=99: no such open file descriptor"), "{err}");
    let (bad, err) = observe(&Program::Sdnotify, &["--fdname=x", "--ready"], Socket::Path);
    assert_eq!((bad.code, bad.datagrams.len()), (Some(1), 0));
    assert!(err.contains("--fdname= requires --fd="), "{err}");
}

#[test]
fn exec_runs_the_command_after_the_barrier() {
    let marker = std::env::temp_dir().join(format!("sdnotify-exec-{}", std::process::id()));
    let touch = format!("touch {}", marker.display());
    let (ours, err) = observe(
        &Program::Sdnotify,
        &["--exec", "--ready", "X=1", ";", "sh", "-c", &touch],
        Socket::Path,
    );
    assert_eq!(ours.code, Some(0), "{err}");
    assert_eq!(ours.datagrams[0].text, "READY=1\nX=1");
    assert_eq!(ours.datagrams[1], barrier());
    assert!(marker.exists(), "the command ran");
    std::fs::remove_file(&marker).unwrap();
    let (bad, err) = observe(&Program::Sdnotify, &["--exec", "--ready"], Socket::Path);
    assert_eq!((bad.code, bad.datagrams.len()), (Some(1), 0));
    assert!(err.contains("--exec needs ';'"), "{err}");
    // Without --exec, `;` is an ordinary operand, as in systemd-notify.
    let (plain, _) = observe(&Program::Sdnotify, &["--no-block", "--ready", ";"], Socket::Path);
    assert_eq!(plain.datagrams[0].text, "READY=1\n;");
}

#[test]
fn an_unwritable_socket_is_a_clear_error() {
    let out = Command::new(SDNOTIFY)
        .args(["--ready"])
        .env("NOTIFY_SOCKET", OsStr::new("relative/socket"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid notification socket address"));
}
