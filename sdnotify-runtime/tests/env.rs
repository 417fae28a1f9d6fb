//! Environment variations, each in a child process: the test binary runs itself again with a
//! scenario name and the environment to test, so no test mutates its own environment.

mod common;

use std::os::fd::AsFd;
use std::process::{Command, Output};

use common::{assert_nothing_received, path_listener, recv};
use sdnotify_runtime::env::PROTOCOL_VARS;
use sdnotify_runtime::State;

const SCENARIO: &str = "SDNOTIFY_TEST_SCENARIO";

/// Runs `scenario` in a child with only the given protocol variables set.
fn child(scenario: &str, vars: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "scenario_entry_point",
        "--nocapture",
        "--test-threads=1",
    ]);
    for var in PROTOCOL_VARS.iter().chain(["SDNOTIFY_DEBUG"].iter()) {
        cmd.env_remove(var);
    }
    cmd.env(SCENARIO, scenario).envs(vars.iter().map(|(k, v)| (k, v)));
    succeeded(scenario, &mut cmd)
}

/// Runs the child; its output, once it exited successfully.
fn succeeded(scenario: &str, cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "scenario {scenario} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout_has(out: &Output, needle: &str) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

/// What each scenario does inside the child; it prints what the parent checks.
#[test]
fn scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    use sdnotify_runtime as sd;
    match scenario.as_str() {
        "ready-then-stopping" => {
            assert!(sd::ready().unwrap());
            assert!(sd::status("half way").unwrap());
            assert!(sd::reloading().unwrap());
            assert!(sd::watchdog_ping().unwrap());
            assert!(sd::extend_timeout(std::time::Duration::from_secs(3)).unwrap());
            assert!(sd::stopping().unwrap());
            // The library never touches the environment.
            assert!(std::env::var_os("NOTIFY_SOCKET").is_some());
        }
        "unset" => {
            assert!(!sd::ready().unwrap());
            assert!(!sd::barrier(std::time::Duration::from_secs(1)).unwrap());
            assert!(sd::Notifier::from_env().unwrap().is_none());
            // Bad values are refused even when nothing would be sent.
            let err = sd::status("a\nb").unwrap_err();
            println!("unset-error: {err}");
        }
        "address-error" => {
            let err = sd::ready().unwrap_err();
            assert!(matches!(err, sd::Error::InvalidAddress { .. }), "{err:?}");
            println!("address-error: {err}");
        }
        "read-once" => {
            assert!(sd::notify(&[State::Status("first")]).unwrap());
            // Test code may change its own environment; the library must not look again.
            std::env::set_var("NOTIFY_SOCKET", "/nonexistent/elsewhere.sock");
            assert!(sd::notify(&[State::Status("second")]).unwrap());
        }
        "watchdog" => match sd::watchdog_enabled() {
            Ok(v) => println!("watchdog: {v:?}"),
            Err(e) => println!("watchdog-error: {e}"),
        },
        "listen-fds" => {
            let fds = sd::listen_fds().unwrap();
            for fd in fds {
                let flags = rustix::io::fcntl_getfd(fd.take().unwrap().as_fd()).unwrap();
                println!(
                    "listen: {} {} cloexec={}",
                    fd.raw_fd(),
                    fd.name(),
                    flags.contains(rustix::io::FdFlags::CLOEXEC)
                );
                assert!(fd.take().is_none(), "ownership is handed out once");
            }
            println!("listen-count: {}", fds.len());
        }
        "listen-error" => println!("listen-error: {}", sd::listen_fds().unwrap_err()),
        // Nothing was passed at fd 3 (a wrapper exec'd in place with LISTEN_PID still right);
        // the notifier's own socket takes the number. Taking and dropping what listen_fds
        // hands out, as a user would, must never close that socket.
        "listen-after-own-socket" => {
            assert!(sd::ready().unwrap());
            match sd::listen_fds() {
                Err(e) => println!("listen-error: {e}"),
                Ok(fds) => fds.iter().for_each(|fd| drop(fd.take())),
            }
            assert!(sd::status("still connected").unwrap());
        }
        // The program opened a file of its own at fd 3 before the library first looked.
        "listen-own-file" => {
            let own = std::fs::File::open("/dev/null").unwrap();
            println!("listen-error: {}", sd::listen_fds().unwrap_err());
            drop(own);
        }
        // fd 3 was passed, and replaced by the program after the library first looked.
        "listen-replaced" => {
            let _ = sd::env::debug_enabled();
            let other = std::fs::File::open("/dev/zero").unwrap();
            // SAFETY: fd 3 was inherited by this process and nothing else here uses it; it is
            // only re-pointed (dup2), never closed, and `forget` keeps this handle from closing it.
            let mut three = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(3) };
            rustix::io::dup2(&other, &mut three).unwrap();
            std::mem::forget(three);
            println!("listen-error: {}", sd::listen_fds().unwrap_err());
        }
        "debug-trace" => {
            sd::status("traced").unwrap();
        }
        "socket-is-cloexec" => {
            assert!(sd::ready().unwrap());
            // Every socket this process holds now is the notifier's: all must be close-on-exec.
            let mut sockets = 0;
            for entry in std::fs::read_dir("/proc/self/fd").unwrap() {
                let entry = entry.unwrap();
                let target = std::fs::read_link(entry.path()).unwrap_or_default();
                if target.to_string_lossy().starts_with("socket:") {
                    let fd: i32 = entry.file_name().to_str().unwrap().parse().unwrap();
                    // SAFETY-free check through /proc: FD_CLOEXEC shows in fdinfo's flags.
                    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap();
                    let flags = info.lines().find(|l| l.starts_with("flags:")).unwrap();
                    let octal = u32::from_str_radix(flags.split_whitespace().nth(1).unwrap(), 8).unwrap();
                    assert_ne!(octal & 0o2000000, 0, "socket fd {fd} lacks O_CLOEXEC");
                    sockets += 1;
                }
            }
            println!("cloexec-sockets: {sockets}");
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn the_process_wide_sender_reads_notify_socket() {
    let listener = path_listener();
    let out = child("ready-then-stopping", &[("NOTIFY_SOCKET", listener.address())]);
    drop(out);
    let mut got = Vec::new();
    for _ in 0..6 {
        let d = recv(&listener);
        got.push(String::from_utf8(d.bytes().to_vec()).unwrap());
    }
    assert_eq!(got[0], "READY=1");
    assert_eq!(got[1], "STATUS=half way");
    let reload = sdnotify_runtime::Notification::parse(got[2].as_bytes()).unwrap();
    assert_eq!(
        reload.lines().len(),
        2,
        "RELOADING and MONOTONIC_USEC in one datagram"
    );
    assert!(reload.has("RELOADING=1"));
    let usec: u64 = reload.get("MONOTONIC_USEC").unwrap().parse().unwrap();
    assert!(usec > 0 && usec <= sdnotify_runtime::monotonic_now().as_micros() as u64);
    assert_eq!(
        &got[3..],
        ["WATCHDOG=1", "EXTEND_TIMEOUT_USEC=3000000", "STOPPING=1"]
    );
}

#[test]
fn unset_notify_socket_sends_nothing_and_still_validates() {
    let out = child("unset", &[]);
    stdout_has(
        &out,
        "unset-error: invalid value for `STATUS`: contains a newline (LF)",
    );
}

#[test]
fn malformed_notify_socket_is_an_error() {
    for bad in [
        "",
        "relative/path",
        "@",
        "vsock:nope",
        &format!("/{}", "p".repeat(120)),
    ] {
        let out = child("address-error", &[("NOTIFY_SOCKET", bad.as_ref())]);
        stdout_has(&out, "address-error: invalid notification socket address");
    }
}

#[test]
fn the_environment_is_read_once() {
    let listener = path_listener();
    child("read-once", &[("NOTIFY_SOCKET", listener.address())]);
    assert_eq!(recv(&listener).bytes(), b"STATUS=first");
    assert_eq!(recv(&listener).bytes(), b"STATUS=second");
}

#[test]
fn watchdog_settings_from_the_environment() {
    let w = |usec: &str, pid: Option<&str>| {
        let mut vars = vec![("WATCHDOG_USEC", usec.as_ref())];
        if let Some(pid) = pid {
            vars.push(("WATCHDOG_PID", pid.as_ref()));
        }
        String::from_utf8(child("watchdog", &vars).stdout).unwrap()
    };
    assert!(w("3000000", None).contains("watchdog: Some(3s)"));
    assert!(
        w("3000000", Some("1")).contains("watchdog: None"),
        "pid 1 is not us"
    );
    assert!(
        w("0", None).contains("watchdog-error: invalid $WATCHDOG_USEC=\"0\": a zero interval is not valid")
    );
    assert!(w("soon", None).contains("watchdog-error: invalid $WATCHDOG_USEC=\"soon\""));
    assert!(w("99999999999999999999", None).contains("does not fit in 64 bits"));
    assert!(w("1000", Some("me")).contains("watchdog-error: invalid $WATCHDOG_PID=\"me\": not a process id"));
    let none = String::from_utf8(child("watchdog", &[]).stdout).unwrap();
    assert!(none.contains("watchdog: None"));
}

/// Runs the listen scenario through `sh`, which sets LISTEN_PID to the pid it then execs as
/// (as systemd does after fork) and opens fd 3 and 4.
fn listen_child(fds: &str, names: Option<&str>) -> Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("sh");
    let names = names
        .map(|n| format!("export LISTEN_FDNAMES='{n}';"))
        .unwrap_or_default();
    cmd.arg("-c")
        .arg(format!(
            "export LISTEN_PID=$$ LISTEN_FDS={fds}; {names} exec \"$0\" --exact scenario_entry_point --nocapture 3</dev/null 4</dev/null"
        ))
        .arg(exe)
        .env(
            SCENARIO,
            if fds.parse::<u32>().is_ok_and(|n| n <= 2) {
                "listen-fds"
            } else {
                "listen-error"
            },
        );
    for var in PROTOCOL_VARS {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

#[test]
fn socket_activation_descriptors_with_names() {
    let out = listen_child("2", Some("http:admin"));
    stdout_has(&out, "listen: 3 http cloexec=true");
    stdout_has(&out, "listen: 4 admin cloexec=true");
    stdout_has(&out, "listen-count: 2");
    let unnamed = listen_child("1", None);
    stdout_has(&unnamed, "listen: 3 unknown cloexec=true");
}

/// `LISTEN_PID` ours, `LISTEN_FDS=1`, and fd 3 set up by `redirect` (`3<&-` closes it).
fn listen_scenario(scenario: &str, redirect: &str, notify_socket: Option<&std::ffi::OsStr>) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "export LISTEN_PID=$$ LISTEN_FDS=1; exec \"$0\" --exact scenario_entry_point --nocapture --test-threads=1 {redirect}"
        ))
        .arg(std::env::current_exe().unwrap())
        .env(SCENARIO, scenario);
    for var in PROTOCOL_VARS {
        cmd.env_remove(var);
    }
    if let Some(socket) = notify_socket {
        cmd.env("NOTIFY_SOCKET", socket);
    }
    succeeded(scenario, &mut cmd)
}

