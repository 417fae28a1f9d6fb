fn main() {
    let config = sdnotify::init! { "config" };
    println!("{config}");
}
