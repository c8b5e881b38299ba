//! `hollow serve`, driven in process over HTTP (`tower::ServiceExt::oneshot`
//! on the router) on a store of three versions the test publishes: every
//! page and its JSON twin, lookups by key, ordinal, unique key and hash
//! index, paging, a diff's changed field, a key's history, a version
//! published while the explorer runs, every kind of bad request (a 4xx
//! naming what is wrong), and a record holding `<script>` shown as text.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use hollow_cli::store::Store;
use hollow_runtime::store::FileAnnouncer;
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::{dataset, Actor, Movie};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

const SCRIPT: &str = "<script>alert(1)</script>";

/// Publishes three versions; returns them.
///
/// v1: movies 0..30 (movie 9 titled [`SCRIPT`]), actors 0..3.
/// v2: movie 5 retitled, movie 7 removed, movie 100 added.
/// v3: movie 5's year changed.
fn produce(dir: &Path) -> [u64; 3] {
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    let mut producer = Producer::builder(store, announcer).build();
    let mut movies: Vec<Movie> = (0..30).map(|id| dataset::movie(id, 1)).collect();
    movies[9].title = SCRIPT.to_owned();
    let actors: Vec<Actor> = (0..3).map(|id| dataset::actor(id, 1)).collect();
    let mut versions = [0; 3];
    for (i, slot) in versions.iter_mut().enumerate() {
        if i == 1 {
            movies[5].title = "renamed five".to_owned();
            movies.retain(|m| m.id != 7);
            movies.push(dataset::movie(100, 2));
        }
        if i == 2 {
            movies[5].year = 1999;
        }
        let (ms, acts) = (movies.clone(), actors.clone());
        let out = rt
            .block_on(producer.run_cycle(|w| {
                ms.iter().try_for_each(|m| w.add(m))?;
                acts.iter().try_for_each(|a| w.add(a))
            }))
            .unwrap();
        *slot = out.version.expect("a new version");
    }
    versions
}

struct Site {
    _dir: tempfile::TempDir,
    app: Router,
    rt: tokio::runtime::Runtime,
    v: [u64; 3],
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let v = produce(dir.path());
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    Site {
        app: hollow_cli::serve::router(store),
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap(),
        _dir: dir,
        v,
    }
}

