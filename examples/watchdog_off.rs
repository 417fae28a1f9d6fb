//! `watchdog = "off"`: no thread, no pings, even with `WATCHDOG_USEC` set.

#[sdnotify::main(watchdog = "off")]
fn main() {
    sdnotify::status!("no watchdog thread here");
    std::thread::sleep(std::time::Duration::from_millis(500));
}
