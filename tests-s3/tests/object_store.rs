//! The object-store blob store and announcer against a real S3-compatible
//! server (moto, started by `hollow_tests_s3`; see that module): the
//! server's conditional writes, two producers racing, requests per poll,
//! the retention cleaner, and producer and consumers in separate processes.
//! The blob store, announcer and watcher contracts are checked by the
//! conformance suites (`object_store_conformance.rs`).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hollow_runtime::store::object::{ObjectAnnouncer, ObjectBlobStore};
use hollow_runtime::store::retention::RetentionCleaner;
use hollow_runtime::store::url::{open, Opened};
use hollow_runtime::store::{AnnouncementWatcher, BlobName, StoreErrorKind};
use hollow_runtime::{ErrorKind, Producer};
use hollow_tests::{dataset, Movie};
use hollow_tests_s3 as s3;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn open_url(url: &str) -> Opened {
    open(url, &s3::shared().options()).unwrap()
}

/// A catalog per round, different for each round and producer.
fn catalog(round: u64, producer: u64) -> BTreeMap<u64, Movie> {
    (0..20 + round)
        .map(|id| {
            let seed = if id % 4 == round % 4 {
                1000 * producer + round
            } else {
                id
            };
            (id, dataset::movie(id, seed))
        })
        .collect()
}

async fn publish(
    producer: &mut Producer,
    movies: &BTreeMap<u64, Movie>,
) -> Result<u64, hollow_runtime::Error> {
    let outcome = producer
        .run_cycle(|w| {
            for m in movies.values() {
                w.add(m)?;
            }
            Ok(())
        })
        .await?;
    Ok(outcome.version.expect("a changed catalog makes a version"))
}

