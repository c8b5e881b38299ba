//! `hollow schema-diff`, run as a process over stores a producer writes in
//! the test and `.capnp` files written by the test.
//!
//! Store `movies` holds version 1 (Movie {id, title}), version 2 (the
//! producer restored and continued it with a Movie that gained `year`: a
//! compatible change) and version 3 (a Movie whose `title` is a UInt32 and
//! that lost `year`, published by another producer as a new snapshot and
//! never announced: breaking). Every exit code, the text and JSON output,
//! the agreement with `hollow_schema::evolution::diff`, and every bad input
//! are checked.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

use common::{hollow, run};
use hollow_cli::cmd::schema_diff::{compare, Options, Side};
use hollow_runtime::schema::evolution;
use hollow_runtime::store::{Compression, FileAnnouncer};
use hollow_runtime::{FsBlobStore, Hollow, Producer};
use hollow_tests::dataset;
use serde_json::{json, Value};

mod v1 {
    use hollow_runtime::Hollow;

    /// The first Movie.
    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(primary_key(id))]
    pub(crate) struct Movie {
        pub(crate) id: u64,
        pub(crate) title: String,
    }
}

mod v2 {
    use hollow_runtime::Hollow;

    /// Movie with a field added: compatible.
    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(primary_key(id))]
    pub(crate) struct Movie {
        pub(crate) id: u64,
        pub(crate) title: String,
        pub(crate) year: u16,
    }
}

mod broken {
    use hollow_runtime::Hollow;

    /// Movie with `title` retyped and `year` gone: breaking.
    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(primary_key(id))]
    pub(crate) struct Movie {
        pub(crate) id: u64,
        pub(crate) title: u32,
    }
}

/// A record type of another dataset.
#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Sensor {
    id: u64,
    reading: f64,
}

fn producer(dir: &Path, first: u64) -> Producer {
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    Producer::builder(store, announcer)
        // Plain: a test copies a snapshot file from one store to another.
        .compression(Compression::None)
        .version_minter(move |prev| prev.map_or(first, |p| p + 1))
        .build()
}

struct Stores {
    _dirs: Vec<tempfile::TempDir>,
    /// Versions 1 (announced, then 2), 2 (announced) and 3 (unannounced).
    movies: String,
    /// Movies' snapshot of version 1 and delta to version 2, with no
    /// announcement.
    unannounced: String,
    /// A store of Sensors.
    sensors: String,
    /// Where the test writes `.capnp` files.
    files: PathBuf,
}

fn path(d: &tempfile::TempDir) -> String {
    d.path().to_str().unwrap().to_owned()
}

fn stores() -> Stores {
    let rt = dataset::runtime();
    let movies = tempfile::tempdir().unwrap();
    let mut p = producer(movies.path(), 1);
    let out = rt
        .block_on(p.run_cycle(|w| {
            (0..5).try_for_each(|id| {
                w.add(&v1::Movie {
                    id,
                    title: format!("movie {id}"),
                })
            })
        }))
        .unwrap();
    assert_eq!(out.version, Some(1));
    // A producer with a Movie that gained a field continues the history.
    let mut p = Producer::builder(
        Arc::new(FsBlobStore::new(movies.path()).unwrap()),
        Arc::new(FileAnnouncer::new(movies.path()).unwrap()),
    )
    .compression(Compression::None)
    .version_minter(|prev| prev.map_or(1, |p| p + 1))
    .record_type::<v2::Movie>()
    .build();
    assert_eq!(rt.block_on(p.restore_latest()).unwrap(), Some(1));
    let out = rt
        .block_on(p.run_cycle(|w| {
            (0..5).try_for_each(|id| {
                w.add(&v2::Movie {
                    id,
                    title: format!("movie {id}"),
                    year: 2000 + id as u16,
                })
            })
        }))
        .unwrap();
    assert_eq!(out.version, Some(2));
    // A breaking Movie, published elsewhere as version 3 and its snapshot
    // copied in, unannounced.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut p = producer(elsewhere.path(), 3);
    rt.block_on(p.run_cycle(|w| w.add(&broken::Movie { id: 1, title: 7 })))
        .unwrap();
    std::fs::copy(
        elsewhere.path().join("snapshot-3"),
        movies.path().join("snapshot-3"),
    )
    .unwrap();
    let unannounced = tempfile::tempdir().unwrap();
    for blob in ["snapshot-1", "delta-1-2"] {
        std::fs::copy(movies.path().join(blob), unannounced.path().join(blob)).unwrap();
    }
    let sensors = tempfile::tempdir().unwrap();
    let mut p = producer(sensors.path(), 1);
    rt.block_on(p.run_cycle(|w| {
        w.add(&Sensor {
            id: 1,
            reading: 0.5,
        })
    }))
    .unwrap();
    let files = tempfile::tempdir().unwrap();
    Stores {
        movies: path(&movies),
        unannounced: path(&unannounced),
        sensors: path(&sensors),
        files: files.path().to_path_buf(),
        _dirs: vec![movies, elsewhere, unannounced, sensors, files],
    }
}

