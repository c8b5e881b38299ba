//! Version claims: before a store writes the first blob of a version it
//! creates `<prefix>/claim-<v>` with a create-if-absent put, so two
//! producers minting the same version cannot overwrite each other's blobs
//! (multipart uploads cannot be conditional, so the blobs themselves
//! cannot be protected one by one).
//!
//! A claim holds `<owner id> <unix millis>`. The owner rewrites its own
//! blobs freely (a retried cycle); anyone else gets a conflict, unless the
//! claim is older than the timeout (a producer that crashed), in which case
//! it is taken over with a compare-and-swap on its ETag.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::{map_error, object_path};
use crate::store::{BlobName, StoreError, StoreErrorKind};

/// Default [`Claims`] timeout: 10 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The version whose publication writes `name`: the newer version of a
/// delta or reverse delta.
pub(super) fn version_of(name: BlobName) -> u64 {
    match name {
        BlobName::Snapshot(v) => v,
        BlobName::Delta { from, to } | BlobName::ReverseDelta { from, to } => from.max(to),
    }
}

/// The claims one store holds.
#[derive(Debug)]
pub(super) struct Claims {
    owner: String,
    timeout: Duration,
    /// Version → ETag of the claim object this store wrote.
    held: Mutex<HashMap<u64, UpdateVersion>>,
    /// Serializes claiming within this store.
    claiming: tokio::sync::Mutex<()>,
}

impl Default for Claims {
    fn default() -> Self {
        Self::with_timeout(DEFAULT_TIMEOUT)
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Claims {
    pub(super) fn with_timeout(timeout: Duration) -> Self {
        let id = getrandom::u64().unwrap_or_else(|_| now_millis() ^ u64::from(std::process::id()));
        Claims {
            owner: format!("{id:016x}"),
            timeout,
            held: Mutex::new(HashMap::new()),
            claiming: tokio::sync::Mutex::new(()),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, UpdateVersion>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes sure this store holds the claim on `version`.
    pub(super) async fn ensure(
        &self,
        objects: &dyn ObjectStore,
        prefix: &ObjectPath,
        url: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let _one_at_a_time = self.claiming.lock().await;
        let path = object_path(prefix, &format!("claim-{version}"));
        let body = || PutPayload::from(format!("{} {}\n", self.owner, now_millis()));
        let held = self.held().get(&version).cloned();
        let mode = match held {
            // Ours already: make sure nobody took it over since.
            Some(v) => PutMode::Update(v),
            None => PutMode::Create,
        };
        let attempt = objects
            .put_opts(&path, body(), PutOptions::from(mode.clone()))
            .await;
        let result = match attempt {
            Ok(r) => Ok(r),
            Err(object_store::Error::AlreadyExists { .. }) if matches!(mode, PutMode::Create) => {
                self.take_over_if_stale(objects, &path, url, version).await
            }
            Err(object_store::Error::Precondition { .. }) => Err(self.lost(url, version, None)),
            Err(e) => Err(map_error(
                &format!("claiming version {version} in {url}"),
                url,
                e,
            )),
        };
        let put = result?;
        let older: Vec<u64> = {
            let mut held = self.held();
            held.insert(version, UpdateVersion::from(put));
            let older = held.keys().copied().filter(|&v| v < version).collect();
            held.retain(|&v, _| v >= version);
            older
        };
        // The claims of older versions are finished with: remove them.
        for v in older {
            let old = object_path(prefix, &format!("claim-{v}"));
            if let Err(e) = objects.delete(&old).await {
                tracing::debug!(claim = %old, error = %e, "could not remove an old claim");
            }
        }
        Ok(())
    }

    async fn take_over_if_stale(
        &self,
        objects: &dyn ObjectStore,
        path: &ObjectPath,
        url: &str,
        version: u64,
    ) -> Result<object_store::PutResult, StoreError> {
        let got = objects
            .get(path)
            .await
            .map_err(|e| map_error(&format!("reading claim-{version} in {url}"), url, e))?;
        let current = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let text = got
            .bytes()
            .await
            .map_err(|e| map_error(&format!("reading claim-{version} in {url}"), url, e))?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let made = text
            .split_whitespace()
            .nth(1)
            .and_then(|t| t.parse::<u64>().ok());
        let age = made.map(|m| Duration::from_millis(now_millis().saturating_sub(m)));
        match age {
            Some(age) if age >= self.timeout => {
                tracing::warn!(version, url, ?age, claim = %text.trim(), "taking over a stale version claim");
                let body = PutPayload::from(format!("{} {}\n", self.owner, now_millis()));
                objects
                    .put_opts(path, body, PutOptions::from(PutMode::Update(current)))
                    .await
                    .map_err(|e| match e {
                        object_store::Error::Precondition { .. } => {
                            self.lost(url, version, Some(&text))
                        }
                        e => map_error(&format!("claiming version {version} in {url}"), url, e),
                    })
            }
            _ => Err(self.lost(url, version, Some(&text))),
        }
    }

    #[cold]
    fn lost(&self, url: &str, version: u64, claim: Option<&str>) -> StoreError {
        let shown = claim.map_or_else(String::new, |c| format!(" (claim-{version}: {})", c.trim()));
        StoreError::new(
            StoreErrorKind::Conflict,
            format!(
                "cannot publish version {version} to {url}: another producer is publishing \
                 version {version}{shown}; restore from the announced version to continue, \
                 or (if that producer crashed) wait {:?} for its claim to expire",
                self.timeout
            ),
        )
    }
}
