//! Consumers never stall silently: auto-refresh survives a refresh that
//! fails or panics and retries with backoff until it reaches the announced
//! version; every failure shows in the consumer's events and metrics; a
//! deleted or unreadable announcement is reported. Producers report their
//! cycles through the same events.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hollow_runtime::events::Event;
use hollow_runtime::store::{
    BlobName, BlobStore, InProcessAnnouncer, MemoryBlobStore, StoreError, StoreErrorKind,
};
use hollow_runtime::{
    AnnouncementWatcher, Consumer, ErrorKind, FileAnnouncer, FsBlobStore, Producer,
};
use hollow_tests::dataset::{catalog, publish, Catalog};
use hollow_tests::intercept::{Intercept, Intercepted};

/// A memory store whose fetches can be made to panic and whose listing can
/// be made to fail.
#[derive(Debug, Default)]
struct Unreliable {
    inner: MemoryBlobStore,
    /// Fetches still to panic, from the next one.
    panics: AtomicUsize,
    /// While set, listing the store fails.
    down: AtomicBool,
}

impl Intercept for Unreliable {
    fn inner(&self) -> &MemoryBlobStore {
        &self.inner
    }
    fn describe(&self) -> String {
        "unreliable memory".into()
    }
    fn before_fetch(&self, name: BlobName, _dest: &Path) -> Result<(), StoreError> {
        let due = self
            .panics
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if due {
            panic!("injected panic fetching {name}");
        }
        Ok(())
    }
    fn before_list(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::new(
                StoreErrorKind::Io,
                "listing unreliable memory: injected outage",
            ));
        }
        Ok(())
    }
}

/// Every event reported to it, in order.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Event>>>);

impl Recorder {
    fn listener(&self) -> impl Fn(&Event) + Send + Sync + 'static {
        let log = self.0.clone();
        move |e: &Event| log.lock().unwrap().push(e.clone())
    }

    fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap().clone()
    }

    /// The events that `pick` keeps.
    fn picked<T>(&self, pick: impl FnMut(&Event) -> Option<T>) -> Vec<T> {
        self.events().iter().filter_map(pick).collect()
    }

    /// The refresh failures: (attempt, retry_in, kind, error).
    fn refresh_failures(&self) -> Vec<(u64, Option<Duration>, ErrorKind, String)> {
        self.picked(|e| match e {
            Event::RefreshFailed {
                attempt,
                retry_in,
                kind,
                error,
                ..
            } => Some((*attempt, *retry_in, *kind, error.clone())),
            _ => None,
        })
    }

    fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// Waits until `done` holds; fails the test (naming `what`) if it does not
