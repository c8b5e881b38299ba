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
//! | `/diff/{a}/{b}?type=&page=&per_page=` | what changed from `a` to `b` |
//! | `/history/{T}?key=K` | every version the record changed in |
//! | `/metrics` | the explorer's figures, Prometheus text (see [`metrics`]) |
//!
//! The data is what the commands print with `--json` (the same library
//! functions compute it). A page that needs a whole version loaded
//! (records, a record) answers `202` with a "loading version N" page that
//! refreshes itself until the version is loaded; the JSON API waits for it
//! instead. Up to [`LOADED_VERSIONS`] loaded versions are kept.
//!
//! Bad requests (an unknown version or type, a key that does not parse or
//! is not there, bad paging numbers, an unknown path) answer `400` or `404`
//! with a message naming what is wrong. Every value is HTML-escaped, and
//! pages fetch nothing from elsewhere (inline CSS only). The blob list is
//! the one read when the store was opened.
//!
//! With `--admin` (and a token), `POST /admin/…` runs the admin commands:
//! see [`admin`].

pub mod admin;
mod data;
mod html;
pub mod metrics;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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

/// The explorer's state: the store and the versions loaded from it.
#[derive(Clone)]
struct App {
    store: Arc<Owned>,
    loaded: Arc<Mutex<HashMap<u64, Slot>>>,
    metrics: metrics::ServeMetrics,
}

impl App {
    /// Runs `job` on a blocking thread (the store does its I/O there).
    async fn blocking<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Store) -> Result<T, ServeError> + Send + 'static,
    ) -> Result<T, ServeError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || job(&store))
            .await
            .map_err(|e| ServeError::internal(format!("the request's worker failed: {e}")))?
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Slot>> {
        // A panic while holding the lock leaves the map consistent (each
        // change is one insert), so a poisoned lock is used as it is.
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
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
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn start_loading(&self, v: u64) {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _span = tracing::info_span!("load", version = v).entered();
            let started = Instant::now();
            let result = Loaded::load(&app.store, v).and_then(|l| {
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
            app.metrics.version_load(loaded, started.elapsed(), held);
        });
    }
}

/// The explorer over `store`: HTML pages, and the same data as JSON under
/// `/api` (see the [module docs](self) for the paths).
pub fn router(store: Store) -> Router {
    let app = App {
        store: Arc::new(Owned(Some(store))),
        loaded: Arc::default(),
        metrics: metrics::ServeMetrics::new(),
    };
    Router::new()
        .merge(routes(Format::Html))
        .nest("/api", routes(Format::Json))
        // `/api` is the versions document; `/api/` too.
        .route(
            "/api/",
            get(|State(app): State<App>| async move {
                reply(
                    Format::Json,
                    app.blocking(data::versions).await,
                    html::versions,
                )
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
                reply(f, app.blocking(data::versions).await, html::versions)
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
            "/diff/{a}/{b}",
            get(
                move |State(app): State<App>, Path((a, b)): Path<(String, String)>, Query(q): Q| async move {
                    let r = match (number(&a, "version"), number(&b, "version"), Paging::parse(&q)) {
                        (Ok(a), Ok(b), Ok(p)) => {
                            let only = q.get("type").filter(|t| !t.is_empty()).cloned();
                            app.blocking(move |s| data::diff(s, a, b, only.as_deref(), p)).await
                        }
                        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
                    };
                    reply(f, r, html::diff)
                },
            ),
        )
        .route(
            "/history/{t}",
            get(
                move |State(app): State<App>, Path(t): Path<String>, Query(q): Q| async move {
                    let r = match q.get("key").cloned() {
                        Some(k) => app.blocking(move |s| data::history(s, &t, &k)).await,
                        None => Err(ServeError::bad_request("give the record's primary key: ?key=K")),
                    };
                    reply(f, r, html::history)
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
        Ok(Err(started)) => Err(html::loading(v, started)),
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

/// One record, by `?key=` or `?ordinal=`.
async fn record(app: App, f: Format, v: &str, t: String, q: &HashMap<String, String>) -> Response {
    let target = match (q.get("key"), q.get("ordinal")) {
        (Some(k), None) => Ok(data::Target::Key(k.clone())),
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
