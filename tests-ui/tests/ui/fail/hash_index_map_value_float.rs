use std::collections::BTreeMap;

use hollow_runtime::Hollow;

// A map's values are hash indexed only when each is a key type.
#[derive(Hollow)]
#[hollow(primary_key(id), hash_index(scores.value))]
struct Movie {
    id: u64,
    scores: BTreeMap<String, f64>,
}

fn main() {}
