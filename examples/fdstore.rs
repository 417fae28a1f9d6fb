//! The fd store and what the newest manager tells a service through its environment:
//! `$FDSTORE` (254+), `$MAINPIDFDID` and `$MANAGERPIDFDID` (258+). A listening socket goes to the
//! fd store (`sdnotify::fdstore`), which refuses clearly where the unit keeps no descriptors.

use std::os::fd::AsFd;
use std::time::Duration;

#[sdnotify::main]
fn main() -> std::io::Result<()> {
    println!("fdstore_max {:?}", sdnotify::env::fdstore_max());
    println!("fdstore_enabled {:?}", sdnotify::env::fdstore_enabled());
    let own = sdnotify::pidfd_id(sdnotify::Pid::current()).ok().flatten();
    println!("main_pidfd_id {:?} own {own:?}", sdnotify::env::main_pidfd_id());
    println!("manager_pidfd_id {:?}", sdnotify::env::manager_pidfd_id());
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    match sdnotify::fdstore("http", &[listener.as_fd()]) {
        Ok(sent) => println!("fdstore sent {sent}"),
        Err(e) => println!("fdstore refused: {e}"),
    }
    let _ = sdnotify::barrier(Duration::from_secs(5));
    let ms = std::env::var("EXAMPLE_RUN_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    std::thread::sleep(Duration::from_millis(ms));
    Ok(())
}
