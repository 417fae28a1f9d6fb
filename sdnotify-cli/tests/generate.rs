//! `sdnotify --generate`: a man page that renders without a warning and completion scripts, all
//! made from the clap definitions.

use std::process::{Command, Stdio};

const SDNOTIFY: &str = env!("CARGO_BIN_EXE_sdnotify");

fn generate(what: &str) -> String {
    let out = Command::new(SDNOTIFY)
        .arg(format!("--generate={what}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[test]
fn the_man_page_covers_both_commands_and_renders_without_warnings() {
    let page = generate("man");
    for needed in [
        ".SH NAME",
        "\\-\\-ready",
        ".SH SDNOTIFY RUN",
        "\\-\\-kill\\-mode",
        ".SH EXIT STATUS",
        "DIFFERENCES FROM SYSTEMD",
        ".SH EXAMPLES",
        "\\fB121\\fR",
    ] {
        assert!(page.contains(needed), "{needed:?} missing from the man page");
    }
    if !have("groff") {
        println!("SKIPPED rendering: groff is not installed");
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "skipped in CI");
        return;
    }
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut groff.stdin.take().unwrap(), page.as_bytes()).unwrap();
    let out = groff.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "groff warned");
    assert!(String::from_utf8_lossy(&out.stdout).contains("notify-reload"));
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let bash = generate("complete-bash");
    assert!(bash.contains("--ready") && bash.contains("--kill-mode") && bash.contains("run"));
    if have("bash") {
        let check = Command::new("bash").args(["-n", "-c", &bash]).status().unwrap();
        assert!(check.success(), "the bash completion does not parse");
    }
    assert!(generate("complete-zsh").contains("#compdef sdnotify"));
    assert!(generate("complete-fish").contains("complete -c sdnotify"));
}

#[test]
fn a_prefix_works_as_for_every_long_option_and_a_bad_kind_is_refused() {
    let out = Command::new(SDNOTIFY)
        .arg("--gen=complete-fish")
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = Command::new(SDNOTIFY).arg("--generate=html").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'html'"));
}
