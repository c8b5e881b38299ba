//! Blobs read outside Rust: `examples/python/hollow_reader.py`, which uses
//! only pycapnp, xxhash and `docs/blob-format.md`, reads every version of
//! several stores and must print exactly what `hollow export` prints.
//!
//! The stores: the three example datasets of `generated-examples` (`iot`:
//! enums, a union with a group member, nested structs; `commerce`: a group,
//! an enum, a list of structs; `movies`), and one of this crate's test
//! types (`AllTypes`: every primitive, `Data`, lists of lists, optional
//! pointers; `Event`: unions inside unions; `Shipment`: nested groups;
//! `Role`: a nested key) with proptest-made values (every float class,
//! arbitrary characters). Producers write a snapshot every few cycles, so
//! some versions are reachable only through deltas. Each version is read
//! from its own snapshot, forward from an earlier snapshot through deltas,
//! and backward from a later snapshot through reverse deltas, with the
//! schema from the blob header and (for the examples) from the checked-in
//! `.capnp` files. `hollow export` runs through the `hollow-cli` library
//! (the code of the binary, in process).
//!
//! A further store changes its schema midway (`Movie` gains fields), and
//! the reader follows deltas and reverse deltas across the change.
//!
//! Every read also recomputes each type's `stateChecksum` in Python (from
//! the records' canonical bytes). Negative checks: a flipped byte fails
//! the whole-file checksum; a flipped section byte under a recomputed
//! trailer fails the section checksum; a record edited under recomputed
//! file and section checksums fails the state checksum.
//!
//! The Python environment is installed on first use (`hollow_tests::python`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use clap::Parser as _;
use hollow_runtime::store::{BlobStore as _, Compression, FileAnnouncer};
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::{dataset, python, strategy, AllTypes, Event, Role, Shipment};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value;

use generated_examples::sample;

/// `hollow export STORE --version V`, one JSON value per line.
fn export(store: &Path, version: u64) -> Vec<Value> {
    let store_arg = store.to_str().expect("a UTF-8 path");
    let cli = hollow_cli::args::Cli::parse_from([
        "hollow",
        "export",
        store_arg,
        "--version",
        &version.to_string(),
    ]);
    let mut out = Vec::new();
    hollow_cli::run(cli, &mut out)
        .unwrap_or_else(|e| panic!("hollow export {store_arg} --version {version}: {e}"));
    lines(&out, "hollow export")
}

fn lines(out: &[u8], what: &str) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .unwrap_or_else(|e| panic!("{what}: output is not UTF-8: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: {e}: {l}")))
        .collect()
}

/// Runs the Python reader with `args`; returns (exit code, stdout, stderr).
fn reader(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(python::python())
        .arg(python::reader_script())
        .args(args)
        .output()
        .expect("running the Python reader");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Python reader's records of `version`, reached `via`.
fn python_read(store: &Path, version: u64, via: &str, schemas: &[PathBuf]) -> Vec<Value> {
    let v = version.to_string();
    let mut args = vec![
        store.to_str().expect("a UTF-8 path"),
        "--version",
        &v,
        "--via",
        via,
    ];
    for s in schemas {
        args.push("--schema");
        args.push(s.to_str().expect("a UTF-8 path"));
    }
    let (code, out, err) = reader(&args);
    assert_eq!(code, 0, "python reader {args:?} failed: {err}");
    lines(&out, &format!("python reader {args:?}"))
}

/// The blobs of a store directory, by name (without the `.zst` of a blob
/// stored compressed).
fn blob_names(store: &Path) -> BTreeSet<String> {
    std::fs::read_dir(store)
        .expect("listing the store")
        .map(|e| {
            e.expect("a directory entry")
                .file_name()
                .into_string()
                .expect("UTF-8")
        })
        .filter(|n| n.starts_with("snapshot-") || n.contains("delta-"))
        .map(|n| n.strip_suffix(".zst").map_or(n.clone(), str::to_string))
        .collect()
}

/// What the comparisons covered.
#[derive(Default, Debug)]
struct Coverage {
    snapshot: usize,
    forward_deltas: usize,
    reverse_deltas: usize,
    delta_only_versions: usize,
    records: usize,
}

/// Reads every version of `store` every way the blobs allow and compares
/// each with `hollow export`.
fn compare_store(store: &Path, versions: &[u64], schemas: &[PathBuf]) -> Coverage {
    let names = blob_names(store);
    let snapshots: Vec<u64> = versions
        .iter()
        .copied()
        .filter(|v| names.contains(&format!("snapshot-{v}")))
        .collect();
    let mut cov = Coverage::default();
    for &v in versions {
        let expected = export(store, v);
        assert!(!expected.is_empty(), "version {v} exports no record");
        cov.records += expected.len();
        let mut vias = Vec::new();
        if snapshots.contains(&v) {
            vias.push("snapshot");
            cov.snapshot += 1;
        } else {
            cov.delta_only_versions += 1;
        }
        if snapshots.iter().any(|&s| s < v) {
            vias.push("forward");
            cov.forward_deltas += 1;
        }
        if snapshots.iter().any(|&s| s > v) {
            vias.push("reverse");
            cov.reverse_deltas += 1;
        }
        for via in vias {
            let got = python_read(store, v, via, &[]);
            assert_same(&got, &expected, &format!("version {v} via {via}"));
            if !schemas.is_empty() {
                let got = python_read(store, v, via, schemas);
                assert_same(
                    &got,
                    &expected,
                    &format!("version {v} via {via}, schema from .capnp files"),
                );
            }
        }
    }
    cov
}

fn assert_same(got: &[Value], expected: &[Value], what: &str) {
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g, e, "{what}: line {i} differs\npython: {g}\nexport: {e}");
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "{what}: the Python reader printed {} records, hollow export {}",
        got.len(),
        expected.len()
    );
}

