//! What a datagram asks of the supervisor, decided with the manager's rules and nothing else:
//! no clocks, no processes, no output, so it can be tested and fuzzed on its own.

use std::collections::HashSet;
use std::time::Duration;

use sdnotify_runtime::{Notification, ParseError};

/// One datagram as received.
pub(crate) struct Received<'a> {
    pub(crate) bytes: &'a [u8],
    /// The full length (more than `bytes.len()` when the kernel truncated it).
    pub(crate) len: usize,
    pub(crate) sender: Option<u32>,
    pub(crate) fds: usize,
}

/// What the supervisor must do with a datagram.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A barrier: answered by closing its descriptor, whoever sent it (as systemd does).
    Barrier,
    Rejected(String),
    Actions(Vec<Action>),
}

/// One line's meaning, in the order sent; for each key only the first occurrence counts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Ready,
    Reloading { monotonic_usec: Option<u64> },
    Stopping,
    Ping,
    WatchdogTrigger,
    FdStore { name: String },
    FdStoreRemove { name: String },
    Status(String),
    WatchdogUsec(Duration),
    ExtendTimeout(Duration),
    MainPid(u32),
    Errno(String),
    BusError(String),
    ExitStatus(String),
    NotifyAccess { all: bool, value: String },
    Unknown(String),
    InvalidValue(String),
}

pub(crate) fn classify(datagram: &Received<'_>, main_pid: u32, access_all: bool) -> Decision {
    let parsed = if datagram.len > datagram.bytes.len() {
        Err(ParseError::TooLarge { len: datagram.len })
    } else {
        Notification::parse(datagram.bytes)
    };
    if datagram.fds == 1 && parsed.as_ref().is_ok_and(|n| n.has("BARRIER=1")) {
        return Decision::Barrier;
    }
    if !access_all && datagram.sender != Some(main_pid) {
        let who = datagram
            .sender
            .map_or_else(|| "unknown".to_owned(), |p| p.to_string());
        return Decision::Rejected(format!(
            "sender {who} is not the main process {main_pid} (--notify-access=main)"
        ));
    }
    match parsed {
        Ok(n) => Decision::Actions(actions(&n)),
        Err(e) => Decision::Rejected(e.to_string()),
    }
}

fn actions(n: &Notification) -> Vec<Action> {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut actions = Vec::new();
    for line in n.lines() {
        let Some((key, value)) = line.split_once('=') else {
            actions.push(Action::Unknown(line.clone()));
            continue;
        };
        if !seen.insert(key) {
            continue;
        }
        let usec = || value.parse::<u64>().ok().map(Duration::from_micros);
        let action = match (key, value) {
            ("READY", "1") => Action::Ready,
            ("RELOADING", "1") => Action::Reloading {
                monotonic_usec: n.get("MONOTONIC_USEC").and_then(|m| m.parse().ok()),
            },
            ("STOPPING", "1") => Action::Stopping,
            ("WATCHDOG", "1") => Action::Ping,
            ("WATCHDOG", "trigger") => Action::WatchdogTrigger,
            ("FDSTORE", "1") => Action::FdStore {
                name: n.get("FDNAME").unwrap_or("stored").to_owned(),
            },
            ("FDSTOREREMOVE", "1") => Action::FdStoreRemove {
                name: n.get("FDNAME").unwrap_or("stored").to_owned(),
            },
            // Read together with RELOADING=1 and FDSTORE=1.
            ("MONOTONIC_USEC" | "FDNAME" | "FDPOLL", _) => continue,
            ("STATUS", text) => Action::Status(text.to_owned()),
            ("WATCHDOG_USEC", _) => match usec() {
                Some(d) if !d.is_zero() => Action::WatchdogUsec(d),
                _ => Action::InvalidValue(line.clone()),
            },
            ("EXTEND_TIMEOUT_USEC", _) => {
                usec().map_or_else(|| Action::InvalidValue(line.clone()), Action::ExtendTimeout)
            }
            ("MAINPID", v) => match v.parse::<u32>() {
                Ok(pid) if pid > 0 => Action::MainPid(pid),
                _ => Action::InvalidValue(line.clone()),
            },
            ("ERRNO", v) => Action::Errno(v.to_owned()),
            ("BUSERROR", v) => Action::BusError(v.to_owned()),
            ("EXIT_STATUS", v) => Action::ExitStatus(v.to_owned()),
            ("NOTIFYACCESS", v @ ("none" | "main" | "exec" | "all")) => Action::NotifyAccess {
                all: v == "all",
                value: v.to_owned(),
            },
            _ => Action::Unknown(line.clone()),
        };
        actions.push(action);
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(bytes: &[u8], sender: u32, fds: usize) -> Decision {
        classify(
            &Received {
                bytes,
                len: bytes.len(),
                sender: Some(sender),
                fds,
            },
            7,
            false,
        )
    }

    #[test]
    fn a_barrier_is_answered_whoever_sends_it() {
        assert_eq!(decide(b"BARRIER=1", 99, 1), Decision::Barrier);
        assert!(matches!(decide(b"BARRIER=1", 99, 0), Decision::Rejected(_)));
    }

    #[test]
    fn first_occurrence_wins_and_companions_are_read_together() {
        let d = decide(
            b"STATUS=a\nSTATUS=b\nRELOADING=1\nMONOTONIC_USEC=5\nREADY=1\nREADY=1",
            7,
            0,
        );
        assert_eq!(
            d,
            Decision::Actions(vec![
                Action::Status("a".into()),
                Action::Reloading {
                    monotonic_usec: Some(5)
                },
                Action::Ready
            ])
        );
    }

    #[test]
    fn rejections_say_why() {
        assert!(
            matches!(decide(b"READY=1", 8, 0), Decision::Rejected(r) if r.contains("not the main process 7"))
        );
        assert!(matches!(decide(b"READY=1\0", 7, 0), Decision::Rejected(r) if r.contains("NUL")));
        let truncated = classify(
            &Received {
                bytes: &[b'x'; 4097],
                len: 9000,
                sender: Some(7),
                fds: 0,
            },
            7,
            false,
        );
        assert!(matches!(truncated, Decision::Rejected(r) if r.contains("9000 bytes")));
    }
}