/// within a generous bound, so a regression fails instead of hanging.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not reached in 30 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn consumer(
    store: Arc<dyn BlobStore>,
    watcher: Arc<dyn AnnouncementWatcher>,
    cache: &Path,
    events: &Recorder,
) -> Consumer {
    Consumer::builder(store, watcher)
        .cache_dir(cache)
        .retry_backoff(Duration::from_millis(2), Duration::from_millis(8))
        .event_listener(events.listener())
        .build()
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(30);

/// An [`Unreliable`] store with one version announced, and its producer.
struct Published {
    store: Arc<Intercepted<Unreliable>>,
    announcer: Arc<InProcessAnnouncer>,
    producer: Producer,
    /// The data of version 1: `n` movies.
    c1: Catalog,
}

async fn published(n: u64) -> Published {
    let store = Arc::new(Intercepted(Unreliable::default()));
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let c1 = catalog(n, 1, 2);
    assert_eq!(publish(&mut producer, &c1).await, Some(1));
    Published {
        store,
        announcer,
        producer,
        c1,
    }
}

#[tokio::test]
async fn auto_refresh_survives_a_panicking_refresh_and_retries_without_a_new_announcement() {
    let tmp = tempfile::tempdir().unwrap();
    let Published {
        store,
        announcer,
        mut producer,
        c1,
    } = published(40).await;

    store.panics.store(1, Ordering::SeqCst);
    let events = Recorder::default();
    let mut consumer = consumer(store.clone(), announcer.clone(), tmp.path(), &events);
    consumer.start_auto_refresh();
    // Nothing more is announced: only a retry can reach version 1.
    let state = consumer.wait_for_version(1, WAIT).await.unwrap();
    c1.assert_held_by(&state, "after a panicking refresh");
    let failures = events.refresh_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (attempt, retry_in, kind, error) = &failures[0];
    assert_eq!(
        (*attempt, *retry_in, *kind),
        (1, Some(Duration::from_millis(2)), ErrorKind::CorruptBlob)
    );
    assert!(error.contains("panicked"), "{error}");
    assert!(
        error.contains("injected panic fetching snapshot-1"),
        "{error}"
    );
    assert!(
        matches!(
            events.events().last(),
            Some(Event::RefreshSucceeded {
                from: None,
                version: 1,
                ..
            })
        ),
        "{:?}",
        events.events()
    );
    let m = consumer.metrics();
    assert_eq!(
        (m.failed_refreshes, m.consecutive_failures),
        (1, 0),
        "{m:?}"
    );
    assert_eq!(m.lag, Some(0), "{m:?}");
    assert!(
        m.last_error
            .as_deref()
            .is_some_and(|e| e.contains("injected panic")),
        "{m:?}"
    );

    // The task is still alive: the next version, whose delta panics once
    // too, is reached as well.
    store.panics.store(1, Ordering::SeqCst);
    let c2 = catalog(40, 2, 2);
    assert_eq!(publish(&mut producer, &c2).await, Some(2));
    let state = consumer.wait_for_version(2, WAIT).await.unwrap();
    c2.assert_held_by(&state, "after a second panicking refresh");
    assert_eq!(consumer.metrics().failed_refreshes, 2);
}

#[tokio::test]
async fn a_refresh_called_directly_returns_a_panic_as_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let Published {
        store,
        announcer,
        producer: _,
        c1,
    } = published(10).await;
    let events = Recorder::default();
    let consumer = consumer(store.clone(), announcer, tmp.path(), &events);

    store.panics.store(1, Ordering::SeqCst);
    let e = consumer.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CorruptBlob, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("unreliable memory"), "{msg}");
    assert!(msg.contains("injected panic fetching snapshot-1"), "{msg}");
    assert_eq!(consumer.version(), None);
    // Called directly, a refresh is not retried by the consumer.
    let failures = events.refresh_failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!((failures[0].0, failures[0].1), (1, None));

    assert_eq!(consumer.refresh().await.unwrap(), Some(1));
    c1.assert_held_by(&consumer.current().unwrap(), "after the panic");
    let m = consumer.metrics();
    assert_eq!(
        (m.failed_refreshes, m.consecutive_failures),
        (1, 0),
        "{m:?}"
    );
}

#[tokio::test]
async fn a_failing_store_is_retried_with_backoff_and_shows_in_metrics_and_events() {
    let tmp = tempfile::tempdir().unwrap();
    let Published {
        store,
        announcer,
        producer: _,
        c1,
    } = published(10).await;

    store.down.store(true, Ordering::SeqCst);
    let events = Recorder::default();
    let mut consumer = consumer(store.clone(), announcer, tmp.path(), &events);
    consumer.start_auto_refresh();
    until("five failed refreshes", || {
        events.refresh_failures().len() >= 5
    })
    .await;
    let failures = events.refresh_failures();
    let backoff: Vec<_> = failures[..5].iter().map(|f| (f.0, f.1)).collect();
    let ms = |n| Some(Duration::from_millis(n));
    assert_eq!(
        backoff,
        vec![(1, ms(2)), (2, ms(4)), (3, ms(8)), (4, ms(8)), (5, ms(8))],
        "doubling from the minimum, capped at the maximum"
    );
    for (_, _, kind, error) in &failures {
        assert_eq!(*kind, ErrorKind::Store, "{error}");
        assert!(error.contains("injected outage"), "{error}");
    }
    assert!(
        events.events().iter().any(|e| matches!(
            e,
            Event::RefreshFailed {
                version: Some(1),
                held: None,
                ..
            }
        )),
        "the failure names the version aimed at and the one held"
    );
    let m = consumer.metrics();
    assert_eq!(m.current_version, None);
    assert_eq!(m.announced_version, Some(1));
    assert_eq!(m.lag, Some(1), "{m:?}");
    assert!(m.consecutive_failures >= 5, "{m:?}");
    assert!(m.failed_refreshes >= 5, "{m:?}");
    assert!(m.failures >= m.failed_refreshes, "{m:?}");
    assert!(m.since_last_success > Duration::ZERO, "{m:?}");
    assert!(
        m.last_error
            .as_deref()
            .is_some_and(|e| e.contains("injected outage")),
        "{m:?}"
    );

    // The store recovers; with nothing new announced, a retry reaches the
    // announced version.
    store.down.store(false, Ordering::SeqCst);
    let state = consumer.wait_for_version(1, WAIT).await.unwrap();
    c1.assert_held_by(&state, "after the outage");
    let m = consumer.metrics();
    assert_eq!((m.consecutive_failures, m.lag), (0, Some(0)), "{m:?}");
}

