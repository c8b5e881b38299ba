//! `hollow serve`: a read-only web explorer over a store.
//!
//! [`router`] builds the whole site over an opened [`Store`]; [`run`] binds
//! it (127.0.0.1 by default) and serves until the process ends. Every page
//! is addressable by URL, so a link can be shared; every HTML page has the
//! same data as JSON under `/api` with the same path:
//!
//! | path | shows |
//! |---|---|
//! | `/` | the versions: announced, pinned, blobs and their sizes |
//! | `/v/{v}` | one version: header tags, record types with counts and bytes |
//! | `/v/{v}/schema` | the schema as `.capnp` text |
//! | `/v/{v}/types/{T}?page=&per_page=` | a type's records, paged |
//! | `/v/{v}/types/{T}/record?key=K` or `?ordinal=N` | one record |
//! | `/v/{v}/types/{T}/record?unique=F&key=K` | one record by its unique key `F` |
//! | `/v/{v}/types/{T}/index?fields=F&key=K&page=&per_page=` | the records hash index `F` finds for `K` |
//! | `/diff/{a}/{b}?type=&page=&per_page=` | what changed from `a` to `b` |
//! | `/history/{T}?key=K` | every version the record changed in |
//! | `/metrics` | the explorer's figures, Prometheus text (see [`metrics`]) |
//!
//! The data is what the commands print with `--json` (the same library
//! functions compute it). A page that needs a whole version loaded
//! (records, a record, an index query) answers `202` with a "loading
//! version N" page that refreshes itself until the version is loaded; a
//! diff, a history or an index query that takes longer than [`QUICK`]
//! answers the same way ("computing …", "looking up …"). The JSON API
//! waits instead. Up to [`LOADED_VERSIONS`] loaded versions and
//! [`KEPT_RESULTS`] computed diffs, histories and index answers (the
//! matching ordinals) are kept.
//!
//! Unique keys and hash indexes are the ones each type declares (the
//! version page has a form for each); a lookup scans the type's records
//! (see `find.rs`).
//!
//! Bad requests (an unknown version or type, a key that does not parse or
//! is not there, bad paging numbers, an unknown path) answer `400` or `404`
//! with a message naming what is wrong. Every value is HTML-escaped, and
//! pages fetch nothing from elsewhere (inline CSS only).
//!
//! New versions are seen without a restart: at most once per
//! [`RECHECK_AFTER`] a request reads the store's announcement again, and
//! when it names another version than before, the store's blobs are listed
//! again. Loaded versions and computed diffs stay valid (a version's blobs
//! never change); a history is computed again once there are new versions.
//!
//! With `--admin` (and a token), `POST /admin/…` runs the admin commands:
//! see [`admin`].

pub mod admin;
mod data;
mod find;
mod html;
pub mod metrics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use maud::Markup;
use serde_json::{json, Value};

use crate::error::CliError;
use crate::store::Store;
use crate::version::Loaded;

/// How many loaded versions the explorer keeps at once.
pub const LOADED_VERSIONS: usize = 4;
/// Records per page unless `per_page` says otherwise.
pub const DEFAULT_PER_PAGE: usize = 50;
/// The most records (or diff entries per list) one page may show.
pub const MAX_PER_PAGE: usize = 1000;
/// How long a page waits for a diff, a history or an index query before
/// it answers with a "computing" page that refreshes itself.
pub const QUICK: Duration = Duration::from_millis(300);
/// How many computed diffs, histories and index queries the explorer
/// keeps.
pub const KEPT_RESULTS: usize = 16;
/// How often, at most, the store's announcement is read again to see new
/// versions.
pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

/// A failed request: its HTTP status and a message naming what is wrong.
#[derive(Debug, Clone)]
pub struct ServeError {
    status: StatusCode,
    message: String,
}

