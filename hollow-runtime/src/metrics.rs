//! Producer and consumer [`Event`]s as metrics, and their Prometheus text
//! (feature `metrics`, on by default).
//!
//! One call gives a library user a Prometheus page: [`PrometheusMetrics::new`]
//! owns a recorder of its own (nothing process-global is installed, so two
//! producers, or two tests, in one process never see each other's
//! figures), is itself an [`EventListener`] to attach to any number of
//! producers and consumers, and [`render`](PrometheusMetrics::render)s the
//! Prometheus text exposition format for a `/metrics` handler.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::metrics::PrometheusMetrics;
//! use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
//! use hollow_runtime::{Consumer, Hollow, Producer};
//!
//! #[derive(Hollow)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//! }
//!
//! let metrics = PrometheusMetrics::new();
//! let store = Arc::new(MemoryBlobStore::new());
//! let announcer = Arc::new(InProcessAnnouncer::new());
//! let mut producer = Producer::builder(store.clone(), announcer.clone())
//!     .event_listener(metrics.clone())
//!     .build();
//! producer.run_cycle(|w| w.add(&Movie { id: 1 })).await.unwrap();
//! let consumer = Consumer::builder(store, announcer)
//!     .event_listener(metrics.clone())
//!     .build()
//!     .unwrap();
//! consumer.refresh().await.unwrap();
//!
//! let text = metrics.render();
//! assert!(text.contains("hollow_producer_cycles_total{result=\"announced\"} 1"));
//! assert!(text.contains("hollow_consumer_version 1"));
//! # });
//! ```
//!
//! To feed the process's global `metrics` recorder instead (whatever
//! exporter the application installed, Prometheus or another), attach a
//! [`MetricsListener`]: it records each event to the recorder current
//! where the event happens, the global one unless a local one is set with
//! [`metrics::with_local_recorder`]. With this crate's exporter:
//! `metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()`
//! returns the handle that renders the page.
//!
//! # Metrics
//!
//! Durations are histograms in seconds (buckets from 1 ms to 5 min with
//! [`PrometheusMetrics::new`]); sizes are in bytes. Labels: `kind` is a
//! blob kind (`snapshot`, `delta`, `reverse_delta`); `encoding` how the
//! store holds a blob (`plain`, `zstd`); `reason` an [`ErrorKind`] in
//! snake case (`store`, `corrupt_blob`, `validation`, `integrity`, …).
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `hollow_producer_cycles_total` | counter | `result`: `announced`, `unchanged`, `failed` | cycles run |
//! | `hollow_producer_cycle_failures_total` | counter | `reason` | cycles failed, by reason |
//! | `hollow_producer_cycle_duration_seconds` | histogram | `result` | cycle time |
//! | `hollow_producer_records` | gauge | `type` | records of each type after the last populate |
//! | `hollow_producer_integrity_check_duration_seconds` | histogram | | integrity checks passed |
//! | `hollow_producer_validation_duration_seconds` | histogram | | validators run on a version, all accepting |
//! | `hollow_producer_blobs_written_total` | counter | `kind`, `encoding` | blobs stored |
//! | `hollow_producer_blob_bytes` | gauge | `kind`, `encoding` | size as stored of the last blob of a kind |
//! | `hollow_producer_blob_plain_bytes` | gauge | `kind` | plain size of the last blob of a kind |
//! | `hollow_producer_blob_written_bytes_total` | counter | `kind`, `encoding` | bytes stored, summed |
//! | `hollow_producer_announced_version` | gauge | | the last version announced |
//! | `hollow_producer_announcements_total` | counter | | versions announced |
//! | `hollow_consumer_refreshes_started_total` | counter | | refreshes that set out to change the version |
//! | `hollow_consumer_refreshes_total` | counter | `result`: `succeeded`, `failed` | refreshes ended |
//! | `hollow_consumer_refresh_failures_total` | counter | `reason` | refreshes failed, by reason |
//! | `hollow_consumer_refresh_duration_seconds` | histogram | | successful refresh time |
//! | `hollow_consumer_version` | gauge | | the version held after the last refresh |
//! | `hollow_consumer_blobs_fetched_total` | counter | `kind`, `source`: `store`, `cache` | blobs fetched into the cache, or found there |
//! | `hollow_consumer_fetched_bytes_total` | counter | `kind` | plain bytes fetched from the store |
//! | `hollow_consumer_blob_fetch_duration_seconds` | histogram | `kind`, `source` | fetch (and check) time |
//! | `hollow_consumer_snapshot_load_duration_seconds` | histogram | | snapshot read into a state |
//! | `hollow_consumer_deltas_applied_total` | counter | `kind`: `delta`, `reverse_delta` | deltas applied |
//! | `hollow_consumer_delta_apply_duration_seconds` | histogram | `kind` | delta apply time |
//! | `hollow_consumer_blobs_rejected_total` | counter | `kind`, `reason` | blobs found unusable and planned around |
//! | `hollow_consumer_pinned` | gauge | | 1 while pinned, else 0 |
//! | `hollow_consumer_pinned_version` | gauge | | the version pinned (0 when not pinned) |
//! | `hollow_consumer_announcement_failures_total` | counter | `reason`: `missing`, `unreadable` | announcements deleted or unreadable |
//! | `hollow_consumer_reclaim_failures_total` | counter | | background rewrites failed |
//!
//! One [`PrometheusMetrics`] attached to several consumers sums their
//! counters, and its gauges show the last event of any of them: give each
//! dataset its own, or build each with
//! [`PrometheusMetrics::with_builder`] and a global label naming it.

