#[sdnotify::main]
fn main() {
    let start = || sdnotify::init! {
        let _config = 1;
    };
    start();
}