impl ServeError {
    fn new(status: StatusCode, message: impl Into<String>) -> ServeError {
        ServeError {
            status,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> ServeError {
        ServeError::new(StatusCode::BAD_REQUEST, message)
    }
    fn not_found(message: impl Into<String>) -> ServeError {
        ServeError::new(StatusCode::NOT_FOUND, message)
    }
    fn internal(message: impl Into<String>) -> ServeError {
        ServeError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    /// A command's error. Requests are checked (version, type, key) before
    /// a command runs, so what is left is a record that is not there (404)
    /// or a store that cannot be read (500: the store's fault, not the
    /// request's).
    fn from_cli(e: CliError) -> ServeError {
        let message = e.to_string();
        if message.starts_with("no ") {
            ServeError::not_found(message)
        } else {
            ServeError::internal(message)
        }
    }
    fn not_found_cli(e: CliError) -> ServeError {
        ServeError::not_found(e.to_string())
    }
    fn from_dynamic(e: hollow_runtime::dynamic::DynamicError) -> ServeError {
        ServeError::internal(e.to_string())
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ServeError {}

/// A page of a list: 1-based page number and its size.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Paging {
    page: usize,
    per_page: usize,
}

impl Paging {
    /// `page` and `per_page` from the query, checked.
    fn parse(q: &HashMap<String, String>) -> Result<Paging, ServeError> {
        let number = |name: &str, default: usize, max: usize| -> Result<usize, ServeError> {
            let Some(text) = q.get(name) else {
                return Ok(default);
            };
            match text.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ServeError::bad_request(format!(
                    "{name}={text:?} is not a number from 1 to {max}"
                ))),
            }
        };
        Ok(Paging {
            page: number("page", 1, 1 << 32)?,
            per_page: number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)?,
        })
    }

    fn skip(self) -> usize {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// HTML pages or the JSON API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Html,
    Json,
}

/// A version being loaded, loaded, or failed to load.
enum Slot {
    Loading(Instant),
    Ready(Arc<Loaded>, Instant),
    Failed(ServeError),
}

/// The store, dropped off the async threads: it owns a runtime of its own,
/// which may not be dropped where a task runs.
struct Owned(Option<Store>);

impl std::ops::Deref for Owned {
    type Target = Store;
    fn deref(&self) -> &Store {
        // Some until dropped.
        self.0
            .as_ref()
            .expect("the store is there until the explorer is dropped")
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(store) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(store));
            }
        }
    }
}

/// The store as last listed, the announcement seen then, and when the
/// announcement was last read.
struct Listing {
    store: Arc<Owned>,
    /// `None` until first read.
    announced: Option<Option<u64>>,
    checked: Option<Instant>,
}

/// What a job computed: a diff ([`crate::cmd::diff::Diff`]), a history
/// or an index answer (a JSON document); each job's key says which.
type Answer = Arc<dyn std::any::Any + Send + Sync>;

/// A diff, history or index query being computed, or computed (kept until
/// [`KEPT_RESULTS`] newer ones push it out; a failure is given once).
enum Job {
    Running(Instant),
    Done(Result<Answer, ServeError>, Instant),
}

/// The explorer's state: the store and the versions loaded from it.
#[derive(Clone)]
struct App {
    listing: Arc<Mutex<Listing>>,
    loaded: Arc<Mutex<HashMap<u64, Slot>>>,
    metrics: metrics::ServeMetrics,
    jobs: Arc<Mutex<HashMap<String, Job>>>,
    /// Woken when a job ends or a version load ends, so a request waiting
    /// for one answers as soon as it is there.
    finished: Arc<tokio::sync::Notify>,
}

/// `m` locked. A panic while holding one of the explorer's locks leaves
/// its map consistent (each change is one insert or remove), so a poisoned
/// lock is used as it is.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A kept answer as the `T` its job's key promises.
fn downcast<T: Send + Sync + 'static>(
    key: &str,
    v: Answer,
) -> Result<Result<Arc<T>, Instant>, ServeError> {
    v.downcast::<T>()
        .map(Ok)
        .map_err(|_| ServeError::internal(format!("job {key} kept another kind of answer")))
}

