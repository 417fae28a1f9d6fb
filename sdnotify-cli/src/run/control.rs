//! `sdnotify run --name NAME`'s control socket, for `sdnotify ctl NAME reload|restart|stop|status`.
//!
//! It lives at `$XDG_RUNTIME_DIR/sdnotify/NAME.ctl`, or `/run/sdnotify/NAME.ctl` for root
//! without `XDG_RUNTIME_DIR` (see [`socket_path`]); mode 0600, and only a peer of the same uid
//! or root is answered (`SO_PEERCRED`). One left by a supervisor that was killed (nothing
//! accepts on it) is replaced; one a running supervisor holds is an error.
//!
//! A request is one line (`status`, `reload`, `restart`, `stop`); the answer is three lines:
//! `OK` or `ERR` with the exit code for `sdnotify ctl`, a sentence, and the same as JSON. A
//! client that sends nothing within a second is dropped; nothing a client does makes the
//! supervisor wait.

use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// What a client asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Request {
    Status,
    Reload,
    Restart,
    Stop,
}

impl Request {
    fn parse(line: &str) -> Option<Request> {
        Some(match line.trim() {
            "status" => Request::Status,
            "reload" => Request::Reload,
            "restart" => Request::Restart,
            "stop" => Request::Stop,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Reload => "reload",
            Request::Restart => "restart",
            Request::Stop => "stop",
        }
    }
}

/// A client and its request, to be answered (now or when it is done).
pub(crate) struct Client {
    stream: UnixStream,
    pub(crate) request: Request,
}

impl Client {
    /// Answers and closes: `exit` is `sdnotify ctl`'s exit code (0: done).
    pub(crate) fn answer(mut self, exit: u8, text: &str, json: &str) {
        let verdict = if exit == 0 { "OK" } else { "ERR" };
        // A client that went away, or stopped reading, is not waited for.
        let _ = self.stream.set_write_timeout(Some(Duration::from_millis(100)));
        let _ = write!(self.stream, "{verdict} {exit}\n{text}\n{json}\n");
    }
}

/// A connection whose request has not arrived yet.
struct Reading {
    stream: UnixStream,
    buffer: Vec<u8>,
    since: Instant,
    /// Another user: read its request (so the answer is not lost to a reset), then refuse.
    refused: bool,
}

pub(crate) struct Control {
    listener: UnixListener,
    path: PathBuf,
    reading: Vec<Reading>,
}

/// Where the control socket of `name` lives.
pub(crate) fn socket_path(name: &str) -> PathBuf {
    let dir = match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("sdnotify"),
        _ if rustix::process::geteuid().is_root() => PathBuf::from("/run/sdnotify"),
        _ => std::env::temp_dir().join(format!("sdnotify-{}", rustix::process::geteuid().as_raw())),
    };
    dir.join(format!("{name}.ctl"))
}

/// A name is a file name: letters, digits and `-_.@`, at most 64 bytes.
pub(crate) fn name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

