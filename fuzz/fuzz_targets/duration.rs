//! `sdnotify run`'s time spans (systemd.time(7)): any text parses or is refused with a reason;
//! never a panic, never an overflow, and what is accepted fits in usec_t below infinity.
#![no_main]

#[path = "../../sdnotify-cli/src/run/duration.rs"]
mod duration;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match duration::parse(text) {
        Ok(Some(span)) => assert!(span.as_micros() < u128::from(u64::MAX)),
        Ok(None) => assert_eq!(text.trim(), "infinity"),
        Err(reason) => assert!(!reason.is_empty()),
    }
});
