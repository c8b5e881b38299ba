use std::collections::BTreeMap;

use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Config {
    id: u64,
    layers: Vec<BTreeMap<String, String>>,
}

fn main() {}
