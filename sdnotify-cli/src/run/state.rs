//! The service's protocol state and its deadlines, as systemd's service.c keeps them:
//! activating until READY=1, active, reloading (signal sent / RELOADING=1 seen), deactivating.
//! It decides; the supervisor carries out the [`Effect`]s (signals, output).

use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::classify::{Lifecycle, Notice, Watchdog};
use super::event::Event;
use super::{exit, ReloadSignal, ServiceType};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Started, no READY=1 yet (systemd's `start`).
    Activating,
    /// READY=1 seen (`running`).
    Active,
    /// The reload signal was sent at this CLOCK_MONOTONIC time (µs) (`reload-signal`).
    ReloadSignal { begin_usec: u64 },
    /// RELOADING=1 accepted; waiting for READY=1 (`reload-notify`).
    ReloadNotify,
    /// Stopping: asked to, or STOPPING=1, or a failure (`stop-sigterm` and after).
    Deactivating,
}

/// What the supervisor must do.
#[derive(Debug)]
pub(crate) enum Effect {
    Emit(Event),
    /// Stop the service with this signal (per --kill-mode), SIGKILL after --timeout-stop.
    Stop {
        signal: Signal,
        name: &'static str,
    },
    /// STOPPING=1: no signal; SIGKILL if the service is still there after --timeout-stop.
    AwaitStop,
    /// The reload signal to the main process alone; with a warning first when the process no
    /// longer catches or blocks it (systemd 262 sends it anyway).
    RequestReload(ReloadSignal),
}

pub(crate) struct Timeouts {
    pub(crate) start: Option<Duration>,
    pub(crate) reload_after: Option<Duration>,
    pub(crate) reload_signal: ReloadSignal,
}

pub(crate) struct State {
    pub(crate) phase: Phase,
    service_type: ServiceType,
    timeouts: Timeouts,
    started: Instant,
    /// The one timer of the present phase: start, or reload.
    timer: Option<Instant>,
    timer_timeout: Option<Duration>,
    reload_since: Option<Instant>,
    reload_at: Option<Instant>,
    watchdog: Option<Duration>,
    watchdog_deadline: Option<Instant>,
    pub(crate) pings: u64,
    /// The supervisor's own exit code, when something went wrong (else the service's status).
    pub(crate) outcome: Option<u8>,
}

/// `now + d`, or never when that is past what an `Instant` can hold.
fn after(now: Instant, d: Option<Duration>) -> Option<Instant> {
    d.and_then(|d| now.checked_add(d))
}

impl State {
    pub(crate) fn new(
        service_type: ServiceType,
        timeouts: Timeouts,
        watchdog: Option<Duration>,
        now: Instant,
    ) -> State {
        State {
            phase: Phase::Activating,
            service_type,
            timer: after(now, timeouts.start),
            timer_timeout: timeouts.start,
            timeouts,
            started: now,
            reload_since: None,
            reload_at: None,
            watchdog,
            watchdog_deadline: None,
            pings: 0,
            outcome: None,
        }
    }

    /// The earliest deadline, for the loop's sleep.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.timer, self.watchdog_deadline, self.reload_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// One accepted datagram's lifecycle, watchdog and timeout keys, in systemd's order.
    /// `catches_reload_signal` says whether the main process catches or blocks the reload
    /// signal (`None`: cannot tell); it is asked at the first READY=1 of a notify-reload service.
    pub(crate) fn on_notice(
        &mut self,
        n: &Notice,
        now: Instant,
        fx: &mut Vec<Effect>,
        catches_reload_signal: impl FnOnce() -> Option<bool>,
    ) {
        match n.lifecycle {
            Some(Lifecycle::Stopping) => self.on_stopping(fx),
            Some(Lifecycle::Ready { .. })
                if self.phase == Phase::Activating
                    && self.service_type == ServiceType::NotifyReload
                    && catches_reload_signal() == Some(false) =>
            {
                self.refuse_start(fx)
            }
            Some(Lifecycle::Ready { with_reloading }) => {
                self.on_ready(with_reloading, n.monotonic_usec, now, fx)
            }
            Some(Lifecycle::Reloading) => self.on_reloading(n.monotonic_usec, now, fx),
            None => {}
        }
        if let Some(by) = n.extend {
            self.on_extend(by, now, fx);
        }
        match n.watchdog {
            Some(Watchdog::Ping) => self.on_ping(now, fx),
            Some(Watchdog::Trigger) => {
                fx.push(Effect::Emit(Event::WatchdogTrigger));
                self.watchdog_expired(fx);
            }
            None => {}
        }
        if let Some(interval) = n.watchdog_usec {
            self.watchdog = Some(interval);
            if self.watchdog_deadline.is_some() || self.phase == Phase::Active {
                self.watchdog_deadline = now.checked_add(interval);
            }
            fx.push(Effect::Emit(Event::WatchdogUsec(interval)));
        }
    }

