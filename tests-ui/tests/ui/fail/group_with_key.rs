use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(group, primary_key(lat))]
struct Location {
    lat: i64,
    lon: i64,
}

fn main() {}
