use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key(id), unique(email), hash_index("team"))]
struct User {
    user_id: u64,
    name: String,
}

fn main() {}