    fn on_stopping(&mut self, fx: &mut Vec<Effect>) {
        fx.push(Effect::Emit(Event::Stopping));
        match self.phase {
            Phase::Active | Phase::ReloadSignal { .. } | Phase::ReloadNotify => {
                self.enter_deactivating();
                fx.push(Effect::AwaitStop);
            }
            Phase::Activating => fx.push(Effect::Emit(Event::Ignored {
                reason: "STOPPING=1 before READY=1 has no effect until the service is active".to_owned(),
            })),
            Phase::Deactivating => {}
        }
    }

    fn on_ready(&mut self, with_reloading: bool, monotonic: Option<u64>, now: Instant, fx: &mut Vec<Effect>) {
        match self.phase {
            Phase::Activating => {
                fx.push(Effect::Emit(Event::Ready {
                    startup: now.saturating_duration_since(self.started),
                }));
                self.enter_active(now);
                if self.service_type == ServiceType::NotifyReload {
                    self.reload_at = after(now, self.timeouts.reload_after);
                }
            }
            Phase::ReloadNotify => self.reload_finished(now, fx),
            Phase::ReloadSignal { begin_usec }
                if with_reloading && monotonic.is_some_and(|t| t >= begin_usec) =>
            {
                self.reload_finished(now, fx)
            }
            Phase::ReloadSignal { .. } => fx.push(Effect::Emit(Event::Ignored {
                reason: "READY=1 during a requested reload, before RELOADING=1 with MONOTONIC_USEC"
                    .to_owned(),
            })),
            Phase::Active => fx.push(Effect::Emit(Event::Ready {
                startup: now.saturating_duration_since(self.started),
            })),
            Phase::Deactivating => {}
        }
    }

    fn on_reloading(&mut self, monotonic: Option<u64>, now: Instant, fx: &mut Vec<Effect>) {
        fx.push(Effect::Emit(Event::Reloading {
            monotonic_usec: monotonic,
        }));
        match self.phase {
            Phase::ReloadSignal { begin_usec } => match monotonic {
                Some(t) if t >= begin_usec => self.phase = Phase::ReloadNotify,
                Some(t) => fx.push(Effect::Emit(Event::Ignored {
                    reason: format!("MONOTONIC_USEC={t} is older than the reload request ({begin_usec})"),
                })),
                None => fx.push(Effect::Emit(Event::Ignored {
                    reason: "RELOADING=1 without MONOTONIC_USEC= in the same datagram".to_owned(),
                })),
            },
            // A reload the service started by itself.
            Phase::Active => {
                self.phase = Phase::ReloadNotify;
                self.reload_since = Some(now);
                self.set_timer(now, self.timeouts.start);
            }
            Phase::Activating => fx.push(Effect::Emit(Event::Ignored {
                reason: "RELOADING=1 while starting: the start completes with READY=1, as in systemd"
                    .to_owned(),
            })),
            Phase::ReloadNotify | Phase::Deactivating => {}
        }
    }

    fn reload_finished(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let took = self
            .reload_since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        fx.push(Effect::Emit(Event::Reloaded { took }));
        self.enter_active(now);
    }