/// A producer over `dir` writing a snapshot every `interval` cycles.
fn producer(dir: &Path, interval: u64) -> Producer {
    producer_cut_at(dir, interval, None)
}

/// [`producer`], cutting sections at `shard_limit` bytes when given.
fn producer_cut_at(dir: &Path, interval: u64, shard_limit: Option<u64>) -> Producer {
    // Plain blobs, so the damage tests can edit the files' bytes (stores
    // of compressed blobs: `python_reader_reads_compressed_blobs`).
    producer_as(dir, interval, shard_limit, Compression::None)
}

/// [`producer_cut_at`], storing blobs as `compression` says.
fn producer_as(
    dir: &Path,
    interval: u64,
    shard_limit: Option<u64>,
    compression: Compression,
) -> Producer {
    let store = Arc::new(FsBlobStore::new(dir).expect("a blob store"));
    let announcer = Arc::new(FileAnnouncer::new(dir).expect("an announcer"));
    let builder = Producer::builder(store, announcer)
        .compression(compression)
        .snapshot_interval(interval);
    match shard_limit {
        Some(limit) => builder.shard_limit(limit),
        None => builder,
    }
    .build()
}

fn schema_files(names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| hollow_tests::schemas_dir().join(n))
        .collect()
}

/// Publishes cycles 1..=3 of an example dataset with `add_all`; returns
/// the versions.
fn publish_example(
    dir: &Path,
    add_all: impl FnMut(
        &mut hollow_runtime::producer::CycleWriter<'_>,
        u32,
    ) -> Result<(), hollow_runtime::Error>,
) -> Vec<u64> {
    publish_example_cut_at(dir, None, add_all)
}

/// [`publish_example`], cutting sections at `shard_limit` bytes when
/// given.
fn publish_example_cut_at(
    dir: &Path,
    shard_limit: Option<u64>,
    mut add_all: impl FnMut(
        &mut hollow_runtime::producer::CycleWriter<'_>,
        u32,
    ) -> Result<(), hollow_runtime::Error>,
) -> Vec<u64> {
    let rt = dataset::runtime();
    let mut p = producer_cut_at(dir, 2, shard_limit);
    let mut versions = Vec::new();
    for cycle in 1..=3 {
        let outcome = rt
            .block_on(p.run_cycle(|w| add_all(w, cycle)))
            .expect("a cycle");
        versions.push(outcome.version.expect("each cycle changes the data"));
    }
    versions
}

fn check(cov: &Coverage) {
    assert!(
        cov.snapshot > 0,
        "no version read from its snapshot: {cov:?}"
    );
    assert!(
        cov.forward_deltas > 0,
        "no version read through deltas: {cov:?}"
    );
    assert!(
        cov.reverse_deltas > 0,
        "no version read through reverse deltas: {cov:?}"
    );
    assert!(
        cov.delta_only_versions > 0,
        "every version had a snapshot: {cov:?}"
    );
}

