use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Person {
    id: u64,
    age: Option<u64>,
}

fn main() {}
