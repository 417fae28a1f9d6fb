//! `sdnotify run --listen`: the service gets its sockets as systemd's socket units hand them
//! over. A differential test runs the same dump under a transient `.socket` unit of each
//! systemd (`ListenStream=`, `ListenDatagram=`, `FileDescriptorName=`) and under `sdnotify run`,
//! and the environment and every descriptor's flags must match the newest systemd's.

mod support;

use std::io::Write;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use support::http::free_port;
use support::supervised::run;
use support::units::{managers, output};

const SCENARIO: &str = "SDNOTIFY_LISTEN_SCENARIO";

/// The test binary as the service: one line describing `LISTEN_*` and each passed descriptor.
#[test]
fn listen_scenario_entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    assert_eq!(scenario, "dump");
    let mut parts = Vec::new();
    let count: i32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let pid_is_mine = std::env::var("LISTEN_PID").ok() == Some(std::process::id().to_string());
    parts.push(format!(
        "LISTEN_FDS={count} LISTEN_PID={} LISTEN_FDNAMES={}",
        if pid_is_mine { "self" } else { "other" },
        std::env::var("LISTEN_FDNAMES").unwrap_or_else(|_| "(unset)".to_owned())
    ));
    for raw in 3..3 + count {
        // SAFETY: the descriptor was passed to this process (LISTEN_FDS), and this borrow only
        // reads its flags and options while the process runs.
        let fd = unsafe { BorrowedFd::borrow_raw(raw) };
        parts.push(describe(raw, fd));
    }
    parts.push(format!(
        "fd {} open: {}",
        3 + count,
        rustix::io::fcntl_getfd(
            // SAFETY: as above; fcntl on a number that is not open fails and touches nothing.
            unsafe { BorrowedFd::borrow_raw(3 + count) }
        )
        .is_ok()
    ));
    let line = parts.join("; ");
    println!("DUMP: {line}");
    let _ = std::io::stdout().flush();
    // Under systemd, a service that exits at once would be started again by the next
    // connection; the test stops it.
    if std::env::var_os("DUMP_AND_WAIT").is_some() {
        std::thread::sleep(Duration::from_secs(30));
    }
}

fn describe(raw: i32, fd: BorrowedFd<'_>) -> String {
    use rustix::net::sockopt;
    let cloexec = rustix::io::fcntl_getfd(fd)
        .unwrap()
        .contains(rustix::io::FdFlags::CLOEXEC);
    let nonblock = rustix::fs::fcntl_getfl(fd)
        .unwrap()
        .contains(rustix::fs::OFlags::NONBLOCK);
    let ty = match sockopt::socket_type(fd) {
        Ok(rustix::net::SocketType::STREAM) => "STREAM",
        Ok(rustix::net::SocketType::DGRAM) => "DGRAM",
        Ok(rustix::net::SocketType::SEQPACKET) => "SEQPACKET",
        _ => "other",
    };
    let domain = match sockopt::socket_domain(fd) {
        Ok(rustix::net::AddressFamily::INET) => "INET",
        Ok(rustix::net::AddressFamily::INET6) => "INET6",
        Ok(rustix::net::AddressFamily::UNIX) => "UNIX",
        _ => "other",
    };
    let listening = sockopt::socket_acceptconn(fd).unwrap_or(false);
    let reuseaddr = sockopt::socket_reuseaddr(fd).unwrap_or(false);
    let v6only = sockopt::ipv6_v6only(fd)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| "-".to_owned());
    let passcred = sockopt::socket_passcred(fd).unwrap_or(false);
    format!(
        "fd {raw}: {domain} {ty} listening={listening} cloexec={cloexec} nonblock={nonblock} \
         reuseaddr={reuseaddr} v6only={v6only} passcred={passcred}"
    )
}

/// The dump under `sdnotify run` with `options`.
fn under_sdnotify_run(options: &[&str]) -> String {
    let exe = std::env::current_exe().unwrap();
    let mut all = options.to_vec();
    all.push("--timeout-start=5s");
    let r = run(
        &all,
        &[
            exe.to_str().unwrap(),
            "--exact",
            "listen_scenario_entry_point",
            "--nocapture",
        ],
        &[(SCENARIO, "dump")],
    );
    let line = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("DUMP: "))
        .unwrap_or_else(|| panic!("no dump: {}", r.stderr));
    line.to_owned()
}

#[test]
fn listen_hands_over_sockets_from_fd_3_with_names_and_the_services_own_pid() {
    let (a, b) = (free_port(), free_port());
    let dump = under_sdnotify_run(&[
        &format!("--listen=http=127.0.0.1:{a}"),
        &format!("--listen-datagram=dns=127.0.0.1:{b}"),
        "--listen=@sdnotify-listen-test",
    ]);
    assert_eq!(
        dump,
        "LISTEN_FDS=3 LISTEN_PID=self LISTEN_FDNAMES=http:dns:unknown; \
         fd 3: INET STREAM listening=true cloexec=false nonblock=false reuseaddr=true v6only=- passcred=false; \
         fd 4: INET DGRAM listening=false cloexec=false nonblock=false reuseaddr=true v6only=- passcred=false; \
         fd 5: UNIX STREAM listening=true cloexec=false nonblock=false reuseaddr=false v6only=- passcred=false; \
         fd 6 open: false"
    );
}

