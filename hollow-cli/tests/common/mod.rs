//! What the `hollow` binary's test suites share: running the binary and
//! checking how it ended.

// Each suite uses some of these, none all.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;

/// The `hollow` binary built with the tests.
pub(crate) fn hollow() -> Command {
    Command::cargo_bin("hollow").unwrap()
}

/// Runs `hollow args…`, expecting exit `code`; returns (stdout, stderr).
pub(crate) fn run(args: &[&str], code: i32) -> (String, String) {
    let out = hollow().args(args).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "hollow {args:?}:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// Runs `hollow args…`, expecting success; returns stdout.
pub(crate) fn ok(args: &[&str]) -> String {
    let out = hollow().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "hollow {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`ok`], its stdout parsed as one JSON document.
pub(crate) fn ok_json(args: &[&str]) -> Value {
    let text = ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("hollow {args:?}: {e}: {text}"))
}

/// Runs `hollow args…`, expecting exit `code`; returns stderr, which must
/// be one line.
pub(crate) fn fails(args: &[&str], code: impl Into<i32>) -> String {
    let (_, err) = run(args, code.into());
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}
