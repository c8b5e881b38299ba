use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(nested)]
struct Tag {
    name: String,
}

#[derive(Hollow)]
#[hollow(hash_index(tags))]
struct Item {
    id: u64,
    tags: Vec<Tag>,
}

fn main() {}
