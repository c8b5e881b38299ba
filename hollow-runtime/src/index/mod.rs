//! Indexes: primary key, unique keys and hash indexes over the records of a
//! [`ReadState`].
//!
//! An index holds ordinals only, never copies of keys: a lookup hashes the
//! key it is given, finds candidate ordinals in a slot table, and compares
//! by reading each candidate record in place. Indexes are built when a
//! snapshot is loaded (or on first use) and updated on every delta and
//! reverse delta by the removed and added ordinals alone, sharing all the
//! rest with the previous version: a reader holding an old state keeps an
//! exact old index.
//!
//! `#[derive(Hollow)]` generates a typed index per declared key:
//! `primary_key(id)` gives `MoviePrimaryKey`, `unique(title)` gives
//! `MovieByTitle`, `hash_index(genres)` gives `MovieByGenres` (a list field
//! indexes each element). Keys are borrowed (`&str` for text, a tuple for a
//! composite key).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
//! use hollow_runtime::{Consumer, Hollow, Producer};
//!
//! #[derive(Hollow)]
//! #[hollow(primary_key(id), unique(title), hash_index(genres))]
//! struct Movie {
//!     id: u64,
//!     title: String,
//!     genres: Vec<String>,
//! }
//!
//! let store = Arc::new(MemoryBlobStore::new());
//! let announcer = Arc::new(InProcessAnnouncer::new());
//! let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
//! producer
//!     .run_cycle(|w| {
//!         w.add(&Movie { id: 1, title: "Heat".into(), genres: vec!["crime".into()] })?;
//!         w.add(&Movie { id: 2, title: "Up".into(), genres: vec!["family".into(), "crime".into()] })
//!     })
//!     .await
//!     .unwrap();
//!
//! // Registering the type builds its indexes as each version loads.
//! let consumer = Consumer::builder(store, announcer).record_type::<Movie>().build().unwrap();
//! consumer.refresh().await.unwrap();
//! let state = consumer.current().unwrap();
//!
//! let heat = state.records::<Movie>().by_primary_key(&1).unwrap();
//! assert_eq!(heat.title(), "Heat");
//! assert_eq!(state.index::<MovieByTitle>().get("Up").unwrap().id(), 2);
//! let mut crime: Vec<u64> = state.index::<MovieByGenres>().get("crime").map(|m| m.id()).collect();
//! crime.sort();
//! assert_eq!(crime, [1, 2]);
//! assert_eq!(state.index::<MovieByGenres>().get("western").count(), 0);
//! # });
//! ```

mod data;
mod posting;
mod read_ahead;
mod slots;
mod table;
mod unique;

pub(crate) use slots::huge_page_map;

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock, RwLock};

pub(crate) use data::{Change, IndexData, ReadFn};
pub(crate) use read_ahead::KeyReads;
use unique::{Resolved, UniqueData};

pub use hollow_core::index::{
    IndexDef, IndexKind, IndexVisitor, Indexed, ManyRecordsPerKey, OneRecordPerKey, PrimaryKeyed,
    ViewKind,
};

use crate::error::{Error, ErrorKind};
use crate::read_state::{ReadState, Records};
use crate::record::{KeyHasher, Struct};
use crate::value::Value;
use crate::wire::{ListReader, StructReader};
use hollow_schema::{Key, Schema};

/// How an index reads the keys of a record: the seam that lets the same
/// index machinery run over generated accessors and over records read
/// without generated code (from the schema).
///
/// A key is given as its encoding (see [`KeyHasher`]): two keys are equal
/// exactly when their encodings are, and the index hashes the encoding.
/// An implementation must give the same encodings for equal keys whatever
/// the record they come from, and a lookup must encode its key the same way.
pub trait KeyReader: Send + Sync + 'static {
    /// Calls `f` with the encoding of each key of `r`: exactly one for a
    /// primary or unique key; one per element for a hash index on a list
    /// (repeats allowed: the index counts a record once per distinct key).
    /// `h` is scratch space.
    fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8]));
    /// The key of `r` as text for messages (`id=42`).
    fn describe(&self, r: &StructReader<'_>) -> String;
    /// The hash of `r`'s one key (as [`KeyReader::hash`] of its encoding),
    /// and the number of keys it has: what a unique index needs of a
    /// record it adds, which typed indexes give without collecting keys.
    fn one_key_hash(&self, r: &StructReader<'_>, h: &mut KeyHasher) -> (u64, usize) {
        let (mut hash, mut n) = (0, 0);
        self.keys(r, h, &mut |k: &[u8]| {
            n += 1;
            hash = self.hash(k);
        });
        (hash, n)
    }
    /// [`KeyReader::one_key_hash`] of each record of `records` (a list of
    /// structs, as a delta holds the records it adds), in order, pushed to
    /// `out`. Stops at the first record without exactly one key, giving
    /// its position in the list and its number of keys.
    ///
    /// The default reads the list in one loop, with no call through a
    /// pointer per record when the implementation is known (as for the
    /// derive's): a delta's update hashes every added record this way.
    ///
    /// # Errors
    /// `(position, keys)` of the first record without exactly one key.
    fn one_key_hashes(
        &self,
        records: &ListReader<'_>,
        h: &mut KeyHasher,
        out: &mut Vec<u64>,
    ) -> Result<(), (u32, usize)> {
        out.reserve(records.len() as usize);
        for k in 0..records.len() {
            match self.one_key_hash(&records.struct_at(k), h) {
                (hash, 1) => out.push(hash),
                (_, n) => return Err((k, n)),
            }
        }
        Ok(())
    }
    /// The hash of a key's encoding ([`key_hash`](crate::key_hash), as
    /// [`KeyHasher::finish`]; typed lookups rely on that default).
    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        crate::record::key_hash(key)
    }
}

