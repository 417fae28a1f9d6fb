//! The attribute's compile errors, one ui test per mistake (`TRYBUILD=overwrite` regenerates
//! the `.stderr` files), and a crate denying strict lints that must compile clean.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/[!p]*.rs");
    t.pass("tests/ui/pass-*.rs");
}
