use std::collections::BTreeSet;

use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Readings {
    id: u64,
    values: BTreeSet<f64>,
}

fn main() {}
