//! A service that re-reads its configuration when systemd asks it to reload
//! (`Type=notify-reload`): it prints a greeting every interval, both taken from a small
//! configuration file (see `greeter/config.rs`), and `systemctl reload` makes it read the file
//! again. A file that no longer parses fails the reload: the service keeps its configuration,
//! says why in its status, and goes on.
//!
//! ```text
//! printf 'greeting = hello\ninterval_ms = 500\n' > greeter.conf
//! sdnotify run --type=notify-reload --reload-after=2s -- cargo run --example reload greeter.conf
//! ```
//!
//! As a systemd unit: `Type=notify-reload` and `ExecStart=/path/to/reload /etc/greeter.conf`.

#[path = "greeter/config.rs"]
mod config;

use config::{Config, ConfigError};

#[sdnotify::main(reload = "SIGHUP")]
fn main() -> Result<(), ConfigError> {
    let path = config::path_from_args();
    // SIGHUP means "reload" from here on, before READY=1 (systemd 262 checks that): one that
    // arrives while this section runs is remembered and served right after it.
    let mut config = sdnotify::init! {
        sdnotify::status!("loading {}", path.display());
        let config = Config::load(&path)?;
        std::thread::sleep(config.warmup); // warming caches
        sdnotify::status!("{}", config.describe(1));
        config
    };
    let mut generation = 1;
    loop {
        println!("{}", config.greeting);
        if !sdnotify::wait_reload_request_timeout(config.interval) {
            continue;
        }
        // RELOADING=1 + MONOTONIC_USEC now; READY=1 when the closure returns, with the error in
        // STATUS= if it failed.
        let reloaded = sdnotify::reload(|| {
            let new = Config::load(&path)?;
            std::thread::sleep(new.warmup); // warming caches for the new configuration
            sdnotify::status!("{}", new.describe(generation + 1));
            Ok::<_, ConfigError>(new)
        });
        match reloaded {
            Ok(new) => {
                config = new;
                generation += 1;
            }
            Err(err) => eprintln!("reload failed, keeping configuration #{generation}: {err}"),
        }
    }
}