#[test]
fn iot_example_reads_the_same_in_python() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = publish_example(dir.path(), |w, cycle| {
        let f = sample::iot::at(cycle);
        f.devices.iter().try_for_each(|x| w.add(x))?;
        f.metrics.iter().try_for_each(|x| w.add(x))?;
        f.alerts.iter().try_for_each(|x| w.add(x))
    });
    let cov = compare_store(
        dir.path(),
        &versions,
        &schema_files(&["iot.capnp", "common.capnp"]),
    );
    check(&cov);
}

#[test]
fn commerce_example_reads_the_same_in_python() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = publish_example(dir.path(), |w, cycle| {
        let s = sample::commerce::at(cycle);
        s.customers.iter().try_for_each(|x| w.add(x))?;
        s.orders.iter().try_for_each(|x| w.add(x))?;
        s.stock.iter().try_for_each(|x| w.add(x))
    });
    let cov = compare_store(
        dir.path(),
        &versions,
        &schema_files(&["commerce.capnp", "common.capnp"]),
    );
    check(&cov);
}

#[test]
fn movies_example_reads_the_same_in_python() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = publish_example(dir.path(), |w, cycle| {
        let c = sample::movies::at(cycle);
        c.movies.iter().try_for_each(|x| w.add(x))?;
        c.actors.iter().try_for_each(|x| w.add(x))?;
        c.reviews.iter().try_for_each(|x| w.add(x))
    });
    let cov = compare_store(
        dir.path(),
        &versions,
        &schema_files(&["movies.capnp", "common.capnp"]),
    );
    check(&cov);
}

/// Blobs whose record types are cut into several sections (shards by
/// ordinal range, format version 2) read the same in Python: snapshots,
/// deltas and reverse deltas, state checksums included.
#[test]
fn sharded_movies_read_the_same_in_python() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = publish_example_cut_at(dir.path(), Some(512), |w, cycle| {
        let c = sample::movies::at(cycle);
        c.movies.iter().try_for_each(|x| w.add(x))?;
        c.actors.iter().try_for_each(|x| w.add(x))?;
        c.reviews.iter().try_for_each(|x| w.add(x))
    });
    // Every snapshot, and some delta, has a type in several sections.
    let mut sharded_deltas = 0;
    for name in blob_names(dir.path()) {
        let bytes = std::fs::read(dir.path().join(&name)).expect("a blob");
        let most = hollow_tests::shards::sections_per_type(&name, &bytes)
            .iter()
            .map(|t| t.1)
            .max();
        if name.starts_with("snapshot-") {
            assert!(most > Some(1), "{name}: {most:?} sections for a type");
        } else if most > Some(1) {
            sharded_deltas += 1;
        }
    }
    assert!(sharded_deltas > 0, "no delta was cut into shards");
    let cov = compare_store(
        dir.path(),
        &versions,
        &schema_files(&["movies.capnp", "common.capnp"]),
    );
    check(&cov);
}

fn draw<S: Strategy>(s: &S, runner: &mut TestRunner) -> S::Value {
    s.new_tree(runner).expect("a value").current()
}

/// Every field type, unions, groups and nested keys with proptest values,
/// over six versions (adds, changes, removals each cycle), a snapshot
/// every third cycle.
#[test]
fn test_types_read_the_same_in_python() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let rt = dataset::runtime();
    let mut p = producer(dir.path(), 3);
    let mut runner = TestRunner::deterministic();
    let mut all: Vec<AllTypes> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut shipments: Vec<Shipment> = Vec::new();
    let mut roles: Vec<Role> = Vec::new();
    let mut next_id = 0u64;
    let mut versions = Vec::new();
    for cycle in 0..6usize {
        // Drop one record of each type, change one, add a few.
        if cycle > 0 {
            all.remove(cycle % all.len());
            events.remove(cycle % events.len());
            shipments.remove(0);
            roles.pop();
            let i = (cycle * 3) % all.len();
            let id = all[i].id;
            all[i] = AllTypes {
                id,
                ..draw(&strategy::all_types(), &mut runner)
            };
        }
        for _ in 0..if cycle == 0 { 12 } else { 3 } {
            next_id += 1;
            all.push(AllTypes {
                id: next_id,
                ..draw(&strategy::all_types(), &mut runner)
            });
            events.push(Event {
                id: next_id,
                ..draw(&strategy::event(), &mut runner)
            });
            shipments.push(Shipment {
                id: next_id,
                ..draw(&strategy::shipment(), &mut runner)
            });
            let mut role = draw(&strategy::role(), &mut runner);
            role.actor.id = next_id;
            roles.push(role);
        }
        let outcome = rt
            .block_on(p.run_cycle(|w| {
                all.iter().try_for_each(|x| w.add(x))?;
                events.iter().try_for_each(|x| w.add(x))?;
                shipments.iter().try_for_each(|x| w.add(x))?;
                roles.iter().try_for_each(|x| w.add(x))
            }))
            .expect("a cycle");
        versions.push(outcome.version.expect("each cycle changes the data"));
    }
    let cov = compare_store(dir.path(), &versions, &[]);
    check(&cov);
    assert!(cov.records > 100, "{cov:?}");
}

