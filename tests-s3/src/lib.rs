//! Test support for the object-store tests (`tests/object_store*.rs`): a
//! real S3-compatible server, moto's S3 on 127.0.0.1.
//!
//! [`shared`] gives the server of this test process: the one at
//! `HOLLOW_S3_ENDPOINT` when set (`.ci/run` starts one and exports it),
//! otherwise one started here. Starting one installs `moto[server]`
//! ([`MOTO_VERSION`]) from PyPI into a virtual environment under the target
//! directory the first time (`target/hollow-s3/`; a file lock keeps test
//! binaries running at once from installing twice), then runs
//! `moto_serve.py` (beside this crate's `Cargo.toml`) on a free port. The server exits when the test
//! process does (it watches its stdin). So `cargo test --workspace` needs
//! only `python3` with `venv` and `pip`, and nothing is skipped.
//!
//! [`Proxy`] stands between a client and the server and can be stopped
//! and started again, like the server going away mid-cycle, without losing
//! what the server holds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use hollow_runtime::store::url::StoreOptions;

/// The moto release installed (it implements conditional puts:
/// `If-None-Match: *` and `If-Match` on PutObject).
pub const MOTO_VERSION: &str = "5.2.5";

/// The credentials the tests use (moto accepts any).
pub const ACCESS_KEY: (&str, &str) = ("hollow-test", "hollow-test-secret");

/// A running S3-compatible server.
#[derive(Debug)]
pub struct S3Server {
    endpoint: String,
    _process: Option<Mutex<ServerProcess>>,
}

#[derive(Debug)]
struct ServerProcess {
    child: Child,
    _stdin: ChildStdin,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server of this test process (see the [module docs](self)).
///
/// # Panics
/// The server cannot be installed or started (the message says why).
pub fn shared() -> &'static S3Server {
    static SERVER: OnceLock<S3Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("HOLLOW_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => S3Server {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            _process: None,
        },
        _ => S3Server::start(),
    })
}

/// The Python of the moto virtual environment, installed if missing
/// (where `.ci/run` installs it too).
///
/// # Panics
/// `python3 -m venv` or `pip install` failed.
pub fn moto_python() -> PathBuf {
    hollow_tests::python::venv(
        "hollow-s3",
        &format!("moto-{MOTO_VERSION}"),
        &[&format!("moto[server]=={MOTO_VERSION}")],
    )
}

impl S3Server {
    /// Starts a new server process on a free port (installing moto first
    /// if needed). It stops when dropped.
    ///
    /// # Panics
    /// The server cannot be installed or started.
    pub fn start() -> S3Server {
        let python = moto_python();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("moto_serve.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", script.display()));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the S3 server did not start within 60 s");
        let port: u16 = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the S3 server said {line:?}, not its port"));
        S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: Some(Mutex::new(ServerProcess {
                child,
                _stdin: stdin,
            })),
        }
    }

    /// The server's URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Creates a bucket (moto takes an unsigned `PUT /bucket`).
    ///
    /// # Panics
    /// The server refused.
    pub fn create_bucket(&self, bucket: &str) {
        let status = http_request(&self.endpoint, "PUT", &format!("/{bucket}"));
        assert!(
            status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200"),
            "creating bucket {bucket}: {status}"
        );
    }

    /// A fresh bucket and its URL `s3://<bucket>/<prefix>`.
    pub fn new_bucket(&self, tag: &str, prefix: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let bucket = format!(
            "hollow-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.create_bucket(&bucket);
        format!("s3://{bucket}/{prefix}")
    }

    /// Options pointing at this server: endpoint, plain HTTP, test
    /// credentials, a fast poll and quick retries.
    pub fn options(&self) -> StoreOptions {
        options_for(&self.endpoint)
    }

    /// The environment variables that point a child process at this
    /// server (for `s3://` URLs opened with default options).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.0.into()),
            ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY.1.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

/// Test options for an endpoint: plain HTTP, test credentials, a 20 ms
/// poll, and retries bounded to about a second.
pub fn options_for(endpoint: &str) -> StoreOptions {
    let mut retry = object_store::RetryConfig {
        max_retries: 2,
        retry_timeout: Duration::from_secs(1),
        ..object_store::RetryConfig::default()
    };
    retry.backoff.init_backoff = Duration::from_millis(20);
    retry.backoff.max_backoff = Duration::from_millis(200);
    StoreOptions {
        poll_interval: Duration::from_millis(20),
        retry,
        request_timeout: Duration::from_secs(30),
        endpoint: Some(endpoint.to_owned()),
        allow_http: Some(true),
        region: Some("us-east-1".into()),
        credentials: Some((ACCESS_KEY.0.into(), ACCESS_KEY.1.into())),
        ..StoreOptions::default()
    }
}

/// Sends an unsigned request with no body; returns the status line.
fn http_request(endpoint: &str, method: &str, path: &str) -> String {
    let host = endpoint
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("endpoint {endpoint} is not http://"));
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connecting {host}: {e}"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("sending a request");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.lines().next().unwrap_or_default().to_owned()
}

/// A TCP proxy to a server that can be stopped (connections refused, open
/// ones cut) and started again on the same port.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    target: String,
    running: Arc<Mutex<Option<Running>>>,
}

#[derive(Debug)]
struct Running {
    stop: Arc<std::sync::atomic::AtomicBool>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    accept: std::thread::JoinHandle<()>,
}

