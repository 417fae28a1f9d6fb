#[sdnotify::main(watchdog)]
fn main() {}
