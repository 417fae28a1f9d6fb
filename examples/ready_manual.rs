//! `ready = "manual"`: start-up ends where the program says so, with `sdnotify::ready()`.

use std::time::Duration;

#[sdnotify::main(ready = "manual")]
fn main() -> Result<(), sdnotify::Error> {
    sdnotify::status!("waiting for the first job");
    std::thread::sleep(Duration::from_millis(200));
    sdnotify::ready()?;
    sdnotify::status!("working");
    Ok(())
}
