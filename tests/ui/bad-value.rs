#[sdnotify::main(watchdog = "sometimes", ready = "later")]
fn main() {}
