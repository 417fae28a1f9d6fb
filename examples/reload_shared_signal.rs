//! The reload signal shared with tokio's own signal handling: `reload = "SIGUSR1"` installs
//! its handler when `main` starts, tokio's `signal()` installs another later, and each SIGUSR1
//! reaches both (each handler calls the one installed before it). Prints what each saw, for
//! two signals, then ends.
//!
//! ```text
//! cargo run --example reload_shared_signal & sleep 1; kill -USR1 $!; sleep 0.2; kill -USR1 $!
//! ```

use tokio::signal::unix::{signal, SignalKind};

#[sdnotify::main(reload = "SIGUSR1")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let mut usr1 = signal(SignalKind::user_defined1())?;
    println!("listening");
    for _ in 0..2 {
        usr1.recv().await;
        // The signal ran tokio's handler, then sdnotify's, before this task woke.
        println!(
            "tokio saw SIGUSR1; sdnotify's request: {}",
            sdnotify::reload_requested()
        );
    }
    Ok(())
}