/// An index to build: the record type, a name unique within the type, its
/// kind, how keys are read, and (optionally) which of the schema's keys it
/// is.
#[derive(Clone)]
pub struct IndexSpec {
    type_name: Arc<str>,
    name: Arc<str>,
    kind: IndexKind,
    reader: Arc<dyn KeyReader>,
    key: Option<Arc<Key>>,
    /// The compiled record type the reader reads through, for a typed
    /// index ([`IndexSpec::of`]): compared with each schema before the
    /// index is built over it.
    compiled: Option<crate::read_state::Compiled>,
}

impl fmt::Debug for IndexSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexSpec")
            .field("type_name", &self.type_name)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("key", &self.key.as_deref().map(Key::to_string))
            .finish()
    }
}

impl IndexSpec {
    /// An index named `name` over the records of `type_name`.
    pub fn new(
        type_name: impl Into<Arc<str>>,
        name: impl Into<Arc<str>>,
        kind: IndexKind,
        reader: Arc<dyn KeyReader>,
    ) -> Self {
        IndexSpec {
            type_name: type_name.into(),
            name: name.into(),
            kind,
            reader,
            key: None,
            compiled: None,
        }
    }

    /// The spec, saying that its reader reads `key`, a key of the record
    /// type's schema (its fields in the annotation form, `id` or
    /// `actor.id,year`).
    ///
    /// A primary or unique index whose key the blobs declare as a primary
    /// or unique key of the type is not checked for duplicates by deltas
    /// (see [`ConsumerBuilder::verify_declared_keys`]); an index without a
    /// key, or with one the blobs do not declare, always is.
    ///
    /// [`ConsumerBuilder::verify_declared_keys`]: crate::ConsumerBuilder::verify_declared_keys
    ///
    /// ```
    /// use std::sync::Arc;
    /// use hollow_runtime::schema::Key;
    /// use hollow_runtime::wire::StructReader;
    /// use hollow_runtime::{IndexKind, IndexSpec, KeyHasher, KeyReader};
    ///
    /// /// Reads `id`, the first word of the record's data section.
    /// struct ById;
    /// impl KeyReader for ById {
    ///     fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8])) {
    ///         h.clear();
    ///         h.write(&r.read_u64(0).to_le_bytes());
    ///         f(h.bytes());
    ///     }
    ///     fn describe(&self, r: &StructReader<'_>) -> String {
    ///         format!("id={}", r.read_u64(0))
    ///     }
    /// }
    ///
    /// let spec = IndexSpec::new("Movie", "MovieById", IndexKind::PrimaryKey, Arc::new(ById))
    ///     .with_key(Key::parse("id").unwrap());
    /// assert_eq!(spec.key().map(|k| k.to_string()).as_deref(), Some("id"));
    /// ```
    pub fn with_key(mut self, key: Key) -> Self {
        self.key = Some(Arc::new(key));
        self
    }

    /// The specs of every index record type `T` declares (primary key
    /// first), as [`IndexSpec::of`] gives each.
    pub fn all_of<T: Indexed>() -> Vec<IndexSpec> {
        struct Specs(Vec<IndexSpec>);
        impl IndexVisitor for Specs {
            fn visit<D: IndexDef>(&mut self) {
                self.0.push(IndexSpec::of::<D>());
            }
        }
        let mut specs = Specs(Vec::new());
        T::visit_indexes(&mut specs);
        specs.0
    }

    /// The spec of a typed index.
    pub fn of<D: IndexDef>() -> Self {
        let mut spec = IndexSpec::new(
            <D::Record as Struct>::TYPE_NAME,
            D::NAME,
            D::KIND,
            Arc::new(TypedKeys::<D>(PhantomData)),
        );
        spec.compiled = Some(crate::read_state::Compiled::of::<D::Record>());
        match D::key() {
            Some(k) => spec.with_key(k),
            None => spec,
        }
    }

    /// The schema key the index reads, if known (see
    /// [`IndexSpec::with_key`]).
    pub fn key(&self) -> Option<&Key> {
        self.key.as_deref()
    }

    /// Whether blobs of schema `schema` vouch that no two records of the
    /// type share this index's key: the index is a primary or unique one,
    /// and its key is declared a primary or unique key of the type.
    pub(crate) fn declared_unique_in(&self, schema: &Schema) -> bool {
        let Some(key) = self.key() else {
            return false;
        };
        if self.kind == IndexKind::Hash {
            return false;
        }
        schema
            .get_struct(&self.type_name)
            .is_some_and(|s| s.primary_key.as_ref() == Some(key) || s.unique_keys.contains(key))
    }

