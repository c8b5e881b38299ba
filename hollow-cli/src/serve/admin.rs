//! `hollow serve --admin`: the admin commands over HTTP.
//!
//! | request | body (JSON) | does |
//! |---|---|---|
//! | `POST /admin/pin` | `{"version": 7, "dry_run": false}` | `hollow pin` |
//! | `POST /admin/unpin` | `{"dry_run": false}` | `hollow unpin` |
//! | `POST /admin/announce` | `{"version": 7, "expect": 10, "dry_run": false}` | `hollow announce` |
//! | `POST /admin/clean` | `{"keep": 10, "dry_run": false}` | `hollow clean` |
//!
//! They exist only when the server was started with `--admin` (else they
//! are `404` like any unknown path), and every request must carry the
//! token given by `--admin-token` or `HOLLOW_ADMIN_TOKEN` as
//! `Authorization: Bearer TOKEN` (`401` otherwise; the token is compared
//! in constant time). The request is the confirmation: each runs as the
//! command with `--yes` (or `--dry-run`), with the same checks and the
//! same compare-and-swap, on a fresh listing of the store. The answer is
//! the command's `--json` document; errors are `{"error", "status"}`:
//! `400` a bad body, `409` a lost compare-and-swap (a producer announced
//! or another operator pinned meanwhile; nothing changed), `422` a refused
//! request (a missing or incomplete version), `500` a store that cannot
//! be read or written.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::args::ServeAdmin;
use crate::cmd::admin::{self, Request};
use crate::error::{CliError, EXIT_CONFLICT, EXIT_REFUSED};
use crate::store::Store;

/// What the admin endpoints need: the token and the store to open.
#[derive(Clone)]
pub struct Config {
    token: String,
    store: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Config")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The endpoints over `store` (as given on the command line), requiring
    /// `token`.
    ///
    /// # Errors
    /// An empty token.
    pub fn new(token: impl Into<String>, store: impl Into<String>) -> Result<Config, CliError> {
        let token = token.into();
        if token.trim().is_empty() {
            return Err(CliError::new(
                "the admin token is empty; give a non-empty --admin-token or HOLLOW_ADMIN_TOKEN",
            ));
        }
        Ok(Config {
            token,
            store: store.into(),
        })
    }

    /// The configuration from the command line: `None` without `--admin`.
    ///
    /// # Errors
    /// `--admin` without a token (neither `--admin-token` nor
    /// `HOLLOW_ADMIN_TOKEN`), or an empty one.
    pub fn from_args(args: &ServeAdmin, store: &str) -> Result<Option<Config>, CliError> {
        if !args.admin {
            return Ok(None);
        }
        match &args.admin_token {
            Some(t) => Config::new(t.clone(), store).map(Some),
            None => Err(CliError::new(
                "--admin needs a token: give --admin-token TOKEN or set HOLLOW_ADMIN_TOKEN \
                 (requests must send it as `Authorization: Bearer TOKEN`)",
            )),
        }
    }
}

/// `router` with the admin endpoints added when `config` is given.
pub fn with_admin(router: Router, config: Option<Config>) -> Router {
    match config {
        Some(c) => router.merge(routes(c)),
        None => router,
    }
}

/// The admin endpoints alone.
pub fn routes(config: Config) -> Router {
    let mut router = Router::new();
    for command in ["pin", "unpin", "announce", "clean"] {
        router = router.route(
            &format!("/admin/{command}"),
            post(move |s: State<Config>, h: HeaderMap, b: Bytes| handle(s, h, b, command)),
        );
    }
    router.with_state(config)
}

