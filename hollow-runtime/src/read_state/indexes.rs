//! The indexes of a state as its readers see them: typed views
//! ([`UniqueIndex`], [`HashIndex`]) and run-time ones ([`DynIndex`]) over
//! the state's records, and primary-key lookups on [`Records`].
//!
//! What an index holds and how it is searched is the index module's; a
//! view pairs an index with the records it reads, which it hands to the
//! index's lookups as [`LookupRecords`].

use std::sync::Arc;

use super::{ReadState, Records};
use crate::error::{Error, ErrorKind};
use crate::index::{
    find_unique, key_at_is, lookups, GroupOrdinals, IndexData, IndexDef, IndexSpec,
    ManyRecordsPerKey, OneRecordPerKey, Ordinals, PrimaryKeyed, UniqueLookup, ViewKind,
};
use crate::record::{KeyHasher, Struct};
use crate::value::Value;

/// What a view is made from. Not constructed by users.
pub struct IndexBase<'s, D: IndexDef> {
    records: Records<'s, D::Record>,
    data: Option<Arc<IndexData>>,
    error: Option<String>,
}

#[cfg(test)]
impl<D: IndexDef> IndexBase<'_, D> {
    /// The index's data, if it could be built.
    pub(crate) fn data(&self) -> Option<&IndexData> {
        self.data.as_deref()
    }
}

/// A view of an index in one state ([`UniqueIndex`] or [`HashIndex`]).
pub trait IndexView<'s, D: IndexDef>: Sized {
    /// Wraps what the state found.
    #[doc(hidden)]
    fn from_base(base: IndexBase<'s, D>) -> Self;
}

/// The view of index `D` for its kind ([`IndexDef::Kind`]): a
/// [`UniqueIndex`] for [`OneRecordPerKey`], a [`HashIndex`] for
/// [`ManyRecordsPerKey`].
pub trait ViewOf<D: IndexDef>: ViewKind {
    /// What `state.index::<D>()` returns.
    type View<'s>: IndexView<'s, D>;
}

impl<D: IndexDef> ViewOf<D> for OneRecordPerKey {
    type View<'s> = UniqueIndex<'s, D>;
}

impl<D: IndexDef> ViewOf<D> for ManyRecordsPerKey {
    type View<'s> = HashIndex<'s, D>;
}

/// What `state.index::<D>()` returns: [`UniqueIndex`] or [`HashIndex`].
pub type IndexViewOf<'s, D> = <<D as IndexDef>::Kind as ViewOf<D>>::View<'s>;

#[inline]
fn query_hash<D: IndexDef>(key: &D::Key<'_>, q: &mut KeyHasher) -> u64 {
    q.clear();
    D::encode_key(key, q);
    q.finish()
}

/// A primary-key or unique-key index in one state: key → record.
///
/// What a lookup reads first is found when the view is made: hold the view
/// to look up many keys.
pub struct UniqueIndex<'s, D: IndexDef> {
    base: IndexBase<'s, D>,
    lookup: Option<UniqueLookup>,
}

impl<'s, D: IndexDef> IndexView<'s, D> for UniqueIndex<'s, D> {
    fn from_base(base: IndexBase<'s, D>) -> Self {
        let lookup = base.data.as_ref().and_then(UniqueLookup::of);
        UniqueIndex { base, lookup }
    }
}

impl<'s, D: IndexDef> UniqueIndex<'s, D> {
    /// What the view's lookups read.
    #[cfg(test)]
    pub(crate) fn lookup(&self) -> Option<&UniqueLookup> {
        self.lookup.as_ref()
    }

    /// The ordinal of the record with `key`.
    #[inline]
    pub fn get_ordinal(&self, key: D::Key<'_>) -> Option<u32> {
        self.ordinal_of(&key)
    }

    #[inline]
    fn ordinal_of(&self, key: &D::Key<'_>) -> Option<u32> {
        self.find(key).map(|(o, _)| o)
    }

    /// The ordinal and record with `key`.
    #[inline(always)]
    fn find(&self, key: &D::Key<'_>) -> Option<(u32, <D::Record as Value>::Ref<'s>)> {
        let mut q = KeyHasher::new();
        let hash = query_hash::<D>(key, &mut q);
        find_unique(&self.base.records, self.lookup.as_ref(), hash, |r| {
            D::key_matches(r, key)
        })
    }

