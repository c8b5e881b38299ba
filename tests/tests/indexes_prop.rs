//! Property test of the indexes against a naive oracle: random sequences of
//! producer cycles over a record type with a primary key, a unique key,
//! hash indexes on a list (repeated elements, empty strings), a scalar, a
//! nested path, an enum and a composite key, plus a run-time index whose
//! hash sends every key to one of three values (colliding hashes).
//!
//! At every version, every lookup (keys present, removed, and never
//! present) is checked against the oracle in:
//! - a consumer registering the type (indexes built at load, then updated
//!   by each delta), following each version by deltas;
//! - a consumer with lazy indexes that registers nothing (indexes built on
//!   first use, then updated by deltas);
//! - a consumer like the first that checks every delta for duplicate keys
//!   (`verify_declared_keys`), where the others trust the keys the blobs
//!   declare;
//! - a fresh consumer loading the version from its snapshot.
//!
//! Then every state held along the way is checked again (readers holding
//! old states keep the old answers), and the first consumer walks back
//! through reverse deltas, checked at each version.
//!
//! Two cases in three cut the type's records into several sections
//! (shards by ordinal range) at a small limit, so every index is built
//! from, and updated by, sharded snapshots, deltas and reverse deltas.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hollow_runtime::store::{BlobName, InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::wire::StructReader;
use hollow_runtime::{
    Consumer, Hollow, IndexKind, IndexSpec, KeyHasher, KeyPart, KeyReader, Producer, ReadState,
    Struct,
};
use hollow_tests::shards;
use proptest::prelude::*;

/// An enum key.
#[derive(Hollow, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// First.
    Plain,
    /// Second.
    Special,
}

/// A nested struct (an index follows `owner.region`).
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(nested)]
pub struct Owner {
    /// Indexed through a nested path.
    pub region: String,
    /// Not indexed.
    pub uid: u32,
}

/// The record type under test.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(
    primary_key(id),
    unique(code),
    hash_index(tags),
    hash_index(group),
    hash_index(owner.region),
    hash_index(kind),
    hash_index(group, code)
)]
pub struct Item {
    /// Primary key.
    pub id: u64,
    /// Unique (may be empty).
    pub code: String,
    /// Each element indexed (repeats allowed).
    pub tags: Vec<String>,
    /// Hash-indexed scalar.
    pub group: u16,
    /// Nested.
    pub owner: Owner,
    /// Enum.
    pub kind: Kind,
}

const IDS: u64 = 24;
const NEVER_IDS: u64 = 30;
const TAGS: [&str; 5] = ["", "a", "b", "c", "never"];
const REGIONS: [&str; 4] = ["", "eu", "us", "mars"];
const GROUPS: u16 = 5;

fn code(i: u64) -> String {
    if i == 0 {
        String::new()
    } else {
        format!("c{i}")
    }
}

/// Run-time index on `tags` whose hash has three values.
struct CollidingTags;

impl KeyReader for CollidingTags {
    fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8])) {
        for t in Item::wrap(*r).tags().iter() {
            h.clear();
            <String as KeyPart>::hash_key_ref(&t, h);
            f(h.bytes());
        }
    }
    fn describe(&self, _r: &StructReader<'_>) -> String {
        "tags".into()
    }
    fn hash(&self, key: &[u8]) -> u64 {
        ((key.len() % 3) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// Run-time unique index on `code`, all keys one hash.
struct CollidingCode;

impl KeyReader for CollidingCode {
    fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8])) {
        h.clear();
        <String as KeyPart>::hash_key_ref(&Item::wrap(*r).code(), h);
        f(h.bytes());
    }
    fn describe(&self, r: &StructReader<'_>) -> String {
        format!("code={:?}", Item::wrap(*r).code())
    }
    fn hash(&self, _key: &[u8]) -> u64 {
        42
    }
}