#[tokio::test]
async fn panicking_listeners_do_not_stop_auto_refresh() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let mut consumer = Consumer::builder(store, announcer)
        .cache_dir(tmp.path())
        .event_listener(|_: &Event| panic!("event listener bug"))
        .build()
        .unwrap();
    consumer.on_refresh(|state| panic!("refresh listener bug at {}", state.version()));
    consumer.start_auto_refresh();
    for round in 1..=2 {
        let c = catalog(10, round, 2);
        publish(&mut producer, &c).await;
        let state = consumer.wait_for_version(round, WAIT).await.unwrap();
        c.assert_held_by(&state, "with panicking listeners");
    }
    let m = consumer.metrics();
    assert_eq!((m.refreshes, m.failed_refreshes), (2, 0), "{m:?}");
    // Each refresh listener panic is counted and kept.
    assert_eq!(m.failures, 2, "{m:?}");
    assert!(
        m.last_error
            .as_deref()
            .is_some_and(|e| e.contains("refresh listener bug at 2")),
        "{m:?}"
    );
}

/// A store and announcement file in `dir`, the announcement polled often.
fn local(dir: &Path) -> (Arc<FsBlobStore>, Arc<FileAnnouncer>) {
    (
        Arc::new(FsBlobStore::new(dir).unwrap()),
        Arc::new(
            FileAnnouncer::new(dir)
                .unwrap()
                .with_poll_interval(Duration::from_millis(2)),
        ),
    )
}

#[tokio::test]
async fn a_deleted_announcement_is_reported_not_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, announcer) = local(&dir);
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let c1: Catalog = catalog(10, 1, 2);
    publish(&mut producer, &c1).await;
    let events = Recorder::default();
    let mut consumer = consumer(store, announcer.clone(), &tmp.path().join("c"), &events);
    consumer.start_auto_refresh();
    consumer.wait_for_version(1, WAIT).await.unwrap();
    events.clear();

    std::fs::remove_file(announcer.file()).unwrap();
    until("the missing announcement reported", || {
        !events.events().is_empty()
    })
    .await;
    assert_eq!(
        events.events()[0],
        Event::AnnouncementMissing {
            held: Some(1),
            last_seen: Some(1),
        }
    );
    let m = consumer.metrics();
    assert_eq!(m.announcement_failures, 1, "{m:?}");
    assert_eq!(m.consecutive_failures, 1, "{m:?}");
    assert!(
        m.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no version is announced")),
        "{m:?}"
    );
    // A refresh called directly fails too, and the version held stays.
    let e = consumer.refresh().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store, "{e}");
    assert!(e.to_string().contains("announced.version"), "{e}");
    assert_eq!(consumer.version(), Some(1));
    c1.assert_held_by(&consumer.current().unwrap(), "without an announcement");

    // The announcement comes back: auto-refresh confirms the version.
    std::fs::write(announcer.file(), "1\n").unwrap();
    until("a successful refresh", || {
        consumer.metrics().consecutive_failures == 0
    })
    .await;
    assert_eq!(consumer.version(), Some(1));
}

#[tokio::test]
async fn nothing_announced_yet_is_reported_but_is_no_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = local(&tmp.path().join("store"));
    let events = Recorder::default();
    let consumer = consumer(store, announcer, &tmp.path().join("c"), &events);
    assert_eq!(consumer.refresh().await.unwrap(), None);
    assert_eq!(
        events.events(),
        vec![Event::AnnouncementMissing {
            held: None,
            last_seen: None,
        }]
    );
    let m = consumer.metrics();
    assert_eq!(
        (m.failures, m.announcement_failures, m.lag),
        (0, 0, None),
        "{m:?}"
    );
}