/// A store of two versions, for the damage tests.
fn small_store(dir: &Path) -> Vec<u64> {
    publish_example(dir, |w, cycle| {
        let c = sample::movies::at(cycle);
        c.movies.iter().try_for_each(|x| w.add(x))?;
        c.actors.iter().try_for_each(|x| w.add(x))
    })
}

#[test]
fn python_reader_refuses_a_flipped_byte() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = small_store(dir.path());
    let name = format!("delta-{}-{}", versions[0], versions[1]);
    let path = dir.path().join(&name);
    let good = std::fs::read(&path).expect("reading the delta");

    // Intact, the blob passes.
    let (code, out, err) = reader(&["--check-blob", path.to_str().expect("UTF-8")]);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).contains("checksums ok"));

    // Every region of the file: prefix, header, a section, the trailer's hash.
    for at in [20, 64 + 8, good.len() - 40, good.len() - 12] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).expect("writing the damaged delta");
        let (code, _, err) = reader(&["--check-blob", path.to_str().expect("UTF-8")]);
        assert_eq!(code, 2, "byte {at} flipped, yet accepted: {err}");
        assert!(
            err.contains(&name) && err.contains("whole-file checksum mismatch"),
            "byte {at}: {err}"
        );
        // Reading the version through the damaged delta fails the same way.
        let (code, _, err) = reader(&[
            dir.path().to_str().expect("UTF-8"),
            "--version",
            &versions[1].to_string(),
            "--via",
            "forward",
        ]);
        assert_eq!(code, 2, "byte {at}: {err}");
        assert!(err.contains("whole-file checksum mismatch"), "{err}");
    }
}

#[test]
fn python_reader_checks_each_section_checksum() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = small_store(dir.path());
    let name = format!("snapshot-{}", versions[0]);
    let path = dir.path().join(&name);
    let mut bytes = std::fs::read(&path).expect("reading the snapshot");
    // A byte of the last section, with the trailer's hash recomputed: only
    // the section checksum can tell.
    let n = bytes.len();
    bytes[n - 24] ^= 0x80;
    let hash = hollow_runtime::hash_bytes(&bytes[..n - 16]);
    bytes[n - 16..n - 8].copy_from_slice(&hash.to_le_bytes());
    std::fs::write(&path, &bytes).expect("writing the damaged snapshot");
    let (code, _, err) = reader(&["--check-blob", path.to_str().expect("UTF-8")]);
    assert_eq!(code, 2, "accepted: {err}");
    assert!(
        err.contains(&name) && err.contains("section checksum mismatch"),
        "{err}"
    );
}

/// A record changed inside its section, with every checksum of the file
/// recomputed (`blob::reseal`): only the state checksum, which the Python
/// reader recomputes from each record's canonical bytes, can tell.
#[test]
fn python_reader_recomputes_state_checksums() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let versions = small_store(dir.path());
    let name = format!("snapshot-{}", versions[0]);
    let path = dir.path().join(&name);
    let mut bytes = std::fs::read(&path).expect("reading the snapshot");
    let mut section = None;
    hollow_runtime::blob::reseal(&bytes, |_, h| {
        section = h.section("Movie").map(|s| s.offset as usize);
    })
    .expect("reading the header");
    let start = section.expect("a Movie section");
    // The section's root struct pointer at word 0; `records` is its pointer
    // 1, a struct list whose tag precedes element 0 (ordinal 0, populated).
    let word = |i: usize| {
        u64::from_le_bytes(
            bytes[start + i * 8..start + i * 8 + 8]
                .try_into()
                .expect("8 bytes"),
        )
    };
    let target = |pos: usize, w: u64| (pos as i64 + 1 + i64::from((w as u32 as i32) >> 2)) as usize;
    let root = target(0, word(0));
    let data_words = (word(0) >> 32) as u16 as usize;
    let records_at = root + data_words + 1;
    let tag = target(records_at, word(records_at));
    let element0 = start + (tag + 1) * 8;
    bytes[element0] ^= 0x01; // the low byte of Movie 1's id
    let bytes = hollow_runtime::blob::reseal(&bytes, |_, _| {}).expect("resealing");
    std::fs::write(&path, &bytes).expect("writing the edited snapshot");

    let store = dir.path().to_str().expect("UTF-8");
    let v = versions[0].to_string();
    let (code, _, err) = reader(&[store, "--version", &v, "--via", "snapshot"]);
    assert_eq!(code, 2, "accepted: {err}");
    assert!(
        err.contains(&name) && err.contains("Movie state checksum"),
        "{err}"
    );
    // The checksums of the file and its sections pass: without the state
    // checksum the edited record is read.
    let (code, out, err) = reader(&[
        store,
        "--version",
        &v,
        "--via",
        "snapshot",
        "--no-state-checksums",
    ]);
    assert_eq!(code, 0, "{err}");
    let records = lines(&out, "python reader");
    assert_eq!(records[0]["type"], "Movie");
    assert_eq!(
        records[0]["record"]["id"], 0,
        "the id 1 became 0: {}",
        records[0]
    );
}

