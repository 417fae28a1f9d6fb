//! An `Err` inside `init!`: READY=1 is never sent; STOPPING=1 and a STATUS saying what failed
//! are, and the exit code is what Rust gives any `main` returning `Err` (1).

#[sdnotify::main]
fn main() -> Result<(), std::io::Error> {
    let config = sdnotify::init! {
        sdnotify::status!("reading /nonexistent/app.toml");
        std::fs::read_to_string("/nonexistent/app.toml")?
    };
    println!("unreachable: {config}");
    Ok(())
}