#[test]
fn the_server_implements_conditional_writes() {
    let server = s3::shared();
    let url = server.new_bucket("cond", "");
    let (bucket, _) = s3::split_url(&url);
    let client = s3::s3_client(server.endpoint(), bucket);
    runtime().block_on(async {
        let path = ObjectPath::from("key");
        let create = || PutOptions::from(PutMode::Create);
        let first = client
            .put_opts(&path, PutPayload::from("one"), create())
            .await
            .unwrap();
        // If-None-Match: * on an existing object is refused.
        let e = client
            .put_opts(&path, PutPayload::from("two"), create())
            .await
            .unwrap_err();
        assert!(
            matches!(e, object_store::Error::AlreadyExists { .. }),
            "{e}"
        );
        let second = client
            .put_opts(
                &path,
                PutPayload::from("two"),
                PutOptions::from(PutMode::Update(UpdateVersion::from(first.clone()))),
            )
            .await
            .unwrap();
        assert_ne!(first.e_tag, second.e_tag);
        // If-Match with a stale ETag is refused, and nothing changes.
        let e = client
            .put_opts(
                &path,
                PutPayload::from("three"),
                PutOptions::from(PutMode::Update(UpdateVersion::from(first))),
            )
            .await
            .unwrap_err();
        assert!(matches!(e, object_store::Error::Precondition { .. }), "{e}");
        let got = client.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(&got[..], b"two");
        // If-None-Match on the current ETag: 304.
        let e = client
            .get_opts(
                &path,
                GetOptions {
                    if_none_match: second.e_tag.clone(),
                    ..GetOptions::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(e, object_store::Error::NotModified { .. }), "{e}");
    });
}

#[test]
fn two_producers_racing_exactly_one_wins_and_history_never_forks() {
    let server = s3::shared();
    let url = server.new_bucket("race", "p");
    let rt = runtime();
    let (a, b) = (open_url(&url), open_url(&url));
    let mut producers = [
        Producer::builder(a.store, a.announcer)
            .record_type::<Movie>()
            .build(),
        Producer::builder(b.store, b.announcer)
            .record_type::<Movie>()
            .build(),
    ];
    let follower = open_url(&url);
    let cache = tempfile::tempdir().unwrap();
    let consumer = dataset::consumer(follower.store, follower.watcher, cache.path());
    let mut history = Vec::new();
    for round in 1..=6u64 {
        let (cat_a, cat_b) = (catalog(round, 1), catalog(round, 2));
        let [pa, pb] = &mut producers;
        let (ra, rb) =
            rt.block_on(async { tokio::join!(publish(pa, &cat_a), publish(pb, &cat_b)) });
        let (winner, version, loser_err) = match (ra, rb) {
            (Ok(v), Err(e)) => (1, v, e),
            (Err(e), Ok(v)) => (2, v, e),
            (ra, rb) => panic!("round {round}: not exactly one winner: {ra:?} / {rb:?}"),
        };
        assert_eq!(
            loser_err.kind(),
            ErrorKind::AnnounceConflict,
            "round {round}: {loser_err}"
        );
        assert!(
            loser_err.to_string().contains("another producer"),
            "round {round}: {loser_err}"
        );
        history.push(version);
        let won = if winner == 1 { &cat_a } else { &cat_b };
        // A consumer following every version by deltas holds exactly the
        // winner's records.
        rt.block_on(async {
            assert_eq!(consumer.refresh().await.unwrap(), Some(version));
        });
        let state = consumer.current().unwrap();
        assert_eq!(&dataset::by_key::<Movie>(&state), won, "round {round}");
        // So does a fresh consumer loading the snapshot.
        let fresh_cache = tempfile::tempdir().unwrap();
        let fresh = open_url(&url);
        let fresh = dataset::consumer(fresh.store, fresh.watcher, fresh_cache.path());
        rt.block_on(async { fresh.refresh().await.unwrap() });
        assert_eq!(
            &dataset::by_key::<Movie>(&fresh.current().unwrap()),
            won,
            "round {round}"
        );
        // The loser continues from the winner's version.
        let loser = &mut producers[if winner == 1 { 1 } else { 0 }];
        rt.block_on(async { loser.restore_latest().await.unwrap() });
    }
    // One version per round, in order, none skipped or announced twice.
    assert_eq!(history, (1..=6).collect::<Vec<_>>());
}

#[test]
fn a_poll_is_one_conditional_get_when_nothing_changed() {
    let server = s3::shared();
    let url = server.new_bucket("poll", "p");
    let (bucket, prefix) = s3::split_url(&url);
    let counting = Arc::new(s3::Counting::new(s3::s3_client(server.endpoint(), bucket)));
    let rt = runtime();
    let producer_side = open_url(&url);
    rt.block_on(async {
        producer_side
            .store
            .put(BlobName::Snapshot(1), b"x")
            .await
            .unwrap();
        producer_side.announcer.announce(1, None).await.unwrap();
    });
    let interval = Duration::from_millis(25);
    let watcher = ObjectAnnouncer::new(counting.clone(), prefix, url.clone())
        .with_poll_interval(interval)
        .with_pin_watch(false);
    rt.block_on(async {
        assert_eq!(watcher.latest().await.unwrap(), Some(1));
        counting.reset();
        for _ in 0..10 {
            assert_eq!(watcher.latest().await.unwrap(), Some(1));
        }
        assert_eq!(counting.gets.load(Ordering::SeqCst), 10);
        assert_eq!(counting.not_modified.load(Ordering::SeqCst), 10);
        assert_eq!(counting.total(), 10);

        // Waiting for a change: one request per poll interval.
        counting.reset();
        let started = Instant::now();
        let waited =
            tokio::time::timeout(Duration::from_millis(500), watcher.changed(Some(1))).await;
        assert!(waited.is_err(), "nothing was announced");
        // The timeout may cut the last request short: count answered ones.
        let polls = counting.not_modified.load(Ordering::SeqCst);
        let most = started.elapsed().as_millis() as u64 / interval.as_millis() as u64 + 1;
        assert!((1..=most).contains(&polls), "{polls} polls, at most {most}");
        assert!(
            counting.total() - polls <= 1,
            "{} requests, {polls} polls",
            counting.total()
        );
        assert_eq!(counting.total(), counting.gets.load(Ordering::SeqCst));
        eprintln!(
            "requests per poll, nothing changed, pin not watched: {}",
            counting.total() as f64 / polls as f64
        );

        // Watching the pin too (the default): still one conditional GET per
        // poll, since pinning changes the announcement's ETag.
        let pinned_watcher = ObjectAnnouncer::new(counting.clone(), prefix, url.clone());
        assert_eq!(pinned_watcher.latest().await.unwrap(), Some(1));
        counting.reset();
        for _ in 0..10 {
            assert_eq!(pinned_watcher.latest().await.unwrap(), Some(1));
        }
        assert_eq!(counting.total(), 10);
        assert_eq!(counting.not_modified.load(Ordering::SeqCst), 10);
        eprintln!("requests per poll, nothing changed, pin watched: 1");
        // A pin is noticed at the next poll, and so is its removal.
        let pinner = ObjectAnnouncer::new(
            s3::s3_client(server.endpoint(), bucket),
            prefix,
            url.clone(),
        );
        pinner.pin(Some(0)).await.unwrap();
        assert_eq!(pinned_watcher.latest().await.unwrap(), Some(0));
        pinner.pin(None).await.unwrap();
        assert_eq!(pinned_watcher.latest().await.unwrap(), Some(1));

        // A change is seen at the next poll, and refreshes a consumer.
        producer_side.announcer.announce(2, Some(1)).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), watcher.changed(Some(1)))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, Some(2));
    });
}

