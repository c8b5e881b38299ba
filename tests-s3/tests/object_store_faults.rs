//! Faults over a real S3-compatible server (see `hollow_tests_s3`): the
//! server going away mid-cycle, blobs deleted or corrupted in the bucket,
//! and a consumer started before anything is announced.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hollow_runtime::store::url::{open, Opened};
use hollow_runtime::store::{BlobName, BlobStat, BlobStore, Compression, StoreError};
use hollow_runtime::{Consumer, ErrorKind, Producer};
use hollow_tests::{dataset, Movie};
use hollow_tests_s3 as s3;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn catalog(round: u64) -> BTreeMap<u64, Movie> {
    (0..30 + round)
        .map(|id| {
            (
                id,
                dataset::movie(id, if id % 3 == round % 3 { round } else { id }),
            )
        })
        .collect()
}

async fn publish(
    producer: &mut Producer,
    movies: &BTreeMap<u64, Movie>,
) -> Result<Option<u64>, hollow_runtime::Error> {
    let outcome = producer
        .run_cycle(|w| {
            for m in movies.values() {
                w.add(m)?;
            }
            Ok(())
        })
        .await?;
    Ok(outcome.version)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut at = e.source();
    while let Some(s) = at {
        out.push_str(" / ");
        out.push_str(&s.to_string());
        at = s.source();
    }
    out
}

/// A blob store that stops the proxy in front of the server after a
/// number of successful puts.
#[derive(Debug)]
struct StopAfterPuts {
    inner: Arc<dyn BlobStore>,
    proxy: Arc<s3::Proxy>,
    /// Puts left before the stop (`usize::MAX`: never).
    left: AtomicUsize,
}

#[async_trait]
impl BlobStore for StopAfterPuts {
    async fn put_as(
        &self,
        name: BlobName,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.inner.put_as(name, data, compression).await?;
        if self.left.load(Ordering::SeqCst) != usize::MAX
            && self.left.fetch_sub(1, Ordering::SeqCst) == 1
        {
            self.proxy.stop();
        }
        Ok(())
    }
    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        self.inner.fetch(name, dest).await
    }
    async fn list(&self) -> Result<Vec<BlobName>, StoreError> {
        self.inner.list().await
    }
    async fn delete(&self, name: BlobName) -> Result<(), StoreError> {
        self.inner.delete(name).await
    }
    async fn stat(&self, name: BlobName) -> Result<BlobStat, StoreError> {
        self.inner.stat(name).await
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[test]
fn server_stopped_mid_cycle_announces_nothing_then_the_producer_succeeds() {
    let server = s3::shared();
    let url = server.new_bucket("stop", "p");
    let proxy = Arc::new(s3::Proxy::new(server.endpoint()));
    // The producer reaches the server through the proxy; the consumer and
    // the checks go to the server directly.
    let through = open(&url, &s3::options_for(&proxy.endpoint())).unwrap();
    let direct = open(&url, &server.options()).unwrap();
    let store = Arc::new(StopAfterPuts {
        inner: through.store,
        proxy: proxy.clone(),
        left: AtomicUsize::new(usize::MAX),
    });
    let mut producer = Producer::builder(store.clone(), through.announcer).build();
    let cache = tempfile::tempdir().unwrap();
    let consumer = dataset::consumer(direct.store.clone(), direct.watcher.clone(), cache.path());
    let rt = runtime();
    rt.block_on(async {
        assert_eq!(publish(&mut producer, &catalog(1)).await.unwrap(), Some(1));
        consumer.refresh().await.unwrap();
        // Cycle 2 writes a snapshot, a delta and a reverse delta, then
        // announces. Stop the server after the first blob, and (next try)
        // after all three, before the announcement.
        for (stop_after, what) in [(1, "mid-publish"), (3, "before the announcement")] {
            store.left.store(stop_after, Ordering::SeqCst);
            let e = publish(&mut producer, &catalog(2)).await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Store),
                "{what}: {}",
                error_chain(&e)
            );
            assert!(
                error_chain(&e).contains(&url),
                "{what}: the error names the store: {}",
                error_chain(&e)
            );
            assert_eq!(
                direct.announcer.announced().await.unwrap(),
                Some(1),
                "{what}: nothing announced"
            );
            assert_eq!(consumer.refresh().await.unwrap(), Some(1), "{what}");
            assert_eq!(
                dataset::by_key::<Movie>(&consumer.current().unwrap()),
                catalog(1),
                "{what}"
            );
            assert_eq!(producer.announced(), Some(1), "{what}");
            // Back: the same cycle succeeds.
            store.left.store(usize::MAX, Ordering::SeqCst);
            proxy.start();
        }
        assert_eq!(publish(&mut producer, &catalog(2)).await.unwrap(), Some(2));
        assert_eq!(consumer.refresh().await.unwrap(), Some(2));
        assert_eq!(
            dataset::by_key::<Movie>(&consumer.current().unwrap()),
            catalog(2)
        );
        // A consumer starting afresh loads the snapshot of the retried
        // cycle, not the one the failed attempt left.
        let fresh_cache = tempfile::tempdir().unwrap();
        let fresh = dataset::consumer(
            direct.store.clone(),
            direct.watcher.clone(),
            fresh_cache.path(),
        );
        assert_eq!(fresh.refresh().await.unwrap(), Some(2));
        assert_eq!(
            dataset::by_key::<Movie>(&fresh.current().unwrap()),
            catalog(2)
        );
    });
}

