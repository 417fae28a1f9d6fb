//! NOTIFY_SOCKET parsing: any bytes give an address that remembers them exactly, or
//! `Error::InvalidAddress`; never a panic or another error kind.
#![no_main]

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use libfuzzer_sys::fuzz_target;
use sdnotify_runtime::{Error, NotifyAddress};

fuzz_target!(|data: &[u8]| {
    match NotifyAddress::parse(OsStr::from_bytes(data)) {
        Ok(address) => {
            assert_eq!(address.as_bytes(), data);
            assert!(matches!(data.first(), Some(b'/' | b'@' | b'v')));
        }
        Err(Error::InvalidAddress { .. }) => {}
        Err(other) => panic!("unexpected error kind: {other:?}"),
    }
});
