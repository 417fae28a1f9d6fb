//! What the supervisor does for `sdnotify ctl`: answers `status` at once; for `reload`,
//! `restart` and `stop`, starts it and answers when it is done (the reload finished, the new
//! instance ready, the supervisor ending), as `systemctl` waits for its jobs.

use std::time::Instant;

use super::control::{json_string, Client, Request};
use super::event::Event;
use super::supervisor::Supervisor;

impl Supervisor {
    /// Takes the requests that arrived and acts on each.
    pub(super) fn serve_control(&mut self) {
        let Some(control) = self.control.as_mut() else {
            return;
        };
        for client in control.requests() {
            self.emit(Event::ControlRequest {
                request: client.request.as_str(),
            });
            self.serve(client);
        }
    }

    fn serve(&mut self, client: Client) {
        match client.request {
            Request::Status => {
                let (exit, text, json) = self.status();
                client.answer(exit, &text, &json);
            }
            Request::Reload => {
                let mut fx = Vec::new();
                match self.state.reload_now(Instant::now(), &mut fx) {
                    Ok(()) => {
                        self.clients.push(client);
                        self.apply(fx);
                    }
                    Err(why) => client.answer(1, why, &failure(why)),
                }
            }
            Request::Restart => {
                if self.main_exit.is_some() || self.stop_requests > 0 {
                    let why = "the service is stopping";
                    return client.answer(1, why, &failure(why));
                }
                self.restart_requested = true;
                self.clients.push(client);
                let mut fx = Vec::new();
                self.state.on_stop_request(&mut fx);
                self.apply(fx);
            }
            Request::Stop => {
                self.clients.push(client);
                self.on_stop_request("sdnotify ctl stop");
            }
        }
    }

    /// `status`: the state, main pid, status text, last ping and restarts; exit 0 when active
    /// (or reloading), 3 otherwise, as `systemctl is-active`.
    fn status(&self) -> (u8, String, String) {
        let state = if self.main_exit.is_some() {
            "deactivating"
        } else {
            self.state.active_state()
        };
        let exit = if matches!(state, "active" | "reloading") {
            0
        } else {
            3
        };
        let ping = self.last_ping.map(|at| at.elapsed().as_secs_f64());
        let mut text = format!("{state}, main pid {}", self.main);
        if let Some(status) = &self.status_text {
            text.push_str(&format!(", status {status:?}"));
        }
        if let Some(ago) = ping {
            text.push_str(&format!(", last watchdog ping {ago:.1} s ago"));
        }
        text.push_str(&format!(", {} restart(s)", self.restarts));
        let json = format!(
            "{{\"ok\":true,\"state\":\"{state}\",\"main_pid\":{},\"status\":{},\"last_ping_s\":{},\"restarts\":{}}}",
            self.main,
            self.status_text.as_deref().map_or("null".to_owned(), json_string),
            ping.map_or("null".to_owned(), |s| format!("{s:.3}")),
            self.restarts
        );
        (exit, text, json)
    }

    /// Keeps what `status` tells up to date and answers the clients whose request is done.
    pub(super) fn after_event(&mut self, event: &Event) {
        match event {
            Event::Status(text) => self.status_text = Some(text.clone()),
            Event::Ping { .. } => self.last_ping = Some(Instant::now()),
            _ => {}
        }
        if self.clients.is_empty() {
            return;
        }
        let done = |request: Request| -> Option<(u8, String)> {
            match (request, event) {
                (Request::Reload, Event::Reloaded { .. }) => Some((0, "reloaded".to_owned())),
                (Request::Reload, Event::ReloadFailed(why)) => Some((1, format!("reload failed: {why}"))),
                (Request::Restart, Event::Ready { .. }) => {
                    Some((0, "restarted: the new instance is ready".to_owned()))
                }
                (Request::Restart, Event::StartFailed(why)) => Some((1, format!("restart failed: {why}"))),
                (Request::Restart, Event::StartTimeout { .. }) => {
                    Some((1, "restart failed: no READY=1 in time".to_owned()))
                }
                (Request::Stop, Event::Exited { .. }) => Some((0, "stopped".to_owned())),
                (_, Event::Exited { .. }) => Some((1, "sdnotify run ended".to_owned())),
                _ => None,
            }
        };
        let mut waiting = Vec::new();
        for client in std::mem::take(&mut self.clients) {
            match done(client.request) {
                Some((0, text)) => client.answer(0, &text, "{\"ok\":true}"),
                Some((exit, text)) => {
                    let json = failure(&text);
                    client.answer(exit, &text, &json);
                }
                None => waiting.push(client),
            }
        }
        self.clients = waiting;
    }
}

fn failure(why: &str) -> String {
    format!("{{\"ok\":false,\"error\":{}}}", json_string(why))
}
