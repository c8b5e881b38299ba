use hollow_runtime::Hollow;

#[derive(Hollow, Clone, PartialEq, PartialOrd)]
#[hollow(nested, map_key)]
struct Point {
    x: i32,
    y: f64,
}

fn main() {}
