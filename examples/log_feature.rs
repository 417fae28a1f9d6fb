//! The `log` feature: the library's own diagnostics and the `SDNOTIFY_DEBUG=1` trace go
//! through the program's logger (here a minimal one writing `[LEVEL target] message`), also
//! what went wrong before `main`'s first line. `EXAMPLE_NO_LOGGER=1` installs none: then they
//! are on stderr as without the feature. Run with `--features log`.

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        eprintln!("[{} {}] {}", record.level(), record.target(), record.args());
    }

    fn flush(&self) {}
}

static LOGGER: Stderr = Stderr;

#[sdnotify::main]
fn main() {
    sdnotify::init! {
        if std::env::var_os("EXAMPLE_NO_LOGGER").is_none() {
            log::set_logger(&LOGGER).expect("the only logger");
            log::set_max_level(log::LevelFilter::Info);
        }
    };
    // Not sendable (a line break): reported, not sent.
    sdnotify::status!("two\nlines");
}
