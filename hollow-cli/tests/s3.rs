//! The `hollow` binary over an `s3://` store on a real S3-compatible server
//! (moto, started by `.ci/run` or installed and started by the test
//! support of `hollow-tests-s3`).

use std::collections::BTreeMap;

use assert_cmd::Command;
use hollow_runtime::store::{url, BlobName};
use hollow_runtime::Producer;
use hollow_tests::{dataset, Movie};
use hollow_tests_s3 as s3;
use serde_json::Value;

/// Runs `hollow args` with the server's settings; its stdout, after
/// checking it succeeded.
fn hollow_ok(server: &s3::S3Server, args: &[&str]) -> Vec<u8> {
    let mut cmd = Command::cargo_bin("hollow").unwrap();
    for (k, v) in server.env() {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "hollow {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Publishes three versions of movies to `url`; returns what each holds.
fn publish(server: &s3::S3Server, url: &str) -> Vec<(u64, BTreeMap<u64, Movie>)> {
    let opened = url::open(url, &server.options()).unwrap();
    let mut producer = Producer::builder(opened.store, opened.announcer).build();
    let rt = dataset::runtime();
    let mut movies: BTreeMap<u64, Movie> = (0..40).map(|i| (i, dataset::movie(i, 1))).collect();
    let mut out = Vec::new();
    for round in 0..3u64 {
        if round > 0 {
            movies.remove(&round);
            movies.insert(100 + round, dataset::movie(100 + round, round));
            movies.insert(5, dataset::movie(5, 10 + round));
        }
        let outcome = rt
            .block_on(producer.run_cycle(|w| {
                for m in movies.values() {
                    w.add(m)?;
                }
                Ok(())
            }))
            .unwrap();
        out.push((outcome.version.unwrap(), movies.clone()));
    }
    out
}

#[test]
fn every_read_command_works_on_an_s3_store() {
    let server = s3::shared();
    let url = server.new_bucket("cli", "data/movies");
    let versions = publish(server, &url);
    let (last, last_movies) = versions.last().unwrap();

    // versions: the announced version and every version's blobs.
    let out = hollow_ok(server, &["versions", &url, "--json"]);
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["announced"], Value::from(*last), "{v}");

    // export: exactly the producer's records of the announced version.
    let text = String::from_utf8(hollow_ok(server, &["export", &url, "--type", "Movie"])).unwrap();
    let mut ids: Vec<u64> = text
        .lines()
        .map(|l| {
            let rec: Value = serde_json::from_str(l).unwrap();
            let rec = rec.get("record").unwrap_or(&rec);
            rec["id"].as_u64().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, last_movies.keys().copied().collect::<Vec<_>>());

    // diff of adjacent versions, read from the delta.
    let (first, _) = versions[0];
    let (second, _) = versions[1];
    let (first, second) = (first.to_string(), second.to_string());
    let out = hollow_ok(server, &["diff", &url, &first, &second, "--json"]);
    let j: Value = serde_json::from_slice(&out).unwrap();
    let movie = j["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == "Movie")
        .unwrap();
    let keys = |side: &str| -> Vec<u64> {
        let mut k: Vec<u64> = movie[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["key"].as_u64().unwrap())
            .collect();
        k.sort_unstable();
        k
    };
    // Round 1 removed movie 1, added movie 101 and changed movie 5.
    assert_eq!(keys("removed"), vec![1], "{j}");
    assert_eq!(keys("added"), vec![101], "{j}");
    assert_eq!(keys("modified"), vec![5], "{j}");

    // verify: every blob fetched from the bucket checks out.
    hollow_ok(server, &["verify", &url]);
}

#[test]
fn an_s3_store_without_credentials_is_a_one_line_error_naming_the_url() {
    let mut cmd = Command::cargo_bin("hollow").unwrap();
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_PROFILE",
    ] {
        cmd.env_remove(k);
    }
    let out = cmd
        .args(["versions", "s3://no-such-bucket/prefix"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("s3://no-such-bucket/prefix") && err.contains("credentials"),
        "{err}"
    );
}

/// Runs `hollow args` with the server's settings, expecting exit `code`;
/// its stderr.
fn hollow_fails(server: &s3::S3Server, args: &[&str], code: u8) -> String {
    let mut cmd = Command::cargo_bin("hollow").unwrap();
    for (k, v) in server.env() {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(i32::from(code)),
        "hollow {args:?}: {err}"
    );
    err
}

#[test]
fn pin_announce_and_clean_on_an_s3_store() {
    let server = s3::shared();
    let url = server.new_bucket("cli-admin", "data/movies");
    let versions = publish(server, &url);
    let (first, first_movies) = &versions[0];
    let (last, _) = versions.last().unwrap();
    let (first_s, last_s) = (first.to_string(), last.to_string());
    let opened = url::open(&url, &server.options()).unwrap();
    let rt = dataset::runtime();
    let announced = || rt.block_on(opened.announcer.announced()).unwrap();
    let pinned = || rt.block_on(opened.announcer.pinned()).unwrap();

    // Pin: refused without --yes, a dry run changes nothing, then pinned;
    // the watcher (what consumers follow) reports the pin.
    hollow_fails(server, &["pin", &url, &first_s], hollow_cli::EXIT_REFUSED);
    hollow_ok(server, &["pin", &url, &first_s, "--dry-run"]);
    assert_eq!(pinned(), None);
    hollow_ok(server, &["pin", &url, &first_s, "--yes"]);
    assert_eq!(pinned(), Some(*first));
    assert_eq!(announced(), Some(*last));
    let watcher = url::open(&url, &server.options()).unwrap().watcher;
    assert_eq!(rt.block_on(watcher.latest()).unwrap(), Some(*first));
    let v: Value =
        serde_json::from_slice(&hollow_ok(server, &["versions", &url, "--json"])).unwrap();
    assert_eq!(v["pinned"], Value::from(*first), "{v}");
    hollow_ok(server, &["unpin", &url, "--yes"]);
    assert_eq!(pinned(), None);
    assert_eq!(rt.block_on(watcher.latest()).unwrap(), Some(*last));

    // Announce: a missing version and a stale --expect are refused; a
    // rollback is announced with a compare-and-swap on the object.
    let err = hollow_fails(
        server,
        &["announce", &url, "99", "--yes"],
        hollow_cli::EXIT_REFUSED,
    );
    assert!(err.contains("no version 99"), "{err}");
    hollow_fails(
        server,
        &["announce", &url, &first_s, "--expect", &first_s, "--yes"],
        hollow_cli::EXIT_CONFLICT,
    );
    hollow_ok(
        server,
        &["announce", &url, &first_s, "--expect", &last_s, "--yes"],
    );
    assert_eq!(announced(), Some(*first));
    let text = String::from_utf8(hollow_ok(server, &["export", &url, "--type", "Movie"])).unwrap();
    assert_eq!(text.lines().count(), first_movies.len());

    // The next producer cycle restores the rolled-back-to version and
    // mints above every version in the bucket.
    let mut producer = Producer::builder(opened.store.clone(), opened.announcer.clone()).build();
    assert_eq!(
        rt.block_on(producer.restore_latest()).unwrap(),
        Some(*first)
    );
    let outcome = rt
        .block_on(producer.run_cycle(|w| w.add(&dataset::movie(7, 77))))
        .unwrap();
    assert_eq!(outcome.version, Some(last + 1));
    assert_eq!(announced(), Some(last + 1));

    // Clean keeping one version: the announced version still loads.
    // Blobs of a version another producer claimed recently (its
    // publication may be under way) are kept for a later clean.
    let j: Value = serde_json::from_slice(&hollow_ok(
        server,
        &["clean", &url, "--keep", "1", "--yes", "--json"],
    ))
    .unwrap();
    assert!(
        !j["result"]["deleted"].as_array().unwrap().is_empty(),
        "{j}"
    );
    for s in j["result"]["skipped"].as_array().unwrap() {
        assert!(s["reason"].as_str().unwrap().contains("claim-"), "{j}");
    }
    let text = String::from_utf8(hollow_ok(server, &["export", &url, "--type", "Movie"])).unwrap();
    assert_eq!(text.lines().count(), 1);
    let left = rt.block_on(opened.store.list()).unwrap();
    assert!(!left.contains(&BlobName::Snapshot(*first)), "{left:?}");
}
