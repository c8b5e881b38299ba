//! A crate of record types builds no runtime: `cargo tree` of this crate's
//! normal and build dependencies shows `hollow-core` and none of the runtime's
//! dependencies (no async runtime, JSON, memory maps, object stores or
//! Cap'n Proto reader).

use std::path::Path;
use std::process::Command;

/// Packages only the runtime (or the code generator) needs.
const NOT_FOR_RECORD_TYPES: [&str; 7] = [
    "tokio",
    "serde_json",
    "memmap2",
    "arc-swap",
    "object_store",
    "capnp",
    "hollow-runtime",
];

#[test]
fn record_types_depend_on_hollow_core_alone() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "tree",
            "--locked",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .expect("run cargo tree");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo tree failed:\n{stderr}");
    let tree = String::from_utf8(out.stdout).expect("cargo tree output is UTF-8");
    // One package a line: `name vX.Y.Z (path)`, `(*)` when shown before.
    let packages: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        packages.contains(&"hollow-core"),
        "no hollow-core in:\n{tree}"
    );
    for name in NOT_FOR_RECORD_TYPES {
        assert!(!packages.contains(&name), "{name} is a dependency:\n{tree}");
    }
}
