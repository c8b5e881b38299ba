use std::collections::BTreeMap;

use hollow_runtime::Hollow;

#[derive(Hollow, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Hollow)]
struct Board {
    id: u64,
    cells: BTreeMap<Point, String>,
}

fn main() {}
