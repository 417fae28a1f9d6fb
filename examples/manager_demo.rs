//! A service and a stand-in manager in one program, to watch the protocol with no systemd.
//!
//! `cargo run --example manager_demo` binds a notification socket, starts itself again as the
//! "service" with `NOTIFY_SOCKET` and `WATCHDOG_USEC` set, and prints every notification it
//! receives with its time, until the service exits.

use std::process::Command;
use std::time::{Duration, Instant};

use sdnotify::manager::Listener;
use sdnotify::State;

const ROLE: &str = "SDNOTIFY_DEMO_ROLE";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os(ROLE).is_some() {
        return service();
    }
    let listener = Listener::bind_unique()?;
    listener.set_read_timeout(Some(Duration::from_secs(10)))?;
    let start = Instant::now();
    let mut child = Command::new(std::env::current_exe()?)
        .env(ROLE, "service")
        .env("NOTIFY_SOCKET", listener.address())
        .env("WATCHDOG_USEC", "400000")
        .spawn()?;
    println!(
        "manager: listening on {:?}, started pid {}",
        listener.address(),
        child.id()
    );
    loop {
        let datagram = listener.recv()?;
        let from = datagram.pid().unwrap_or(0);
        let notification = datagram.parse()?;
        for line in notification.lines() {
            println!(
                "manager: {:>7.3}s  pid {from}  {line}",
                start.elapsed().as_secs_f64()
            );
        }
        if notification.has("STOPPING=1") {
            break;
        }
    }
    let status = child.wait()?;
    println!("manager: service exited with {status}");
    Ok(())
}

/// The service: what a daemon does with the runtime API directly.
fn service() -> Result<(), Box<dyn std::error::Error>> {
    sdnotify::status("loading configuration")?;
    std::thread::sleep(Duration::from_millis(300));
    sdnotify::notify(&[State::Ready, State::Status("serving")])?;
    let interval = sdnotify::watchdog_enabled()?.expect("the demo manager sets WATCHDOG_USEC");
    for _ in 0..4 {
        std::thread::sleep(interval / 2);
        sdnotify::watchdog_ping()?;
    }
    sdnotify::notify(&[State::Stopping, State::Status("shutting down")])?;
    Ok(())
}