    /// The record with `key`.
    #[inline(always)]
    pub fn get(&self, key: D::Key<'_>) -> Option<<D::Record as Value>::Ref<'s>> {
        self.get_by(&key)
    }

    /// The record with `*key`.
    #[inline(always)]
    pub fn get_by(&self, key: &D::Key<'_>) -> Option<<D::Record as Value>::Ref<'s>> {
        self.find(key).map(|(_, r)| r)
    }

    /// The records with `keys`, in order (`None` for a key no record has):
    /// the same answers as [`UniqueIndex::get`] key by key, computed as the
    /// iterator advances. The memory each lookup reads is asked for a few
    /// lookups ahead of its use, so lookups that miss the processor's
    /// caches overlap; use each answer as it comes, while its record is
    /// still in cache (figures in `docs/indexes.md`).
    pub fn get_many<'a, 'k>(
        &'a self,
        keys: &'a [D::Key<'k>],
    ) -> impl ExactSizeIterator<Item = Option<<D::Record as Value>::Ref<'s>>> + use<'a, 'k, 's, D>
    {
        lookups(
            &self.base.records,
            self.base.data.as_deref(),
            keys,
            D::encode_key,
            D::key_matches,
        )
    }

    /// Why the index could not be built (two records with one key in the
    /// blobs, which a Hollow producer refuses to write), if so: every
    /// lookup then finds nothing.
    pub fn error(&self) -> Option<&str> {
        self.base.error.as_deref()
    }

    /// Heap bytes of the index (chunks shared with other versions
    /// included).
    pub fn heap_bytes(&self) -> usize {
        self.base.data.as_deref().map_or(0, IndexData::heap_bytes)
    }
}

/// A hash index in one state: key → every record with that key.
pub struct HashIndex<'s, D: IndexDef> {
    base: IndexBase<'s, D>,
}

impl<'s, D: IndexDef> IndexView<'s, D> for HashIndex<'s, D> {
    fn from_base(base: IndexBase<'s, D>) -> Self {
        HashIndex { base }
    }
}

