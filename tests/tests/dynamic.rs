//! The schema-driven dynamic reader against the derived code.
//!
//! For every test type, random records are encoded, read back through the
//! generated accessors into owned values, and turned into JSON by the
//! independent oracle of `hollow_tests::json`; the dynamic reader's JSON of
//! the same bytes, with only the schema to go on, must be equal. Also: its
//! primary keys equal the derived ones and parse back from text; comparing
//! two records gives exactly the changes that turn the first's JSON into the
//! second's; the schema it reads from a published blob's header gives the
//! same; and bad schemas and bad bytes give errors, never panics.

use std::sync::Arc;

use hollow_runtime::dynamic::{DynamicErrorKind, DynamicSchema, FieldChange};
use hollow_runtime::schema::{Field, FieldKind, Schema, Type, TypeDef};
use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::wire::StructReader;
use hollow_runtime::{read_root, to_canonical_bytes, Producer, Record, Struct};
use hollow_tests::json::ToJson;
use hollow_tests::{dataset, strategy, AllTypes, Event, Movie, Role, Shipment, Stock};
use proptest::prelude::*;
use serde_json::Value as Json;

/// The record read through the derived accessor, as owned.
fn typed<T: Struct>(bytes: &[u8]) -> T {
    T::from_ref(read_root::<T>(bytes).expect("a root")).expect("known enum values")
}

/// JSON text parsed back: what a script reading the output sees.
fn reparsed(v: &Json) -> Json {
    serde_json::from_str(&v.to_string()).expect("JSON")
}

/// Checks the dynamic JSON of `value` (through `T::schema()`) against the
/// oracle, in both the value and the streamed text form.
fn check_json<T: Record + ToJson>(value: &T) {
    let bytes = to_canonical_bytes(value).expect("encodes");
    let back: T = typed(&bytes);
    let expected = reparsed(&back.to_json());
    let schema = DynamicSchema::new(T::schema()).expect("schema interprets");
    let t = schema.record_type(T::TYPE_NAME).expect("type");
    let rec = schema.record(t, StructReader::root(&bytes).expect("root"));
    let as_value = rec.to_json().expect("reads");
    assert_eq!(reparsed(&as_value), expected, "{} value", T::TYPE_NAME);
    let mut text = Vec::new();
    rec.write_json(&mut text).expect("writes");
    let streamed: Json = serde_json::from_slice(&text).expect("JSON text");
    assert_eq!(streamed, expected, "{} text", T::TYPE_NAME);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn movie_json(v in strategy::movie()) { check_json(&v); }

    #[test]
    fn actor_json(v in strategy::actor()) { check_json(&v); }

    #[test]
    fn all_types_json(v in strategy::all_types()) { check_json(&v); }

    #[test]
    fn shipment_json(v in strategy::shipment()) { check_json(&v); }

    #[test]
    fn event_json(v in strategy::event()) { check_json(&v); }

    #[test]
    fn stock_json(v in strategy::stock()) { check_json(&v); }

    #[test]
    fn role_json(v in strategy::role()) { check_json(&v); }
}

/// Navigates `json` along a dotted path.
fn at<'j>(json: &'j Json, path: &str) -> Option<&'j Json> {
    path.split('.').try_fold(json, |j, seg| j.get(seg))
}

/// Applies one change to `json` (sets the path, or removes it when the
/// change has no new value).
fn apply(json: &mut Json, c: &FieldChange) {
    let segs: Vec<&str> = c.path.split('.').collect();
    let (last, parents) = segs.split_last().expect("a path");
    let mut j = json;
    for s in parents {
        j = j.get_mut(*s).expect("parent exists");
    }
    let obj = j.as_object_mut().expect("an object");
    match &c.new {
        Some(v) => {
            obj.insert((*last).to_owned(), v.clone());
        }
        None => {
            obj.remove(*last);
        }
    }
}

