use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key(id))]
#[hollow(primary_key(title))]
struct Movie {
    id: u64,
    title: String,
}

fn main() {}