    /// The record type.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The compiled record type a typed index reads keys through.
    pub(crate) fn compiled(&self) -> Option<crate::read_state::Compiled> {
        self.compiled
    }

    /// The index's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind.
    pub fn kind(&self) -> IndexKind {
        self.kind
    }

    /// How keys are read.
    pub fn reader(&self) -> &dyn KeyReader {
        &*self.reader
    }

    fn same(&self, type_name: &str, name: &str) -> bool {
        &*self.type_name == type_name && &*self.name == name
    }
}

struct TypedKeys<D>(PhantomData<fn() -> D>);

impl<D: IndexDef> KeyReader for TypedKeys<D> {
    fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8])) {
        D::each_key(&<D::Record as Struct>::wrap(*r), h, &mut |k: &[u8]| f(k));
    }
    fn describe(&self, r: &StructReader<'_>) -> String {
        D::describe(&<D::Record as Struct>::wrap(*r))
    }
    #[inline]
    fn one_key_hash(&self, r: &StructReader<'_>, h: &mut KeyHasher) -> (u64, usize) {
        let (mut hash, mut n) = (0, 0);
        D::each_key(&<D::Record as Struct>::wrap(*r), h, &mut |k: &[u8]| {
            n += 1;
            hash = crate::record::key_hash(k);
        });
        (hash, n)
    }
}

/// What a view is made from. Not constructed by users.
pub struct IndexBase<'s, D: IndexDef> {
    records: Records<'s, D::Record>,
    data: Option<Arc<IndexData>>,
    error: Option<String>,
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
pub type View<'s, D> = <<D as IndexDef>::Kind as ViewOf<D>>::View<'s>;

#[inline]
fn query_hash<D: IndexDef>(key: &D::Key<'_>, q: &mut KeyHasher) -> u64 {
    q.clear();
    D::encode_key(key, q);
    q.finish()
}

/// The primary- or unique-key index in `data`, if that is one.
fn unique_of(data: Option<&IndexData>) -> Option<&UniqueData> {
    match data {
        Some(IndexData::Unique(u)) => Some(u),
        _ => None,
    }
}

/// A primary- or unique-key index as a view's lookups read it: its data,
/// and what lookups read first resolved once ([`Resolved`]), so a lookup
/// goes through no `Option`, enum or merge check of the data before its
/// first slot.
#[derive(Clone, Debug)]
pub(crate) struct UniqueLookup {
    data: Arc<IndexData>,
    first: Resolved,
}

impl UniqueLookup {
    /// The lookups of `data`, if that is a unique index.
    pub(crate) fn of(data: &Arc<IndexData>) -> Option<UniqueLookup> {
        let first = unique_of(Some(data))?.resolve();
        Some(UniqueLookup {
            data: data.clone(),
            first,
        })
    }

    /// The index's data.
    pub(crate) fn data(&self) -> &IndexData {
        &self.data
    }

    /// The index (`None` never happens: made from a unique index).
    #[inline]
    fn unique(&self) -> Option<&UniqueData> {
        unique_of(Some(&self.data))
    }
}

/// The ordinal, and its record, of the record with key hash `hash` for
/// which `matches` holds (it compares the key).
///
/// The likely record ([`UniqueData::likely_from`]) is read first, in straight
/// code: it is the answer nearly always. Keeping this path short matters
/// beyond its own instructions: a loop of independent lookups runs as many
/// at once as the processor's window holds, so fewer instructions per
/// lookup means more cache misses overlapped.
#[inline(always)]
fn find_unique<'s, T: Struct>(
    records: &Records<'s, T>,
    index: Option<&UniqueLookup>,
    hash: u64,
    matches: impl Fn(&T::Ref<'s>) -> bool,
) -> Option<(u32, T::Ref<'s>)> {
    let index = index?;
    let likely = match index.first.likely(hash) {
        Some(o) => Some(o),
        None => index.unique()?.likely_probing(hash),
    };
    if let Some(o) = likely {
        let r = match records.base_get(o) {
            Some(r) => Some(r),
            None => records.get_moved(o),
        };
        if let Some(r) = r {
            if matches(&r) {
                return Some((o, r));
            }
        }
    }
    find_unique_probing(records, index.unique()?, hash, matches)
}

/// [`find_unique`] by the whole probe, for when the likely record is not
/// the answer (a key absent, or a tag shared with another key).
#[inline(never)]
fn find_unique_probing<'s, T: Struct>(
    records: &Records<'s, T>,
    u: &UniqueData,
    hash: u64,
    matches: impl Fn(&T::Ref<'s>) -> bool,
) -> Option<(u32, T::Ref<'s>)> {
    u.find_map(hash, |o| {
        let r = records.get(o)?;
        matches(&r).then_some((o, r))
    })
}

/// Keys a batch of lookups takes through each stage at once.
const BLOCK: usize = 16;
/// Keys kept between the one answered and the last hashed (a power of
/// two, room for the blocks ahead).
const RING: usize = 8 * BLOCK;
const _: () = assert!(RING.is_power_of_two() && RING >= 4 * BLOCK);
/// [`Lookups::places`] of a key whose likely record is in the base
/// snapshot (at its `words`, from [`Records::base_word`]).
const IN_BASE: u32 = u32::MAX;
/// ... of a key with no likely record.
const NOWHERE: u32 = u32::MAX - 1;
/// ... of a key whose likely record (its `ords`) is not in the base
/// snapshot and not yet found; once found its place is its blob slot
/// ([`Records::moved_word`]; a state never holds nearly 2^32 blobs, so
/// slots stay below these three).
const PENDING: u32 = u32::MAX - 2;

