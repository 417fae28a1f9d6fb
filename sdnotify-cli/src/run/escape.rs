//! Making what a service sends safe to print: no byte from a service may move the cursor,
//! recolour the terminal, ring the bell or start a line that looks like the supervisor's own.
//! Text mode escapes whole lines here; JSON escapes the same characters inside strings.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

/// Characters a terminal acts on instead of showing: C0 and C1 controls, DEL, the line and
/// paragraph separators, and the bidirectional overrides (which reorder what follows).
pub(crate) fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A line with every unsafe character written as `\xNN` (C0, DEL) or `\u{NNNN}`.
pub(crate) fn text(line: &str) -> Cow<'_, str> {
    if !line.chars().any(is_unsafe) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            c if is_unsafe(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A JSON string literal; unsafe characters as `\uNNNN`.
pub(crate) fn json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) || (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A command line as a POSIX shell (bash for `$'…'`) needs it to run the same command:
/// `sh -c 'exit 0' 'a b' ''` prints as written.
pub(crate) fn shell_words(words: &[impl AsRef<OsStr>]) -> String {
    words
        .iter()
        .map(|w| shell_word(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_word(word: &OsStr) -> String {
    let bytes = word.as_bytes();
    let plain = |b: &u8| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(b);
    if !bytes.is_empty() && bytes.iter().all(plain) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(is_unsafe) => format!("'{}'", s.replace('\'', r"'\''")),
        // Control characters or bytes that are not UTF-8: bash's $'…' with escapes.
        _ => {
            let mut out = String::from("$'");
            for &b in bytes {
                match b {
                    b'\'' | b'\\' => {
                        out.push('\\');
                        out.push(b as char);
                    }
                    0x20..=0x7e => out.push(b as char),
                    _ => {
                        let _ = write!(out, "\\x{b:02x}");
                    }
                }
            }
            out.push('\'');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_never_reach_the_terminal() {
        assert_eq!(text("ok"), "ok");
        assert_eq!(text("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
        assert_eq!(text("a\n[    0.1s] READY"), "a\\x0a[    0.1s] READY");
        assert_eq!(text("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(text("\u{9b}2J"), "\\u{009b}2J");
        assert_eq!(json("a\u{1b}b\u{7f}\u{202e}"), "\"a\\u001bb\\u007f\\u202e\"");
    }

    #[test]
    fn commands_are_quoted_as_a_shell_needs_them() {
        assert_eq!(
            shell_words(&["sh", "-c", "exit 0", "a b", ""]),
            "sh -c 'exit 0' 'a b' ''"
        );
        assert_eq!(shell_words(&["echo", "it's"]), r"echo 'it'\''s'");
        assert_eq!(shell_words(&["printf", "a\nb"]), r"printf $'a\x0ab'");
        assert_eq!(shell_words(&[OsStr::from_bytes(b"caf\xe9")]), r"$'caf\xe9'");
    }
}
