//! Several consumers sharing one cache directory: a blob one of them maps
//! is never pruned by another, a blob they need at once is fetched once and
//! mapped from one file by all, a blob pruned as another consumer opens it
//! is fetched again rather than failing the refresh, and nothing is left
//! behind. Most tests share one process (the locks are `flock`s, which
//! separate opens of a file in one process contend for as separate
//! processes do); the last runs four consumer processes
//! (`hollow-test-consumer`) on one directory.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore, StoreError};
use hollow_runtime::{Consumer, Producer};
use hollow_tests::dataset::{catalog, publish, Catalog};
use hollow_tests::intercept::{Intercept, Intercepted};

/// A memory store that counts fetches by blob and can be made slow.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryBlobStore,
    fetches: Mutex<HashMap<BlobName, u64>>,
    /// Milliseconds each fetch waits before copying.
    delay_ms: AtomicU64,
}

impl Counting {
    fn fetches_of(&self, name: BlobName) -> u64 {
        self.fetches
            .lock()
            .unwrap()
            .get(&name)
            .copied()
            .unwrap_or(0)
    }
}

impl Intercept for Counting {
    fn inner(&self) -> &MemoryBlobStore {
        &self.inner
    }
    fn describe(&self) -> String {
        "counting memory".into()
    }
    fn before_fetch(&self, name: BlobName, _dest: &Path) -> Result<(), StoreError> {
        *self.fetches.lock().unwrap().entry(name).or_default() += 1;
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            // The fetch runs on its own worker thread (see `runtime`).
            std::thread::sleep(Duration::from_millis(delay));
        }
        Ok(())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// A store with versions of `catalogs`, published in order; their versions.
async fn published(
    catalogs: &[Catalog],
) -> (
    Arc<Intercepted<Counting>>,
    Arc<InProcessAnnouncer>,
    Vec<u64>,
) {
    let store = Arc::new(Intercepted(Counting::default()));
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let mut versions = Vec::new();
    for c in catalogs {
        versions.push(publish(&mut producer, c).await.expect("a new version"));
    }
    (store, announcer, versions)
}

fn consumer(
    store: &Arc<Intercepted<Counting>>,
    announcer: &Arc<InProcessAnnouncer>,
    cache: &Path,
) -> Consumer {
    Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(cache)
        .build()
        .unwrap()
}

/// Every entry of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_blob_another_consumer_maps_is_not_pruned_until_it_lets_go() {
    let rt = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let c1 = catalog(200, 1, 3);
    let c2 = catalog(200, 2, 3);
    let c3 = catalog(200, 3, 3);
    rt.block_on(async {
        let (store, announcer, v) = published(&[c1.clone(), c2.clone(), c3.clone()]).await;
        let old = consumer(&store, &announcer, &cache);
        old.refresh_to(v[0]).await.unwrap();
        let snap1 = cache.join(BlobName::Snapshot(v[0]).to_string());
        assert!(snap1.exists());

        // Another consumer (pruning, the default) moves to version 2:
        // snapshot 1 is not its, but the first consumer maps it.
        let new = consumer(&store, &announcer, &cache);
        new.refresh_to(v[1]).await.unwrap();
        assert!(
            snap1.exists(),
            "a prune removed a blob another consumer maps: {:?}",
            entries(&cache)
        );

        // So a third consumer of version 1 maps that same file, fetching
        // nothing.
        let third = consumer(&store, &announcer, &cache);
        third.refresh_to(v[0]).await.unwrap();
        assert_eq!(store.fetches_of(BlobName::Snapshot(v[0])), 1);
        c1.assert_held_by(&third.current().unwrap(), "third consumer");
        c1.assert_held_by(&old.current().unwrap(), "first consumer");

        // Once no one reads it, the next prune removes it.
        drop((old, third));
        new.refresh_to(v[2]).await.unwrap();
        c3.assert_held_by(&new.current().unwrap(), "pruning consumer");
        let left = entries(&cache);
        assert!(
            !left.contains(&BlobName::Snapshot(v[0]).to_string()),
            "snapshot 1 outlived its readers: {left:?}"
        );
    });
}