/// [`find_unique`] of many keys, answered in order as the iterator is
/// advanced, in stages a block of keys apart, so the cache misses of
/// neighbouring lookups overlap:
/// 1. a key is hashed and its home slot asked of memory;
/// 2. a block later its likely ordinal ([`UniqueData::likely_from`]) is read
///    from the slots, and that record asked of memory; for a record not
///    in the base snapshot (changed since), where it is;
/// 3. a block later, such a record is found and asked of memory;
/// 4. a block later still the record is compared with the key: the
///    answer, nearly always. Otherwise (a tag shared by two keys, a key
///    absent) the whole lookup runs again.
///
/// The first stages run a block at a time, in short loops, so each key
/// costs few instructions; each answer is handed out while its record is
/// still in the processor's cache, and nothing is collected.
struct Lookups<'a, 's, T: Struct, K, E, M> {
    records: &'a Records<'s, T>,
    data: Option<&'a UniqueData>,
    keys: &'a [K],
    encode: E,
    matches: M,
    /// Key hashes of keys `done..hashed` (at `i % RING`).
    hashes: [u64; RING],
    /// Where the likely record of keys `done..found` is: [`IN_BASE`], a
    /// blob slot, [`PENDING`] or [`NOWHERE`].
    places: [u32; RING],
    /// The word that record starts at, in the base snapshot or its slot.
    words: [usize; RING],
    /// The likely ordinal of a key whose place is [`PENDING`].
    ords: [u32; RING],
    q: KeyHasher,
    /// Keys answered; keys whose likely record was asked for; keys whose
    /// likely ordinal was read; keys hashed.
    done: usize,
    fetched: usize,
    found: usize,
    hashed: usize,
}

impl<'a, 's, T, K, E, M> Lookups<'a, 's, T, K, E, M>
where
    T: Struct,
    E: Fn(&K, &mut KeyHasher),
{
    /// Stages 1 to 3 for the blocks ahead of key `done`.
    #[inline(never)]
    fn advance(&mut self, u: &UniqueData) {
        let n = self.keys.len();
        let first = u.first();
        let hash_to = n.min(self.done + 3 * BLOCK);
        for k in self.hashed..hash_to {
            self.q.clear();
            (self.encode)(&self.keys[k], &mut self.q);
            let h = self.q.finish();
            self.hashes[k % RING] = h;
            first.prefetch(h);
        }
        self.hashed = self.hashed.max(hash_to);
        // Stage 3 before stage 2: it reads what stage 2 asked for a block
        // ago.
        let fetch_to = n.min(self.done + BLOCK);
        for k in self.fetched..fetch_to {
            let at = k % RING;
            if self.places[at] == PENDING {
                match self.records.moved_word(self.ords[at]) {
                    Some((slot, word)) => {
                        self.records.prefetch_moved(slot, word);
                        self.places[at] = slot;
                        self.words[at] = word;
                    }
                    None => self.places[at] = NOWHERE,
                }
            }
        }
        self.fetched = self.fetched.max(fetch_to);
        let find_to = n.min(self.done + 2 * BLOCK);
        for k in self.found..find_to {
            let at = k % RING;
            let place = match u.likely_from(first, self.hashes[at]) {
                Some(o) => match self.records.base_word(o) {
                    Some(w) => {
                        self.records.prefetch_base(w);
                        self.words[at] = w;
                        IN_BASE
                    }
                    None => {
                        self.records.prefetch_location(o);
                        self.ords[at] = o;
                        PENDING
                    }
                },
                None => NOWHERE,
            };
            self.places[at] = place;
        }
        self.found = self.found.max(find_to);
    }
}

impl<'a, 's, T, K, E, M> Iterator for Lookups<'a, 's, T, K, E, M>
where
    T: Struct,
    E: Fn(&K, &mut KeyHasher),
    M: Fn(&T::Ref<'s>, &K) -> bool,
{
    type Item = Option<T::Ref<'s>>;

    // Inlined into the caller's loop: the answer then stays in registers.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let key = self.keys.get(self.done)?;
        let Some(u) = self.data else {
            self.done += 1;
            return Some(None);
        };
        if self.done.is_multiple_of(BLOCK) {
            self.advance(u);
        }
        let at = self.done % RING;
        self.done += 1;
        let matches = &self.matches;
        let likely = match self.places[at] {
            IN_BASE => Some(self.records.base_at(self.words[at])),
            NOWHERE => None,
            // Its likely ordinal was read after stage 3 ran for it (keys
            // of the first block): found now.
            PENDING => self.records.get(self.ords[at]),
            slot => Some(self.records.moved_at(slot, self.words[at])),
        };
        if let Some(r) = likely {
            if matches(&r, key) {
                return Some(Some(r));
            }
        }
        let hash = self.hashes[at];
        Some(find_unique_probing(self.records, u, hash, |r| matches(r, key)).map(|(_, r)| r))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.keys.len() - self.done;
        (left, Some(left))
    }
}

