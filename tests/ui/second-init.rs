#[sdnotify::main]
fn main() {
    let a = sdnotify::init! { 1 };
    let b = sdnotify::init! { 2 };
    println!("{a} {b}");
}
