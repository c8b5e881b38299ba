use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Marker;

fn main() {}
