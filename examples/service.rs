//! A realistic service: load a configuration, bind a listener, then a work loop that proves it
//! is alive with heartbeats. Run it under `sdnotify run --watchdog 1s -- …` or systemd with
//! `Type=notify` and `WatchdogSec=`.
//!
//! It serves for `SERVICE_RUN_SECS` seconds (default 5), then returns. `SERVICE_INIT_MS` sets
//! how long loading the configuration takes (default 200), `SERVICE_NAME` its name.

use std::io::{ErrorKind, Read};
use std::net::TcpListener;
use std::time::{Duration, Instant};

struct Config {
    name: String,
    bind: String,
    run_for: Duration,
}

fn load_config() -> std::io::Result<Config> {
    let secs = std::env::var("SERVICE_RUN_SECS").unwrap_or_else(|_| "5".to_owned());
    let secs: f64 = secs
        .parse()
        .map_err(|_| std::io::Error::new(ErrorKind::InvalidInput, format!("SERVICE_RUN_SECS={secs:?}")))?;
    let init_ms = std::env::var("SERVICE_INIT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    std::thread::sleep(Duration::from_millis(init_ms)); // pretend to parse a large file
    Ok(Config {
        name: std::env::var("SERVICE_NAME").unwrap_or_else(|_| "demo".to_owned()),
        bind: std::env::var("SERVICE_BIND").unwrap_or_else(|_| "127.0.0.1:0".to_owned()),
        run_for: Duration::from_secs_f64(secs),
    })
}

#[sdnotify::main(watchdog = "heartbeat")]
fn main() -> std::io::Result<()> {
    let (config, listener) = sdnotify::init! {
        sdnotify::status!("loading configuration");
        let config = load_config()?;
        sdnotify::status!("binding {}", config.bind);
        let listener = TcpListener::bind(&config.bind)?;
        listener.set_nonblocking(true)?;
        (config, listener)
    };
    let started = Instant::now();
    let mut served = 0u64;
    sdnotify::status!("{} listening on {}", config.name, listener.local_addr()?);
    while started.elapsed() < config.run_for {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let mut buf = [0u8; 64];
                let _ = stream.read(&mut buf);
                served += 1;
                sdnotify::status!("served {served} connections");
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(e),
        }
        sdnotify::heartbeat();
    }
    sdnotify::status!("shutting down after {served} connections");
    Ok(())
}
