//! The manager's side under hostile conditions: credentials the kernel zeroes, descriptors the
//! kernel cannot install. Each case runs in a child process with the condition set up.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::{Notifier, State};

const SCENARIO: &str = "SDNOTIFY_RECEIVER_SCENARIO";

#[test]
fn receiver_scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        // Inside a new pid namespace: the parent, outside it, is invisible here.
        "pid-namespace" => {
            let listener = Listener::bind_unique().unwrap();
            println!("{}", listener.address().to_str().unwrap());
            std::io::stdout().flush().unwrap();
            let datagram = common::recv(&listener);
            let creds = datagram.credentials().unwrap();
            println!("pid: {:?} raw: {}", datagram.pid(), creds.pid);
        }
        // A descriptor table with room for one more descriptor only.
        "full-fd-table" => {
            let listener = Listener::bind_unique().unwrap();
            let limit = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            // SAFETY: setrlimit with a valid struct; this child process only.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
            // Fill the table, then free one slot.
            let mut filler = Vec::new();
            while let Ok(f) = std::fs::File::open("/dev/null") {
                filler.push(f);
            }
            filler.pop();
            println!("{}", listener.address().to_str().unwrap());
            std::io::stdout().flush().unwrap();
            let datagram = common::recv(&listener);
            println!(
                "truncated: {} fds: {} bytes: {}",
                datagram.fds_truncated(),
                datagram.fds().len(),
                String::from_utf8_lossy(datagram.bytes())
            );
        }
        other => panic!("unknown scenario {other}"),
    }
}

/// Starts the scenario (through `prefix`, e.g. `unshare`), reads the address it listens on.
fn start(scenario: &str, prefix: &[&str]) -> (std::process::Child, String) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match prefix.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(["--exact", "receiver_scenario_entry_point", "--nocapture"])
        .env(SCENARIO, scenario)
        .stdout(Stdio::piped());
    sdnotify_runtime::env::scrub(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    // The test harness prints its own lines first; the address is the first `@…` line.
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with('@') {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the scenario printed no address"
        );
    }
    child.stdout = Some(reader.into_inner());
    (child, line.trim().to_owned())
}

fn finish(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_sender_outside_the_receivers_pid_namespace_has_no_pid() {
    let root = rustix::process::geteuid().is_root();
    let unshare = Command::new("unshare").arg("--version").output().is_ok();
    if !root || !unshare {
        println!("SKIPPED: needs root and unshare(1) for a new pid namespace");
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "skipped in CI");
        return;
    }
    let (child, address) = start("pid-namespace", &["unshare", "--pid", "--fork"]);
    Notifier::connect(&address)
        .unwrap()
        .notify(&[State::Ready])
        .unwrap();
    let out = finish(child);
    assert!(out.contains("pid: None raw: 0"), "{out}");
}

#[test]
fn descriptors_that_do_not_fit_are_reported_as_truncated() {
    let (child, address) = start("full-fd-table", &[]);
    let pipes: Vec<_> = (0..5)
        .map(|_| std::os::unix::net::UnixStream::pair().unwrap())
        .collect();
    let fds: Vec<_> = pipes.iter().map(|(a, _)| a.as_fd()).collect();
    Notifier::connect(&address)
        .unwrap()
        .notify_with_fds(&[State::FdStore], &fds)
        .unwrap();
    let out = finish(child);
    assert!(out.contains("truncated: true fds: 1 bytes: FDSTORE=1"), "{out}");
}