fn colliding_specs() -> (IndexSpec, IndexSpec) {
    (
        IndexSpec::new(
            "Item",
            "collidingTags",
            IndexKind::Hash,
            Arc::new(CollidingTags),
        ),
        IndexSpec::new(
            "Item",
            "collidingCode",
            IndexKind::Unique,
            Arc::new(CollidingCode),
        ),
    )
}

fn encode_text(s: &str) -> Vec<u8> {
    let mut h = KeyHasher::new();
    <String as KeyPart>::hash_key(&s.to_string(), &mut h);
    h.bytes().to_vec()
}

/// One record slot of a version: kept from the previous version, or new
/// values (absent when `present` is false).
#[derive(Clone, Debug)]
struct Draw {
    keep: bool,
    present: bool,
    tags: Vec<usize>,
    group: u16,
    region: usize,
    special: bool,
}

fn draw() -> impl Strategy<Value = Draw> {
    (
        proptest::bool::weighted(0.6),
        proptest::bool::weighted(0.7),
        proptest::collection::vec(0..4usize, 0..5),
        0..GROUPS - 1,
        0..3usize,
        any::<bool>(),
    )
        .prop_map(|(keep, present, tags, group, region, special)| Draw {
            keep,
            present,
            tags,
            group,
            region,
            special,
        })
}

/// A version: a draw per id, and the shift of the codes (so unique keys
/// move between records).
fn version() -> impl Strategy<Value = (Vec<Draw>, u64)> {
    (proptest::collection::vec(draw(), IDS as usize), 0..3u64)
}

fn build(prev: &BTreeMap<u64, Item>, draws: &[Draw], shift: u64) -> BTreeMap<u64, Item> {
    let mut out = BTreeMap::new();
    for (id, d) in (0..IDS).zip(draws) {
        let code = code((id + shift) % IDS);
        if d.keep {
            if let Some(old) = prev.get(&id) {
                // Keep the record, but its code must follow the shift to
                // stay unique: a changed unique key when the shift moved.
                let mut item = old.clone();
                item.code = code;
                out.insert(id, item);
                continue;
            }
        }
        if d.present {
            out.insert(
                id,
                Item {
                    id,
                    code,
                    tags: d.tags.iter().map(|&t| TAGS[t].to_string()).collect(),
                    group: d.group,
                    owner: Owner {
                        region: REGIONS[d.region].to_string(),
                        uid: id as u32,
                    },
                    kind: if d.special {
                        Kind::Special
                    } else {
                        Kind::Plain
                    },
                },
            );
        }
    }
    out
}

fn ids<'a>(it: impl Iterator<Item = ItemRef<'a>>) -> BTreeSet<u64> {
    it.map(|r| r.id()).collect()
}

