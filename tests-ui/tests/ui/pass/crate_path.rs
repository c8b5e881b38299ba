// `#[hollow(crate = "...")]`: the runtime reached through another path, as
// an extern crate alias and as a module re-export.
use hollow_runtime::Hollow;

extern crate hollow_runtime as hr;

mod rt {
    pub use hollow_runtime::*;
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(crate = "hr")]
enum Kind {
    A,
    B,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(crate = "hr", primary_key(id))]
struct Aliased {
    id: u64,
    kind: Kind,
    names: Vec<String>,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(crate = "crate::rt", group)]
struct Span {
    start: u32,
    end: u32,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(crate = "crate::rt")]
enum Either {
    Left(u32),
    Right(String),
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(crate = "crate::rt", primary_key(id), hash_index(tags))]
struct Reexported {
    id: u64,
    span: Span,
    either: Either,
    tags: Vec<u32>,
}

fn main() {
    let a = Aliased {
        id: 1,
        kind: Kind::B,
        names: vec!["x".into()],
    };
    let bytes = hr::to_canonical_bytes(&a).unwrap();
    let r = hr::read_root::<Aliased>(&bytes).unwrap();
    assert_eq!(r.kind(), Ok(Kind::B));
    assert_eq!(<Aliased as hr::Record>::primary_key(&a), 1);

    let b = Reexported {
        id: 2,
        span: Span { start: 3, end: 5 },
        either: Either::Right("r".into()),
        tags: vec![1, 2],
    };
    let bytes = hollow_runtime::to_canonical_bytes(&b).unwrap();
    let r = hollow_runtime::read_root::<Reexported>(&bytes).unwrap();
    assert_eq!(r.span().end(), 5);
    assert!(matches!(r.either(), Ok(EitherRef::Right("r"))));
    assert_eq!(r.to_value().unwrap(), b);
}
