//! `/metrics`: the explorer's own figures in the Prometheus text format
//! (exposition format 0.0.4), recorded in a recorder of the explorer's own
//! ([`PrometheusMetrics`]):
//!
//! | name | type | labels | what |
//! |---|---|---|---|
//! | `hollow_serve_requests_total` | counter | `route` (the path pattern, `unmatched` for none), `status` | requests answered |
//! | `hollow_serve_request_duration_seconds` | histogram | `route` | time to answer |
//! | `hollow_serve_version_loads_total` | counter | `result`: `loaded`, `failed` | versions loaded for record pages |
//! | `hollow_serve_version_load_duration_seconds` | histogram | `result` | time to load a version |
//! | `hollow_serve_versions_loaded` | gauge | | versions held loaded now |

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hollow_runtime::metrics::PrometheusMetrics;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

use super::App;

/// The content type of the `/metrics` page (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The explorer's recorder.
#[derive(Clone, Debug)]
pub(super) struct ServeMetrics(PrometheusMetrics);

impl ServeMetrics {
    /// A recorder of its own, with the explorer's metrics described.
    pub(super) fn new() -> ServeMetrics {
        let m = PrometheusMetrics::new();
        m.record(|| {
            describe_counter!(
                "hollow_serve_requests_total",
                "Requests the explorer answered, by route and status"
            );
            describe_histogram!(
                "hollow_serve_request_duration_seconds",
                metrics::Unit::Seconds,
                "Time the explorer took to answer, by route"
            );
            describe_counter!(
                "hollow_serve_version_loads_total",
                "Versions the explorer loaded for record pages, by result"
            );
            describe_histogram!(
                "hollow_serve_version_load_duration_seconds",
                metrics::Unit::Seconds,
                "Time the explorer took to load a version, by result"
            );
            describe_gauge!(
                "hollow_serve_versions_loaded",
                "Versions the explorer holds loaded"
            );
        });
        ServeMetrics(m)
    }

    /// Records a request to `route` answered with `status` in `took`.
    fn request(&self, route: String, status: u16, took: Duration) {
        self.0.record(|| {
            let status = status.to_string();
            counter!("hollow_serve_requests_total", "route" => route.clone(), "status" => status)
                .increment(1);
            histogram!("hollow_serve_request_duration_seconds", "route" => route)
                .record(took.as_secs_f64());
        });
    }

    /// Records a version load that ended (`loaded` or failed) in `took`,
    /// with `held` versions loaded after it.
    pub(super) fn version_load(&self, loaded: bool, took: Duration, held: usize) {
        self.0.record(|| {
            let result = if loaded { "loaded" } else { "failed" };
            counter!("hollow_serve_version_loads_total", "result" => result).increment(1);
            histogram!("hollow_serve_version_load_duration_seconds", "result" => result)
                .record(took.as_secs_f64());
            gauge!("hollow_serve_versions_loaded").set(held as f64);
        });
    }
}

/// Middleware: counts and times every request by its route pattern.
pub(super) async fn track(State(app): State<App>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(req).await;
    app.metrics
        .request(route, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics`: the page.
pub(super) async fn page(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        app.metrics.0.render(),
    )
        .into_response()
}
