//! Producer and consumer metrics in the Prometheus text format: cycles
//! (announced, unchanged, failed by a closure and by a validator) and
//! refreshes (by snapshot, delta and reverse delta, around a corrupt blob,
//! and failing) are run with a [`PrometheusMetrics`] of the test's own
//! attached; its page is parsed line by line and each figure compared with
//! what happened: counts, versions, and byte sizes equal to the store's
//! `stat` of the blobs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hollow_runtime::metrics::PrometheusMetrics;
use hollow_runtime::producer::RecordCountVariance;
use hollow_runtime::store::{BlobName, BlobStore, Compression, Encoding};
use hollow_runtime::{Consumer, ErrorKind, FileAnnouncer, FsBlobStore, Producer};
use hollow_tests::dataset::{catalog, publish, Catalog};
use hollow_tests::prometheus::Page;

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

/// A cycle adding all of `c`, returning its error.
async fn failing_cycle(producer: &mut Producer, c: &Catalog) -> hollow_runtime::Error {
    producer
        .run_cycle(|w| {
            c.movies.values().try_for_each(|m| w.add(m))?;
            c.actors.values().try_for_each(|a| w.add(a))
        })
        .await
        .unwrap_err()
}

/// Flips a byte in the middle of the file of `name` in the store at `dir`
/// (the producers here write plain blobs).
fn corrupt(dir: &Path, name: BlobName) {
    let path = dir.join(name.to_string());
    let mut bytes = std::fs::read(&path).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x5a;
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn the_parser_reads_labels_escapes_and_special_values() {
    let page = Page::parse(
        "# HELP x_total help text\n# TYPE x_total counter\n\
         x_total{a=\"1\",b=\"q\\\"uote\\\\ and \\n\"} 3\n\
         y 2.5\nz_bucket{le=\"+Inf\"} 4\nw -Inf\n",
    );
    assert_eq!(page.kind("x_total"), "counter");
    assert_eq!(
        page.value("x_total", &[("a", "1"), ("b", "q\"uote\\ and \n")]),
        3.0
    );
    assert_eq!(page.value("y", &[]), 2.5);
    assert_eq!(page.value("z_bucket", &[("le", "+Inf")]), 4.0);
    assert_eq!(page.value("w", &[]), f64::NEG_INFINITY);
    assert_eq!(page.get("x_total", &[("a", "1")]), None);
}

#[tokio::test]
async fn producer_cycles_and_blob_sizes_are_exported() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, announcer) = local(tmp.path());
    let metrics = PrometheusMetrics::new();
    let mut producer = Producer::builder(store.clone(), announcer)
        .validator(RecordCountVariance::new("Movie", 20.0))
        .event_listener(metrics.clone())
        .build();
    // v1: a snapshot; v2: a snapshot, a delta and a reverse delta.
    assert_eq!(publish(&mut producer, &catalog(10, 1, 2)).await, Some(1));
    assert_eq!(publish(&mut producer, &catalog(10, 2, 2)).await, Some(2));
    // Unchanged.
    assert_eq!(publish(&mut producer, &catalog(10, 2, 2)).await, None);
    // Refused by the closure, then by the validator (twice the movies).
    let e = producer
        .run_cycle(|_| Err(hollow_runtime::Error::new(ErrorKind::Record, "no feed")))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Populate);
    let e = failing_cycle(&mut producer, &catalog(20, 3, 2)).await;
    assert_eq!(e.kind(), ErrorKind::Validation, "{e}");

    let page = Page::parse(&metrics.render());
    let cycles = |result| page.value("hollow_producer_cycles_total", &[("result", result)]);
    assert_eq!(
        (cycles("announced"), cycles("unchanged"), cycles("failed")),
        (2.0, 1.0, 2.0)
    );
    assert_eq!(page.kind("hollow_producer_cycles_total"), "counter");
    for reason in ["populate", "validation"] {
        assert_eq!(
            page.value(
                "hollow_producer_cycle_failures_total",
                &[("reason", reason)]
            ),
            1.0,
            "{reason}"
        );
    }
    assert_eq!(page.value("hollow_producer_announced_version", &[]), 2.0);
    assert_eq!(page.kind("hollow_producer_announced_version"), "gauge");
    assert_eq!(page.value("hollow_producer_announcements_total", &[]), 2.0);
    // The last populated cycle held 20 movies and 10 actors.
    assert_eq!(
        page.value("hollow_producer_records", &[("type", "Movie")]),
        20.0
    );
    assert_eq!(
        page.value("hollow_producer_records", &[("type", "Actor")]),
        10.0
    );

    // Durations are histograms: one observation per cycle of each result.
    let duration = "hollow_producer_cycle_duration_seconds";
    assert_eq!(page.kind(duration), "histogram");
    let count = |result| page.value(&format!("{duration}_count"), &[("result", result)]);
    assert_eq!(
        (count("announced"), count("unchanged"), count("failed")),
        (2.0, 1.0, 2.0)
    );
    let inf = page.value(
        &format!("{duration}_bucket"),
        &[("result", "announced"), ("le", "+Inf")],
    );
    assert_eq!(inf, 2.0);
    // Three integrity checks passed (the refused version's too); the
    // validator accepted two versions.
    let checks = "hollow_producer_integrity_check_duration_seconds_count";
    assert_eq!(page.value(checks, &[]), 3.0);
    let validations = "hollow_producer_validation_duration_seconds_count";
    assert_eq!(page.value(validations, &[]), 2.0);

    // Sizes: the store's own figures. Stored compressed (the default).
    let written = |kind, encoding| {
        page.value(
            "hollow_producer_blobs_written_total",
            &[("kind", kind), ("encoding", encoding)],
        )
    };
    assert_eq!(
        (
            written("snapshot", "zstd"),
            written("delta", "zstd"),
            written("reverse_delta", "zstd")
        ),
        (2.0, 1.0, 1.0)
    );
    let mut snapshot_bytes = 0;
    for (kind, name) in [
        ("snapshot", BlobName::Snapshot(2)),
        ("delta", BlobName::Delta { from: 1, to: 2 }),
        ("reverse_delta", BlobName::ReverseDelta { from: 2, to: 1 }),
    ] {
        let stat = store.stat(name).await.unwrap();
        assert_eq!(stat.encoding, Encoding::Zstd);
        let labels = [("kind", kind), ("encoding", "zstd")];
        assert_eq!(
            page.value("hollow_producer_blob_bytes", &labels),
            stat.stored_bytes as f64,
            "{name}"
        );
        assert_eq!(
            page.value("hollow_producer_blob_plain_bytes", &[("kind", kind)]),
            stat.plain_bytes.unwrap() as f64,
            "{name}"
        );
        assert_ne!(stat.stored_bytes, stat.plain_bytes.unwrap());
        if kind == "snapshot" {
            snapshot_bytes = stat.stored_bytes;
        }
    }
    let first = store.stat(BlobName::Snapshot(1)).await.unwrap();
    assert_eq!(
        page.value(
            "hollow_producer_blob_written_bytes_total",
            &[("kind", "snapshot"), ("encoding", "zstd")]
        ),
        (first.stored_bytes + snapshot_bytes) as f64
    );
}

