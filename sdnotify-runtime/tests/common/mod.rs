//! Helpers shared by the runtime's integration tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use sdnotify_runtime::manager::{Datagram, Listener};

/// A listener at a unique path in the temp dir (removed on drop).
pub fn path_listener() -> Listener {
    Listener::bind_unique_in(std::env::temp_dir()).expect("bind a unique temp path")
}

/// The next datagram, failing the test if none comes within 5 s.
pub fn recv(listener: &Listener) -> Datagram {
    listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    listener.recv().expect("a datagram within 5 s")
}

/// Asserts that nothing reached the listener (waits 100 ms).
pub fn assert_nothing_received(listener: &Listener) {
    listener
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    match listener.recv() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok(d) => panic!(
            "expected nothing, received {:?}",
            String::from_utf8_lossy(d.bytes())
        ),
        Err(e) => panic!("recv failed: {e}"),
    }
}
