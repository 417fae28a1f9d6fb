//! Console transcripts of help, version and error output (`TRYCMD=overwrite` regenerates them).

#[test]
fn transcripts() {
    trycmd::TestCases::new()
        .register_bin("sdnotify", trycmd::cargo::cargo_bin!("sdnotify"))
        .case("tests/cmd/*.toml");
}
