//! [`ObjectAnnouncer`]: the announcement as an object, written with
//! conditional puts and watched with conditional GETs.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use object_store::path::Path as ObjectPath;
use object_store::{
    GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};

use super::{map_error, object_path, parse_prefix};
use crate::store::announce::{conflict, pin_conflict};
use crate::store::{AnnouncementWatcher, Announcer, StoreError, StoreErrorKind};

/// A missing object (not a missing bucket, which S3 also answers with 404).
fn is_missing_object(e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::NotFound { .. }) && !e.to_string().contains("NoSuchBucket")
}

/// What a watcher last read of an object: its ETag and value.
#[derive(Clone, Debug, Default)]
struct Seen {
    e_tag: Option<String>,
    value: Option<u64>,
}

/// What a watcher last read: the announcement (ETag and value) and the pin
/// read after it.
#[derive(Clone, Debug, Default)]
struct Watched {
    announced: Seen,
    pinned: Option<u64>,
}

/// Announces versions in `<prefix>/announced.version` (the version as
/// decimal text on the first line; any later line is ignored) on any
/// [`ObjectStore`], and watches it.
///
/// - [`announce`](Announcer::announce) reads the announcement and its ETag,
///   checks it is the expected version, and writes the new one with a
///   conditional put: create-if-absent for the first announcement, `If-Match`
///   on the ETag after. Two producers announcing a successor of the same
///   version cannot both succeed; the loser gets
///   [`StoreErrorKind::Conflict`] saying another producer announced.
/// - As an [`AnnouncementWatcher`], [`changed`](AnnouncementWatcher::changed)
///   polls every [`poll_interval`](Self::with_poll_interval) (default 1 s)
///   with conditional GETs (`If-None-Match` on the last ETag): when nothing
///   changed, a poll is one request answered `304 Not Modified` per object
///   watched.
/// - Pinning: [`pin`](Self::pin) writes `<prefix>/pinned.version`; while it
///   exists, watchers report the pinned version instead of the announced one,
///   so every consumer goes to it. Pinning and unpinning also rewrite
///   `announced.version` with the same content (a compare-and-swap), which
///   changes its ETag: watchers read the pin only when the announcement's
///   ETag changed, so a poll stays one conditional GET when nothing
///   changed. [`with_pin_watch(false)`](Self::with_pin_watch) ignores pins.
///
/// Clones share their watch state (until [`with_pin_watch`](Self::with_pin_watch)).
#[derive(Clone)]
pub struct ObjectAnnouncer {
    objects: Arc<dyn ObjectStore>,
    announced_path: ObjectPath,
    pinned_path: ObjectPath,
    url: String,
    poll_interval: Duration,
    pin_watch: bool,
    watched: Arc<Mutex<Watched>>,
}

impl fmt::Debug for ObjectAnnouncer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectAnnouncer")
            .field("url", &self.url)
            .field("poll_interval", &self.poll_interval)
            .field("pin_watch", &self.pin_watch)
            .finish()
    }
}

impl ObjectAnnouncer {
    /// The name of the announcement object under the prefix.
    pub const ANNOUNCED: &'static str = "announced.version";
    /// The name of the pin object under the prefix.
    pub const PINNED: &'static str = "pinned.version";
    /// The default poll interval of watchers: 1 s.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

    /// An announcer keeping `<prefix>/announced.version` in `objects`; `url`
    /// names it in messages.
    pub fn new(objects: Arc<dyn ObjectStore>, prefix: &str, url: impl Into<String>) -> Self {
        let prefix = parse_prefix(prefix);
        ObjectAnnouncer {
            objects,
            announced_path: object_path(&prefix, Self::ANNOUNCED),
            pinned_path: object_path(&prefix, Self::PINNED),
            url: url.into(),
            poll_interval: Self::DEFAULT_POLL_INTERVAL,
            pin_watch: true,
            watched: Arc::default(),
        }
    }

    /// Sets how often [`changed`](AnnouncementWatcher::changed) polls
    /// (default [`Self::DEFAULT_POLL_INTERVAL`]).
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Whether watchers read `pinned.version` (default `true`).
    #[must_use]
    pub fn with_pin_watch(mut self, watch: bool) -> Self {
        self.pin_watch = watch;
        // What a watcher with the other setting read is not this one's.
        self.watched = Arc::default();
        self
    }

