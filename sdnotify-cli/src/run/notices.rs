//! What the service sends: each datagram received on the notification socket, decided with
//! the manager's rules (`classify`), then acted on (a new main process, the protocol's state,
//! the fd store), and relayed to an outer manager as one message.

use std::os::fd::OwnedFd;
use std::time::Instant;

use sdnotify_runtime::manager::Datagram;
use sdnotify_runtime::Pid;

use super::classify::{classify, Access, Decision, FdStore, Notice, Received, Sender};
use super::event::Event;
use super::process;
use super::state::Phase;
use super::supervisor::Supervisor;

impl Supervisor {
    pub(super) fn receive_all(&mut self) {
        loop {
            match self.listener.recv() {
                Ok(datagram) => self.handle(datagram),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.emit(Event::Rejected {
                        pid: None,
                        reason: format!("receive failed: {e}"),
                    });
                    return;
                }
            }
        }
    }

    /// One datagram, decided with the manager's rules (see `classify`) and then acted on. Every
    /// descriptor it carried is stored or closed when it goes out of scope.
    fn handle(&mut self, mut datagram: Datagram) {
        let sender_pid = datagram.pid();
        // A sender that cannot be placed (its /proc entry unreadable) is not the service's.
        let in_service = self.access == Access::All
            && sender_pid
                .and_then(Pid::new)
                .is_some_and(|pid| process::is_descendant(pid).unwrap_or(false));
        let received = Received {
            bytes: datagram.bytes(),
            len: datagram.len(),
            sender: sender_pid,
            fds: datagram.fds().len(),
            fds_truncated: datagram.fds_truncated(),
        };
        let sender = Sender {
            access: self.access,
            main: self.main,
            in_service,
        };
        let notice = match classify(&received, &sender) {
            // Dropping the datagram closes the pipe's write end: that is the answer.
            Decision::Barrier => return self.emit(Event::Barrier),
            Decision::Rejected(reason) => {
                return self.emit(Event::Rejected {
                    pid: sender_pid,
                    reason,
                })
            }
            Decision::Notice(notice) => notice,
        };
        self.received_any = true;
        if let Some(relay) = self.relay.as_mut() {
            relay.begin_datagram();
        }
        self.on_datagram(&notice, &mut datagram);
        if let Some(relay) = self.relay.as_mut() {
            relay.end_datagram();
        }
        self.relay_warnings();
    }

    /// What an accepted datagram asks for: a new main process, the protocol's state, the fd
    /// store; every descriptor it carried is stored or closed.
    fn on_datagram(&mut self, notice: &Notice, datagram: &mut Datagram) {
        let mut fds = datagram.take_fds();
        self.on_main_pid(notice, &mut fds);
        let mut fx = Vec::new();
        let (main, reload_signal) = (self.main, self.options.reload_signal.signal);
        self.state.on_notice(notice, Instant::now(), &mut fx, || {
            process::catches_or_blocks(main, reload_signal)
        });
        self.apply(fx);
        self.report_notice(notice);
        let stored = match &notice.fdstore {
            Some(FdStore::Store { name }) => Some(self.fdstore.keep(name, std::mem::take(&mut fds))),
            Some(FdStore::Remove { name }) => Some(self.fdstore.remove(name)),
            None => None,
        };
        if let Some(event) = stored {
            self.emit(event);
        }
        if !fds.is_empty() {
            self.emit(Event::StrayFds { fds: fds.len() });
        }
    }

    fn report_notice(&mut self, notice: &Notice) {
        if let Some(text) = &notice.status {
            self.emit(Event::Status(text.clone()));
        }
        if let Some(access) = notice.notify_access {
            self.access = access;
            self.emit(Event::NotifyAccess(access.as_str().to_owned()));
        }
        for (key, value) in &notice.info {
            self.emit(Event::Info {
                key: key.clone(),
                value: value.clone(),
            });
        }
        for line in &notice.unknown {
            self.emit(Event::Unknown { line: line.clone() });
        }
        for reason in &notice.invalid {
            self.emit(Event::Rejected {
                pid: Some(self.main.get()),
                reason: reason.clone(),
            });
        }
    }

    /// `MAINPID=` (or `MAINPIDFD=1` with exactly one descriptor, a process's pidfd): accepted
    /// only for a live process of the service (a thread-group leader: a thread's id names no
    /// process the supervisor could wait for), never the supervisor, and only while the service
    /// starts, runs or reloads.
    fn on_main_pid(&mut self, notice: &Notice, fds: &mut Vec<OwnedFd>) {
        let by_fd = if notice.main_pid_fd {
            let target = match fds.as_slice() {
                [fd] => process::process_of_pidfd(fd),
                other => Err(format!(
                    "it came with {} descriptors, not exactly one",
                    other.len()
                )),
            };
            match target {
                Ok(pid) => {
                    fds.clear();
                    Some(pid)
                }
                Err(why) => {
                    self.emit(Event::Rejected {
                        pid: Some(self.main.get()),
                        reason: format!("MAINPIDFD=1 refused: {why}"),
                    });
                    None
                }
            }
        } else {
            None
        };
        let Some(new) = by_fd.or(notice.main_pid) else {
            return;
        };
        if new == self.main || self.state.phase == Phase::Deactivating {
            return;
        }
        if let Some(why) = refuse_main_pid(new) {
            return self.emit(Event::Rejected {
                pid: Some(self.main.get()),
                reason: format!("MAINPID={new} refused: {why}"),
            });
        }
        let previous = self.main;
        self.main = new;
        // No pidfd (the process just ended, or no descriptor was left): its end is then seen
        // through /proc on every turn of the loop (see `track_processes`).
        self.main_fd = process::pidfd(new).unwrap_or(None);
        self.emit(Event::MainPid {
            pid: new.get(),
            previous: previous.get(),
        });
    }
}

/// Why `pid` cannot become the main process, if it cannot.
fn refuse_main_pid(pid: Pid) -> Option<String> {
    if pid == Pid::current() {
        return Some("it is the supervisor itself".to_owned());
    }
    match process::thread_group(pid) {
        Ok(Some(leader)) if leader != pid => {
            return Some(format!(
                "it is a thread of process {leader}, not a process (the main process must be one)"
            ))
        }
        Err(e) => return Some(format!("it cannot be looked at: {e}")),
        _ => {}
    }
    match process::is_descendant(pid) {
        Ok(true) => None,
        Ok(false) => Some(
            "it is not a live process of the service (systemd accepts that from a root sender; sdnotify run never does)"
                .to_owned(),
        ),
        Err(e) => Some(format!("it cannot be looked at: {e}")),
    }
}
