//! The example binaries run to completion over a temporary directory (they
//! check every lookup and the schema-evolution reads themselves and exit
//! non-zero on a mismatch).

use std::process::Command;

fn run(exe: &str) {
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
}

#[test]
fn movies_example() {
    run(env!("CARGO_BIN_EXE_movies"));
}

#[test]
fn commerce_example() {
    run(env!("CARGO_BIN_EXE_commerce"));
}

#[test]
fn iot_example() {
    run(env!("CARGO_BIN_EXE_iot"));
}
