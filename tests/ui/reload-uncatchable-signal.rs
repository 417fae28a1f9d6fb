#[sdnotify::main(reload = "SIGKILL")]
fn main() {}