use std::sync::Arc;
use std::time::Duration;

use ::metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::PrometheusRecorder;
/// The exporter's builder (buckets, quantiles, global labels) for
/// [`PrometheusMetrics::with_builder`], its bucket matcher, and the handle
/// that renders a recorder's page.
pub use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::blob::{BlobKind, BlobName};
use crate::error::ErrorKind;
use crate::events::{Event, EventListener};

/// The histogram buckets of durations (seconds) in
/// [`PrometheusMetrics::new`]: 1 ms to 5 min.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0, 300.0,
];

/// Records every [`Event`] with the `metrics` facade, to the recorder
/// current where the event happens: the process's global recorder, unless
/// a local one is set (see the [module docs](self) for the names).
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsListener;

impl MetricsListener {
    /// A listener; describes the metrics (their help text) to the current
    /// recorder first.
    pub fn new() -> Self {
        describe();
        MetricsListener
    }
}

impl EventListener for MetricsListener {
    fn on_event(&self, event: &Event) {
        record(event);
    }
}

/// A Prometheus recorder of its own, fed by the events of the producers
/// and consumers it is attached to (it is an [`EventListener`]; clones
/// share the recorder), and the text page of its figures. See the
/// [module docs](self).
#[derive(Clone)]
pub struct PrometheusMetrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for PrometheusMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusMetrics").finish_non_exhaustive()
    }
}

impl Default for PrometheusMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl PrometheusMetrics {
    /// A recorder of its own, with durations (every metric named
    /// `…_seconds`) as histograms over [`DURATION_BUCKETS`].
    pub fn new() -> Self {
        // The buckets are not empty, the only thing the builder refuses.
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        Self::with_builder(builder)
    }

    /// A recorder of its own built by `builder` (its buckets, quantiles,
    /// global labels); only its recorder is used, not its HTTP listener or
    /// push gateway.
    pub fn with_builder(builder: PrometheusBuilder) -> Self {
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let m = PrometheusMetrics {
            inner: Arc::new(Inner { recorder, handle }),
        };
        m.record(describe);
        m
    }

    /// Runs `f` with this recorder as the current one: the `metrics`
    /// macros (`counter!`, …) called in it record here. For an
    /// application's own figures on the same page.
    pub fn record<T>(&self, f: impl FnOnce() -> T) -> T {
        ::metrics::with_local_recorder(&self.inner.recorder, f)
    }

    /// The figures in the Prometheus text exposition format (version
    /// 0.0.4), as served on `/metrics`.
    pub fn render(&self) -> String {
        self.inner.handle.render()
    }

    /// The recorder's handle (render, upkeep), to keep apart from this.
    pub fn handle(&self) -> PrometheusHandle {
        self.inner.handle.clone()
    }
}

impl EventListener for PrometheusMetrics {
    fn on_event(&self, event: &Event) {
        self.record(|| record(event));
    }
}

/// A blob kind as a label value.
fn kind_label(name: BlobName) -> &'static str {
    match name.kind() {
        BlobKind::Snapshot => "snapshot",
        BlobKind::Delta => "delta",
        BlobKind::ReverseDelta => "reverse_delta",
    }
}

/// An error kind as a label value.
pub fn reason_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Store => "store",
        ErrorKind::CorruptBlob => "corrupt_blob",
        ErrorKind::WrongState => "wrong_state",
        ErrorKind::Planning => "planning",
        ErrorKind::AnnounceConflict => "announce_conflict",
        ErrorKind::Validation => "validation",
        ErrorKind::Integrity => "integrity",
        ErrorKind::Record => "record",
        ErrorKind::Schema => "schema",
        ErrorKind::Populate => "populate",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Io => "io",
        ErrorKind::Closed => "closed",
    }
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Records `event` to the current recorder.
fn record(event: &Event) {
    match event {
        Event::CycleStarted { .. }
        | Event::Populated { .. }
        | Event::IntegrityChecked { .. }
        | Event::Validated { .. }
        | Event::BlobWritten { .. }
        | Event::CycleSucceeded { .. }
        | Event::CycleFailed { .. }
        | Event::Announced { .. } => record_producer(event),
        _ => record_consumer(event),
    }
}

