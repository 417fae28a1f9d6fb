//! Arguments that are not UTF-8 travel as bytes, as with systemd-notify (only STATUS must be
//! UTF-8: the manager ignores any other status).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::Duration;

use sdnotify_runtime::manager::Listener;

const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

fn send(program: &str, args: &[&OsStr]) -> (Option<i32>, Option<Vec<u8>>, String) {
    let listener = Listener::bind_unique().unwrap();
    listener
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut cmd = Command::new(program);
    sdnotify_runtime::env::scrub(&mut cmd);
    let out = cmd
        .env("NOTIFY_SOCKET", listener.address())
        .arg("--no-block")
        .args(args)
        .output()
        .unwrap();
    let received = listener.recv().ok().map(|d| d.bytes().to_vec());
    (
        out.status.code(),
        received,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_value_that_is_not_utf8_is_sent_as_bytes() {
    let arg = OsStr::from_bytes(b"X_PATH=/srv/caf\xe9");
    let (code, bytes, stderr) = send(SDNOTIFY, &[OsStr::new("--ready"), arg]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(bytes.as_deref(), Some(&b"READY=1\nX_PATH=/srv/caf\xe9"[..]));
    if let Ok(path) = which("systemd-notify") {
        let (oracle_code, oracle, _) = send(&path, &[OsStr::new("--ready"), arg]);
        assert_eq!((oracle_code, oracle), (code, bytes), "systemd-notify differs");
    }
}

#[test]
fn a_status_that_is_not_utf8_is_refused_and_nothing_is_sent() {
    let arg = OsStr::from_bytes(b"--status=caf\xe9");
    let (code, bytes, stderr) = send(SDNOTIFY, &[arg]);
    assert_eq!((code, bytes), (Some(1), None));
    assert!(stderr.contains("is not UTF-8"), "{stderr}");
}

fn which(name: &str) -> Result<String, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
        .ok_or(())
}