#[test]
fn a_bad_listen_address_is_refused_before_anything_starts() {
    let r = run(&["--listen=http=localhost:80"], &["true"], &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("is not an address"), "{}", r.stderr);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap();
    let r = run(&[&format!("--listen={busy}")], &["true"], &[]);
    assert_eq!(r.code, Some(127), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("cannot listen on {busy}")),
        "{}",
        r.stderr
    );
    assert!(r.events.is_empty(), "nothing started: {:?}", r.events);
}

/// The same sockets as a transient `.socket` unit of each systemd: the dumps must match the
/// newest systemd's (older ones are shown).
#[test]
fn the_same_environment_and_flags_as_a_socket_unit() {
    let exe = std::env::current_exe().unwrap();
    let mut newest: Option<(u32, String)> = None;
    for manager in managers("the_same_environment_and_flags_as_a_socket_unit") {
        let (a, b, c) = (free_port(), free_port(), free_port());
        let unit = "sdnotify-listen-dump";
        let out = manager.systemd_run(&[
            "--unit",
            unit,
            "--socket-property",
            &format!("ListenStream=127.0.0.1:{a}"),
            "--socket-property",
            &format!("ListenDatagram=127.0.0.1:{b}"),
            "--socket-property",
            &format!("ListenStream=[::]:{c}"),
            "--socket-property",
            "FileDescriptorName=http",
            "-E",
            &format!("{SCENARIO}=dump"),
            "-E",
            "DUMP_AND_WAIT=1",
            "-p",
            &format!(
                "StandardOutput=file:{}/{unit}.service.out",
                manager.scratch().display()
            ),
            "--",
            exe.to_str().unwrap(),
            "--exact",
            "listen_scenario_entry_point",
            "--nocapture",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // The first connection starts the service.
        let _ = std::net::TcpStream::connect(("127.0.0.1", a));
        let deadline = Instant::now() + Duration::from_secs(10);
        let dump = loop {
            let text = output(&manager, &format!("{unit}.service"));
            if let Some(line) = text.lines().find_map(|l| l.strip_prefix("DUMP: ")) {
                break line.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no dump from the socket unit: {text:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let _ = manager.systemctl(&["stop", &format!("{unit}.socket"), &format!("{unit}.service")]);
        support::user_manager::say(&format!("systemd {}: {dump}", manager.version));
        if newest.as_ref().is_none_or(|(v, _)| manager.version > *v) {
            newest = Some((manager.version, dump));
        }
    }
    let Some((version, expected)) = newest else {
        return; // said SKIPPED (a failure in CI)
    };
    let (a, b, c) = (free_port(), free_port(), free_port());
    let ours = under_sdnotify_run(&[
        &format!("--listen=http=127.0.0.1:{a}"),
        &format!("--listen-datagram=http=127.0.0.1:{b}"),
        &format!("--listen=http=[::]:{c}"),
    ]);
    assert_eq!(
        ours, expected,
        "sdnotify run --listen against systemd {version}'s socket unit"
    );
}

/// Sockets passed to `sdnotify run` itself (here by systemd-socket-activate) go to the
/// service first, with their names, then its own `--listen` ones.
#[test]
fn sockets_passed_to_sdnotify_run_are_passed_on_with_their_names() {
    if !std::path::Path::new("/usr/bin/systemd-socket-activate").exists() {
        let message = "SKIPPED: no /usr/bin/systemd-socket-activate";
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{message}");
        support::user_manager::say(message);
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let (outer, own) = (free_port(), free_port());
    // systemd-socket-activate passes on only the variables named with -E.
    let wrapper = std::process::Command::new("/usr/bin/systemd-socket-activate")
        .args([
            "-l",
            &format!("127.0.0.1:{outer}"),
            "--fdname=web",
            "-E",
            &format!("{SCENARIO}=dump"),
            "--",
        ])
        .arg(support::supervised::SDNOTIFY)
        .args([
            "run",
            "--json",
            &format!("--listen=own=127.0.0.1:{own}"),
            "--timeout-start=5s",
            "--",
        ])
        .arg(&exe)
        .args(["--exact", "listen_scenario_entry_point", "--nocapture"])
        .env_remove("NOTIFY_SOCKET")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // systemd-socket-activate starts the command on the first connection.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", outer)).is_err() {
        assert!(
            Instant::now() < deadline,
            "systemd-socket-activate never listened"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = wrapper.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dump = stderr
        .lines()
        .find_map(|l| l.strip_prefix("DUMP: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        dump.starts_with("LISTEN_FDS=2 LISTEN_PID=self LISTEN_FDNAMES=web:own; fd 3: INET STREAM listening=true cloexec=false"),
        "{dump}"
    );
}
