//! The builder and the parser agree: what is built parses back to exactly the states sent.

use std::time::Duration;

use proptest::prelude::*;
use sdnotify_runtime::{Error, Message, Notification, NotifyAccess, State};

/// An owned description of a state, so proptest can generate and shrink it.
#[derive(Debug, Clone)]
enum Spec {
    Flag(u8),
    Text(u8, String),
    Number(u8, u32),
    Usec(u8, u64),
    Access(u8),
    Custom(String, String),
}

fn spec() -> impl Strategy<Value = Spec> {
    // Values: any text at all, biased towards the characters that need care.
    let text = prop_oneof![any::<String>(), "[a-z\\\\\n\r\0=: ]{0,12}"];
    prop_oneof![
        (0u8..11).prop_map(Spec::Flag),
        (0u8..4, text.clone()).prop_map(|(k, v)| Spec::Text(k, v)),
        (0u8..3, any::<u32>()).prop_map(|(k, n)| Spec::Number(k, n)),
        (0u8..4, any::<u64>()).prop_map(|(k, n)| Spec::Usec(k, n)),
        (0u8..4).prop_map(Spec::Access),
        ("X_[A-Z0-9_]{0,8}|X_[^=]{0,4}", text).prop_map(|(k, v)| Spec::Custom(k, v)),
    ]
}

fn state(spec: &Spec) -> State<'_> {
    match spec {
        Spec::Flag(i) => [
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
        ][*i as usize],
        Spec::Text(0, v) => State::Status(v),
        Spec::Text(1, v) => State::BusError(v),
        Spec::Text(2, v) => State::VarlinkError(v),
        Spec::Text(_, v) => State::FdName(v),
        Spec::Number(0, n) => State::Errno(*n),
        Spec::Number(1, n) => State::MainPid(*n),
        Spec::Number(_, n) => State::ExitStatus(*n as u8),
        Spec::Usec(0, n) => State::WatchdogUsec(Duration::from_micros(*n)),
        Spec::Usec(1, n) => State::ExtendTimeoutUsec(Duration::from_micros(*n)),
        Spec::Usec(2, n) => State::MonotonicUsec(Duration::from_micros(*n)),
        Spec::Usec(_, n) => State::MainPidFdId(*n),
        Spec::Access(i) => State::NotifyAccess(
            [
                NotifyAccess::None,
                NotifyAccess::Main,
                NotifyAccess::Exec,
                NotifyAccess::All,
            ][*i as usize],
        ),
        Spec::Custom(k, v) => State::Custom(k, v),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsing_what_was_built_gives_back_the_states(specs in prop::collection::vec(spec(), 0..8)) {
        let states: Vec<State<'_>> = specs.iter().map(state).collect();
        match Message::from_states(&states) {
            Ok(message) => {
                prop_assert!(message.len() <= 4096);
                let parsed = Notification::parse(message.as_bytes()).unwrap();
                let back: Vec<State<'_>> = parsed.states().collect();
                prop_assert_eq!(back, states);
            }
            // A refusal must be for a reason the input really has.
            Err(Error::InvalidValue { .. }) => {
                let has_bad_value = specs.iter().any(|s| match s {
                    Spec::Text(3, v) => v.len() > 255 || v.bytes().any(|b| !(b' '..=b'~').contains(&b) || b == b':'),
                    Spec::Text(_, v) | Spec::Custom(_, v) => v.contains(['\n', '\r', '\0']),
                    _ => false,
                });
                prop_assert!(has_bad_value);
            }
            Err(Error::InvalidKey { key, .. }) => prop_assert!(
                key.contains(|c: char| c == '=' || c == '\\' || c.is_whitespace() || c.is_control())
            ),
            Err(Error::MessageTooLarge { len }) => prop_assert!(len > 4096),
            Err(other) => prop_assert!(false, "unexpected error {:?}", other),
        }
    }

    #[test]
    fn parser_never_panics_and_respects_the_limits(bytes in prop::collection::vec(any::<u8>(), 0..4200)) {
        match Notification::parse(&bytes) {
            Ok(n) => prop_assert!(n.lines().iter().all(|l| !l.is_empty())),
            Err(_) => prop_assert!(bytes.len() > 4096 || bytes.contains(&0) || bytes.ends_with(b"\\")),
        }
    }
}