/// The changes from `a` to `b` must be exactly what turns `a`'s JSON into
/// `b`'s, each old value must be `a`'s, and equal records give none.
fn check_compare<T: Record + ToJson>(a: &T, b: &T) {
    let (ba, bb) = (
        to_canonical_bytes(a).unwrap(),
        to_canonical_bytes(b).unwrap(),
    );
    let schema = DynamicSchema::new(T::schema()).unwrap();
    let t = schema.record_type(T::TYPE_NAME).unwrap();
    let ra = schema.record(t, StructReader::root(&ba).unwrap());
    let rb = schema.record(t, StructReader::root(&bb).unwrap());
    assert!(
        ra.compare(&ra).unwrap().is_empty(),
        "a record equals itself"
    );
    let changes = ra.compare(&rb).unwrap();
    let (ja, jb) = (ra.to_json().unwrap(), rb.to_json().unwrap());
    let mut patched = ja.clone();
    for c in &changes {
        if let Some(old) = &c.old {
            assert_eq!(at(&ja, &c.path), Some(old), "old value of {}", c.path);
        } else {
            assert_eq!(at(&ja, &c.path), None, "{} absent before", c.path);
        }
        apply(&mut patched, c);
    }
    assert_eq!(patched, jb, "changes {changes:?} turn a into b");
    assert_eq!(changes.is_empty(), ba == bb, "no change iff equal bytes");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn compare_movies(a in strategy::movie(), b in strategy::movie()) { check_compare(&a, &b); }

    #[test]
    fn compare_all_types(a in strategy::all_types(), b in strategy::all_types()) {
        check_compare(&a, &b);
    }

    #[test]
    fn compare_shipments(a in strategy::shipment(), b in strategy::shipment()) {
        check_compare(&a, &b);
    }

    #[test]
    fn compare_events(a in strategy::event(), b in strategy::event()) { check_compare(&a, &b); }

    #[test]
    fn compare_roles(a in strategy::role(), b in strategy::role()) { check_compare(&a, &b); }

    #[test]
    fn keys_match_the_derived_ones(m in strategy::movie(), s in strategy::stock(), r in strategy::role()) {
        let key_of = |schema: &DynamicSchema, name: &str, bytes: &[u8]| {
            let t = schema.record_type(name).unwrap();
            schema.record(t, StructReader::root(bytes).unwrap()).key().unwrap().unwrap()
        };
        let movies = DynamicSchema::new(Movie::schema()).unwrap();
        let t = movies.record_type("Movie").unwrap();
        let k = key_of(&movies, "Movie", &to_canonical_bytes(&m).unwrap());
        prop_assert_eq!(&k, &movies.parse_key(t, &m.primary_key().to_string()).unwrap());
        prop_assert_eq!(k.to_string(), m.id.to_string());

        let stocks = DynamicSchema::new(Stock::schema()).unwrap();
        let t = stocks.record_type("Stock").unwrap();
        let k = key_of(&stocks, "Stock", &to_canonical_bytes(&s).unwrap());
        let (region, sku) = s.primary_key();
        let as_array = serde_json::json!([region, sku]).to_string();
        prop_assert_eq!(&k, &stocks.parse_key(t, &as_array).unwrap());
        if !region.contains(',') {
            prop_assert_eq!(&k, &stocks.parse_key(t, &format!("{region},{sku}")).unwrap());
            prop_assert_eq!(k.to_string(), format!("{region},{sku}"));
        }

        let roles = DynamicSchema::new(Role::schema()).unwrap();
        let t = roles.record_type("Role").unwrap();
        let k = key_of(&roles, "Role", &to_canonical_bytes(&r).unwrap());
        prop_assert_eq!(&k, &roles.parse_key(t, &r.actor.id.to_string()).unwrap());
    }

    /// Random bytes read as any test type: an error or a value, no panic.
    #[test]
    fn untrusted_bytes_never_panic(words in proptest::collection::vec(any::<u64>(), 1..64)) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        for schema in [AllTypes::schema(), Event::schema(), Shipment::schema(), Role::schema()] {
            let d = DynamicSchema::new(schema).unwrap();
            for name in d.record_types().map(str::to_owned).collect::<Vec<_>>() {
                let t = d.record_type(&name).unwrap();
                if let Ok(r) = StructReader::root(&bytes) {
                    let rec = d.record(t, r);
                    let _ = rec.to_json();
                    let _ = rec.key();
                    let _ = rec.compare(&rec);
                    let _ = rec.write_json(std::io::sink());
                }
            }
        }
    }
}

#[test]
fn key_parse_errors_say_what_the_key_is() {
    let stocks = DynamicSchema::new(Stock::schema()).unwrap();
    let t = stocks.record_type("Stock").unwrap();
    let e = stocks.parse_key(t, "eu").unwrap_err();
    assert_eq!(e.kind(), DynamicErrorKind::Key);
    assert!(e.to_string().contains("region (Text), sku (UInt32)"), "{e}");
    let e = stocks.parse_key(t, "eu,x").unwrap_err();
    assert!(
        e.to_string()
            .contains("\"x\" is not a valid UInt32 for sku"),
        "{e}"
    );
    let e = stocks.parse_key(t, "eu,4294967296").unwrap_err();
    assert!(e.to_string().contains("out of range"), "{e}");
    let e = stocks.record_type("Stok").unwrap_err();
    assert_eq!(e.kind(), DynamicErrorKind::UnknownType);
    assert!(e.to_string().contains("record types are Stock"), "{e}");
}

