//! `examples/reload.rs` in async code: the same greeter on tokio's runtime, waiting for a reload
//! request and for its next greeting in one `select!`. It reloads on SIGUSR1, to show a reload
//! signal other than SIGHUP: its unit says `Type=notify-reload` and `ReloadSignal=SIGUSR1`.
//!
//! ```text
//! printf 'greeting = hello\n' > greeter.conf
//! cargo run --example reload_tokio greeter.conf &
//! kill -USR1 $!     # reloads (off systemd the handshake is simply not sent)
//! ```

#[path = "greeter/config.rs"]
mod config;

use config::{Config, ConfigError};

#[sdnotify::main(reload = "SIGUSR1")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), ConfigError> {
    let path = config::path_from_args();
    let mut config = sdnotify::init! {
        sdnotify::status!("loading {}", path.display());
        let config = Config::load(&path)?;
        tokio::time::sleep(config.warmup).await; // warming caches
        sdnotify::status!("{}", config.describe(1));
        config
    };
    let mut generation = 1;
    loop {
        tokio::select! {
            () = sdnotify::reload_request() => {
                // Any future works here; the file is small, so it is read in place.
                let reloaded = sdnotify::reload_async(async {
                    let new = Config::load(&path)?;
                    tokio::time::sleep(new.warmup).await; // warming caches for it
                    sdnotify::status!("{}", new.describe(generation + 1));
                    Ok::<_, ConfigError>(new)
                })
                .await;
                match reloaded {
                    Ok(new) => {
                        config = new;
                        generation += 1;
                    }
                    Err(err) => eprintln!("reload failed, keeping configuration #{generation}: {err}"),
                }
            }
            () = tokio::time::sleep(config.interval) => println!("{}", config.greeting),
        }
    }
}
