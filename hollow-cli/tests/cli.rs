//! The `hollow` binary, run over a store a producer writes in the test.
//!
//! Six versions of movies, actors and stocks (a composite key) are
//! published to a local directory; the test keeps what each version holds
//! (the oracle). Every subcommand runs as a process; `--json` output is
//! parsed and checked against the oracle, diffs and histories against
//! changes computed from the oracle's versions, and every error case for
//! its exit code and one-line message. Two small stores hold records with
//! sets and with maps.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

mod common;

use common::{fails, hollow, ok, ok_json};
use hollow_runtime::store::{BlobName, Compression, FileAnnouncer};
use hollow_runtime::{FsBlobStore, Hollow, Producer};
use hollow_tests::json::ToJson;
use hollow_tests::{dataset, Actor, Movie, Stock};
use serde_json::{json, Value};

/// A record type without a primary key: matched across versions by
/// ordinal (an unchanged record keeps its ordinal).
#[derive(Hollow, Clone, Debug, PartialEq)]
struct Note {
    text: String,
    n: u32,
}

fn note(n: u32) -> Note {
    Note {
        text: format!("note {n}"),
        n,
    }
}

/// What one version holds, as JSON by key (the key as the CLI shows it).
#[derive(Clone, Debug, Default, PartialEq)]
struct State {
    version: u64,
    movies: BTreeMap<u64, Movie>,
    actors: BTreeMap<u64, Actor>,
    stocks: BTreeMap<(String, u32), Stock>,
    notes: Vec<Note>,
}

impl State {
    /// Records of `type_name` by key JSON text.
    fn records(&self, type_name: &str) -> BTreeMap<String, Value> {
        match type_name {
            "Movie" => self
                .movies
                .iter()
                .map(|(k, v)| (json!(k).to_string(), reparse(&v.to_json())))
                .collect(),
            "Actor" => self
                .actors
                .iter()
                .map(|(k, v)| (json!(k).to_string(), reparse(&v.to_json())))
                .collect(),
            "Stock" => self
                .stocks
                .iter()
                .map(|((r, s), v)| (json!([r, s]).to_string(), reparse(&v.to_json())))
                .collect(),
            // No key: the record's own JSON stands for it.
            "Note" => self
                .notes
                .iter()
                .map(|n| {
                    let j = json!({"text": n.text, "n": n.n});
                    (j.to_string(), j)
                })
                .collect(),
            other => panic!("no type {other}"),
        }
    }
}

fn reparse(v: &Value) -> Value {
    serde_json::from_str(&v.to_string()).unwrap()
}

fn stock(region: &str, sku: u32, quantity: i32) -> Stock {
    Stock {
        region: region.into(),
        sku,
        quantity,
        price: sku as f64 * 1.5,
    }
}

/// Publishes six versions into `dir`; returns what each holds.
fn produce(dir: &Path) -> Vec<State> {
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    // Plain blobs: these tests damage the store's blob files in place.
    let mut producer = Producer::builder(store, announcer)
        .compression(Compression::None)
        .build();
    let mut s = State::default();
    for id in 0..40 {
        s.movies.insert(id, dataset::movie(id, 1));
    }
    for id in 0..8 {
        s.actors.insert(id, dataset::actor(id, 1));
    }
    for region in ["eu", "us"] {
        for sku in 1..4 {
            s.stocks
                .insert((region.into(), sku), stock(region, sku, sku as i32));
        }
    }
    let mut states = Vec::new();
    for k in 1..=6u64 {
        s.notes = (k as u32..k as u32 + 3).map(note).collect();
        if k > 1 {
            for (id, m) in s.movies.iter_mut() {
                if id % 7 == k {
                    *m = dataset::movie(*id, k);
                }
            }
            s.movies.remove(&(30 + k));
            s.movies.insert(100 + k, dataset::movie(100 + k, k));
            if k == 4 {
                s.movies.remove(&3);
            }
            if k == 5 {
                s.movies.insert(3, dataset::movie(3, 5));
            }
            if k == 3 {
                s.actors.insert(2, dataset::actor(2, 3));
            }
            let sku = (k % 3 + 1) as u32;
            s.stocks
                .insert(("eu".into(), sku), stock("eu", sku, 10 * k as i32));
        }
        let snapshot = s.clone();
        let outcome = rt
            .block_on(producer.run_cycle(|w| {
                snapshot.movies.values().try_for_each(|m| w.add(m))?;
                snapshot.actors.values().try_for_each(|a| w.add(a))?;
                snapshot.notes.iter().try_for_each(|x| w.add(x))?;
                snapshot.stocks.values().try_for_each(|x| w.add(x))
            }))
            .unwrap();
        s.version = outcome.version.expect("a new version");
        states.push(s.clone());
    }
    states
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: String,
    states: Vec<State>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let states = produce(dir.path());
    Fixture {
        store: dir.path().to_str().unwrap().to_owned(),
        _dir: dir,
        states,
    }
}

fn v(x: u64) -> String {
    x.to_string()
}

