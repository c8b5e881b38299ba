// Raw identifiers (`r#type`) and fields named like Cap'n Proto keywords
// (`using`, `interface`, `annotation`), also in keys.
use hollow_runtime::{Hollow, Record};

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(r#type, using), hash_index(interface))]
struct Token {
    r#type: u32,
    using: String,
    interface: Vec<String>,
    annotation: bool,
    r#struct: u8,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(type))]
struct Plain {
    r#type: u64,
}

fn main() {
    let t = Token {
        r#type: 4,
        using: "std".into(),
        interface: vec!["Read".into()],
        annotation: true,
        r#struct: 2,
    };
    assert_eq!(t.primary_key(), (4, "std".to_string()));
    let bytes = hollow_runtime::to_canonical_bytes(&t).unwrap();
    let r = hollow_runtime::read_root::<Token>(&bytes).unwrap();
    assert_eq!(r.r#type(), 4);
    assert_eq!(r.using(), "std");
    assert!(r.annotation());
    assert_eq!(r.r#struct(), 2);
    assert!(Token::CAPNP_SCHEMA.contains("type @0 :UInt32;"));
    assert_eq!(Plain { r#type: 8 }.primary_key(), 8);
}