/// Every lookup of `state` against the oracle `items`.
fn check(state: &ReadState, items: &BTreeMap<u64, Item>, label: &str) {
    let ctx = format!("{label}, version {}", state.version());
    let records = state.records::<Item>();
    let pk = records.primary_key_index();
    assert_eq!(pk.error(), None, "{ctx}");
    for id in 0..NEVER_IDS {
        let got = records.by_primary_key(&id).map(|r| r.to_value().unwrap());
        assert_eq!(got.as_ref(), items.get(&id), "{ctx}: primary key {id}");
        assert_eq!(
            pk.get(id).map(|r| r.id()),
            items.get(&id).map(|i| i.id),
            "{ctx}"
        );
    }
    // Batched lookups answer as single ones, whatever the order of the
    // keys and however many blocks they span (each key twice, present
    // and absent ones interleaved).
    let keys: Vec<u64> = (0..NEVER_IDS).chain((0..NEVER_IDS).rev()).collect();
    let by_code_keys: Vec<String> = (0..IDS + 3).map(code).collect();
    let batch = records.by_primary_keys(&keys);
    assert_eq!(batch.len(), keys.len(), "{ctx}");
    for (id, got) in keys.iter().zip(batch) {
        assert_eq!(
            got.map(|r| r.to_value().unwrap()).as_ref(),
            items.get(id),
            "{ctx}: primary key {id} in a batch"
        );
    }
    let code_refs: Vec<&str> = by_code_keys.iter().map(String::as_str).collect();
    let by_code_view = state.index::<ItemByCode>();
    for (c, got) in code_refs.iter().zip(by_code_view.get_many(&code_refs)) {
        let want = items.values().find(|it| it.code == *c).map(|it| it.id);
        assert_eq!(got.map(|r| r.id()), want, "{ctx}: code {c:?} in a batch");
    }
    let by_code = state.index::<ItemByCode>();
    let (tags_spec, code_spec) = colliding_specs();
    let colliding_code = state.index_of(&code_spec);
    let colliding_tags = state.index_of(&tags_spec);
    for i in 0..IDS + 3 {
        let c = code(i);
        let want = items.values().find(|it| it.code == c).map(|it| it.id);
        assert_eq!(by_code.get(&c).map(|r| r.id()), want, "{ctx}: code {c:?}");
        let got: Vec<u64> = colliding_code
            .ordinals(&encode_text(&c))
            .into_iter()
            .map(|o| records.get(o).unwrap().id())
            .collect();
        assert_eq!(
            got,
            want.into_iter().collect::<Vec<_>>(),
            "{ctx}: colliding code {c:?}"
        );
        for g in 0..GROUPS {
            let want: BTreeSet<u64> = items
                .values()
                .filter(|it| it.group == g && it.code == c)
                .map(|it| it.id)
                .collect();
            let got = ids(state.index::<ItemByGroupCode>().get((g, &c)));
            assert_eq!(got, want, "{ctx}: group {g} code {c:?}");
        }
    }
    let by_tags = state.index::<ItemByTags>();
    for t in TAGS {
        let want: BTreeSet<u64> = items
            .values()
            .filter(|it| it.tags.iter().any(|x| x == t))
            .map(|it| it.id)
            .collect();
        assert_eq!(ids(by_tags.get(t)), want, "{ctx}: tag {t:?}");
        assert_eq!(by_tags.count(t), want.len(), "{ctx}: tag {t:?}");
        let got: BTreeSet<u64> = colliding_tags
            .ordinals(&encode_text(t))
            .into_iter()
            .map(|o| records.get(o).unwrap().id())
            .collect();
        assert_eq!(got, want, "{ctx}: colliding tag {t:?}");
    }
    for g in 0..GROUPS {
        let want: BTreeSet<u64> = items
            .values()
            .filter(|it| it.group == g)
            .map(|it| it.id)
            .collect();
        assert_eq!(
            ids(state.index::<ItemByGroup>().get(g)),
            want,
            "{ctx}: group {g}"
        );
    }
    for r in REGIONS {
        let want: BTreeSet<u64> = items
            .values()
            .filter(|it| it.owner.region == r)
            .map(|it| it.id)
            .collect();
        assert_eq!(
            ids(state.index::<ItemByOwnerRegion>().get(r)),
            want,
            "{ctx}: region {r:?}"
        );
    }
    for k in [Kind::Plain, Kind::Special] {
        let want: BTreeSet<u64> = items
            .values()
            .filter(|it| it.kind == k)
            .map(|it| it.id)
            .collect();
        assert_eq!(
            ids(state.index::<ItemByKind>().get(Ok(k))),
            want,
            "{ctx}: kind {k:?}"
        );
    }
}

/// Checks that the blobs of version `v` in `store` were cut into sections
/// at `limit` bytes; the most sections a type has in one.
fn check_cut(store: &MemoryBlobStore, v: u64, limit: u64) -> usize {
    let mut most = 0;
    for name in store.names() {
        if name.to_version() == v || name.from_version() == v {
            let bytes = store.get(name).expect("a published blob");
            most = most.max(shards::assert_cut_at(
                &name.to_string(),
                &bytes,
                limit,
                2048,
            ));
        }
    }
    most
}

