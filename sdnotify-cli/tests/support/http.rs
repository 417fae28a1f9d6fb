//! Talking to `examples/zero_downtime.rs`: a free port, and `GET /` (it answers its pid); the
//! socket and fd-store units it runs in under the real managers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::user_manager::UserManager;

/// A port free on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET /` on 127.0.0.1:`port`: the answering instance's pid, or why there was none (refused,
/// reset, no answer).
pub fn get_pid(port: u16) -> Result<u32, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET / HTTP/1.0\r\nHost: test\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(|e| e.to_string())?;
    response
        .split("\r\n\r\n")
        .nth(1)
        .and_then(|body| body.trim().parse().ok())
        .ok_or_else(|| format!("not an answer: {response:?}"))
}

/// `server` as a `.socket` unit's service (`ListenStream=127.0.0.1:PORT`,
/// `FileDescriptorName=http`, `Type=notify`), without the start limit (restarts come fast);
/// the service unit's name.
pub fn socket_unit(manager: &UserManager, unit: &str, port: u16, server: &str) -> String {
    let out = manager.systemd_run(&[
        "--unit",
        unit,
        "--socket-property",
        &format!("ListenStream=127.0.0.1:{port}"),
        "--socket-property",
        "FileDescriptorName=http",
        "-p",
        "Type=notify",
        "-p",
        "StartLimitIntervalSec=0",
        "--",
        server,
        "127.0.0.1:1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    format!("{unit}.service")
}

/// `server` binding 127.0.0.1:PORT itself and keeping it in the fd store across restarts
/// (`FileDescriptorStoreMax=1`, `FileDescriptorStorePreserve=restart`, systemd 254+).
pub fn fd_store_unit(manager: &UserManager, unit: &str, port: u16, server: &str) {
    let out = manager.systemd_run(&[
        "--unit",
        unit,
        "-p",
        "Type=notify",
        "-p",
        "FileDescriptorStoreMax=1",
        "-p",
        "FileDescriptorStorePreserve=restart",
        "-p",
        "StartLimitIntervalSec=0",
        "--",
        server,
        &format!("127.0.0.1:{port}"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