#[tokio::test]
async fn an_unreadable_announcement_is_reported_and_read_again_with_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, announcer) = local(&dir);
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let c1 = catalog(10, 1, 2);
    publish(&mut producer, &c1).await;
    std::fs::write(announcer.file(), "not a version\n").unwrap();

    let events = Recorder::default();
    let mut consumer = consumer(store, announcer.clone(), &tmp.path().join("c"), &events);
    consumer.start_auto_refresh();
    let unreadable = || {
        events.picked(|e| match e {
            Event::AnnouncementUnreadable {
                error,
                attempt,
                retry_in,
            } => Some((*attempt, *retry_in, error.clone())),
            _ => None,
        })
    };
    until("four unreadable announcements", || unreadable().len() >= 4).await;
    let seen = unreadable();
    let ms = |n| Some(Duration::from_millis(n));
    let backoff: Vec<_> = seen[..4].iter().map(|u| (u.0, u.1)).collect();
    assert_eq!(
        backoff,
        vec![(1, ms(2)), (2, ms(4)), (3, ms(8)), (4, ms(8))]
    );
    for (_, _, error) in &seen {
        assert!(error.contains("corrupt announcement file"), "{error}");
        assert!(error.contains("not a version"), "{error}");
    }
    let m = consumer.metrics();
    assert!(m.announcement_failures >= 4, "{m:?}");
    assert!(m.consecutive_failures >= 4, "{m:?}");
    assert_eq!((m.current_version, m.lag), (None, None), "{m:?}");

    std::fs::write(announcer.file(), "1\n").unwrap();
    let state = consumer.wait_for_version(1, WAIT).await.unwrap();
    c1.assert_held_by(&state, "after the announcement is readable");
    assert_eq!(consumer.metrics().consecutive_failures, 0);
}

/// Checks the figures of a first cycle's events: the record counts of
/// the catalog of 10 movies, and the snapshot's sizes as the store has
/// them (compressed by default).
async fn first_cycle_figures(all: &[Event], store: &dyn BlobStore) {
    let counts = |e: &Event| match e {
        Event::Populated { records, .. } => Some(records.clone()),
        _ => None,
    };
    assert_eq!(
        all.iter().find_map(counts),
        Some(vec![("Movie".to_string(), 10), ("Actor".to_string(), 5)])
    );
    let stat = store.stat(BlobName::Snapshot(1)).await.unwrap();
    let written = all.iter().find_map(|e| match e {
        Event::BlobWritten {
            encoding,
            plain_bytes,
            stored_bytes,
            ..
        } => Some((*encoding, Some(*plain_bytes), *stored_bytes)),
        _ => None,
    });
    assert_eq!(
        written,
        Some((stat.encoding, stat.plain_bytes, Some(stat.stored_bytes)))
    );
    assert_eq!(stat.encoding, hollow_runtime::store::Encoding::Zstd);
}

#[tokio::test]
async fn producer_cycles_are_reported() {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let events = Recorder::default();
    let mut producer = Producer::builder(store.clone(), announcer)
        .event_listener(events.listener())
        .build();
    let c1 = catalog(10, 1, 2);
    publish(&mut producer, &c1).await;
    let all = events.events();
    assert!(
        matches!(
            all[..],
            [
                Event::CycleStarted { cycle: 1 },
                Event::Populated { cycle: 1, .. },
                Event::IntegrityChecked {
                    version: 1,
                    blobs: 1,
                    ..
                },
                Event::Validated {
                    version: 1,
                    validators: 0,
                    ..
                },
                Event::BlobWritten {
                    version: 1,
                    blob: BlobName::Snapshot(1),
                    ..
                },
                Event::Announced {
                    version: 1,
                    previous: None
                },
                Event::CycleSucceeded {
                    cycle: 1,
                    version: Some(1),
                    ..
                },
            ]
        ),
        "{all:?}"
    );
    first_cycle_figures(&all, &*store).await;

    // Nothing changed: a cycle with no version.
    events.clear();
    assert_eq!(publish(&mut producer, &c1).await, None);
    assert!(
        matches!(
            events.events()[..],
            [
                Event::CycleStarted { cycle: 2 },
                Event::Populated { cycle: 2, .. },
                Event::CycleSucceeded {
                    cycle: 2,
                    version: None,
                    ..
                },
            ]
        ),
        "{:?}",
        events.events()
    );

    // A failing closure, then a failing store.
    events.clear();
    let e = producer
        .run_cycle(|_| {
            Err(hollow_runtime::Error::new(
                ErrorKind::Record,
                "no records today",
            ))
        })
        .await
        .unwrap_err();
    store.fail_next_puts(1);
    let c2 = catalog(10, 2, 2);
    let e2 = producer
        .run_cycle(|w| c2.movies.values().try_for_each(|m| w.add(m)))
        .await
        .unwrap_err();
    let failed = events.picked(|ev| match ev {
        Event::CycleFailed {
            cycle, kind, error, ..
        } => Some((*cycle, *kind, error.clone())),
        // The store failed after the second cycle's blobs were checked.
        Event::CycleStarted { .. }
        | Event::Populated { cycle: 2, .. }
        | Event::IntegrityChecked { version: 2, .. }
        | Event::Validated { version: 2, .. } => None,
        other => panic!("only failures expected: {other:?}"),
    });
    assert_eq!(
        failed,
        vec![
            (2, ErrorKind::Populate, e.to_string()),
            (2, ErrorKind::Store, e2.to_string()),
        ]
    );
    assert!(failed[0].2.contains("no records today"), "{failed:?}");

    events.clear();
    publish(&mut producer, &c2).await;
    assert!(
        events.events().contains(&Event::Announced {
            version: 2,
            previous: Some(1)
        }),
        "{:?}",
        events.events()
    );
}

