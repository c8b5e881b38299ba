// `#[hollow(nested)]`: a struct used inside records (as a field, a list
// element, an optional field), encoded as a Cap'n Proto struct but not a
// record type itself.
use hollow_runtime::{Hollow, Struct};

#[derive(Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Money {
    cents: i64,
    currency: String,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Line {
    sku: u32,
    price: Money,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Order {
    id: u64,
    total: Money,
    lines: Vec<Line>,
    discount: Option<Money>,
}

fn main() {
    let order = Order {
        id: 10,
        total: Money {
            cents: 1999,
            currency: "EUR".into(),
        },
        lines: vec![Line {
            sku: 4,
            price: Money {
                cents: 1999,
                currency: "EUR".into(),
            },
        }],
        discount: None,
    };
    let bytes = hollow_runtime::to_canonical_bytes(&order).unwrap();
    let r = hollow_runtime::read_root::<Order>(&bytes).unwrap();
    assert_eq!(r.total().currency(), "EUR");
    assert_eq!(r.lines().get(0).map(|l| l.price().cents()), Some(1999));
    assert!(r.discount().is_none());
    assert_eq!(<Money as Struct>::TYPE_NAME, "Money");
    // A nested struct can be a message root of its own.
    let bytes = hollow_runtime::to_canonical_bytes(&order.total).unwrap();
    let m = hollow_runtime::read_root::<Money>(&bytes).unwrap();
    assert_eq!(m.cents(), 1999);
}
