//! The example binaries run to completion over a temporary directory (they
//! check every lookup and the schema-evolution reads themselves and exit
//! non-zero on a mismatch).

use std::process::Command;

/// Runs `exe` over a fresh directory; returns its output and data directory.
fn run(exe: &str) -> (String, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let out = Command::new(exe)
        .arg(&data)
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{exe} failed: {}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("cycle 3: "), "{stdout}");
    assert!(stdout.contains("schema evolution"), "{stdout}");
    assert!(
        stdout.contains("done: every lookup matched what the producer wrote"),
        "{stdout}"
    );
    assert!(data.join("store").join("announced.version").exists());
    (stdout.into_owned(), dir)
}

#[test]
fn movies_example() {
    let (stdout, dir) = run(env!("CARGO_BIN_EXE_movies"));
    // The evolved producer continues the one history (version 4 after the
    // three cycles) rather than starting a new store.
    assert!(
        stdout.contains("producer (new schema) continued the history: version 4"),
        "{stdout}"
    );
    let store = dir.path().join("data").join("store");
    // Stored compressed (the producer's default).
    assert!(store.join("delta-3-4.zst").exists());
    assert!(store.join("snapshot-4.zst").exists());
    assert!(!dir.path().join("data").join("v2").exists());
}

#[test]
fn commerce_example() {
    run(env!("CARGO_BIN_EXE_commerce"));
}

#[test]
fn iot_example() {
    run(env!("CARGO_BIN_EXE_iot"));
}