/// `Movie` with two fields added (a data field and a pointer field).
#[derive(hollow_runtime::Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(
    rename = "Movie",
    primary_key(id),
    hash_index(year),
    hash_index(genres)
)]
struct MovieV2 {
    id: u64,
    title: String,
    year: u16,
    runtime_min: u16,
    rating: f32,
    genres: Vec<String>,
    cast_ids: Vec<u64>,
    description: String,
    budget: u64,
    studio: String,
}

/// A history whose schema changes midway (a producer with a `Movie` that
/// gained fields continues it): the Python reader follows deltas and
/// reverse deltas across the change, reading records written with either
/// schema by the schema of the version it reaches, as `hollow export` does.
#[test]
fn python_reader_follows_a_schema_change() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let rt = dataset::runtime();
    let mut versions = Vec::new();
    let mut p = producer(dir.path(), 2);
    let mut movies: Vec<hollow_tests::Movie> = (0..20).map(|i| dataset::movie(i, 1)).collect();
    for k in 1..=3u64 {
        movies[k as usize] = dataset::movie(k, k + 10);
        movies.push(dataset::movie(100 + k, k));
        let out = rt
            .block_on(p.run_cycle(|w| movies.iter().try_for_each(|m| w.add(m))))
            .expect("a cycle with the old type");
        versions.push(out.version.expect("a new version"));
    }
    let store = Arc::new(FsBlobStore::new(dir.path()).expect("a blob store"));
    let announcer = Arc::new(FileAnnouncer::new(dir.path()).expect("an announcer"));
    let mut p = Producer::builder(store, announcer)
        .compression(Compression::None)
        .snapshot_interval(2)
        .record_type::<MovieV2>()
        .build();
    assert_eq!(
        rt.block_on(p.restore_latest()).expect("restoring"),
        versions.last().copied()
    );
    let mut movies: Vec<MovieV2> = movies
        .iter()
        .map(|m| MovieV2 {
            id: m.id,
            title: m.title.clone(),
            year: m.year,
            runtime_min: m.runtime_min,
            rating: m.rating,
            genres: m.genres.clone(),
            cast_ids: m.cast_ids.clone(),
            description: m.description.clone(),
            budget: 0,
            studio: String::new(),
        })
        .collect();
    for k in 4..=6u64 {
        movies[k as usize].budget = k * 1_000_000;
        movies[k as usize + 5].studio = format!("studio {k}");
        movies.remove(10);
        let out = rt
            .block_on(p.run_cycle(|w| movies.iter().try_for_each(|m| w.add(m))))
            .expect("a cycle with the new type");
        versions.push(out.version.expect("a new version"));
    }
    let cov = compare_store(dir.path(), &versions, &[]);
    check(&cov);
    // The new fields are there in the later versions.
    let last = export(dir.path(), *versions.last().expect("versions"));
    assert!(
        last.iter().any(|l| l["record"]["studio"] == "studio 6"),
        "{last:?}"
    );
}