/// A schema that refers to a type it does not define, or puts a field
/// outside its struct, is refused with the type and field named.
#[test]
fn uninterpretable_schemas_are_refused_naming_type_and_field() {
    let mut schema: Schema = Movie::schema().clone();
    let Some(TypeDef::Struct(movie)) = schema.types.iter_mut().find(|t| t.name() == "Movie") else {
        panic!("Movie in its schema")
    };
    let genres = movie
        .fields
        .iter_mut()
        .find(|f| f.name == "genres")
        .unwrap();
    if let FieldKind::Slot(s) = &mut genres.kind {
        s.ty = Type::List(Box::new(Type::Struct("Genre".into())));
    }
    let e = DynamicSchema::new(&schema).unwrap_err();
    assert_eq!(e.kind(), DynamicErrorKind::Schema);
    assert!(
        e.to_string().contains("type Movie, field genres")
            && e.to_string().contains("struct Genre"),
        "{e}"
    );

    let mut schema: Schema = Movie::schema().clone();
    let Some(TypeDef::Struct(movie)) = schema.types.iter_mut().find(|t| t.name() == "Movie") else {
        panic!("Movie in its schema")
    };
    movie.fields.push(Field::slot("extra", 99, Type::UInt64));
    if let FieldKind::Slot(s) = &mut movie.fields.last_mut().unwrap().kind {
        s.offset = 40;
    }
    let e = DynamicSchema::new(&schema).unwrap_err();
    assert!(
        e.to_string().contains("type Movie, field extra") && e.to_string().contains("outside"),
        "{e}"
    );
}

/// Every record of every test type published by a producer, read with the
/// schema from the blob header, equals the oracle's JSON of the record read
/// through the generated accessors.
#[test]
fn records_from_a_blob_header_schema_match_the_derived_reads() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let rt = dataset::runtime();
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let mut movies = Vec::new();
    let mut all = Vec::new();
    let mut shipments = Vec::new();
    let mut events = Vec::new();
    let mut stocks = Vec::new();
    let mut roles = Vec::new();
    for i in 0..40u64 {
        let mut m = strategy::movie().new_tree(&mut runner).unwrap().current();
        m.id = i;
        movies.push(m);
        let mut a = strategy::all_types()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        a.id = i;
        all.push(a);
        let mut s = strategy::shipment()
            .new_tree(&mut runner)
            .unwrap()
            .current();
        s.id = i;
        shipments.push(s);
        let mut e = strategy::event().new_tree(&mut runner).unwrap().current();
        e.id = i;
        events.push(e);
        let mut s = strategy::stock().new_tree(&mut runner).unwrap().current();
        s.sku = i as u32;
        stocks.push(s);
        let mut r = strategy::role().new_tree(&mut runner).unwrap().current();
        r.actor.id = i;
        roles.push(r);
    }
    rt.block_on(producer.run_cycle(|w| {
        movies.iter().try_for_each(|v| w.add(v))?;
        all.iter().try_for_each(|v| w.add(v))?;
        shipments.iter().try_for_each(|v| w.add(v))?;
        events.iter().try_for_each(|v| w.add(v))?;
        stocks.iter().try_for_each(|v| w.add(v))?;
        roles.iter().try_for_each(|v| w.add(v))
    }))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let consumer = dataset::consumer(store, announcer, dir.path());
    rt.block_on(consumer.refresh()).unwrap();
    let state = consumer.current().unwrap();
    let schema = DynamicSchema::new(state.schema()).unwrap();
    let mut seen = 0;
    fn each<T: Record + ToJson>(
        state: &hollow_runtime::ReadState,
        schema: &DynamicSchema,
        seen: &mut usize,
    ) {
        let t = schema.record_type(T::TYPE_NAME).unwrap();
        let raw = state.raw_records(T::TYPE_NAME).unwrap();
        for (o, r) in state.records::<T>().iter() {
            let owned = T::from_ref(r).unwrap();
            let rec = schema.record(t, raw.get(o).unwrap());
            assert_eq!(
                reparsed(&rec.to_json().unwrap()),
                reparsed(&owned.to_json()),
                "{} ordinal {o}",
                T::TYPE_NAME
            );
            *seen += 1;
        }
    }
    each::<Movie>(&state, &schema, &mut seen);
    each::<AllTypes>(&state, &schema, &mut seen);
    each::<Shipment>(&state, &schema, &mut seen);
    each::<Event>(&state, &schema, &mut seen);
    each::<Stock>(&state, &schema, &mut seen);
    each::<Role>(&state, &schema, &mut seen);
    assert!(seen >= 6 * 35, "{seen} records checked");
}
