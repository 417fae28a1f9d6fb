//! `watchdog = "auto"` (the default): the thread pings every `WATCHDOG_USEC / 2` for as long as
//! the process runs, even while `main` is blocked.

use std::time::Duration;

fn run_for() -> Duration {
    let ms = std::env::var("EXAMPLE_RUN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    Duration::from_millis(ms)
}

#[sdnotify::main]
fn main() {
    sdnotify::init! {
        sdnotify::status!("starting");
        std::thread::sleep(Duration::from_millis(300));
    };
    sdnotify::status!("blocked, but the watchdog thread keeps pinging");
    std::thread::sleep(run_for());
}
