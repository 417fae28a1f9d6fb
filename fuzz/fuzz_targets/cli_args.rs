//! CLI argument handling: any argument vector is a clap error, or composes lines that are
//! refused with a typed error or sent as a message the manager reads back line for line.
#![no_main]

#[path = "../../sdnotify-cli/src/args.rs"]
#[allow(dead_code)]
mod args;
#[path = "../../sdnotify-cli/src/compose.rs"]
mod compose;

use std::ffi::OsString;

use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::{Error, Message, Notification};

fuzz_target!(|argv: Vec<String>| {
    let mut full: Vec<OsString> = vec!["sdnotify".into()];
    full.extend(argv.into_iter().map(OsString::from));
    let Ok(args) = args::parse(&full) else { return };
    let lines = compose::lines(&args, Some((42, None)), 7);
    match Message::from_lines(&lines) {
        Ok(message) => {
            let parsed = Notification::parse(message.as_bytes()).expect("the manager accepts what we send");
            let expected: Vec<String> = lines
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            assert_eq!(parsed.lines(), &expected[..]);
        }
        Err(Error::InvalidValue { .. }) => assert!(lines.iter().any(|l| {
            l.iter().any(|b| matches!(b, b'\n' | b'\r' | 0))
                || l.strip_prefix(b"STATUS=").is_some_and(|v| std::str::from_utf8(v).is_err())
        })),
        Err(Error::MessageTooLarge { len }) => assert!(len > 4096),
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
