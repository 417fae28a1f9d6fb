#[sdnotify::main(reload = "SIGHUPP")]
fn main() {}
