use hollow_runtime::Hollow;

struct Plain {
    x: u32,
}

#[derive(Hollow)]
struct Holder {
    id: u64,
    plain: Plain,
}

fn main() {}
