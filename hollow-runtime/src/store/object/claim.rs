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
use crate::store::{StoreError, StoreErrorKind};

/// Default [`Claims`] timeout: 10 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

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
            .put_opts(&path, body(), PutOptions::from(mode))
            .await;
        let result = match attempt {
            Ok(r) => Ok(r),
            // Someone else's claim, a stale one, or ours whose answer was
            // lost (the put succeeded but the connection failed): look.
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => self.resolve(objects, &path, url, version).await,
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

    /// Refuses (with a conflict) when another producer holds a fresh claim
    /// on `version`: deleting a blob of a version being published by
    /// someone else would damage their publication.
    pub(super) async fn check_not_foreign(
        &self,
        objects: &dyn ObjectStore,
        prefix: &ObjectPath,
        url: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        if self.held().contains_key(&version) {
            return Ok(());
        }
        let path = object_path(prefix, &format!("claim-{version}"));
        let got = match objects.get(&path).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(()),
            Err(e) => {
                return Err(map_error(
                    &format!("reading claim-{version} in {url}"),
                    url,
                    e,
                ))
            }
        };
        let text = got
            .bytes()
            .await
            .map_err(|e| map_error(&format!("reading claim-{version} in {url}"), url, e))?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut words = text.split_whitespace();
        let ours = words.next() == Some(self.owner.as_str());
        let stale = words
            .next()
            .and_then(|t| t.parse::<u64>().ok())
            .is_some_and(|m| Duration::from_millis(now_millis().saturating_sub(m)) >= self.timeout);
        if ours || stale {
            Ok(())
        } else {
            Err(self.lost(url, version, Some(&text)))
        }
    }

    /// The claim exists and is not the one this store last wrote: take it
    /// if it is ours (an answer lost on the way) or stale, else conflict.
    async fn resolve(
        &self,
        objects: &dyn ObjectStore,
        path: &ObjectPath,
        url: &str,
        version: u64,
    ) -> Result<object_store::PutResult, StoreError> {
        let read_error = |e| map_error(&format!("reading claim-{version} in {url}"), url, e);
        let got = match objects.get(path).await {
            Ok(got) => got,
            // Removed meanwhile: claim it afresh.
            Err(object_store::Error::NotFound { .. }) => {
                let body = PutPayload::from(format!("{} {}\n", self.owner, now_millis()));
                return objects
                    .put_opts(path, body, PutOptions::from(PutMode::Create))
                    .await
                    .map_err(|e| match e {
                        object_store::Error::AlreadyExists { .. } => self.lost(url, version, None),
                        e => map_error(&format!("claiming version {version} in {url}"), url, e),
                    });
            }
            Err(e) => return Err(read_error(e)),
        };
        let current = UpdateVersion {
            e_tag: got.meta.e_tag.clone(),
            version: got.meta.version.clone(),
        };
        let text = got.bytes().await.map_err(read_error)?;
        let text = String::from_utf8_lossy(&text).into_owned();
        let mut words = text.split_whitespace();
        let ours = words.next() == Some(self.owner.as_str());
        let made = words.next().and_then(|t| t.parse::<u64>().ok());
        let age = made.map(|m| Duration::from_millis(now_millis().saturating_sub(m)));
        let stale = age.is_some_and(|age| age >= self.timeout);
        if !ours && !stale {
            return Err(self.lost(url, version, Some(&text)));
        }
        if !ours {
            tracing::warn!(version, url, ?age, claim = %text.trim(), "taking over a stale version claim");
        }
        let body = PutPayload::from(format!("{} {}\n", self.owner, now_millis()));
        objects
            .put_opts(path, body, PutOptions::from(PutMode::Update(current)))
            .await
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => self.lost(url, version, Some(&text)),
                e => map_error(&format!("claiming version {version} in {url}"), url, e),
            })
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_claim_whose_answer_was_lost_is_still_ours() {
        let objects: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let prefix = ObjectPath::from("p");
        let claims = Claims::default();
        // The claim reached the store but this store never saw the answer.
        objects
            .put(
                &object_path(&prefix, "claim-4"),
                PutPayload::from(format!("{} {}\n", claims.owner, now_millis())),
            )
            .await
            .unwrap();
        claims
            .ensure(&*objects, &prefix, "memory://p", 4)
            .await
            .unwrap();
        // And once more, after its own update's answer was lost too.
        objects
            .put(
                &object_path(&prefix, "claim-4"),
                PutPayload::from(format!("{} {}\n", claims.owner, now_millis())),
            )
            .await
            .unwrap();
        claims
            .ensure(&*objects, &prefix, "memory://p", 4)
            .await
            .unwrap();
        // Another owner's fresh claim is not, and keeps it from deleting.
        let other = Claims::default();
        let e = other
            .check_not_foreign(&*objects, &prefix, "memory://p", 4)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict);
        claims
            .check_not_foreign(&*objects, &prefix, "memory://p", 4)
            .await
            .unwrap();
        other
            .check_not_foreign(&*objects, &prefix, "memory://p", 5)
            .await
            .unwrap();
        let e = other
            .ensure(&*objects, &prefix, "memory://p", 4)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), StoreErrorKind::Conflict);
        assert!(e.to_string().contains(&claims.owner), "{e}");
    }
}
