use std::collections::BTreeMap;

use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Config {
    id: u64,
    values: BTreeMap<Vec<u32>, String>,
}

fn main() {}
