//! Compile-time tests of `#[derive(Hollow)]`: inputs that must expand and
//! compile (`ui/pass`) and inputs that must be rejected with a clear message
//! pointing at the offending token (`ui/fail`, each with its `.stderr`).
//!
//! Regenerate the expected output with `TRYBUILD=overwrite cargo test -p
//! hollow-tests-ui --test ui`, then review every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