    fn on_ping(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        self.pings = self.pings.saturating_add(1);
        if let (Some(interval), false) = (self.watchdog, self.phase == Phase::Deactivating) {
            // A ping before READY=1 arms the watchdog early, as in systemd.
            self.watchdog_deadline = now.checked_add(interval);
        }
        fx.push(Effect::Emit(Event::Ping { count: self.pings }));
    }

    fn on_extend(&mut self, by: Duration, now: Instant, fx: &mut Vec<Effect>) {
        if let (Some(timer), Some(until)) = (self.timer, now.checked_add(by)) {
            self.timer = Some(timer.max(until));
        }
        fx.push(Effect::Emit(Event::ExtendTimeout(by)));
    }

    /// As systemd 262: a notify-reload service whose main process neither catches nor blocks
    /// its reload signal at READY=1 could never reload; its start fails (Result=protocol).
    fn refuse_start(&mut self, fx: &mut Vec<Effect>) {
        let name = self.timeouts.reload_signal.name;
        fx.push(Effect::Emit(Event::StartFailed(format!(
            "READY=1, but the main process neither catches nor blocks {name}, its reload signal: \
             a reload would end it (systemd 262 and later refuse this start)"
        ))));
        self.outcome.get_or_insert(exit::PROTOCOL_ERROR);
        self.enter_deactivating();
        fx.push(Effect::Stop {
            signal: Signal::TERM,
            name: "SIGTERM",
        });
    }

    /// The main process exited: what the start or the reload came to.
    pub(crate) fn on_main_exit(&mut self, received_anything: bool, fx: &mut Vec<Effect>) {
        if self.phase == Phase::Activating && self.outcome.is_none() {
            let hint = if received_anything {
                "it sent notifications, but never READY=1"
            } else {
                "no notification arrived at all: is NOTIFY_SOCKET passed on to the process that \
                 should send READY=1 (e.g. systemd-socket-activate drops it without -E)?"
            };
            fx.push(Effect::Emit(Event::StartFailed(format!(
                "the main process exited before READY=1; {hint}"
            ))));
            self.outcome = Some(exit::START_FAILED);
        }
        if matches!(self.phase, Phase::ReloadSignal { .. } | Phase::ReloadNotify) {
            fx.push(Effect::Emit(Event::ReloadFailed(
                "the main process exited during the reload".to_owned(),
            )));
            self.outcome.get_or_insert(exit::PROTOCOL_ERROR);
        }
        self.enter_deactivating();
    }

    /// A stop asked for from outside (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT).
    pub(crate) fn on_stop_request(&mut self, fx: &mut Vec<Effect>) {
        if self.phase != Phase::Deactivating {
            self.enter_deactivating();
            fx.push(Effect::Stop {
                signal: Signal::TERM,
                name: "SIGTERM",
            });
        }
    }

    pub(crate) fn check_deadlines(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        if self.timer.is_some_and(|t| t <= now) {
            self.timer = None;
            match self.phase {
                Phase::Activating => {
                    fx.push(Effect::Emit(Event::StartTimeout {
                        after: self.timer_timeout.unwrap_or_default(),
                    }));
                    self.outcome.get_or_insert(exit::START_TIMEOUT);
                    self.enter_deactivating();
                    fx.push(Effect::Stop {
                        signal: Signal::TERM,
                        name: "SIGTERM",
                    });
                }
                // As systemd: a reload that times out fails; the service keeps running.
                Phase::ReloadSignal { .. } | Phase::ReloadNotify => {
                    fx.push(Effect::Emit(Event::ReloadFailed(
                        "not finished (RELOADING=1 with MONOTONIC_USEC, then READY=1) within --timeout-start"
                            .to_owned(),
                    )));
                    self.outcome.get_or_insert(exit::PROTOCOL_ERROR);
                    self.enter_active(now);
                }
                Phase::Active | Phase::Deactivating => {}
            }
        }
        if self.watchdog_deadline.is_some_and(|d| d <= now) {
            fx.push(Effect::Emit(Event::WatchdogTimeout {
                interval: self.watchdog.unwrap_or_default(),
            }));
            self.watchdog_expired(fx);
        }
        if self.reload_at.is_some_and(|d| d <= now) {
            self.reload_at = None;
            if self.phase == Phase::Active {
                self.begin_reload(now, fx);
            }
        }
    }