#[test]
fn an_idle_consumer_makes_one_request_per_poll() {
    let server = s3::shared();
    let url = server.new_bucket("idle", "p");
    let (bucket, prefix) = s3::split_url(&url);
    let counting = Arc::new(s3::Counting::new(s3::s3_client(server.endpoint(), bucket)));
    let rt = runtime();
    let producer_side = open_url(&url);
    let mut producer = Producer::builder(producer_side.store, producer_side.announcer).build();
    rt.block_on(async { publish(&mut producer, &catalog(1, 1)).await.unwrap() });
    let interval = Duration::from_millis(25);
    let store = Arc::new(ObjectBlobStore::new(counting.clone(), prefix, url.clone()));
    let watcher = Arc::new(
        ObjectAnnouncer::new(counting.clone(), prefix, url.clone())
            .with_poll_interval(interval)
            .with_pin_watch(false),
    );
    let cache = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let mut consumer = dataset::consumer(store, watcher, cache.path());
        consumer.start_auto_refresh();
        consumer
            .wait_for_version(1, Duration::from_secs(10))
            .await
            .unwrap();
        tokio::time::sleep(interval * 2).await;
        counting.reset();
        let started = Instant::now();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let elapsed = started.elapsed();
        let requests = counting.total();
        let polls = counting.not_modified.load(Ordering::SeqCst);
        // Every request was a conditional GET answered 304 (give or take
        // one in flight when counting started or stopped).
        assert_eq!(requests, counting.gets.load(Ordering::SeqCst));
        assert!(requests.abs_diff(polls) <= 1, "{requests} requests, {polls} polls");
        let most = elapsed.as_millis() as u64 / interval.as_millis() as u64 + 1;
        assert!((1..=most).contains(&polls), "{polls} polls, at most {most}");
        eprintln!(
            "idle consumer: {requests} requests in {elapsed:?} at a {interval:?} interval: {:.2} per poll",
            requests as f64 / polls as f64
        );
        // It still follows a new version.
        publish(&mut producer, &catalog(2, 1)).await.unwrap();
        let state = consumer
            .wait_for_version(2, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(dataset::by_key::<Movie>(&state), catalog(2, 1));
    });
}

/// Blobs whose types are cut into several sections (shards by ordinal
/// range) go through the object store as any other: stored compressed,
/// fetched, and read by consumers following deltas, loading a snapshot,
/// and walking back through reverse deltas.
#[test]
fn sharded_blobs_go_through_the_object_store() {
    let server = s3::shared();
    let url = server.new_bucket("shards", "p");
    let rt = runtime();
    let opened = open_url(&url);
    let mut producer = Producer::builder(opened.store.clone(), opened.announcer.clone())
        .shard_limit(512)
        .snapshot_interval(2)
        .build();
    let cache = tempfile::tempdir().unwrap();
    let c = open_url(&url);
    let follower = dataset::consumer(c.store, c.watcher, &cache.path().join("follower"));
    for round in 1..=4 {
        let v = rt
            .block_on(publish(&mut producer, &catalog(round, 1)))
            .unwrap();
        assert_eq!(v, round);
        rt.block_on(follower.refresh_to(v)).unwrap();
        assert_eq!(
            dataset::by_key::<Movie>(&follower.current().unwrap()),
            catalog(v, 1),
            "follower at {v}"
        );
    }
    // The snapshots as stored hold Movie in several sections.
    for v in [1, 3] {
        let name = BlobName::Snapshot(v);
        let dest = cache.path().join(name.to_string());
        rt.block_on(opened.store.fetch(name, &dest)).unwrap();
        let bytes = std::fs::read(&dest).unwrap();
        let sections = hollow_tests::shards::sections_per_type(&name.to_string(), &bytes);
        let movie = sections.iter().find(|t| t.0 == "Movie").unwrap();
        assert!(movie.1 > 1, "{name}: {} Movie sections", movie.1);
    }
    // A fresh consumer from snapshot 3, walking back to 2 by the reverse
    // delta and forward to 4 by the delta.
    let c = open_url(&url);
    let walker = dataset::consumer(c.store, c.watcher, &cache.path().join("walker"));
    for v in [3, 2, 3, 4] {
        rt.block_on(walker.refresh_to(v)).unwrap();
        let state = walker.current().unwrap();
        assert_eq!(
            dataset::by_key::<Movie>(&state),
            catalog(v, 1),
            "walker at {v}"
        );
        state.check_records().unwrap();
    }
    assert!(walker
        .current()
        .unwrap()
        .blob_names()
        .contains(&BlobName::Delta { from: 3, to: 4 }));
}

