//! The admin commands (`hollow pin`, `unpin`, `announce`, `clean`) run as
//! the binary on a local store, and `hollow serve --admin` driven in
//! process over HTTP: each with `--dry-run` and `--yes`, refused without
//! `--yes` when stdin is not a terminal, refused for a missing or
//! incomplete version, losing a compare-and-swap to a producer or another
//! operator, and a rollback after which the next producer cycle mints a
//! version above every version in the store; and the y/N confirmation
//! answered on a real pseudo-terminal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{fails, hollow, ok, run};
use hollow_cli::cmd::admin::{self, Request as AdminRequest};
use hollow_cli::store::Store;
use hollow_cli::{EXIT_CONFLICT, EXIT_REFUSED};
use hollow_runtime::store::{Announcer, BlobName, BlobStore, Compression, FileAnnouncer};
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::dataset::{self, catalog, Catalog};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// A local store of `n` versions (plain blobs, so tests can damage them).
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: String,
    catalogs: Vec<Catalog>,
}

impl Fixture {
    fn new(n: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let mut producer = producer(&path);
        let rt = dataset::runtime();
        let catalogs = (1..=n)
            .map(|round| {
                let c = catalog(12, round, 3);
                assert_eq!(
                    rt.block_on(dataset::publish(&mut producer, &c)),
                    Some(round)
                );
                c
            })
            .collect();
        Fixture {
            store: path.to_str().unwrap().to_owned(),
            path,
            _dir: dir,
            catalogs,
        }
    }

    fn announcer(&self) -> FileAnnouncer {
        FileAnnouncer::new(&self.path).unwrap()
    }

    fn announced(&self) -> Option<u64> {
        dataset::runtime()
            .block_on(self.announcer().announced())
            .unwrap()
    }

    fn pinned(&self) -> Option<u64> {
        dataset::runtime()
            .block_on(self.announcer().pinned())
            .unwrap()
    }

    fn blobs(&self) -> Vec<BlobName> {
        let store = FsBlobStore::new(&self.path).unwrap();
        let mut names = dataset::runtime().block_on(store.list()).unwrap();
        names.sort();
        names
    }

    /// The version a fresh consumer of the store loads, checked against
    /// what was published.
    fn consumer_loads(&self, expected: &Catalog) -> u64 {
        let cache = tempfile::tempdir().unwrap();
        let store = Arc::new(FsBlobStore::new(&self.path).unwrap());
        let consumer = dataset::consumer(store, Arc::new(self.announcer()), cache.path());
        let v = dataset::runtime()
            .block_on(consumer.refresh())
            .unwrap()
            .unwrap();
        expected.assert_held_by(&consumer.current().unwrap(), "fresh consumer");
        v
    }
}

fn producer(path: &Path) -> Producer {
    let store = Arc::new(FsBlobStore::new(path).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(path).unwrap());
    Producer::builder(store, announcer)
        .compression(Compression::None)
        .build()
}

/// Runs `hollow args…`, expecting a bad command line (exit code 2);
/// returns stderr.
fn bad_usage(args: &[&str]) -> String {
    run(args, 2).1
}

