//! The message builder: arbitrary states give a typed error, or a message that the manager-rules
//! parser maps back to exactly the states that were sent.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::{Error, Message, Notification, NotifyAccess, State};

#[derive(Debug, Arbitrary)]
enum Spec {
    Flag(u8),
    Status(String),
    BusError(String),
    VarlinkError(String),
    FdName(String),
    Errno(u32),
    MainPid(u32),
    ExitStatus(u8),
    WatchdogUsec(u64),
    ExtendTimeoutUsec(u64),
    MonotonicUsec(u64),
    Access(u8),
    Custom(String, String),
}

const FLAGS: [State<'static>; 11] = [
    State::Ready,
    State::Reloading,
    State::Stopping,
    State::Watchdog,
    State::WatchdogTrigger,
    State::FdStore,
    State::FdStoreRemove,
    State::RestartReset,
    State::FdPoll(false),
    State::FdPoll(true),
    State::MainPidFd,
];

const KNOWN_KEYS: [&str; 22] = [
    "READY",
    "RELOADING",
    "STOPPING",
    "STATUS",
    "ERRNO",
    "BUSERROR",
    "VARLINKERROR",
    "EXIT_STATUS",
    "MAINPID",
    "WATCHDOG",
    "WATCHDOG_USEC",
    "EXTEND_TIMEOUT_USEC",
    "FDSTORE",
    "FDSTOREREMOVE",
    "FDNAME",
    "FDPOLL",
    "MONOTONIC_USEC",
    "NOTIFYACCESS",
    "RESTART_RESET",
    "MAINPIDFD",
    "MAINPIDFDID",
    "BARRIER",
];

fn state(spec: &Spec) -> State<'_> {
    match spec {
        Spec::Flag(i) => FLAGS[*i as usize % FLAGS.len()],
        Spec::Status(v) => State::Status(v),
        Spec::BusError(v) => State::BusError(v),
        Spec::VarlinkError(v) => State::VarlinkError(v),
        Spec::FdName(v) => State::FdName(v),
        Spec::Errno(n) => State::Errno(*n),
        Spec::MainPid(n) => State::MainPid(*n),
        Spec::ExitStatus(n) => State::ExitStatus(*n),
        Spec::WatchdogUsec(n) => State::WatchdogUsec(Duration::from_micros(*n)),
        Spec::ExtendTimeoutUsec(n) => State::ExtendTimeoutUsec(Duration::from_micros(*n)),
        Spec::MonotonicUsec(n) => State::MonotonicUsec(Duration::from_micros(*n)),
        Spec::Access(i) => State::NotifyAccess(
            [
                NotifyAccess::None,
                NotifyAccess::Main,
                NotifyAccess::Exec,
                NotifyAccess::All,
            ][*i as usize % 4],
        ),
        Spec::Custom(k, v) => State::Custom(k, v),
    }
}

fuzz_target!(|specs: Vec<Spec>| {
    // A custom key that names a known key would come back as that key's typed state.
    if specs
        .iter()
        .any(|s| matches!(s, Spec::Custom(k, _) if KNOWN_KEYS.contains(&k.as_str())))
    {
        return;
    }
    let states: Vec<State<'_>> = specs.iter().map(state).collect();
    match Message::from_states(&states) {
        Ok(message) => {
            assert!(message.len() <= 4096);
            let parsed = Notification::parse(message.as_bytes()).expect("the manager accepts what we build");
            let back: Vec<State<'_>> = parsed.states().collect();
            assert_eq!(back, states);
        }
        Err(Error::InvalidValue { .. } | Error::InvalidKey { .. } | Error::MessageTooLarge { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
