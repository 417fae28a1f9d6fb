#[sdnotify::main]
fn main() {
    if std::env::args().len() > 0 {
        let config = sdnotify::init! { "config" };
        println!("{config}");
    }
}
