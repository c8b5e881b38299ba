// Composite primary keys and keys through a nested struct (`actor.id`,
// also written as a string).
use hollow_runtime::{Hollow, Record};

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(region, sku))]
struct Stock {
    region: String,
    sku: u32,
    count: u64,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Actor {
    id: u64,
    name: String,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(actor.id))]
struct Role {
    actor: Actor,
    character: String,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key("actor.id, character"))]
struct Credit {
    actor: Actor,
    character: String,
}

fn main() {
    let stock = Stock {
        region: "eu".into(),
        sku: 7,
        count: 3,
    };
    assert_eq!(stock.primary_key(), ("eu".to_string(), 7));
    let bytes = hollow_runtime::to_canonical_bytes(&stock).unwrap();
    let r = hollow_runtime::read_root::<Stock>(&bytes).unwrap();
    assert_eq!(Stock::primary_key_ref(&r), ("eu", 7));
    assert_eq!(r.count(), 3);

    let role = Role {
        actor: Actor {
            id: 42,
            name: "Ada".into(),
        },
        character: "Countess".into(),
    };
    assert_eq!(role.primary_key(), 42);
    let bytes = hollow_runtime::to_canonical_bytes(&role).unwrap();
    let r = hollow_runtime::read_root::<Role>(&bytes).unwrap();
    assert_eq!(Role::primary_key_ref(&r), 42);
    assert_eq!(r.actor().name(), "Ada");

    let credit = Credit {
        actor: Actor {
            id: 5,
            name: "Bob".into(),
        },
        character: "Builder".into(),
    };
    assert_eq!(credit.primary_key(), (5, "Builder".to_string()));
    let bytes = hollow_runtime::to_canonical_bytes(&credit).unwrap();
    let r = hollow_runtime::read_root::<Credit>(&bytes).unwrap();
    assert_eq!(Credit::primary_key_ref(&r), (5, "Builder"));
}
