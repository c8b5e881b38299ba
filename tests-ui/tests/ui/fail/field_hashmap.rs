use std::collections::HashMap;

use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Config {
    id: u64,
    values: HashMap<String, String>,
}

fn main() {}