    /// The poll interval of [`changed`](AnnouncementWatcher::changed).
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The URL naming the store.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Pins every watching consumer to `version` (`None` removes the pin).
    ///
    /// # Errors
    /// The object cannot be written or deleted.
    pub async fn pin(&self, version: Option<u64>) -> Result<(), StoreError> {
        let what = || format!("{}/{}", self.url, Self::PINNED);
        match version {
            Some(v) => {
                self.objects
                    .put(&self.pinned_path, PutPayload::from(format!("{v}\n")))
                    .await
                    .map_err(|e| {
                        map_error(&format!("pinning version {v} in {}", what()), &self.url, e)
                    })?;
                tracing::info!(version = v, url = %self.url, "pinned");
            }
            None => match self.objects.delete(&self.pinned_path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    tracing::info!(url = %self.url, "unpinned");
                }
                Err(e) => {
                    return Err(map_error(&format!("unpinning {}", what()), &self.url, e));
                }
            },
        }
        self.touch_announcement().await
    }

    /// Rewrites `announced.version` with its own content, so its ETag
    /// changes and watchers read the pin again. A compare-and-swap: an
    /// announcement made meanwhile is kept (and changes the ETag anyway).
    async fn touch_announcement(&self) -> Result<(), StoreError> {
        for _ in 0..8 {
            let (value, tag) = self.read(&self.announced_path, Self::ANNOUNCED).await?;
            let (Some(value), Some(tag)) = (value, tag) else {
                // Nothing announced: watchers read the pin on every poll.
                return Ok(());
            };
            // S3's ETag of a plain upload is the MD5 of its content: the
            // content must change for the ETag to change, so a second line
            // (ignored by readers) carries when it was touched.
            let touched = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let body = PutPayload::from(format!("{value}\ntouched {touched}\n"));
            let options = PutOptions::from(PutMode::Update(tag));
            match self
                .objects
                .put_opts(&self.announced_path, body, options)
                .await
            {
                Ok(_) => return Ok(()),
                Err(object_store::Error::Precondition { .. }) => continue,
                Err(e) => {
                    return Err(map_error(
                        &format!("touching {}/{}", self.url, Self::ANNOUNCED),
                        &self.url,
                        e,
                    ))
                }
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Conflict,
            format!(
                "{}/{}: changed under every attempt to touch it after pinning",
                self.url,
                Self::ANNOUNCED
            ),
        ))
    }

    /// The pinned version, if any.
    ///
    /// # Errors
    /// The object cannot be read or is corrupt.
    pub async fn pinned(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.read(&self.pinned_path, Self::PINNED).await?.0)
    }

    /// Reads an object: its version and ETag (`None` when absent).
    async fn read(
        &self,
        path: &ObjectPath,
        name: &str,
    ) -> Result<(Option<u64>, Option<UpdateVersion>), StoreError> {
        match self.objects.get(path).await {
            Ok(got) => {
                let tag = UpdateVersion {
                    e_tag: got.meta.e_tag.clone(),
                    version: got.meta.version.clone(),
                };
                let bytes = got.bytes().await.map_err(|e| self.read_error(name, e))?;
                Ok((Some(self.parse(name, &bytes)?), Some(tag)))
            }
            Err(e) if is_missing_object(&e) => Ok((None, None)),
            Err(e) => Err(self.read_error(name, e)),
        }
    }

    /// A conditional GET of the announcement against its last ETag:
    /// `None` when it did not change (304), else what it is now.
    async fn read_announced_if_changed(&self, prev: &Seen) -> Result<Option<Seen>, StoreError> {
        let name = Self::ANNOUNCED;
        let options = GetOptions {
            if_none_match: prev.e_tag.clone(),
            ..GetOptions::default()
        };
        match self.objects.get_opts(&self.announced_path, options).await {
            Ok(got) => {
                let e_tag = got.meta.e_tag.clone();
                let bytes = got.bytes().await.map_err(|e| self.read_error(name, e))?;
                Ok(Some(Seen {
                    e_tag,
                    value: Some(self.parse(name, &bytes)?),
                }))
            }
            Err(object_store::Error::NotModified { .. }) => Ok(None),
            Err(e) if is_missing_object(&e) => Ok(Some(Seen::default())),
            Err(e) => Err(self.read_error(name, e)),
        }
    }

    fn read_error(&self, name: &str, e: object_store::Error) -> StoreError {
        map_error(&format!("reading {}/{name}", self.url), &self.url, e)
    }

    fn parse(&self, name: &str, bytes: &[u8]) -> Result<u64, StoreError> {
        // The version is the first line; later lines (a pin's touch) are
        // not part of it.
        let parsed = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| t.lines().next())
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|t| t.parse::<u64>().ok());
        parsed.ok_or_else(|| {
            let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
            StoreError::new(
                StoreErrorKind::Io,
                format!(
                    "corrupt announcement object {}/{name}: expected a decimal version, found {shown:?}",
                    self.url
                ),
            )
        })
    }
}

