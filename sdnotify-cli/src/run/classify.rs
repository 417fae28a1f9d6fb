//! What a datagram asks of the supervisor, decided with the manager's rules and nothing else:
//! no clocks, no processes, no output, so it can be tested and fuzzed on its own.
//!
//! The rules are those of systemd's `service_notify_message`: the sender must pass
//! `NotifyAccess=`, each key counts at its first occurrence, STOPPING=1 wins over READY=1 and
//! READY=1 over RELOADING=1, and a datagram whose descriptors were truncated is dropped whole.

use std::time::Duration;

use sdnotify_runtime::{Notification, ParseError, Pid};

/// One datagram as received.
pub(crate) struct Received<'a> {
    pub(crate) bytes: &'a [u8],
    /// The full length (more than `bytes.len()` when the kernel truncated it).
    pub(crate) len: usize,
    pub(crate) sender: Option<u32>,
    pub(crate) fds: usize,
    /// The kernel dropped descriptors that did not fit (`MSG_CTRUNC`).
    pub(crate) fds_truncated: bool,
}

/// Who may send (`NotifyAccess=`; `exec` is `main` here: the supervisor runs no control
/// processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    None,
    Main,
    Exec,
    All,
}

impl Access {
    pub(crate) fn parse(text: &str) -> Option<Access> {
        Some(match text {
            "none" => Access::None,
            "main" => Access::Main,
            "exec" => Access::Exec,
            "all" => Access::All,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Access::None => "none",
            Access::Main => "main",
            Access::Exec => "exec",
            Access::All => "all",
        }
    }
}

/// The sender, as the supervisor sees it.
pub(crate) struct Sender {
    pub(crate) access: Access,
    pub(crate) main: Pid,
    /// Whether the sender is one of the service's processes (asked only for `all`).
    pub(crate) in_service: bool,
}

/// What the supervisor must do with a datagram.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// A barrier: answered by closing its descriptor, whoever sent it (as systemd does).
    Barrier,
    Rejected(String),
    Notice(Notice),
}

/// READY=1, RELOADING=1 and STOPPING=1: at most one counts per datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Stopping,
    Ready {
        /// RELOADING=1 in the same datagram: a reload finished at once.
        with_reloading: bool,
    },
    Reloading,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watchdog {
    Ping,
    Trigger,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FdStore {
    /// `FDSTORE=1`, with the name to keep the descriptors under.
    Store { name: String },
    /// `FDSTOREREMOVE=1` with a valid `FDNAME=`.
    Remove { name: String },
}

/// A datagram's meaning, field by field as systemd reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) main_pid: Option<Pid>,
    /// `MAINPIDFD=1` with exactly one descriptor: the new main process by pidfd.
    pub(crate) main_pid_fd: bool,
    pub(crate) monotonic_usec: Option<u64>,
    pub(crate) lifecycle: Option<Lifecycle>,
    pub(crate) status: Option<String>,
    pub(crate) notify_access: Option<Access>,
    pub(crate) extend: Option<Duration>,
    pub(crate) watchdog: Option<Watchdog>,
    pub(crate) watchdog_usec: Option<Duration>,
    pub(crate) fdstore: Option<FdStore>,
    /// Keys shown but not acted on (`ERRNO=`, `BUSERROR=`, `EXIT_STATUS=`, …), first
    /// occurrence each, in order.
    pub(crate) info: Vec<(String, String)>,
    pub(crate) unknown: Vec<String>,
    /// Lines refused, with why (an invalid value is ignored by the manager, with a warning).
    pub(crate) invalid: Vec<String>,
}

/// Shown as they are; the supervisor has nothing to do for them.
const INFO_KEYS: [&str; 6] = [
    "ERRNO",
    "BUSERROR",
    "VARLINKERROR",
    "EXIT_STATUS",
    "RESTART_RESET",
    "MAINPIDFDID",
];

/// Read together with other keys.
const COMPANION_KEYS: [&str; 3] = ["FDNAME", "FDPOLL", "MONOTONIC_USEC"];

