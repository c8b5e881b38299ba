use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key(id), sorted)]
struct Movie {
    id: u64,
    #[hollow(skip)]
    title: String,
}

fn main() {}