impl<'a, 's, T, K, E, M> ExactSizeIterator for Lookups<'a, 's, T, K, E, M>
where
    T: Struct,
    E: Fn(&K, &mut KeyHasher),
    M: Fn(&T::Ref<'s>, &K) -> bool,
{
}

/// The lookups of `keys`, in order (see [`Lookups`]).
fn lookups<'a, 's, T: Struct, K>(
    records: &'a Records<'s, T>,
    data: Option<&'a IndexData>,
    keys: &'a [K],
    encode: impl Fn(&K, &mut KeyHasher) + 'a,
    matches: impl Fn(&T::Ref<'s>, &K) -> bool + 'a,
) -> impl ExactSizeIterator<Item = Option<T::Ref<'s>>> + 'a
where
    's: 'a,
{
    Lookups {
        records,
        data: unique_of(data),
        keys,
        encode,
        matches,
        hashes: [0; RING],
        places: [NOWHERE; RING],
        words: [0; RING],
        ords: [0; RING],
        q: KeyHasher::new(),
        done: 0,
        fetched: 0,
        found: 0,
        hashed: 0,
    }
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
    #[inline]
    fn find(&self, key: &D::Key<'_>) -> Option<(u32, <D::Record as Value>::Ref<'s>)> {
        let mut q = KeyHasher::new();
        let hash = query_hash::<D>(key, &mut q);
        find_unique(&self.base.records, self.lookup.as_ref(), hash, |r| {
            D::key_matches(r, key)
        })
    }

    /// The record with `key`.
    #[inline]
    pub fn get(&self, key: D::Key<'_>) -> Option<<D::Record as Value>::Ref<'s>> {
        self.get_by(&key)
    }

    /// The record with `*key`.
    #[inline]
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
    fn group(&self, key: &D::Key<'_>) -> Option<&data::Group> {
        let Some(IndexData::Hash(d)) = self.base.data.as_deref() else {
            return None;
        };
        let mut q = KeyHasher::new();
        let hash = query_hash::<D>(key, &mut q);
        let records = &self.base.records;
        let gid = d.table.find(hash, |gid| {
            let Some(g) = d.groups.get(gid) else {
                return false;
            };
            if g.hash != hash {
                return false;
            }
            // The group's key is key `pos` of its representative record.
            records
                .get(g.rep)
                .is_some_and(|r| D::key_at_matches(&r, g.pos, key))
        })?;
        d.groups.get(gid)
    }

    /// The ordinals of the records with `key`, ascending.
    pub fn get_ordinals(&self, key: D::Key<'_>) -> impl Iterator<Item = u32> + '_ {
        self.ordinals(&key)
    }

    /// The ordinals of the group of `key` (none without one).
    fn ordinals(&self, key: &D::Key<'_>) -> posting::Ordinals<'_> {
        self.group(key)
            .map_or_else(posting::Ordinals::empty, |g| g.posting.iter())
    }

    /// The records with `key`, in ordinal order.
    pub fn get(&self, key: D::Key<'_>) -> impl Iterator<Item = <D::Record as Value>::Ref<'s>> + '_ {
        let records = &self.base.records;
        self.ordinals(&key).filter_map(move |o| records.get(o))
    }

    /// How many records have `key`.
    pub fn count(&self, key: D::Key<'_>) -> usize {
        self.group(&key).map_or(0, |g| g.posting.len() as usize)
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
    /// [`KeyReader`]), ascending.
    pub fn ordinals(&self, key: &[u8]) -> Vec<u32> {
        let Some(data) = self.data.as_deref() else {
            return Vec::new();
        };
        let Some(records) = self.state.raw_records(self.spec.type_name()) else {
            return Vec::new();
        };
        let hash = self.spec.reader().hash(key);
        let mut h = KeyHasher::new();
        let mut key_at = |o: u32, pos: u32| {
            records
                .get(o)
                .is_some_and(|r| data::key_at_is(&self.spec, &r, pos, key, &mut h))
        };
        match data {
            IndexData::Unique(t) => t
                .find_map(hash, |o| key_at(o, 0).then_some(o))
                .into_iter()
                .collect(),
            IndexData::Hash(d) => d
                .table
                .find(hash, |gid| {
                    d.groups
                        .get(gid)
                        .is_some_and(|g| g.hash == hash && key_at(g.rep, g.pos))
                })
                .and_then(|gid| d.groups.get(gid))
                .map_or_else(Vec::new, |g| g.posting.iter().collect()),
        }
    }

    /// See [`UniqueIndex::error`].
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

/// One index in one state: built (eagerly, or on first use).
pub(crate) struct IndexSlot {
    pub(crate) spec: IndexSpec,
    pub(crate) data: OnceLock<Result<Arc<IndexData>, String>>,
}

impl IndexSlot {
    pub(crate) fn new(spec: IndexSpec) -> Arc<IndexSlot> {
        Arc::new(IndexSlot {
            spec,
            data: OnceLock::new(),
        })
    }

    pub(crate) fn built(spec: IndexSpec, data: Result<Arc<IndexData>, String>) -> Arc<IndexSlot> {
        let slot = IndexSlot {
            spec,
            data: OnceLock::new(),
        };
        let _ = slot.data.set(data);
        Arc::new(slot)
    }
}

/// How a consumer keeps its indexes (see [`crate::ConsumerBuilder`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IndexOptions {
    /// Build on first use rather than at load.
    pub(crate) lazy: bool,
    /// Check deltas for duplicate keys even where the blobs vouch there
    /// are none.
    pub(crate) verify_keys: bool,
    /// Recompute every type's count and checksum from its records as each
    /// snapshot loads ([`crate::ReadState::check_records`]).
    pub(crate) check_records: bool,
}

/// The indexes of one state.
#[derive(Default)]
pub(crate) struct IndexSet {
    pub(crate) slots: RwLock<Vec<Arc<IndexSlot>>>,
    pub(crate) options: IndexOptions,
}

impl IndexSet {
    pub(crate) fn find(&self, type_name: &str, name: &str) -> Option<Arc<IndexSlot>> {
        self.slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|s| s.spec.same(type_name, name))
            .cloned()
    }

    /// The slot for `spec`, added (unbuilt) if the state has none.
    pub(crate) fn slot(
        &self,
        spec: impl FnOnce() -> IndexSpec,
        type_name: &str,
        name: &str,
    ) -> Arc<IndexSlot> {
        if let Some(s) = self.find(type_name, name) {
            return s;
        }
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.iter().find(|s| s.spec.same(type_name, name)) {
            return s.clone();
        }
        let s = IndexSlot::new(spec());
        slots.push(s.clone());
        s
    }

    pub(crate) fn snapshot(&self) -> Vec<Arc<IndexSlot>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).clone()
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
    pub fn index<D: IndexDef>(&self) -> View<'_, D>
    where
        D::Kind: ViewOf<D>,
    {
        View::<D>::from_base(self.index_base::<D>())
    }

    /// [`ReadState::index`], failing when the index cannot be built.
    ///
    /// # Errors
    /// [`ErrorKind::Schema`]: the index's record type would misread this
    /// state's records (see [`ReadState::try_records`]);
    /// [`ErrorKind::CorruptBlob`]: the state holds two records with one
    /// primary or unique key (only blobs not written by a Hollow producer
    /// can).
    pub fn try_index<D: IndexDef>(&self) -> Result<View<'_, D>, Error>
    where
        D::Kind: ViewOf<D>,
    {
        self.try_records::<D::Record>()?;
        let base = self.index_base::<D>();
        match &base.error {
            Some(e) => Err(Error::new(ErrorKind::CorruptBlob, e.clone())),
            None => Ok(View::<D>::from_base(base)),
        }
    }

    /// An index described at run time (built on first use unless
    /// registered with the consumer; updated by deltas from then on).
    pub fn index_of(&self, spec: &IndexSpec) -> DynIndex<'_> {
        let slot = self
            .index_set()
            .slot(|| spec.clone(), spec.type_name(), spec.name());
        let built = slot.data.get_or_init(|| self.build_index(&slot.spec));
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
        let slot = self
            .index_set()
            .slot(IndexSpec::of::<D>, type_name, D::NAME);
        let built = slot.data.get_or_init(|| self.build_index(&slot.spec));
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
        self.index_cache()
            .get_or_init(|| {
                let data = self.state().index_base::<T::Index>().data;
                data.as_ref().and_then(UniqueLookup::of)
            })
            .as_ref()
    }

    /// The primary-key index as a view.
    pub fn primary_key_index(&self) -> UniqueIndex<'s, T::Index> {
        UniqueIndex::from_base(self.state().index_base::<T::Index>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hollow;
    use std::collections::HashMap;

    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(crate = "crate", primary_key(id), unique(code), hash_index(group))]
    struct Part {
        id: u64,
        code: String,
        group: u32,
    }

    /// The same type (name) as its producer declared it: no unique code.
    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(crate = "crate", rename = "Part", primary_key(id))]
    struct PartAsWritten {
        id: u64,
        code: String,
        group: u32,
    }

    /// A producer over an in-memory store, and a consumer builder reading
    /// what it publishes.
    fn in_memory() -> (crate::Producer, crate::ConsumerBuilder) {
        let store = Arc::new(crate::store::MemoryBlobStore::new());
        let announcer = Arc::new(crate::store::InProcessAnnouncer::new());
        let producer = crate::Producer::builder(store.clone(), announcer.clone()).build();
        (producer, crate::Consumer::builder(store, announcer))
    }

    #[derive(Hollow, Clone, Copy, Debug, PartialEq)]
    #[hollow(crate = "crate")]
    enum Level {
        Low,
        High,
    }

    #[derive(Hollow, Clone, Debug, PartialEq)]
    #[hollow(
        crate = "crate",
        primary_key(id),
        hash_index(tags),
        hash_index(kind),
        hash_index(level)
    )]
    struct Tagged {
        id: u64,
        tags: Vec<String>,
        kind: String,
        level: Level,
    }

    /// A hash-index lookup compares its key with key `pos` of a group's
    /// record only (the derive's `key_at_matches`): exactly that element
    /// of a list, with repeats and empty strings; a scalar key at 0 only;
    /// an enum by the comparison of encodings every type can fall back on.
    #[tokio::test]
    async fn a_hash_index_compares_only_the_key_at_its_position() {
        let (mut producer, consumer) = in_memory();
        let tags = ["a", "", "b", "a"];
        let rec = Tagged {
            id: 7,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            kind: "k".into(),
            level: Level::High,
        };
        producer.run_cycle(|w| w.add(&rec)).await.unwrap();
        let consumer = consumer
            .index::<TaggedByTags>()
            .index::<TaggedByKind>()
            .index::<TaggedByLevel>()
            .build()
            .unwrap();
        consumer.refresh().await.unwrap();
        let state = consumer.current().unwrap();
        let r = state.records::<Tagged>().by_primary_key(&7).unwrap();
        for pos in 0..6u32 {
            for key in ["a", "", "b", "c"] {
                let want = tags.get(pos as usize) == Some(&key);
                assert_eq!(
                    TaggedByTags::key_at_matches(&r, pos, &key),
                    want,
                    "{pos} {key:?}"
                );
            }
            assert_eq!(TaggedByKind::key_at_matches(&r, pos, &"k"), pos == 0);
            assert_eq!(
                TaggedByLevel::key_at_matches(&r, pos, &Ok(Level::High)),
                pos == 0
            );
            assert!(!TaggedByLevel::key_at_matches(&r, pos, &Ok(Level::Low)));
        }
        assert!(!TaggedByKind::key_at_matches(&r, 0, &"a"));
        let by_tags = state.index::<TaggedByTags>();
        for key in ["a", "", "b"] {
            assert_eq!(
                by_tags.get(key).map(|t| t.id()).collect::<Vec<_>>(),
                [7],
                "{key:?}"
            );
        }
        assert_eq!(by_tags.get("c").count(), 0);
        assert_eq!(state.index::<TaggedByKind>().get("k").count(), 1);
        assert_eq!(state.index::<TaggedByKind>().get("a").count(), 0);
        let by_level = state.index::<TaggedByLevel>();
        assert_eq!(by_level.get(Ok(Level::High)).count(), 1);
        assert_eq!(by_level.get(Ok(Level::Low)).count(), 0);
    }

    /// An absent key whose hash has the home slot and tag of a present
    /// one: the slots alone cannot tell them apart, only reading the
    /// record can. Single and batched lookups both find nothing for it.
    #[tokio::test]
    async fn a_key_sharing_home_and_tag_with_another_is_told_apart_by_its_record() {
        let (mut producer, consumer) = in_memory();
        let present: Vec<u64> = (0..300).map(|i| i * 7).collect();
        producer
            .run_cycle(|w| {
                for &id in &present {
                    w.add(&Part {
                        id,
                        code: format!("c{id}"),
                        group: 0,
                    })?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let consumer = consumer.index::<PartPrimaryKey>().build().unwrap();
        consumer.refresh().await.unwrap();
        let state = consumer.current().unwrap();
        let base = state.index_base::<PartPrimaryKey>();
        let Some(IndexData::Unique(u)) = base.data.as_deref() else {
            panic!("no primary-key index")
        };
        let place = |id: u64| u.base_home_and_tag(crate::key_hash(&id.to_le_bytes()));
        let taken: HashMap<(usize, u32), u64> = present.iter().map(|&id| (place(id), id)).collect();
        let (absent, twin) = (1_000_000u64..)
            .find_map(|id| taken.get(&place(id)).map(|&twin| (id, twin)))
            .unwrap();
        let records = state.records::<Part>();
        assert!(records.by_primary_key(&absent).is_none());
        assert_eq!(records.by_primary_key(&twin).map(|p| p.id()), Some(twin));
        // In a batch spanning several blocks, at every position of one.
        let mut keys = present.clone();
        for at in 0..2 * BLOCK {
            keys.insert(at * 5, absent);
        }
        for (k, got) in keys.iter().zip(records.by_primary_keys(&keys)) {
            let want = (*k != absent).then_some(*k);
            assert_eq!(got.map(|p| p.id()), want, "key {k}");
        }
        let pk = records.primary_key_index();
        assert_eq!(
            pk.get_many(&keys).filter(Option::is_none).count(),
            2 * BLOCK
        );
    }

    /// A delta large enough to merge a large index's recent entries into
    /// its base starts that merge in the background; once it finishes,
    /// lookups in the state it was started for read the merged table
    /// alone. Their answers are the same: present, changed, removed and
    /// never-present keys, single and batched, by primary key and by a
    /// unique key, and in the state held from before. A view made while
    /// the merge runs answers the same, and reads the merged table once it
    /// has finished.
    #[tokio::test]
    #[expect(
        clippy::await_holding_lock,
        reason = "only merge threads take the lock, never a task of this runtime"
    )]
    async fn lookups_read_the_merged_table_once_its_background_merge_finishes() {
        let (mut producer, consumer) = in_memory();
        let part = |id: u64, v: u32| Part {
            id,
            code: format!("c{id}v{v}"),
            group: v,
        };
        // Past the size merged in place (`unique::BACKGROUND_MIN`).
        let mut parts: HashMap<u64, Part> = (0..20_000).map(|i| (i * 3, part(i * 3, 1))).collect();
        producer
            .run_cycle(|w| parts.values().try_for_each(|p| w.add(p)))
            .await
            .unwrap();
        let consumer = consumer
            .index::<PartPrimaryKey>()
            .index::<PartByCode>()
            .build()
            .unwrap();
        consumer.refresh().await.unwrap();
        let first = consumer.current().unwrap();
        let before = parts.clone();
        // A tenth changed, a hundredth removed and as many added: well
        // past a sixteenth of the index.
        for i in 0..2_000 {
            parts.insert(i * 30, part(i * 30, 2));
        }
        let removed: Vec<u64> = (0..200).map(|i| i * 30 + 3).collect();
        for id in &removed {
            parts.remove(id);
        }
        for i in 0..200 {
            parts.insert(1_000_000 + i, part(1_000_000 + i, 2));
        }
        producer
            .run_cycle(|w| parts.values().try_for_each(|p| w.add(p)))
            .await
            .unwrap();
        // A view made while the merge runs (held until it is made) reads
        // the base, its stale set and the recent table, and answers the
        // same.
        let hold = unique::HOLD_MERGES
            .write()
            .unwrap_or_else(|p| p.into_inner());
        consumer.refresh().await.unwrap();
        let state = consumer.current().unwrap();
        let early = state.index::<PartPrimaryKey>();
        let lookup = early.lookup.as_ref().expect("a unique index");
        assert!(!lookup.first.reads_merge_of(lookup.unique().unwrap()));
        let early_answers_all = |label: &str| {
            for id in (0..61_000).chain(1_000_000..1_000_300) {
                let want = parts.get(&id).map(|p| p.code.clone());
                let got = early.get(id).map(|p| p.code().to_string());
                assert_eq!(got, want, "{label}: {id}");
            }
        };
        early_answers_all("view");
        drop(hold);
        let merged = |d: Option<&IndexData>| match d {
            Some(IndexData::Unique(u)) => u.wait_merged(),
            _ => panic!("no unique index"),
        };
        assert!(merged(state.index_base::<PartPrimaryKey>().data.as_deref()));
        assert!(merged(state.index_base::<PartByCode>().data.as_deref()));
        // Once it has finished, that view reads the merged table, as a
        // view made now does, and answers the same.
        for view in [&early, &state.index::<PartPrimaryKey>()] {
            let lookup = view.lookup.as_ref().expect("a unique index");
            assert!(lookup.first.reads_merge_of(lookup.unique().unwrap()));
        }
        early_answers_all("merged");
        let check = |s: &crate::ReadState, want: &HashMap<u64, Part>, label: &str| {
            let records = s.records::<Part>();
            let mut ids: Vec<u64> = (0..61_000).chain(1_000_000..1_000_300).collect();
            ids.extend(&removed);
            for (&id, got) in ids.iter().zip(records.by_primary_keys(&ids)) {
                let want = want.get(&id).map(|p| p.code.clone());
                assert_eq!(
                    got.map(|p| p.code().to_string()),
                    want,
                    "{label}: batch {id}"
                );
                let single = records.by_primary_key(&id).map(|p| p.code().to_string());
                assert_eq!(single, want, "{label}: single {id}");
            }
            let by_code = s.index::<PartByCode>();
            for id in (0..61_000).step_by(10) {
                for v in [1, 2] {
                    let code = format!("c{id}v{v}");
                    let want = want.get(&id).filter(|p| p.code == code).map(|p| p.id);
                    assert_eq!(by_code.get(&code).map(|p| p.id()), want, "{label}: {code}");
                }
            }
        };
        check(&state, &parts, "merged");
        check(&first, &before, "held");
    }

    #[test]
    fn only_unique_indexes_on_keys_the_schema_declares_are_vouched_for() {
        let declared = Part::schema();
        let written = PartAsWritten::schema();
        let pk = IndexSpec::of::<PartPrimaryKey>();
        let code = IndexSpec::of::<PartByCode>();
        let group = IndexSpec::of::<PartByGroup>();
        assert!(pk.declared_unique_in(declared));
        assert!(code.declared_unique_in(declared));
        // A hash index is never unique, declared or not.
        assert_eq!(group.key().map(Key::to_string).as_deref(), Some("group"));
        assert!(!group.declared_unique_in(declared));
        // Blobs whose writer did not declare the key vouch for nothing.
        assert!(pk.declared_unique_in(written));
        assert!(!code.declared_unique_in(written));
        // Nor for a spec without a key, or of a type they do not have.
        let keyless = IndexSpec::new("Part", "byId", IndexKind::PrimaryKey, pk.reader.clone());
        assert!(!keyless.declared_unique_in(declared));
        let elsewhere = IndexSpec::new("Other", "byId", IndexKind::PrimaryKey, pk.reader.clone())
            .with_key(Key::parse("id").unwrap());
        assert!(!elsewhere.declared_unique_in(declared));
        // A run-time spec given the declared key is vouched for like a typed one.
        let by_id = keyless.with_key(Key::parse("id").unwrap());
        assert!(by_id.declared_unique_in(declared));
    }
}
