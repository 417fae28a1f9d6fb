//! A panic after start-up: STOPPING=1 with the panic message as STATUS, exit code 101.

#[sdnotify::main]
fn main() {
    sdnotify::init! {};
    let items: Vec<u32> = Vec::new();
    if items.is_empty() {
        panic!("no items to process");
    }
}
