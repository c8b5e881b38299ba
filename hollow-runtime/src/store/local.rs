//! Local files as the stores and announcers keep them: written to a
//! temporary file beside their name, fsynced and renamed (so readers see
//! the old or the new contents, never a part), exclusive lock files, and
//! directory fsyncs. Used by [`FsBlobStore`](super::FsBlobStore), the
//! [`FileAnnouncer`](super::FileAnnouncer) and every store's `fetch`.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

use super::codec::{self, DecodeFailure, FrameEncoder};
use super::owner;
use super::source::BlobReader;
use super::{Compression, StoreError, StoreErrorKind, StoredName};

/// A temporary path beside `dest` (same directory, so a rename is atomic).
pub(super) fn temp_beside(dest: &Path) -> PathBuf {
    let base = dest
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(owner::temp_name(&base))
}

/// An I/O error that is always [`StoreErrorKind::Io`] (a missing local
/// directory is not a missing blob).
pub(super) fn local_io(what: impl Into<String>, e: std::io::Error) -> StoreError {
    let mut err = StoreError::io(what, e);
    err.kind = StoreErrorKind::Io;
    err
}

/// Fsyncs a directory so that renames and creations in it are durable.
async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        tokio::fs::File::open(dir).await?.sync_all().await
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened as files here; renames are durable
        // enough (NTFS journals metadata).
        let _ = dir;
        Ok(())
    }
}

/// Writes `data` to a temporary file beside `dest`, fsyncs it and renames it
/// to `dest`; with `sync_parent`, also fsyncs the directory. On failure the
/// temporary file is removed and `dest` is untouched (except when only the
/// final directory fsync fails: `dest` is then complete but the error is
/// returned, since its durability is not known).
pub(super) async fn write_file_atomic(
    dest: &Path,
    data: &[u8],
    sync_parent: bool,
    what: &str,
) -> Result<(), StoreError> {
    let data = BlobReader::bytes(data);
    write_file_atomic_as(dest, data, Compression::None, sync_parent, what).await
}

/// [`write_file_atomic`] of the blob `data` gives, stored as `compression`
/// says: taken from `data` in pieces (of [`codec::PIECE`] to compress, of
/// [`super::CACHE_WRITE_CHUNK`] to write plain) and written in pieces of
/// [`super::CACHE_WRITE_CHUNK`], never whole in memory. A failure to read
/// `data` (a file) fails the write as any other.
pub(super) async fn write_file_atomic_as(
    dest: &Path,
    mut data: BlobReader<'_>,
    compression: Compression,
    sync_parent: bool,
    what: &str,
) -> Result<(), StoreError> {
    let tmp = temp_beside(dest);
    let result = async {
        let mut f = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| local_io(format!("{what}: creating {}", tmp.display()), e))?;
        let writing = |e| local_io(format!("{what}: writing {}", tmp.display()), e);
        let reading = |e| local_io(format!("{what}: reading the blob from its file"), e);
        let chunk = super::CACHE_WRITE_CHUNK;
        match compression {
            Compression::None => {
                while let Some(piece) = data.next_piece(chunk).map_err(reading)? {
                    f.write_all(piece).await.map_err(writing)?;
                }
            }
            Compression::Zstd { level } => {
                let compressing = |e: codec::CodecError| {
                    StoreError::new(StoreErrorKind::Io, format!("{what}: {e}"))
                };
                let mut encoder =
                    FrameEncoder::new(level, data.len() as u64).map_err(compressing)?;
                let mut out = Vec::with_capacity(chunk.min(data.len() + 64));
                while let Some(piece) = data.next_piece(codec::PIECE).map_err(reading)? {
                    encoder.feed(piece, &mut out).map_err(compressing)?;
                    if out.len() >= chunk {
                        f.write_all(&out).await.map_err(writing)?;
                        out.clear();
                    }
                }
                encoder.finish(&mut out).map_err(compressing)?;
                f.write_all(&out).await.map_err(writing)?;
            }
        }
        f.flush().await.map_err(writing)?;
        f.sync_all()
            .await
            .map_err(|e| local_io(format!("{what}: syncing {}", tmp.display()), e))?;
        drop(f);
        tokio::fs::rename(&tmp, dest).await.map_err(|e| {
            local_io(
                format!("{what}: renaming {} to {}", tmp.display(), dest.display()),
                e,
            )
        })
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
        return result;
    }
    if sync_parent {
        if let Some(parent) = dest.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            sync_dir(parent)
                .await
                .map_err(|e| local_io(format!("{what}: syncing {}", parent.display()), e))?;
        }
    }
    Ok(())
}

