//! Annotated code in a crate that denies the lints users commonly deny.
#![deny(warnings, unused_qualifications, dead_code, unused_results, clippy::all, clippy::pedantic)]

use std::process::ExitCode;

#[derive(Debug)]
struct Failure;

fn work() -> Result<u8, Failure> {
    Ok(3)
}

#[sdnotify::main(watchdog = "heartbeat")]
fn main() -> Result<(), Failure> {
    let n = sdnotify::init! {
        sdnotify::status!("starting {}", 1);
        work()?
    };
    sdnotify::heartbeat();
    if n > 10 {
        return Err(Failure);
    }
    let _code = other();
    Ok(())
}

#[sdnotify::main(ready = "manual", watchdog = "off")]
fn other() -> ExitCode {
    ExitCode::SUCCESS
}
