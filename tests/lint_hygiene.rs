//! Annotated code under the lints users commonly deny. rustc checks the rustc lints when this
//! test builds; `cargo clippy --all-targets -- -D warnings` (run by CI) checks the clippy ones.
#![deny(
    warnings,
    unused_qualifications,
    dead_code,
    unused_results,
    clippy::all,
    clippy::pedantic
)]

use std::process::ExitCode;

#[derive(Debug)]
struct Failure;

fn work(input: &str) -> Result<u8, Failure> {
    input.parse().map_err(|_| Failure)
}

#[sdnotify::main(watchdog = "heartbeat")]
fn service() -> Result<(), Failure> {
    let n = sdnotify::init! {
        sdnotify::status!("starting {}", 1);
        work("3")?
    };
    sdnotify::heartbeat();
    if n > 10 {
        return Err(Failure);
    }
    Ok(())
}

#[sdnotify::main(ready = "manual", watchdog = "off")]
fn exit_code() -> ExitCode {
    ExitCode::SUCCESS
}

#[sdnotify::main]
#[tokio::main(flavor = "current_thread")]
async fn asynchronous() -> Result<u8, Failure> {
    let n = sdnotify::init! { work("3")? };
    Ok(n)
}

#[test]
fn annotated_functions_compile_clean_and_run_off_systemd() {
    assert!(service().is_ok());
    assert_eq!(exit_code(), ExitCode::SUCCESS);
    assert_eq!(asynchronous().unwrap(), 3);
}
