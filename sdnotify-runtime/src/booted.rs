//! `sd_booted`: whether the system runs systemd as its init.

use std::path::Path;

/// Whether the system was booted with systemd (`sd_booted(3)`): true iff
/// `/run/systemd/system/` exists as a directory, checked without following a final symlink.
///
/// ```
/// # use sdnotify_runtime as sdnotify;
/// if sdnotify::booted() {
///     println!("running under systemd");
/// }
/// ```
pub fn booted() -> bool {
    crate::sys::SUPPORTED && is_real_dir(Path::new("/run/systemd/system"))
}

pub(crate) fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_a_real_directory_counts() {
        let dir = std::env::temp_dir().join(format!("sdnotify-booted-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("system")).unwrap();
        std::os::unix::fs::symlink(dir.join("system"), dir.join("link")).unwrap();
        std::fs::write(dir.join("file"), b"").unwrap();
        assert!(is_real_dir(&dir.join("system")));
        assert!(!is_real_dir(&dir.join("link")));
        assert!(!is_real_dir(&dir.join("file")));
        assert!(!is_real_dir(&dir.join("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
