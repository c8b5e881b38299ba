use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Wrapper<T> {
    id: u64,
    value: T,
}

fn main() {}
