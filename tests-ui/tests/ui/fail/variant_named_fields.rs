use hollow_runtime::Hollow;

#[derive(Hollow)]
enum Shape {
    Empty,
    Circle { radius: f64 },
}

fn main() {}
