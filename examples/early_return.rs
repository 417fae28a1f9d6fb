//! An early `return` and a custom exit code: STOPPING=1 is still sent, the code is unchanged.

use std::process::ExitCode;

#[sdnotify::main]
fn main() -> ExitCode {
    let quick = sdnotify::init! { std::env::args().len() == 1 };
    if quick {
        return ExitCode::from(3);
    }
    ExitCode::SUCCESS
}