pub(crate) fn classify(datagram: &Received<'_>, sender: &Sender) -> Decision {
    let parsed = if datagram.len > datagram.bytes.len() {
        Err(ParseError::TooLarge { len: datagram.len })
    } else {
        Notification::parse(datagram.bytes)
    };
    if datagram.fds_truncated {
        return Decision::Rejected(
            "its descriptors did not fit in the supervisor's descriptor table (MSG_CTRUNC); dropped whole, as systemd does"
                .to_owned(),
        );
    }
    if datagram.fds == 1 && parsed.as_ref().is_ok_and(|n| n.has("BARRIER=1")) {
        return Decision::Barrier;
    }
    let who = datagram
        .sender
        .map_or_else(|| "an unknown sender".to_owned(), |p| format!("pid {p}"));
    let from_main = datagram.sender == Some(sender.main.get());
    match sender.access {
        Access::None => return Decision::Rejected("reception is disabled (NOTIFYACCESS=none)".to_owned()),
        Access::Main | Access::Exec if !from_main => {
            return Decision::Rejected(format!(
                "{who} is not the main process {} (--notify-access=main)",
                sender.main
            ))
        }
        Access::All if !from_main && !sender.in_service => {
            return Decision::Rejected(format!("{who} is not one of the service's processes"));
        }
        _ => {}
    }
    match parsed {
        Ok(n) => Decision::Notice(notice(&n, datagram.fds)),
        Err(e) => Decision::Rejected(e.to_string()),
    }
}

fn notice(n: &Notification, fds: usize) -> Notice {
    let mut notice = Notice::default();
    let usec = |v: &str| v.parse::<u64>().ok().map(Duration::from_micros);
    let mut seen: Vec<&str> = Vec::new();
    for line in n.lines() {
        let Some((key, value)) = line.split_once('=') else {
            if !matches!(line.as_str(), "READY" | "STOPPING" | "RELOADING") {
                notice.unknown.push(line.clone());
            }
            continue;
        };
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        match key {
            "MAINPID" => match Pid::parse(value) {
                Some(pid) => notice.main_pid = Some(pid),
                None => notice_invalid(
                    &mut notice.invalid,
                    line.clone(),
                    "not a process id (1 to 2147483647)",
                ),
            },
            "MAINPIDFD" if value == "1" => {
                if fds == 1 {
                    notice.main_pid_fd = true;
                } else {
                    notice_invalid(
                        &mut notice.invalid,
                        line.clone(),
                        "needs exactly one descriptor, a pidfd",
                    );
                }
            }
            "MONOTONIC_USEC" => match value.parse() {
                Ok(t) => notice.monotonic_usec = Some(t),
                Err(_) => notice_invalid(&mut notice.invalid, line.clone(), "not a number of microseconds"),
            },
            "STATUS" => notice.status = Some(value.to_owned()),
            "NOTIFYACCESS" => match Access::parse(value) {
                Some(a) => notice.notify_access = Some(a),
                None => notice_invalid(
                    &mut notice.invalid,
                    line.clone(),
                    "expected none, main, exec or all",
                ),
            },
            "EXTEND_TIMEOUT_USEC" => match usec(value) {
                Some(d) => notice.extend = Some(d),
                None => notice_invalid(&mut notice.invalid, line.clone(), "not a number of microseconds"),
            },
            "WATCHDOG" => match value {
                "1" => notice.watchdog = Some(Watchdog::Ping),
                "trigger" => notice.watchdog = Some(Watchdog::Trigger),
                _ => notice_invalid(&mut notice.invalid, line.clone(), "expected 1 or trigger"),
            },
            "WATCHDOG_USEC" => match usec(value) {
                Some(d) if !d.is_zero() => notice.watchdog_usec = Some(d),
                _ => notice_invalid(
                    &mut notice.invalid,
                    line.clone(),
                    "not a positive number of microseconds",
                ),
            },
            "READY" | "STOPPING" | "RELOADING" | "FDSTORE" | "FDSTOREREMOVE" | "MAINPIDFD" => {
                if value != "1" {
                    notice.unknown.push(line.clone());
                }
            }
            k if COMPANION_KEYS.contains(&k) => {}
            k if INFO_KEYS.contains(&k) => notice.info.push((k.to_owned(), value.to_owned())),
            _ => notice.unknown.push(line.clone()),
        }
    }
    notice.lifecycle = if n.has("STOPPING=1") {
        Some(Lifecycle::Stopping)
    } else if n.has("READY=1") {
        Some(Lifecycle::Ready {
            with_reloading: n.has("RELOADING=1"),
        })
    } else if n.has("RELOADING=1") {
        Some(Lifecycle::Reloading)
    } else {
        None
    };
    let name = n.get("FDNAME");
    let valid_name = name.filter(|name| sdnotify_runtime::fdname_is_valid(name));
    if n.has("FDSTOREREMOVE=1") {
        match valid_name {
            Some(name) => {
                notice.fdstore = Some(FdStore::Remove {
                    name: name.to_owned(),
                })
            }
            None => notice
                .invalid
                .push("FDSTOREREMOVE=1 needs a valid FDNAME=; ignored".to_owned()),
        }
    } else if n.has("FDSTORE=1") {
        if let (Some(name), None) = (name, valid_name) {
            notice_invalid(
                &mut notice.invalid,
                format!("FDNAME={name}"),
                "not a valid name; \"stored\" is used",
            );
        }
        notice.fdstore = Some(FdStore::Store {
            name: valid_name.unwrap_or("stored").to_owned(),
        });
    }
    notice
}

