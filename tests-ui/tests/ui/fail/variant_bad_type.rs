use hollow_runtime::Hollow;

#[derive(Hollow)]
enum Amount {
    Unknown,
    Exact(usize),
}

fn main() {}