#[test]
fn pin_and_unpin_with_dry_run_yes_and_refusal() {
    let f = Fixture::new(3);
    let s = f.store.as_str();

    let dry = ok(&["pin", s, "1", "--dry-run"]);
    assert!(dry.contains("snapshot-1 checked"), "{dry}");
    assert!(
        dry.contains("will pin every consumer to version 1"),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing changed"), "{dry}");
    assert_eq!(f.pinned(), None);

    // The test's stdin is not a terminal: without --yes, refused.
    let err = fails(&["pin", s, "1"], EXIT_REFUSED);
    assert!(
        err.contains("stdin is not a terminal") && err.contains("--yes"),
        "{err}"
    );
    assert_eq!(f.pinned(), None);

    let done = ok(&["pin", s, "1", "--yes"]);
    assert!(done.contains("pinned to version 1"), "{done}");
    assert_eq!(f.pinned(), Some(1));
    assert_eq!(
        std::fs::read_to_string(f.path.join("pinned.version")).unwrap(),
        "1\n"
    );
    // Consumers go to the pinned version; the announcement stays.
    assert_eq!(f.consumer_loads(&f.catalogs[0]), 1);
    assert_eq!(f.announced(), Some(3));
    let j: Value = serde_json::from_str(&ok(&["versions", s, "--json"])).unwrap();
    assert_eq!(
        (j["pinned"].clone(), j["announced"].clone()),
        (json!(1), json!(3))
    );
    assert!(ok(&["versions", s]).contains("pinned: 1"));

    // Again: nothing to do.
    assert!(ok(&["pin", s, "1", "-y"]).contains("already pinned to 1"));
    // JSON: the plan and the result.
    let j: Value = serde_json::from_str(&ok(&["pin", s, "2", "--yes", "--json"])).unwrap();
    assert_eq!(j["command"], "pin");
    assert_eq!(j["plan"]["pinned"], json!(1));
    assert_eq!(j["result"]["pinned"], json!(2));
    assert_eq!(f.pinned(), Some(2));

    let dry = ok(&["unpin", s, "--dry-run"]);
    assert!(
        dry.contains("will unpin") && dry.contains("dry run"),
        "{dry}"
    );
    assert_eq!(f.pinned(), Some(2));
    fails(&["unpin", s], EXIT_REFUSED);
    assert!(ok(&["unpin", s, "--yes"]).contains("unpinned"));
    assert_eq!(f.pinned(), None);
    assert!(!f.path.join("pinned.version").exists());
    assert_eq!(f.consumer_loads(&f.catalogs[2]), 3);
    assert!(ok(&["unpin", s, "--yes"]).contains("not pinned: nothing to do"));
    // --dry-run and --yes together are a bad command line.
    let err = bad_usage(&["unpin", s, "--yes", "--dry-run"]);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// What `hollow` did with its stdin and stderr on a pseudo-terminal.
struct OnTerminal {
    /// The exit code.
    code: Option<i32>,
    /// What it wrote to the terminal (the prompt, the answer echoed, any
    /// error), line ends as `\n`.
    terminal: String,
    /// What it wrote to stdout (a pipe).
    stdout: String,
}

/// Runs `hollow args…` with stdin and stderr on a new pseudo-terminal,
/// waits for the `[y/N]` prompt, types `answer` and Enter, and waits for
/// the end. Gives up (failing the test) after 60 s without a prompt or an
/// end.
fn on_terminal(args: &[&str], answer: &str) -> OnTerminal {
    use nix::pty::{openpty, Winsize};
    use nix::sys::termios::Termios;
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let pty = openpty(None::<&Winsize>, None::<&Termios>).unwrap();
    let mut master = std::fs::File::from(pty.master);
    let slave = std::fs::File::from(pty.slave);
    let mut child = {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("hollow"));
        cmd.args(args)
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .stdout(Stdio::piped());
        cmd.spawn().unwrap()
        // The command, and with it this process's copies of the slave,
        // dropped here: reading the master ends when the child's end.
    };
    // The terminal's output, read on a thread until the slave is closed
    // (EIO on Linux).
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let limit = Duration::from_secs(60);
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("[y/N] ") {
        match rx.recv_timeout(limit) {
            Ok(chunk) => seen.extend(chunk),
            Err(e) => panic!(
                "hollow {args:?}: no [y/N] prompt on the terminal ({e}); it wrote {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    writeln!(master, "{answer}").unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let code = child.wait().unwrap().code();
    loop {
        match rx.recv_timeout(limit) {
            Ok(chunk) => seen.extend(chunk),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(e) => panic!("hollow {args:?}: its terminal output did not end ({e})"),
        }
    }
    OnTerminal {
        code,
        terminal: String::from_utf8_lossy(&seen).replace("\r\n", "\n"),
        stdout,
    }
}

#[test]
fn the_confirmation_on_a_terminal_names_the_change_and_applies_only_a_yes() {
    let f = Fixture::new(3);
    let s = f.store.as_str();
    let refused = Some(i32::from(EXIT_REFUSED));

    // No: refused, nothing changed, the prompt said what would happen.
    let no = on_terminal(&["pin", s, "1"], "n");
    assert_eq!(no.code, refused, "{}", no.terminal);
    assert!(
        no.terminal
            .contains("Pin every consumer of the store to version 1? [y/N] n\n"),
        "{}",
        no.terminal
    );
    assert!(
        no.terminal.contains("pin cancelled; nothing changed"),
        "{}",
        no.terminal
    );
    assert!(
        no.stdout.contains("will pin every consumer to version 1"),
        "{}",
        no.stdout
    );
    assert_eq!(f.pinned(), None);
    // An empty answer is the default, no.
    assert_eq!(on_terminal(&["pin", s, "1"], "").code, refused);
    assert_eq!(f.pinned(), None);

    // Yes: applied.
    let yes = on_terminal(&["pin", s, "1"], "y");
    assert_eq!(yes.code, Some(0), "{}", yes.terminal);
    assert!(yes.stdout.contains("pinned to version 1"), "{}", yes.stdout);
    assert_eq!(f.pinned(), Some(1));

    let no = on_terminal(&["unpin", s], "no");
    assert_eq!(no.code, refused, "{}", no.terminal);
    assert!(
        no.terminal.contains("Unpin the store's consumers? [y/N]"),
        "{}",
        no.terminal
    );
    assert_eq!(f.pinned(), Some(1));
    let yes = on_terminal(&["unpin", s], "YES");
    assert_eq!(yes.code, Some(0), "{}", yes.terminal);
    assert_eq!(f.pinned(), None);

    // A rollback: refused leaves the announcement, yes moves it.
    let no = on_terminal(&["announce", s, "2"], "n");
    assert_eq!(no.code, refused, "{}", no.terminal);
    assert!(
        no.terminal.contains("Announce version 2? [y/N]"),
        "{}",
        no.terminal
    );
    assert_eq!(f.announced(), Some(3));
    assert_eq!(on_terminal(&["announce", s, "2"], "y").code, Some(0));
    assert_eq!(f.announced(), Some(2));

    // Clean: the question counts the blobs; no deletes none.
    let before = f.blobs();
    let no = on_terminal(&["clean", s, "--keep", "1"], "n");
    assert_eq!(no.code, refused, "{}", no.terminal);
    assert!(
        no.terminal.contains("Delete ") && no.terminal.contains(" blobs? [y/N]"),
        "{}",
        no.terminal
    );
    assert_eq!(f.blobs(), before);
}

#[test]
fn announce_rolls_back_and_the_next_cycle_mints_above_every_version() {
    let f = Fixture::new(10);
    let s = f.store.as_str();
    let snapshot_8 = std::fs::read(f.path.join("snapshot-8")).unwrap();

    let dry = ok(&["announce", s, "7", "--dry-run"]);
    assert!(dry.contains("a rollback from 10"), "{dry}");
    assert!(dry.contains("version 11 or above"), "{dry}");
    assert_eq!(f.announced(), Some(10));
    fails(&["announce", s, "7"], EXIT_REFUSED);
    assert_eq!(f.announced(), Some(10));

    let done = ok(&["announce", s, "7", "--expect", "10", "--yes"]);
    assert!(done.contains("announced version 7 (was 10)"), "{done}");
    assert_eq!(f.announced(), Some(7));
    assert_eq!(f.consumer_loads(&f.catalogs[6]), 7);
    let j: Value = serde_json::from_str(&ok(&["versions", s, "--json"])).unwrap();
    assert_eq!(j["rolled_back"], json!(true));

    // The next producer (restarted: it restores the announced version)
    // publishes 11, leaving 8's blobs as they were.
    let mut p = producer(&f.path);
    let rt = dataset::runtime();
    assert_eq!(rt.block_on(p.restore_latest()).unwrap(), Some(7));
    let next = catalog(12, 11, 3);
    assert_eq!(rt.block_on(dataset::publish(&mut p, &next)), Some(11));
    assert_eq!(
        std::fs::read(f.path.join("snapshot-8")).unwrap(),
        snapshot_8
    );
    assert!(f.blobs().contains(&BlobName::Delta { from: 7, to: 11 }));
    assert_eq!(f.consumer_loads(&next), 11);
    let j: Value = serde_json::from_str(&ok(&["versions", s, "--json"])).unwrap();
    assert_eq!(j["announced"], json!(11));

    // Rolling forward to a version above is allowed too.
    assert!(ok(&["announce", s, "10", "--yes"]).contains("announced version 10 (was 11)"));
    assert_eq!(f.consumer_loads(&f.catalogs[9]), 10);
}

#[test]
fn announce_refuses_a_missing_or_incomplete_version() {
    let f = Fixture::new(4);
    let s = f.store.as_str();
    let err = fails(&["announce", s, "99", "--yes"], EXIT_REFUSED);
    assert!(
        err.contains("no version 99") && err.contains("1, 2, 3, 4"),
        "{err}"
    );
    let err = fails(&["pin", s, "99", "--dry-run"], EXIT_REFUSED);
    assert!(err.contains("no version 99"), "{err}");

    // A corrupt snapshot: refused, naming the blob.
    let snap = f.path.join("snapshot-2");
    let mut bytes = std::fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&snap, &bytes).unwrap();
    let err = fails(&["announce", s, "2", "--yes"], EXIT_REFUSED);
    assert!(
        err.contains("version 2") && err.contains("not complete"),
        "{err}"
    );
    assert!(err.contains("snapshot-2"), "{err}");
    fails(&["pin", s, "2", "--yes"], EXIT_REFUSED);
    assert_eq!((f.announced(), f.pinned()), (Some(4), None));

    // Without snapshots 2 and 3, version 3 is reached from snapshot 1 by
    // deltas.
    std::fs::remove_file(&snap).unwrap();
    std::fs::remove_file(f.path.join("snapshot-3")).unwrap();
    let dry = ok(&["announce", s, "3", "--dry-run"]);
    assert!(
        dry.contains("snapshot-1 and the deltas from it to 3 checked"),
        "{dry}"
    );
    // Without snapshot 1 nothing reaches 2 or 3: their deltas alone are
    // not a version consumers can load.
    std::fs::remove_file(f.path.join("snapshot-1")).unwrap();
    let err = fails(&["announce", s, "3", "--yes"], EXIT_REFUSED);
    assert!(
        err.contains("version 3") && err.contains("not complete"),
        "{err}"
    );
    assert_eq!(f.announced(), Some(4));
}

#[test]
fn a_producer_or_operator_changing_the_store_meanwhile_wins() {
    let f = Fixture::new(3);
    let s = f.store.as_str();
    let err = fails(
        &["announce", s, "1", "--expect", "2", "--yes"],
        EXIT_CONFLICT,
    );
    assert!(err.contains("is 3, not 2"), "{err}");
    assert_eq!(f.announced(), Some(3));

    // Planned (shown to the operator) while 3 is announced; a producer
    // announces 4 before the operator confirms: the announce fails and
    // does not overwrite 4.
    let store = Store::open(s).unwrap();
    let plan = admin::plan(
        &store,
        &AdminRequest::Announce {
            version: 1,
            expect: None,
        },
    )
    .unwrap();
    let mut p = producer(&f.path);
    let rt = dataset::runtime();
    rt.block_on(p.restore_latest()).unwrap();
    assert_eq!(
        rt.block_on(dataset::publish(&mut p, &catalog(12, 4, 3))),
        Some(4)
    );
    let e = admin::apply(&store, plan).unwrap_err();
    assert_eq!(e.code(), EXIT_CONFLICT, "{e}");
    assert!(
        e.to_string()
            .contains("another producer announced version 4"),
        "{e}"
    );
    assert_eq!(f.announced(), Some(4));

    // Two operators pinning: the second's plan saw no pin.
    let first = admin::plan(&store, &AdminRequest::Pin { version: 1 }).unwrap();
    let second = admin::plan(&store, &AdminRequest::Pin { version: 2 }).unwrap();
    admin::apply(&store, first).unwrap();
    let e = admin::apply(&store, second).unwrap_err();
    assert_eq!(e.code(), EXIT_CONFLICT, "{e}");
    assert!(e.to_string().contains("pinned to version 1"), "{e}");
    assert_eq!(f.pinned(), Some(1));

    // Pinned to 1, a clean keeping 1 version keeps what 1 needs: all.
    let clean = admin::plan(&store, &AdminRequest::Clean { keep: 1 }).unwrap();
    assert!(!clean.changes_anything(), "{}", clean.text);
    // A clean planned before another operator pins is refused, deleting
    // nothing.
    ok(&["unpin", s, "--yes"]);
    let before = f.blobs();
    let clean = admin::plan(&store, &AdminRequest::Clean { keep: 1 }).unwrap();
    assert!(clean.changes_anything(), "{}", clean.text);
    ok(&["pin", s, "3", "--yes"]);
    let e = admin::apply(&store, clean).unwrap_err();
    assert_eq!(e.code(), EXIT_CONFLICT, "{e}");
    assert_eq!(f.blobs(), before);
}

#[test]
fn clean_keeps_the_newest_versions() {
    let f = Fixture::new(6);
    let s = f.store.as_str();
    let before = f.blobs();
    let dry = ok(&["clean", s, "--keep", "2", "--dry-run"]);
    assert!(
        dry.contains("will delete") && dry.contains("snapshot-1"),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing changed"), "{dry}");
    assert_eq!(f.blobs(), before);
    fails(&["clean", s, "--keep", "2"], EXIT_REFUSED);
    assert_eq!(f.blobs(), before);
    let err = bad_usage(&["clean", s, "--keep", "0", "--yes"]);
    assert!(err.contains("--keep"), "{err}");

    let j: Value =
        serde_json::from_str(&ok(&["clean", s, "--keep", "2", "--yes", "--json"])).unwrap();
    assert_eq!(j["plan"]["retained"], json!([5, 6]));
    let deleted: Vec<&str> = j["result"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        deleted.contains(&"snapshot-4") && deleted.contains(&"delta-3-4"),
        "{deleted:?}"
    );
    let after = f.blobs();
    for v in [5, 6] {
        assert!(after.contains(&BlobName::Snapshot(v)), "{after:?}");
    }
    assert!(after.contains(&BlobName::Delta { from: 5, to: 6 }));
    assert!(!after.contains(&BlobName::Snapshot(4)));
    assert_eq!(f.consumer_loads(&f.catalogs[5]), 6);
    assert!(ok(&["clean", s, "--keep", "2", "--yes"]).contains("nothing to delete"));
    ok(&["verify", s, "--quick"]);
}

// ---- hollow serve --admin ----

struct Admin {
    f: Fixture,
    app: axum::Router,
    rt: tokio::runtime::Runtime,
}

const TOKEN: &str = "s3cr3t-token";

fn admin_site(enabled: bool) -> Admin {
    let f = Fixture::new(3);
    let config = enabled.then(|| hollow_cli::serve::admin::Config::new(TOKEN, &f.store).unwrap());
    let app = hollow_cli::serve::admin::with_admin(
        hollow_cli::serve::router(Store::open(&f.store).unwrap()),
        config,
    );
    Admin {
        f,
        app,
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
    }
}

impl Admin {
    fn post(&self, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut req = Request::post(path).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = req.body(Body::from(body.to_owned())).unwrap();
        let app = self.app.clone();
        self.rt.block_on(async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let v = serde_json::from_slice(&body)
                .unwrap_or_else(|_| json!({"text": String::from_utf8_lossy(&body)}));
            (status, v)
        })
    }
}

#[test]
fn serve_admin_endpoints_need_the_token() {
    let a = admin_site(true);
    for path in [
        "/admin/pin",
        "/admin/unpin",
        "/admin/announce",
        "/admin/clean",
    ] {
        let (status, v) = a.post(path, None, r#"{"version": 1, "keep": 1}"#);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {v}");
        let (status, v) = a.post(path, Some("wrong"), "{}");
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {v}");
        assert_eq!(v["error"], "wrong admin token");
    }
    assert_eq!((a.f.announced(), a.f.pinned()), (Some(3), None));

    let (status, v) = a.post(
        "/admin/pin",
        Some(TOKEN),
        r#"{"version": 1, "dry_run": true}"#,
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["dry_run"], json!(true));
    assert_eq!(v["plan"]["changes"], json!(true));
    assert_eq!(a.f.pinned(), None);
    let (status, v) = a.post("/admin/pin", Some(TOKEN), r#"{"version": 1}"#);
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["result"]["pinned"], json!(1));
    assert_eq!(a.f.pinned(), Some(1));
    let (status, v) = a.post("/admin/unpin", Some(TOKEN), "");
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(a.f.pinned(), None);

    let (status, v) = a.post("/admin/announce", Some(TOKEN), r#"{"version": 9}"#);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"].as_str().unwrap().contains("no version 9"), "{v}");
    let (status, v) = a.post(
        "/admin/announce",
        Some(TOKEN),
        r#"{"version": 2, "expect": 1}"#,
    );
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let (status, v) = a.post("/admin/announce", Some(TOKEN), r#"{"version": "2"}"#);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    let (status, v) = a.post(
        "/admin/announce",
        Some(TOKEN),
        r#"{"version": 2, "expect": 3}"#,
    );
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(a.f.announced(), Some(2));
    assert_eq!(a.f.consumer_loads(&a.f.catalogs[1]), 2);

    let (status, v) = a.post("/admin/clean", Some(TOKEN), r#"{"keep": 1}"#);
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(!a.f.blobs().contains(&BlobName::Snapshot(1)), "{v}");
}

#[test]
fn serve_admin_endpoints_do_not_exist_without_admin() {
    let a = admin_site(false);
    for path in [
        "/admin/pin",
        "/admin/unpin",
        "/admin/announce",
        "/admin/clean",
    ] {
        let (status, v) = a.post(path, Some(TOKEN), r#"{"version": 1}"#);
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {v}");
    }
    assert_eq!(a.f.pinned(), None);
    // `--admin` without a token refuses to start; a token in the
    // environment without --admin is unused (here the store is missing).
    let out = hollow()
        .args(["serve", &a.f.store, "--admin", "--port", "0"])
        .env_remove("HOLLOW_ADMIN_TOKEN")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("--admin needs a token"), "{err}");
    let out = hollow()
        .args(["serve", &a.f.store, "--admin", "--port", "0"])
        .env("HOLLOW_ADMIN_TOKEN", " ")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("token is empty"));
    let out = hollow()
        .args(["serve", "/no/such/store", "--port", "0"])
        .env("HOLLOW_ADMIN_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}
