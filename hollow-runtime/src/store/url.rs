//! Opening a store, announcer and watcher from a URL: `s3://bucket/prefix`,
//! `file:///path`, `memory://`.
//!
//! | URL | blob store | announcer / watcher |
//! |---|---|---|
//! | `s3://bucket/prefix` | [`ObjectBlobStore`] on S3 | [`ObjectAnnouncer`] |
//! | `file:///path` (or a plain path) | [`FsBlobStore`] | [`FileAnnouncer`] |
//! | `memory://` | [`ObjectBlobStore`] in memory | [`ObjectAnnouncer`] (shared only within one [`Opened`]) |
//!
//! S3 settings come from the usual environment variables, read by
//! `object_store`'s `AmazonS3Builder::from_env`: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or
//! `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL` (an S3-compatible server),
//! `AWS_ALLOW_HTTP=true` (a local server without TLS), and the others that
//! builder knows. [`StoreOptions`] overrides them in code.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use hollow_runtime::store::url::{open, StoreOptions};
//! use hollow_runtime::store::{Announcer, BlobName, BlobStore};
//!
//! let opened = open("memory://", &StoreOptions::default()).unwrap();
//! opened.store.put(BlobName::Snapshot(1), b"blob").await.unwrap();
//! opened.announcer.announce(1, None).await.unwrap();
//! assert_eq!(opened.watcher.latest().await.unwrap(), Some(1));
//!
//! let dir = tempfile::tempdir().unwrap();
//! let url = format!("file://{}", dir.path().display());
//! let local = open(&url, &StoreOptions::default()).unwrap();
//! assert!(local.store.describe().starts_with("dir "));
//! # });
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::{ClientConfigKey, ObjectStore, RetryConfig};

use super::object::{ObjectAnnouncer, ObjectBlobStore};
use super::{
    AnnouncementWatcher, Announcer, BlobStore, FileAnnouncer, FsBlobStore, StoreError,
    StoreErrorKind,
};

/// Settings for [`open`], on top of the environment.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// How often watchers poll the announcement (default 1 s).
    pub poll_interval: Duration,
    /// Retries of transient failures (S3): attempts, backoff and total time.
    pub retry: RetryConfig,
    /// The time limit of one request (S3; default 30 s, 0 = none).
    pub request_timeout: Duration,
    /// The endpoint of an S3-compatible server (overrides `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Allow plain HTTP (overrides `AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
    /// The region (overrides `AWS_REGION`).
    pub region: Option<String>,
    /// Access key and secret (override `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY`).
    pub credentials: Option<(String, String)>,
    /// Let `object_store` look for credentials itself (instance metadata,
    /// web identity) when none are configured. Off by default: a missing
    /// key is then reported at once instead of after a metadata lookup.
    pub ambient_credentials: bool,
    /// Whether watchers obey `pinned.version` (default `true`; a poll is one
    /// conditional GET either way).
    pub pin_watch: bool,
    /// Blobs above this size are uploaded in parts.
    pub multipart_threshold: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            poll_interval: ObjectAnnouncer::DEFAULT_POLL_INTERVAL,
            retry: RetryConfig::default(),
            request_timeout: Duration::from_secs(30),
            endpoint: None,
            allow_http: None,
            region: None,
            credentials: None,
            ambient_credentials: false,
            pin_watch: true,
            multipart_threshold: super::object::DEFAULT_MULTIPART_THRESHOLD,
        }
    }
}

/// A store, announcer and watcher opened from one URL.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The blob store.
    pub store: Arc<dyn BlobStore>,
    /// The announcer (producers).
    pub announcer: Arc<dyn Announcer>,
    /// The announcement watcher (consumers).
    pub watcher: Arc<dyn AnnouncementWatcher>,
    /// The object announcer, for pinning (`None` for a local directory).
    pub object_announcer: Option<ObjectAnnouncer>,
    /// The URL opened.
    pub url: String,
}

#[cold]
fn config_error(message: String) -> StoreError {
    StoreError::new(StoreErrorKind::Config, message)
}