#[tokio::test]
async fn consumer_fetches_applies_rejections_and_pins_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, announcer) = local(&dir);
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .compression(hollow_runtime::store::Compression::None)
        .build();
    for round in 1..=3 {
        publish(&mut producer, &catalog(10, round, 2)).await;
    }
    let events = Recorder::default();
    let consumer = consumer(store.clone(), announcer, &tmp.path().join("c"), &events);
    consumer.refresh_to(1).await.unwrap();
    let snapshot = BlobName::Snapshot(1);
    let size = store.stat(snapshot).await.unwrap().plain_bytes.unwrap();
    assert!(
        matches!(
            events.events()[..],
            [
                Event::RefreshStarted { from: None, to: 1 },
                Event::BlobFetched {
                    blob: BlobName::Snapshot(1),
                    from_cache: false,
                    bytes,
                    ..
                },
                Event::SnapshotLoaded { version: 1, .. },
                Event::RefreshSucceeded {
                    from: None,
                    version: 1,
                    ..
                },
            ] if bytes == size
        ),
        "{:?}",
        events.events()
    );

    // A delta forward, then (pinned) a reverse delta back.
    events.clear();
    consumer.refresh_to(2).await.unwrap();
    consumer.pin(Some(1));
    assert_eq!(consumer.refresh().await.unwrap(), Some(1));
    let delta = BlobName::Delta { from: 1, to: 2 };
    let reverse = BlobName::ReverseDelta { from: 2, to: 1 };
    let steps = events.picked(|e| match e {
        Event::BlobFetched { blob, .. } => Some(format!("fetched {blob}")),
        Event::DeltaApplied { blob, from, to, .. } => Some(format!("applied {blob} {from}->{to}")),
        Event::Pinned { version } => Some(format!("pinned {version:?}")),
        _ => None,
    });
    assert_eq!(
        steps,
        [
            format!("fetched {delta}"),
            format!("applied {delta} 1->2"),
            "pinned Some(1)".to_string(),
            format!("fetched {reverse}"),
            format!("applied {reverse} 2->1"),
        ]
    );

    // A corrupt delta is rejected, naming it, and planned around.
    events.clear();
    consumer.pin(None);
    let bad = BlobName::Delta { from: 1, to: 2 };
    std::fs::remove_file(consumer.cache_dir().join(bad.to_string())).ok();
    let path = dir.join(bad.to_string());
    let mut bytes = std::fs::read(&path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(consumer.refresh().await.unwrap(), Some(3));
    let rejected = events.picked(|e| match e {
        Event::BlobRejected { blob, kind, error } => Some((*blob, *kind, error.clone())),
        _ => None,
    });
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(
        (rejected[0].0, rejected[0].1),
        (bad, ErrorKind::CorruptBlob)
    );
    assert!(rejected[0].2.contains(&bad.to_string()), "{rejected:?}");
}
