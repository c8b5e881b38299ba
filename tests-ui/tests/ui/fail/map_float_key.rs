use std::collections::HashMap;

use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Config {
    id: u64,
    values: HashMap<f64, String>,
}

fn main() {}
