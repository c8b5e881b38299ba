use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(group, nested)]
struct Location {
    lat: i64,
    lon: i64,
}

fn main() {}
