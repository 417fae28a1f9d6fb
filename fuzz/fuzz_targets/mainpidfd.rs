//! `MAINPIDFD=1` needs exactly one descriptor: any text the runtime would send goes out without
//! one only when the manager's parser finds no `MAINPIDFD=1` line in it, and is refused with
//! `Error::FdCount` (nothing sent) when it does.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::manager::Listener;
use sdnotify_runtime::{Error, Message, Notification, Notifier};

fn pair() -> &'static (Listener, Notifier) {
    static PAIR: OnceLock<(Listener, Notifier)> = OnceLock::new();
    PAIR.get_or_init(|| {
        let listener = Listener::bind_unique().unwrap();
        let notifier = Notifier::connect(listener.address()).unwrap();
        (listener, notifier)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(message) = Message::from_raw(text) else {
        return;
    };
    let (listener, notifier) = pair();
    let named = Notification::parse(data).is_ok_and(|n| n.has("MAINPIDFD=1"));
    match notifier.send(&message, &[], None) {
        Err(Error::FdCount { given: 0, .. }) => assert!(named, "refused without MAINPIDFD=1: {text:?}"),
        Ok(()) => {
            assert!(!named, "sent MAINPIDFD=1 without its pidfd: {text:?}");
            assert_eq!(listener.recv().unwrap().bytes(), data);
        }
        Err(other) => panic!("{other:?} for {text:?}"),
    }
});