/// Compares two byte strings in time that depends on their lengths only.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        let g = given.get(i).copied().unwrap_or(0);
        diff |= usize::from(g ^ e);
    }
    std::hint::black_box(diff) == 0
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let mut response = (
        status,
        Json(json!({"error": message, "status": status.as_u16()})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

fn from_cli(e: &CliError) -> Response {
    let status = match e.code() {
        EXIT_CONFLICT => StatusCode::CONFLICT,
        EXIT_REFUSED => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, e.to_string())
}

/// The request's fields, checked.
fn parse(command: &str, body: &[u8]) -> Result<(Request, bool), String> {
    let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?
    };
    let Value::Object(fields) = &v else {
        return Err("the body must be a JSON object".to_owned());
    };
    let allowed: &[&str] = match command {
        "pin" => &["version", "dry_run"],
        "announce" => &["version", "expect", "dry_run"],
        "clean" => &["keep", "dry_run"],
        _ => &["dry_run"],
    };
    if let Some(k) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(format!(
            "unknown field {k:?} for {command}; it takes {}",
            allowed.join(", ")
        ));
    }
    let number = |name: &str, required: bool| -> Result<Option<u64>, String> {
        match fields.get(name) {
            None | Some(Value::Null) if !required => Ok(None),
            None | Some(Value::Null) => Err(format!("{command} needs \"{name}\": a number")),
            Some(x) => x
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("\"{name}\" must be a non-negative integer, not {x}")),
        }
    };
    let dry_run = match fields.get("dry_run") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(x) => return Err(format!("\"dry_run\" must be true or false, not {x}")),
    };
    let request = match command {
        "pin" => Request::Pin {
            version: number("version", true)?.unwrap_or_default(),
        },
        "announce" => Request::Announce {
            version: number("version", true)?.unwrap_or_default(),
            expect: number("expect", false)?,
        },
        "clean" => {
            let keep = number("keep", true)?.unwrap_or_default();
            if keep == 0 {
                return Err("\"keep\" must be at least 1".to_owned());
            }
            Request::Clean {
                keep: usize::try_from(keep).unwrap_or(usize::MAX),
            }
        }
        _ => Request::Unpin,
    };
    Ok((request, dry_run))
}

async fn handle(
    State(config): State<Config>,
    headers: HeaderMap,
    body: Bytes,
    command: &'static str,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(given) = given else {
        return error(
            StatusCode::UNAUTHORIZED,
            "the admin endpoints need the token: send `Authorization: Bearer TOKEN`",
        );
    };
    if !same_token(given.as_bytes(), config.token.as_bytes()) {
        tracing::warn!(command, "admin request with a wrong token refused");
        return error(StatusCode::UNAUTHORIZED, "wrong admin token");
    }
    let (request, dry_run) = match parse(command, &body) {
        Ok(r) => r,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let spec = config.store.clone();
    let done = tokio::task::spawn_blocking(move || -> Result<Value, CliError> {
        let store = Store::open(&spec)?;
        let mut out = Vec::new();
        let confirmation = admin::Confirm { yes: true, dry_run };
        admin::run(&store, &request, confirmation, true, &mut out)?;
        serde_json::from_slice(&out)
            .map_err(|e| CliError::new(format!("the command's JSON did not parse: {e}")))
    })
    .await;
    match done {
        Ok(Ok(v)) => {
            tracing::info!(command, dry_run, "admin request done");
            Json(v).into_response()
        }
        Ok(Err(e)) => from_cli(&e),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the request's worker failed: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token(b"secret", b"secret"));
        for wrong in [&b"secreT"[..], b"secre", b"secrets", b"", b"\0ecret"] {
            assert!(!same_token(wrong, b"secret"), "{wrong:?}");
        }
    }

    #[test]
    fn bodies_are_checked() {
        assert_eq!(
            parse("pin", br#"{"version": 7}"#).unwrap(),
            (Request::Pin { version: 7 }, false)
        );
        assert_eq!(parse("unpin", b"").unwrap(), (Request::Unpin, false));
        assert_eq!(
            parse(
                "announce",
                br#"{"version": 7, "expect": 10, "dry_run": true}"#
            )
            .unwrap(),
            (
                Request::Announce {
                    version: 7,
                    expect: Some(10)
                },
                true
            )
        );
        for (command, body, says) in [
            ("pin", &b"{}"[..], "needs \"version\""),
            ("pin", br#"{"version": -1}"#, "non-negative integer"),
            (
                "pin",
                br#"{"version": 1, "keep": 2}"#,
                "unknown field \"keep\"",
            ),
            ("clean", br#"{"keep": 0}"#, "at least 1"),
            (
                "clean",
                br#"{"keep": 1, "dry_run": "yes"}"#,
                "true or false",
            ),
            ("unpin", b"[1]", "JSON object"),
            ("unpin", b"{", "not JSON"),
        ] {
            let e = parse(command, body).unwrap_err();
            assert!(e.contains(says), "{command} {body:?}: {e}");
        }
    }
}