fn json_of(args: &[&str], code: i32) -> Value {
    let mut a = args.to_vec();
    a.push("--json");
    let (out, _) = run(&a, code);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("hollow {a:?}: {e}: {out}"))
}

/// Runs `hollow args…`, expecting exit 1 with one line on stderr.
fn fails(args: &[&str]) -> String {
    let (out, err) = run(args, 1);
    assert_eq!(out, "", "nothing on stdout");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

/// The `(location, kind, verdict)` of every change in a JSON document.
fn changes(j: &Value) -> Vec<(String, String, String)> {
    j["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["location"].as_str().unwrap().to_owned(),
                c["kind"].as_str().unwrap().to_owned(),
                c["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn change(location: &str, kind: &str, verdict: &str) -> (String, String, String) {
    (location.into(), kind.into(), verdict.into())
}

const HEADER: &str = "@0xd1e2a3b4c5d6e7f8;\nusing Hollow = import \"/hollow.capnp\";\n";

fn movie_capnp(fields: &str) -> String {
    format!("{HEADER}struct Movie $Hollow.record $Hollow.primaryKey(\"id\") {{\n{fields}}}\n")
}

#[test]
fn two_versions_of_a_store() {
    let s = stores();
    let at = |v: u64| format!("{}@{v}", s.movies);

    // Compatible: a field added.
    let (text, err) = run(&["schema-diff", &at(1), &at(2)], 0);
    assert_eq!(err, "");
    assert!(
        text.contains(&format!("old: version 1 of dir {} (older)", s.movies)),
        "{text}"
    );
    assert!(
        text.contains(&format!("new: version 2 of dir {} (announced)", s.movies)),
        "{text}"
    );
    assert!(
        text.contains(
            "\nMovie.year: field added: year @2 :UInt16 (data bits 64..80) (compatible)\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("\ncompatible: 1 change, none breaking\n"),
        "{text}"
    );
    let j = json_of(&["schema-diff", &at(1), &at(2)], 0);
    assert_eq!(j["verdict"], "compatible");
    assert_eq!(
        j["old"],
        json!({"kind": "store", "store": format!("dir {}", s.movies), "version": 1, "status": "older"})
    );
    assert_eq!(j["new"]["status"], "announced");
    assert_eq!(
        changes(&j),
        [change("Movie.year", "field_added", "compatible")]
    );
    let c = &j["changes"][0];
    assert_eq!(c["type"], "Movie");
    assert_eq!(c["path"], "year");
    assert_eq!(c["before"], Value::Null);
    assert_eq!(c["after"], "year @2 :UInt16 (data bits 64..80)");
    assert_eq!(c["misread"], false);
    assert_eq!(
        (j["breaking"].clone(), j["compatible"].clone()),
        (json!(0), json!(1))
    );

    // The announced version by default: the same schema, no changes.
    let (text, _) = run(&["schema-diff", &at(2), &s.movies], 0);
    assert!(text.ends_with("\n\ncompatible: no changes\n"), "{text}");
    let j = json_of(&["schema-diff", &format!("file://{}", s.movies), &at(2)], 0);
    assert_eq!(j["changes"], json!([]));
    assert_eq!(j["old"]["version"], 2);

    // Backwards, the field is removed: breaking, though nothing is misread.
    let (text, err) = run(&["schema-diff", &at(2), &at(1)], 3);
    assert!(
        text.contains(
            "Movie.year: field removed: was year @2 :UInt16 (data bits 64..80) (breaking)"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("\nbreaking: 1 of 1 change is breaking\n"),
        "{text}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("breaks") && err.contains("1 breaking change"),
        "{err}"
    );

    // Breaking: a field retyped (misread) and one removed; breaking first.
    let (text, _) = run(&["schema-diff", &at(2), &at(3)], 3);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[3],
        "Movie.title: type changed: was title @1 :Text (pointer 0), is now title @1 :UInt32 \
         (data bits 64..96) (breaking)",
        "{text}"
    );
    assert!(lines[4].starts_with("Movie.year: field removed:"), "{text}");
    assert_eq!(
        lines.last().copied(),
        Some(
            "breaking: 2 of 2 changes are breaking (1 makes readers of one schema misread the \
             other's data)"
        )
    );
    let j = json_of(&["schema-diff", &at(2), &at(3)], 3);
    assert_eq!(j["verdict"], "breaking");
    assert_eq!(j["new"]["status"], "unannounced");
    assert_eq!(
        changes(&j),
        [
            change("Movie.title", "field_retyped", "breaking"),
            change("Movie.year", "field_removed", "breaking")
        ]
    );
    assert_eq!(j["changes"][0]["misread"], true);
    assert_eq!(j["misread"], 1);
}

#[test]
fn the_cli_and_the_library_give_the_rule_set_s_changes() {
    let s = stores();
    let opts = Options::default();
    for (a, b) in [(1, 2), (2, 1), (2, 3), (3, 1)] {
        let old = Side::parse(&format!("{}@{a}", s.movies))
            .unwrap()
            .load(&opts)
            .unwrap();
        let new = Side::parse(&format!("{}@{b}", s.movies))
            .unwrap()
            .load(&opts)
            .unwrap();
        let diff = compare(&old, &new).unwrap();
        assert_eq!(diff, evolution::diff(&old.schema, &new.schema));
        let breaking = diff.is_breaking();
        let j = json_of(
            &[
                "schema-diff",
                &format!("{}@{a}", s.movies),
                &format!("{}@{b}", s.movies),
            ],
            if breaking { 3 } else { 0 },
        );
        let mut cli: Vec<String> = j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["text"].as_str().unwrap().to_owned())
            .collect();
        let mut lib: Vec<String> = diff.changes.iter().map(|c| c.to_string()).collect();
        cli.sort();
        lib.sort();
        assert_eq!(cli, lib, "{a} -> {b}");
        assert_eq!(j["breaking"], json!(diff.breaking().count()));
    }
}

#[test]
fn a_version_against_capnp_files() {
    let s = stores();
    // The store's own schema, printed by `hollow schema`, compiles back to
    // the same layout: no changes.
    let (text, _) = run(&["schema", &s.movies], 0);
    let own = write(&s.files, "own.capnp", &text);
    let (text, _) = run(&["schema-diff", &s.movies, &own], 0);
    assert!(text.contains(&format!("new: file {own}")), "{text}");
    assert!(text.ends_with("compatible: no changes\n"), "{text}");

    // A field added in the file: compatible.
    let added = write(
        &s.files,
        "added.capnp",
        &movie_capnp(
            "  id @0 :UInt64;\n  title @1 :Text;\n  year @2 :UInt16;\n  rating @3 :Float32;\n",
        ),
    );
    let j = json_of(&["schema-diff", &s.movies, &added], 0);
    assert_eq!(j["new"], json!({"kind": "capnp", "files": [added]}));
    assert_eq!(
        changes(&j),
        [change("Movie.rating", "field_added", "compatible")]
    );
    assert_eq!(
        j["changes"][0]["after"],
        "rating @3 :Float32 (data bits 96..128)"
    );

    // Two files compiled together: a record type of the second is added.
    let other = write(
        &s.files,
        "other.capnp",
        "@0xe1e2a3b4c5d6e7f8;\nusing Hollow = import \"/hollow.capnp\";\n\
         struct Review $Hollow.record {\n  stars @0 :UInt8;\n}\n",
    );
    let both = format!("{own},{other}");
    let j = json_of(&["schema-diff", &s.movies, &both], 0);
    assert_eq!(j["new"], json!({"kind": "capnp", "files": [own, other]}));
    assert_eq!(changes(&j), [change("Review", "type_added", "compatible")]);
    let (text, _) = run(&["schema-diff", &both, &s.movies], 3);
    assert!(
        text.contains(&format!("old: files {own}, {other}\n")),
        "{text}"
    );
    assert!(text.contains("Review: type removed (breaking)"), "{text}");

    // A field retyped in the file, and a type added: breaking first.
    let retyped = write(
        &s.files,
        "retyped.capnp",
        &format!(
            "{}struct Actor $Hollow.record {{\n  id @0 :UInt64;\n}}\n",
            movie_capnp("  id @0 :UInt64;\n  title @1 :Text;\n  year @2 :Int32;\n")
        ),
    );
    let j = json_of(&["schema-diff", &format!("{}@2", s.movies), &retyped], 3);
    assert_eq!(
        changes(&j),
        [
            change("Movie.year", "field_retyped", "breaking"),
            change("Actor", "type_added", "compatible")
        ]
    );
    // The file as the older side.
    let j = json_of(&["schema-diff", &retyped, &format!("{}@1", s.movies)], 3);
    assert_eq!(
        changes(&j),
        [
            change("Movie.year", "field_removed", "breaking"),
            change("Actor", "type_removed", "breaking")
        ]
    );
}

#[test]
fn two_capnp_files_with_imports() {
    let s = stores();
    let old = write(
        &s.files,
        "old.capnp",
        &format!(
            "{}enum Genre {{\n  drama @0;\n  comedy @1;\n}}\n",
            movie_capnp("  id @0 :UInt64;\n  title @1 :Text;\n  genre @2 :Genre;\n")
        ),
    );
    // The newer file takes Genre from a shared file, imported absolutely.
    let shared = s.files.join("shared");
    std::fs::create_dir(&shared).unwrap();
    write(
        &shared,
        "genres.capnp",
        "@0xc1e2a3b4c5d6e7f8;\nenum Genre {\n  drama @0;\n  comedy @1;\n  horror @2;\n}\n",
    );
    let new = write(
        &s.files,
        "new.capnp",
        &format!(
            "{HEADER}using Genre = import \"/genres.capnp\".Genre;\n\
             struct Movie $Hollow.record $Hollow.primaryKey(\"id\") {{\n  id @0 :UInt64;\n  \
             title @1 :Text;\n  genre @2 :Genre;\n  shape :union {{\n    circle @3 :Float64;\n    \
             square @4 :Float64;\n  }}\n}}\n"
        ),
    );
    let imports = shared.to_str().unwrap();
    let j = json_of(&["schema-diff", &old, &new, "--import-path", imports], 0);
    assert_eq!(
        changes(&j),
        [
            change("Movie.shape", "field_added", "compatible"),
            change("Genre.horror", "enumerant_added", "compatible"),
        ]
    );
    // Backwards: the enumerant and the union removed.
    let (text, _) = run(&["schema-diff", &new, &old, "--import-path", imports], 3);
    assert!(
        text.contains("Genre.horror: enumerant removed: was horror = 2 (breaking)"),
        "{text}"
    );
    assert!(
        text.ends_with("breaking: 2 of 2 changes are breaking\n"),
        "{text}"
    );

    // Without the import path the newer file does not compile.
    let (out, err) = run(&["schema-diff", &old, &new], 1);
    assert_eq!(out, "");
    assert!(err.contains("genres.capnp"), "{err}");
    assert!(
        err.lines()
            .last()
            .is_some_and(|l| l.starts_with(&format!("error: schema file {new} does not compile"))),
        "{err}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let s = stores();
    let movies = &s.movies;

    // A schema file that does not compile: the compiler's message names
    // the file and line, then one line says which file failed.
    let bad = write(
        &s.files,
        "bad.capnp",
        &format!(
            "{HEADER}struct Movie $Hollow.record {{\n  id @0 :UInt64;\n  title @1 :Txet;\n}}\n"
        ),
    );
    let (out, err) = run(&["schema-diff", movies, &bad], 1);
    assert_eq!(out, "");
    assert!(
        err.contains(&format!("{bad}:5:")) && err.contains("Txet"),
        "file and line: {err}"
    );
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("error: schema file {bad} does not compile;")),
        "{err}"
    );
    // One the schema IR refuses (a key naming a missing field).
    let keyless = write(
        &s.files,
        "keyless.capnp",
        &format!("{HEADER}struct Movie $Hollow.record $Hollow.primaryKey(\"uid\") {{\n  id @0 :UInt64;\n}}\n"),
    );
    let e = fails(&["schema-diff", movies, &keyless]);
    assert!(e.contains(&keyless) && e.contains("uid"), "{e}");
    let e = fails(&["schema-diff", movies, "/nonexistent/movies.capnp"]);
    assert!(
        e.contains("schema file /nonexistent/movies.capnp does not exist"),
        "{e}"
    );
    let e = fails(&["schema-diff", movies, &format!("{movies},{keyless}")]);
    assert!(
        e.contains(&format!("{movies:?} is not a .capnp file")),
        "{e}"
    );
    // No record type in a file.
    let plain = write(
        &s.files,
        "plain.capnp",
        &format!("{HEADER}struct Movie {{\n  id @0 :UInt64;\n}}\n"),
    );
    let e = fails(&["schema-diff", movies, &plain]);
    assert!(
        e.contains(&format!("file {plain} has no record type")),
        "{e}"
    );

    // A version that does not exist: named, with the versions there are.
    let e = fails(&["schema-diff", &format!("{movies}@777"), movies]);
    assert!(
        e.contains(&format!(
            "no version 777 in store dir {movies}; it has versions 1, 2, 3"
        )),
        "{e}"
    );
    let e = fails(&["schema-diff", &format!("{movies}@latest"), movies]);
    assert!(
        e.contains("\"latest\" after the @ is not a version number"),
        "{e}"
    );
    // A store with no announcement needs a version.
    let e = fails(&["schema-diff", &s.unannounced, movies]);
    assert!(
        e.contains("has no announced version")
            && e.contains(&format!("{}@V", s.unannounced))
            && e.contains("it has versions 1, 2"),
        "{e}"
    );
    // With a version it is read; version 2 from its delta alone.
    let j = json_of(
        &[
            "schema-diff",
            &format!("{}@1", s.unannounced),
            &format!("{}@2", s.unannounced),
        ],
        0,
    );
    assert_eq!(
        changes(&j),
        [change("Movie.year", "field_added", "compatible")]
    );
    assert_eq!(j["new"]["status"], "unannounced");
    // No store there.
    let e = fails(&["schema-diff", "/nonexistent/store@3", movies]);
    assert!(e.contains("store /nonexistent/store does not exist"), "{e}");

    // Two stores of different datasets: said once, not a wall of removals.
    let e = fails(&["schema-diff", movies, &s.sensors]);
    assert!(
        e.contains("share no record type") && e.contains("the first has Movie, the second Sensor"),
        "{e}"
    );
    let e = fails(&["schema-diff", &s.sensors, &format!("{movies}@1"), "--json"]);
    assert!(e.contains("share no record type"), "{e}");

    // A bad command line is clap's exit code 2.
    run(&["schema-diff", movies], 2);
}

#[test]
fn help_documents_the_syntax_with_examples() {
    let (text, _) = run(&["schema-diff", "--help"], 0);
    for needle in [
        "Examples:",
        "hollow schema-diff ",
        "STORE@V",
        ".capnp",
        "--import-path",
        "3",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    let (text, _) = run(&["--help"], 0);
    assert!(text.contains("schema-diff"), "{text}");
    assert!(text.contains("schema-diff` found a breaking"), "{text}");
}

#[test]
fn an_s3_store_is_a_side_like_any_other() {
    use hollow_runtime::store::url;
    use hollow_tests_s3 as s3;

    let server = s3::shared();
    let bucket = server.new_bucket("schema-diff", "data/movies");
    let opened = url::open(&bucket, &server.options()).unwrap();
    let mut producer = Producer::builder(opened.store, opened.announcer).build();
    let rt = dataset::runtime();
    let mut versions = Vec::new();
    for round in 1..=2 {
        let out = rt
            .block_on(producer.run_cycle(|w| w.add(&dataset::movie(round, round))))
            .unwrap();
        versions.push(out.version.unwrap());
    }
    let hollow_s3 = |args: &[&str]| {
        let mut cmd = hollow();
        for (k, v) in server.env() {
            cmd.env(k, v);
        }
        cmd.args(args).output().unwrap()
    };
    let first = format!("{bucket}@{}", versions[0]);
    let out = hollow_s3(&["schema-diff", &first, &bucket, "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["changes"], json!([]));
    assert_eq!(j["old"]["version"], json!(versions[0]));
    assert_eq!(j["new"]["version"], json!(versions[1]));
    assert_eq!(j["new"]["status"], "announced");
    let out = hollow_s3(&["schema-diff", &format!("{bucket}@777"), &bucket]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no version 777 in store") && err.contains(&versions[0].to_string()),
        "{err}"
    );
}

/// The base of [`each_edit_gets_cap_n_proto_s_verdict`]: `{title}`,
/// `{shape}`, `{year}`, `{genre}` and `{extra}` are replaced by each edit.
const BASE: &str = "struct Movie $Hollow.record $Hollow.primaryKey(\"id\") {
  id @0 :UInt64;
  {title}
  shape :union {
    {shape}
  }
  {year}
}
{genre}
{extra}";

fn edited(edits: &[(&str, &str)]) -> String {
    let mut text = BASE.to_owned();
    let defaults = [
        ("{title}", "title @1 :Text;"),
        ("{shape}", "circle @2 :Float64;\n    square @3 :Float64;"),
        ("{year}", "year @4 :UInt16;"),
        ("{genre}", "enum Genre {\n  drama @0;\n  comedy @1;\n}"),
        ("{extra}", ""),
    ];
    for (slot, default) in defaults {
        let with = edits
            .iter()
            .find(|(s, _)| *s == slot)
            .map_or(default, |(_, w)| w);
        text = text.replace(slot, with);
    }
    format!("{HEADER}{text}\n")
}

/// One row of the table: what the edit is, the slots of [`BASE`] it
/// replaces, the changes expected (location, kind), and whether readers of
/// one side misread the other's data.
type Edit = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static [(&'static str, &'static str)],
    bool,
);

/// Schema edits written as `.capnp` files, compiled by the real compiler,
/// against a hand-written table of Cap'n Proto's rules: the change each
/// makes, whether it is breaking, and whether readers would misread.
#[test]
fn each_edit_gets_cap_n_proto_s_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let base = write(dir.path(), "base.capnp", &edited(&[]));
    let misread = true;
    #[rustfmt::skip]
    let table: &[Edit] = &[
        ("add a field", &[("{year}", "year @4 :UInt16;\n  rating @5 :Float32;")],
            &[("Movie.rating", "field_added")], false),
        ("add a type", &[("{extra}", "struct Actor $Hollow.record {\n  id @0 :UInt64;\n}")],
            &[("Actor", "type_added")], false),
        ("rename a field", &[("{title}", "name @1 :Text;")],
            &[("Movie.title", "field_renamed")], false),
        ("add a union member at the end",
            &[("{shape}", "circle @2 :Float64;\n    square @3 :Float64;\n    star @5 :Float64;")],
            &[("Movie.shape.star", "field_added")], false),
        ("add an enumerant", &[("{genre}", "enum Genre {\n  drama @0;\n  comedy @1;\n  horror @2;\n}")],
            &[("Genre.horror", "enumerant_added")], false),
        ("remove a field", &[("{year}", "")],
            &[("Movie.year", "field_removed")], false),
        ("remove an enumerant", &[("{genre}", "enum Genre {\n  drama @0;\n}")],
            &[("Genre.comedy", "enumerant_removed")], false),
        ("remove a type", &[("{genre}", "")],
            &[("Genre", "type_removed")], false),
        ("retype a field", &[("{title}", "title @1 :Data;")],
            &[("Movie.title", "field_retyped")], misread),
        ("widen a field", &[("{year}", "year @4 :UInt32;")],
            &[("Movie.year", "field_retyped")], misread),
        // The compiler lays fields out in ordinal order, so `year` @1 takes
        // the space the union had, and the union moves after it.
        ("swap two fields' ordinals",
            &[("{title}", "title @4 :Text;"), ("{year}", "year @1 :UInt16;")],
            &[("Movie.title", "field_moved"), ("Movie.shape", "discriminant_moved"),
              ("Movie.shape.circle", "field_moved"), ("Movie.shape.square", "field_moved"),
              ("Movie.year", "field_moved")], misread),
        ("reorder a union's members",
            &[("{shape}", "square @2 :Float64;\n    circle @3 :Float64;")],
            &[("Movie.shape.circle", "member_reordered"), ("Movie.shape.square", "member_reordered")],
            misread),
        ("make a field a group", &[("{year}", "year :group {\n    value @4 :UInt16;\n  }")],
            &[("Movie.year", "field_kind_changed")], misread),
        ("make an enum a struct", &[("{genre}", "struct Genre {\n  drama @0 :UInt16;\n}")],
            &[("Genre", "type_kind_changed")], misread),
    ];
    for (i, (what, edits, expected, misreads)) in table.iter().enumerate() {
        let file = write(dir.path(), &format!("edit{i}.capnp"), &edited(edits));
        let breaking = expected.iter().any(|(_, k)| {
            !matches!(
                *k,
                "field_added" | "type_added" | "field_renamed" | "enumerant_added"
            )
        });
        let j = json_of(&["schema-diff", &base, &file], if breaking { 3 } else { 0 });
        let got: Vec<(String, String)> = changes(&j).into_iter().map(|(l, k, _)| (l, k)).collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(l, k)| (l.to_string(), k.to_string()))
            .collect();
        assert_eq!(got, want, "{what}: {j}");
        assert_eq!(
            j["verdict"],
            if breaking { "breaking" } else { "compatible" },
            "{what}"
        );
        assert_eq!(j["misread"].as_u64().unwrap() > 0, *misreads, "{what}: {j}");
    }
}

/// Marking a list as a map or set, removing the mark, and making a map a
/// set: each is breaking; a reader of the marked side misreads the
/// unmarked side's data, never the other way round.
#[test]
fn map_and_set_marks_are_breaking_and_marking_is_misread() {
    let dir = tempfile::tempdir().unwrap();
    let version = |tags: &str, titles: &str| {
        format!(
            "{}struct TitlesEntry {{\n  key @0 :Text;\n  value @1 :Text;\n}}\n",
            movie_capnp(&format!(
                "  id @0 :UInt64;\n  tags @1 :List(Text){tags};\n  \
                 titles @2 :List(TitlesEntry){titles};\n"
            ))
        )
    };
    let plain = write(dir.path(), "plain.capnp", &version("", ""));
    let marked = write(
        dir.path(),
        "marked.capnp",
        &version(" $Hollow.set", " $Hollow.map"),
    );
    let both_sets = write(
        dir.path(),
        "sets.capnp",
        &version(" $Hollow.set", " $Hollow.set"),
    );

    let j = json_of(&["schema-diff", &plain, &marked], 3);
    assert_eq!(
        changes(&j),
        [
            change("Movie.tags", "collection_marked", "breaking"),
            change("Movie.titles", "collection_marked", "breaking")
        ]
    );
    assert_eq!(j["misread"], 2, "{j}");
    assert_eq!(j["changes"][0]["before"], "tags @1 :List(Text) (pointer 0)");
    assert_eq!(
        j["changes"][0]["after"],
        "tags @1 :List(Text) $Hollow.set (pointer 0)"
    );
    let (text, _) = run(&["schema-diff", &plain, &marked], 3);
    assert!(
        text.contains(
            "Movie.titles: marked as a map or set: was titles @2 :List(TitlesEntry) (pointer 1), \
             is now titles @2 :List(TitlesEntry) $Hollow.map (pointer 1) (breaking)"
        ),
        "{text}"
    );

    let j = json_of(&["schema-diff", &marked, &plain], 3);
    assert_eq!(
        changes(&j),
        [
            change("Movie.tags", "collection_unmarked", "breaking"),
            change("Movie.titles", "collection_unmarked", "breaking")
        ]
    );
    assert_eq!(j["misread"], 0, "{j}");

    let j = json_of(&["schema-diff", &marked, &both_sets], 3);
    assert_eq!(
        changes(&j),
        [change("Movie.titles", "collection_changed", "breaking")]
    );
    assert_eq!(j["misread"], 1, "{j}");
    json_of(&["schema-diff", &marked, &marked], 0);
}

/// Every feature of `#[derive(Hollow)]` (all field types, lists, nested
/// structs, enums, groups, unions of each kind): the store's schema, printed
/// by `hollow schema` and compiled back by the Cap'n Proto compiler, has
/// the layout the derive gave it, field for field.
#[test]
fn a_rich_schema_round_trips_through_capnp_text() {
    use hollow_tests::{AllTypes, Event, Shipment};

    let dir = tempfile::tempdir().unwrap();
    let mut p = producer(dir.path(), 1);
    dataset::runtime()
        .block_on(p.run_cycle(|w| {
            w.add(&AllTypes::default())?;
            w.add(&Shipment::default())?;
            w.add(&Event::default())
        }))
        .unwrap();
    let store = path(&dir);
    let (text, _) = run(&["schema", &store], 0);
    let file = write(dir.path(), "dataset.capnp", &text);
    let (out, _) = run(&["schema-diff", &store, &file], 0);
    assert!(
        out.ends_with("\n\ncompatible: no changes\n"),
        "{out}\n{text}"
    );
    let (out, _) = run(&["schema-diff", &file, &store], 0);
    assert!(out.ends_with("\n\ncompatible: no changes\n"), "{out}");
}
