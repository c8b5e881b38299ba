//! Indexes: primary key, unique keys and hash indexes over the records of a
//! [`ReadState`](crate::ReadState).
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
//! `MovieByTitle`, `hash_index(genres)` gives `MovieByGenres` (a list or
//! set field indexes each element), `hash_index(titles.key)` on a map gives
//! `MovieByTitlesKey` (each of its keys; `titles.value`, each of its
//! values). Keys are borrowed (`&str` for text, a tuple for a composite
//! key).
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
mod lookup;
mod posting;
mod read_ahead;
mod set;
mod slots;
mod table;
mod unique;

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

pub(crate) use data::{key_at_is, Change, IndexData, ReadFn};
pub(crate) use lookup::{find_unique, lookups, GroupOrdinals, LookupRecords, UniqueLookup};
pub(crate) use posting::Ordinals;
pub(crate) use read_ahead::KeyReads;
pub(crate) use set::{IndexOptions, IndexSet, IndexSource, TypeDelta};

pub use hollow_core::index::{
    IndexDef, IndexKind, IndexVisitor, Indexed, ManyRecordsPerKey, OneRecordPerKey, PrimaryKeyed,
    ViewKind,
};

use crate::record::{KeyHasher, Struct};
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
    /// primary or unique key; one per element for a hash index on a list or
    /// a set, one per entry for a hash index on a map's keys or values
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
    compiled: Option<crate::compiled::Compiled>,
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
        spec.compiled = Some(crate::compiled::Compiled::of::<D::Record>());
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
    pub(crate) fn compiled(&self) -> Option<crate::compiled::Compiled> {
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

#[cfg(test)]
mod tests {
    use super::lookup::BLOCK;
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
        let Some(IndexData::Unique(u)) = base.data() else {
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
        let lookup = early.lookup().expect("a unique index");
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
        assert!(merged(state.index_base::<PartPrimaryKey>().data()));
        assert!(merged(state.index_base::<PartByCode>().data()));
        // Once it has finished, that view reads the merged table, as a
        // view made now does, and answers the same.
        for view in [&early, &state.index::<PartPrimaryKey>()] {
            let lookup = view.lookup().expect("a unique index");
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
