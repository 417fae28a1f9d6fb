//! The supervisor's datagram handling: any datagram, sender, descriptor count and access rule
//! gives a barrier, a rejection with a reason, or a notice that respects the access rule and
//! the manager's parsing; never a panic, and never a main pid that is not a positive pid_t.
#![no_main]

#[path = "../../sdnotify-cli/src/run/classify.rs"]
#[allow(dead_code)]
mod classify;

use classify::{classify, Access, Decision, Received, Sender};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::{Notification, Pid};

#[derive(Debug, Arbitrary)]
struct Input {
    bytes: Vec<u8>,
    truncated_by: u16,
    sender: Option<u32>,
    fds: u8,
    fds_truncated: bool,
    main_pid: u32,
    access: u8,
    in_service: bool,
}

fuzz_target!(|input: Input| {
    let Some(main) = Pid::new(input.main_pid) else {
        return;
    };
    let access = [Access::None, Access::Main, Access::Exec, Access::All][usize::from(input.access % 4)];
    let received = Received {
        bytes: &input.bytes,
        len: input.bytes.len() + usize::from(input.truncated_by),
        sender: input.sender,
        fds: usize::from(input.fds),
        fds_truncated: input.fds_truncated,
    };
    let sender = Sender {
        access,
        main,
        in_service: input.in_service,
    };
    match classify(&received, &sender) {
        Decision::Barrier => {
            assert_eq!(received.fds, 1);
            assert!(!input.fds_truncated);
            assert!(Notification::parse(&input.bytes).unwrap().has("BARRIER=1"));
        }
        Decision::Rejected(reason) => assert!(!reason.is_empty()),
        Decision::Notice(notice) => {
            let from_main = input.sender == Some(main.get());
            match access {
                Access::None => panic!("reception disabled, yet a notice"),
                Access::Main | Access::Exec => assert!(from_main),
                Access::All => assert!(from_main || input.in_service),
            }
            assert!(!input.fds_truncated, "a datagram that lost descriptors is never acted on");
            assert!(input.truncated_by == 0, "a truncated datagram is never acted on");
            let n = Notification::parse(&input.bytes).expect("acted on only when the manager would parse it");
            if let Some(text) = &notice.status {
                assert_eq!(n.get("STATUS"), Some(text.as_str()), "the first STATUS wins");
            }
            if let Some(pid) = notice.main_pid {
                assert!(pid.as_raw() > 0);
            }
            if let Some(classify::FdStore::Store { name } | classify::FdStore::Remove { name }) = &notice.fdstore {
                assert!(sdnotify_runtime::fdname_is_valid(name));
            }
        }
    }
});
