use std::collections::BTreeMap;

use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(group)]
struct Extent {
    width: u16,
    height: u16,
}

#[derive(Hollow)]
struct Board {
    id: u64,
    extents: BTreeMap<String, Extent>,
}

fn main() {
    let b = Board { id: 1, extents: BTreeMap::new() };
    let _ = hollow_runtime::to_canonical_bytes(&b);
}
