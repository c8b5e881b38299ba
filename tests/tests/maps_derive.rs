//! Map and set fields of derived records through a real producer and
//! consumer: snapshots, deltas and reverse deltas carry them, and the
//! consumer reads them back in place with their lookups.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Hollow, Producer, ReadState, Record};
use hollow_tests::dataset::{self, by_key};

#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Region {
    Eu,
    Us,
    Apac,
}

/// A composite key: region, then day.
#[derive(Hollow, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested, map_key)]
struct Slot {
    region: Region,
    day: u16,
}

#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Item {
    id: u64,
    titles: BTreeMap<String, String>,
    tags: BTreeSet<String>,
    stock: HashMap<Region, u32>,
    regions: HashSet<Region>,
    schedule: BTreeMap<Slot, Vec<String>>,
    nested: BTreeMap<String, BTreeMap<i32, String>>,
}

const REGIONS: [Region; 3] = [Region::Eu, Region::Us, Region::Apac];

/// Item `id` of round `round`: the maps' sizes and contents vary with both
/// (some items empty).
fn item(id: u64, round: u64) -> Item {
    let n = ((id + round) % 4) as usize;
    let locales = ["fr", "en", "de", "日本"];
    Item {
        id,
        titles: locales[..n]
            .iter()
            .map(|l| (l.to_string(), format!("{id} in {l} r{round}")))
            .collect(),
        tags: (0..n)
            .map(|i| format!("tag{}", (id + i as u64) % 5))
            .collect(),
        stock: REGIONS[..n.min(3)]
            .iter()
            .map(|r| (*r, (id * round) as u32))
            .collect(),
        regions: REGIONS[3 - n.min(3)..].iter().copied().collect(),
        schedule: (0..n as u16)
            .map(|d| {
                let slot = Slot {
                    region: REGIONS[(d as usize + id as usize) % 3],
                    day: d * 7,
                };
                (slot, vec![format!("show{d}"); d as usize])
            })
            .collect(),
        nested: (0..n)
            .map(|i| {
                let inner = (0..i as i32).map(|j| (-j, format!("{j}"))).collect();
                (format!("k{i}"), inner)
            })
            .collect(),
    }
}

fn items(round: u64) -> BTreeMap<u64, Item> {
    (1..=12).map(|id| (id, item(id, round))).collect()
}

/// Every lookup of every item in `state` agrees with the oracle.
fn assert_lookups(state: &ReadState, oracle: &BTreeMap<u64, Item>) {
    assert_eq!(&by_key::<Item>(state), oracle);
    for (_, r) in state.records::<Item>().iter() {
        let want = &oracle[&Item::primary_key_ref(&r)];
        for (k, v) in &want.titles {
            assert_eq!(r.titles().get(&k.as_str()), Some(v.as_str()));
        }
        assert_eq!(r.titles().get(&"es"), None);
        assert!(r.titles().keys().eq(want.titles.keys().map(String::as_str)));
        for t in ["tag0", "tag3", "none"] {
            assert_eq!(r.tags().contains(&t), want.tags.contains(t), "{t}");
        }
        for region in REGIONS {
            assert_eq!(
                r.stock().get_owned(&region),
                want.stock.get(&region).copied()
            );
            assert_eq!(
                r.regions().contains_owned(&region),
                want.regions.contains(&region)
            );
        }
        for (slot, shows) in &want.schedule {
            let read: Vec<&str> = r.schedule().get_owned(slot).unwrap().iter().collect();
            assert_eq!(read, *shows);
        }
        let missing = Slot {
            region: Region::Us,
            day: 1,
        };
        assert!(!r.schedule().contains_key_owned(&missing));
        for (k, inner) in &want.nested {
            let m = r.nested().get(&k.as_str()).unwrap();
            assert!(m.iter().eq(inner.iter().map(|(j, s)| (*j, s.as_str()))));
        }
    }
}

#[tokio::test]
async fn map_and_set_fields_round_trip_through_snapshots_and_deltas() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = dataset::consumer(store.clone(), announcer.clone(), &tmp.path().join("c"));
    let mut rounds = Vec::new();
    for round in 1..=4u64 {
        let oracle = items(round);
        let version = producer
            .run_cycle(|w| oracle.values().try_for_each(|i| w.add(i)))
            .await
            .unwrap()
            .version;
        assert_eq!(version, Some(round));
        // Forward: a snapshot, then deltas.
        assert_eq!(consumer.refresh().await.unwrap(), Some(round));
        assert_lookups(&consumer.current().unwrap(), &oracle);
        rounds.push(oracle);
    }
    // Backward: reverse deltas.
    for round in (1..=3u64).rev() {
        assert_eq!(consumer.refresh_to(round).await.unwrap(), round);
        assert_lookups(&consumer.current().unwrap(), &rounds[round as usize - 1]);
    }
}

#[test]
fn the_schema_declares_the_entries_and_marks() {
    let text: &str = &Item::CAPNP_SCHEMA;
    for line in [
        "titles @1 :List(ItemTitlesEntry) $Hollow.map;",
        "tags @2 :List(Text) $Hollow.set;",
        "stock @3 :List(ItemStockEntry) $Hollow.map;",
        "regions @4 :List(Region) $Hollow.set;",
        "schedule @5 :List(ItemScheduleEntry) $Hollow.map;",
        "nested @6 :List(ItemNestedEntry) $Hollow.map;",
        "value @1 :List(ItemNestedEntryValueEntry) $Hollow.map;",
        "key @0 :Slot;",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
}
