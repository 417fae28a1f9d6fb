//! `sdnotify::exit(code)`: for programs that end with `std::process::exit`; the watchdog
//! thread is stopped and STOPPING=1 sent first.

#[sdnotify::main]
fn main() {
    sdnotify::init! {};
    std::thread::sleep(std::time::Duration::from_millis(150));
    sdnotify::exit(4);
}
