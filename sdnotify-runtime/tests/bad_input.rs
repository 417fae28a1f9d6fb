//! Every bad input of product.md §5: a clear error of the right kind, and nothing sent.

mod common;

use std::time::Duration;

use common::{assert_nothing_received, path_listener};
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::{Error, Notifier, State};

fn refused(states: &[State<'_>]) -> Error {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let err = notifier.notify(states).unwrap_err();
    assert_nothing_received(&listener);
    err
}

fn assert_value_error(err: Error, key: &str, reason: &str) {
    match err {
        Error::InvalidValue { key: k, reason: r } => assert_eq!((k.as_str(), r), (key, reason)),
        other => panic!("expected InvalidValue for {key}, got {other:?}"),
    }
}

#[test]
fn newline_in_a_value() {
    let err = refused(&[State::Ready, State::Status("ok\nMAINPID=1")]);
    assert_value_error(err, "STATUS", "contains a newline (LF)");
}

#[test]
fn carriage_return_in_a_value() {
    let err = refused(&[State::Status("a\rREADY=1")]);
    assert_value_error(err, "STATUS", "contains a carriage return (CR)");
}

#[test]
fn nul_in_a_value() {
    let err = refused(&[State::Custom("X_DATA", "a\0b")]);
    assert_value_error(err, "X_DATA", "contains a NUL byte");
}

#[test]
fn nul_in_raw_text() {
    let listener = path_listener();
    let err = Notifier::connect(listener.address())
        .unwrap()
        .notify_raw("READY=1\0")
        .unwrap_err();
    assert_value_error(err, "READY", "contains a NUL byte");
    assert_nothing_received(&listener);
}

#[test]
fn empty_key() {
    let err = refused(&[State::Custom("", "v")]);
    assert!(
        matches!(
            err,
            Error::InvalidKey {
                reason: "the key is empty",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn key_with_equals_sign() {
    let err = refused(&[State::Custom("READY=1\nX", "v")]);
    assert!(
        matches!(
            err,
            Error::InvalidKey {
                reason: "the key contains `=`",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn key_with_whitespace() {
    let err = refused(&[State::Custom("X KEY", "v")]);
    assert!(
        matches!(
            err,
            Error::InvalidKey {
                reason: "the key contains whitespace",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn key_with_control_character() {
    let err = refused(&[State::Custom("X\u{7}", "v")]);
    assert!(
        matches!(
            err,
            Error::InvalidKey {
                reason: "the key contains a control character",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn message_over_4096_bytes() {
    let big = "x".repeat(5000);
    let err = refused(&[State::Ready, State::Status(&big)]);
    assert!(
        matches!(err, Error::MessageTooLarge { len } if len == 5000 + 15),
        "{err:?}"
    );
}

#[test]
fn raw_message_over_4096_bytes() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let err = notifier.notify_raw(&"y".repeat(4097)).unwrap_err();
    assert!(matches!(err, Error::MessageTooLarge { len: 4097 }), "{err:?}");
    assert_nothing_received(&listener);
}

#[test]
fn fdname_with_colon() {
    assert_value_error(
        refused(&[State::FdStore, State::FdName("a:b")]),
        "FDNAME",
        "contains `:`, the separator of $LISTEN_FDNAMES",
    );
}

#[test]
fn fdname_too_long() {
    let long = "n".repeat(256);
    assert_value_error(
        refused(&[State::FdName(&long)]),
        "FDNAME",
        "longer than the 255 bytes systemd allows",
    );
}

#[test]
fn fdname_not_printable_ascii() {
    assert_value_error(
        refused(&[State::FdName("tab\t")]),
        "FDNAME",
        "contains a byte that is not printable ASCII",
    );
}

#[test]
fn duration_overflowing_usec_t() {
    assert_value_error(
        refused(&[State::ExtendTimeoutUsec(Duration::MAX)]),
        "EXTEND_TIMEOUT_USEC",
        "the duration does not fit in 64-bit microseconds",
    );
}

#[test]
fn malformed_addresses() {
    let cases = [
        ("", "it is empty"),
        (
            "relative.sock",
            "expected an absolute path, `@abstract-name` or `vsock:CID:PORT`",
        ),
        ("@", "the abstract socket name after `@` is empty"),
        (
            "vsock:1",
            "a vsock address needs both CID and PORT (`vsock:CID:PORT`)",
        ),
        ("vsock:one:2", "the vsock CID is not a 32-bit decimal number"),
        (
            "vsock-stream:1:99999999999",
            "the vsock PORT is not a 32-bit decimal number",
        ),
    ];
    for (address, reason) in cases {
        match Notifier::connect(address) {
            Err(Error::InvalidAddress {
                address: a,
                reason: r,
            }) => assert_eq!((a.as_str(), r), (address, reason)),
            other => panic!("{address:?}: {other:?}"),
        }
    }
    let too_long = format!("/tmp/{}", "x".repeat(103));
    assert!(matches!(
        Notifier::connect(&too_long),
        Err(Error::InvalidAddress { .. })
    ));
    assert!(matches!(
        Listener::bind("relative"),
        Err(Error::InvalidAddress { .. })
    ));
}

#[test]
fn mainpidfd_without_exactly_one_descriptor() {
    let listener = path_listener();
    let notifier = Notifier::connect(listener.address()).unwrap();
    let pidfd = sdnotify_runtime::Pid::current().pidfd().unwrap();
    let fd = std::os::fd::AsFd::as_fd(&pidfd);
    for fds in [&[][..], &[fd, fd][..]] {
        let err = notifier
            .notify_with_fds(&[State::Ready, State::MainPidFd], fds)
            .unwrap_err();
        assert!(
            matches!(err, Error::FdCount { line: "MAINPIDFD=1", needed: 1, given } if given == fds.len()),
            "{err:?}"
        );
        let raw = sdnotify_runtime::Message::from_raw("READY=1\nMAINPIDFD=1").unwrap();
        assert!(matches!(
            notifier.send(&raw, fds, None),
            Err(Error::FdCount { .. })
        ));
    }
    assert_nothing_received(&listener);
    // Exactly one goes out.
    notifier.notify_with_fds(&[State::MainPidFd], &[fd]).unwrap();
    assert_eq!(listener.recv().unwrap().bytes(), b"MAINPIDFD=1");
}