/// The inodes of this process's maps of files in `dir` (Linux: from
/// `/proc/self/maps`).
#[cfg(target_os = "linux")]
fn mapped_inodes(dir: &Path) -> Vec<u64> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let dir = format!("{}/", dir.display());
    maps.lines()
        .filter(|l| l.contains(&dir))
        .map(|l| l.split_whitespace().nth(4).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn consumers_needing_one_blob_at_once_fetch_it_once_and_map_one_file() {
    let rt = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let c1 = catalog(300, 1, 2);
    rt.block_on(async {
        let (store, announcer, v) = published(std::slice::from_ref(&c1)).await;
        store.delay_ms.store(300, Ordering::SeqCst);
        let consumers: Vec<Arc<Consumer>> = (0..4)
            .map(|_| Arc::new(consumer(&store, &announcer, &cache)))
            .collect();
        let tasks: Vec<_> = consumers
            .iter()
            .map(|c| {
                let c = c.clone();
                let version = v[0];
                tokio::spawn(async move { c.refresh_to(version).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let snap = BlobName::Snapshot(v[0]);
        assert_eq!(
            store.fetches_of(snap),
            1,
            "four consumers fetched the snapshot more than once"
        );
        for (i, c) in consumers.iter().enumerate() {
            c1.assert_held_by(&c.current().unwrap(), &format!("consumer {i}"));
            assert_eq!(c.metrics().failures, 0, "consumer {i}");
        }
        // Nothing but the blob is left: no temporary file, no fetch lock.
        assert_eq!(entries(&cache), vec![snap.to_string()]);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::MetadataExt;
            let path = cache.join(snap.to_string());
            let ino = std::fs::metadata(&path).unwrap().ino();
            let mapped = mapped_inodes(&cache);
            assert!(mapped.len() >= 4, "maps of {}: {mapped:?}", path.display());
            assert!(
                mapped.iter().all(|&m| m == ino),
                "the consumers map different copies of {snap}: {mapped:?}, the file is {ino}"
            );
        }
    });
}

#[test]
fn consumers_moving_back_and_forth_while_pruning_never_fail() {
    let rt = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let catalogs = [catalog(100, 1, 2), catalog(100, 2, 2), catalog(100, 3, 2)];
    rt.block_on(async {
        let (store, announcer, v) = published(&catalogs).await;
        let versions = Arc::new(v);
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let c = consumer(&store, &announcer, &cache);
                let versions = versions.clone();
                tokio::spawn(async move {
                    for round in 0..40 {
                        let at = (i + round) % versions.len();
                        c.refresh_to(versions[at]).await.map_err(|e| {
                            format!("consumer {i}, round {round}, to {}: {e}", versions[at])
                        })?;
                        // Drop held states at once, so prunes find blobs free.
                        drop(c.current());
                    }
                    Ok::<_, String>((c.metrics().failures, c.current().unwrap()))
                })
            })
            .collect();
        for t in tasks {
            let (failures, state) = t.await.unwrap().unwrap();
            assert_eq!(failures, 0, "a blob was found unusable");
            let at = versions.iter().position(|&x| x == state.version()).unwrap();
            catalogs[at].assert_held_by(&state, "consumer");
        }
        let left = entries(&cache);
        assert!(
            left.iter().all(|n| n.parse::<BlobName>().is_ok()),
            "leftovers in the cache: {left:?}"
        );
    });
}

#[test]
fn a_fetch_lock_left_by_a_killed_consumer_is_removed() {
    let rt = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let c1 = catalog(50, 1, 2);
    rt.block_on(async {
        let (store, announcer, v) = published(std::slice::from_ref(&c1)).await;
        let snap = BlobName::Snapshot(v[0]);
        // A lock file no one holds, as a killed fetch leaves it.
        std::fs::write(cache.join(format!(".lock-{snap}")), b"").unwrap();
        let c = consumer(&store, &announcer, &cache);
        assert_eq!(entries(&cache), Vec::<String>::new());
        std::fs::write(cache.join(format!(".lock-{snap}")), b"").unwrap();
        c.refresh_to(v[0]).await.unwrap();
        c1.assert_held_by(&c.current().unwrap(), "consumer");
        assert_eq!(entries(&cache), vec![snap.to_string()]);
    });
}

/// A consumer in a process of its own (`hollow-test-consumer`).
#[cfg(target_os = "linux")]
struct ConsumerProcess {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

#[cfg(target_os = "linux")]
impl ConsumerProcess {
    fn start(store: &Path, cache: &Path, version: u64) -> ConsumerProcess {
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_hollow-test-consumer"))
            .arg(store)
            .arg(cache)
            .arg(version.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting a consumer process");
        let stdin = child.stdin.take();
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        ConsumerProcess {
            child,
            stdin,
            stdout,
        }
    }

    /// Waits for it to hold `version` of catalog `c`.
    fn ready(&mut self, version: u64, c: &Catalog) {
        use std::io::BufRead;
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            format!("ready {version} {} {}", c.movies.len(), c.actors.len()),
            "consumer process {}",
            self.child.id()
        );
    }

    fn refresh_to(&mut self, version: u64, c: &Catalog) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "to {version}").unwrap();
        stdin.flush().unwrap();
        self.ready(version, c);
    }

    /// The inodes of its maps of files in `dir`.
    fn mapped_inodes(&self, dir: &Path) -> Vec<u64> {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.child.id())).unwrap();
        let dir = format!("{}/", dir.display());
        maps.lines()
            .filter(|l| l.contains(&dir))
            .map(|l| l.split_whitespace().nth(4).unwrap().parse().unwrap())
            .collect()
    }

    fn stop(mut self) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "consumer process ended {status}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn four_consumer_processes_map_one_file_and_prune_only_what_none_maps() {
    use std::os::unix::fs::MetadataExt;
    let rt = hollow_tests::dataset::runtime();
    let tmp = tempfile::tempdir().unwrap();
    let (store_dir, cache) = (tmp.path().join("store"), tmp.path().join("cache"));
    let catalogs = [catalog(300, 1, 3), catalog(300, 2, 3), catalog(300, 3, 3)];
    let v: Vec<u64> = rt.block_on(async {
        let store = Arc::new(hollow_runtime::FsBlobStore::new(&store_dir).unwrap());
        let announcer = Arc::new(hollow_runtime::FileAnnouncer::new(&store_dir).unwrap());
        let mut producer = Producer::builder(store, announcer).build();
        let mut v = Vec::new();
        for c in &catalogs {
            v.push(publish(&mut producer, c).await.unwrap());
        }
        v
    });
    // Four processes at once on an empty cache.
    let mut procs: Vec<ConsumerProcess> = (0..4)
        .map(|_| ConsumerProcess::start(&store_dir, &cache, v[0]))
        .collect();
    for p in &mut procs {
        p.ready(v[0], &catalogs[0]);
    }
    let snap1 = cache.join(BlobName::Snapshot(v[0]).to_string());
    let ino = std::fs::metadata(&snap1).unwrap().ino();
    for p in &procs {
        let mapped = p.mapped_inodes(&cache);
        assert_eq!(mapped.first(), Some(&ino), "maps of the cache: {mapped:?}");
        assert!(
            mapped.iter().all(|&m| m == ino),
            "a process maps another copy"
        );
    }
    // A fifth process, on version 2 (pruning, the default), loads
    // snapshot 2: the four still map snapshot 1, so it stays.
    let mut fifth = ConsumerProcess::start(&store_dir, &cache, v[1]);
    fifth.ready(v[1], &catalogs[1]);
    assert!(
        snap1.exists(),
        "pruned under readers: {:?}",
        entries(&cache)
    );
    assert_eq!(std::fs::metadata(&snap1).unwrap().ino(), ino);
    // One of the four follows it by the delta, still reading snapshot 1.
    procs[0].refresh_to(v[1], &catalogs[1]);
    assert!(
        snap1.exists(),
        "pruned under readers: {:?}",
        entries(&cache)
    );
    // Once they are all gone, the fifth's next prune removes it.
    for p in procs {
        p.stop();
    }
    fifth.refresh_to(v[2], &catalogs[2]);
    let left = entries(&cache);
    assert!(!snap1.exists(), "outlived its readers: {left:?}");
    assert!(
        left.iter().all(|n| n.parse::<BlobName>().is_ok()),
        "leftovers: {left:?}"
    );
    fifth.stop();
}
