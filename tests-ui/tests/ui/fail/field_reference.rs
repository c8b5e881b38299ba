use hollow_runtime::Hollow;

#[derive(Hollow)]
struct Named {
    id: u64,
    name: &'static str,
}

fn main() {}