#[test]
fn a_descriptor_number_the_process_reused_is_never_handed_out() {
    let listener = path_listener();
    let out = listen_scenario("listen-after-own-socket", "3<&-", Some(listener.address()));
    stdout_has(
        &out,
        "listen-error: invalid $LISTEN_FDS=\"1\": announces a descriptor that is not open",
    );
    assert_eq!(recv(&listener).bytes(), b"READY=1");
    assert_eq!(recv(&listener).bytes(), b"STATUS=still connected");
    let own = listen_scenario("listen-own-file", "3<&-", None);
    stdout_has(
        &own,
        "announces a descriptor that was not inherited (it is close-on-exec",
    );
    let replaced = listen_scenario("listen-replaced", "3</dev/null", None);
    stdout_has(
        &replaced,
        "announces a descriptor that was closed or replaced after the environment was read",
    );
}

#[test]
fn socket_activation_garbage_is_an_error() {
    stdout_has(
        &listen_child("x", None),
        "listen-error: invalid $LISTEN_FDS=\"x\"",
    );
}

#[test]
fn a_huge_listen_fds_is_refused_at_the_first_closed_descriptor() {
    // 2^31 - 4 announced descriptors: an allocation per descriptor would abort the process.
    stdout_has(
        &listen_child("2147483644", None),
        "listen-error: invalid $LISTEN_FDS=\"2147483644\": announces a descriptor that is not open",
    );
    stdout_has(
        &listen_child("3", None),
        "listen-error: invalid $LISTEN_FDS=\"3\": announces a descriptor that is not open",
    );
}

#[test]
fn sdnotify_debug_traces_each_message() {
    let listener = path_listener();
    let out = child(
        "debug-trace",
        &[
            ("NOTIFY_SOCKET", listener.address()),
            ("SDNOTIFY_DEBUG", "1".as_ref()),
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("sdnotify: sent \"STATUS=traced\""));
    assert_eq!(recv(&listener).bytes(), b"STATUS=traced");
    let off = child("debug-trace", &[("SDNOTIFY_DEBUG", "1".as_ref())]);
    assert!(String::from_utf8_lossy(&off.stderr)
        .contains("sdnotify: not sent (NOTIFY_SOCKET unset) \"STATUS=traced\""));
    let quiet = child("debug-trace", &[]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("sdnotify:"));
}

#[test]
fn the_notification_socket_is_close_on_exec() {
    let listener = path_listener();
    let out = child("socket-is-cloexec", &[("NOTIFY_SOCKET", listener.address())]);
    stdout_has(&out, "cloexec-sockets: 1");
    assert_eq!(recv(&listener).bytes(), b"READY=1");
    assert_nothing_received(&listener);
}