impl Control {
    /// Binds the control socket of `name`, replacing a stale one.
    pub(crate) fn bind(name: &str) -> Result<Control, String> {
        let path = socket_path(name);
        if let Some(dir) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let listener = match UnixListener::bind(&path) {
            Ok(listener) => listener,
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
                if UnixStream::connect(&path).is_ok() {
                    return Err(format!(
                        "an sdnotify run named `{name}` is running already ({})",
                        path.display()
                    ));
                }
                // Left by a supervisor that was killed: nothing accepts on it.
                std::fs::remove_file(&path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
                UnixListener::bind(&path).map_err(|e| format!("cannot bind {}: {e}", path.display()))?
            }
            Err(e) => return Err(format!("cannot bind {}: {e}", path.display())),
        };
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("cannot restrict {}: {e}", path.display()))?;
        }
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        Ok(Control {
            listener,
            path,
            reading: Vec::new(),
        })
    }

    /// The descriptors the loop waits on: the listener and the connections being read.
    pub(crate) fn fds(&self) -> Vec<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        std::iter::once(self.listener.as_fd())
            .chain(self.reading.iter().map(|r| r.stream.as_fd()))
            .collect()
    }

    /// The requests that arrived (new connections accepted, partial ones read further);
    /// refusals (another user, an unknown request, too slow) are answered here.
    pub(crate) fn requests(&mut self) -> Vec<Client> {
        while let Ok((stream, _)) = self.listener.accept() {
            let refused = !peer_allowed(&stream);
            if stream.set_nonblocking(true).is_ok() {
                self.reading.push(Reading {
                    stream,
                    buffer: Vec::new(),
                    since: Instant::now(),
                    refused,
                });
            }
        }
        let mut ready = Vec::new();
        let mut still = Vec::new();
        for mut reading in std::mem::take(&mut self.reading) {
            let mut chunk = [0u8; 64];
            let done = loop {
                match reading.stream.read(&mut chunk) {
                    Ok(0) => break true,
                    Ok(n) => {
                        reading.buffer.extend_from_slice(&chunk[..n]);
                        if reading.buffer.contains(&b'\n') || reading.buffer.len() > 64 {
                            break true;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break false,
                }
            };
            if !done && reading.since.elapsed() < REQUEST_TIMEOUT {
                still.push(reading);
                continue;
            }
            let line = String::from_utf8_lossy(&reading.buffer).into_owned();
            let _ = reading.stream.set_nonblocking(false);
            let _ = reading.stream.set_write_timeout(Some(Duration::from_millis(100)));
            if reading.refused {
                let _ = reading
                    .stream
                    .write_all(b"ERR 4\npermission denied: not the same user (or root)\n{\"ok\":false,\"error\":\"permission denied\"}\n");
                continue;
            }
            match Request::parse(line.lines().next().unwrap_or("")) {
                Some(request) => ready.push(Client {
                    stream: reading.stream,
                    request,
                }),
                None => {
                    let _ = reading.stream.write_all(
                        b"ERR 2\nunknown request: expected status, reload, restart or stop\n{\"ok\":false}\n",
                    );
                }
            }
        }
        self.reading = still;
        ready
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Only the supervisor's own user, or root, may control it.
fn peer_allowed(stream: &UnixStream) -> bool {
    let Ok(peer) = rustix::net::sockopt::socket_peercred(stream) else {
        return false;
    };
    peer.uid.is_root() || peer.uid == rustix::process::geteuid()
}

/// `sdnotify ctl`'s command line.
pub(crate) fn command() -> clap::Command {
    use clap::{Arg, ArgAction};
    clap::Command::new("sdnotify ctl")
        .about("Control an `sdnotify run --name NAME`: status, reload, restart or stop its service")
        .override_usage("sdnotify ctl [--json] NAME status|reload|restart|stop")
        .after_help(
            "status answers at once and exits 0 when the service is active (or reloading), 3 otherwise\n\
             (also when nothing answers to NAME), as systemctl is-active. reload, restart and stop\n\
             answer when done: the reload finished, the new instance ready, the supervisor ended.\n\
             The socket is $XDG_RUNTIME_DIR/sdnotify/NAME.ctl (/run/sdnotify/NAME.ctl for root without\n\
             XDG_RUNTIME_DIR); only the same user, or root, is answered.",
        )
        .arg(
            Arg::new("json")
                .long("json")
                .help("Print the answer as one JSON object")
                .action(ArgAction::SetTrue),
        )
        .arg(
            Arg::new("name")
                .value_name("NAME")
                .help("The --name given to sdnotify run")
                .required(true)
                .value_parser(|s: &str| {
                    if name_is_valid(s) {
                        Ok(s.to_owned())
                    } else {
                        Err(format!(
                            "`{s}` is not a name: letters, digits and -_.@, at most 64"
                        ))
                    }
                }),
        )
        .arg(
            Arg::new("request")
                .value_name("REQUEST")
                .help("What to do")
                .required(true)
                .value_parser(["status", "reload", "restart", "stop"]),
        )
}

/// `sdnotify ctl [--json] NAME REQUEST`: asks the supervisor and prints its answer; the exit
/// code is the answer's (for `status`: 0 when active, 3 otherwise, as `systemctl is-active`;
/// also 3 for a name nothing answers to).
pub(crate) fn client(argv: &[std::ffi::OsString]) -> std::process::ExitCode {
    use std::process::ExitCode;
    let matches = match command().try_get_matches_from(argv) {
        Ok(matches) => matches,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let json = matches.get_flag("json");
    let name = matches
        .get_one::<String>("name")
        .map(String::as_str)
        .unwrap_or_default();
    let request = matches
        .get_one::<String>("request")
        .map(String::as_str)
        .unwrap_or_default();
    let path = socket_path(name);
    let not_running = |why: String| {
        let not_active = request == "status";
        if json {
            println!(
                "{{\"ok\":false,\"state\":\"inactive\",\"error\":{}}}",
                json_string(&why)
            );
        } else {
            eprintln!("sdnotify ctl: {why}");
        }
        ExitCode::from(if not_active { 3 } else { 1 })
    };
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e) => {
            return not_running(format!(
                "no sdnotify run named `{name}` answers at {} ({e})",
                path.display()
            ))
        }
    };
    if let Err(e) = writeln!(stream, "{request}") {
        return not_running(format!("cannot ask `{name}`: {e}"));
    }
    let mut answer = String::new();
    if let Err(e) = stream.read_to_string(&mut answer) {
        return not_running(format!("no answer from `{name}`: {e}"));
    }
    let mut lines = answer.lines();
    let code: u8 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(1);
    let text = lines.next().unwrap_or("");
    let json_line = lines.next().unwrap_or("{}");
    if json {
        println!("{json_line}");
    } else if code == 0 || request == "status" {
        println!("{text}");
    } else {
        eprintln!("sdnotify ctl: {text}");
    }
    ExitCode::from(code)
}

/// A JSON string literal.
pub(crate) fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_file_names() {
        for good in ["web", "web-1", "a.b_c@d"] {
            assert!(name_is_valid(good), "{good}");
        }
        for bad in ["", ".hidden", "a/b", "../x", "sp ace", &"n".repeat(65)] {
            assert!(!name_is_valid(bad), "{bad}");
        }
        assert_eq!(json_string("a\"b\n"), "\"a\\\"b\\u000a\"");
    }
}