#[test]
fn a_deleted_or_corrupted_blob_is_reported_and_planned_around() {
    let server = s3::shared();
    let url = server.new_bucket("damage", "p");
    let (bucket, prefix) = s3::split_url(&url);
    let raw = s3::s3_client(server.endpoint(), bucket);
    // The producer stores blobs compressed (its default): `<name>.zst`, so
    // the damage below is to compressed objects, refused on fetch.
    let object = |name: BlobName| ObjectPath::from(format!("{prefix}/{name}.zst"));
    let opened: Opened = open(&url, &server.options()).unwrap();
    let mut producer = Producer::builder(opened.store.clone(), opened.announcer.clone()).build();
    let rt = runtime();
    let cache = tempfile::tempdir().unwrap();
    let consumer = dataset::consumer(opened.store.clone(), opened.watcher.clone(), cache.path());
    rt.block_on(async {
        for round in 1..=3 {
            publish(&mut producer, &catalog(round)).await.unwrap();
        }
        consumer.refresh_to(1).await.unwrap();

        // Deleted: delta-1-2 is gone; the consumer plans through snapshot-2.
        raw.delete(&object(BlobName::Delta { from: 1, to: 2 }))
            .await
            .unwrap();
        consumer.refresh_to(2).await.unwrap();
        assert_eq!(
            dataset::by_key::<Movie>(&consumer.current().unwrap()),
            catalog(2)
        );

        // Corrupted: both ways to version 3 (the delta and the snapshot)
        // have a flipped byte. The refresh fails naming a blob; the
        // consumer keeps version 2.
        for name in [BlobName::Delta { from: 2, to: 3 }, BlobName::Snapshot(3)] {
            let mut bytes = raw
                .get(&object(name))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            let at = bytes.len() / 2;
            bytes[at] ^= 0x5a;
            raw.put(&object(name), PutPayload::from(bytes))
                .await
                .unwrap();
        }
        let failures = consumer.metrics().failures;
        let e = consumer.refresh().await.unwrap_err();
        let chain = error_chain(&e);
        assert!(
            chain.contains("delta-2-3") || chain.contains("snapshot-3"),
            "the error names the blob: {chain}"
        );
        assert!(consumer.metrics().failures > failures);
        assert_eq!(consumer.version(), Some(2));
        assert_eq!(
            dataset::by_key::<Movie>(&consumer.current().unwrap()),
            catalog(2)
        );

        // Recovery by another plan: version 4 brings a good snapshot.
        publish(&mut producer, &catalog(4)).await.unwrap();
        assert_eq!(consumer.refresh().await.unwrap(), Some(4));
        assert_eq!(
            dataset::by_key::<Movie>(&consumer.current().unwrap()),
            catalog(4)
        );
    });
}

#[test]
fn a_consumer_started_before_any_announcement_waits_then_follows() {
    let server = s3::shared();
    let url = server.new_bucket("early", "p");
    let opened = open(&url, &server.options()).unwrap();
    let rt = runtime();
    let cache = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut consumer: Consumer =
            dataset::consumer(opened.store.clone(), opened.watcher.clone(), cache.path());
        // Nothing announced: no version, no error.
        assert_eq!(consumer.refresh().await.unwrap(), None);
        assert_eq!(consumer.version(), None);
        assert!(consumer.current().is_none());
        consumer.start_auto_refresh();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(consumer.version(), None);

        let mut producer =
            Producer::builder(opened.store.clone(), opened.announcer.clone()).build();
        publish(&mut producer, &catalog(1)).await.unwrap();
        let state = consumer
            .wait_for_version(1, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(dataset::by_key::<Movie>(&state), catalog(1));
        publish(&mut producer, &catalog(2)).await.unwrap();
        let state = consumer
            .wait_for_version(2, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(dataset::by_key::<Movie>(&state), catalog(2));
        assert_eq!(consumer.metrics().failures, 0);
    });
}
