use std::collections::BTreeMap;

use hollow_runtime::Hollow;

// A path into a map names its entries' `key` or `value`, and only a hash
// index, on that one path, may take one.
#[derive(Hollow)]
#[hollow(
    primary_key(id),
    hash_index(titles),
    hash_index(titles.name),
    hash_index(titles.key.len),
    hash_index(titles.value, id),
    unique(titles.key)
)]
struct Movie {
    id: u64,
    titles: BTreeMap<String, String>,
}

fn main() {}