fn run(versions: Vec<(Vec<Draw>, u64)>, shard_limit: Option<u64>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        let builder = Producer::builder(store.clone(), announcer.clone());
        let mut producer = match shard_limit {
            Some(limit) => builder.shard_limit(limit),
            None => builder,
        }
        .build();
        // The most sections the type had in a blob.
        let mut shards_seen = 0;
        let (tags_spec, code_spec) = colliding_specs();
        let eager = Consumer::builder(store.clone(), announcer.clone())
            .record_type::<Item>()
            .index_spec(tags_spec)
            .index_spec(code_spec)
            .build()
            .unwrap();
        let lazy = Consumer::builder(store.clone(), announcer.clone())
            .lazy_indexes(true)
            .build()
            .unwrap();
        // Checks every delta for duplicate keys, where the others trust
        // the keys the blobs declare.
        let verifying = Consumer::builder(store.clone(), announcer.clone())
            .record_type::<Item>()
            .verify_declared_keys(true)
            .build()
            .unwrap();
        let mut oracle: BTreeMap<u64, BTreeMap<u64, Item>> = BTreeMap::new();
        let mut held: Vec<Arc<ReadState>> = Vec::new();
        let mut prev = BTreeMap::new();
        for (draws, shift) in versions {
            let items = build(&prev, &draws, shift);
            let out = producer
                .run_cycle(|w| {
                    for it in items.values() {
                        w.add(it)?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
            prev = items.clone();
            let Some(v) = out.version else {
                continue;
            };
            if let Some(limit) = shard_limit {
                shards_seen = shards_seen.max(check_cut(&store, v, limit));
            }
            oracle.insert(v, items);
            for (c, label) in [
                (&eager, "eager"),
                (&lazy, "lazy"),
                (&verifying, "verifying"),
            ] {
                c.refresh_to(v).await.unwrap();
                let state = c.current().unwrap();
                if oracle.len() > 1 {
                    assert!(
                        state
                            .blob_names()
                            .iter()
                            .any(|b| matches!(b, BlobName::Delta { .. })),
                        "{label} consumer reached version {v} by a delta"
                    );
                }
                check(&state, &oracle[&v], label);
                held.push(state);
            }
        }
        // No refresh fell back to a snapshot because a delta failed.
        assert_eq!(
            eager.metrics().failures,
            0,
            "eager consumer refresh failures"
        );
        assert_eq!(lazy.metrics().failures, 0, "lazy consumer refresh failures");
        assert_eq!(
            verifying.metrics().failures,
            0,
            "verifying consumer refresh failures"
        );
        // Readers holding old states keep the old answers.
        for s in &held {
            check(s, &oracle[&s.version()], "held");
        }
        // Fresh snapshots of every version.
        for (&v, items) in &oracle {
            let fresh = Consumer::builder(store.clone(), announcer.clone())
                .record_type::<Item>()
                .build()
                .unwrap();
            fresh.refresh_to(v).await.unwrap();
            check(&fresh.current().unwrap(), items, "fresh");
        }
        // Back through reverse deltas (snapshots of all but the last
        // version removed, so the planner must walk back).
        let last = oracle.keys().next_back().copied();
        for &v in oracle.keys() {
            if Some(v) != last {
                store.remove(BlobName::Snapshot(v));
            }
        }
        for (&v, items) in oracle.iter().rev().skip(1) {
            eager.refresh_to(v).await.unwrap();
            let state = eager.current().unwrap();
            assert!(
                state
                    .blob_names()
                    .iter()
                    .any(|b| matches!(b, BlobName::ReverseDelta { .. })),
                "version {v} reached by a reverse delta"
            );
            check(&state, items, "reverse");
        }
        if shard_limit.is_some() {
            // Items of 24 ids take more than 512 bytes: some version was
            // sharded.
            assert!(shards_seen > 1, "no blob was cut into shards");
        }
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn indexes_match_the_oracle_at_every_version(
        versions in proptest::collection::vec(version(), 2..7),
        shard in 0..3usize,
    ) {
        run(versions, [None, Some(256), Some(512)][shard]);
    }
}