#[test]
fn the_cleaner_keeps_what_reaches_the_announced_version() {
    let server = s3::shared();
    let url = server.new_bucket("clean", "p");
    let rt = runtime();
    let opened = open_url(&url);
    // A snapshot every 4 versions: 1, 5, 9.
    let mut producer = Producer::builder(opened.store.clone(), opened.announcer.clone())
        .snapshot_interval(4)
        .build();
    for round in 1..=12 {
        let v = rt
            .block_on(publish(&mut producer, &catalog(round, 1)))
            .unwrap();
        assert_eq!(v, round);
    }
    let cleaner = RetentionCleaner::new(opened.store.clone(), opened.announcer.clone(), 3);
    let report = rt.block_on(cleaner.clean()).unwrap();
    assert_eq!(report.retained, vec![10, 11, 12]);
    assert_eq!(report.floor, Some(9));
    let mut left = rt.block_on(opened.store.list()).unwrap();
    left.sort();
    let mut expected = vec![BlobName::Snapshot(9)];
    for v in 10..=12 {
        expected.push(BlobName::Delta { from: v - 1, to: v });
        expected.push(BlobName::ReverseDelta { from: v, to: v - 1 });
    }
    expected.sort();
    assert_eq!(left, expected);
    for gone in &report.deleted {
        let e = rt.block_on(opened.store.size(*gone)).unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::NotFound, "{gone}");
    }
    // From every retained version, and from nothing, a consumer reaches the
    // announced version holding exactly the producer's records.
    for start in [None, Some(9), Some(10), Some(11), Some(12)] {
        let cache = tempfile::tempdir().unwrap();
        let c = open_url(&url);
        let consumer = dataset::consumer(c.store, c.watcher, cache.path());
        rt.block_on(async {
            if let Some(v) = start {
                consumer.refresh_to(v).await.unwrap();
                assert_eq!(
                    dataset::by_key::<Movie>(&consumer.current().unwrap()),
                    catalog(v, 1)
                );
            }
            assert_eq!(consumer.refresh().await.unwrap(), Some(12));
        });
        assert_eq!(
            dataset::by_key::<Movie>(&consumer.current().unwrap()),
            catalog(12, 1),
            "from {start:?}"
        );
    }
    // Cleaning again deletes nothing more.
    assert!(rt.block_on(cleaner.clean()).unwrap().deleted.is_empty());
}

#[test]
fn producer_and_two_consumers_in_separate_processes() {
    let server = s3::shared();
    let url = server.new_bucket("e2e", "movies");
    let node = env!("CARGO_BIN_EXE_hollow-s3-node");
    let spawn = |args: &[&str]| {
        let mut cmd = Command::new(node);
        cmd.args(args)
            .envs(server.env())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    };
    // The consumers start before anything is announced.
    let consumers = [
        spawn(&["consume", &url, "10"]),
        spawn(&["consume", &url, "10"]),
    ];
    std::thread::sleep(Duration::from_millis(300));
    let producer = spawn(&["produce", &url, "10"]).wait_with_output().unwrap();
    assert!(
        producer.status.success(),
        "producer: {}",
        String::from_utf8_lossy(&producer.stderr)
    );
    let produced: Vec<String> = String::from_utf8(producer.stdout)
        .unwrap()
        .lines()
        .map(|l| l.replacen("announced", "version", 1))
        .collect();
    assert_eq!(produced.len(), 10, "{produced:?}");
    for (i, c) in consumers.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "consumer {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let seen: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        // Every version, holding exactly the producer's records.
        assert_eq!(seen, produced, "consumer {i}");
    }
}
