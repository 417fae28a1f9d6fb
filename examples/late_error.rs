//! An `Err` after start-up: READY=1, then STOPPING=1 with the error as STATUS, exit code 1.

#[derive(Debug)]
#[allow(dead_code)] // read through `Debug`, which the STATUS line shows
enum AppError {
    LostConnection { peer: &'static str },
}

#[sdnotify::main]
fn main() -> Result<(), AppError> {
    sdnotify::init! {
        sdnotify::status!("connecting");
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    Err(AppError::LostConnection { peer: "db:5432" })
}