/// Decodes the compressed blob `stored` of `store`, read from `input`,
/// into a temporary file beside `dest`, fsyncs it and renames it to `dest`
/// (blocking). Written in pieces of [`super::CACHE_WRITE_CHUNK`]. On any
/// failure nothing is left at `dest` or beside it; bad compressed bytes
/// are [`StoreErrorKind::Corrupt`].
pub(super) fn write_decoded_blocking(
    input: &mut dyn std::io::Read,
    store: &str,
    stored: StoredName,
    dest: &Path,
) -> Result<(), StoreError> {
    let name = stored.name;
    let what = |doing: &str, path: &Path| {
        format!(
            "fetching blob {name} from {store} to {}: {doing} {}",
            dest.display(),
            path.display()
        )
    };
    write_via_temp(dest, &what, |out, tmp| {
        codec::decode_stream(input, out, super::CACHE_WRITE_CHUNK).map_err(|f| match f {
            DecodeFailure::Read(e) => StoreError::io(
                format!("fetching blob {name} from {store}: reading {stored}"),
                e,
            ),
            DecodeFailure::Write(e) => local_io(what("writing", tmp), e),
            DecodeFailure::Codec(e) => super::corrupt_blob(store, stored, &e),
        })?;
        Ok(())
    })
}

/// Writes `dest` through a new temporary file beside it: `fill` writes the
/// contents (given the file and its path), then the file is synced and
/// renamed to `dest`. On any failure nothing is left beside `dest`.
/// `what(doing, path)` describes a failed step.
pub(super) fn write_via_temp(
    dest: &Path,
    what: &dyn Fn(&str, &Path) -> String,
    fill: impl FnOnce(&mut std::fs::File, &Path) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let tmp = temp_beside(dest);
    let result = (|| {
        let mut out =
            std::fs::File::create(&tmp).map_err(|e| local_io(what("creating", &tmp), e))?;
        fill(&mut out, &tmp)?;
        out.sync_all()
            .map_err(|e| local_io(what("syncing", &tmp), e))?;
        drop(out);
        std::fs::rename(&tmp, dest).map_err(|e| local_io(what("renaming", &tmp), e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Opens (creating it if missing) and exclusively locks `path`, waiting
/// for other holders; the lock is released when the file is closed, also
/// when its process dies. `what` names the lock in errors.
#[allow(clippy::incompatible_msrv)] // `File::lock`: Rust 1.89
pub(super) fn lock_file(path: &Path, what: &str) -> Result<std::fs::File, StoreError> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| local_io(format!("opening {what} {}", path.display()), e))?;
    lock.lock()
        .map_err(|e| local_io(format!("locking {what} {}", path.display()), e))?;
    Ok(lock)
}

/// Replaces `dest` with `text` (blocking): written to a temporary file
/// beside it, fsynced and renamed, so readers see the old or the new text,
/// never a part. `what` says what is being done, for errors.
pub(super) fn write_small_file_blocking(
    dest: &Path,
    text: &str,
    what: &str,
) -> Result<(), StoreError> {
    let tmp = temp_beside(dest);
    let err = |doing: &str, path: &Path, e| {
        local_io(
            format!("{what} in {}: {doing} {}", dest.display(), path.display()),
            e,
        )
    };
    let result = (|| {
        let mut out = std::fs::File::create(&tmp).map_err(|e| err("creating", &tmp, e))?;
        std::io::Write::write_all(&mut out, text.as_bytes())
            .map_err(|e| err("writing", &tmp, e))?;
        out.sync_all().map_err(|e| err("syncing", &tmp, e))?;
        drop(out);
        std::fs::rename(&tmp, dest).map_err(|e| err("renaming", &tmp, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs `dir` after a rename of `file` in it (blocking); a failure is
/// logged, since the rename itself has happened.
pub(super) fn sync_dir_blocking(dir: &Path, file: &Path) {
    #[cfg(unix)]
    if let Err(e) = std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), file = %file.display(), error = %e, "renamed, but syncing the directory failed");
    }
    #[cfg(not(unix))]
    let _ = (dir, file);
}

/// Runs a blocking file operation on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    what: impl FnOnce() -> String,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::new(StoreErrorKind::Io, format!("{}: task failed: {e}", what())))?
}
