use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key(id, tags))]
struct Post {
    id: u64,
    tags: Vec<String>,
}

fn main() {}
