use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Config {
    id: u64,
    #[hollow(entry = "NameEntry")]
    name: String,
}

fn main() {}
