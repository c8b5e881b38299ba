//! [`FileAnnouncer`]: the announced version in a file of a local directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::{conflict, pin_conflict, AnnouncementWatcher, Announcer};
use crate::store::local::{
    blocking, local_io, lock_file, sync_dir_blocking, write_small_file_blocking,
};
use crate::store::owner;
use crate::store::{StoreError, StoreErrorKind};

const ANNOUNCEMENT_FILE: &str = FileAnnouncer::FILE_NAME;
const ANNOUNCEMENT_LOCK_FILE: &str = FileAnnouncer::LOCK_FILE_NAME;
const PIN_FILE: &str = FileAnnouncer::PIN_FILE_NAME;

/// Announces versions in a local directory: the file `<dir>/announced.version`
/// holds the announced version as decimal text and a newline.
///
/// [`announce`](Announcer::announce) is a compare-and-swap across threads
/// and processes: it takes an exclusive lock on `<dir>/announced.lock`,
/// reads the current version, fails with [`StoreErrorKind::Conflict`] if it
/// is not the expected one, and otherwise writes the new version to a
/// temporary file, fsyncs it and renames it over `announced.version`.
/// Readers never lock: the rename is atomic, so they see the old or the new
/// version, never a partial file.
///
/// Versions need not increase: announcing a version lower than or equal to
/// the current one (a rollback, or pinning consumers to an older version) is
/// allowed, but only through the compare-and-swap, i.e. when `expected` is
/// the version currently announced.
///
/// Pinning: [`set_pin`](Announcer::set_pin) writes `<dir>/pinned.version`
/// (same format, same lock, written to a temporary file and renamed into
/// place; unpinning removes it), a compare-and-swap on the current pin.
/// While it exists, watchers report the pinned version instead of the
/// announced one, so every consumer goes to it;
/// [`announced`](Announcer::announced) still reads the announcement and
/// producers announce as before.
///
/// As an [`AnnouncementWatcher`], [`changed`](AnnouncementWatcher::changed)
/// polls the files every [`poll_interval`](Self::with_poll_interval)
/// (default 1 s).
///
/// The directory may be the same as an [`FsBlobStore`](crate::store::FsBlobStore)'s.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hollow_runtime::store::{Announcer, AnnouncementWatcher, FileAnnouncer, StoreErrorKind};
///
/// let dir = tempfile::tempdir().unwrap();
/// let announcer = FileAnnouncer::new(dir.path()).unwrap();
/// assert_eq!(announcer.announced().await.unwrap(), None);
/// announcer.announce(1, None).await.unwrap();
/// announcer.announce(2, Some(1)).await.unwrap();
/// // Another producer still believing version 1 is current loses.
/// let err = announcer.announce(3, Some(1)).await.unwrap_err();
/// assert_eq!(err.kind(), StoreErrorKind::Conflict);
/// assert_eq!(announcer.latest().await.unwrap(), Some(2));
/// // Pinned, watchers see version 1 until unpinned.
/// announcer.set_pin(Some(1), None).await.unwrap();
/// assert_eq!(announcer.latest().await.unwrap(), Some(1));
/// assert_eq!(announcer.announced().await.unwrap(), Some(2));
/// announcer.set_pin(None, Some(1)).await.unwrap();
/// assert_eq!(announcer.latest().await.unwrap(), Some(2));
/// # });
/// ```
#[derive(Clone)]
pub struct FileAnnouncer {
    dir: PathBuf,
    poll_interval: Duration,
}

impl fmt::Debug for FileAnnouncer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileAnnouncer")
            .field("file", &self.file())
            .field("poll_interval", &self.poll_interval)
            .finish()
    }
}

impl FileAnnouncer {
    /// The name of the announcement file in the directory.
    pub const FILE_NAME: &'static str = "announced.version";
    /// The name of the lock file locked while announcing.
    pub const LOCK_FILE_NAME: &'static str = "announced.lock";
    /// The name of the pin file in the directory.
    pub const PIN_FILE_NAME: &'static str = "pinned.version";
    /// The default interval at which
    /// [`changed`](AnnouncementWatcher::changed) polls: 1 s.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

