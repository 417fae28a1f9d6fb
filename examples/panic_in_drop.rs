//! A panic while unwinding from another panic (a destructor that fails during cleanup) aborts
//! the process without running any other destructor; STOPPING=1 is still sent, from the panic
//! hook, with both panics in STATUS.

/// Flushes a buffer on drop, and fails when the disk is gone.
struct Journal;

impl Drop for Journal {
    fn drop(&mut self) {
        if std::thread::panicking() {
            panic!("journal flush failed");
        }
    }
}

#[sdnotify::main]
fn main() {
    let _journal = Journal;
    sdnotify::init! {};
    panic!("request handler failed");
}
