//! The message, line by line, exactly as systemd-notify assembles it.

use std::os::unix::ffi::OsStrExt;

use crate::args::Args;

/// systemd-notify's fixed order (`RELOADING=1`, `MONOTONIC_USEC=`, `READY=1`, `STOPPING=1`,
/// `STATUS=`, `MAINPID=`, `MAINPIDFDID=` (257+), `FDSTORE=1`, `FDNAME=`), then each operand replacing the line of the
/// same name in place, or appended. Lines are bytes: an argument need not be UTF-8.
pub(crate) fn lines(args: &Args, main_pid: Option<(u32, Option<u64>)>, monotonic_usec: u64) -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut text = |line: String| lines.push(line.into_bytes());
    if args.reloading {
        text("RELOADING=1".to_owned());
        text(format!("MONOTONIC_USEC={monotonic_usec}"));
    }
    if args.ready {
        text("READY=1".to_owned());
    }
    if args.stopping {
        text("STOPPING=1".to_owned());
    }
    if let Some(status) = &args.status {
        lines.push([b"STATUS=".as_slice(), status.as_bytes()].concat());
    }
    let mut text = |line: String| lines.push(line.into_bytes());
    if let Some((pid, fd_id)) = main_pid {
        text(format!("MAINPID={pid}"));
        if let Some(id) = fd_id {
            text(format!("MAINPIDFDID={id}"));
        }
    }
    if !args.fds.is_empty() {
        text("FDSTORE=1".to_owned());
    }
    if let Some(name) = &args.fdname {
        text(format!("FDNAME={name}"));
    }
    for operand in &args.operands {
        merge(&mut lines, operand.as_bytes());
    }
    lines
}

/// How systemd-notify 252 merges an operand, as measured against it: an operand with `=`
/// replaces the first line starting with `NAME=`; one without `=` replaces the first line it
/// is a prefix of (so `""` replaces the first line). Anything else is appended.
fn merge(lines: &mut Vec<Vec<u8>>, operand: &[u8]) {
    let slot = match operand.iter().position(|&b| b == b'=') {
        Some(at) => {
            let name = &operand[..at];
            lines.iter_mut().find(|line| {
                line.strip_prefix(name)
                    .is_some_and(|rest| rest.first() == Some(&b'='))
            })
        }
        None => lines.iter_mut().find(|line| line.starts_with(operand)),
    };
    match slot {
        Some(line) => *line = operand.to_owned(),
        None => lines.push(operand.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: Vec<Vec<u8>>) -> Vec<String> {
        lines.into_iter().map(|l| String::from_utf8(l).unwrap()).collect()
    }

    fn args(f: impl FnOnce(&mut Args)) -> Args {
        let mut a = Args::default();
        f(&mut a);
        a
    }

    #[test]
    fn fixed_order_whatever_the_command_line() {
        let a = args(|a| {
            a.status = Some("x".into());
            a.ready = true;
            a.reloading = true;
            a.stopping = true;
            a.fds = vec![3];
            a.fdname = Some("n".into());
        });
        assert_eq!(
            text(lines(&a, Some((5, Some(9))), 77)),
            [
                "RELOADING=1",
                "MONOTONIC_USEC=77",
                "READY=1",
                "STOPPING=1",
                "STATUS=x",
                "MAINPID=5",
                "MAINPIDFDID=9",
                "FDSTORE=1",
                "FDNAME=n"
            ]
        );
    }

    #[test]
    fn operands_replace_in_place_or_append() {
        let a = args(|a| {
            a.ready = true;
            a.status = Some("hello world".into());
            a.operands = ["READY=0", "STATUS=override", "X_A=1"].map(Into::into).to_vec();
        });
        assert_eq!(text(lines(&a, None, 0)), ["READY=0", "STATUS=override", "X_A=1"]);
        let b = args(|a| {
            a.ready = true;
            a.operands = ["X=1", "X=2", "Y", "Z="].map(Into::into).to_vec();
        });
        assert_eq!(text(lines(&b, None, 0)), ["READY=1", "X=2", "Y", "Z="]);
        let c = args(|a| {
            a.ready = true;
            a.operands = vec!["READY".into()];
        });
        assert_eq!(text(lines(&c, None, 0)), ["READY"]);
    }

    /// Measured with systemd-notify 252 (`--no-block` and the flags, then the operands).
    #[test]
    fn operands_without_a_value_as_measured() {
        let case = |ready: bool, status: Option<&str>, operands: &[&str]| {
            let a = args(|a| {
                a.ready = ready;
                a.status = status.map(Into::into);
                a.operands = operands.iter().map(Into::into).collect();
            });
            text(lines(&a, None, 0)).join("\n")
        };
        assert_eq!(case(true, Some("x"), &[""]), "\nSTATUS=x");
        assert_eq!(case(true, Some("x"), &["STATUS"]), "READY=1\nSTATUS");
        assert_eq!(case(true, Some("x"), &["READY"]), "READY\nSTATUS=x");
        assert_eq!(case(true, None, &["Y", "Y"]), "READY=1\nY");
        assert_eq!(case(false, Some("x"), &["", "X=1"]), "\nX=1");
        assert_eq!(case(true, Some("x"), &["STAT"]), "READY=1\nSTAT");
        assert_eq!(case(true, None, &["X", "X=2"]), "READY=1\nX\nX=2");
        assert_eq!(case(true, None, &["=5"]), "READY=1\n=5");
    }

    #[test]
    fn arguments_that_are_not_utf8_are_sent_as_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let a = args(|a| {
            a.ready = true;
            a.operands = vec![std::ffi::OsString::from_vec(b"X_PATH=/srv/\xff".to_vec())];
        });
        assert_eq!(
            lines(&a, None, 0),
            [b"READY=1".to_vec(), b"X_PATH=/srv/\xff".to_vec()]
        );
    }
}
