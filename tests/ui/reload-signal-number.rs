#[sdnotify::main(reload = "1")]
fn main() {}
