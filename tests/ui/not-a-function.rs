#[sdnotify::main]
struct Service;

fn main() {}
