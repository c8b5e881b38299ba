//! `hollow serve` in a real browser: headless Chromium, driven over
//! WebDriver (Debian's `chromedriver`, with `fantoccini`), opens the
//! explorer the `hollow` binary serves over a store this test publishes,
//! and checks what the pages show: a record looked up by typing its key
//! into a form, hash-index queries from their forms, a diff with its
//! changed field highlighted, a type paged through, a key's history
//! followed by its links, a record holding `<script>` shown as text, and a
//! version published while the explorer runs appearing on reload.
//!
//! Chromium and its driver are Debian's packages `chromium` and
//! `chromium-driver`. `.ci/run` installs them; run without it, this test
//! installs them (`apt-get`) when they are missing, and fails, saying what
//! to install, when it cannot. Nothing downloads a browser of its own.
//!
//! One browser session serves every step (starting Chromium is most of
//! the suite's time). The driver, the browser it starts and the explorer
//! are in process groups of their own that are killed when the test ends,
//! however it ends.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hollow_runtime::store::FileAnnouncer;
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::{dataset, Actor, Movie};

const SCRIPT: &str = "<script>alert(1)</script>";

/// The Debian packages this test needs, and the programs they install.
const PACKAGES: &str = "chromium chromium-driver";
const BROWSER: &str = "chromium";
const DRIVER: &str = "chromedriver";

/// How long a page may take to show what a step waits for.
const PAGE_WAIT: Duration = Duration::from_secs(30);

