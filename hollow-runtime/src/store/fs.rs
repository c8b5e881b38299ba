//! The embedded file-system store: [`FsBlobStore`] keeps blobs as files in
//! a local directory, claiming each version before it writes its blobs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::announce::FileAnnouncer;
use super::local::{
    blocking, local_io, lock_file, sync_dir_blocking, write_decoded_blocking, write_file_atomic_as,
    write_small_file_blocking, write_via_temp,
};
use super::owner::{self, Holder, Liveness, Owner};
use super::source::BlobReader;
use super::{
    BlobName, BlobStat, BlobStore, Compression, Encoding, LocalBlob, StoreError, StoreErrorKind,
    StoredName,
};

const ANNOUNCEMENT_FILE: &str = FileAnnouncer::FILE_NAME;
const CLAIM_FILE: &str = FsBlobStore::CLAIM_FILE_NAME;
const CLAIM_LOCK_FILE: &str = FsBlobStore::CLAIM_LOCK_FILE_NAME;

/// A blob store in a local directory: blob `snapshot-7` is the file
/// `<dir>/snapshot-7`, or `<dir>/snapshot-7.zst` when stored compressed
/// (see "Compressed blobs" in the [module docs](super)).
///
/// Writes are atomic: a blob is written to a temporary file
/// `<dir>/.tmp-<name>.<owner>.<random>`, fsynced, renamed to its name and
/// the directory fsynced, so a reader never sees a partial blob under its
/// name, even after a crash. Other files in the directory (temporary files,
/// the claim, `announced.version`) are ignored by
/// [`list`](BlobStore::list), so a [`FileAnnouncer`] may share the
/// directory (the usual layout, which the claims below rely on in full).
///
/// # Two producers
///
/// Before writing a blob of version `v` (the newer version of a delta),
/// a store claims `v`: under an exclusive lock on `<dir>/claimed.lock` it
/// reads `<dir>/claimed.version` (`<version> <owner> <holder> <host>`: the
/// newest version claimed, by which process and which store in it) and
/// fails with [`StoreErrorKind::Conflict`], writing nothing, when another
/// store that still runs claimed `v` or a newer version. So a producer
/// that loses a race for a version cannot overwrite the blobs of the one
/// that will announce it, nor delete them (a delete of a blob of the
/// claimed version is refused the same way, as is a delete of the
/// announced version's snapshot). A claim whose owner is gone
/// (the process was killed, or its store dropped) is taken over, unless
/// `<dir>/announced.version` already announces `v` or later: the blobs of
/// an announced version are never rewritten. An owner is a process id
/// with its start time and the host's boot id (see `/proc`); a claim made
/// on another host, or where `/proc` is missing, is never taken for gone.
///
/// # Leftovers
///
/// Temporary files and directories carry their owner in their names, and
/// [`FsBlobStore::new`] removes those whose owners are gone: what a killed
/// producer left does not outlive the next start, and what a live one is
/// writing is never touched.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hollow_runtime::store::{BlobName, BlobStore, FsBlobStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = FsBlobStore::new(dir.path().join("blobs")).unwrap();
/// store.put(BlobName::Snapshot(1), b"state").await.unwrap();
/// assert_eq!(store.list().await.unwrap(), vec![BlobName::Snapshot(1)]);
/// assert_eq!(store.size(BlobName::Snapshot(1)).await.unwrap(), 5);
///
/// let dest = dir.path().join("snapshot-1.local");
/// store.fetch(BlobName::Snapshot(1), &dest).await.unwrap();
/// assert_eq!(std::fs::read(&dest).unwrap(), b"state");
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct FsBlobStore {
    dir: PathBuf,
    /// Who this store's claims belong to (shared by its clones).
    holder: Arc<Holder>,
}

/// A version claim as read from [`CLAIM_FILE`]: `<version> <owner token>
/// <holder id> <host name>`.
#[derive(Debug)]
struct Claim {
    version: u64,
    owner: Owner,
    holder: u64,
    /// The file's text, for messages.
    text: String,
}

