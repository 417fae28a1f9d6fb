//! sdnotify against systemd-notify 252, byte for byte: the same arguments, the same kind of
//! receiver, and the datagrams, credentials, barriers and exit codes compared.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sdnotify_runtime::manager::Listener;

const SYSTEMD_NOTIFY: &str = "/usr/bin/systemd-notify";
const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

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
fn observe(program: &str, args: &[&str], socket: Socket) -> (Outcome, String) {
    let listener = match socket {
        Socket::Abstract => Listener::bind_unique(),
        _ => Listener::bind_unique_in(std::env::temp_dir()),
    }
    .unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let address = listener.address().to_owned();
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
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
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
                text: String::from_utf8_lossy(bytes)
                    .replace(&format!("MAINPID={child_pid}"), "MAINPID=<self>")
                    .replace(&format!("MAINPID={me}"), "MAINPID=<caller>"),
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

fn same(args: &[&str], socket: Socket) -> Outcome {
    let (mut theirs, their_err) = observe(SYSTEMD_NOTIFY, args, socket);
    let (ours, our_err) = observe(SDNOTIFY, args, socket);
    // On failure, systemd-notify also reports its own errno to the manager as `ERRNO=N`.
    // sdnotify does not, on purpose: a usage error says nothing about the service's health.
    theirs
        .datagrams
        .retain(|d| !(d.pid == "self" && d.text.starts_with("ERRNO=")));
    assert!(ours.datagrams.iter().all(|d| !d.text.starts_with("ERRNO=")));
    assert_eq!(
        ours, theirs,
        "sdnotify {args:?} differs from systemd-notify\nours: {our_err}\ntheirs: {their_err}"
    );
    ours
}

fn barrier() -> Seen {
    Seen {
        text: "BARRIER=1".into(),
        pid: "self".into(),
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

#[test]
fn measured_examples_from_protocol_md() {
    if !systemd_notify_available() {
        return;
    }
    let out = same(&["--no-block", "--ready", "X=1", "X=2", "Y", "Z="], Socket::Path);
    assert_eq!(out.datagrams[0].text, "READY=1\nX=2\nY\nZ=");
    let out = same(&["--ready", "--status=x", "--pid=1", "FOO=bar"], Socket::Path);
    assert_eq!(out.datagrams[0].text, "READY=1\nSTATUS=x\nMAINPID=1\nFOO=bar");
    assert_eq!(out.datagrams[0].pid, "1", "credentials speak for --pid");
    assert_eq!(out.datagrams[1], barrier());
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
        "252 sends the barrier with its own pid"
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
    let (theirs, their_err) = observe(SYSTEMD_NOTIFY, &["--ready"], Socket::Unset);
    let (ours, our_err) = observe(SDNOTIFY, &["--ready"], Socket::Unset);
    assert_eq!(ours, theirs);
    assert_eq!(ours.code, Some(1));
    assert_eq!(our_err, their_err);
    assert_eq!(
        our_err,
        "No status data could be sent: $NOTIFY_SOCKET was not set\n"
    );
    let (quiet, quiet_err) = observe(SDNOTIFY, &["-q", "--ready"], Socket::Unset);
    assert_eq!((quiet.code, quiet_err.as_str()), (Some(1), ""));
}

// --- Where sdnotify differs on purpose: systemd-notify mangles these, sdnotify does not. ---

#[test]
fn backslashes_are_escaped() {
    let (ours, _) = observe(
        SDNOTIFY,
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
        let (ours, err) = observe(SDNOTIFY, args, Socket::Path);
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
    let (ours, _) = observe(SDNOTIFY, &["--reloading", "--no-block"], Socket::Path);
    let text = &ours.datagrams[0].text;
    let n = sdnotify_runtime::Notification::parse(text.as_bytes()).unwrap();
    assert_eq!(n.lines()[0], "RELOADING=1");
    let usec: u64 = n.get("MONOTONIC_USEC").unwrap().parse().unwrap();
    assert!(usec >= before && usec <= sdnotify_runtime::monotonic_now().as_micros() as u64);
    let (ours, _) = observe(
        SDNOTIFY,
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
    let (ours, err) = observe("sh", &["-c", &script], Socket::Path);
    assert_eq!(ours.code, Some(0), "{err}");
    assert_eq!(ours.datagrams[0].text, "FDSTORE=1\nFDNAME=store\nX_A=1");
    assert_eq!(ours.datagrams[0].fds, 2);
    let (bad, err) = observe(SDNOTIFY, &["--fd=99", "--no-block"], Socket::Path);
    assert_eq!((bad.code, bad.datagrams.len()), (Some(1), 0));
    assert!(err.contains("--fd=99: no such open file descriptor"), "{err}");
    let (bad, err) = observe(SDNOTIFY, &["--fdname=x", "--ready"], Socket::Path);
    assert_eq!((bad.code, bad.datagrams.len()), (Some(1), 0));
    assert!(err.contains("--fdname= requires --fd="), "{err}");
}

#[test]
fn exec_runs_the_command_after_the_barrier() {
    let marker = std::env::temp_dir().join(format!("sdnotify-exec-{}", std::process::id()));
    let touch = format!("touch {}", marker.display());
    let (ours, err) = observe(
        SDNOTIFY,
        &["--exec", "--ready", "X=1", ";", "sh", "-c", &touch],
        Socket::Path,
    );
    assert_eq!(ours.code, Some(0), "{err}");
    assert_eq!(ours.datagrams[0].text, "READY=1\nX=1");
    assert_eq!(ours.datagrams[1], barrier());
    assert!(marker.exists(), "the command ran");
    std::fs::remove_file(&marker).unwrap();
    let (bad, err) = observe(SDNOTIFY, &["--exec", "--ready"], Socket::Path);
    assert_eq!((bad.code, bad.datagrams.len()), (Some(1), 0));
    assert!(err.contains("--exec needs ';'"), "{err}");
    // Without --exec, `;` is an ordinary operand, as in systemd-notify.
    let (plain, _) = observe(SDNOTIFY, &["--no-block", "--ready", ";"], Socket::Path);
    assert_eq!(plain.datagrams[0].text, "READY=1\n;");
}

#[test]
fn fork_waits_for_ready_and_prints_the_pid() {
    let out = Command::new(SDNOTIFY)
        .args(["--fork", "--", SDNOTIFY, "--ready", "--status=child up"])
        .env_remove("NOTIFY_SOCKET")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pid: u32 = String::from_utf8(out.stdout).unwrap().trim().parse().unwrap();
    assert!(pid > 1);
    let failed = Command::new(SDNOTIFY)
        .args(["--fork", "--", "false"])
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("exited (exit status: 1) before it sent READY=1")
    );
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