/// `name` on `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The browser and driver programs, installed with `apt-get` when missing.
///
/// # Panics
/// They are missing and cannot be installed (not root, no network): the
/// message says what to install.
fn browser_and_driver() -> (PathBuf, PathBuf) {
    if let (Some(b), Some(d)) = (on_path(BROWSER), on_path(DRIVER)) {
        return (b, d);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let help = format!(
        "the browser tests need Debian's {PACKAGES} (the programs {BROWSER} and {DRIVER} \
         on PATH): install them with `apt-get install -y {PACKAGES}`"
    );
    assert!(root, "{help}; this test is not root, so it cannot");
    for args in [
        &["update", "-qq"][..],
        &["install", "-y", "-qq", "chromium", "chromium-driver"][..],
    ] {
        let out = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .unwrap_or_else(|e| panic!("{help}; running apt-get failed: {e}"));
        assert!(
            out.status.success(),
            "{help}; `apt-get {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    match (on_path(BROWSER), on_path(DRIVER)) {
        (Some(b), Some(d)) => (b, d),
        _ => panic!("{help}; apt-get installed them, yet they are not on PATH"),
    }
}

/// A process started in a process group of its own, which is killed (the
/// process and whatever it started: the driver's browser) when this is
/// dropped.
struct Group(std::process::Child);

impl Group {
    fn spawn(cmd: &mut Command) -> Group {
        Group(
            cmd.process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}")),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1 (free when asked; the driver takes it next).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Publishes four versions; returns them.
///
/// v1: movies 0..120 (movie 9 titled [`SCRIPT`]), actors 0..3.
/// v2: movie 5 retitled, movie 7 removed, movie 200 added.
/// v3: movie 5's year changed. v4: actor 1 renamed.
fn produce(dir: &Path) -> [u64; 4] {
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    let mut producer = Producer::builder(store, announcer).build();
    let mut movies: Vec<Movie> = (0..120).map(|id| dataset::movie(id, 1)).collect();
    movies[9].title = SCRIPT.to_owned();
    let mut actors: Vec<Actor> = (0..3).map(|id| dataset::actor(id, 1)).collect();
    let mut versions = [0; 4];
    for (i, slot) in versions.iter_mut().enumerate() {
        match i {
            1 => {
                movies[5].title = "renamed five".to_owned();
                movies.retain(|m| m.id != 7);
                movies.push(dataset::movie(200, 2));
            }
            2 => movies[5].year = 1999,
            3 => actors[1].name = "renamed actor".to_owned(),
            _ => {}
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

/// The explorer (`hollow serve DIR --port 0`): its process and base URL.
fn serve(dir: &Path) -> (Group, String) {
    let mut server = Group::spawn(
        Command::new(env!("CARGO_BIN_EXE_hollow"))
            .args(["serve", dir.to_str().unwrap(), "--port", "0"])
            .stdout(Stdio::piped()),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("the explorer printed {line:?}, not its URL"))
        .trim_end_matches('/')
        .to_owned();
    (server, url)
}

/// The driver on a free port, and a headless browser session from it.
async fn browser(browser: &Path, driver: &Path) -> (Group, Client) {
    let port = free_port();
    let driver = Group::spawn(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{DRIVER} did not listen on port {port} within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        serde_json::json!({
            "binary": browser,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1200,900"],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap_or_else(|e| panic!("no browser session from {DRIVER}: {e}"));
    (driver, client)
}

/// The browser session and the explorer's URL.
struct Page {
    c: Client,
    base: String,
}

impl Page {
    async fn goto(&self, path: &str) {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    /// Waits until the page's heading contains `text` (a loading page
    /// refreshes itself until then); returns the page's visible text.
    async fn wait_heading(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let h1 = match self.c.find(Locator::Css("h1")).await {
                Ok(h) => h.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if h1.contains(text) {
                return self.text().await;
            }
            assert!(
                start.elapsed() < PAGE_WAIT,
                "the page never showed a heading with {text:?}; it shows {h1:?}: {}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The page's visible text.
    async fn text(&self) -> String {
        match self.c.find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(e) => format!("(no body: {e})"),
        }
    }

    async fn click_link(&self, text: &str) {
        match self.c.find(Locator::LinkText(text)).await {
            Ok(link) => link.click().await.unwrap(),
            Err(e) => panic!("no link {text:?}: {e}: {}", self.text().await),
        }
    }

    /// The visible texts of the elements `xpath` selects.
    async fn texts(&self, xpath: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.c.find_all(Locator::XPath(xpath)).await.unwrap() {
            out.push(e.text().await.unwrap());
        }
        out
    }
}

/// Types `key` into the form `xpath` selects and submits it.
async fn submit(p: &Page, xpath: &str, key: &str) {
    let form = match p.c.find(Locator::XPath(xpath)).await {
        Ok(f) => f,
        Err(e) => panic!("no form {xpath}: {e}: {}", p.text().await),
    };
    form.find(Locator::Css("input[name=key]"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
    form.find(Locator::Css("button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Publishes one more version into `dir` (movie 5 retitled "fifth
/// version"); returns it.
fn publish_more(dir: &Path) -> u64 {
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    let mut producer = Producer::builder(store, announcer).build();
    rt.block_on(producer.restore_latest()).unwrap();
    let mut movies: Vec<Movie> = (0..120).map(|id| dataset::movie(id, 1)).collect();
    movies[5].title = "fifth version".to_owned();
    rt.block_on(producer.run_cycle(|w| movies.iter().try_for_each(|m| w.add(m))))
        .unwrap()
        .version
        .expect("a new version")
}

/// The steps, in one browser session.
async fn explore(p: &Page, v: [u64; 4]) {
    let [v1, v2, v3, v4] = v;

    // The versions page links every version.
    p.goto("/").await;
    let text = p.wait_heading("Versions").await;
    assert!(text.contains(&format!("announced: {v4}")), "{text}");

    // A record by key: open version 3, type 5 into Movie's form, submit.
    p.click_link(&v3.to_string()).await;
    p.wait_heading(&format!("Version {v3}")).await;
    submit(
        p,
        &format!("//form[@action='/v/{v3}/types/Movie/record']"),
        "5",
    )
    .await;
    let text = p.wait_heading(&format!("in version {v3}")).await;
    assert!(text.contains("renamed five"), "{text}");
    assert!(text.contains("1999"), "{text}");
    assert!(text.contains("primary key 5"), "{text}");

    // A hash index query: every movie of 1999 in version 3, from the
    // version page's form for Movie's index on `year`.
    p.goto(&format!("/v/{v3}")).await;
    p.wait_heading(&format!("Version {v3}")).await;
    submit(p, "//tr[td[1]='Movie'][td[3]='year']//form", "1999").await;
    let text = p
        .wait_heading(&format!("Movie with year = 1999 in version {v3}"))
        .await;
    assert!(text.contains("1 records · page 1 of 1"), "{text}");
    assert!(text.contains("renamed five"), "{text}");
    // And by genre, a list field: movie 200 alone has genre3.
    p.goto(&format!("/v/{v3}")).await;
    p.wait_heading(&format!("Version {v3}")).await;
    submit(p, "//tr[td[1]='Movie'][td[3]='genres']//form", "genre3").await;
    let text = p.wait_heading("Movie with genres = genre3").await;
    assert!(text.contains("1 records"), "{text}");
    assert!(text.contains("movie 200 take 2"), "{text}");

    // Back to movie 5 in version 3, then its history, by the record
    // page's link: one row per version it changed in.
    p.goto(&format!("/v/{v3}/types/Movie/record?key=5")).await;
    p.wait_heading(&format!("in version {v3}")).await;
    p.click_link("history").await;
    p.wait_heading("History of Movie 5").await;
    let events = p.texts("/html/body/table/tbody/tr/td[2]").await;
    assert_eq!(events, ["present", "modified", "modified"]);
    // Follow it back to the record as it was in version 2.
    p.click_link(&v2.to_string()).await;
    let text = p.wait_heading(&format!("in version {v2}")).await;
    assert!(text.contains("renamed five"), "{text}");
    assert!(!text.contains("1999"), "{text}");

    // A diff, from the versions page's delta link: the changed field is
    // highlighted, old and new.
    p.goto("/").await;
    p.wait_heading("Versions").await;
    p.click_link(&format!("from {v1}")).await;
    let text = p.wait_heading(&format!("Diff {v1} → {v2}")).await;
    assert!(text.contains("1 added, 1 removed, 1 modified"), "{text}");
    let row =
        p.c.find(Locator::XPath("//tr[@class='changed'][td[1]='title']"))
            .await
            .unwrap_or_else(|e| panic!("no changed title row: {e}: {text}"));
    let old = row.find(Locator::Css("td.old")).await.unwrap();
    let new = row.find(Locator::Css("td.new")).await.unwrap();
    assert_eq!(old.text().await.unwrap(), "movie 5 take 1");
    assert_eq!(new.text().await.unwrap(), "renamed five");
    assert_eq!(
        new.css_value("background-color").await.unwrap(),
        "rgba(221, 255, 221, 1)"
    );
    assert_eq!(
        old.css_value("background-color").await.unwrap(),
        "rgba(255, 221, 221, 1)"
    );

    // A type paged through by its "next" and "previous" links.
    p.goto(&format!("/v/{v1}/types/Movie?per_page=50")).await;
    let text = p.wait_heading(&format!("Movie in version {v1}")).await;
    assert!(text.contains("120 records · page 1 of 3"), "{text}");
    p.click_link("next").await;
    let text = p.wait_heading(&format!("Movie in version {v1}")).await;
    assert!(text.contains("page 2 of 3"), "{text}");
    let ordinals = p.texts("/html/body/table/tbody/tr/td[1]").await;
    assert_eq!(ordinals.first().map(String::as_str), Some("50"), "{text}");
    assert_eq!(ordinals.len(), 50, "{text}");
    p.click_link("next").await;
    let text = p.wait_heading(&format!("Movie in version {v1}")).await;
    assert!(text.contains("page 3 of 3"), "{text}");
    assert!(p.c.find(Locator::LinkText("next")).await.is_err(), "{text}");
    p.click_link("previous").await;
    let text = p.wait_heading(&format!("Movie in version {v1}")).await;
    assert!(text.contains("page 2 of 3"), "{text}");

    // A record holding `<script>` shows it as text and runs nothing.
    p.goto(&format!("/v/{v1}/types/Movie/record?key=9")).await;
    let text = p.wait_heading(&format!("in version {v1}")).await;
    assert!(text.contains(SCRIPT), "{text}");
    assert!(p.c.get_alert_text().await.is_err(), "an alert opened");
    let scripts = p.c.find_all(Locator::Css("script")).await.unwrap();
    assert!(scripts.is_empty(), "the page has a script element");
}

/// A version published while the explorer runs shows on the versions
/// page (reloaded until it does), and its records open.
async fn a_new_version(p: &Page, dir: PathBuf, before: u64) {
    let v5 = tokio::task::spawn_blocking(move || publish_more(&dir))
        .await
        .unwrap();
    assert!(v5 > before);
    let start = Instant::now();
    loop {
        p.goto("/").await;
        let text = p.wait_heading("Versions").await;
        if text.contains(&format!("announced: {v5}")) {
            break;
        }
        assert!(
            start.elapsed() < PAGE_WAIT,
            "version {v5} never showed: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    p.click_link(&v5.to_string()).await;
    p.wait_heading(&format!("Version {v5}")).await;
    p.goto(&format!("/v/{v5}/types/Movie/record?key=5")).await;
    let text = p.wait_heading(&format!("in version {v5}")).await;
    assert!(text.contains("fifth version"), "{text}");
}

#[test]
fn the_explorer_in_a_browser() {
    let (browser_bin, driver_bin) = browser_and_driver();
    let dir = tempfile::tempdir().unwrap();
    let v = produce(dir.path());
    let (_server, base) = serve(dir.path());
    let rt = dataset::runtime();
    rt.block_on(async {
        let (_driver, c) = browser(&browser_bin, &driver_bin).await;
        let page = Page { c, base };
        // Run the steps in a task so that a failed step still ends the
        // session below before the panic is passed on.
        let steps = tokio::spawn({
            let page = Page {
                c: page.c.clone(),
                base: page.base.clone(),
            };
            let dir = dir.path().to_owned();
            async move {
                explore(&page, v).await;
                a_new_version(&page, dir, v[3]).await;
            }
        });
        let result = steps.await;
        let _ = page.c.close().await;
        if let Err(e) = result {
            std::panic::resume_unwind(e.into_panic());
        }
    });
}
