//! Plumbing shared by the example binaries: the data directory, the store
//! and announcer over it. Lookups go through the typed indexes
//! (`state.records::<Movie>().by_primary_key(&2)`, see `docs/indexes.md`).

use std::path::PathBuf;
use std::sync::Arc;

use hollow_runtime::{FileAnnouncer, FsBlobStore};

/// The error type of the examples.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The data directory from the command line: the first argument (or
/// `--dir PATH`), else `./hollow-data-<name>`. It is cleared first.
///
/// # Errors
/// An unknown flag, or a directory that cannot be cleared.
pub fn data_dir(name: &str) -> Result<PathBuf, BoxError> {
    let mut args = std::env::args().skip(1);
    let mut dir = PathBuf::from(format!("hollow-data-{name}"));
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => dir = args.next().ok_or("--dir needs a path")?.into(),
            "-h" | "--help" => {
                println!("usage: {name} [DIR]   (default: ./hollow-data-{name}; cleared first)");
                std::process::exit(0);
            }
            other if !other.starts_with('-') => dir = other.into(),
            other => return Err(format!("unknown argument {other:?}; try --help").into()),
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    Ok(dir)
}

/// A blob store and announcer over `<dir>/store`.
///
/// # Errors
/// The directory cannot be created.
pub fn open_store(
    dir: &std::path::Path,
) -> Result<(Arc<FsBlobStore>, Arc<FileAnnouncer>), BoxError> {
    let store = Arc::new(FsBlobStore::new(dir.join("store"))?);
    let announcer = Arc::new(FileAnnouncer::new(dir.join("store"))?);
    Ok((store, announcer))
}
