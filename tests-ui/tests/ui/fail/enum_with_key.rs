use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(hash_index(Low))]
enum Level {
    Low,
    High,
}

fn main() {}
