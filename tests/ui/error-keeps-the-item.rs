// The function is still emitted beside the error, so this is the only error reported:
// `helper` is found and `main`'s body type-checks.
fn helper() -> u32 {
    7
}

#[sdnotify::main(unknown = "x")]
fn main() {
    let n: u32 = sdnotify::init! { helper() };
    println!("{n}");
}
