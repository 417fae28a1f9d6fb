//! `--restart=` and `--restart-sec=` with systemd's `Restart=` meanings, and the start rate
//! limit (`StartLimitBurst=`, `StartLimitIntervalSec=`: 5 starts in 10 s), so a crash loop ends.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// systemd's `Restart=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Policy {
    No,
    OnSuccess,
    OnFailure,
    OnAbnormal,
    OnWatchdog,
    Always,
}

pub(crate) const POLICIES: &[&str] = &[
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "always",
];

impl Policy {
    pub(crate) fn parse(text: &str) -> Option<Policy> {
        Some(match text {
            "no" => Policy::No,
            "on-success" => Policy::OnSuccess,
            "on-failure" => Policy::OnFailure,
            "on-abnormal" => Policy::OnAbnormal,
            "on-watchdog" => Policy::OnWatchdog,
            "always" => Policy::Always,
            _ => return None,
        })
    }
}

/// How an instance of the service ended, in systemd's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Exit status 0, or killed by SIGHUP, SIGINT, SIGTERM or SIGPIPE (systemd's clean signals).
    Clean,
    /// Another exit status (or a failed start: no READY=1 before the exit).
    ExitCode,
    /// Killed by another signal.
    Signal,
    /// No READY=1 (or a reload) in time.
    Timeout,
    /// The watchdog expired.
    Watchdog,
}

impl Ended {
    /// Why it ended, as the restart event says it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Ended::Clean => "exited cleanly",
            Ended::ExitCode => "exited with a failure status",
            Ended::Signal => "was killed by a signal",
            Ended::Timeout => "timed out",
            Ended::Watchdog => "missed its watchdog",
        }
    }

    /// From an exit status or terminating signal (None: unknown, counted as clean).
    pub(crate) fn from_status(code: Option<i32>, signal: Option<i32>) -> Ended {
        const CLEAN_SIGNALS: [i32; 4] = [1, 2, 15, 13]; // HUP, INT, TERM, PIPE
        match (code, signal) {
            (Some(0), _) | (None, None) => Ended::Clean,
            (Some(_), _) => Ended::ExitCode,
            (None, Some(s)) if CLEAN_SIGNALS.contains(&s) => Ended::Clean,
            (None, Some(_)) => Ended::Signal,
        }
    }
}

/// Whether `policy` restarts a service that ended so (systemd.service(5)'s table).
pub(crate) fn restarts(policy: Policy, ended: Ended) -> bool {
    match policy {
        Policy::No => false,
        Policy::Always => true,
        Policy::OnSuccess => ended == Ended::Clean,
        Policy::OnFailure => ended != Ended::Clean,
        Policy::OnAbnormal => matches!(ended, Ended::Signal | Ended::Timeout | Ended::Watchdog),
        Policy::OnWatchdog => ended == Ended::Watchdog,
    }
}

/// The start rate limit: at most `burst` starts within `interval`.
#[derive(Debug)]
pub(crate) struct StartLimit {
    burst: usize,
    interval: Duration,
    starts: VecDeque<Instant>,
}

impl StartLimit {
    pub(crate) fn new(burst: usize, interval: Duration) -> StartLimit {
        StartLimit {
            burst,
            interval,
            starts: VecDeque::new(),
        }
    }

    /// Counts a start at `now`; `false` when it is one too many (the limit is hit).
    pub(crate) fn allow(&mut self, now: Instant) -> bool {
        while self
            .starts
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= self.interval)
        {
            self.starts.pop_front();
        }
        if self.burst > 0 && self.starts.len() >= self.burst {
            return false;
        }
        self.starts.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_follows_systemds_table() {
        use Ended::*;
        let all = [Clean, ExitCode, Signal, Timeout, Watchdog];
        let table = [
            (Policy::No, [false, false, false, false, false]),
            (Policy::Always, [true, true, true, true, true]),
            (Policy::OnSuccess, [true, false, false, false, false]),
            (Policy::OnFailure, [false, true, true, true, true]),
            (Policy::OnAbnormal, [false, false, true, true, true]),
            (Policy::OnWatchdog, [false, false, false, false, true]),
        ];
        for (policy, expected) in table {
            for (ended, want) in all.iter().zip(expected) {
                assert_eq!(restarts(policy, *ended), want, "{policy:?} {ended:?}");
            }
        }
        for name in POLICIES {
            assert!(Policy::parse(name).is_some());
        }
    }

    #[test]
    fn clean_exits_are_status_0_and_the_clean_signals() {
        assert_eq!(Ended::from_status(Some(0), None), Ended::Clean);
        assert_eq!(Ended::from_status(Some(3), None), Ended::ExitCode);
        assert_eq!(Ended::from_status(None, Some(15)), Ended::Clean);
        assert_eq!(Ended::from_status(None, Some(9)), Ended::Signal);
    }

    #[test]
    fn the_sixth_start_in_ten_seconds_is_refused() {
        let mut limit = StartLimit::new(5, Duration::from_secs(10));
        let t = Instant::now();
        for i in 0..5 {
            assert!(limit.allow(t + Duration::from_secs(i)), "start {i}");
        }
        assert!(!limit.allow(t + Duration::from_secs(5)));
        assert!(
            limit.allow(t + Duration::from_secs(11)),
            "the first start left the window"
        );
    }
}
