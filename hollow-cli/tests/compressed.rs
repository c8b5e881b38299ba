//! The CLI on a store holding compressed (`.zst`) and plain blobs:
//! `hollow versions` shows each blob's stored size and, for a compressed
//! one, its layout and plain size (text and JSON); commands read
//! compressed blobs as they read plain ones.

use std::path::Path;
use std::sync::Arc;

mod common;

use common::ok;
use hollow_runtime::store::{BlobName, Compression, FileAnnouncer};
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::dataset;
use serde_json::{json, Value};

/// Publishes versions 1 (compressed), 2 (plain) and 3 (compressed) of 50
/// movies into `dir`; returns each blob's plain size as the producer
/// reported it.
fn produce(dir: &Path) -> Vec<(BlobName, u64)> {
    let rt = dataset::runtime();
    let mut blobs = Vec::new();
    let layouts = [
        Compression::default(),
        Compression::None,
        Compression::default(),
    ];
    for (i, c) in layouts.into_iter().enumerate() {
        let k = i as u64 + 1;
        let store = Arc::new(FsBlobStore::new(dir).unwrap());
        let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
        let mut p = Producer::builder(store, announcer).compression(c).build();
        rt.block_on(p.restore_latest()).unwrap();
        let out = rt
            .block_on(p.run_cycle(|w| (0..50).try_for_each(|id| w.add(&dataset::movie(id, k)))))
            .unwrap();
        assert_eq!(out.version, Some(k));
        blobs.extend(out.blobs);
    }
    blobs
}

/// The entry of blob `name` in `hollow versions --json` output.
fn entry(j: &Value, name: BlobName) -> &Value {
    let versions = j["versions"].as_array().unwrap();
    let v = versions
        .iter()
        .find(|v| v["version"] == json!(published(name)))
        .unwrap();
    match name {
        BlobName::Snapshot(_) => &v["snapshot"],
        BlobName::Delta { .. } => &v["deltas"][0],
        BlobName::ReverseDelta { .. } => &v["reverse_deltas"][0],
    }
}

/// The version whose publication wrote `name` (a delta's newer one).
fn published(name: BlobName) -> u64 {
    name.from_version().max(name.to_version())
}

#[test]
fn versions_shows_stored_and_plain_sizes_of_a_mixed_store() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = produce(dir.path());
    assert_eq!(blobs.len(), 3 + 2 + 2);
    let store = dir.path().to_str().unwrap();
    let j: Value = serde_json::from_str(&ok(&["versions", store, "--json"])).unwrap();
    for (name, plain) in &blobs {
        let e = entry(&j, *name);
        let compressed = published(*name) != 2;
        let (encoding, file) = if compressed {
            ("zstd", format!("{name}.zst"))
        } else {
            ("plain", name.to_string())
        };
        let stored = std::fs::metadata(dir.path().join(&file)).unwrap().len();
        assert_eq!(e["name"], json!(name.to_string()), "{e}");
        assert_eq!(e["stored_name"], json!(file), "{e}");
        assert_eq!(e["encoding"], json!(encoding), "{e}");
        assert_eq!(e["bytes"], json!(stored), "{e}");
        assert_eq!(e["plain_bytes"], json!(plain), "{e}");
        if compressed {
            assert!(stored < *plain, "{name}: {stored} stored, {plain} plain");
        } else {
            assert_eq!(stored, *plain, "{name}");
        }
    }

    // Text: a compressed blob's stored size with its layout and plain
    // size, a plain blob's size alone.
    let text = ok(&["versions", store]);
    let row = |v: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(v))
            .unwrap_or_else(|| panic!("no row {v}: {text}"))
            .to_owned()
    };
    let (r1, r2, r3) = (row("1"), row("2"), row("3"));
    assert!(r1.contains("(zstd, ") && r1.contains(" plain)"), "{r1}");
    assert!(!r2.contains("zstd"), "{r2}");
    assert!(r3.matches("(zstd, ").count() == 3, "{r3}");
    assert!(
        text.contains("with the plain size of compressed blobs"),
        "{text}"
    );
}

#[test]
fn commands_read_compressed_and_plain_blobs_alike() {
    let dir = tempfile::tempdir().unwrap();
    produce(dir.path());
    let store = dir.path().to_str().unwrap();
    for v in ["1", "2", "3"] {
        let lines = ok(&["export", store, "--version", v, "--type", "Movie"]);
        assert_eq!(lines.lines().count(), 50, "version {v}: {lines}");
        let k: u64 = v.parse().unwrap();
        let title = dataset::movie(7, k).title;
        assert!(
            lines.contains(&title),
            "version {v}: {title} not in the export"
        );
    }
    let verify = ok(&["verify", store]);
    assert!(!verify.is_empty());
}