impl App {
    /// An explorer over `store`, nothing loaded yet.
    fn new(store: Store) -> App {
        App {
            listing: Arc::new(Mutex::new(Listing {
                store: Arc::new(Owned(Some(store))),
                announced: None,
                checked: None,
            })),
            loaded: Arc::default(),
            metrics: metrics::ServeMetrics::new(),
            jobs: Arc::default(),
            finished: Arc::default(),
        }
    }

    /// Runs `job` on a blocking thread (the store does its I/O there).
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Store) -> Result<T, ServeError> + Send + 'static,
    ) -> Result<T, ServeError> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || job(&app.current()))
            .await
            .map_err(|e| ServeError::internal(format!("the request's worker failed: {e}")))?
    }

    /// The versions document, from the store with its announcement read
    /// again now (not at most once per [`RECHECK_AFTER`]): the versions
    /// page always lists the version it shows as announced.
    async fn versions(&self) -> Result<Value, ServeError> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            lock(&app.listing).checked = None;
            data::versions(&app.current())
        })
        .await
        .map_err(|e| ServeError::internal(format!("the request's worker failed: {e}")))?
    }

    /// The store, listed again first when its announcement has changed
    /// (read at most once per [`RECHECK_AFTER`]). Does I/O: call it on a
    /// blocking thread.
    fn current(&self) -> Arc<Owned> {
        let (store, seen) = {
            let mut l = lock(&self.listing);
            if l.checked.is_some_and(|t| t.elapsed() < RECHECK_AFTER) {
                return Arc::clone(&l.store);
            }
            l.checked = Some(Instant::now());
            (Arc::clone(&l.store), l.announced)
        };
        let announced = match store.announced() {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the announcement; keeping the blob list");
                return store;
            }
        };
        // First read: the list is as new as the store's opening; list
        // again only if it lacks the announced version.
        let unchanged = match seen {
            None => announced.is_none_or(|a| store.versions().contains(&a)),
            Some(seen) => seen == announced,
        };
        if unchanged {
            lock(&self.listing).announced = Some(announced);
            return store;
        }
        match store.relist() {
            Ok(fresh) => {
                tracing::info!(?announced, "announcement changed; blobs listed again");
                let fresh = Arc::new(Owned(Some(fresh)));
                let mut l = lock(&self.listing);
                l.store = Arc::clone(&fresh);
                l.announced = Some(announced);
                fresh
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the store again; keeping the blob list");
                store
            }
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        lock(&self.loaded)
    }

    /// The result of `work` under `key`: computed once and kept. When
    /// `wait` is false and it is not ready within [`QUICK`],
    /// `Ok(Err(started))` says since when it is being computed.
    async fn computed<T: Send + Sync + 'static>(
        &self,
        key: String,
        wait: bool,
        work: impl FnOnce(&Store) -> Result<T, ServeError> + Send + 'static,
    ) -> Result<Result<Arc<T>, Instant>, ServeError> {
        let mut work = Some(work);
        // The answer of the job this request started, handed over even if
        // newer jobs push it out of `jobs` (or another request takes its
        // error) before this request looks again.
        let mut mine: Option<Arc<OnceLock<Result<Answer, ServeError>>>> = None;
        let asked = Instant::now();
        loop {
            // Registered before the job is looked at, so an end between
            // the look and the wait still wakes this request.
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let started = {
                let mut jobs = lock(&self.jobs);
                match jobs.get_mut(&key) {
                    Some(Job::Done(Ok(v), used)) => {
                        *used = Instant::now();
                        return downcast(&key, Arc::clone(v));
                    }
                    Some(Job::Done(Err(e), _)) => {
                        let e = e.clone();
                        jobs.remove(&key);
                        return Err(e);
                    }
                    Some(Job::Running(t)) => *t,
                    None => {
                        if let Some(done) = mine.as_ref().and_then(|m| m.get()) {
                            return done.clone().and_then(|v| downcast(&key, v));
                        }
                        let now = Instant::now();
                        jobs.insert(key.clone(), Job::Running(now));
                        if let Some(w) = work.take() {
                            let cell = Arc::new(OnceLock::new());
                            mine = Some(Arc::clone(&cell));
                            self.start_job(key.clone(), cell, w);
                        }
                        now
                    }
                }
            };
            if wait {
                finished.await;
            } else {
                let left = QUICK.saturating_sub(asked.elapsed());
                if left.is_zero() || tokio::time::timeout(left, finished).await.is_err() {
                    return Ok(Err(started));
                }
            }
        }
    }

    /// Computes `work` on a blocking thread, then gives its answer to
    /// `mine` (the starting request's own cell) and keeps it under `key`.
    fn start_job<T: Send + Sync + 'static>(
        &self,
        key: String,
        mine: Arc<OnceLock<Result<Answer, ServeError>>>,
        work: impl FnOnce(&Store) -> Result<T, ServeError> + Send + 'static,
    ) {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let result = work(&app.current()).map(|x| Arc::new(x) as Answer);
            if let Err(e) = &result {
                tracing::warn!(job = %key, error = %e, "computing failed");
            }
            // Set before the answer is kept and waiters are woken.
            let _ = mine.set(result.clone());
            let mut jobs = lock(&app.jobs);
            jobs.insert(key, Job::Done(result, Instant::now()));
            let mut done: Vec<(Instant, String)> = jobs
                .iter()
                .filter_map(|(k, j)| match j {
                    Job::Done(_, used) => Some((*used, k.clone())),
                    Job::Running(_) => None,
                })
                .collect();
            done.sort();
            let excess = done.len().saturating_sub(KEPT_RESULTS);
            for (_, old) in done.into_iter().take(excess) {
                jobs.remove(&old);
            }
            drop(jobs);
            app.finished.notify_waiters();
        });
    }

    /// Version `v` loaded: at once if it is; else its loading is started
    /// and, when `wait` is false, `Ok(Err(started))` says since when it is
    /// loading.
    async fn version(
        &self,
        v: u64,
        wait: bool,
    ) -> Result<Result<Arc<Loaded>, Instant>, ServeError> {
        loop {
            let finished = self.finished.notified();
            tokio::pin!(finished);
            finished.as_mut().enable();
            let started = {
                let mut slots = self.slots();
                match slots.get_mut(&v) {
                    Some(Slot::Ready(l, used)) => {
                        *used = Instant::now();
                        return Ok(Ok(Arc::clone(l)));
                    }
                    Some(Slot::Failed(e)) => {
                        let e = e.clone();
                        slots.remove(&v);
                        return Err(e);
                    }
                    Some(Slot::Loading(t)) => *t,
                    None => {
                        let now = Instant::now();
                        slots.insert(v, Slot::Loading(now));
                        self.start_loading(v);
                        now
                    }
                }
            };
            if !wait {
                return Ok(Err(started));
            }
            finished.await;
        }
    }

    fn start_loading(&self, v: u64) {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _span = tracing::info_span!("load", version = v).entered();
            let started = Instant::now();
            let result = Loaded::load(&app.current(), v).and_then(|l| {
                // Checks the snapshot's checksum and sections once, so a
                // corrupt one fails here with its name.
                l.view()?;
                Ok(l)
            });
            let mut slots = app.slots();
            let loaded = result.is_ok();
            match result {
                Ok(l) => {
                    tracing::info!(version = v, "version loaded");
                    slots.insert(v, Slot::Ready(Arc::new(l), Instant::now()));
                    let mut ready: Vec<(Instant, u64)> = slots
                        .iter()
                        .filter_map(|(k, s)| match s {
                            Slot::Ready(_, used) => Some((*used, *k)),
                            _ => None,
                        })
                        .collect();
                    ready.sort();
                    while ready.len() > LOADED_VERSIONS {
                        let (_, old) = ready.remove(0);
                        slots.remove(&old);
                    }
                }
                Err(e) => {
                    tracing::warn!(version = v, error = %e, "version failed to load");
                    slots.insert(v, Slot::Failed(ServeError::from_cli(e)));
                }
            }
            let held = slots
                .values()
                .filter(|s| matches!(s, Slot::Ready(..)))
                .count();
            drop(slots);
            app.finished.notify_waiters();
            app.metrics.version_load(loaded, started.elapsed(), held);
        });
    }
}

