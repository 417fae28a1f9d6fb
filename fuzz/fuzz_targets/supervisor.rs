//! The supervisor's datagram handling: any datagram, sender and descriptor count gives a
//! barrier, a rejection with a reason, or actions that respect the access rule and the
//! manager's parsing; never a panic.
#![no_main]

#[path = "../../sdnotify-cli/src/run/classify.rs"]
mod classify;

use classify::{classify, Action, Decision, Received};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::Notification;

#[derive(Debug, Arbitrary)]
struct Input {
    bytes: Vec<u8>,
    truncated_by: u16,
    sender: Option<u32>,
    fds: u8,
    main_pid: u32,
    access_all: bool,
}

fuzz_target!(|input: Input| {
    let received = Received {
        bytes: &input.bytes,
        len: input.bytes.len() + usize::from(input.truncated_by),
        sender: input.sender,
        fds: usize::from(input.fds),
    };
    match classify(&received, input.main_pid, input.access_all) {
        Decision::Barrier => {
            assert_eq!(received.fds, 1);
            assert!(Notification::parse(&input.bytes).unwrap().has("BARRIER=1"));
        }
        Decision::Rejected(reason) => assert!(!reason.is_empty()),
        Decision::Actions(actions) => {
            assert!(input.access_all || input.sender == Some(input.main_pid));
            assert!(input.truncated_by == 0, "a truncated datagram is never acted on");
            let n = Notification::parse(&input.bytes).expect("acted on only when the manager would parse it");
            assert!(actions.len() <= n.lines().len());
            for action in &actions {
                if let Action::Status(text) = action {
                    assert_eq!(n.get("STATUS"), Some(text.as_str()), "the first STATUS wins");
                }
                if let Action::MainPid(pid) = action {
                    assert!(*pid > 0);
                }
            }
        }
    }
});
