//! Blob stores whose calls a test intercepts: a test type says what to do
//! before the calls it cares about (fail, panic, record), and
//! [`Intercepted`] forwards every call to a [`MemoryBlobStore`].

use std::fmt;
use std::path::Path;

use hollow_runtime::store::{
    BlobName, BlobStat, BlobStore, Compression, MemoryBlobStore, StoreError,
};

/// What a test store does before each call; every hook defaults to letting
/// the call through.
pub trait Intercept: fmt::Debug + Send + Sync {
    /// The store the calls go to.
    fn inner(&self) -> &MemoryBlobStore;

    /// The store's description in error messages.
    fn describe(&self) -> String;

    /// Before `put(name, …)` and `put_as(name, …)`.
    ///
    /// # Errors
    /// The error the call fails with instead.
    fn before_put(&self, _name: BlobName) -> Result<(), StoreError> {
        Ok(())
    }

    /// Before `fetch(name, dest)`.
    ///
    /// # Errors
    /// The error the call fails with instead.
    fn before_fetch(&self, _name: BlobName, _dest: &Path) -> Result<(), StoreError> {
        Ok(())
    }

    /// Before `list()`.
    ///
    /// # Errors
    /// The error the call fails with instead.
    fn before_list(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The [`BlobStore`] of an [`Intercept`]: each call runs its hook, then
/// goes to the inner store. Dereferences to the test type, so a test sets
/// its switches through the store it hands out.
#[derive(Debug, Default)]
pub struct Intercepted<T>(pub T);

impl<T> std::ops::Deref for Intercepted<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[async_trait::async_trait]
impl<T: Intercept> BlobStore for Intercepted<T> {
    async fn put_as(
        &self,
        name: BlobName,
        data: &[u8],
        compression: Compression,
    ) -> Result<(), StoreError> {
        self.0.before_put(name)?;
        self.0.inner().put_as(name, data, compression).await
    }

    async fn fetch(&self, name: BlobName, dest: &Path) -> Result<(), StoreError> {
        self.0.before_fetch(name, dest)?;
        self.0.inner().fetch(name, dest).await
    }

    async fn list(&self) -> Result<Vec<BlobName>, StoreError> {
        self.0.before_list()?;
        self.0.inner().list().await
    }

    async fn delete(&self, name: BlobName) -> Result<(), StoreError> {
        self.0.inner().delete(name).await
    }

    async fn stat(&self, name: BlobName) -> Result<BlobStat, StoreError> {
        self.0.inner().stat(name).await
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}