/// The Python reader with `args`, unable to import `zstandard` (a module
/// of that name that fails to import comes first on its path).
fn reader_without_zstandard(args: &[&str]) -> (i32, String) {
    let hide = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        hide.path().join("zstandard.py"),
        "raise ImportError('zstandard hidden by the test')\n",
    )
    .expect("writing the stand-in module");
    let out = Command::new(python::python())
        .arg(python::reader_script())
        .args(args)
        .env("PYTHONPATH", hide.path())
        .output()
        .expect("running the Python reader");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn python_reader_reads_compressed_blobs() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let rt = dataset::runtime();
    // The producer's default: every blob stored as `NAME.zst`.
    let mut p = producer_as(dir.path(), 2, None, Compression::default());
    let mut versions = Vec::new();
    for cycle in 1..=3 {
        let outcome = rt
            .block_on(p.run_cycle(|w| {
                let c = sample::movies::at(cycle);
                c.movies.iter().try_for_each(|x| w.add(x))?;
                c.actors.iter().try_for_each(|x| w.add(x))
            }))
            .expect("a cycle");
        versions.push(outcome.version.expect("each cycle changes the data"));
    }
    let path = |n: &str| dir.path().join(n);
    let snapshot = format!("snapshot-{}", versions[0]);
    let delta = format!("delta-{}-{}", versions[0], versions[1]);
    for name in [&snapshot, &delta] {
        assert!(
            path(&format!("{name}.zst")).exists(),
            "{name} not compressed"
        );
        assert!(!path(name).exists(), "{name} stored plain too");
    }
    // Mixed layouts: one reverse delta stored plain (as an older producer
    // wrote it), the rest compressed.
    let reverse = format!("reversedelta-{}-{}", versions[1], versions[0]);
    let store = FsBlobStore::new(dir.path()).expect("the store");
    rt.block_on(store.fetch(reverse.parse().expect("a blob name"), &path(&reverse)))
        .expect("decompressing the reverse delta");
    std::fs::remove_file(path(&format!("{reverse}.zst"))).expect("removing the .zst");

    let cov = compare_store(
        dir.path(),
        &versions,
        &schema_files(&["movies.capnp", "common.capnp"]),
    );
    check(&cov);

    // One blob alone, by its stored name.
    let zst = path(&format!("{delta}.zst"));
    let zst_arg = zst.to_str().expect("UTF-8");
    let (code, out, err) = reader(&["--check-blob", zst_arg]);
    assert_eq!(code, 0, "{err}");
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with(&format!("{delta}: delta")), "{out}");

    // Damaged compressed bytes: refused, naming the blob, its stored name
    // and what is wrong, read alone or on the way to a version.
    let good = std::fs::read(&zst).expect("reading the delta");
    let plain = {
        let out = path("plain-delta");
        rt.block_on(store.fetch(delta.parse().expect("a blob name"), &out))
            .expect("decompressing the delta");
        std::fs::read(&out).expect("reading the plain delta")
    };
    let mut flipped = good.clone();
    let at = good.len() / 2;
    flipped[at] ^= 0x5a;
    let mut longer = good.clone();
    longer.extend_from_slice(b"more");
    let damaged: [(&str, Vec<u8>, &str); 4] = [
        ("truncated", good[..good.len() / 2].to_vec(), "truncated"),
        ("flipped", flipped, "corrupt"),
        (
            "trailing bytes",
            longer,
            "more bytes follow the end of the zstd frame",
        ),
        ("plain bytes", plain, "not a zstd frame"),
    ];
    let v2 = versions[1].to_string();
    let store_arg = dir.path().to_str().expect("UTF-8");
    for (what, bytes, says) in damaged {
        std::fs::write(&zst, &bytes).expect("writing the damaged delta");
        let (code, _, err) = reader(&["--check-blob", zst_arg]);
        assert_eq!(code, 2, "{what}: accepted: {err}");
        let named = format!("{delta} (stored compressed as {delta}.zst)");
        assert!(err.contains(&named), "{what}: {err}");
        assert!(err.contains(says), "{what}: {err}");
        let (code, _, err) = reader(&[store_arg, "--version", &v2, "--via", "forward"]);
        assert_eq!(code, 2, "{what}: read through the damaged delta: {err}");
        assert!(err.contains(&named) && err.contains(says), "{what}: {err}");
    }
    std::fs::write(&zst, &good).expect("restoring the delta");

    // No zstd module: a compressed blob is refused saying what to install;
    // a plain one still reads.
    let (code, err) = reader_without_zstandard(&["--check-blob", zst_arg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("{delta} (stored compressed as {delta}.zst)"))
            && err.contains("no zstd module")
            && err.contains("pip install zstandard"),
        "{err}"
    );
    let (code, err) =
        reader_without_zstandard(&["--check-blob", path(&reverse).to_str().expect("UTF-8")]);
    assert_eq!(code, 0, "{err}");
}
