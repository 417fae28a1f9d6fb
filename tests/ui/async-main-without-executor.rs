#[sdnotify::main]
async fn main() {}
