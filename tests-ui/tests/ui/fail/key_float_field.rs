use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(primary_key(price))]
struct Quote {
    price: f64,
    symbol: String,
}

fn main() {}
