//! [`InProcessAnnouncer`]: the announced version in a watch channel of one
//! process.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::{conflict, pin_conflict, AnnouncementWatcher, Announcer};
use crate::store::{StoreError, StoreErrorKind};

/// Announces versions within one process, for tests and embedded use.
/// Clones share the announcement.
///
/// [`announce`](Announcer::announce) is a compare-and-swap under the
/// channel's lock: it fails with [`StoreErrorKind::Conflict`] unless the
/// current announcement is `expected`. Announcing a version lower than or
/// equal to the current one is allowed through the compare-and-swap.
/// [`changed`](AnnouncementWatcher::changed) wakes as soon as a version is
/// announced or pinned (no polling). A pin ([`set_pin`](Announcer::set_pin))
/// is kept beside the announcement; while set, watchers report it instead.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use hollow_runtime::store::{AnnouncementWatcher, Announcer, InProcessAnnouncer};
///
/// let announcer = InProcessAnnouncer::new();
/// let watcher = announcer.clone();
/// let waiting = tokio::spawn(async move { watcher.changed(None).await });
/// announcer.announce(1, None).await.unwrap();
/// assert_eq!(waiting.await.unwrap().unwrap(), Some(1));
/// # });
/// ```
#[derive(Clone)]
pub struct InProcessAnnouncer {
    tx: Arc<watch::Sender<Option<u64>>>,
    pin: Arc<watch::Sender<Option<u64>>>,
}

impl fmt::Debug for InProcessAnnouncer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InProcessAnnouncer")
            .field("announced", &*self.tx.borrow())
            .field("pinned", &*self.pin.borrow())
            .finish()
    }
}

impl Default for InProcessAnnouncer {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessAnnouncer {
    /// An announcer with nothing announced.
    pub fn new() -> Self {
        InProcessAnnouncer {
            tx: Arc::new(watch::Sender::new(None)),
            pin: Arc::new(watch::Sender::new(None)),
        }
    }

    /// A receiver of the announcement channel, for callers that want to
    /// `select!` on announcements directly (it carries the announcement,
    /// not the pin).
    pub fn subscribe(&self) -> watch::Receiver<Option<u64>> {
        self.tx.subscribe()
    }
}

/// Sets `tx`'s value to `new` if it is `expected` (telling the watchers);
/// otherwise leaves it and returns the value found.
fn swap_if<T: Copy + PartialEq>(tx: &watch::Sender<T>, expected: T, new: T) -> Option<T> {
    let mut found = None;
    tx.send_if_modified(|current| {
        if *current == expected {
            *current = new;
            true
        } else {
            found = Some(*current);
            false
        }
    });
    found
}

#[async_trait]
impl Announcer for InProcessAnnouncer {
    async fn announce(&self, version: u64, expected: Option<u64>) -> Result<(), StoreError> {
        match swap_if(&self.tx, expected, Some(version)) {
            None => {
                tracing::debug!(version, ?expected, "announced version in process");
                Ok(())
            }
            Some(current) => Err(conflict(version, expected, current, &"process")),
        }
    }

    async fn announced(&self) -> Result<Option<u64>, StoreError> {
        Ok(*self.tx.borrow())
    }

    async fn set_pin(&self, version: Option<u64>, expected: Option<u64>) -> Result<(), StoreError> {
        match swap_if(&self.pin, expected, version) {
            None => Ok(()),
            Some(current) => Err(pin_conflict(version, expected, current, &"process")),
        }
    }

    async fn pinned(&self) -> Result<Option<u64>, StoreError> {
        Ok(*self.pin.borrow())
    }
}

#[async_trait]
impl AnnouncementWatcher for InProcessAnnouncer {
    async fn latest(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.pin.borrow().or(*self.tx.borrow()))
    }

    async fn changed(&self, seen: Option<u64>) -> Result<Option<u64>, StoreError> {
        // Subscribing marks the current value seen, so an announcement after
        // the check below wakes `rx.changed()`.
        let mut rx = self.tx.subscribe();
        let mut pin_rx = self.pin.subscribe();
        loop {
            let pinned = *pin_rx.borrow_and_update();
            let now = pinned.or(*rx.borrow_and_update());
            if now != seen {
                return Ok(now);
            }
            // `self` holds the senders, so the channels cannot close.
            let woke = tokio::select! {
                r = rx.changed() => r,
                r = pin_rx.changed() => r,
            };
            woke.map_err(|_| {
                StoreError::new(StoreErrorKind::Io, "in-process announcement channel closed")
            })?;
        }
    }
}