/// Records a producer's event.
fn record_producer(event: &Event) {
    match event {
        Event::Populated { records, .. } => {
            for (t, n) in records {
                gauge!("hollow_producer_records", "type" => t.clone()).set(*n as f64);
            }
        }
        Event::IntegrityChecked { duration, .. } => {
            histogram!("hollow_producer_integrity_check_duration_seconds")
                .record(seconds(*duration));
        }
        Event::Validated { duration, .. } => {
            histogram!("hollow_producer_validation_duration_seconds").record(seconds(*duration));
        }
        Event::BlobWritten {
            blob,
            encoding,
            plain_bytes,
            stored_bytes,
            ..
        } => {
            let (kind, encoding) = (kind_label(*blob), encoding.as_str());
            counter!("hollow_producer_blobs_written_total", "kind" => kind, "encoding" => encoding)
                .increment(1);
            gauge!("hollow_producer_blob_plain_bytes", "kind" => kind).set(*plain_bytes as f64);
            if let Some(stored) = stored_bytes {
                gauge!("hollow_producer_blob_bytes", "kind" => kind, "encoding" => encoding)
                    .set(*stored as f64);
                counter!(
                    "hollow_producer_blob_written_bytes_total",
                    "kind" => kind,
                    "encoding" => encoding
                )
                .increment(*stored);
            }
        }
        Event::CycleSucceeded {
            version, duration, ..
        } => {
            let result = if version.is_some() {
                "announced"
            } else {
                "unchanged"
            };
            counter!("hollow_producer_cycles_total", "result" => result).increment(1);
            histogram!("hollow_producer_cycle_duration_seconds", "result" => result)
                .record(seconds(*duration));
        }
        Event::CycleFailed { kind, duration, .. } => {
            counter!("hollow_producer_cycles_total", "result" => "failed").increment(1);
            counter!("hollow_producer_cycle_failures_total", "reason" => reason_label(*kind))
                .increment(1);
            histogram!("hollow_producer_cycle_duration_seconds", "result" => "failed")
                .record(seconds(*duration));
        }
        Event::Announced { version, .. } => {
            counter!("hollow_producer_announcements_total").increment(1);
            gauge!("hollow_producer_announced_version").set(*version as f64);
        }
        _ => {}
    }
}

/// Records a consumer's event.
fn record_consumer(event: &Event) {
    match event {
        Event::RefreshStarted { .. } => {
            counter!("hollow_consumer_refreshes_started_total").increment(1);
        }
        Event::RefreshSucceeded {
            version, duration, ..
        } => {
            counter!("hollow_consumer_refreshes_total", "result" => "succeeded").increment(1);
            histogram!("hollow_consumer_refresh_duration_seconds").record(seconds(*duration));
            gauge!("hollow_consumer_version").set(*version as f64);
        }
        Event::RefreshFailed { kind, .. } => {
            counter!("hollow_consumer_refreshes_total", "result" => "failed").increment(1);
            counter!("hollow_consumer_refresh_failures_total", "reason" => reason_label(*kind))
                .increment(1);
        }
        Event::BlobFetched {
            blob,
            bytes,
            from_cache,
            duration,
        } => {
            let kind = kind_label(*blob);
            let source = if *from_cache { "cache" } else { "store" };
            counter!("hollow_consumer_blobs_fetched_total", "kind" => kind, "source" => source)
                .increment(1);
            if !from_cache {
                counter!("hollow_consumer_fetched_bytes_total", "kind" => kind).increment(*bytes);
            }
            histogram!(
                "hollow_consumer_blob_fetch_duration_seconds",
                "kind" => kind,
                "source" => source
            )
            .record(seconds(*duration));
        }
        Event::SnapshotLoaded { duration, .. } => {
            histogram!("hollow_consumer_snapshot_load_duration_seconds").record(seconds(*duration));
        }
        Event::DeltaApplied { blob, duration, .. } => {
            let kind = kind_label(*blob);
            counter!("hollow_consumer_deltas_applied_total", "kind" => kind).increment(1);
            histogram!("hollow_consumer_delta_apply_duration_seconds", "kind" => kind)
                .record(seconds(*duration));
        }
        Event::BlobRejected { blob, kind, .. } => {
            counter!(
                "hollow_consumer_blobs_rejected_total",
                "kind" => kind_label(*blob),
                "reason" => reason_label(*kind)
            )
            .increment(1);
        }
        Event::Pinned { version } => {
            gauge!("hollow_consumer_pinned").set(if version.is_some() { 1.0 } else { 0.0 });
            gauge!("hollow_consumer_pinned_version").set(version.unwrap_or(0) as f64);
        }
        // Nothing announced yet, and nothing held, is no failure.
        Event::AnnouncementMissing { held, last_seen } if held.is_some() || last_seen.is_some() => {
            counter!("hollow_consumer_announcement_failures_total", "reason" => "missing")
                .increment(1);
        }
        Event::AnnouncementUnreadable { .. } => {
            counter!("hollow_consumer_announcement_failures_total", "reason" => "unreadable")
                .increment(1);
        }
        Event::ReclaimFailed { .. } => {
            counter!("hollow_consumer_reclaim_failures_total").increment(1);
        }
        _ => {}
    }
}