    /// An announcer keeping `<dir>/announced.version`; the directory is
    /// created (with its parents) if missing.
    ///
    /// # Errors
    /// The directory cannot be created ([`StoreErrorKind::Io`]).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| local_io(format!("creating announcement dir {}", dir.display()), e))?;
        owner::remove_orphans(&dir, Some(ANNOUNCEMENT_FILE));
        owner::remove_orphans(&dir, Some(PIN_FILE));
        Ok(FileAnnouncer {
            dir,
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
        })
    }

    /// Sets how often [`changed`](AnnouncementWatcher::changed) reads the
    /// announcement file (default [`Self::DEFAULT_POLL_INTERVAL`], 1 s).
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The poll interval of [`changed`](AnnouncementWatcher::changed).
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The announcement file, `<dir>/announced.version`.
    pub fn file(&self) -> PathBuf {
        self.dir.join(ANNOUNCEMENT_FILE)
    }

    /// The pin file, `<dir>/pinned.version`.
    pub fn pin_file(&self) -> PathBuf {
        self.dir.join(PIN_FILE)
    }

    /// The compare-and-swap of the pin, under the lock file (blocking).
    fn pin_blocking(
        dir: &Path,
        version: Option<u64>,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let lock = lock_file(&dir.join(ANNOUNCEMENT_LOCK_FILE), "announcement lock")?;
        let file = dir.join(PIN_FILE);
        let current = Self::read_blocking(&file)?;
        if current != expected {
            return Err(pin_conflict(version, expected, current, &file.display()));
        }
        match version {
            Some(v) => write_small_file_blocking(
                &file,
                &format!("{v}\n"),
                &format!("pinning version {v}"),
            )?,
            None => match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(local_io(
                        format!("unpinning: removing {}", file.display()),
                        e,
                    ))
                }
            },
        }
        sync_dir_blocking(dir, &file);
        drop(lock);
        tracing::info!(?version, ?expected, file = %file.display(), "pin set");
        Ok(())
    }

    /// Reads the announcement file (blocking).
    pub(in crate::store) fn read_blocking(file: &Path) -> Result<Option<u64>, StoreError> {
        match std::fs::read(file) {
            Ok(bytes) => parse_announcement(file, &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(local_io(
                format!("reading announcement file {}", file.display()),
                e,
            )),
        }
    }

    /// The compare-and-swap, under the lock file (blocking).
    fn announce_blocking(
        dir: &Path,
        version: u64,
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let lock = lock_file(&dir.join(ANNOUNCEMENT_LOCK_FILE), "announcement lock")?;
        let file = dir.join(ANNOUNCEMENT_FILE);
        // The lock is released when `lock` is closed, on every path below.
        let current = Self::read_blocking(&file)?;
        if current != expected {
            return Err(conflict(version, expected, current, &file.display()));
        }
        write_small_file_blocking(
            &file,
            &format!("{version}\n"),
            &format!("announcing version {version}"),
        )?;
        // The swap has happened (readers see the new version), so a failure
        // to make the rename durable is reported but is not a failure to
        // announce: the caller must not believe it lost.
        sync_dir_blocking(dir, &file);
        drop(lock);
        tracing::info!(version, ?expected, file = %file.display(), "announced version");
        Ok(())
    }
}

/// Parses the contents of an announcement file: decimal digits and a
/// newline (a missing newline and surrounding whitespace are tolerated).
fn parse_announcement(file: &Path, bytes: &[u8]) -> Result<u64, StoreError> {
    let parsed = std::str::from_utf8(bytes)
        .ok()
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<u64>().ok());
    parsed.ok_or_else(|| {
        let shown: String = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        StoreError::new(
            StoreErrorKind::Io,
            format!(
                "corrupt announcement file {}: expected a decimal version, found {shown:?}",
                file.display()
            ),
        )
    })
}

