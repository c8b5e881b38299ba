//! Announcing versions: the [`Announcer`] a producer announces through,
//! the [`AnnouncementWatcher`] a consumer learns of them from, and the
//! embedded implementations: [`FileAnnouncer`] (a file in a local
//! directory) and [`InProcessAnnouncer`] (a channel of one process). The
//! object-store announcer is with the object store
//! (`store::object::ObjectAnnouncer`, feature `object-store`).

use std::fmt;

use async_trait::async_trait;

use super::{StoreError, StoreErrorKind};

mod file;
mod in_process;

pub use file::FileAnnouncer;
pub use in_process::InProcessAnnouncer;

/// Announces versions: the single source of truth for which version is
/// current. Announcing is a compare-and-swap, so two producers can never
/// both announce a successor of the same version.
#[async_trait]
pub trait Announcer: Send + Sync + fmt::Debug {
    /// Announces `version`, provided the current announcement is still
    /// `expected` (`None`: nothing announced yet).
    ///
    /// # Errors
    /// [`StoreErrorKind::Conflict`] when the announcement is no longer
    /// `expected` (another producer announced); I/O errors.
    async fn announce(&self, version: u64, expected: Option<u64>) -> Result<(), StoreError>;

    /// The announced version, if any.
    ///
    /// # Errors
    /// The announcement cannot be read or is corrupt.
    async fn announced(&self) -> Result<Option<u64>, StoreError>;

    /// Pins every consumer watching this store to `version` (`None`
    /// unpins), provided the current pin is still `expected` (`None`: not
    /// pinned). While a pin is set, watchers report the pinned version
    /// instead of the announced one; [`announced`](Self::announced) still
    /// reads the announcement, and producers announce as before.
    ///
    /// # Errors
    /// [`StoreErrorKind::Conflict`] when the pin is no longer `expected`
    /// (another operator pinned or unpinned); I/O errors.
    async fn set_pin(&self, version: Option<u64>, expected: Option<u64>) -> Result<(), StoreError>;

    /// The pinned version, if any (see [`set_pin`](Self::set_pin)).
    ///
    /// # Errors
    /// The pin cannot be read or is corrupt.
    async fn pinned(&self) -> Result<Option<u64>, StoreError>;
}

/// Learns of announcements (consumer side).
#[async_trait]
pub trait AnnouncementWatcher: Send + Sync + fmt::Debug {
    /// The announced version now, if any.
    ///
    /// # Errors
    /// The announcement cannot be read or is corrupt.
    async fn latest(&self) -> Result<Option<u64>, StoreError>;

    /// Waits until the announced version differs from `seen`, and returns
    /// it. Implementations poll or subscribe; a poll interval is theirs to
    /// choose (and configure).
    ///
    /// # Errors
    /// The announcement cannot be read.
    async fn changed(&self, seen: Option<u64>) -> Result<Option<u64>, StoreError>;
}

/// The conflict error of a lost compare-and-swap of a pin.
pub(in crate::store) fn pin_conflict(
    version: Option<u64>,
    expected: Option<u64>,
    current: Option<u64>,
    where_: &dyn fmt::Display,
) -> StoreError {
    let show = |v: Option<u64>| {
        v.map_or_else(
            || "not pinned".to_owned(),
            |v| format!("pinned to version {v}"),
        )
    };
    let doing = match version {
        Some(v) => format!("pin version {v}"),
        None => "unpin".to_owned(),
    };
    StoreError::new(
        StoreErrorKind::Conflict,
        format!(
            "cannot {doing} in {where_}: it is {} now, not {} as expected (another operator changed the pin)",
            show(current),
            show(expected)
        ),
    )
}

/// The conflict error of a lost compare-and-swap.
pub(in crate::store) fn conflict(
    version: u64,
    expected: Option<u64>,
    current: Option<u64>,
    where_: &dyn fmt::Display,
) -> StoreError {
    let show = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
    let found = match current {
        Some(v) => format!("another producer announced version {v}"),
        None => "the announcement was removed".to_owned(),
    };
    StoreError::new(
        StoreErrorKind::Conflict,
        format!(
            "cannot announce version {version} in {where_}: {found} (expected {})",
            show(expected)
        ),
    )
}