/// Describes every metric (help text and unit) to the current recorder.
fn describe() {
    describe_producer();
    describe_consumer();
}

fn describe_producer() {
    describe_counter!(
        "hollow_producer_cycles_total",
        "Producer cycles run, by result (announced, unchanged, failed)"
    );
    describe_counter!(
        "hollow_producer_cycle_failures_total",
        "Producer cycles failed, by reason (error kind)"
    );
    describe_histogram!(
        "hollow_producer_cycle_duration_seconds",
        Unit::Seconds,
        "Producer cycle time, by result"
    );
    describe_gauge!(
        "hollow_producer_records",
        "Records of each type in the producer's last populated cycle"
    );
    describe_histogram!(
        "hollow_producer_integrity_check_duration_seconds",
        Unit::Seconds,
        "Time of the producer's integrity checks that passed"
    );
    describe_histogram!(
        "hollow_producer_validation_duration_seconds",
        Unit::Seconds,
        "Time of the producer's validators on versions they accepted"
    );
    describe_counter!(
        "hollow_producer_blobs_written_total",
        "Blobs stored by the producer, by kind and encoding"
    );
    describe_gauge!(
        "hollow_producer_blob_bytes",
        Unit::Bytes,
        "Size as stored of the last blob of each kind the producer wrote"
    );
    describe_gauge!(
        "hollow_producer_blob_plain_bytes",
        Unit::Bytes,
        "Plain size of the last blob of each kind the producer wrote"
    );
    describe_counter!(
        "hollow_producer_blob_written_bytes_total",
        Unit::Bytes,
        "Bytes stored by the producer (as stored), by kind and encoding"
    );
    describe_gauge!(
        "hollow_producer_announced_version",
        "The last version the producer announced"
    );
    describe_counter!(
        "hollow_producer_announcements_total",
        "Versions the producer announced"
    );
}

fn describe_consumer() {
    describe_counter!(
        "hollow_consumer_refreshes_started_total",
        "Consumer refreshes that set out to change the version held"
    );
    describe_counter!(
        "hollow_consumer_refreshes_total",
        "Consumer refreshes ended, by result (succeeded, failed)"
    );
    describe_counter!(
        "hollow_consumer_refresh_failures_total",
        "Consumer refreshes failed, by reason (error kind)"
    );
    describe_histogram!(
        "hollow_consumer_refresh_duration_seconds",
        Unit::Seconds,
        "Time of successful consumer refreshes"
    );
    describe_gauge!(
        "hollow_consumer_version",
        "The version the consumer holds after its last refresh"
    );
    describe_counter!(
        "hollow_consumer_blobs_fetched_total",
        "Blobs the consumer fetched from the store or found in its cache, by kind and source"
    );
    describe_counter!(
        "hollow_consumer_fetched_bytes_total",
        Unit::Bytes,
        "Plain bytes of the blobs the consumer fetched from the store, by kind"
    );
    describe_histogram!(
        "hollow_consumer_blob_fetch_duration_seconds",
        Unit::Seconds,
        "Time to fetch (or open) and check a blob, by kind and source"
    );
    describe_histogram!(
        "hollow_consumer_snapshot_load_duration_seconds",
        Unit::Seconds,
        "Time to read a fetched snapshot into a state"
    );
    describe_counter!(
        "hollow_consumer_deltas_applied_total",
        "Deltas and reverse deltas the consumer applied, by kind"
    );
    describe_histogram!(
        "hollow_consumer_delta_apply_duration_seconds",
        Unit::Seconds,
        "Time to apply a fetched delta, by kind"
    );
    describe_counter!(
        "hollow_consumer_blobs_rejected_total",
        "Blobs the consumer found unusable and planned around, by kind and reason"
    );
    describe_gauge!("hollow_consumer_pinned", "1 while the consumer is pinned");
    describe_gauge!(
        "hollow_consumer_pinned_version",
        "The version the consumer is pinned to (0 when not pinned)"
    );
    describe_counter!(
        "hollow_consumer_announcement_failures_total",
        "Announcements found missing or unreadable, by reason"
    );
    describe_counter!(
        "hollow_consumer_reclaim_failures_total",
        "Background rewrites of the version held that failed"
    );
}
