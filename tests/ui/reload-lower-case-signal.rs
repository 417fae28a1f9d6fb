#[sdnotify::main(reload = "sigusr1")]
fn main() {}