impl Site {
    /// GET `uri` once: status and body.
    fn get_once(&self, uri: &str) -> (StatusCode, String) {
        let req = Request::get(uri).body(Body::empty()).unwrap();
        let app = self.app.clone();
        self.rt.block_on(async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        })
    }

    /// GET `uri`, following "loading" pages (202) until the page is there.
    fn get(&self, uri: &str) -> (StatusCode, String) {
        let start = Instant::now();
        loop {
            let (status, body) = self.get_once(uri);
            if status != StatusCode::ACCEPTED {
                return (status, body);
            }
            assert!(body.contains("this page refreshes"), "{body}");
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{uri} never loaded"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A page that answers 200: its HTML.
    fn page(&self, uri: &str) -> String {
        let (status, body) = self.get(uri);
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        assert!(body.starts_with("<!DOCTYPE html>"), "{uri}: {body}");
        body
    }

    /// A JSON route that answers 200: its document.
    fn json(&self, uri: &str) -> Value {
        let (status, body) = self.get(uri);
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A request that fails with `status` (HTML and JSON both): the JSON
    /// error message.
    fn fails(&self, uri: &str, status: StatusCode) -> String {
        let (s, body) = self.get(uri);
        assert_eq!(s, status, "{uri}: {body}");
        let (s, api) = self.get(&format!("/api{uri}"));
        assert_eq!(s, status, "/api{uri}: {api}");
        let doc: Value = serde_json::from_str(&api).unwrap();
        assert_eq!(doc["status"], status.as_u16());
        let message = doc["error"].as_str().unwrap().to_owned();
        assert!(body.contains(&html_escape(&message)), "{uri}: {body}");
        message
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[test]
fn versions_version_and_schema_pages() {
    let s = site();
    let [v1, v2, v3] = s.v;
    let doc = s.json("/api/");
    assert_eq!(doc["announced"], v3);
    let listed: Vec<u64> = doc["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["version"].as_u64().unwrap())
        .collect();
    assert_eq!(listed, vec![v1, v2, v3]);
    let html = s.page("/");
    for v in [v1, v2, v3] {
        assert!(html.contains(&format!("href=\"/v/{v}\"")), "{html}");
    }
    assert!(
        html.contains(&format!("href=\"/diff/{v1}/{v2}\"")),
        "{html}"
    );

    let doc = s.json(&format!("/api/v/{v1}"));
    let movie = doc["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Movie")
        .unwrap()
        .clone();
    assert_eq!(movie["records"], 30);
    assert!(movie["bytes"].as_u64().unwrap() > 0);
    assert_eq!(doc["status"], "older");
    let html = s.page(&format!("/v/{v1}"));
    assert!(
        html.contains(&format!("href=\"/v/{v1}/types/Movie\"")),
        "{html}"
    );

    let doc = s.json(&format!("/api/v/{v2}/schema"));
    let capnp = doc["capnp"].as_str().unwrap();
    assert!(capnp.contains("struct Movie"), "{capnp}");
    let html = s.page(&format!("/v/{v2}/schema"));
    assert!(html.contains("struct Movie"), "{html}");
}

/// The ids of a page's records, in order.
fn record_ids(doc: &Value) -> Vec<u64> {
    doc["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["record"]["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn records_are_paged() {
    let s = site();
    let v1 = s.v[0];
    let doc = s.json(&format!("/api/v/{v1}/types/Movie?page=2&per_page=8"));
    assert_eq!(doc["total"], 30);
    assert_eq!(doc["pages"], 4);
    let ids = record_ids(&doc);
    assert_eq!(ids, (8..16).collect::<Vec<_>>());
    let last = s.json(&format!("/api/v/{v1}/types/Movie?page=4&per_page=8"));
    assert_eq!(last["records"].as_array().unwrap().len(), 6);
    let past = s.json(&format!("/api/v/{v1}/types/Movie?page=9&per_page=8"));
    assert_eq!(past["records"].as_array().unwrap().len(), 0);

    let html = s.page(&format!("/v/{v1}/types/Movie?page=2&per_page=8"));
    assert!(html.contains("page 2 of 4"), "{html}");
    assert!(html.contains("?page=3&amp;per_page=8"), "{html}");
    assert!(html.contains("?page=1&amp;per_page=8"), "{html}");
    assert!(html.contains("movie 15 take 1"), "{html}");
    assert!(!html.contains("movie 16 take 1"), "{html}");
}

#[test]
fn a_record_by_key_and_by_ordinal() {
    let s = site();
    let [v1, v2, _] = s.v;
    let doc = s.json(&format!("/api/v/{v2}/types/Movie/record?key=5"));
    assert_eq!(doc["record"]["title"], "renamed five");
    assert_eq!(doc["key"], 5);
    let o = doc["ordinal"].as_u64().unwrap();
    let by_ordinal = s.json(&format!("/api/v/{v2}/types/Movie/record?ordinal={o}"));
    assert_eq!(by_ordinal["record"], doc["record"]);
    let old = s.json(&format!("/api/v/{v1}/types/Movie/record?key=5"));
    assert_eq!(old["record"]["title"], "movie 5 take 1");

    let html = s.page(&format!("/v/{v2}/types/Movie/record?key=5"));
    assert!(html.contains("renamed five"), "{html}");
    // Lists shown as lists.
    let m100 = s.page(&format!("/v/{v2}/types/Movie/record?key=100"));
    assert!(m100.contains("<li>genre2</li>"), "{m100}");
    assert!(m100.contains("href=\"/history/Movie?key=100\""), "{m100}");
}

#[test]
fn a_record_holding_a_script_stays_text() {
    let s = site();
    let v1 = s.v[0];
    let doc = s.json(&format!("/api/v/{v1}/types/Movie/record?key=9"));
    assert_eq!(doc["record"]["title"], SCRIPT);
    for uri in [
        format!("/v/{v1}/types/Movie/record?key=9"),
        format!("/v/{v1}/types/Movie?per_page=20"),
    ] {
        let html = s.page(&uri);
        assert!(!html.contains(SCRIPT), "{uri}: {html}");
        assert!(html.contains(&html_escape(SCRIPT)), "{uri}: {html}");
    }
    // A key or type from the URL, echoed in an error, is escaped too.
    let (status, html) = s.get(&format!("/v/{v1}/types/%3Cscript%3E"));
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("<script>"), "{html}");
}

#[test]
fn a_diff_shows_the_changed_field() {
    let s = site();
    let [v1, v2, v3] = s.v;
    let doc = s.json(&format!("/api/diff/{v1}/{v2}?type=Movie"));
    assert!(doc["through"].as_str().unwrap().contains("delta"), "{doc}");
    let t = &doc["types"][0];
    assert_eq!(t["type"], "Movie");
    assert_eq!(t["added_total"], 1);
    assert_eq!(t["added"][0]["key"], 100);
    assert_eq!(t["removed"][0]["key"], 7);
    assert_eq!(t["modified"][0]["key"], 5);
    assert_eq!(t["modified"][0]["changes"][0]["path"], "title");
    assert_eq!(t["modified"][0]["changes"][0]["new"], "renamed five");

    let html = s.page(&format!("/diff/{v1}/{v2}"));
    assert!(html.contains("1 added, 1 removed, 1 modified"), "{html}");
    assert!(
        html.contains("<td class=\"new\">renamed five</td>"),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"old\">movie 5 take 1</td>"),
        "{html}"
    );

    // Two steps apart: composed along the deltas; one entry per page.
    let doc = s.json(&format!("/api/diff/{v1}/{v3}?type=Movie&per_page=1&page=1"));
    let t = &doc["types"][0];
    assert_eq!(t["modified_total"], 1);
    let paths: Vec<&str> = t["modified"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["title", "year"]);
    let page2 = s.json(&format!("/api/diff/{v1}/{v3}?type=Movie&per_page=1&page=2"));
    assert_eq!(page2["types"][0]["modified"].as_array().unwrap().len(), 0);
    assert_eq!(page2["types"][0]["modified_total"], 1);
}

#[test]
fn a_diff_s_pages_together_are_what_hollow_diff_prints() {
    let s = site();
    let [v1, _, v3] = s.v;
    let store = Store::open(s._dir.path().to_str().unwrap()).unwrap();
    // Both ways: the reverse diff is the same changes seen from v3.
    for (a, b) in [(v1, v3), (v3, v1)] {
        let mut out = Vec::new();
        hollow_cli::cmd::diff::run(&store, a, b, Some("Movie"), true, &mut out).unwrap();
        let whole: Value = serde_json::from_slice(&out).unwrap();
        let whole = &whole["types"][0];
        for list in ["added", "removed", "modified"] {
            let all = whole[list].as_array().unwrap();
            assert!(!all.is_empty(), "{a} → {b}: no {list} entries to page");
            let mut paged = Vec::new();
            for page in 1..=all.len() + 1 {
                let doc = s.json(&format!(
                    "/api/diff/{a}/{b}?type=Movie&per_page=1&page={page}"
                ));
                let t = &doc["types"][0];
                assert_eq!(t[format!("{list}_total")], all.len(), "{a} → {b}");
                paged.extend(t[list].as_array().unwrap().iter().cloned());
            }
            assert_eq!(&paged, all, "{a} → {b}: {list}");
        }
    }
}

#[test]
fn the_history_of_a_key() {
    let s = site();
    let [v1, v2, v3] = s.v;
    let doc = s.json("/api/history/Movie?key=5");
    let events: Vec<(u64, &str)> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["version"].as_u64().unwrap(), e["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        vec![(v1, "present"), (v2, "modified"), (v3, "modified")]
    );
    let html = s.page("/history/Movie?key=7");
    assert!(html.contains("removed"), "{html}");
    assert!(
        html.contains(&format!("href=\"/v/{v2}/types/Movie/record?key=7\"")),
        "{html}"
    );
}

#[test]
fn bad_requests_are_4xx_naming_what_is_wrong() {
    let s = site();
    let v1 = s.v[0];
    let nf = StatusCode::NOT_FOUND;
    let bad = StatusCode::BAD_REQUEST;
    let m = s.fails("/v/99/types/Movie", nf);
    assert!(m.contains("no version 99"), "{m}");
    let m = s.fails("/v/99", nf);
    assert!(m.contains("no version 99"), "{m}");
    let m = s.fails("/v/abc/schema", bad);
    assert!(m.contains("version \"abc\" is not a number"), "{m}");
    let m = s.fails(&format!("/v/{v1}/types/Film"), nf);
    assert!(
        m.contains("no record type Film") && m.contains("Movie"),
        "{m}"
    );
    let m = s.fails(&format!("/v/{v1}/types/Movie/record?key=abc"), bad);
    assert!(m.contains("abc"), "{m}");
    let m = s.fails(&format!("/v/{v1}/types/Movie/record?key=4242"), nf);
    assert!(m.contains("no Movie with primary key 4242"), "{m}");
    let m = s.fails(&format!("/v/{v1}/types/Movie/record?ordinal=9999"), nf);
    assert!(m.contains("no Movie record at ordinal 9999"), "{m}");
    let m = s.fails(&format!("/v/{v1}/types/Movie/record?ordinal=-1"), bad);
    assert!(m.contains("ordinal \"-1\""), "{m}");
    let m = s.fails(&format!("/v/{v1}/types/Movie/record"), bad);
    assert!(m.contains("?key=K or ?ordinal=N"), "{m}");
    for q in [
        "page=0",
        "page=x",
        "per_page=0",
        "per_page=100000",
        "page=-2",
    ] {
        let m = s.fails(&format!("/v/{v1}/types/Movie?{q}"), bad);
        assert!(m.contains("is not a number from 1 to"), "{q}: {m}");
    }
    let m = s.fails(&format!("/diff/{v1}/77"), nf);
    assert!(m.contains("no version 77"), "{m}");
    let m = s.fails(&format!("/diff/{v1}/{v1}?type=Nope"), nf);
    assert!(m.contains("no record type Nope"), "{m}");
    let m = s.fails("/history/Movie?key=4242", nf);
    assert!(m.contains("no Movie with primary key 4242"), "{m}");
    let m = s.fails("/history/Movie", bad);
    assert!(m.contains("?key=K"), "{m}");
    // Paths trying to climb out of the store name no file: a type name is
    // only ever looked up in the schema, an unknown path is no page.
    let m = s.fails(&format!("/v/{v1}/types/..%2F..%2Fetc%2Fpasswd"), nf);
    assert!(m.contains("no record type ../../etc/passwd"), "{m}");
    let m = s.fails("/v/..%2Fannounced.version/schema", bad);
    assert!(m.contains("is not a number"), "{m}");
    let (status, html) = s.get("/../../etc/passwd");
    assert_eq!(status, nf);
    assert!(html.contains("no page at /../../etc/passwd"), "{html}");
    let (status, api) = s.get("/api/../../etc/passwd");
    assert_eq!(status, nf);
    let doc: Value = serde_json::from_str(&api).unwrap();
    assert_eq!(
        doc["error"],
        "no page at /api/../../etc/passwd; the explorer starts at /"
    );
}

#[test]
fn a_version_loads_behind_a_loading_page() {
    let s = site();
    let v3 = s.v[2];
    let uri = format!("/v/{v3}/types/Actor");
    let (status, body) = s.get_once(&uri);
    // The first request starts the load: it answers 202 with a page that
    // refreshes itself, unless the load won the race.
    if status == StatusCode::ACCEPTED {
        assert!(body.contains(&format!("loading version {v3}")), "{body}");
        assert!(body.contains("<progress></progress>"), "{body}");
        assert!(body.contains("refreshes"), "{body}");
    } else {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let html = s.page(&uri);
    assert!(html.contains("actor 2 seed 1"), "{html}");
    // Loaded now: answered at once.
    let (status, _) = s.get_once(&uri);
    assert_eq!(status, StatusCode::OK);
    // The JSON API waits for a version instead of answering 202.
    let v1 = s.v[0];
    let (status, body) = s.get_once(&format!("/api/v/{v1}/types/Actor"));
    assert_eq!(status, StatusCode::OK, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["total"], 3);
}

/// Kills the server process when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_listens_on_localhost_and_prints_its_url() {
    use std::io::{BufRead, Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let [_, _, v3] = produce(dir.path());
    let mut child = Child(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("hollow"))
            .args(["serve", dir.path().to_str().unwrap(), "--port", "0"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    let addr = url
        .strip_prefix("http://")
        .and_then(|a| a.strip_suffix('/'))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    write!(
        conn,
        "GET /api/v/{v3} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains(&format!("\"version\":{v3}")), "{reply}");
}

/// A record with a set, written by the derive.
#[derive(hollow_runtime::Hollow, Clone, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Tagged {
    id: u64,
    tags: std::collections::BTreeSet<String>,
}

#[test]
fn sets_show_as_lists_and_their_changes_in_the_diff() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
    let tagged = |tags: &[&str]| Tagged {
        id: 1,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    };
    let versions = dataset::runtime().block_on(async {
        let mut p = Producer::builder(store, announcer)
            .record_type::<Tagged>()
            .build();
        let mut versions = Vec::new();
        for r in [tagged(&["b", "a"]), tagged(&["c", "b"])] {
            let out = p.run_cycle(|w| w.add(&r)).await.unwrap();
            versions.push(out.version.unwrap());
        }
        versions
    });
    let s = Site {
        app: hollow_cli::serve::router(Store::open(dir.path().to_str().unwrap()).unwrap()),
        rt: dataset::runtime(),
        _dir: dir,
        v: [versions[0], versions[1], versions[1]],
    };
    let (a, b) = (versions[0], versions[1]);
    let html = s.page(&format!("/v/{a}/types/Tagged/record?key=1"));
    assert!(
        html.contains("<ul class=\"rec\"><li>a</li><li>b</li></ul>"),
        "{html}"
    );
    let doc = s.json(&format!("/api/diff/{a}/{b}"));
    let modified = &doc["types"][0]["modified"][0];
    assert_eq!(modified["key"], 1);
    assert!(
        modified["changes"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("tags"),
        "{modified}"
    );
    let html = s.page(&format!("/diff/{a}/{b}"));
    assert!(html.contains("0 added, 0 removed, 1 modified"), "{html}");
    assert!(html.contains("class=\"new\""), "{html}");
}

#[test]
fn hash_index_queries_are_paged() {
    let s = site();
    let [v1, v2, v3] = s.v;
    let doc = s.json(&format!(
        "/api/v/{v3}/types/Movie/index?fields=year&key=1999"
    ));
    assert_eq!(doc["total"], 1);
    assert_eq!(doc["index"], "year");
    assert_eq!(doc["records"][0]["key"], 5);
    assert_eq!(doc["records"][0]["record"]["title"], "renamed five");
    // Movies 0..30 of v1 are all from 1901: 30 matches, paged by 8.
    let doc = s.json(&format!(
        "/api/v/{v1}/types/Movie/index?fields=year&key=1901&page=4&per_page=8"
    ));
    assert_eq!(doc["total"], 30);
    assert_eq!(doc["pages"], 4);
    let ids = record_ids(&doc);
    assert_eq!(ids, (24..30).collect::<Vec<_>>());
    // A list field: each element is indexed (movie 100 of v2 has genre2
    // and genre3; the others only genre1).
    let doc = s.json(&format!(
        "/api/v/{v2}/types/Movie/index?fields=genres&key=genre3"
    ));
    assert_eq!(doc["total"], 1);
    assert_eq!(doc["records"][0]["key"], 100);
    let none = s.json(&format!(
        "/api/v/{v2}/types/Movie/index?fields=genres&key=genre4"
    ));
    assert_eq!(none["total"], 0);

    // The version page has a form per index; the results page links on.
    let html = s.page(&format!("/v/{v1}"));
    assert!(
        html.contains(&format!("action=\"/v/{v1}/types/Movie/index\"")),
        "{html}"
    );
    assert!(
        html.contains("<input type=\"hidden\" name=\"fields\" value=\"genres\">"),
        "{html}"
    );
    let html = s.page(&format!(
        "/v/{v1}/types/Movie/index?fields=year&key=1901&per_page=8&page=2"
    ));
    assert!(html.contains("30 records · page 2 of 4"), "{html}");
    assert!(
        html.contains("index?fields=year&amp;key=1901&amp;page=3&amp;per_page=8"),
        "{html}"
    );
    assert!(html.contains("movie 8 take 1"), "{html}");
    assert!(!html.contains("movie 16 take 1"), "{html}");

    let bad = StatusCode::BAD_REQUEST;
    let m = s.fails(
        &format!("/v/{v1}/types/Movie/index?fields=title&key=x"),
        bad,
    );
    assert!(
        m.contains("Movie has no hash index \"title\"; its hash indexes are \"year\", \"genres\""),
        "{m}"
    );
    let m = s.fails(&format!("/v/{v1}/types/Actor/index?fields=id&key=1"), bad);
    assert!(m.contains("it declares no hash index"), "{m}");
    let m = s.fails(&format!("/v/{v1}/types/Movie/index?key=1"), bad);
    assert!(m.contains("?fields=F&key=K"), "{m}");
    let m = s.fails(
        &format!("/v/{v1}/types/Movie/index?fields=year&key=1&page=0"),
        bad,
    );
    assert!(m.contains("page=\"0\""), "{m}");
}

/// A record with a unique key (two fields) besides its primary key.
#[derive(hollow_runtime::Hollow, Clone, Debug, PartialEq)]
#[hollow(primary_key(id), unique(region, code))]
struct Sku {
    id: u64,
    region: String,
    code: u32,
    label: String,
}

#[test]
fn a_record_by_unique_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
    let skus: Vec<Sku> = (0..20)
        .map(|i| Sku {
            id: i,
            region: if i % 2 == 0 { "eu" } else { "us" }.to_owned(),
            code: 100 + i as u32 / 2,
            label: if i == 13 {
                SCRIPT.to_owned()
            } else {
                format!("sku {i}")
            },
        })
        .collect();
    let v = dataset::runtime().block_on(async {
        let mut p = Producer::builder(store, announcer)
            .record_type::<Sku>()
            .build();
        let out = p
            .run_cycle(|w| skus.iter().try_for_each(|r| w.add(r)))
            .await
            .unwrap();
        out.version.unwrap()
    });
    let s = Site {
        app: hollow_cli::serve::router(Store::open(dir.path().to_str().unwrap()).unwrap()),
        rt: dataset::runtime(),
        _dir: dir,
        v: [v, v, v],
    };
    let doc = s.json(&format!("/api/v/{v}"));
    assert_eq!(doc["types"][0]["unique_keys"][0], "region,code");
    let doc = s.json(&format!(
        "/api/v/{v}/types/Sku/record?unique=region,code&key=us,106"
    ));
    assert_eq!(doc["key"], 13);
    assert_eq!(doc["record"]["label"], SCRIPT);
    let same = s.json(&format!(
        "/api/v/{v}/types/Sku/record?unique=region,code&key=%5B%22us%22,106%5D"
    ));
    assert_eq!(same["ordinal"], doc["ordinal"]);

    let html = s.page(&format!("/v/{v}"));
    assert!(
        html.contains("<input type=\"hidden\" name=\"unique\" value=\"region,code\">"),
        "{html}"
    );
    let html = s.page(&format!(
        "/v/{v}/types/Sku/record?unique=region%2Ccode&key=us%2C106"
    ));
    assert!(html.contains(&html_escape(SCRIPT)), "{html}");
    assert!(!html.contains(SCRIPT), "{html}");

    let (nf, bad) = (StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST);
    let m = s.fails(
        &format!("/v/{v}/types/Sku/record?unique=region,code&key=us,999"),
        nf,
    );
    assert!(
        m.contains("no Sku with unique key region,code = us,999") && m.contains("20 records"),
        "{m}"
    );
    let m = s.fails(
        &format!("/v/{v}/types/Sku/record?unique=region,code&key=us"),
        bad,
    );
    assert!(
        m.contains("has 1 parts but the key \"region,code\" has 2 fields"),
        "{m}"
    );
    let m = s.fails(&format!("/v/{v}/types/Sku/record?unique=label&key=x"), bad);
    assert!(
        m.contains("Sku has no unique key \"label\"; its unique keys are \"region,code\""),
        "{m}"
    );
}

#[test]
fn a_version_published_while_serving_is_seen() {
    let s = site();
    let [_, _, v3] = s.v;
    assert_eq!(s.json("/api/")["announced"], v3);
    let html = s.page("/history/Movie?key=5");
    assert!(html.contains(&format!(">{v3}</a>")), "{html}");

    // A fourth version, published into the same directory.
    let dir = s._dir.path();
    let v4 = dataset::runtime().block_on(async {
        let store = Arc::new(FsBlobStore::new(dir).unwrap());
        let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
        let mut p = Producer::builder(store, announcer).build();
        p.restore_latest().await.unwrap();
        let mut movies: Vec<Movie> = (0..30).map(|id| dataset::movie(id, 1)).collect();
        movies[5].title = "fourth".to_owned();
        let out = p
            .run_cycle(|w| movies.iter().try_for_each(|m| w.add(m)))
            .await
            .unwrap();
        out.version.unwrap()
    });
    assert!(v4 > v3);
    let start = Instant::now();
    loop {
        let doc = s.json("/api/");
        if doc["announced"] == v4 && doc["versions"].as_array().unwrap().len() == 4 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{doc}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let doc = s.json(&format!("/api/v/{v4}/types/Movie/record?key=5"));
    assert_eq!(doc["record"]["title"], "fourth");
    // The history has the new version (it is computed again).
    let doc = s.json("/api/history/Movie?key=5");
    let last = doc["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["version"], v4, "{doc}");
    // Versions loaded before are still served.
    let doc = s.json(&format!("/api/v/{v3}/types/Movie/record?key=5"));
    assert_eq!(doc["record"]["year"], 1999);
}