#[tokio::test]
async fn two_metrics_in_one_process_keep_their_own_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_metrics, b_metrics) = (PrometheusMetrics::new(), PrometheusMetrics::new());
    for (dir, metrics, cycles) in [("a", &a_metrics, 1), ("b", &b_metrics, 3)] {
        let (store, announcer) = local(&tmp.path().join(dir));
        let mut producer = Producer::builder(store, announcer)
            .event_listener(metrics.clone())
            .build();
        for round in 1..=cycles {
            publish(&mut producer, &catalog(4, round, 1)).await;
        }
    }
    let announced = |m: &PrometheusMetrics| {
        Page::parse(&m.render()).value("hollow_producer_cycles_total", &[("result", "announced")])
    };
    assert_eq!((announced(&a_metrics), announced(&b_metrics)), (1.0, 3.0));
}

/// A local store with `versions` versions published (uncompressed), and
/// a consumer of it reporting to its own metrics.
async fn watched(
    versions: u64,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Arc<FsBlobStore>,
    PrometheusMetrics,
    Consumer,
) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let (store, announcer) = local(&dir);
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .compression(Compression::None)
        .build();
    for round in 1..=versions {
        publish(&mut producer, &catalog(10, round, 2)).await;
    }
    let metrics = PrometheusMetrics::new();
    let consumer = Consumer::builder(store.clone(), announcer)
        .cache_dir(tmp.path().join("cache"))
        .event_listener(metrics.clone())
        .build()
        .unwrap();
    (tmp, dir, store, metrics, consumer)
}