impl Proxy {
    /// A running proxy to `endpoint` (`http://host:port`) on a free port.
    pub fn new(endpoint: &str) -> Proxy {
        let target = endpoint.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = Proxy {
            port,
            target,
            running: Arc::new(Mutex::new(None)),
        };
        proxy.run(listener);
        proxy
    }

    /// The proxy's URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn run(&self, listener: TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let target = self.target.clone();
        let (stop2, streams2) = (stop.clone(), streams.clone());
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let _ = client.set_nonblocking(false);
                        let Ok(server) = TcpStream::connect(&target) else {
                            continue;
                        };
                        let mut open = streams2.lock().unwrap();
                        for s in [&client, &server] {
                            if let Ok(c) = s.try_clone() {
                                open.push(c);
                            }
                        }
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        *self.running.lock().unwrap() = Some(Running {
            stop,
            streams,
            accept,
        });
    }

    /// Stops: the port is closed and open connections are cut.
    pub fn stop(&self) {
        if let Some(r) = self.running.lock().unwrap().take() {
            r.stop.store(true, Ordering::SeqCst);
            let _ = r.accept.join();
            for s in r.streams.lock().unwrap().drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    /// Starts again on the same port.
    ///
    /// # Panics
    /// The port was taken meanwhile.
    pub fn start(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("rebinding the proxy");
        self.run(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// An [`ObjectStore`](object_store::ObjectStore) that counts the requests
/// made through it (by kind) and passes them on.
#[derive(Debug)]
pub struct Counting {
    inner: Arc<dyn object_store::ObjectStore>,
    /// GET requests (including conditional ones and HEAD).
    pub gets: AtomicU64,
    /// GETs answered `304 Not Modified`.
    pub not_modified: AtomicU64,
    /// PUT requests (single and multipart starts).
    pub puts: AtomicU64,
    /// LIST requests.
    pub lists: AtomicU64,
    /// Everything else (delete, copy, rename).
    pub others: AtomicU64,
}

impl Counting {
    /// Counts the requests to `inner`.
    pub fn new(inner: Arc<dyn object_store::ObjectStore>) -> Counting {
        Counting {
            inner,
            gets: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            puts: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            others: AtomicU64::new(0),
        }
    }

    /// Sets every count to zero.
    pub fn reset(&self) {
        for c in [
            &self.gets,
            &self.not_modified,
            &self.puts,
            &self.lists,
            &self.others,
        ] {
            c.store(0, Ordering::SeqCst);
        }
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        [&self.gets, &self.puts, &self.lists, &self.others]
            .iter()
            .map(|c| c.load(Ordering::SeqCst))
            .sum()
    }
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

mod counting_impl {
    use super::Counting;
    use futures::stream::BoxStream;
    use object_store::path::Path;
    use object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
        PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    };
    use std::ops::Range;
    use std::sync::atomic::Ordering;

    #[async_trait::async_trait]
    impl object_store::ObjectStore for Counting {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            self.puts.fetch_add(1, Ordering::SeqCst);
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.puts.fetch_add(1, Ordering::SeqCst);
            self.inner.put_multipart_opts(l, o).await
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            let got = self.inner.get_opts(l, o).await;
            if let Err(object_store::Error::NotModified { .. }) = &got {
                self.not_modified.fetch_add(1, Ordering::SeqCst);
            }
            got
        }
        async fn get_ranges(&self, l: &Path, r: &[Range<u64>]) -> Result<Vec<bytes::Bytes>> {
            self.gets.fetch_add(1, Ordering::SeqCst);
            self.inner.get_ranges(l, r).await
        }
        fn delete_stream(
            &self,
            locations: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.others.fetch_add(1, Ordering::SeqCst);
            self.inner.delete_stream(locations)
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.inner.list(prefix)
        }
        fn list_with_offset(
            &self,
            prefix: Option<&Path>,
            offset: &Path,
        ) -> BoxStream<'static, Result<ObjectMeta>> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.inner.list_with_offset(prefix, offset)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            self.inner.list_with_delimiter(prefix).await
        }
        async fn copy_opts(&self, from: &Path, to: &Path, o: CopyOptions) -> Result<()> {
            self.others.fetch_add(1, Ordering::SeqCst);
            self.inner.copy_opts(from, to, o).await
        }
        async fn rename_opts(&self, from: &Path, to: &Path, o: RenameOptions) -> Result<()> {
            self.others.fetch_add(1, Ordering::SeqCst);
            self.inner.rename_opts(from, to, o).await
        }
    }
}

/// An S3 client for `bucket` on `endpoint` with the test credentials and
/// quick retries (to wrap in [`Counting`] or to reach the bucket directly).
///
/// # Panics
/// The client cannot be configured.
pub fn s3_client(endpoint: &str, bucket: &str) -> Arc<dyn object_store::ObjectStore> {
    let o = options_for(endpoint);
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(ACCESS_KEY.0)
        .with_secret_access_key(ACCESS_KEY.1)
        .with_retry(o.retry)
        .build()
        .expect("an S3 client");
    Arc::new(s3)
}

/// The bucket and prefix of `s3://bucket/prefix`.
///
/// # Panics
/// Not an `s3://` URL.
pub fn split_url(url: &str) -> (&str, &str) {
    let rest = url.strip_prefix("s3://").expect("an s3:// URL");
    rest.split_once('/').unwrap_or((rest, ""))
}
