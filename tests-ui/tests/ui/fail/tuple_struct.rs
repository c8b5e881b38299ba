use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Pair(u64, String);

fn main() {}