    /// A reload asked for now (`sdnotify ctl NAME reload`), as `systemctl reload` asks: only a
    /// notify-reload service, and only while it is active.
    pub(crate) fn reload_now(&mut self, now: Instant, fx: &mut Vec<Effect>) -> Result<(), &'static str> {
        if self.service_type != ServiceType::NotifyReload {
            return Err("the service is not --type=notify-reload: it has no reload");
        }
        if self.phase != Phase::Active {
            return Err("the service is not active");
        }
        self.begin_reload(now, fx);
        Ok(())
    }

    fn begin_reload(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let begin_usec = u64::try_from(sdnotify_runtime::monotonic_now().as_micros()).unwrap_or(u64::MAX);
        self.phase = Phase::ReloadSignal { begin_usec };
        self.reload_since = Some(now);
        self.set_timer(now, self.timeouts.start);
        fx.push(Effect::RequestReload(self.timeouts.reload_signal));
        fx.push(Effect::Emit(Event::ReloadRequested {
            signal: self.timeouts.reload_signal.name,
            monotonic_usec: begin_usec,
        }));
    }

    /// The phase's name, as `systemctl is-active` prints it.
    pub(crate) fn active_state(&self) -> &'static str {
        match self.phase {
            Phase::Activating => "activating",
            Phase::Active => "active",
            Phase::ReloadSignal { .. } | Phase::ReloadNotify => "reloading",
            Phase::Deactivating => "deactivating",
        }
    }

    /// systemd's WatchdogSignal= (SIGABRT), then the normal stop path.
    fn watchdog_expired(&mut self, fx: &mut Vec<Effect>) {
        if self.phase == Phase::Deactivating {
            return;
        }
        self.outcome.get_or_insert(exit::WATCHDOG);
        self.enter_deactivating();
        fx.push(Effect::Stop {
            signal: Signal::ABORT,
            name: "SIGABRT",
        });
    }

    fn enter_active(&mut self, now: Instant) {
        self.phase = Phase::Active;
        self.timer = None;
        self.reload_since = None;
        if self.watchdog_deadline.is_none() {
            self.watchdog_deadline = after(now, self.watchdog);
        }
    }

    fn enter_deactivating(&mut self) {
        self.phase = Phase::Deactivating;
        self.timer = None;
        self.watchdog_deadline = None;
        self.reload_at = None;
    }

    fn set_timer(&mut self, now: Instant, timeout: Option<Duration>) {
        self.timer = after(now, timeout);
        self.timer_timeout = timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::classify::Notice;

    fn state(ty: ServiceType) -> (State, Instant) {
        let now = Instant::now();
        let timeouts = Timeouts {
            start: Some(Duration::from_secs(5)),
            reload_after: Some(Duration::from_secs(1)),
            reload_signal: HUP,
        };
        (State::new(ty, timeouts, Some(Duration::from_secs(2)), now), now)
    }

    const HUP: ReloadSignal = ReloadSignal {
        signal: Signal::HUP,
        name: "SIGHUP",
    };

    const READY: Lifecycle = Lifecycle::Ready {
        with_reloading: false,
    };

    fn with(lifecycle: Lifecycle, monotonic_usec: Option<u64>) -> Notice {
        Notice {
            lifecycle: Some(lifecycle),
            monotonic_usec,
            ..Notice::default()
        }
    }

    #[test]
    fn reloading_before_ready_is_ignored_and_ready_starts_the_service() {
        // haproxy -Ws sends RELOADING=1 before its first READY=1.
        let (mut s, now) = state(ServiceType::NotifyReload);
        let mut fx = Vec::new();
        s.on_notice(&with(Lifecycle::Reloading, None), now, &mut fx, || Some(true));
        assert_eq!(s.phase, Phase::Activating);
        s.on_notice(&with(READY, None), now, &mut fx, || Some(true));
        assert_eq!(s.phase, Phase::Active);
    }

    #[test]
    fn the_reload_handshake_and_a_reload_timeout_that_keeps_the_service() {
        let (mut s, now) = state(ServiceType::NotifyReload);
        let mut fx = Vec::new();
        s.on_notice(&with(READY, None), now, &mut fx, || Some(true));
        s.check_deadlines(now + Duration::from_secs(1), &mut fx);
        let Phase::ReloadSignal { begin_usec } = s.phase else {
            panic!("{:?}", s.phase)
        };
        s.on_notice(&with(READY, None), now, &mut fx, || Some(true));
        assert!(
            matches!(s.phase, Phase::ReloadSignal { .. }),
            "a bare READY=1 is ignored"
        );
        s.on_notice(
            &with(Lifecycle::Reloading, Some(begin_usec)),
            now,
            &mut fx,
            || Some(true),
        );
        assert_eq!(s.phase, Phase::ReloadNotify);
        s.on_notice(&with(READY, None), now, &mut fx, || Some(true));
        assert_eq!(s.phase, Phase::Active);
        // A reload the service starts itself, never finished: fails, the service stays.
        s.on_notice(&with(Lifecycle::Reloading, None), now, &mut fx, || Some(true));
        s.check_deadlines(now + Duration::from_secs(60), &mut fx);
        assert_eq!(s.phase, Phase::Deactivating, "the watchdog fired meanwhile");
        assert_eq!(s.outcome, Some(exit::PROTOCOL_ERROR));
    }

    #[test]
    fn a_reload_signal_not_caught_at_ready_fails_the_start() {
        let (mut s, now) = state(ServiceType::NotifyReload);
        let mut fx = Vec::new();
        s.on_notice(&with(READY, None), now, &mut fx, || Some(false));
        assert_eq!(s.phase, Phase::Deactivating);
        assert_eq!(s.outcome, Some(exit::PROTOCOL_ERROR));
        assert!(matches!(
            fx.last(),
            Some(Effect::Stop {
                signal: Signal::TERM,
                ..
            })
        ));
        // Cannot tell (no /proc): the start goes on, as before the check existed.
        let (mut s, now) = state(ServiceType::NotifyReload);
        s.on_notice(&with(READY, None), now, &mut fx, || None);
        assert_eq!(s.phase, Phase::Active);
        // Type=notify is never asked.
        let (mut s, now) = state(ServiceType::Notify);
        s.on_notice(&with(READY, None), now, &mut fx, || unreachable!());
        assert_eq!(s.phase, Phase::Active);
    }

    #[test]
    fn stopping_wins_and_disarms_the_watchdog() {
        let (mut s, now) = state(ServiceType::Notify);
        let mut fx = Vec::new();
        s.on_notice(&with(READY, None), now, &mut fx, || Some(true));
        s.on_notice(&with(Lifecycle::Stopping, None), now, &mut fx, || Some(true));
        assert_eq!(s.phase, Phase::Deactivating);
        assert_eq!(s.next_deadline(), None);
        assert!(matches!(fx.last(), Some(Effect::AwaitStop)));
    }

    #[test]
    fn huge_timeouts_never_overflow() {
        let now = Instant::now();
        let timeouts = Timeouts {
            start: Some(Duration::from_micros(u64::MAX - 1)),
            reload_after: Some(Duration::MAX),
            reload_signal: HUP,
        };
        let mut s = State::new(ServiceType::NotifyReload, timeouts, Some(Duration::MAX), now);
        let mut fx = Vec::new();
        s.on_notice(&with(READY, None), now, &mut fx, || Some(true));
        s.on_notice(
            &Notice {
                extend: Some(Duration::MAX),
                watchdog: Some(Watchdog::Ping),
                watchdog_usec: Some(Duration::MAX),
                ..Notice::default()
            },
            now,
            &mut fx,
            || Some(true),
        );
        s.check_deadlines(now, &mut fx);
        assert_eq!(s.phase, Phase::Active);
    }
}
