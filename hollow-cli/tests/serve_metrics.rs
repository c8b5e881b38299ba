//! `hollow serve`'s `/metrics`, driven in process over HTTP
//! (`tower::ServiceExt::oneshot` on the router): after a few pages, a
//! version loaded for a record page, a version that fails to load and a
//! request for no page, the Prometheus text is parsed and each figure
//! compared with the requests made.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use hollow_cli::store::Store;
use hollow_runtime::store::FileAnnouncer;
use hollow_runtime::{FsBlobStore, Producer};
use hollow_tests::dataset;
use hollow_tests::prometheus::Page;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// GETs `path`: the status, the content type and the body.
async fn get(app: &Router, path: &str) -> (StatusCode, String, String) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[test]
fn metrics_count_requests_and_version_loads() {
    let dir = tempfile::tempdir().unwrap();
    let rt = dataset::runtime();
    {
        let store = Arc::new(FsBlobStore::new(dir.path()).unwrap());
        let announcer = Arc::new(FileAnnouncer::new(dir.path()).unwrap());
        let mut producer = Producer::builder(store, announcer).build();
        for round in 1..=2 {
            rt.block_on(dataset::publish(
                &mut producer,
                &dataset::catalog(8, round, 2),
            ));
        }
    }
    // Version 2's snapshot and the delta to it are corrupt: it cannot load.
    for name in ["snapshot-2.zst", "delta-1-2.zst"] {
        let path = dir.path().join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x5a;
        std::fs::write(&path, bytes).unwrap();
    }
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let app = hollow_cli::serve::router(store);
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    server.block_on(async {
        assert_eq!(get(&app, "/").await.0, StatusCode::OK);
        assert_eq!(get(&app, "/api/").await.0, StatusCode::OK);
        // The JSON API waits for the version to load.
        let (status, _, body) = get(&app, "/api/v/1/types/Movie").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _, body) = get(&app, "/api/v/1/types/Movie?page=2&per_page=3").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (failed, _, body) = get(&app, "/api/v/2/types/Movie").await;
        assert!(
            failed.is_client_error() || failed.is_server_error(),
            "{failed} {body}"
        );
        assert_eq!(get(&app, "/no/such/page").await.0, StatusCode::NOT_FOUND);

        let (status, content_type, text) = get(&app, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, hollow_cli::serve::metrics::CONTENT_TYPE);
        let page = Page::parse(&text);
        let requests = |route, status| {
            page.value(
                "hollow_serve_requests_total",
                &[("route", route), ("status", status)],
            )
        };
        assert_eq!(page.kind("hollow_serve_requests_total"), "counter");
        assert_eq!(requests("/", "200"), 1.0);
        assert_eq!(requests("/api/", "200"), 1.0);
        assert_eq!(requests("/api/v/{v}/types/{t}", "200"), 2.0);
        assert_eq!(requests("/api/v/{v}/types/{t}", failed.as_str()), 1.0);
        assert_eq!(requests("unmatched", "404"), 1.0);
        // This request is counted once answered: not on its own page.
        assert_eq!(
            page.get(
                "hollow_serve_requests_total",
                &[("route", "/metrics"), ("status", "200")]
            ),
            None
        );
        assert_eq!(
            page.value(
                "hollow_serve_request_duration_seconds_count",
                &[("route", "/api/v/{v}/types/{t}")]
            ),
            3.0
        );
        let loads = |result| page.value("hollow_serve_version_loads_total", &[("result", result)]);
        assert_eq!((loads("loaded"), loads("failed")), (1.0, 1.0));
        assert_eq!(
            page.value(
                "hollow_serve_version_load_duration_seconds_count",
                &[("result", "loaded")]
            ),
            1.0
        );
        assert_eq!(page.value("hollow_serve_versions_loaded", &[]), 1.0);

        // The page's own request shows on the next one.
        let page = Page::parse(&get(&app, "/metrics").await.2);
        assert_eq!(
            page.value(
                "hollow_serve_requests_total",
                &[("route", "/metrics"), ("status", "200")]
            ),
            1.0
        );
    });
    drop(app);
}
