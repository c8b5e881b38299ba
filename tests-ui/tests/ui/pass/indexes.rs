// Unique keys and hash indexes, including a hash index on a list field
// (each element is indexed) and on a nested path; a record without a
// primary key.
use hollow_runtime::{Hollow, Record};

#[derive(Hollow, Debug, PartialEq)]
enum Plan {
    Free,
    Paid,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Address {
    country: String,
    zip: String,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(
    primary_key(id),
    unique(email),
    unique(handle, plan),
    hash_index(tags),
    hash_index(plan),
    hash_index(address.country)
)]
struct User {
    id: u64,
    email: String,
    handle: String,
    plan: Plan,
    tags: Vec<String>,
    address: Address,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(hash_index(user_id))]
struct Event {
    user_id: u64,
    kind: String,
}

const _: () = assert!(!Event::HAS_PRIMARY_KEY);

fn main() {
    let user = User {
        id: 9,
        email: "a@example.invalid".into(),
        handle: "ada".into(),
        plan: Plan::Paid,
        tags: vec!["admin".into(), "beta".into()],
        address: Address {
            country: "SE".into(),
            zip: "11122".into(),
        },
    };
    assert_eq!(user.primary_key(), 9);
    let bytes = hollow_runtime::to_canonical_bytes(&user).unwrap();
    let r = hollow_runtime::read_root::<User>(&bytes).unwrap();
    assert_eq!(r.email(), "a@example.invalid");
    assert_eq!(r.tags().iter().collect::<Vec<_>>(), ["admin", "beta"]);
    assert_eq!(r.plan(), Ok(Plan::Paid));
    assert_eq!(r.address().country(), "SE");
    assert!(User::CAPNP_SCHEMA.contains("struct User"));

    let event = Event {
        user_id: 9,
        kind: "login".into(),
    };
    let () = event.primary_key();
    let bytes = hollow_runtime::to_canonical_bytes(&event).unwrap();
    let r = hollow_runtime::read_root::<Event>(&bytes).unwrap();
    assert_eq!(r.kind(), "login");
}
