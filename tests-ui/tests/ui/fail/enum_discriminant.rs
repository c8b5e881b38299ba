use hollow_runtime::Hollow;

#[derive(Hollow)]
enum Level {
    Low = 0,
    Mid = 5,
    High,
}

fn main() {}