/// Opens the store at `url`. Nothing is contacted yet: see
/// [`ObjectBlobStore::check`] to fail early.
///
/// # Errors
/// [`StoreErrorKind::Config`]: an unknown scheme, a URL without a bucket,
/// missing credentials, bad settings; [`StoreErrorKind::Io`]: a local
/// directory that cannot be created.
pub fn open(url: &str, options: &StoreOptions) -> Result<Opened, StoreError> {
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(config_error(format!(
                "{url}: no bucket; expected s3://bucket/prefix"
            )));
        }
        let objects = s3(url, bucket, options)?;
        return Ok(object_stores(objects, prefix, url, options));
    }
    if let Some(rest) = url.strip_prefix("memory://") {
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        return Ok(object_stores(objects, rest, url, options));
    }
    let dir = if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(config_error(format!(
                "{url}: expected an absolute path, as in file:///data/hollow"
            )));
        }
        PathBuf::from(path)
    } else if url.contains("://") {
        return Err(config_error(format!(
            "{url}: unknown store; expected s3://bucket/prefix, file:///path or memory://"
        )));
    } else {
        PathBuf::from(url)
    };
    let store = Arc::new(FsBlobStore::new(&dir)?);
    let announcer = Arc::new(FileAnnouncer::new(&dir)?.with_poll_interval(options.poll_interval));
    Ok(Opened {
        store,
        announcer: announcer.clone(),
        watcher: announcer,
        object_announcer: None,
        url: url.to_owned(),
    })
}

fn object_stores(
    objects: Arc<dyn ObjectStore>,
    prefix: &str,
    url: &str,
    options: &StoreOptions,
) -> Opened {
    let store = ObjectBlobStore::new(objects.clone(), prefix, url)
        .with_multipart_threshold(options.multipart_threshold);
    let announcer = ObjectAnnouncer::new(objects, prefix, url)
        .with_poll_interval(options.poll_interval)
        .with_pin_watch(options.pin_watch);
    Opened {
        store: Arc::new(store),
        announcer: Arc::new(announcer.clone()),
        watcher: Arc::new(announcer.clone()),
        object_announcer: Some(announcer),
        url: url.to_owned(),
    }
}

/// Environment variables that let `object_store` find credentials without
/// a key in the environment.
const AMBIENT_CREDENTIAL_VARS: [&str; 3] = [
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

fn s3(url: &str, bucket: &str, options: &StoreOptions) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(options.retry.clone());
    if !options.request_timeout.is_zero() {
        builder = builder.with_config(
            AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
            format!("{}ms", options.request_timeout.as_millis()),
        );
    }
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(allow) = options.allow_http {
        builder = builder.with_allow_http(allow);
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    } else if builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .is_none()
    {
        if let Ok(region) = std::env::var("AWS_DEFAULT_REGION") {
            builder = builder.with_region(region);
        }
    }
    if let Some((key, secret)) = &options.credentials {
        builder = builder
            .with_access_key_id(key)
            .with_secret_access_key(secret);
    }
    let has_key = builder
        .get_config_value(&AmazonS3ConfigKey::AccessKeyId)
        .is_some_and(|k| !k.is_empty());
    let skip_signature = builder
        .get_config_value(&AmazonS3ConfigKey::SkipSignature)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let ambient = options.ambient_credentials
        || AMBIENT_CREDENTIAL_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some());
    if !has_key && !skip_signature && !ambient {
        return Err(config_error(format!(
            "{url}: no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY \
             (or AWS_SKIP_SIGNATURE=true for a public bucket, or enable ambient credentials)"
        )));
    }
    let s3 = builder
        .build()
        .map_err(|e| config_error(format!("{url}: cannot configure S3: {e}")))?;
    Ok(Arc::new(s3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_config_errors_naming_the_url() {
        let o = StoreOptions::default();
        for (url, says) in [
            ("gs://b/p", "unknown store"),
            ("s3:///p", "no bucket"),
            ("file://relative/x", "absolute path"),
        ] {
            let e = open(url, &o).unwrap_err();
            assert_eq!(e.kind(), StoreErrorKind::Config, "{url}");
            assert!(e.to_string().contains(url), "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn s3_without_credentials_is_a_clear_error() {
        // No test in this crate reads these; the unit tests of this binary
        // never need AWS credentials.
        for v in AMBIENT_CREDENTIAL_VARS
            .iter()
            .chain(&["AWS_ACCESS_KEY_ID", "AWS_SKIP_SIGNATURE"])
        {
            std::env::remove_var(v);
        }
        let e = open("s3://bucket/p", &StoreOptions::default()).unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Config);
        assert!(
            e.to_string().contains("s3://bucket/p: no S3 credentials"),
            "{e}"
        );
        let o = StoreOptions {
            credentials: Some(("key".into(), "secret".into())),
            endpoint: Some("http://127.0.0.1:9".into()),
            allow_http: Some(true),
            region: Some("us-east-1".into()),
            ..StoreOptions::default()
        };
        let opened = open("s3://bucket/p", &o).unwrap();
        assert_eq!(opened.store.describe(), "s3://bucket/p");
    }
}