impl Claim {
    fn parse(text: &str) -> Option<Claim> {
        let mut words = text.split_whitespace();
        let version = words.next()?.parse().ok()?;
        let owner = Owner::parse(words.next()?)?;
        let holder = words.next()?.parse().ok()?;
        Some(Claim {
            version,
            owner,
            holder,
            text: text.trim().to_owned(),
        })
    }

    fn liveness(&self) -> Liveness {
        Holder::liveness(&self.owner, self.holder)
    }
}

impl FsBlobStore {
    /// A store in `dir`, created (with its parents) if missing. Temporary
    /// files and directories left in `dir` by processes that are gone (a
    /// killed producer's) are removed; a live process's never are.
    ///
    /// # Errors
    /// The directory cannot be created ([`StoreErrorKind::Io`]).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| local_io(format!("creating blob store dir {}", dir.display()), e))?;
        owner::remove_orphans(&dir, None);
        Ok(FsBlobStore {
            dir,
            holder: Arc::new(Holder::new()),
        })
    }

    /// The file recording the newest version claimed in the store.
    fn claim_file(&self) -> PathBuf {
        self.dir.join(CLAIM_FILE)
    }

    fn read_claim(&self) -> Result<Option<Claim>, StoreError> {
        let file = self.claim_file();
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                let claim = Claim::parse(&text);
                if claim.is_none() {
                    // Written only by rename, so never torn: edited by hand.
                    tracing::warn!(file = %file.display(), text = %text.trim(), "ignoring an unreadable version claim");
                }
                Ok(claim)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(local_io(
                format!("reading version claim {}", file.display()),
                e,
            )),
        }
    }

    fn is_ours(&self, claim: &Claim) -> bool {
        claim.owner == Owner::current() && claim.holder == self.holder.id()
    }

    /// Makes sure this store may write the blobs of `version` (blocking):
    /// see "Two producers" in the type's docs.
    fn claim_blocking(&self, version: u64) -> Result<(), StoreError> {
        let _lock = lock_file(&self.dir.join(CLAIM_LOCK_FILE), "version claim lock")?;
        if let Some(claim) = self.read_claim()? {
            if self.is_ours(&claim) {
                if claim.version >= version {
                    return Ok(());
                }
            } else if claim.version >= version {
                match claim.liveness() {
                    Liveness::Alive | Liveness::Unknown => {
                        return Err(self.claim_conflict(version, &claim, "is publishing"));
                    }
                    Liveness::Gone => {
                        // Its owner is gone, but may have announced
                        // `version` before it went: its blobs are then
                        // history, never to be overwritten.
                        let announced =
                            FileAnnouncer::read_blocking(&self.dir.join(ANNOUNCEMENT_FILE))?;
                        if let Some(a) = announced.filter(|&a| a >= version) {
                            let doing = format!("announced version {a} after claiming");
                            return Err(self.claim_conflict(version, &claim, &doing));
                        }
                        tracing::warn!(
                            version,
                            dir = %self.dir.display(),
                            claim = %claim.text,
                            "taking over the version claim of a producer that is gone"
                        );
                    }
                }
            }
        }
        let me = Owner::current();
        let text = format!(
            "{version} {} {} {}\n",
            me.token(),
            self.holder.id(),
            owner::host_name()
        );
        let file = self.claim_file();
        write_small_file_blocking(&file, &text, &format!("claiming version {version}"))?;
        sync_dir_blocking(&self.dir, &file);
        tracing::debug!(version, dir = %self.dir.display(), "claimed version");
        Ok(())
    }

    /// Refuses to delete a blob of a version another live producer claims,
    /// or the snapshot of the announced version (which a producer that
    /// fell behind could take for a stale one of the version it mints;
    /// retention never deletes it).
    fn check_delete_blocking(&self, name: BlobName) -> Result<(), StoreError> {
        let version = name.published_in();
        if let BlobName::Snapshot(v) = name {
            let announced = FileAnnouncer::read_blocking(&self.dir.join(ANNOUNCEMENT_FILE))?;
            if announced == Some(v) {
                return Err(StoreError::new(
                    StoreErrorKind::Conflict,
                    format!(
                        "cannot delete blob {name} in dir {}: version {v} is announced",
                        self.dir.display()
                    ),
                ));
            }
        }
        match self.read_claim()? {
            Some(claim)
                if claim.version == version
                    && !self.is_ours(&claim)
                    && claim.liveness() != Liveness::Gone =>
            {
                Err(self.claim_conflict(version, &claim, "is publishing"))
            }
            _ => Ok(()),
        }
    }

    #[cold]
    fn claim_conflict(&self, version: u64, claim: &Claim, doing: &str) -> StoreError {
        StoreError::new(
            StoreErrorKind::Conflict,
            format!(
                "cannot write the blobs of version {version} to dir {}: another producer {doing} \
                 version {} ({}: {}); restore from the announced version to continue",
                self.dir.display(),
                claim.version,
                self.claim_file().display(),
                claim.text
            ),
        )
    }

    /// The name of the file in the directory recording the newest version
    /// claimed, and by whom.
    pub const CLAIM_FILE_NAME: &'static str = "claimed.version";
    /// The name of the lock file locked while claiming a version.
    pub const CLAIM_LOCK_FILE_NAME: &'static str = "claimed.lock";

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding blob `name` when it is stored plain.
    pub fn path_of(&self, name: BlobName) -> PathBuf {
        self.dir.join(name.to_string())
    }

    /// The file holding blob `name` when it is stored as `encoding`.
    pub fn stored_path(&self, name: BlobName, encoding: Encoding) -> PathBuf {
        self.dir.join(StoredName { name, encoding }.to_string())
    }

    /// Opens blob `name` in the first layout present (compressed first),
    /// with its metadata.
    fn open_stored(
        &self,
        name: BlobName,
    ) -> Result<(std::fs::File, std::fs::Metadata, StoredName), StoreError> {
        let mut missing = None;
        for encoding in Encoding::ALL {
            let stored = StoredName { name, encoding };
            match std::fs::File::open(self.dir.join(stored.to_string())) {
                Ok(file) => {
                    let meta = file
                        .metadata()
                        .map_err(|e| self.io_error("reading the metadata of", name, e))?;
                    if !meta.is_file() {
                        return Err(self.not_a_file(name));
                    }
                    return Ok((file, meta, stored));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing = Some(e),
                Err(e) => return Err(self.io_error("opening", name, e)),
            }
        }
        let e = missing.unwrap_or_else(|| std::io::ErrorKind::NotFound.into());
        Err(self.not_found(name, e))
    }

    /// Removes blob `name`'s files in the layouts other than `keep`
    /// (every layout when `None`), ignoring those that do not exist.
    async fn remove_layouts(
        &self,
        name: BlobName,
        keep: Option<Encoding>,
    ) -> Result<(), StoreError> {
        for encoding in Encoding::ALL {
            if Some(encoding) == keep {
                continue;
            }
            match tokio::fs::remove_file(self.stored_path(name, encoding)).await {
                Ok(()) => {
                    tracing::debug!(blob = %name, %encoding, dir = %self.dir.display(), "deleted blob");
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(local_io(
                        format!(
                            "deleting blob {} in dir {}",
                            StoredName { name, encoding },
                            self.dir.display()
                        ),
                        e,
                    ))
                }
            }
        }
        Ok(())
    }

    fn not_found(&self, name: BlobName, e: std::io::Error) -> StoreError {
        StoreError::io(
            format!("blob {name} not found in dir {}", self.dir.display()),
            e,
        )
    }

    fn fetch_blocking(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        let (mut input, meta, stored) = self.open_stored(name)?;
        if stored.encoding == Encoding::Zstd {
            return write_decoded_blocking(&mut input, &self.describe(), stored, dest);
        }
        let what = |doing: &str, path: &Path| {
            format!(
                "fetching blob {name} from dir {} to {}: {doing} {}",
                self.dir.display(),
                dest.display(),
                path.display()
            )
        };
        write_via_temp(dest, &what, |out, tmp| {
            copy_in_large_writes(&mut input, out, meta.len())
                .map_err(|e| local_io(what("writing", tmp), e))
        })
    }

    fn stat_blocking(&self, name: BlobName) -> Result<BlobStat, StoreError> {
        let (mut file, meta, stored) = self.open_stored(name)?;
        if stored.encoding == Encoding::Plain {
            return Ok(BlobStat::plain(name, meta.len()));
        }
        use std::io::Read;
        let mut head = Vec::with_capacity(super::codec::FRAME_HEADER_MAX);
        (&mut file)
            .take(super::codec::FRAME_HEADER_MAX as u64)
            .read_to_end(&mut head)
            .map_err(|e| self.io_error("reading the start of", name, e))?;
        Ok(BlobStat::zstd(name, meta.len(), &head))
    }

    fn not_a_file(&self, name: BlobName) -> StoreError {
        StoreError::new(
            StoreErrorKind::NotFound,
            format!(
                "blob {name} not found in dir {} (not a file)",
                self.dir.display()
            ),
        )
    }

    fn io_error(&self, doing: &str, name: BlobName, e: std::io::Error) -> StoreError {
        if e.kind() == std::io::ErrorKind::NotFound {
            self.not_found(name, e)
        } else {
            local_io(
                format!("{doing} blob {name} in dir {}", self.dir.display()),
                e,
            )
        }
    }
}