impl<'s, D: IndexDef> HashIndex<'s, D> {
    /// The ordinals of the records with `key` (none for a key no record
    /// has).
    fn group(&self, key: &D::Key<'_>) -> Option<GroupOrdinals<'_>> {
        let data = self.base.data.as_deref()?;
        let mut q = KeyHasher::new();
        let hash = query_hash::<D>(key, &mut q);
        let records = &self.base.records;
        // The group's key is key `pos` of its representative record.
        data.group_ordinals(hash, |rep, pos| {
            records
                .get(rep)
                .is_some_and(|r| D::key_at_matches(&r, pos, key))
        })
    }

    /// The ordinals of the records with `key`, ascending.
    pub fn get_ordinals(&self, key: D::Key<'_>) -> impl Iterator<Item = u32> + '_ {
        self.ordinals(&key)
    }

    /// The ordinals of the group of `key` (none without one).
    fn ordinals(&self, key: &D::Key<'_>) -> Ordinals<'_> {
        self.group(key)
            .map_or_else(Ordinals::empty, GroupOrdinals::iter)
    }

    /// The records with `key`, in ordinal order.
    pub fn get(&self, key: D::Key<'_>) -> impl Iterator<Item = <D::Record as Value>::Ref<'s>> + '_ {
        let records = &self.base.records;
        self.ordinals(&key).filter_map(move |o| records.get(o))
    }

    /// How many records have `key`.
    pub fn count(&self, key: D::Key<'_>) -> usize {
        self.group(&key).map_or(0, GroupOrdinals::len)
    }

    /// See [`UniqueIndex::error`].
    pub fn error(&self) -> Option<&str> {
        self.base.error.as_deref()
    }

    /// Heap bytes of the index (chunks shared with other versions
    /// included).
    pub fn heap_bytes(&self) -> usize {
        self.base.data.as_deref().map_or(0, IndexData::heap_bytes)
    }
}

/// An index described at run time ([`IndexSpec`]), in one state: lookups
/// by a key's encoding, answered with ordinals.
pub struct DynIndex<'s> {
    state: &'s ReadState,
    spec: IndexSpec,
    data: Option<Arc<IndexData>>,
    error: Option<String>,
}

impl<'s> DynIndex<'s> {
    /// The ordinals of the records having the key encoded as `key` (see
    /// [`KeyReader`](crate::KeyReader)), ascending.
    pub fn ordinals(&self, key: &[u8]) -> Vec<u32> {
        let Some(data) = self.data.as_deref() else {
            return Vec::new();
        };
        let Some(records) = self.state.raw_records(self.spec.type_name()) else {
            return Vec::new();
        };
        let hash = self.spec.reader().hash(key);
        let mut h = KeyHasher::new();
        data.ordinals_of(hash, |o: u32, pos: u32| {
            records
                .get(o)
                .is_some_and(|r| key_at_is(&self.spec, &r, pos, key, &mut h))
        })
    }

    /// See [`UniqueIndex::error`].
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

impl ReadState {
    /// A typed index: `state.index::<MovieByGenres>().get("drama")`.
    ///
    /// Built on first use unless the consumer built it at load (types
    /// registered with `ConsumerBuilder::record_type`). A type the state
    /// does not hold gives an empty index.
    ///
    /// # Panics
    /// As [`ReadState::records`]: when the index's record type would
    /// misread this state's records ([`ReadState::try_index`] returns that
    /// error instead).
    pub fn index<D: IndexDef>(&self) -> IndexViewOf<'_, D>
    where
        D::Kind: ViewOf<D>,
    {
        IndexViewOf::<D>::from_base(self.index_base::<D>())
    }

    /// [`ReadState::index`], failing when the index cannot be built.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`]: the index's record type would misread this
    /// state's records (see [`ReadState::try_records`]);
    /// [`ErrorKind::CorruptBlob`]: the state holds two records with one
    /// primary or unique key (only blobs not written by a Hollow producer
    /// can).
    pub fn try_index<D: IndexDef>(&self) -> Result<IndexViewOf<'_, D>, Error>
    where
        D::Kind: ViewOf<D>,
    {
        self.try_records::<D::Record>()?;
        let base = self.index_base::<D>();
        match &base.error {
            Some(e) => Err(Error::new(ErrorKind::CorruptBlob, e.clone())),
            None => Ok(IndexViewOf::<D>::from_base(base)),
        }
    }

    /// An index described at run time (built on first use unless
    /// registered with the consumer; updated by deltas from then on).
    pub fn index_of(&self, spec: &IndexSpec) -> DynIndex<'_> {
        let slot = self
            .indexes
            .slot(|| spec.clone(), spec.type_name(), spec.name());
        let built = slot.get_or_build(self);
        let (data, error) = match built {
            Ok(d) => (Some(d.clone()), None),
            Err(e) => (None, Some(e.clone())),
        };
        DynIndex {
            state: self,
            spec: slot.spec.clone(),
            data,
            error,
        }
    }

    pub(crate) fn index_base<D: IndexDef>(&self) -> IndexBase<'_, D> {
        let type_name = <D::Record as Struct>::TYPE_NAME;
        let records = self.records::<D::Record>();
        let slot = self.indexes.slot(IndexSpec::of::<D>, type_name, D::NAME);
        let built = slot.get_or_build(self);
        match built {
            Ok(d) => IndexBase {
                records,
                data: Some(d.clone()),
                error: None,
            },
            Err(e) => {
                tracing::error!(index = D::NAME, error = %e, "index unusable");
                IndexBase {
                    records,
                    data: None,
                    error: Some(e.clone()),
                }
            }
        }
    }
}

impl<'s, T: PrimaryKeyed> Records<'s, T> {
    /// The record with primary key `key` (`movies.by_primary_key(&42)`,
    /// `by_primary_key(&("eu", 7))` for a composite key).
    ///
    /// Hold the `Records` to look up many keys: the index is found once.
    #[inline]
    pub fn by_primary_key(&self, key: &T::PrimaryKeyRef<'_>) -> Option<T::Ref<'s>> {
        let mut q = KeyHasher::new();
        T::encode_primary_key(key, &mut q);
        find_unique(self, self.primary_key_lookup(), q.finish(), |r| {
            T::primary_key_matches(r, key)
        })
        .map(|(_, r)| r)
    }

    /// The records with primary keys `keys`, in order (`None` for a key no
    /// record has): the answers of [`Records::by_primary_key`] key by key,
    /// computed as the iterator advances. The memory each lookup reads is
    /// asked for a few lookups ahead of its use, so lookups that miss the
    /// processor's caches overlap; use each answer as it comes, while its
    /// record is still in cache (figures in `docs/indexes.md`).
    ///
    /// ```
    /// # use hollow_runtime::Hollow;
    /// # #[derive(Hollow)]
    /// # #[hollow(primary_key(id))]
    /// # struct Movie { id: u64, title: String }
    /// # fn f(state: &hollow_runtime::ReadState) {
    /// let movies = state.records::<Movie>();
    /// let ids = [7, 42, 99];
    /// for (id, m) in ids.iter().zip(movies.by_primary_keys(&ids)) {
    ///     println!("{id}: {:?}", m.map(|m| m.title()));
    /// }
    /// # }
    /// ```
    pub fn by_primary_keys<'a, 'k>(
        &'a self,
        keys: &'a [T::PrimaryKeyRef<'k>],
    ) -> impl ExactSizeIterator<Item = Option<T::Ref<'s>>> + use<'a, 'k, 's, T> {
        lookups(
            self,
            self.primary_key_lookup().map(UniqueLookup::data),
            keys,
            |k, q| T::encode_primary_key(k, q),
            |r, k| T::primary_key_matches(r, k),
        )
    }

    /// The primary-key index's lookups, found on first use.
    #[inline]
    fn primary_key_lookup(&self) -> Option<&UniqueLookup> {
        self.pk
            .get_or_init(|| {
                let data = self.state.index_base::<T::Index>().data;
                data.as_ref().and_then(UniqueLookup::of)
            })
            .as_ref()
    }

    /// The primary-key index as a view.
    pub fn primary_key_index(&self) -> UniqueIndex<'s, T::Index> {
        UniqueIndex::from_base(self.state.index_base::<T::Index>())
    }
}
