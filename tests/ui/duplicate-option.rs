#[sdnotify::main(watchdog = "auto", watchdog = "off")]
fn main() {}