#[tokio::test]
async fn consumer_refreshes_fetches_and_pins_are_exported() {
    let (_tmp, _dir, store, metrics, consumer) = watched(2).await;
    assert_eq!(consumer.refresh_to(1).await.unwrap(), 1);
    assert_eq!(consumer.refresh_to(2).await.unwrap(), 2);
    consumer.pin(Some(1));
    assert_eq!(consumer.refresh().await.unwrap(), Some(1));

    let page = Page::parse(&metrics.render());
    assert_eq!(page.value("hollow_consumer_version", &[]), 1.0);
    assert_eq!(
        page.value(
            "hollow_consumer_refreshes_total",
            &[("result", "succeeded")]
        ),
        3.0
    );
    assert_eq!(
        page.value("hollow_consumer_refreshes_started_total", &[]),
        3.0
    );
    assert_eq!(
        page.value("hollow_consumer_refresh_duration_seconds_count", &[]),
        3.0
    );
    assert_eq!(page.value("hollow_consumer_pinned", &[]), 1.0);
    assert_eq!(page.value("hollow_consumer_pinned_version", &[]), 1.0);
    // v1 from its snapshot, v2 by the delta, back to v1 by the reverse
    // delta: each blob fetched from the store once, its plain size counted.
    for (kind, name) in [
        ("snapshot", BlobName::Snapshot(1)),
        ("delta", BlobName::Delta { from: 1, to: 2 }),
        ("reverse_delta", BlobName::ReverseDelta { from: 2, to: 1 }),
    ] {
        let stat = store.stat(name).await.unwrap();
        assert_eq!(
            page.value(
                "hollow_consumer_blobs_fetched_total",
                &[("kind", kind), ("source", "store")]
            ),
            1.0,
            "{name}"
        );
        assert_eq!(
            page.value("hollow_consumer_fetched_bytes_total", &[("kind", kind)]),
            stat.plain_bytes.unwrap() as f64,
            "{name}"
        );
    }
    assert_eq!(
        page.value("hollow_consumer_deltas_applied_total", &[("kind", "delta")]),
        1.0
    );
    assert_eq!(
        page.value(
            "hollow_consumer_deltas_applied_total",
            &[("kind", "reverse_delta")]
        ),
        1.0
    );
    assert_eq!(
        page.value("hollow_consumer_snapshot_load_duration_seconds_count", &[]),
        1.0
    );
    assert_eq!(
        page.get(
            "hollow_consumer_refresh_failures_total",
            &[("reason", "planning")]
        ),
        None
    );

    consumer.pin(None);
    let page = Page::parse(&metrics.render());
    assert_eq!(page.value("hollow_consumer_pinned", &[]), 0.0);
}

#[tokio::test]
async fn corrupt_blobs_and_failed_refreshes_are_exported() {
    let (_tmp, dir, store, metrics, consumer) = watched(3).await;
    assert_eq!(consumer.refresh_to(1).await.unwrap(), 1);
    // The delta to v2 is corrupt: planned around, through the snapshot.
    corrupt(&dir, BlobName::Delta { from: 1, to: 2 });
    assert_eq!(consumer.refresh_to(2).await.unwrap(), 2);
    // Every way to v3 is corrupt: the refresh fails, v2 is kept.
    corrupt(&dir, BlobName::Delta { from: 2, to: 3 });
    corrupt(&dir, BlobName::Snapshot(3));
    let e = consumer.refresh_to(3).await.unwrap_err();
    assert_eq!(consumer.version(), Some(2));

    let page = Page::parse(&metrics.render());
    assert_eq!(page.value("hollow_consumer_version", &[]), 2.0);
    let refreshes = |result| page.value("hollow_consumer_refreshes_total", &[("result", result)]);
    assert_eq!((refreshes("succeeded"), refreshes("failed")), (2.0, 1.0));
    let reason = hollow_runtime::metrics::reason_label(e.kind());
    assert_eq!(
        page.value(
            "hollow_consumer_refresh_failures_total",
            &[("reason", reason)]
        ),
        1.0,
        "{e}"
    );
    let rejected = |kind| {
        page.value(
            "hollow_consumer_blobs_rejected_total",
            &[("kind", kind), ("reason", "corrupt_blob")],
        )
    };
    assert_eq!((rejected("delta"), rejected("snapshot")), (2.0, 1.0));
    // Snapshots 1 and 2 loaded (3 was refused: no fetch is counted for it).
    let snapshot_fetches = page.value(
        "hollow_consumer_blobs_fetched_total",
        &[("kind", "snapshot"), ("source", "store")],
    );
    assert_eq!(snapshot_fetches, 2.0);
    let sizes = store
        .stat(BlobName::Snapshot(1))
        .await
        .unwrap()
        .plain_bytes
        .unwrap()
        + store
            .stat(BlobName::Snapshot(2))
            .await
            .unwrap()
            .plain_bytes
            .unwrap();
    assert_eq!(
        page.value(
            "hollow_consumer_fetched_bytes_total",
            &[("kind", "snapshot")]
        ),
        sizes as f64
    );
}