/// Copies `input` to `out` in writes of [`super::CACHE_WRITE_CHUNK`] (see
/// there why), holding at most that much (or `len`, if smaller) in memory.
fn copy_in_large_writes(
    input: &mut std::fs::File,
    out: &mut std::fs::File,
    len: u64,
) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut buf = vec![0u8; (len as usize).clamp(1, super::CACHE_WRITE_CHUNK)];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match input.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        out.write_all(&buf[..filled])?;
    }
}

impl FsBlobStore {
    /// Stores the blob `data` gives under `name` (see
    /// [`BlobStore::put_as`]): claims its version, removes the other
    /// layout, writes it.
    async fn put_from(
        &self,
        name: BlobName,
        data: BlobReader<'_>,
        compression: Compression,
    ) -> Result<(), StoreError> {
        let version = name.published_in();
        let store = self.clone();
        blocking(
            || format!("claiming version {version} in {}", self.describe()),
            move || store.claim_blocking(version),
        )
        .await?;
        // The blob in the other layout goes first, so the store never holds
        // two versions of one blob.
        let encoding = compression.encoding();
        self.remove_layouts(name, Some(encoding)).await?;
        let stored = StoredName { name, encoding };
        let dest = self.dir.join(stored.to_string());
        let what = format!("writing blob {stored} to dir {}", self.dir.display());
        let bytes = data.len();
        write_file_atomic_as(&dest, data, compression, true, &what).await?;
        tracing::debug!(blob = %stored, dir = %self.dir.display(), bytes, "stored blob");
        Ok(())
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_as(
        &self,
        name: BlobName,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.put_from(name, BlobReader::bytes(data), compression)
            .await
    }

    /// Reads the file in pieces (positional reads), never through
    /// [`LocalBlob::bytes`].
    async fn put_file(
        &self,
        name: BlobName,
        blob: LocalBlob<'_>,
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.put_from(name, BlobReader::file(blob), compression)
            .await
    }

    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        // The copy runs on the blocking pool, in large writes (see
        // `CACHE_WRITE_CHUNK`), and never holds the whole blob in memory.
        let store = self.clone();
        let dest = dest.to_path_buf();
        let joined = tokio::task::spawn_blocking(move || store.fetch_blocking(name, &dest)).await;
        joined.map_err(|e| {
            StoreError::new(
                StoreErrorKind::Io,
                format!(
                    "fetching blob {name} from {}: task failed: {e}",
                    self.describe()
                ),
            )
        })?
    }

