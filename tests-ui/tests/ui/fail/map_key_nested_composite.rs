use hollow_runtime::Hollow;

#[derive(Hollow, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested, map_key)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Hollow, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested, map_key)]
struct Segment {
    from: Point,
    to: Point,
}

fn main() {}
