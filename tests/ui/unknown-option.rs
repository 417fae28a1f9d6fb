#[sdnotify::main(watchdg = "auto")]
fn main() {}
