// A `#[hollow(group)]` field and union fields, including a union held by a
// variant of another union.
use hollow_runtime::Hollow;

#[derive(Hollow, Debug, PartialEq)]
#[hollow(group)]
struct Location {
    lat: f64,
    lon: f64,
}

#[derive(Hollow, Debug, PartialEq)]
enum Unit {
    Celsius(f64),
    Kelvin(f64),
}

#[derive(Hollow, Debug, PartialEq)]
enum Reading {
    Missing,
    Temperature(Unit),
    Text(String),
}

#[derive(Hollow, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Sample {
    id: u32,
    location: Location,
    reading: Reading,
    note: String,
}

fn main() {
    let sample = Sample {
        id: 3,
        location: Location {
            lat: 59.3,
            lon: 18.1,
        },
        reading: Reading::Temperature(Unit::Kelvin(300.5)),
        note: "roof".into(),
    };
    let bytes = hollow_runtime::to_canonical_bytes(&sample).unwrap();
    let r = hollow_runtime::read_root::<Sample>(&bytes).unwrap();
    assert_eq!(r.location().lon(), 18.1);
    assert!(matches!(
        r.reading(),
        Ok(ReadingRef::Temperature(Ok(UnitRef::Kelvin(k)))) if k == 300.5
    ));
    assert_eq!(r.note(), "roof");
    assert_eq!(r.to_value().unwrap(), sample);
}
