#[sdnotify::main]
fn main() {
    while !sdnotify::reload_requested() {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
