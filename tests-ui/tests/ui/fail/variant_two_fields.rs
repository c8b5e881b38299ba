use hollow_runtime::Hollow;

#[derive(Hollow)]
enum Shape {
    Empty,
    Rect(u32, u32),
}

fn main() {}
