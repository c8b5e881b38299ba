use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key())]
struct Item {
    id: u64,
}

fn main() {}
