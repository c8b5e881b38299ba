use hollow_runtime::Hollow;

#[derive(Hollow)]
#[allow(non_snake_case)]
struct Clash {
    foo_bar: u32,
    fooBar: u32,
}

fn main() {}
