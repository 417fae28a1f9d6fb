#[sdnotify::main(reload = "SIGRTMIN+40")]
fn main() {}
