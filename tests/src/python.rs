//! A Python with `pycapnp`, `xxhash` and `zstandard`, for the tests that read blobs
//! outside Rust (`tests/python_reader.rs`, which runs
//! `examples/python/hollow_reader.py`).
//!
//! [`python`] installs the pinned [`PYCAPNP_VERSION`], [`XXHASH_VERSION`]
//! and [`ZSTANDARD_VERSION`] from PyPI into a virtual environment under the target
//! directory the first time (`target/hollow-python/`; a file lock keeps test
//! binaries running at once from installing twice, and a marker file written
//! last says the install finished), then returns its interpreter. All three
//! packages ship binary wheels for CPython 3.11, so the install takes
//! seconds. `cargo test --workspace` needs only `python3` with `venv` and
//! `pip` (`HOLLOW_PYTHON` names another interpreter); nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pycapnp release installed.
pub const PYCAPNP_VERSION: &str = "2.2.4";

/// The xxhash (Python bindings) release installed.
pub const XXHASH_VERSION: &str = "4.1.0";

/// The zstandard (Python bindings) release installed, for blobs stored
/// compressed.
pub const ZSTANDARD_VERSION: &str = "0.23.0";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    )
}

/// The Python of the virtual environment, installed if missing.
///
/// # Panics
/// `python3 -m venv` or `pip install` failed (the message names the step
/// and shows pip's output).
pub fn python() -> PathBuf {
    venv(
        "hollow-python",
        &format!("pycapnp-{PYCAPNP_VERSION}-xxhash-{XXHASH_VERSION}-zstandard-{ZSTANDARD_VERSION}"),
        &[
            &format!("pycapnp=={PYCAPNP_VERSION}"),
            &format!("xxhash=={XXHASH_VERSION}"),
            &format!("zstandard=={ZSTANDARD_VERSION}"),
        ],
    )
}

/// The Python of virtual environment `name` under `<target>/<root>/`,
/// created with `packages` (pip requirement specifiers, pinned) installed
/// from PyPI the first time. A file lock in `<target>/<root>/` keeps test
/// binaries running at once from installing twice, and a marker file
/// (`.installed`) written last says the install finished. `python3` makes
/// the environment (`HOLLOW_PYTHON` names another interpreter).
///
/// # Panics
/// `python3 -m venv` or `pip install` failed (the message names the step
/// and shows pip's output).
pub fn venv(root: &str, name: &str, packages: &[&str]) -> PathBuf {
    let root = target_dir().join(root);
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("creating {}: {e}", root.display()));
    let venv = root.join(name);
    let python = venv.join("bin/python");
    let marker = venv.join(".installed");
    let lock_path = root.join("install.lock");
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if !marker.exists() {
        let base = std::env::var("HOLLOW_PYTHON").unwrap_or_else(|_| "python3".into());
        let _ = std::fs::remove_dir_all(&venv);
        run(
            Command::new(&base).arg("-m").arg("venv").arg(&venv),
            &format!("creating the Python venv {}", venv.display()),
        );
        run(
            Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(packages),
            &format!("installing {} from PyPI", packages.join(", ")),
        );
        std::fs::write(&marker, packages.join(" "))
            .unwrap_or_else(|e| panic!("writing {}: {e}", marker.display()));
    }
    drop(lock);
    python
}

/// The example reader, `examples/python/hollow_reader.py`.
pub fn reader_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python/hollow_reader.py")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({cmd:?}): {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
