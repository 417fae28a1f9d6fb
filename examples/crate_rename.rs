//! `crate = "path"`: for a renamed `sdnotify` dependency (here simulated with `use … as`).

use sdnotify as notifications;

#[notifications::main(crate = "notifications")]
fn main() {
    let answer = notifications::init! { 42 };
    notifications::status!("the answer is {answer}");
}
