// `#[hollow(rename = "...")]` on a type, a field, an enum variant and a
// union variant: the Cap'n Proto names change, the Rust API does not.
use hollow_runtime::Hollow;

#[derive(Hollow, Debug, PartialEq)]
#[hollow(rename = "Tone")]
enum Color {
    #[hollow(rename = "crimson")]
    Red,
    Blue,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(rename = "Payload")]
enum Body {
    Empty,
    #[hollow(rename = "utf8")]
    Text(String),
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(rename = "Film", primary_key(id))]
struct Movie {
    id: u64,
    #[hollow(rename = "name")]
    title: String,
    color: Color,
    body: Body,
}

fn main() {
    let movie = Movie {
        id: 1,
        title: "Heat".into(),
        color: Color::Red,
        body: Body::Text("plot".into()),
    };
    let bytes = hollow_runtime::to_canonical_bytes(&movie).unwrap();
    let r = hollow_runtime::read_root::<Movie>(&bytes).unwrap();
    assert_eq!(r.title(), "Heat");
    assert_eq!(r.color(), Ok(Color::Red));
    let schema: &str = &Movie::CAPNP_SCHEMA;
    assert!(schema.contains("struct Film"), "{schema}");
    assert!(schema.contains("name @1 :Text;"), "{schema}");
    assert!(schema.contains("enum Tone"), "{schema}");
    assert!(schema.contains("crimson @0;"), "{schema}");
    assert!(schema.contains("utf8 @"), "{schema}");
}
