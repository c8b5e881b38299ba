//! `hollow-big` run small: a few thousand movies with a forced small shard
//! limit, so `Movie` spans many sections, end to end through both
//! processes (producer, then consumer) in about a second.

use std::process::{Command, Output};

fn hollow_big(dir: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hollow-big"))
        .args([
            "--movies",
            "3000",
            "--shard-limit",
            "65536",
            "--sample",
            "500",
        ])
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .output()
        .expect("hollow-big starts")
}

/// The value of the `key value` line `key` in `out`.
fn figure(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no {key} line in:\n{out}"))
        .to_string()
}

#[test]
fn a_small_run_spans_several_shards_and_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    let out = hollow_big(dir.path(), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "hollow-big failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sections: usize = figure(&stdout, "snapshot_movie_sections").parse().unwrap();
    assert!(sections >= 3, "{sections} sections:\n{stdout}");
    let sizes = figure(&stdout, "snapshot_movie_section_bytes");
    assert_eq!(sizes.split(',').count(), sections);
    assert!(sizes.split(',').all(|s| s.parse::<u64>().unwrap() <= 65536));
    let changed: u64 = figure(&stdout, "movies_changed_in_cycle2").parse().unwrap();
    assert!((10..60).contains(&changed), "{changed} of 3000 changed");
    assert_eq!(figure(&stdout, "cycle2_movies_added"), changed.to_string());
    // 500 sampled ids twice, every changed movie, the shards' ends.
    let checked: u64 = figure(&stdout, "records_checked").parse().unwrap();
    assert!(
        checked >= 1000 + changed + sections as u64,
        "{checked} checked"
    );
    assert!(stdout.contains("\nchecks passed\n"), "{stdout}");
    // The store and the cache are removed (no --keep).
    assert!(!dir.path().join("store").exists());
    assert!(!dir.path().join("cache").exists());
}

#[test]
fn a_mismatch_fails_naming_the_movie_and_field() {
    let dir = tempfile::tempdir().unwrap();
    // The consumer checks against another seed's movies: every one differs.
    let out = hollow_big(dir.path(), &["--check-seed", "43"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("of version 1: title is "),
        "no named mismatch in:\n{stderr}"
    );
    assert!(stderr.contains("the consumer process failed"), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("checks passed"));
}

#[test]
fn one_section_is_refused_as_not_proving_shards() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hollow-big"))
        .args(["--movies", "1000", "--sample", "10", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Movie is in 1 section(s) of snapshot-1, not several"),
        "{stderr}"
    );
}

#[test]
fn a_bad_flag_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_hollow-big"))
        .args(["--shard-limit", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--shard-limit takes a number, not \"lots\""),
        "{stderr}"
    );
}

#[test]
fn a_directory_with_an_earlier_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cache")).unwrap();
    let out = hollow_big(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cache already exists"), "{stderr}");
    // Nothing was published.
    assert!(!dir.path().join("store").exists());
}