#[async_trait]
impl Announcer for ObjectAnnouncer {
    async fn announce(&self, version: u64, expected: Option<u64>) -> Result<(), StoreError> {
        // A pin rewrites the announcement with its own content; losing the
        // compare-and-swap to that is not losing to another producer.
        for _ in 0..8 {
            match self.announce_once(version, expected).await? {
                Some(()) => return Ok(()),
                None => continue,
            }
        }
        Err(StoreError::new(
            StoreErrorKind::Conflict,
            format!(
                "{}/{}: rewritten under every attempt to announce version {version}",
                self.url,
                Self::ANNOUNCED
            ),
        ))
    }

    async fn announced(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.read(&self.announced_path, Self::ANNOUNCED).await?.0)
    }

    /// A compare-and-swap on `pinned.version`: a conditional put
    /// (create-if-absent, else `If-Match` on its ETag) to pin; to unpin,
    /// the pin is read and checked, then deleted (object stores have no
    /// conditional delete, so an unpin racing a pin of another operator
    /// may remove that pin). Then the announcement is touched, as by
    /// [`pin`](ObjectAnnouncer::pin).
    async fn set_pin(&self, version: Option<u64>, expected: Option<u64>) -> Result<(), StoreError> {
        let where_ = format!("{}/{}", self.url, Self::PINNED);
        let (current, tag) = self.read(&self.pinned_path, Self::PINNED).await?;
        if current != expected {
            return Err(pin_conflict(version, expected, current, &where_));
        }
        match version {
            Some(v) => {
                let mode = match tag {
                    None => PutMode::Create,
                    Some(tag) => PutMode::Update(tag),
                };
                let body = PutPayload::from(format!("{v}\n"));
                match self
                    .objects
                    .put_opts(&self.pinned_path, body, PutOptions::from(mode))
                    .await
                {
                    Ok(_) => tracing::info!(version = v, url = %self.url, "pinned"),
                    Err(
                        object_store::Error::AlreadyExists { .. }
                        | object_store::Error::Precondition { .. },
                    ) => {
                        let now = self
                            .read(&self.pinned_path, Self::PINNED)
                            .await
                            .ok()
                            .and_then(|(v, _)| v);
                        return Err(pin_conflict(version, expected, now, &where_));
                    }
                    Err(e) => {
                        return Err(map_error(
                            &format!("pinning version {v} in {where_}"),
                            &self.url,
                            e,
                        ))
                    }
                }
            }
            None => match self.objects.delete(&self.pinned_path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                    tracing::info!(url = %self.url, "unpinned");
                }
                Err(e) => return Err(map_error(&format!("unpinning {where_}"), &self.url, e)),
            },
        }
        self.touch_announcement().await
    }

    async fn pinned(&self) -> Result<Option<u64>, StoreError> {
        ObjectAnnouncer::pinned(self).await
    }
}

