use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Counter {
    id: u64,
    count: usize,
}

fn main() {}
