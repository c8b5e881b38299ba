//! The store conformance suites (`hollow_tests::conformance`) run against
//! the object store: on a real S3-compatible server (moto, started by
//! `hollow_tests_s3`) and over `object_store`'s in-memory store, with what
//! each of these adds to the contract.

use std::sync::Arc;
use std::time::Duration;

use hollow_runtime::store::object::{ObjectAnnouncer, ObjectBlobStore};
use hollow_runtime::store::url::{open, Opened};
use hollow_runtime::store::{BlobName, BlobStore, Compression, StoreErrorKind};
use hollow_tests::conformance::{announcer, blob_store, watcher, Handles, Open};
use hollow_tests_s3 as s3;
use object_store::path::Path as ObjectPath;
use object_store::ObjectStore;

const S3: &str = "object store on S3";
const IN_MEMORY: &str = "object store in memory";

fn open_url(url: &str) -> Opened {
    open(url, &s3::shared().options()).unwrap()
}

/// A fresh bucket; each handle opens its URL again, as another host would.
fn s3_location() -> Open {
    let url = s3::shared().new_bucket("conformance", "p");
    Box::new(move || {
        let opened = open_url(&url);
        Handles {
            announcer: opened.announcer,
            watcher: opened.watcher,
            where_: format!("{url}/announced.version"),
        }
    })
}

/// A fresh in-memory object store; each handle is a new announcer on it.
fn in_memory_location() -> Open {
    let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    Box::new(move || {
        let a = Arc::new(
            ObjectAnnouncer::new(objects.clone(), "ds", "memory://ds")
                .with_poll_interval(Duration::from_millis(10)),
        );
        Handles {
            announcer: a.clone(),
            watcher: a,
            where_: "memory://ds/announced.version".to_owned(),
        }
    })
}

/// An in-memory object store with a small multipart threshold, so that
/// the large blob of the round trip goes up in parts.
fn in_memory_store(objects: Arc<dyn ObjectStore>) -> ObjectBlobStore {
    ObjectBlobStore::new(objects, "/a/b/", "memory://a/b")
        .with_multipart_threshold(1 << 20)
        .with_part_size(1 << 20)
        .with_upload_concurrency(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_blob_store_conformance() {
    let fresh = || open_url(&s3::shared().new_bucket("conformance", "datasets/movies")).store;
    // Above the 8 MiB multipart threshold: uploaded in parts.
    blob_store::run(S3, &fresh, 20_000_000).await;

    // The store describes itself by its URL.
    let url = s3::shared().new_bucket("conformance", "datasets/movies");
    let store = open_url(&url).store;
    assert_eq!(store.describe(), url);
    let scratch = tempfile::tempdir().unwrap();
    let e = store
        .fetch(BlobName::Snapshot(9), &scratch.path().join("x"))
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains(&format!("blob snapshot-9 not found in {url}")),
        "{e}"
    );

    // A missing bucket: a configuration error naming the URL.
    let missing = open_url("s3://no-such-bucket-hollow/p");
    let dest = scratch.path().join("local");
    for e in [
        missing.store.list().await.unwrap_err(),
        missing
            .store
            .fetch(BlobName::Snapshot(1), &dest)
            .await
            .unwrap_err(),
        missing.watcher.latest().await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), StoreErrorKind::Config, "{e}");
        assert!(
            e.to_string()
                .contains("the bucket of s3://no-such-bucket-hollow/p does not exist"),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_announcer_conformance() {
    // Several announcers (as several hosts would have) racing.
    announcer::run(S3, &s3_location, 6, 6, 8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_watcher_conformance() {
    watcher::run(S3, &s3_location).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_blob_store_conformance() {
    let fresh = || {
        Arc::new(in_memory_store(Arc::new(
            object_store::memory::InMemory::new(),
        ))) as Arc<dyn BlobStore>
    };
    blob_store::run(IN_MEMORY, &fresh, 3_000_000).await;

    // Only blobs and this store's claim under the prefix.
    // Plain, then compressed: the marker on each blob's name.
    for (compression, want) in [
        (
            Compression::None,
            ["claim-9", "reversedelta-2-1", "snapshot-1", "snapshot-9"],
        ),
        (
            Compression::default(),
            [
                "claim-9",
                "reversedelta-2-1.zst",
                "snapshot-1.zst",
                "snapshot-9.zst",
            ],
        ),
    ] {
        let objects = Arc::new(object_store::memory::InMemory::new());
        let store = in_memory_store(objects.clone());
        assert_eq!(store.describe(), "memory://a/b");
        blob_store::round_trip(IN_MEMORY, &store, 3_000_000, compression).await;
        let mut names: Vec<String> = objects
            .list_with_delimiter(Some(&ObjectPath::from("a/b")))
            .await
            .unwrap()
            .objects
            .iter()
            .map(|m| m.location.filename().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(names, want, "{compression:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_announcer_conformance() {
    announcer::run(IN_MEMORY, &in_memory_location, 4, 12, 15).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_memory_watcher_conformance() {
    watcher::run(IN_MEMORY, &in_memory_location).await;
}
