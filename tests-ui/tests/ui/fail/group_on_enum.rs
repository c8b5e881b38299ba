use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(group)]
enum Level {
    Low,
    High,
}

fn main() {}