fn notice_invalid(invalid: &mut Vec<String>, line: String, why: &str) {
    invalid.push(format!("{line:?}: {why}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_only() -> Sender {
        Sender {
            access: Access::Main,
            main: Pid::new(7).unwrap(),
            in_service: false,
        }
    }

    fn decide(bytes: &[u8], sender: u32, fds: usize) -> Decision {
        let received = Received {
            bytes,
            len: bytes.len(),
            sender: Some(sender),
            fds,
            fds_truncated: false,
        };
        classify(&received, &main_only())
    }

    fn notice_of(bytes: &[u8]) -> Notice {
        match decide(bytes, 7, 0) {
            Decision::Notice(n) => n,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_barrier_is_answered_whoever_sends_it() {
        assert_eq!(decide(b"BARRIER=1", 99, 1), Decision::Barrier);
        assert!(matches!(decide(b"BARRIER=1", 99, 0), Decision::Rejected(_)));
    }

    #[test]
    fn first_occurrence_wins_and_stopping_beats_ready_beats_reloading() {
        let n = notice_of(b"STATUS=a\nSTATUS=b\nRELOADING=1\nMONOTONIC_USEC=5\nREADY=1\nREADY=1");
        assert_eq!(n.status.as_deref(), Some("a"));
        assert_eq!(n.monotonic_usec, Some(5));
        assert_eq!(n.lifecycle, Some(Lifecycle::Ready { with_reloading: true }));
        assert_eq!(
            notice_of(b"READY=1\nSTOPPING=1").lifecycle,
            Some(Lifecycle::Stopping)
        );
        assert_eq!(notice_of(b"RELOADING=1").lifecycle, Some(Lifecycle::Reloading));
    }

    #[test]
    fn hostile_pids_never_become_a_main_pid() {
        for bad in [
            "0",
            "-1",
            "4294967295",
            "4294967296",
            "2147483648",
            "+5",
            "5 ",
            "",
        ] {
            let n = notice_of(format!("MAINPID={bad}").as_bytes());
            assert_eq!(n.main_pid, None, "{bad}");
            assert_eq!(n.invalid.len(), 1, "{bad}");
        }
        assert_eq!(notice_of(b"MAINPID=42").main_pid, Pid::new(42));
    }

    #[test]
    fn an_invalid_fdname_stores_as_stored() {
        let n = notice_of(b"FDSTORE=1\nFDNAME=a:b");
        assert_eq!(
            n.fdstore,
            Some(FdStore::Store {
                name: "stored".into()
            })
        );
        assert_eq!(n.invalid.len(), 1);
        let remove = notice_of(b"FDSTOREREMOVE=1\nFDNAME=x\x01");
        assert_eq!(remove.fdstore, None);
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
                fds_truncated: false,
            },
            &main_only(),
        );
        assert!(matches!(truncated, Decision::Rejected(r) if r.contains("9000 bytes")));
        let ctrunc = classify(
            &Received {
                bytes: b"FDSTORE=1",
                len: 9,
                sender: Some(7),
                fds: 3,
                fds_truncated: true,
            },
            &main_only(),
        );
        assert!(matches!(ctrunc, Decision::Rejected(r) if r.contains("MSG_CTRUNC")));
        let all = Sender {
            access: Access::All,
            main: Pid::new(7).unwrap(),
            in_service: false,
        };
        let outsider = Received {
            bytes: b"READY=1",
            len: 7,
            sender: Some(99),
            fds: 0,
            fds_truncated: false,
        };
        assert!(
            matches!(classify(&outsider, &all), Decision::Rejected(r) if r.contains("not one of the service's"))
        );
    }
}
