#[sdnotify::main(reload = "SIGHUP", reload = "SIGUSR1")]
fn main() {}
