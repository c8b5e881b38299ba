//! What producers and consumers report as they work: one [`Event`] type,
//! delivered to [`EventListener`]s.
//!
//! A consumer reports each refresh (started, succeeded, failed with the
//! attempt and when it retries), each blob it fetches (bytes and time),
//! loads or applies, each blob it finds unusable, each pin, and each
//! announcement it cannot find or read; a producer reports each cycle
//! (started, populated with its record counts, succeeded, failed with the
//! reason), each blob it writes (plain and stored sizes), its integrity
//! check and validators, and each version it announces. The
//! `metrics` module (feature `metrics`, on by default) turns them into
//! Prometheus metrics.
//! Listeners run on the thread that does the work, so they should be
//! quick (hand the event to a channel or a counter). A listener that
//! panics is logged and skipped; it never fails the refresh or cycle that
//! reported the event.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::{Arc, Mutex};
//! use hollow_runtime::events::Event;
//! use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
//! use hollow_runtime::{Consumer, Hollow, Producer};
//!
//! #[derive(Hollow)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//! }
//!
//! let store = Arc::new(MemoryBlobStore::new());
//! let announcer = Arc::new(InProcessAnnouncer::new());
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let mut producer = Producer::builder(store.clone(), announcer.clone())
//!     .event_listener(move |e: &Event| log.lock().unwrap().push(e.clone()))
//!     .build();
//! producer.run_cycle(|w| w.add(&Movie { id: 1 })).await.unwrap();
//! assert!(matches!(
//!     seen.lock().unwrap()[..],
//!     [
//!         Event::CycleStarted { .. },
//!         Event::Populated { .. },
//!         Event::IntegrityChecked { version: 1, .. },
//!         Event::Validated { version: 1, .. },
//!         Event::BlobWritten { version: 1, .. },
//!         Event::Announced { version: 1, .. },
//!         Event::CycleSucceeded { version: Some(1), .. },
//!     ]
//! ));
//!
//! let consumer = Consumer::builder(store, announcer).build().unwrap();
//! let failed = Arc::new(Mutex::new(0));
//! let count = failed.clone();
//! consumer.on_event(move |e: &Event| {
//!     if matches!(e, Event::RefreshFailed { .. }) {
//!         *count.lock().unwrap() += 1;
//!     }
//! });
//! consumer.refresh().await.unwrap();
//! assert_eq!(*failed.lock().unwrap(), 0);
//! # });
//! ```

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::blob::{BlobName, Encoding};
use crate::error::ErrorKind;

