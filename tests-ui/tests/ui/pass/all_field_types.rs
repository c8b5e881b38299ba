// A record with a field of every supported type, encoded and read back.
use hollow_runtime::Hollow;

#[derive(Hollow, Debug, PartialEq)]
enum Color {
    Red,
    Green,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(group)]
struct Extent {
    width: u16,
    label: String,
}

#[derive(Hollow, Debug, PartialEq)]
enum Shape {
    Empty,
    Dot(Point),
    Named(String),
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Everything {
    id: u64,
    flag: bool,
    i8_: i8,
    i16_: i16,
    i32_: i32,
    i64_: i64,
    u8_: u8,
    u16_: u16,
    u32_: u32,
    f32_: f32,
    f64_: f64,
    text: String,
    data: Vec<u8>,
    bools: Vec<bool>,
    ints: Vec<i64>,
    floats: Vec<f64>,
    texts: Vec<String>,
    blobs: Vec<Vec<u8>>,
    matrix: Vec<Vec<u32>>,
    point: Point,
    points: Vec<Point>,
    color: Color,
    colors: Vec<Color>,
    maybe_text: Option<String>,
    maybe_data: Option<Vec<u8>>,
    maybe_ints: Option<Vec<u16>>,
    maybe_point: Option<Point>,
    extent: Extent,
    shape: Shape,
}

fn main() {
    let value = Everything {
        id: 1,
        flag: true,
        i8_: -8,
        i16_: -16,
        i32_: -32,
        i64_: -64,
        u8_: 8,
        u16_: 16,
        u32_: 32,
        f32_: 3.5,
        f64_: 6.25,
        text: "hello".into(),
        data: vec![1, 2, 3],
        bools: vec![true, false],
        ints: vec![-1, 2],
        floats: vec![0.5],
        texts: vec!["a".into(), "b".into()],
        blobs: vec![vec![9]],
        matrix: vec![vec![1, 2], vec![3]],
        point: Point { x: 1, y: -1 },
        points: vec![Point { x: 2, y: 3 }],
        color: Color::Green,
        colors: vec![Color::Red, Color::Green],
        maybe_text: Some("there".into()),
        maybe_data: None,
        maybe_ints: Some(vec![7]),
        maybe_point: None,
        extent: Extent {
            width: 640,
            label: "wide".into(),
        },
        shape: Shape::Named("circle".into()),
    };
    let bytes = hollow_runtime::to_canonical_bytes(&value).unwrap();
    let r = hollow_runtime::read_root::<Everything>(&bytes).unwrap();
    assert_eq!(r.id(), 1);
    assert!(r.flag());
    assert_eq!(r.i8_(), -8);
    assert_eq!(r.f64_(), 6.25);
    assert_eq!(r.text(), "hello");
    assert_eq!(r.data(), &[1, 2, 3][..]);
    assert_eq!(r.texts().get(1), Some("b"));
    assert_eq!(r.blobs().get(0), Some(&[9u8][..]));
    assert_eq!(r.matrix().get(0).map(|l| l.len()), Some(2));
    assert_eq!(r.point().y(), -1);
    assert_eq!(r.points().get(0).map(|p| p.x()), Some(2));
    assert_eq!(r.color(), Ok(Color::Green));
    assert_eq!(r.colors().get(0), Some(Ok(Color::Red)));
    assert_eq!(r.maybe_text(), Some("there"));
    assert_eq!(r.maybe_data(), None);
    assert_eq!(r.maybe_ints().map(|l| l.len()), Some(1));
    assert!(r.maybe_point().is_none());
    assert_eq!(r.extent().width(), 640);
    assert_eq!(r.extent().label(), "wide");
    assert!(matches!(r.shape(), Ok(ShapeRef::Named("circle"))));
    assert_eq!(r.to_value().unwrap(), value);
}