/// The explorer over `store`: HTML pages, and the same data as JSON under
/// `/api` (see the [module docs](self) for the paths).
pub fn router(store: Store) -> Router {
    let app = App::new(store);
    Router::new()
        .merge(routes(Format::Html))
        .nest("/api", routes(Format::Json))
        // `/api` is the versions document; `/api/` too.
        .route(
            "/api/",
            get(|State(app): State<App>| async move {
                reply(Format::Json, app.versions().await, html::versions)
            }),
        )
        .route("/metrics", get(metrics::page))
        .fallback(|uri: Uri| async move {
            let path = uri.path();
            let f = if path == "/api" || path.starts_with("/api/") {
                Format::Json
            } else {
                Format::Html
            };
            reply(
                f,
                Err(ServeError::not_found(format!(
                    "no page at {path}; the explorer starts at /"
                ))),
                html::error,
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metrics::track,
        ))
        .with_state(app)
}

type Q = Query<HashMap<String, String>>;

fn routes(f: Format) -> Router<App> {
    Router::new()
        .route(
            "/",
            get(move |State(app): State<App>| async move {
                reply(f, app.versions().await, html::versions)
            }),
        )
        .route(
            "/v/{v}",
            get(move |State(app): State<App>, Path(v): Path<String>| async move {
                let r = match number(&v, "version") {
                    Ok(v) => app.blocking(move |s| data::version(s, v)).await,
                    Err(e) => Err(e),
                };
                reply(f, r, html::version)
            }),
        )
        .route(
            "/v/{v}/schema",
            get(move |State(app): State<App>, Path(v): Path<String>| async move {
                let r = match number(&v, "version") {
                    Ok(v) => app.blocking(move |s| data::schema(s, v)).await,
                    Err(e) => Err(e),
                };
                reply(f, r, html::schema)
            }),
        )
        .route(
            "/v/{v}/types/{t}",
            get(
                move |State(app): State<App>, Path((v, t)): Path<(String, String)>, Query(q): Q| async move {
                    records(app, f, &v, t, &q).await
                },
            ),
        )
        .route(
            "/v/{v}/types/{t}/record",
            get(
                move |State(app): State<App>, Path((v, t)): Path<(String, String)>, Query(q): Q| async move {
                    record(app, f, &v, t, &q).await
                },
            ),
        )
        .route(
            "/v/{v}/types/{t}/index",
            get(
                move |State(app): State<App>, Path((v, t)): Path<(String, String)>, Query(q): Q| async move {
                    index(app, f, &v, t, &q).await
                },
            ),
        )
        .route(
            "/diff/{a}/{b}",
            get(
                move |State(app): State<App>, Path((a, b)): Path<(String, String)>, Query(q): Q| async move {
                    diff(app, f, &a, &b, &q).await
                },
            ),
        )
        .route(
            "/history/{t}",
            get(
                move |State(app): State<App>, Path(t): Path<String>, Query(q): Q| async move {
                    history(app, f, t, &q).await
                },
            ),
        )
}

/// A path segment as a number.
fn number(text: &str, what: &str) -> Result<u64, ServeError> {
    text.parse()
        .map_err(|_| ServeError::bad_request(format!("{what} {text:?} is not a number")))
}

/// Version `v` of a request, checked and loaded, with the request's other
/// parsed part `rest`; or the response to give instead: the first error
/// (the version's, else `rest`'s), or the loading page while it loads.
async fn loaded<T: Send + 'static>(
    app: &App,
    f: Format,
    v: &str,
    rest: Result<T, ServeError>,
) -> Result<(u64, T, Arc<Loaded>), Response> {
    let checked = match (number(v, "version"), rest) {
        (Ok(v), Ok(rest)) => app
            .blocking(move |s| data::check_version(s, v))
            .await
            .map(|v| (v, rest)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let (v, rest) = checked.map_err(|e| reply(f, Err(e), html::error))?;
    match app.version(v, f == Format::Json).await {
        Ok(Ok(l)) => Ok((v, rest, l)),
        Ok(Err(started)) => Err(html::working(&format!("loading version {v}"), started)),
        Err(e) => Err(reply(f, Err(e), html::error)),
    }
}

/// A type's records, one page.
async fn records(app: App, f: Format, v: &str, t: String, q: &HashMap<String, String>) -> Response {
    // The version is checked here; the type once the version is loaded
    // (from its own schema: no second copy of its snapshot).
    let (v, paging, loaded) = match loaded(&app, f, v, Paging::parse(q)).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let r = app
        .blocking(move |_| data::records(&loaded, v, &t, paging))
        .await;
    reply(f, r, html::records)
}

/// One record, by `?key=`, `?ordinal=` or `?unique=&key=`.
async fn record(app: App, f: Format, v: &str, t: String, q: &HashMap<String, String>) -> Response {
    let target = match (q.get("key"), q.get("ordinal")) {
        (Some(k), None) => Ok(match q.get("unique") {
            Some(fields) => data::Target::Unique {
                fields: fields.clone(),
                value: k.clone(),
            },
            None => data::Target::Key(k.clone()),
        }),
        (None, Some(o)) => o.parse().map(data::Target::Ordinal).map_err(|_| {
            ServeError::bad_request(format!(
                "ordinal {o:?} is not a number from 0 to {}",
                u32::MAX
            ))
        }),
        (Some(_), Some(_)) => Err(ServeError::bad_request(
            "give ?key=K or ?ordinal=N, not both",
        )),
        (None, None) => Err(ServeError::bad_request("give ?key=K or ?ordinal=N")),
    };
    let (v, target, loaded) = match loaded(&app, f, v, target).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let r = app
        .blocking(move |_| data::record(&loaded, v, &t, &target))
        .await;
    reply(f, r, html::record)
}

/// The records hash index `?fields=` finds for `?key=`, one page.
async fn index(app: App, f: Format, v: &str, t: String, q: &HashMap<String, String>) -> Response {
    let query = match (q.get("fields"), q.get("key")) {
        (Some(fields), Some(k)) => Paging::parse(q).map(|p| (fields.clone(), k.clone(), p)),
        _ => Err(ServeError::bad_request(
            "give the hash index and the value to look up: ?fields=F&key=K",
        )),
    };
    let (v, (fields, k, paging), loaded) = match loaded(&app, f, v, query).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    // The matches are found once (a scan of the type) and kept; each
    // page then reads only its records.
    let key = format!("index {v} {t:?} {fields:?} {k:?}");
    let what = format!("looking up {t} by {fields} = {k} in version {v}");
    let work = {
        let (loaded, t, k) = (Arc::clone(&loaded), t.clone(), k.clone());
        move |_: &Store| data::index_matches(&loaded, v, &t, &fields, &k)
    };
    match app.computed(key, f == Format::Json, work).await {
        Ok(Ok(found)) => {
            let r = app
                .blocking(move |_| data::index_page(&loaded, v, &t, &found, &k, paging))
                .await;
            reply(f, r, html::matches)
        }
        Ok(Err(started)) => html::working(&what, started),
        Err(e) => reply(f, Err(e), html::error),
    }
}

/// What changed from version `a` to `b`, one page; a "computing" page
/// while the diff takes long.
async fn diff(app: App, f: Format, a: &str, b: &str, q: &HashMap<String, String>) -> Response {
    let (a, b, paging) = match (number(a, "version"), number(b, "version"), Paging::parse(q)) {
        (Ok(a), Ok(b), Ok(p)) => (a, b, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return reply(f, Err(e), html::error),
    };
    let only = q.get("type").filter(|t| !t.is_empty()).cloned();
    let key = format!("diff {a} {b} {only:?}");
    let work = move |s: &Store| data::diff(s, a, b, only.as_deref());
    match app.computed(key, f == Format::Json, work).await {
        Ok(Ok(d)) => reply(f, data::diff_page(&d, paging), html::diff),
        Ok(Err(started)) => html::working(
            &format!("computing the diff of versions {a} → {b}"),
            started,
        ),
        Err(e) => reply(f, Err(e), html::error),
    }
}

/// Every version the record of type `t` with `?key=` changed in; a
/// "computing" page while that takes long.
async fn history(app: App, f: Format, t: String, q: &HashMap<String, String>) -> Response {
    let Some(k) = q.get("key").cloned() else {
        let e = ServeError::bad_request("give the record's primary key: ?key=K");
        return reply(f, Err(e), html::error);
    };
    // New versions make a new history: the newest version is in the key.
    let newest = match app.blocking(|s| Ok(s.versions().last().copied())).await {
        Ok(n) => n,
        Err(e) => return reply(f, Err(e), html::error),
    };
    let key = format!("history {t:?} {k:?} {newest:?}");
    let what = format!("computing the history of {t} {k}");
    let work = move |s: &Store| data::history(s, &t, &k);
    match app.computed(key, f == Format::Json, work).await {
        Ok(Ok(doc)) => reply(f, Ok((*doc).clone()), html::history),
        Ok(Err(started)) => html::working(&what, started),
        Err(e) => reply(f, Err(e), html::error),
    }
}

/// The response: the JSON document, or the page `render` makes of it; an
/// error as `{"error", "status"}` or an error page.
fn reply(f: Format, r: Result<Value, ServeError>, render: fn(&Value) -> Markup) -> Response {
    match (f, r) {
        (Format::Json, Ok(v)) => Json(v).into_response(),
        (Format::Html, Ok(v)) => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            render(&v),
        )
            .into_response(),
        (Format::Json, Err(e)) => (
            e.status,
            Json(json!({"error": e.message, "status": e.status.as_u16()})),
        )
            .into_response(),
        (Format::Html, Err(e)) => (e.status, html::error_page(&e)).into_response(),
    }
}

/// Where and how to serve.
#[derive(Clone, Debug)]
pub struct Options {
    /// The address to bind (127.0.0.1 by default: only this machine).
    pub bind: std::net::IpAddr,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// The admin endpoints, when enabled (see [`admin`]).
    pub admin: Option<admin::Config>,
}

/// Serves the explorer over `store` until the process ends, after writing
/// the URL it listens on to `out` (one line).
///
/// # Errors
/// The address cannot be bound, or the server fails.
pub fn run(store: Store, options: &Options, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the server's runtime: {e}")))?;
    let addr = SocketAddr::new(options.bind, options.port);
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|e| CliError::new(format!("cannot listen on {addr}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| CliError::new(format!("cannot read the bound address: {e}")))?;
    writeln!(out, "serving {} on http://{local}/", store.describe())
        .and_then(|()| out.flush())
        .map_err(crate::error::output)?;
    let app = admin::with_admin(router(store), options.admin.clone());
    rt.block_on(async move { axum::serve(listener, app).await })
        .map_err(|e| CliError::new(format!("the server on {local} failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An explorer over a store of one (unreadable) blob: enough for what
    /// does not read blobs.
    fn app(dir: &std::path::Path) -> App {
        std::fs::write(dir.join("snapshot-1"), b"not read here").unwrap();
        let store = Store::open(dir.to_str().unwrap()).unwrap();
        App::new(store)
    }

    #[test]
    fn a_slow_result_shows_a_computing_page_then_the_result() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let slow = |_: &Store| {
                std::thread::sleep(QUICK * 3);
                Ok(json!({"done": true}))
            };
            let first = app.computed("k".to_owned(), false, slow).await.unwrap();
            let started = first.expect_err("a slow result is not ready at once");
            let page = html::working("computing k", started);
            assert_eq!(page.status(), StatusCode::ACCEPTED);
            assert_eq!(page.headers()["refresh"], "1");
            let body = http_body_util::BodyExt::collect(page.into_body())
                .await
                .unwrap()
                .to_bytes();
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(text.contains("<h1>Computing k…</h1>"), "{text}");
            assert!(text.contains("<progress></progress>"), "{text}");
            assert!(text.contains("<p>computing k for "), "{text}");
            assert!(
                text.contains(" s; this page refreshes when it is ready"),
                "{text}"
            );
            // Asked again (the page refreshing): the same job, not a new one.
            let never = |_: &Store| -> Result<Value, ServeError> { panic!("computed twice") };
            let done = app.computed("k".to_owned(), true, never).await.unwrap();
            assert_eq!(*done.unwrap(), json!({"done": true}));
            // Kept: answered at once now.
            let again = app.computed("k".to_owned(), false, never).await.unwrap();
            assert_eq!(*again.unwrap(), json!({"done": true}));
        });
    }

    #[test]
    fn a_failure_is_given_once_then_computed_again() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let fails = |_: &Store| Err::<Value, _>(ServeError::internal("the store went away"));
            let e = app.computed("k".to_owned(), true, fails).await.unwrap_err();
            assert_eq!(e.message(), "the store went away");
            let works = |_: &Store| Ok(json!(1));
            let v = app.computed("k".to_owned(), true, works).await.unwrap();
            assert_eq!(*v.unwrap(), json!(1));
        });
    }

    #[test]
    fn an_answer_pushed_out_before_its_request_looks_is_still_given_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let jobs = Arc::clone(&app.jobs);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let v = rt.block_on(async {
            // While "k" computes, more answers than are kept end, all
            // newer than "k"'s will be: "k"'s is pushed out as soon as it
            // is kept, before the waiting request looks again.
            let work = move |_: &Store| {
                let later = Instant::now() + Duration::from_secs(3600);
                let mut jobs = lock(&jobs);
                for i in 0..KEPT_RESULTS {
                    let answer: Answer = Arc::new(json!(i));
                    jobs.insert(format!("newer{i}"), Job::Done(Ok(answer), later));
                }
                Ok(json!("k's answer"))
            };
            let wait = app.computed("k".to_owned(), true, work);
            tokio::time::timeout(Duration::from_secs(30), wait)
                .await
                .expect("the request waits for an answer that is gone")
        });
        assert_eq!(*v.unwrap().unwrap(), json!("k's answer"));
        assert!(
            !lock(&app.jobs).contains_key("k"),
            "k's answer was pushed out"
        );
    }

    #[test]
    fn only_the_newest_results_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            for i in 0..KEPT_RESULTS + 3 {
                let v = app
                    .computed(format!("k{i}"), true, move |_: &Store| Ok(json!(i)))
                    .await
                    .unwrap();
                assert_eq!(*v.unwrap(), json!(i));
            }
        });
        let jobs = lock(&app.jobs);
        assert_eq!(jobs.len(), KEPT_RESULTS);
        assert!(!jobs.contains_key("k0") && jobs.contains_key(&format!("k{}", KEPT_RESULTS + 2)));
    }
}
