//! A graceful shutdown without an async runtime: `sdnotify::wait_shutdown()` blocks until
//! SIGTERM or SIGINT, and STOPPING=1 has gone out when it returns, so the manager shows the
//! service `deactivating` while it finishes its work (`SHUTDOWN_DRAIN_MS`, 300 ms by default).
//!
//! ```text
//! sdnotify run -- cargo run --example shutdown     # then Ctrl-C
//! ```

use std::time::Duration;

#[sdnotify::main]
fn main() {
    let drain = std::env::var("SHUTDOWN_DRAIN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(300), Duration::from_millis);
    sdnotify::init! {
        // SIGTERM and SIGINT are caught from here on, before READY=1.
        let _ = sdnotify::shutdown_pending();
        std::thread::spawn(|| loop {
            // ... serve ...
            std::thread::sleep(Duration::from_millis(50));
        });
    };
    sdnotify::wait_shutdown();
    println!("draining");
    std::thread::sleep(drain); // finish the work under way
    assert!(sdnotify::shutdown_pending());
}
