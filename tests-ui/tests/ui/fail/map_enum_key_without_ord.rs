use std::collections::HashMap;

use hollow_runtime::Hollow;

#[derive(Hollow, Clone, PartialEq, Eq, Hash)]
enum Region {
    Eu,
    Us,
}

#[derive(Hollow)]
struct Stock {
    id: u64,
    by_region: HashMap<Region, u32>,
}

fn main() {}
