#[sdnotify::main(ready = "manual")]
fn main() {
    sdnotify::init! {
        let _config = 1;
    };
    sdnotify::ready().ok();
}