impl ObjectAnnouncer {
    /// One compare-and-swap of the announcement: `None` when it lost to a
    /// rewrite of the expected version itself (a pin touching it).
    async fn announce_once(
        &self,
        version: u64,
        expected: Option<u64>,
    ) -> Result<Option<()>, StoreError> {
        let where_ = format!("{}/{}", self.url, Self::ANNOUNCED);
        let (current, tag) = self.read(&self.announced_path, Self::ANNOUNCED).await?;
        if current != expected {
            return Err(conflict(version, expected, current, &where_));
        }
        let mode = match tag {
            None => PutMode::Create,
            Some(tag) => PutMode::Update(tag),
        };
        let body = PutPayload::from(format!("{version}\n"));
        match self
            .objects
            .put_opts(&self.announced_path, body, PutOptions::from(mode))
            .await
        {
            Ok(_) => {
                tracing::info!(version, ?expected, url = %self.url, "announced version");
                Ok(Some(()))
            }
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => {
                // Lost the compare-and-swap: say who won.
                let now = self
                    .read(&self.announced_path, Self::ANNOUNCED)
                    .await
                    .ok()
                    .and_then(|(v, _)| v);
                if now == expected && expected.is_some() {
                    return Ok(None);
                }
                Err(conflict(version, expected, now, &where_))
            }
            Err(e) => Err(map_error(
                &format!("announcing version {version} in {where_}"),
                &self.url,
                e,
            )),
        }
    }
}

#[async_trait]
impl AnnouncementWatcher for ObjectAnnouncer {
    async fn latest(&self) -> Result<Option<u64>, StoreError> {
        let prev = self
            .watched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let now = match self.read_announced_if_changed(&prev.announced).await? {
            // Unchanged ETag: neither a new announcement nor a (un)pin.
            None => prev,
            Some(announced) => {
                // Changed (or absent: a pin may come before any
                // announcement): read the pin too.
                let pinned = if self.pin_watch {
                    self.read(&self.pinned_path, Self::PINNED).await?.0
                } else {
                    None
                };
                let now = Watched { announced, pinned };
                *self.watched.lock().unwrap_or_else(|p| p.into_inner()) = now.clone();
                now
            }
        };
        Ok(if self.pin_watch {
            now.pinned.or(now.announced.value)
        } else {
            now.announced.value
        })
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

    fn announcer() -> (Arc<dyn ObjectStore>, ObjectAnnouncer) {
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let a = ObjectAnnouncer::new(objects.clone(), "ds", "memory://ds");
        (objects, a)
    }

    #[tokio::test]
    async fn pin_overrides_the_announcement_for_watchers() {
        let (_, a) = announcer();
        a.announce(3, None).await.unwrap();
        // A watcher that has seen the announcement notices the pin (its
        // ETag changed) and the unpin, and a producer still announces.
        let before = a.clone();
        let watcher = ObjectAnnouncer::new(a.objects.clone(), "ds", "memory://ds");
        assert_eq!(watcher.latest().await.unwrap(), Some(3));
        before.pin(Some(2)).await.unwrap();
        assert_eq!(watcher.latest().await.unwrap(), Some(2));
        before.announce(4, Some(3)).await.unwrap();
        assert_eq!(watcher.latest().await.unwrap(), Some(2));
        before.pin(None).await.unwrap();
        assert_eq!(watcher.latest().await.unwrap(), Some(4));
        let (_, a) = announcer();
        a.announce(3, None).await.unwrap();
        a.pin(Some(2)).await.unwrap();
        assert_eq!(a.pinned().await.unwrap(), Some(2));
        assert_eq!(a.latest().await.unwrap(), Some(2));
        assert_eq!(a.announced().await.unwrap(), Some(3));
        let unwatched = a.clone().with_pin_watch(false);
        assert_eq!(unwatched.latest().await.unwrap(), Some(3));
        a.pin(None).await.unwrap();
        a.pin(None).await.unwrap();
        assert_eq!(a.latest().await.unwrap(), Some(3));
    }

    #[tokio::test]
    async fn corrupt_announcement_is_an_error_naming_it() {
        let (objects, a) = announcer();
        objects
            .put(
                &ObjectPath::from("ds/announced.version"),
                PutPayload::from("x1\n"),
            )
            .await
            .unwrap();
        for e in [
            a.announced().await.unwrap_err(),
            a.latest().await.unwrap_err(),
            a.announce(2, Some(1)).await.unwrap_err(),
        ] {
            assert!(
                e.to_string()
                    .contains("corrupt announcement object memory://ds/announced.version"),
                "{e}"
            );
        }
    }
}
