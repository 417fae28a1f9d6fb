//! `watchdog = "heartbeat"`: pings only while the main loop calls `sdnotify::heartbeat()`.
//! After `EXAMPLE_WEDGE_AFTER_MS` (default 1000) the loop wedges, the pings stop, and systemd
//! (or `sdnotify run`) kills the service with SIGABRT.

use std::time::{Duration, Instant};

fn env_ms(var: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

#[sdnotify::main(watchdog = "heartbeat")]
fn main() {
    sdnotify::init! {};
    let wedge_after = env_ms("EXAMPLE_WEDGE_AFTER_MS", 1000);
    let start = Instant::now();
    while start.elapsed() < wedge_after {
        std::thread::sleep(Duration::from_millis(20));
        sdnotify::heartbeat();
    }
    sdnotify::status!("wedged");
    std::thread::sleep(env_ms("EXAMPLE_RUN_MS", 3000));
}