    async fn list(&self) -> Result<Vec<BlobName>, StoreError> {
        let what = || format!("listing blobs in dir {}", self.dir.display());
        let mut rd = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|e| local_io(what(), e))?;
        let mut names = Vec::new();
        while let Some(entry) = rd.next_entry().await.map_err(|e| local_io(what(), e))? {
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let Ok(stored) = file_name.parse::<StoredName>() else {
                continue;
            };
            match entry.file_type().await {
                Ok(t) if t.is_file() => names.push(stored.name),
                Ok(_) => {}
                // Deleted while listing.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(local_io(what(), e)),
            }
        }
        // A blob held in both layouts is listed once.
        names.sort_unstable();
        names.dedup();
        Ok(names)
    }

    async fn delete(&self, name: BlobName) -> Result<(), StoreError> {
        let store = self.clone();
        blocking(
            || format!("deleting blob {name} in {}", self.describe()),
            move || store.check_delete_blocking(name),
        )
        .await?;
        self.remove_layouts(name, None).await
    }

    async fn stat(&self, name: BlobName) -> Result<BlobStat, StoreError> {
        let store = self.clone();
        blocking(
            || format!("reading the size of blob {name} in {}", self.describe()),
            move || store.stat_blocking(name),
        )
        .await
    }

    fn describe(&self) -> String {
        format!("dir {}", self.dir.display())
    }

    fn scratch_dir(&self) -> Option<PathBuf> {
        Some(self.dir.clone())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::Announcer;

    /// Names of the entries of `dir`, sorted.
    pub(in crate::store) fn dir_entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[tokio::test]
    async fn fs_store_list_skips_other_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path()).unwrap();
        store.put(BlobName::Snapshot(3), b"s").await.unwrap();
        std::fs::write(dir.path().join("announced.version"), "3\n").unwrap();
        std::fs::write(dir.path().join("announced.lock"), "").unwrap();
        std::fs::write(
            dir.path().join(".tmp-snapshot-4-0123456789abcdef"),
            "partial",
        )
        .unwrap();
        std::fs::write(dir.path().join("snapshot-x"), "").unwrap();
        std::fs::write(dir.path().join("delta-1-2.bak"), "").unwrap();
        std::fs::create_dir(dir.path().join("snapshot-5")).unwrap();
        assert_eq!(store.list().await.unwrap(), vec![BlobName::Snapshot(3)]);
        // A directory under a blob's name is not a blob.
        let e = store.size(BlobName::Snapshot(5)).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        let e = store
            .fetch(BlobName::Snapshot(5), &dir.path().join("out"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound, "{e}");
        // The announcer shares the directory happily.
        let announcer = FileAnnouncer::new(dir.path()).unwrap();
        announcer.announce(4, Some(3)).await.unwrap();
        assert_eq!(store.list().await.unwrap(), vec![BlobName::Snapshot(3)]);
    }

    #[tokio::test]
    async fn fs_store_failed_put_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path()).unwrap();
        // A non-empty directory under the blob's name makes the rename fail
        // (even as root, unlike permissions).
        let name = BlobName::Delta { from: 3, to: 4 };
        std::fs::create_dir(dir.path().join("delta-3-4")).unwrap();
        std::fs::write(dir.path().join("delta-3-4/x"), "").unwrap();
        let e = store.put(name, b"new blob").await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Io, "{e}");
        assert!(e.to_string().contains("delta-3-4"), "{e}");
        assert!(
            e.to_string().contains(&dir.path().display().to_string()),
            "{e}"
        );
        // The temporary file was removed, and no blob is visible.
        let claim = ["claimed.lock", "claimed.version"];
        assert_eq!(
            dir_entries(dir.path()),
            [&claim[..], &["delta-3-4"]].concat()
        );
        assert!(store.list().await.unwrap().is_empty());
        let e = store
            .fetch(name, &dir.path().join("out"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound);
        assert_eq!(
            dir_entries(dir.path()),
            [&claim[..], &["delta-3-4"]].concat()
        );
    }

    /// A test blob of `len` bytes.
    pub(in crate::store) fn sample(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i % 251) as u8 ^ (i >> 12) as u8)
            .collect()
    }

    /// An unnamed temporary file holding `data`.
    pub(in crate::store) fn file_of(data: &[u8]) -> std::fs::File {
        let mut file = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut file, data).unwrap();
        file
    }

    #[tokio::test]
    async fn fs_store_put_file_reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path()).unwrap();
        let data = sample(3 * crate::store::CACHE_WRITE_CHUNK / 2 + 5);
        let file = file_of(&data);
        // The slice given beside the file differs from it (which a caller
        // must not do): what is stored shows what was read.
        let other = vec![0u8; data.len()];
        for (v, compression) in [(1, Compression::None), (2, Compression::default())] {
            let name = BlobName::Snapshot(v);
            let blob = LocalBlob::new(&file, &other);
            store.put_file(name, blob, compression).await.unwrap();
            let stat = store.stat(name).await.unwrap();
            assert_eq!(stat.encoding, compression.encoding());
            assert_eq!(stat.plain_bytes, Some(data.len() as u64));
            let dest = dir.path().join("fetched");
            store.fetch(name, &dest).await.unwrap();
            assert!(std::fs::read(&dest).unwrap() == data, "{compression:?}");
        }
        // An empty blob.
        let empty = file_of(&[]);
        let name = BlobName::Snapshot(3);
        store
            .put_file(name, LocalBlob::new(&empty, &[]), Compression::default())
            .await
            .unwrap();
        assert_eq!(store.stat(name).await.unwrap().plain_bytes, Some(0));
    }

    #[tokio::test]
    async fn fs_store_put_file_of_a_short_file_fails_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path()).unwrap();
        let data = sample(100_000);
        let file = file_of(&data[..60_000]);
        let name = BlobName::Delta { from: 3, to: 4 };
        for compression in [Compression::None, Compression::default()] {
            let e = store
                .put_file(name, LocalBlob::new(&file, &data), compression)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Io, "{e}");
            assert!(e.to_string().contains("delta-3-4"), "{e}");
            assert!(
                e.to_string().contains("reading the blob from its file"),
                "{e}"
            );
            assert_eq!(dir_entries(dir.path()), ["claimed.lock", "claimed.version"]);
        }
    }

    /// This process's owner token with another start time: a process that
    /// is gone (its id reused), as far as `/proc` can tell.
    fn gone_token() -> Option<String> {
        let me = Owner::current().token();
        let mut parts: Vec<String> = me.split('-').map(str::to_owned).collect();
        let start: u64 = parts.get(3)?.parse().ok()?;
        parts[3] = (start + 1).to_string();
        let token = parts.join("-");
        (Owner::parse(&token)?.liveness() == Liveness::Gone).then_some(token)
    }

    #[tokio::test]
    async fn fs_store_claims_keep_two_producers_apart() {
        let dir = tempfile::tempdir().unwrap();
        let a = FsBlobStore::new(dir.path()).unwrap();
        let b = FsBlobStore::new(dir.path()).unwrap();
        let s2 = BlobName::Snapshot(2);
        a.put(s2, b"a's snapshot").await.unwrap();
        a.put(BlobName::Delta { from: 1, to: 2 }, b"a's delta")
            .await
            .unwrap();
        // B, minting the same version, writes nothing and deletes nothing.
        for e in [
            b.put(s2, b"b's snapshot").await.unwrap_err(),
            b.put(BlobName::ReverseDelta { from: 2, to: 1 }, b"b")
                .await
                .unwrap_err(),
            b.delete(s2).await.unwrap_err(),
        ] {
            assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
            assert!(e.to_string().contains("version 2"), "{e}");
            assert!(e.to_string().contains("claimed.version"), "{e}");
            assert!(
                e.to_string().contains(&dir.path().display().to_string()),
                "{e}"
            );
        }
        assert_eq!(std::fs::read(a.path_of(s2)).unwrap(), b"a's snapshot");
        assert_eq!(
            dir_entries(dir.path()),
            vec!["claimed.lock", "claimed.version", "delta-1-2", "snapshot-2"]
        );
        // A's clones share its claim; other blobs are B's to delete.
        a.clone().put(s2, b"a again").await.unwrap();
        b.delete(BlobName::Snapshot(1)).await.unwrap();
        // B moves on to version 3; now A is the one behind.
        b.put(BlobName::Snapshot(3), b"b's 3").await.unwrap();
        let e = a
            .put(BlobName::Delta { from: 2, to: 3 }, b"a")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        let e = a.put(BlobName::Snapshot(2), b"a").await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        assert!(e.to_string().contains("is publishing version 3"), "{e}");
        // Once B is dropped (its producer gone), A takes its claim over.
        drop(b);
        a.put(BlobName::Snapshot(3), b"a's 3").await.unwrap();
        assert_eq!(
            std::fs::read(a.path_of(BlobName::Snapshot(3))).unwrap(),
            b"a's 3"
        );
    }

    #[tokio::test]
    async fn fs_store_claim_of_a_gone_producer() {
        let Some(gone) = gone_token() else {
            // Without `/proc` no owner is ever taken for gone.
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let claim = dir.path().join(FsBlobStore::CLAIM_FILE_NAME);
        let store = FsBlobStore::new(dir.path()).unwrap();
        // Claimed by a producer killed while writing version 5: taken over.
        std::fs::write(&claim, format!("5 {gone} 1 somehost\n")).unwrap();
        store.put(BlobName::Snapshot(5), b"new").await.unwrap();
        let text = std::fs::read_to_string(&claim).unwrap();
        assert!(
            text.starts_with(&format!("5 {} ", Owner::current().token())),
            "{text}"
        );
        // A producer that announced version 6 and exited: its blobs are
        // history, never overwritten.
        let announcer = FileAnnouncer::new(dir.path()).unwrap();
        announcer.announce(6, None).await.unwrap();
        std::fs::write(&claim, format!("6 {gone} 1 somehost\n")).unwrap();
        let e = store
            .put(BlobName::Snapshot(6), b"stale")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        assert!(e.to_string().contains("announced version 6"), "{e}");
        let e = store
            .put(BlobName::Delta { from: 4, to: 5 }, b"stale")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        // Its snapshot is not deleted (it is announced); other blobs may be
        // (retention), and the next version is free.
        let e = store.delete(BlobName::Snapshot(6)).await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        assert!(e.to_string().contains("version 6 is announced"), "{e}");
        store
            .delete(BlobName::Delta { from: 5, to: 6 })
            .await
            .unwrap();
        store.delete(BlobName::Snapshot(5)).await.unwrap();
        store.put(BlobName::Snapshot(7), b"next").await.unwrap();
        // A claim of a process on another host is never taken over.
        let remote = format!("{:016x}{}", 0xabcu64, &gone[16..]);
        std::fs::write(&claim, format!("8 {remote} 1 elsewhere\n")).unwrap();
        let e = store.put(BlobName::Snapshot(8), b"x").await.unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict, "{e}");
        assert!(e.to_string().contains("elsewhere"), "{e}");
        assert!(!store.path_of(BlobName::Snapshot(8)).exists());
    }

    #[test]
    fn fs_store_open_removes_temp_files_of_gone_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let me = Owner::current().token();
        let gone = gone_token();
        let mine = format!(".tmp-snapshot-3.{me}.00000000000000aa");
        let old_format = ".tmp-snapshot-4-0123456789abcdef";
        std::fs::write(dir.path().join(&mine), "live").unwrap();
        std::fs::write(dir.path().join(old_format), "unknown").unwrap();
        let mut kept = vec![mine.clone(), old_format.to_owned()];
        if let Some(gone) = &gone {
            std::fs::write(
                dir.path()
                    .join(format!(".tmp-snapshot-3.{gone}.00000000000000bb")),
                "killed",
            )
            .unwrap();
            let scratch = dir
                .path()
                .join(format!(".tmp-hollow-restore.{gone}.00000000000000cc"));
            std::fs::create_dir(&scratch).unwrap();
            std::fs::write(scratch.join("snapshot-2"), "x").unwrap();
            std::fs::write(
                dir.path()
                    .join(format!(".tmp-announced.version.{gone}.00000000000000dd")),
                "7\n",
            )
            .unwrap();
        }
        FsBlobStore::new(dir.path()).unwrap();
        kept.sort();
        assert_eq!(dir_entries(dir.path()), kept);
    }
}
