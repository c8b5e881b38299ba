use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key(id.value))]
struct Item {
    id: u64,
    name: String,
}

fn main() {}
