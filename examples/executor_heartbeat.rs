//! `watchdog = "heartbeat"` in an async `main`: the runtime itself beats, through
//! `sdnotify::executor_heartbeat()` spawned on it. The service works (timers, a status line per
//! second) for `EXAMPLE_RUN_MS` (default 5000) and ends; with `EXAMPLE_BLOCK_AFTER_MS` set, a
//! task makes a blocking call at that point that wedges the single-threaded runtime for
//! `EXAMPLE_BLOCK_MS` (default an hour), the pings stop, and systemd (or `sdnotify run`) kills
//! the service for its watchdog.

use std::time::Duration;

fn env_ms(var: &str) -> Option<Duration> {
    std::env::var(var).ok()?.parse().ok().map(Duration::from_millis)
}

#[tokio::main(flavor = "current_thread")]
#[sdnotify::main(watchdog = "heartbeat")]
async fn main() {
    tokio::spawn(sdnotify::executor_heartbeat());
    sdnotify::init! {};
    if let Some(after) = env_ms("EXAMPLE_BLOCK_AFTER_MS") {
        let block = env_ms("EXAMPLE_BLOCK_MS").unwrap_or(Duration::from_secs(3600));
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            sdnotify::status!("a task blocks the runtime");
            // The mistake the heartbeat catches: a blocking call on the runtime's only thread.
            std::thread::sleep(block);
            sdnotify::status!("the runtime runs again");
        });
    }
    let run = env_ms("EXAMPLE_RUN_MS").unwrap_or(Duration::from_secs(5));
    let mut ticks = 0u64;
    let started = tokio::time::Instant::now();
    while started.elapsed() < run {
        tokio::time::sleep(Duration::from_secs(1)).await;
        ticks += 1;
        sdnotify::status!("serving, {ticks} s");
    }
}