/// Something a producer or consumer did or failed to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A consumer started a refresh that changes the version it holds.
    RefreshStarted {
        /// The version held before (`None`: nothing yet).
        from: Option<u64>,
        /// The version it refreshes to.
        to: u64,
    },
    /// A consumer now holds `version`.
    RefreshSucceeded {
        /// The version held before (`None`: nothing yet).
        from: Option<u64>,
        /// The version held now.
        version: u64,
        /// How long the refresh took.
        duration: Duration,
    },
    /// A consumer's refresh failed; it keeps the version it holds.
    RefreshFailed {
        /// The version the refresh aimed at (`None` when the failure came
        /// before a version was known, as when the announcement could not
        /// be read).
        version: Option<u64>,
        /// The version still held.
        held: Option<u64>,
        /// What kind of failure it was.
        kind: ErrorKind,
        /// The error's text (naming the blob, version and store).
        error: String,
        /// Failures in a row since the last successful refresh, this one
        /// included.
        attempt: u64,
        /// When auto-refresh tries again (`None`: it does not, as after a
        /// refresh called directly).
        retry_in: Option<Duration>,
    },
    /// A consumer found no announced version although it holds a version
    /// or has seen one announced (the announcement was deleted), or found
    /// none on its first look.
    AnnouncementMissing {
        /// The version the consumer holds and keeps serving.
        held: Option<u64>,
        /// The last announced version the consumer saw, if any.
        last_seen: Option<u64>,
    },
    /// A consumer could not read the announcement.
    AnnouncementUnreadable {
        /// The error's text (naming the file or object).
        error: String,
        /// Failures in a row since the last successful refresh, this one
        /// included.
        attempt: u64,
        /// When auto-refresh reads the announcement again (`None` when the
        /// read was part of a refresh called directly).
        retry_in: Option<Duration>,
    },
    /// A consumer's background rewrite of the version it holds failed
    /// (see
    /// [`ConsumerBuilder::reclaim_threshold`](crate::ConsumerBuilder::reclaim_threshold));
    /// it keeps serving the version as it was.
    ReclaimFailed {
        /// The version held.
        version: Option<u64>,
        /// What kind of failure it was.
        kind: ErrorKind,
        /// The error's text.
        error: String,
    },
    /// A producer started a cycle.
    CycleStarted {
        /// The cycle's number: one more than the number of the producer's
        /// cycles that announced a version (a cycle that changes nothing
        /// or fails leaves the next one the same number).
        cycle: u64,
    },
    /// A producer finished a cycle.
    CycleSucceeded {
        /// The producer's cycle number.
        cycle: u64,
        /// The version announced; `None` when the data did not change.
        version: Option<u64>,
        /// How long the cycle took.
        duration: Duration,
    },
    /// A producer's cycle failed: nothing was announced and its state is
    /// as before the cycle.
    CycleFailed {
        /// The producer's cycle number.
        cycle: u64,
        /// What kind of failure it was.
        kind: ErrorKind,
        /// The error's text.
        error: String,
        /// How long the cycle ran.
        duration: Duration,
    },
    /// A producer announced a version.
    Announced {
        /// The version announced.
        version: u64,
        /// The version announced before (`None`: the first).
        previous: Option<u64>,
    },
    /// A producer's populate closure (or change closure, for
    /// [`run_incremental`](crate::Producer::run_incremental)) returned:
    /// the records the cycle's state holds, per type.
    Populated {
        /// The producer's cycle number.
        cycle: u64,
        /// Each record type with its number of records, in the order the
        /// types were registered.
        records: Vec<(String, u64)>,
    },
    /// A producer's integrity check passed: the delta applied to the
    /// previous state, the snapshot and the reverse delta agree on every
    /// type's records.
    IntegrityChecked {
        /// The version being published.
        version: u64,
        /// The blobs checked (snapshot, delta, reverse delta: those the
        /// cycle wrote).
        blobs: usize,
        /// How long the check took.
        duration: Duration,
    },
    /// Every validator of a producer accepted a version (a refusal fails
    /// the cycle: [`Event::CycleFailed`] with
    /// [`ErrorKind::Validation`]).
    Validated {
        /// The version being published.
        version: u64,
        /// How many validators ran.
        validators: usize,
        /// How long they took.
        duration: Duration,
    },
    /// A producer stored a blob of the version it publishes (before the
    /// version is announced).
    BlobWritten {
        /// The version being published.
        version: u64,
        /// The blob.
        blob: BlobName,
        /// How the store holds it (compressed or plain).
        encoding: Encoding,
        /// The plain blob's size in bytes (what consumers map).
        plain_bytes: u64,
        /// The size as stored in bytes (what a fetch transfers): the
        /// plain size for a plain blob, the compressed size as the store's
        /// [`stat`](crate::BlobStore::stat) reports it for a compressed
        /// one; `None` when that stat failed (logged).
        stored_bytes: Option<u64>,
    },
    /// A consumer has a blob in its cache, mapped: fetched from the store
    /// (and decompressed), or found there.
    BlobFetched {
        /// The blob.
        blob: BlobName,
        /// The plain blob's size in bytes.
        bytes: u64,
        /// Whether the blob was already in the cache directory (nothing
        /// was transferred).
        from_cache: bool,
        /// How long fetching (or opening) and checking it took.
        duration: Duration,
    },
    /// A consumer loaded a snapshot as the base of a refresh.
    SnapshotLoaded {
        /// The snapshot's version.
        version: u64,
        /// How long reading it into a state took (after the fetch),
        /// indexes included.
        duration: Duration,
    },
    /// A consumer applied a delta or a reverse delta to its state.
    DeltaApplied {
        /// The blob applied.
        blob: BlobName,
        /// The version it applied to.
        from: u64,
        /// The version it made.
        to: u64,
        /// How long applying it took (after the fetch).
        duration: Duration,
    },
    /// A consumer found a blob unusable during a refresh (missing,
    /// corrupt, refused by the schema check) and plans around it.
    BlobRejected {
        /// The blob.
        blob: BlobName,
        /// What kind of failure it was.
        kind: ErrorKind,
        /// The error's text (naming the blob).
        error: String,
    },
    /// A consumer was pinned to a version, or unpinned
    /// ([`Consumer::pin`](crate::Consumer::pin)); refreshes from then on
    /// go to the pinned version.
    Pinned {
        /// The version pinned; `None`: unpinned (refreshes follow the
        /// announcement again).
        version: Option<u64>,
    },
}

/// Receives [`Event`]s. Any `Fn(&Event) + Send + Sync` closure is one.
pub trait EventListener: Send + Sync {
    /// Called with each event, on the thread that does the work.
    fn on_event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventListener for F {
    fn on_event(&self, event: &Event) {
        self(event);
    }
}

/// The listeners registered with one producer or consumer.
#[derive(Default)]
pub(crate) struct Listeners {
    list: Mutex<Vec<Arc<dyn EventListener>>>,
}

impl Listeners {
    /// Adds a listener.
    pub(crate) fn add(&self, listener: Arc<dyn EventListener>) {
        self.list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(listener);
    }

    /// Whether no listener is registered (an event's figures that cost a
    /// store request are then not gathered).
    pub(crate) fn is_empty(&self) -> bool {
        self.list
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_empty()
    }

    /// Hands `event` to every listener. A listener that panics is logged
    /// and the others still run; the lock is not held while they run, so
    /// a listener may register another.
    pub(crate) fn emit(&self, event: &Event) {
        let list = self.list.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for l in list {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| l.on_event(event))) {
                tracing::error!(
                    ?event,
                    panic = panic_message(&*panic),
                    "an event listener panicked"
                );
            }
        }
    }
}

/// The text of a panic's payload (a `&str` or `String`), or a placeholder.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic with no message")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_listener_does_not_stop_the_others() {
        let listeners = Listeners::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        listeners.add(Arc::new(|_: &Event| panic!("listener bug")));
        let log = seen.clone();
        listeners.add(Arc::new(move |e: &Event| {
            log.lock().unwrap().push(e.clone());
        }));
        let event = Event::CycleStarted { cycle: 1 };
        listeners.emit(&event);
        listeners.emit(&event);
        assert_eq!(*seen.lock().unwrap(), vec![event.clone(), event]);
    }

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        let p = catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*p), "plain");
        let p = catch_unwind(|| panic!("formatted {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*p), "formatted 7");
        let p = catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(&*p), "a panic with no message");
    }
}
