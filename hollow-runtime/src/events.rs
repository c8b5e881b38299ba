//! What producers and consumers report as they work: one [`Event`] type,
//! delivered to [`EventListener`]s.
//!
//! A consumer reports each refresh (started, succeeded, failed with the
//! attempt and when it retries) and each announcement it cannot find or
//! read; a producer reports each cycle and each version it announces.
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
