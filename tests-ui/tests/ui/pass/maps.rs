// Map and set fields through `hollow_runtime`: every key kind, a renamed
// entry struct, a map in a group, and the lookups.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use hollow_runtime::Hollow;

#[derive(Hollow, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Region {
    Eu,
    Us,
}

#[derive(Hollow, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested, map_key)]
struct Slot {
    region: Region,
    day: u16,
    name: String,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(group)]
struct Flags {
    by_region: BTreeMap<Region, bool>,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Product {
    id: u64,
    #[hollow(entry = "Attribute")]
    attributes: HashMap<String, String>,
    tags: BTreeSet<String>,
    bytes: HashSet<Vec<u8>>,
    schedule: BTreeMap<Slot, Vec<u32>>,
    flags: Flags,
}

fn main() {
    let p = Product {
        id: 1,
        attributes: HashMap::from([("color".into(), "red".into())]),
        tags: BTreeSet::from(["new".into()]),
        bytes: HashSet::from([vec![1, 2]]),
        schedule: BTreeMap::from([(
            Slot { region: Region::Us, day: 3, name: "a".into() },
            vec![7],
        )]),
        flags: Flags { by_region: BTreeMap::from([(Region::Eu, true)]) },
    };
    let bytes = hollow_runtime::to_canonical_bytes(&p).unwrap();
    let r = hollow_runtime::read_root::<Product>(&bytes).unwrap();
    let attributes: hollow_runtime::MapRef<'_, String, String> = r.attributes();
    assert_eq!(attributes.get(&"color"), Some("red"));
    let tags: hollow_runtime::SetRef<'_, String> = r.tags();
    assert!(tags.contains(&"new"));
    assert!(r.bytes().contains(&&[1u8, 2][..]));
    let slot = Slot { region: Region::Us, day: 3, name: "a".into() };
    assert_eq!(r.schedule().get_owned(&slot).map(|l| l.len()), Some(1));
    assert_eq!(r.flags().by_region().get_owned(&Region::Eu), Some(true));
    assert_eq!(r.to_value().unwrap(), p);
    assert!(Product::CAPNP_SCHEMA.contains("struct Attribute {"));
    assert!(Product::CAPNP_SCHEMA.contains("struct FlagsByRegionEntry {"));
}