#[async_trait]
impl Announcer for FileAnnouncer {
    async fn announce(&self, version: u64, expected: Option<u64>) -> Result<(), StoreError> {
        let dir = self.dir.clone();
        blocking(
            || format!("announcing version {version} in {}", self.file().display()),
            move || Self::announce_blocking(&dir, version, expected),
        )
        .await
    }

    async fn announced(&self) -> Result<Option<u64>, StoreError> {
        let file = self.file();
        blocking(
            || format!("reading announcement file {}", self.file().display()),
            move || Self::read_blocking(&file),
        )
        .await
    }

    async fn set_pin(&self, version: Option<u64>, expected: Option<u64>) -> Result<(), StoreError> {
        let dir = self.dir.clone();
        blocking(
            || format!("setting the pin {}", self.pin_file().display()),
            move || Self::pin_blocking(&dir, version, expected),
        )
        .await
    }

    async fn pinned(&self) -> Result<Option<u64>, StoreError> {
        let file = self.pin_file();
        blocking(
            || format!("reading pin file {}", self.pin_file().display()),
            move || Self::read_blocking(&file),
        )
        .await
    }
}

#[async_trait]
impl AnnouncementWatcher for FileAnnouncer {
    async fn latest(&self) -> Result<Option<u64>, StoreError> {
        // The announcement first: a corrupt one is an error even when
        // pinned (as it is for a producer).
        let announced = self.announced().await?;
        Ok(self.pinned().await?.or(announced))
    }

    async fn changed(&self, seen: Option<u64>) -> Result<Option<u64>, StoreError> {
        loop {
            let now = self.latest().await?;
            if now != seen {
                return Ok(now);
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn file_announcer_race_across_threads() {
        // Plain threads, each with its own runtime and announcer: the lock
        // file is what serializes them.
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path().to_path_buf();
        let start = Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (dir, start) = (dir.clone(), start.clone());
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    let a = FileAnnouncer::new(&dir).unwrap();
                    start.wait();
                    let mut wins = Vec::new();
                    // Every thread tries to announce each version after the
                    // one it last saw.
                    for _ in 0..20 {
                        let current = rt.block_on(a.announced()).unwrap();
                        let next = current.map_or(1, |v| v + 1);
                        match rt.block_on(a.announce(next, current)) {
                            Ok(()) => wins.push(next),
                            Err(e) => assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}"),
                        }
                    }
                    wins
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        let last = all.last().copied().unwrap();
        // Each version was announced exactly once, with no gaps.
        assert_eq!(all, (1..=last).collect::<Vec<_>>());
        let a = FileAnnouncer::new(&dir).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(a.announced()).unwrap(), Some(last));
    }

    #[tokio::test]
    async fn file_announcer_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileAnnouncer::new(dir.path()).unwrap();
        let file = a.file();
        for bad in [
            "abc\n",
            "",
            "\n",
            "-1\n",
            "12 13\n",
            "+5\n",
            "99999999999999999999999\n",
        ] {
            std::fs::write(&file, bad).unwrap();
            for e in [
                a.announced().await.unwrap_err(),
                a.latest().await.unwrap_err(),
                a.changed(None).await.unwrap_err(),
                a.announce(1, None).await.unwrap_err(),
            ] {
                assert_eq!(e.kind(), StoreErrorKind::Io, "{bad:?}: {e}");
                assert!(e.to_string().contains("corrupt announcement file"), "{e}");
                assert!(e.to_string().contains(&file.display().to_string()), "{e}");
            }
        }
        // Tolerated: a missing newline and surrounding whitespace.
        std::fs::write(&file, "42").unwrap();
        assert_eq!(a.announced().await.unwrap(), Some(42));
        std::fs::write(&file, " 43 \r\n").unwrap();
        assert_eq!(a.announced().await.unwrap(), Some(43));
    }
}
