use hollow_runtime::Hollow;

#[derive(Hollow)]
#[hollow(nested)]
struct Price {
    amount: f64,
    currency: String,
}

#[derive(Hollow)]
#[hollow(unique(price.amount))]
struct Item {
    id: u64,
    price: Price,
}

fn main() {}