#[test]
fn versions_lists_every_version_with_its_blobs() {
    let f = fixture();
    let j = ok_json(&["versions", &f.store, "--json"]);
    let last = f.states.last().unwrap().version;
    assert_eq!(j["announced"], json!(last));
    assert_eq!(j["latest"], json!(last));
    assert_eq!(j["pinned"], Value::Null);
    let listed: Vec<u64> = j["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["version"].as_u64().unwrap())
        .collect();
    let produced: Vec<u64> = f.states.iter().map(|s| s.version).collect();
    assert_eq!(listed, produced);
    for (i, entry) in j["versions"].as_array().unwrap().iter().enumerate() {
        let ver = produced[i];
        let name = BlobName::Snapshot(ver).to_string();
        assert_eq!(entry["snapshot"]["name"], json!(name));
        let size = std::fs::metadata(Path::new(&f.store).join(&name))
            .unwrap()
            .len();
        assert_eq!(entry["snapshot"]["bytes"], json!(size));
        if i > 0 {
            assert_eq!(entry["deltas"][0]["from"], json!(produced[i - 1]));
            assert_eq!(entry["reverse_deltas"][0]["to"], json!(produced[i - 1]));
        } else {
            assert_eq!(entry["deltas"], json!([]));
        }
    }
    let human = ok(&["versions", &format!("file://{}", f.store)]);
    assert!(human.contains(&format!("announced: {last}")), "{human}");
    assert!(
        human.contains("VERSION") && human.contains("REVERSE DELTA"),
        "{human}"
    );

    // Announcing an older version: the store is rolled back to it.
    let first = produced[0];
    std::fs::write(
        Path::new(&f.store).join("announced.version"),
        format!("{first}\n"),
    )
    .unwrap();
    let j = ok_json(&["versions", &f.store, "--json"]);
    assert_eq!(j["rolled_back"], json!(true));
    assert_eq!(j["pinned"], Value::Null);
    assert_eq!(j["announced"], json!(first));
}

#[test]
fn schema_prints_the_capnp_text() {
    let f = fixture();
    let text = ok(&["schema", &f.store]);
    assert!(
        text.contains("struct Movie $Hollow.record $Hollow.primaryKey(\"id\")"),
        "{text}"
    );
    assert!(text.contains("struct Stock"), "{text}");
    assert!(text.contains("runtimeMin @"), "{text}");
    let j = ok_json(&[
        "schema",
        &f.store,
        "--json",
        "--version",
        &v(f.states[0].version),
    ]);
    let names: BTreeSet<&str> = j["record_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["Movie", "Actor", "Note", "Stock"]));
    let stock = j["record_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Stock")
        .unwrap();
    assert_eq!(stock["primary_key"], json!("region,sku"));
    assert_eq!(stock["records"], json!(6));
}

#[test]
fn inspect_finds_records_by_key_and_ordinal() {
    let f = fixture();
    for s in [&f.states[0], &f.states[3], &f.states[5]] {
        let ver = v(s.version);
        for (id, m) in s.movies.iter().step_by(5) {
            let j = ok_json(&[
                "inspect",
                &f.store,
                "--type",
                "Movie",
                "--key",
                &v(*id),
                "--version",
                &ver,
                "--json",
            ]);
            assert_eq!(j["record"], reparse(&m.to_json()), "movie {id} at {ver}");
            assert_eq!(j["key"], json!(id));
            // The same record by its ordinal.
            let o = j["ordinal"].as_u64().unwrap().to_string();
            let by_ordinal = ok_json(&[
                "inspect",
                &f.store,
                "--type",
                "Movie",
                "--ordinal",
                &o,
                "--version",
                &ver,
                "--json",
            ]);
            assert_eq!(by_ordinal["record"], j["record"]);
        }
        for ((region, sku), st) in &s.stocks {
            let key = format!("{region},{sku}");
            let j = ok_json(&[
                "inspect",
                &f.store,
                "--type",
                "Stock",
                "--key",
                &key,
                "--version",
                &ver,
                "--json",
            ]);
            assert_eq!(j["record"], reparse(&st.to_json()));
            assert_eq!(j["key"], json!([region, sku]));
            let array = json!([region, sku]).to_string();
            let j2 = ok_json(&[
                "inspect",
                &f.store,
                "--type",
                "Stock",
                "--key",
                &array,
                "--version",
                &ver,
                "--json",
            ]);
            assert_eq!(j2["record"], j["record"]);
        }
    }
    // Default version: the announced one; human output is the record.
    let last = f.states.last().unwrap();
    let text = ok(&["inspect", &f.store, "--type", "Movie", "--key", "106"]);
    let shown: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(shown, reparse(&last.movies[&106].to_json()));
}

/// Every line of `hollow export`, grouped by type and keyed like the oracle.
fn export(store: &str, args: &[&str]) -> BTreeMap<String, BTreeMap<String, Value>> {
    let mut all = vec!["export", store];
    all.extend_from_slice(args);
    let text = ok(&all);
    let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for line in text.lines() {
        let j: Value = serde_json::from_str(line).unwrap();
        let t = j["type"].as_str().unwrap().to_owned();
        let r = j["record"].clone();
        let key = match t.as_str() {
            "Stock" => json!([r["region"], r["sku"]]).to_string(),
            "Note" => r.to_string(),
            _ => r["id"].to_string(),
        };
        assert!(j["ordinal"].is_u64());
        let dup = out.entry(t).or_default().insert(key.clone(), r);
        assert!(dup.is_none(), "two records with key {key}");
    }
    out
}

#[test]
fn export_writes_every_record_of_a_version() {
    let f = fixture();
    for s in &f.states {
        let got = export(&f.store, &["--version", &v(s.version)]);
        for t in ["Movie", "Actor", "Stock", "Note"] {
            assert_eq!(got.get(t), Some(&s.records(t)), "{t} at {}", s.version);
        }
    }
    let only = export(&f.store, &["--type", "Stock"]);
    assert_eq!(only.keys().collect::<Vec<_>>(), ["Stock"]);
    assert_eq!(only["Stock"], f.states.last().unwrap().records("Stock"));
}

/// The oracle's diff of one type between two states.
fn oracle_diff(a: &State, b: &State, t: &str) -> Value {
    let (ra, rb) = (a.records(t), b.records(t));
    let added: BTreeSet<&String> = rb.keys().filter(|k| !ra.contains_key(*k)).collect();
    let removed: BTreeSet<&String> = ra.keys().filter(|k| !rb.contains_key(*k)).collect();
    let mut modified = BTreeMap::new();
    for (k, old) in &ra {
        let Some(new) = rb.get(k) else { continue };
        if old != new {
            let mut changes = BTreeMap::new();
            for (field, ov) in old.as_object().unwrap() {
                let nv = &new[field];
                if ov != nv {
                    changes.insert(field.clone(), json!([ov, nv]));
                }
            }
            modified.insert(k.clone(), json!(changes));
        }
    }
    json!({"added": added, "removed": removed, "modified": modified})
}

/// The CLI's diff of one type, in the oracle's form.
fn cli_diff(j: &Value, t: &str) -> Value {
    let ty = j["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == t)
        .unwrap_or_else(|| panic!("{t} in {j}"));
    let keys = |side: &str| -> BTreeSet<String> {
        ty[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                if t == "Note" {
                    assert_eq!(e["key"], Value::Null, "a keyless type's key");
                    e["record"].to_string()
                } else {
                    e["key"].to_string()
                }
            })
            .collect()
    };
    let mut modified = BTreeMap::new();
    for m in ty["modified"].as_array().unwrap() {
        let mut changes = BTreeMap::new();
        for c in m["changes"].as_array().unwrap() {
            changes.insert(
                c["path"].as_str().unwrap().to_owned(),
                json!([c["old"], c["new"]]),
            );
        }
        modified.insert(m["key"].to_string(), json!(changes));
    }
    // Full records of added and removed entries are shown too.
    json!({"added": keys("added"), "removed": keys("removed"), "modified": modified})
}

fn check_diff(store: &str, a: &State, b: &State) {
    let j = ok_json(&["diff", store, &v(a.version), &v(b.version), "--json"]);
    for t in ["Movie", "Actor", "Stock", "Note"] {
        assert_eq!(
            cli_diff(&j, t),
            oracle_diff(a, b, t),
            "{t}: diff {} → {} through {}",
            a.version,
            b.version,
            j["through"]
        );
        let ty = j["types"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["type"] == t)
            .unwrap();
        if t == "Note" {
            continue;
        }
        for e in ty["added"].as_array().unwrap() {
            assert_eq!(b.records(t)[&e["key"].to_string()], e["record"]);
        }
        for e in ty["removed"].as_array().unwrap() {
            assert_eq!(a.records(t)[&e["key"].to_string()], e["record"]);
        }
    }
}

#[test]
fn diff_matches_the_producers_changes() {
    let f = fixture();
    for w in f.states.windows(2) {
        check_diff(&f.store, &w[0], &w[1]);
        let j = ok_json(&[
            "diff",
            &f.store,
            &v(w[0].version),
            &v(w[1].version),
            "--json",
        ]);
        assert_eq!(
            j["through"],
            json!(format!("delta-{}-{}", w[0].version, w[1].version))
        );
    }
    let (first, last) = (&f.states[0], &f.states[5]);
    // Five apart, both ways, through the chain of deltas.
    check_diff(&f.store, first, last);
    check_diff(&f.store, last, first);
    check_diff(&f.store, &f.states[2], &f.states[2]);
    // Only one type.
    let j = ok_json(&[
        "diff",
        &f.store,
        &v(first.version),
        &v(last.version),
        "--type",
        "Stock",
        "--json",
    ]);
    assert_eq!(j["types"].as_array().unwrap().len(), 1);
    // Human output names the changed fields.
    let text = ok(&[
        "diff",
        &f.store,
        &v(f.states[1].version),
        &v(f.states[2].version),
    ]);
    assert!(text.contains("Movie: 1 added, 1 removed,"), "{text}");
    assert!(text.contains("~ 2: name: "), "{text}");
    assert!(
        text.contains("Actor: 1 added") || text.contains("Actor: 0 added"),
        "{text}"
    );

    // Without reverse deltas the versions are compared whole, same result.
    for n in std::fs::read_dir(&f.store).unwrap() {
        let n = n.unwrap();
        if n.file_name().to_str().unwrap().starts_with("reversedelta-") {
            std::fs::remove_file(n.path()).unwrap();
        }
    }
    let j = ok_json(&[
        "diff",
        &f.store,
        &v(first.version),
        &v(last.version),
        "--json",
    ]);
    assert!(
        j["through"].as_str().unwrap().contains("loaded whole"),
        "{j}"
    );
    check_diff(&f.store, first, last);
    check_diff(&f.store, &f.states[3], &f.states[4]);
}

#[test]
fn history_lists_the_versions_a_record_changed_in() {
    let f = fixture();
    for id in [3u64, 5, 10, 33, 104] {
        let j = ok_json(&[
            "history",
            &f.store,
            "--type",
            "Movie",
            "--key",
            &v(id),
            "--json",
        ]);
        // Oracle: walk the states.
        let mut expected = Vec::new();
        let mut prev: Option<&Movie> = None;
        for (i, s) in f.states.iter().enumerate() {
            let cur = s.movies.get(&id);
            let event = match (prev, cur) {
                (None, Some(_)) if i == 0 => Some("present"),
                (None, Some(_)) => Some("added"),
                (Some(_), None) => Some("removed"),
                (Some(a), Some(b)) if a != b => Some("modified"),
                _ => None,
            };
            if let Some(e) = event {
                expected.push(json!({"version": s.version, "event": e}));
            }
            prev = cur;
        }
        let got: Vec<Value> = j["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| json!({"version": e["version"], "event": e["event"]}))
            .collect();
        assert_eq!(got, expected, "movie {id}");
        for e in j["events"].as_array().unwrap() {
            let s = f
                .states
                .iter()
                .find(|s| json!(s.version) == e["version"])
                .unwrap();
            if e["event"] != "removed" {
                assert_eq!(e["record"], reparse(&s.movies[&id].to_json()));
            }
            if e["event"] == "modified" {
                let paths: BTreeSet<&str> = e["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["path"].as_str().unwrap())
                    .collect();
                assert!(paths.contains("title"), "{e}");
            }
        }
    }
    let text = ok(&["history", &f.store, "--type", "Movie", "--key", "3"]);
    assert!(
        text.contains("removed") && text.contains("added") && text.contains("modified: "),
        "{text}"
    );
    let j = ok_json(&[
        "history", &f.store, "--type", "Stock", "--key", "eu,2", "--json",
    ]);
    assert!(j["events"].as_array().unwrap().len() >= 2, "{j}");
}

#[test]
fn verify_passes_and_catches_corruption() {
    let f = fixture();
    let text = ok(&["verify", &f.store]);
    assert!(text.contains("0 failed"), "{text}");
    let j = ok_json(&[
        "verify",
        &f.store,
        "--json",
        "--version",
        &v(f.states[2].version),
    ]);
    assert_eq!(j["ok"], json!(true));
    assert!(j["checks"].as_array().unwrap().len() >= 5, "{j}");

    // A flipped byte in a delta.
    let (a, b) = (f.states[2].version, f.states[3].version);
    let delta = Path::new(&f.store).join(format!("delta-{a}-{b}"));
    let mut bytes = std::fs::read(&delta).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&delta, &bytes).unwrap();
    let err = fails(&["verify", &f.store], 3);
    assert!(
        err.contains(&format!("delta-{a}-{b}")) && err.contains("corrupt"),
        "{err}"
    );
    let out = hollow()
        .args(["verify", &f.store, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["ok"], json!(false));
    // Other versions are still fine.
    ok(&["verify", &f.store, "--version", &v(f.states[0].version)]);
}

#[test]
fn a_version_without_a_snapshot_is_read_through_deltas() {
    let f = fixture();
    let s = &f.states[3];
    std::fs::remove_file(Path::new(&f.store).join(format!("snapshot-{}", s.version))).unwrap();
    let got = export(&f.store, &["--version", &v(s.version)]);
    for t in ["Movie", "Actor", "Stock", "Note"] {
        assert_eq!(got.get(t), Some(&s.records(t)), "{t}");
    }
    let j = ok_json(&[
        "inspect",
        &f.store,
        "--type",
        "Movie",
        "--key",
        "0",
        "--version",
        &v(s.version),
        "--json",
    ]);
    assert_eq!(j["record"], reparse(&s.movies[&0].to_json()));
    let text = ok(&["schema", &f.store, "--version", &v(s.version)]);
    assert!(text.contains("struct Movie"));
    ok(&["verify", &f.store]);
}

#[test]
fn errors_say_what_is_wrong_and_what_exists() {
    let f = fixture();
    let st = &f.store;
    let e = fails(&["inspect", st, "--type", "Film", "--key", "1"], 1);
    assert!(
        e.contains("no record type Film") && e.contains("Movie, Actor, Note, Stock"),
        "{e}"
    );
    let e = fails(&["export", st, "--type", "Film"], 1);
    assert!(e.contains("Movie, Actor, Note, Stock"), "{e}");
    let e = fails(&["inspect", st, "--type", "Note", "--key", "1"], 1);
    assert!(e.contains("Note has no primary key"), "{e}");
    let e = fails(&["history", st, "--type", "Note", "--key", "1"], 1);
    assert!(e.contains("Note has no primary key"), "{e}");
    let e = fails(&["inspect", st, "--type", "Movie", "--key", "9999"], 1);
    assert!(e.contains("no Movie with primary key 9999"), "{e}");
    let e = fails(&["inspect", st, "--type", "Movie", "--key", "abc"], 1);
    assert!(e.contains("id (UInt64)"), "{e}");
    let e = fails(&["inspect", st, "--type", "Stock", "--key", "eu"], 1);
    assert!(e.contains("region (Text), sku (UInt32)"), "{e}");
    let e = fails(
        &["inspect", st, "--type", "Movie", "--ordinal", "100000"],
        1,
    );
    assert!(e.contains("no Movie record at ordinal 100000"), "{e}");
    let versions: Vec<String> = f.states.iter().map(|s| s.version.to_string()).collect();
    let e = fails(&["export", st, "--version", "777"], 1);
    assert!(
        e.contains("no version 777") && e.contains(&versions.join(", ")),
        "{e}"
    );
    let e = fails(&["diff", st, "777", &versions[0]], 1);
    assert!(e.contains("no version 777"), "{e}");
    let e = fails(&["history", st, "--type", "Movie", "--key", "9999"], 1);
    assert!(
        e.contains("no Movie with primary key 9999 in any version"),
        "{e}"
    );
    let e = fails(&["versions", "/nonexistent/store"], 1);
    assert!(e.contains("/nonexistent/store does not exist"), "{e}");
    let e = fails(&["versions", "ftp://host/x"], 1);
    assert!(e.contains("unknown store URL scheme ftp://"), "{e}");
    let empty = tempfile::tempdir().unwrap();
    let e = fails(&["versions", empty.path().to_str().unwrap()], 1);
    assert!(e.contains("holds no blobs"), "{e}");
    // A corrupt snapshot.
    let last = f.states.last().unwrap().version;
    let snap = Path::new(st).join(format!("snapshot-{last}"));
    let mut bytes = std::fs::read(&snap).unwrap();
    let n = bytes.len();
    bytes[n / 3] ^= 1;
    std::fs::write(&snap, &bytes).unwrap();
    let e = fails(&["inspect", st, "--type", "Movie", "--key", "1"], 1);
    assert!(
        e.contains(&format!("snapshot-{last}")) && e.contains("corrupt"),
        "{e}"
    );
    let e = fails(&["export", st], 1);
    assert!(e.contains("corrupt"), "{e}");
    // A truncated one.
    std::fs::write(&snap, &bytes[..100]).unwrap();
    let e = fails(&["export", st], 1);
    assert!(e.contains(&format!("snapshot-{last}")), "{e}");
    // A bad command line is clap's exit code 2.
    let out = hollow()
        .args(["inspect", st, "--type", "Movie"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_has_examples_for_every_subcommand() {
    for sub in [
        "versions", "schema", "inspect", "export", "diff", "history", "verify",
    ] {
        let text = ok(&[sub, "--help"]);
        assert!(
            text.contains("Examples:") && text.contains(&format!("hollow {sub} ")),
            "{sub}: {text}"
        );
    }
    let text = ok(&["--help"]);
    assert!(text.contains("Exit codes"), "{text}");
}

#[test]
fn without_an_announcement_commands_need_a_version() {
    let f = fixture();
    let st = &f.store;
    let produced: Vec<u64> = f.states.iter().map(|s| s.version).collect();
    std::fs::remove_file(Path::new(st).join("announced.version")).unwrap();
    // No command picks the newest version present in place of an
    // announced one.
    for args in [
        vec!["export", st.as_str()],
        vec!["schema", st.as_str()],
        vec!["inspect", st.as_str(), "--type", "Movie", "--key", "0"],
    ] {
        let e = fails(&args, 1);
        assert!(
            e.contains(&format!("store dir {st} has no announced version"))
                && e.contains("--version"),
            "{args:?}: {e}"
        );
    }
    // Named explicitly, an unannounced version is read.
    let last = f.states.last().unwrap();
    let got = export(st, &["--version", &v(last.version), "--type", "Movie"]);
    assert_eq!(got["Movie"], last.records("Movie"));

    // `versions` says every version is unannounced.
    let j = ok_json(&["versions", st, "--json"]);
    assert_eq!(j["announced"], Value::Null);
    let status: Vec<&str> = j["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, vec!["unannounced"; produced.len()]);
    let human = ok(&["versions", st]);
    assert!(human.contains("announced: none"), "{human}");
    assert!(human.contains("STATUS"), "{human}");
    assert_eq!(
        human.matches("unannounced").count(),
        produced.len(),
        "{human}"
    );

    // Announced in the middle: older, announced, then unannounced.
    let mid = produced[2];
    std::fs::write(Path::new(st).join("announced.version"), format!("{mid}\n")).unwrap();
    let j = ok_json(&["versions", st, "--json"]);
    for entry in j["versions"].as_array().unwrap() {
        let ver = entry["version"].as_u64().unwrap();
        let want = match ver.cmp(&mid) {
            std::cmp::Ordering::Less => "older",
            std::cmp::Ordering::Equal => "announced",
            std::cmp::Ordering::Greater => "unannounced",
        };
        assert_eq!(entry["status"], json!(want), "version {ver}: {j}");
        assert_eq!(entry["announced"], json!(ver == mid), "version {ver}: {j}");
    }
    // And the default version is the announced one, not the newest.
    let got = export(st, &["--type", "Movie"]);
    assert_eq!(got["Movie"], f.states[2].records("Movie"));
    // `history` marks the changes consumers have not seen: movie 3 is
    // changed at the third version and removed and re-added after it.
    let j = ok_json(&["history", st, "--type", "Movie", "--key", "3", "--json"]);
    let events: Vec<(u64, &str)> = j["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["version"].as_u64().unwrap(),
                e["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (produced[0], "older"),
            (mid, "announced"),
            (produced[3], "unannounced"),
            (produced[4], "unannounced"),
        ]
    );
    let text = ok(&["history", st, "--type", "Movie", "--key", "3"]);
    assert_eq!(text.matches("(unannounced)").count(), 2, "{text}");
    assert!(
        text.contains(&format!("{}: removed (unannounced)", produced[3])),
        "{text}"
    );
}

/// Truncates the file at `path` in place (the same inode, as `cp` over it
/// or a writer opening it with `O_TRUNC` does) to `len` bytes.
fn truncate_in_place(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn a_loaded_snapshot_is_a_private_copy_the_store_file_cannot_pull_away() {
    let f = fixture();
    let s = f.states.last().unwrap();
    let store = hollow_cli::store::Store::open(&f.store).unwrap();
    let name = BlobName::Snapshot(s.version);
    let snap = Path::new(&f.store).join(name.to_string());
    let bytes = std::fs::read(&snap).unwrap();
    let map = store.map(name).unwrap();
    let loaded = hollow_cli::version::Loaded::load(&store, s.version).unwrap();
    // Emptied and rewritten in place while the snapshot is loaded: a map of
    // the store file would now kill the process with SIGBUS on first read.
    truncate_in_place(&snap, 0);
    assert!(map[..] == bytes[..], "the map still holds the blob's bytes");
    std::fs::write(&snap, b"not a blob").unwrap();
    let view = loaded.view().unwrap();
    for t in ["Movie", "Actor", "Stock", "Note"] {
        assert_eq!(view.iter(t).count(), s.records(t).len(), "{t}");
        assert_eq!(view.count(t), s.records(t).len(), "{t}");
    }
}

#[test]
fn a_blob_cut_short_or_removed_after_listing_is_an_error_naming_it() {
    let f = fixture();
    let (a, b) = (f.states[3].version, f.states[4].version);
    let store = hollow_cli::store::Store::open(&f.store).unwrap();
    // Listed whole, then cut in half in place before it is read.
    let snap = Path::new(&f.store).join(format!("snapshot-{b}"));
    let len = std::fs::metadata(&snap).unwrap().len();
    truncate_in_place(&snap, len / 2);
    let mut out = Vec::new();
    let e = hollow_cli::cmd::export::run(&store, Some(b), None, &mut out)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&format!("snapshot-{b}")), "{e}");
    assert!(out.is_empty(), "nothing is exported from a cut blob");
    // Listed, then removed before it is read.
    let delta = BlobName::Delta { from: a, to: b };
    std::fs::remove_file(Path::new(&f.store).join(delta.to_string())).unwrap();
    let e = hollow_cli::cmd::diff::run(&store, a, b, None, true, &mut out)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("blob {delta} of store dir {}", f.store)),
        "{e}"
    );
}

#[test]
fn copies_of_blobs_are_gone_when_the_command_ends() {
    let f = fixture();
    let scratch = tempfile::tempdir().unwrap();
    let out = hollow()
        .env("TMPDIR", scratch.path())
        .args(["export", &f.store])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());
    let left: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn hollow_export_survives_its_snapshot_truncated_mid_read() {
    // Enough movies that the export fills the pipe and waits for this test
    // to read, with most of the snapshot still unread.
    const MOVIES: u64 = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
    // Plain blobs: these tests damage the store's blob files in place.
    let mut producer = Producer::builder(store, announcer)
        .compression(Compression::None)
        .build();
    let version = rt
        .block_on(
            producer.run_cycle(|w| (0..MOVIES).try_for_each(|id| w.add(&dataset::movie(id, 1)))),
        )
        .unwrap()
        .version
        .unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hollow"))
        .args(["export", dir.path().to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap());
    // A first line means the snapshot is loaded: now cut it to nothing in
    // place, as `cp` over it would, while the export still has most of it
    // to read.
    let mut first = String::new();
    std::io::BufRead::read_line(&mut lines, &mut first).unwrap();
    assert!(first.contains("\"record\""), "{first}");
    truncate_in_place(&dir.path().join(format!("snapshot-{version}")), 0);
    let rest = std::io::BufRead::lines(lines).count();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(1 + rest as u64, MOVIES);
}

#[test]
fn damaged_blobs_with_matching_checksums_are_caught() {
    use hollow_tests::crafted::{edit_header, edit_section, set_word, word};
    let f = fixture();
    ok(&["verify", &f.store, "--quick"]);
    let (a, b) = (f.states[0].version, f.states[1].version);
    let dir = Path::new(&f.store);
    let snap_a = std::fs::read(dir.join(format!("snapshot-{a}"))).unwrap();
    let path_b = dir.join(format!("snapshot-{b}"));
    let snap_b = std::fs::read(&path_b).unwrap();
    // snapshot-a copied over snapshot-b: never shown as version b.
    std::fs::write(&path_b, &snap_a).unwrap();
    for args in [
        &["export", &f.store, "--version", &v(b)][..],
        &["verify", &f.store, "--quick"][..],
    ] {
        let code = if args[0] == "verify" { 3 } else { 1 };
        let e = fails(args, code);
        assert!(
            e.contains(&format!("snapshot-{b}")) && e.contains("not what its name says"),
            "{args:?}: {e}"
        );
    }
    // snapshot-a with its prefix rewritten to say version b: its own bytes
    // cannot tell, but delta-a-b does not lead to its state.
    let relabelled = edit_header(&snap_a, |p, _| {
        p.from_version = b;
        p.to_version = b;
    });
    std::fs::write(&path_b, &relabelled).unwrap();
    let e = fails(&["verify", &f.store, "--quick"], 3);
    assert!(e.contains(&format!("does not give snapshot-{b}")), "{e}");
    std::fs::write(&path_b, &snap_b).unwrap();
    // A delta adding ordinal 0xFFFFFFFF (it once overflowed the ordinal
    // table): verify and diff name it, and neither panics.
    let path_d = dir.join(format!("delta-{a}-{b}"));
    let delta = std::fs::read(&path_d).unwrap();
    let bad = edit_section(&delta, "Movie", |s| {
        let added = hollow_tests::crafted::u32_element(s, 2, 0);
        hollow_tests::crafted::set_u32(s, added, u32::MAX);
    });
    std::fs::write(&path_d, &bad).unwrap();
    let e = fails(&["verify", &f.store, "--quick"], 3);
    assert!(
        e.contains(&format!("delta-{a}-{b}")) && e.contains("Movie"),
        "{e}"
    );
    let e = fails(&["diff", &f.store, &v(a), &v(b)], 1);
    assert!(e.contains(&format!("delta-{a}-{b}")), "{e}");
    std::fs::write(&path_d, &delta).unwrap();
    // A bitmap word zeroed and the counts lowered to match: the directory
    // agrees with itself, the records do not add up to its checksum.
    let mut dropped = 0;
    let zeroed = edit_section(&snap_b, "Movie", |s| {
        dropped = word(s, 3).count_ones();
        set_word(s, 3, 0);
    });
    assert!(dropped > 0);
    let bytes = edit_header(&zeroed, |_, h| {
        for s in h.sections.iter_mut().filter(|s| s.type_name == "Movie") {
            s.record_count -= dropped;
            s.state_count -= dropped;
        }
    });
    std::fs::write(&path_b, &bytes).unwrap();
    let e = fails(&["verify", &f.store], 3);
    assert!(
        e.contains(&format!("snapshot-{b}")) && e.contains("Movie") && e.contains("add up"),
        "{e}"
    );
}

/// A record with sets, written by the derive (maps: see [`shelf_schema`]).
#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Tagged {
    id: u64,
    tags: BTreeSet<String>,
    codes: BTreeSet<i16>,
}

/// Two versions of three `Tagged` records: record 1's sets change
/// (`a`, `b` → `b`, `c`; `-1`, `5` → `-1`), record 2 stays, record 3 is
/// replaced by record 4. Returns the store's path and the two versions.
fn produce_sets(dir: &Path) -> (String, u64, u64) {
    let set = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
    let rec = |id: u64, tags: &[&str], codes: &[i16]| Tagged {
        id,
        tags: set(tags),
        codes: codes.iter().copied().collect(),
    };
    let v1 = [
        rec(1, &["b", "a"], &[5, -1]),
        rec(2, &["x"], &[]),
        rec(3, &[], &[7]),
    ];
    let v2 = [
        rec(1, &["c", "b"], &[-1]),
        rec(2, &["x"], &[]),
        rec(4, &["z"], &[0]),
    ];
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    let versions = dataset::runtime().block_on(async {
        let mut p = Producer::builder(store, announcer)
            .compression(Compression::None)
            .record_type::<Tagged>()
            .build();
        let mut versions = Vec::new();
        for records in [&v1, &v2] {
            let out = p
                .run_cycle(|w| records.iter().try_for_each(|r| w.add(r)))
                .await
                .unwrap();
            versions.push(out.version.unwrap());
        }
        versions
    });
    (dir.to_str().unwrap().to_owned(), versions[0], versions[1])
}

#[test]
fn sets_show_as_arrays_and_diff_element_by_element() {
    let dir = tempfile::tempdir().unwrap();
    let (store, a, b) = produce_sets(dir.path());

    let text = ok(&["schema", &store]);
    assert!(text.contains("tags @1 :List(Text) $Hollow.set;"), "{text}");
    assert!(
        text.contains("codes @2 :List(Int16) $Hollow.set;"),
        "{text}"
    );

    // export and inspect: a set is an array in its stored (sorted) order.
    let got = export(&store, &["--version", &v(a)]);
    assert_eq!(
        got["Tagged"]["1"],
        json!({"id": 1, "tags": ["a", "b"], "codes": [-1, 5]})
    );
    assert_eq!(got["Tagged"]["3"]["codes"], json!([7]));
    let empty = &got["Tagged"]["3"]["tags"];
    assert!(*empty == json!([]) || empty.is_null(), "{empty}");
    let j = ok_json(&[
        "inspect",
        &store,
        "--type",
        "Tagged",
        "--key",
        "1",
        "--version",
        &v(b),
        "--json",
    ]);
    assert_eq!(
        j["record"],
        json!({"id": 1, "tags": ["b", "c"], "codes": [-1]})
    );

    // diff: per element, an added one with no old value, a removed one
    // with no new value.
    let expected_changes = json!([
        {"path": "tags[\"a\"]", "old": "a"},
        {"path": "tags[\"c\"]", "new": "c"},
        {"path": "codes[5]", "old": 5},
    ]);
    let j = ok_json(&["diff", &store, &v(a), &v(b), "--json"]);
    let ty = &j["types"][0];
    assert_eq!(ty["type"], "Tagged");
    let modified = ty["modified"].as_array().unwrap();
    assert_eq!(modified.len(), 1, "{j}");
    assert_eq!(modified[0]["key"], json!(1));
    assert_eq!(modified[0]["changes"], expected_changes);
    assert_eq!(ty["added"][0]["key"], json!(4));
    assert_eq!(ty["removed"][0]["key"], json!(3));
    // The other way round, the same changes inverted.
    let j = ok_json(&["diff", &store, &v(b), &v(a), "--json"]);
    assert_eq!(
        j["types"][0]["modified"][0]["changes"],
        json!([
            {"path": "tags[\"a\"]", "new": "a"},
            {"path": "tags[\"c\"]", "old": "c"},
            {"path": "codes[5]", "new": 5},
        ])
    );

    // history: the modification lists the same changes.
    let j = ok_json(&[
        "history", &store, "--type", "Tagged", "--key", "1", "--json",
    ]);
    let events = j["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{j}");
    assert_eq!(events[1]["event"], "modified");
    assert_eq!(events[1]["changes"], expected_changes);
    let text = ok(&["history", &store, "--type", "Tagged", "--key", "1"]);
    assert!(text.contains("tags[\"c\"]: (unset) → \"c\""), "{text}");

    let text = ok(&["verify", &store]);
    assert!(text.contains("0 failed"), "{text}");
}

/// `Shelf { id; titles: map Text → Text; counts: map Int32 → UInt32 }`, a
/// record type with maps. The derive has no map fields yet, so its schema
/// and records are built by hand (records written in canonical order, or
/// out of order to damage them).
fn shelf_schema() -> hollow_schema::Schema {
    use hollow_schema::{Collection, Field, Key, Schema, StructType, Type, TypeDef};
    let mut schema = Schema::new();
    let entry = |name: &str, key: Type, value: Type| {
        let mut s = StructType::new(name);
        s.fields = vec![Field::slot("key", 0, key), Field::slot("value", 1, value)];
        TypeDef::Struct(s)
    };
    let list = |n: &str| Type::List(Box::new(Type::Struct(n.into())));
    let mut shelf = StructType::new("Shelf");
    shelf.is_record = true;
    shelf.primary_key = Some(Key::parse("id").unwrap());
    shelf.fields = vec![
        Field::slot("id", 0, Type::UInt64),
        Field::slot("titles", 1, list("ShelfTitlesEntry")).marked(Collection::Map),
        Field::slot("counts", 2, list("ShelfCountsEntry")).marked(Collection::Map),
    ];
    schema.insert(TypeDef::Struct(shelf));
    schema.insert(entry("ShelfTitlesEntry", Type::Text, Type::Text));
    schema.insert(entry("ShelfCountsEntry", Type::Int32, Type::UInt32));
    hollow_schema::assign_layout(&mut schema).unwrap();
    schema
}

/// The canonical bytes of a `Shelf`, its map entries stored in the order
/// given.
fn shelf(
    schema: &hollow_schema::Schema,
    id: u64,
    titles: &[(&str, &str)],
    counts: &[(i32, u32)],
) -> Vec<u8> {
    use hollow_runtime::wire::MessageBuilder;
    let st = |n: &str| schema.get_struct(n).unwrap();
    let at = |n: &str, i: usize| st(n).fields[i].as_slot().unwrap().offset;
    let (s, t, c) = (
        st("Shelf").size,
        st("ShelfTitlesEntry").size,
        st("ShelfCountsEntry").size,
    );
    let mut m = MessageBuilder::new();
    let mut root = m.init_root(s.data_words, s.pointers);
    root.set_u64(at("Shelf", 0), id);
    let (wt, wc) = (
        root.pointer_word(at("Shelf", 1)),
        root.pointer_word(at("Shelf", 2)),
    );
    let mut l = m.init_struct_list_at(wt, titles.len() as u32, t.data_words, t.pointers);
    let words: Vec<(usize, usize)> = (0..titles.len())
        .map(|i| {
            let e = l.struct_at(i as u32);
            (
                e.pointer_word(at("ShelfTitlesEntry", 0)),
                e.pointer_word(at("ShelfTitlesEntry", 1)),
            )
        })
        .collect();
    for ((k, v), (wk, wv)) in titles.iter().zip(words) {
        m.set_text_at(wk, k);
        m.set_text_at(wv, v);
    }
    let mut l = m.init_struct_list_at(wc, counts.len() as u32, c.data_words, c.pointers);
    for (i, (k, v)) in counts.iter().enumerate() {
        let mut e = l.struct_at(i as u32);
        e.set_u32(at("ShelfCountsEntry", 0), *k as u32);
        e.set_u32(at("ShelfCountsEntry", 1), *v);
    }
    let bytes: Vec<u8> = m.words().iter().flat_map(|w| w.to_le_bytes()).collect();
    let mut out = Vec::new();
    hollow_runtime::wire::canonicalize(&bytes, &mut out).unwrap();
    out
}

/// Writes `records` (at ordinals 0, 1, …) as `snapshot-{version}` in `dir`.
fn write_shelves(dir: &Path, version: u64, records: &[Vec<u8>]) {
    use hollow_runtime::blob::{self, BlobKind, BlobWriter, SectionInfo};
    let schema = shelf_schema();
    let size = schema.get_struct("Shelf").unwrap().size;
    let n = records.len() as u32;
    let section = blob::snapshot_section(
        size,
        n,
        &[(1u64 << n) - 1],
        records.iter().enumerate().map(|(o, r)| (o as u32, &r[..])),
    )
    .unwrap();
    let mut info = SectionInfo::snapshot("Shelf", n, n);
    info.state_checksum = records.iter().enumerate().fold(0u64, |sum, (o, r)| {
        sum.wrapping_add(blob::state_mix(o as u32, hollow_runtime::hash_bytes(r)))
    });
    let mut w = BlobWriter::new(BlobKind::Snapshot, version, version, 0, 0x5eed + version);
    w.add_section(info, section);
    let bytes = w.finish(&schema, &[]).unwrap();
    std::fs::write(dir.join(format!("snapshot-{version}")), bytes).unwrap();
}

#[test]
fn maps_show_as_objects_or_pairs_diff_key_by_key_and_damage_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let schema = shelf_schema();
    write_shelves(
        dir.path(),
        1,
        &[
            shelf(
                &schema,
                1,
                &[("de", "Hitze"), ("fr", "Heat")],
                &[(-2, 1), (7, 3)],
            ),
            shelf(&schema, 2, &[], &[]),
        ],
    );
    write_shelves(
        dir.path(),
        2,
        &[
            shelf(
                &schema,
                1,
                &[("fr", "Chaleur"), ("it", "Calore")],
                &[(-2, 1)],
            ),
            shelf(&schema, 2, &[], &[]),
        ],
    );

    let text = ok(&["schema", store, "--version", "1"]);
    assert!(
        text.contains("titles @1 :List(ShelfTitlesEntry) $Hollow.map;"),
        "{text}"
    );
    // Text keys: an object; other keys: [key, value] pairs.
    let got = export(store, &["--version", "1"]);
    assert_eq!(
        got["Shelf"]["1"],
        json!({"id": 1, "titles": {"de": "Hitze", "fr": "Heat"}, "counts": [[-2, 1], [7, 3]]})
    );
    let j = ok_json(&[
        "inspect",
        store,
        "--type",
        "Shelf",
        "--key",
        "1",
        "--version",
        "2",
        "--json",
    ]);
    assert_eq!(
        j["record"]["titles"],
        json!({"fr": "Chaleur", "it": "Calore"})
    );

    // diff: per key, a changed value at its key.
    let j = ok_json(&["diff", store, "1", "2", "--json"]);
    let modified = j["types"][0]["modified"].as_array().unwrap();
    assert_eq!(modified.len(), 1, "{j}");
    assert_eq!(
        modified[0]["changes"],
        json!([
            {"path": "titles[\"de\"]", "old": "Hitze"},
            {"path": "titles[\"fr\"]", "old": "Heat", "new": "Chaleur"},
            {"path": "titles[\"it\"]", "new": "Calore"},
            {"path": "counts[7]", "old": 3},
        ])
    );
    let text = ok(&["verify", store]);
    assert!(text.contains("0 failed"), "{text}");
    damaged_maps_are_named(dir.path(), &schema);
}

/// Version 3 of the shelves in `dir` stores record 1's map out of order,
/// version 4 repeats a key: `verify` names the blob, record, field and
/// entry, a load refuses them, and `export`, `inspect` and `diff` refuse to
/// show or compare them.
fn damaged_maps_are_named(dir: &Path, schema: &hollow_schema::Schema) {
    let store = dir.to_str().unwrap();
    write_shelves(
        dir,
        3,
        &[shelf(schema, 1, &[("fr", "Heat"), ("de", "Hitze")], &[])],
    );
    write_shelves(dir, 4, &[shelf(schema, 1, &[], &[(7, 1), (7, 2)])]);
    for (version, field, what) in [
        ("3", "Shelf.titles", "entry 1 is out of order"),
        ("4", "Shelf.counts", "entry 1 repeats the key of entry 0"),
    ] {
        let out = hollow()
            .args(["verify", store, "--version", version])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(
            err.contains(&format!("snapshot-{version}"))
                && err.contains("ordinal 0")
                && err.contains(field)
                && err.contains(what),
            "{err}"
        );
    }
    // A consumer's load refuses it too.
    let bytes = std::fs::read(dir.join("snapshot-3")).unwrap();
    let e = hollow_runtime::ReadState::open_snapshot(BlobName::Snapshot(3), Arc::new(bytes))
        .unwrap_err();
    assert_eq!(e.kind(), hollow_runtime::ErrorKind::CorruptBlob, "{e}");
    assert!(
        e.to_string().contains(
            "blob snapshot-3: type Shelf: ordinal 0: Shelf.titles: entry 1 is out of order"
        ),
        "{e}"
    );
    // `export`, `inspect` and `diff` never show or compare it in its
    // stored order: they refuse it, naming the field and entry.
    for args in [
        &["export", store, "--version", "3"][..],
        &[
            "inspect",
            store,
            "--type",
            "Shelf",
            "--key",
            "1",
            "--version",
            "3",
        ],
        &["diff", store, "2", "3"],
    ] {
        let out = hollow().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "hollow {args:?} succeeded");
        assert!(
            err.contains("Shelf.titles: entry 1 is out of order"),
            "hollow {args:?}: {err}"
        );
    }
}
