//! The manager-rules parser: any datagram is refused for one of its three reasons, or gives
//! non-empty lines that, escaped again, parse back to the same lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::{Notification, ParseError};

fn escape(line: &str) -> String {
    let mut out = String::new();
    for c in line.chars() {
        if matches!(c, '\\' | '\n' | '\r') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fuzz_target!(|data: &[u8]| {
    match Notification::parse(data) {
        Ok(n) => {
            assert!(data.len() <= 4096 && !data.contains(&0));
            assert!(n.lines().iter().all(|l| !l.is_empty()));
            if n.is_utf8() {
                let again: Vec<String> = n.lines().iter().map(|l| escape(l)).collect();
                let reparsed = Notification::parse(again.join("\n").as_bytes());
                if let Ok(reparsed) = reparsed {
                    assert_eq!(reparsed.lines(), n.lines());
                }
            }
        }
        Err(ParseError::TooLarge { len }) => assert!(len > 4096),
        Err(ParseError::Nul { offset }) => assert_eq!(data[offset], 0),
        Err(ParseError::TrailingBackslash) => assert_eq!(data.last(), Some(&b'\\')),
        Err(other) => panic!("unexpected error: {other:?}"),
    }
});
