//! Proves `hollow-schema` against the official Cap'n Proto compiler, run as
//! WebAssembly by `capnpc-embedded`:
//!
//! - (a) for hundreds of random structs (every value type, groups, named and
//!   unnamed unions, unions in unions, groups in unions), `assign_layout`
//!   gives exactly the compiler's offsets, discriminant offsets and section
//!   sizes, and where our layout reports Cap'n Proto issue 344 the compiler
//!   refuses the struct too;
//! - (b) `from_request(compile(to_capnp(schema)))` gives back the schema:
//!   names, types, docs, keys, record flags and offsets;
//! - (c) unsupported schemas are refused with errors naming file, struct and
//!   field;
//! - (d) `schemas/hollow.capnp` compiles and its annotations are recognized.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use capnp::schema_capnp::{code_generator_request, node};
use hollow_schema::layout::LayoutError;
use hollow_schema::{
    assign_layout, file_id_for, from_request, to_capnp, validate, EnumType, Enumerant, Field,
    FieldKind, Key, Schema, StructType, Type, TypeDef, Union, HOLLOW_FILE_ID,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

/// Structs per compiled file.
const BATCH: usize = 60;

/// The folder holding `hollow.capnp`.
fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .canonicalize()
        .expect("schemas/ exists")
}

/// Compiles `text` as `name` with `schemas/` on the import path; returns the
/// serialized `CodeGeneratorRequest` (the compiler's own messages go to
/// stderr).
fn compile(name: &str, text: &str) -> Result<Vec<u8>, String> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hollow-schema-compiler-layout-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    let result = capnpc_embedded::CompileCommand::new()
        .file(&path)
        .src_prefix(&dir)
        .import_path(&dir)
        .import_path(schemas_dir())
        .compile()
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    result
}

// ---------------------------------------------------------------------------
// Random structs

/// The shape of one member before names and ordinals are given.
#[derive(Clone, Debug)]
enum Shape {
    Slot(Type),
    Group(Vec<Shape>),
    Union(Vec<Shape>),
}

/// One random struct.
#[derive(Clone, Debug)]
struct StructGen {
    fields: Vec<Shape>,
    /// The unnamed union's members and where its ordinals fall among the
    /// top-level fields' (it is always written last).
    unnamed: Option<(Vec<Shape>, prop::sample::Index)>,
    is_record: bool,
    docs: Vec<Option<String>>,
}

fn scalar() -> impl Strategy<Value = Type> {
    prop_oneof![
        2 => Just(Type::Void),
        4 => Just(Type::Bool),
        3 => Just(Type::Int8),
        3 => Just(Type::UInt8),
        3 => Just(Type::Int16),
        3 => Just(Type::UInt16),
        3 => Just(Type::Int32),
        3 => Just(Type::UInt32),
        2 => Just(Type::Float32),
        3 => Just(Type::Int64),
        3 => Just(Type::UInt64),
        2 => Just(Type::Float64),
        2 => Just(Type::Enum("Color".into())),
        2 => Just(Type::Text),
        1 => Just(Type::Data),
        1 => Just(Type::Struct("Leaf".into())),
    ]
}

fn value_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        12 => scalar(),
        2 => scalar().prop_map(|t| Type::List(Box::new(t))),
        1 => Just(Type::List(Box::new(Type::List(Box::new(Type::Struct(
            "Leaf".into()
        )))))),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    value_type()
        .prop_map(Shape::Slot)
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Shape::Group),
                prop::collection::vec(inner, 2..5).prop_map(Shape::Union),
            ]
        })
}

fn doc() -> impl Strategy<Value = Option<String>> {
    prop::option::weighted(0.3, "[A-Za-z0-9 ,.()]{0,24}(\n[a-z ]{0,12}){0,2}")
}

fn struct_gen() -> impl Strategy<Value = StructGen> {
    (
        prop::collection::vec(shape(), 0..9),
        prop::option::weighted(
            0.3,
            (
                prop::collection::vec(shape(), 2..5),
                any::<prop::sample::Index>(),
            ),
        ),
        any::<bool>(),
        prop::collection::vec(doc(), 7),
    )
        .prop_map(|(fields, unnamed, is_record, docs)| StructGen {
            fields,
            unnamed,
            is_record,
            docs,
        })
}

/// Gives members names (`f0`, `f1`, … unique in the struct) and ordinals in
/// pre-order.
struct Namer<'a> {
    next_name: usize,
    next_ordinal: u16,
    docs: &'a [Option<String>],
}

impl Namer<'_> {
    fn field(&mut self, shape: &Shape) -> Field {
        let name = format!("f{}", self.next_name);
        self.next_name += 1;
        let mut f = match shape {
            Shape::Slot(ty) => {
                self.next_ordinal += 1;
                Field::slot(name, self.next_ordinal - 1, ty.clone())
            }
            Shape::Group(members) => {
                Field::group(name, members.iter().map(|m| self.field(m)).collect())
            }
            Shape::Union(members) => {
                Field::union(name, members.iter().map(|m| self.field(m)).collect())
            }
        };
        f.doc = self.docs[self.next_name % self.docs.len()].clone();
        f
    }
}

/// Paths of top-level and grouped value fields that may be keys.
fn keyable(fields: &[Field], prefix: &str, out: &mut Vec<(String, Type)>) {
    for f in fields {
        match &f.kind {
            FieldKind::Slot(s) => {
                let ok = !matches!(s.ty, Type::Void | Type::Struct(_) | Type::List(_))
                    && !s.ty.is_float();
                if ok {
                    out.push((format!("{prefix}{}", f.name), s.ty.clone()));
                }
            }
            FieldKind::Group(g) => keyable(&g.fields, &format!("{prefix}{}.", f.name), out),
            FieldKind::Union(_) => {}
        }
    }
}

fn build_struct(name: String, g: &StructGen) -> StructType {
    let mut namer = Namer {
        next_name: 0,
        next_ordinal: 0,
        docs: &g.docs,
    };
    let mut s = StructType::new(name);
    s.doc = g.docs[0].clone();
    s.is_record = g.is_record;
    let split = g
        .unnamed
        .as_ref()
        .map_or(g.fields.len(), |(_, at)| at.index(g.fields.len() + 1));
    for shape in &g.fields[..split] {
        s.fields.push(namer.field(shape));
    }
    if let Some((variants, _)) = &g.unnamed {
        s.unnamed_union = Some(Union::new(
            variants.iter().map(|v| namer.field(v)).collect(),
        ));
    }
    for shape in &g.fields[split..] {
        s.fields.push(namer.field(shape));
    }
    if g.is_record {
        let mut keys = Vec::new();
        keyable(&s.fields, "", &mut keys);
        if let Some((first, _)) = keys.first() {
            s.primary_key = Some(Key::parse(first).unwrap());
        }
        if keys.len() >= 3 {
            let unique = format!("{},{}", keys[1].0, keys[2].0);
            s.unique_keys.push(Key::parse(&unique).unwrap());
        }
        if let Some((last, _)) = keys.last() {
            s.hash_indexes.push(Key::parse(last).unwrap());
        }
    }
    s
}

/// The helper types every generated file declares.
fn helpers() -> Vec<TypeDef> {
    let mut leaf = StructType::new("Leaf");
    leaf.fields.push(Field::slot("x", 0, Type::UInt32));
    let color = EnumType {
        name: "Color".into(),
        doc: Some("Some colors.".into()),
        enumerants: ["red", "green", "blue"]
            .iter()
            .map(|n| Enumerant {
                name: (*n).into(),
                doc: None,
            })
            .collect(),
    };
    vec![TypeDef::Enum(color), TypeDef::Struct(leaf)]
}

fn schema_of(structs: impl IntoIterator<Item = StructType>) -> Schema {
    let mut schema = Schema::new();
    schema.types = helpers();
    schema
        .types
        .extend(structs.into_iter().map(TypeDef::Struct));
    schema
}

fn count_unions(fields: &[Field], depth: usize, nested: &mut usize) -> usize {
    fields
        .iter()
        .map(|f| match &f.kind {
            FieldKind::Slot(_) => 0,
            FieldKind::Group(g) => count_unions(&g.fields, depth, nested),
            FieldKind::Union(u) => {
                if depth > 0 {
                    *nested += 1;
                }
                1 + count_unions(&u.variants, depth + 1, nested)
            }
        })
        .sum()
}

/// Lays out, writes, compiles and reads back one batch; returns (structs
/// compared, structs refused for issue 344).
fn check_batch(batch: usize, gens: &[StructGen]) -> (usize, usize) {
    let mut good = Vec::new();
    let mut issue344 = Vec::new();
    for (i, g) in gens.iter().enumerate() {
        let s = build_struct(format!("S{i}"), g);
        let mut alone = schema_of([s]);
        match assign_layout(&mut alone) {
            Ok(()) => good.push(alone.types.pop().unwrap()),
            Err(e) if e.layout_error() == Some(LayoutError::Issue344) => issue344.push(g.clone()),
            Err(e) => panic!(
                "unexpected layout error: {e}\n{}",
                to_capnp(&alone, 1 << 63)
            ),
        }
    }
    let mut expected = schema_of([]);
    expected.types.extend(good);
    assign_layout(&mut expected).unwrap();
    if let Err(e) = validate(&expected) {
        panic!(
            "generated schema is invalid:\n{e}\n{}",
            to_capnp(&expected, 1 << 63)
        );
    }
    let name = format!("batch{batch}.capnp");
    let text = to_capnp(&expected, file_id_for(&name));
    let request = match compile(&name, &text) {
        Ok(r) => r,
        Err(e) => panic!("{e}; structs the compiler refuses:\n{}", refused(&expected)),
    };
    let actual = from_request(&request).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(actual.types.len(), expected.types.len());
    for (a, x) in actual.types.iter().zip(&expected.types) {
        if a != x {
            let one = Schema {
                types: vec![x.clone()],
            };
            panic!(
                "compiler and IR disagree on {}:\n{}\ncompiler: {a:#?}\nours: {x:#?}",
                x.name(),
                to_capnp(&one, 1 << 63)
            );
        }
    }
    // Where we predict issue 344, the compiler must refuse the struct.
    for g in &issue344 {
        let one = schema_of([build_struct("S".into(), g)]);
        let text = to_capnp(&one, file_id_for("issue344"));
        assert!(
            compile("issue344.capnp", &text).is_err(),
            "our layout reports issue 344 but the compiler accepts:\n{text}"
        );
    }
    (expected.types.len() - 2, issue344.len())
}

/// Compiles each struct alone to name the ones the compiler refuses.
fn refused(schema: &Schema) -> String {
    let mut out = String::new();
    for def in &schema.types[2..] {
        let one = schema_of([match def {
            TypeDef::Struct(s) => s.clone(),
            TypeDef::Enum(_) => continue,
        }]);
        let text = to_capnp(&one, 1 << 63);
        if compile("one.capnp", &text).is_err() {
            out.push_str(&text);
        }
    }
    out
}

/// (a) and (b): random structs, compiled in batches of [`BATCH`]. Five
/// batches by default; `PROPTEST_CASES=N` runs N (a deeper search).
#[test]
fn random_structs_match_the_compiler() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 16,
        ..Config::default()
    });
    let batches = AtomicUsize::new(0);
    let compared = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    let result = runner.run(&prop::collection::vec(struct_gen(), BATCH), |gens| {
        let batch = batches.fetch_add(1, Ordering::Relaxed);
        let (n, r) = check_batch(batch, &gens);
        compared.fetch_add(n, Ordering::Relaxed);
        refused.fetch_add(r, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (n, r) = (compared.into_inner(), refused.into_inner());
    eprintln!("compared {n} random structs with the compiler; {r} refused for issue 344");
    assert!(n >= 200, "only {n} random structs compared");
}

#[test]
fn generated_batches_cover_nested_unions() {
    // A fixed sample of the generator, to show what the random test covers.
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let gens = prop::collection::vec(struct_gen(), BATCH)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let (mut unions, mut nested, mut unnamed) = (0, 0, 0);
    for (i, g) in gens.iter().enumerate() {
        let s = build_struct(format!("S{i}"), g);
        unions += count_unions(&s.fields, 0, &mut nested);
        unnamed += usize::from(s.unnamed_union.is_some());
    }
    assert!(
        unions > 20 && nested > 3 && unnamed > 5,
        "{unions} {nested} {unnamed}"
    );
}

/// A struct hitting issue 344: our layout refuses it, and so does the compiler.
#[test]
fn issue_344_is_refused_like_the_compiler() {
    // struct S { u :union { b :group { p @0 :UInt8; q @1 :UInt64; }
    //                       g :union { x @2 :UInt8; y @3 :UInt16; } } }
    let mut s = StructType::new("S");
    s.fields.push(Field::union(
        "u",
        vec![
            Field::group(
                "b",
                vec![
                    Field::slot("p", 0, Type::UInt8),
                    Field::slot("q", 1, Type::UInt64),
                ],
            ),
            Field::union(
                "g",
                vec![
                    Field::slot("x", 2, Type::UInt8),
                    Field::slot("y", 3, Type::UInt16),
                ],
            ),
        ],
    ));
    let mut schema = schema_of([s]);
    let err = assign_layout(&mut schema).unwrap_err();
    assert_eq!(err.layout_error(), Some(LayoutError::Issue344), "{err}");
    assert!(err.message().starts_with("struct S:"), "{err}");
    let text = to_capnp(&schema, file_id_for("issue344"));
    assert!(compile("issue344.capnp", &text).is_err(), "{text}");
}

// ---------------------------------------------------------------------------
// (b) a hand-written round trip with every annotation

#[test]
fn round_trips_records_keys_docs_and_nested_types() {
    let mut person = StructType::new("Person");
    person.doc = Some("Someone in a film.\n\n  Indented second paragraph.".into());
    person
        .fields
        .push(Field::slot("id", 0, Type::UInt32).with_doc("Stable id."));
    person.fields.push(Field::slot("name", 1, Type::Text));
    let mut movie = StructType::new("Movie");
    movie.is_record = true;
    movie.doc = Some("A film.".into());
    movie.fields.push(Field::slot("id", 0, Type::UInt64));
    movie.fields.push(Field::slot("title", 1, Type::Text));
    movie.fields.push(Field::slot(
        "genres",
        2,
        Type::List(Box::new(Type::Enum("Genre".into()))),
    ));
    movie
        .fields
        .push(Field::slot("lead", 3, Type::Struct("Person".into())));
    movie.fields.push(
        Field::group(
            "release",
            vec![
                Field::slot("year", 4, Type::UInt16),
                Field::slot("region", 5, Type::Text),
            ],
        )
        .with_doc("When and where."),
    );
    movie.unnamed_union = Some(Union::new(vec![
        Field::slot("unrated", 6, Type::Void),
        Field::slot("rating", 7, Type::Float32).with_doc("Out of ten."),
    ]));
    movie.primary_key = Some(Key::parse("id").unwrap());
    movie
        .unique_keys
        .push(Key::parse("title,release.year").unwrap());
    movie.hash_indexes.push(Key::parse("genres").unwrap());
    movie.hash_indexes.push(Key::parse("lead.id").unwrap());
    let genre = EnumType {
        name: "Genre".into(),
        doc: None,
        enumerants: vec![
            Enumerant {
                name: "drama".into(),
                doc: Some("Serious.".into()),
            },
            Enumerant {
                name: "comedy".into(),
                doc: None,
            },
        ],
    };
    let mut schema = Schema::new();
    schema.types.push(TypeDef::Struct(movie));
    schema.types.push(TypeDef::Enum(genre));
    schema.types.push(TypeDef::Struct(person));
    assign_layout(&mut schema).unwrap();
    validate(&schema).unwrap();
    let text = to_capnp(&schema, file_id_for("movies.capnp"));
    let request = compile("movies.capnp", &text).unwrap();
    let back = from_request(&request).unwrap();
    assert_eq!(back, schema, "{text}");
    assert_eq!(back.records().count(), 1);
    // Deterministic output.
    assert_eq!(to_capnp(&back, file_id_for("movies.capnp")), text);
}

// ---------------------------------------------------------------------------
// (c) what from_request refuses

#[test]
fn unsupported_schemas_name_file_struct_and_field() {
    let text = r#"@0xe1a2b3c4d5e6f708;
interface Service { ping @0 () -> (); }
struct HasInterface { ok @0 :UInt8; svc @1 :Service; }
struct HasAny { info :group { any @0 :AnyPointer; } }
struct Generic(T) { value @0 :T; }
struct UsesGeneric { g @0 :Generic(Text); }
struct HasDefault { n @0 :UInt32 = 5; zero @1 :UInt32 = 0; empty @2 :Text = ""; }
struct Retro { u @1! :union { a @0 :UInt8; b @2 :UInt8; } }
struct MixedGroup { g :group { x @0 :UInt8; union { a @1 :UInt8; b @2 :UInt8; } } }
struct A { struct Same { x @0 :UInt8; } }
struct B { struct Same { y @0 :UInt8; } }
"#;
    let request = compile("errors.capnp", text).unwrap();
    let err = from_request(&request).unwrap_err();
    let lines: Vec<&str> = err.message().lines().collect();
    let expected = [
        "types errors.capnp:A.Same and errors.capnp:B.Same have the same name Same; rename one",
        "file errors.capnp: struct HasInterface: field \"svc\": interface (capability) fields \
         are not supported",
        "file errors.capnp: struct HasAny: field \"info.any\": AnyPointer fields (and generic \
         parameters) are not supported",
        "file errors.capnp: struct Generic: generic structs (and structs nested in them) are \
         not supported",
        "file errors.capnp: struct UsesGeneric: field \"g\": uses generic struct \
         errors.capnp:Generic; generics are not supported",
        "file errors.capnp: struct HasDefault: field \"n\": default values other than the \
         type's zero are not supported",
        "file errors.capnp: struct Retro: union \"u\" has ordinal @1; union ordinals \
         (retroactive unionization) are not supported",
        "file errors.capnp: struct Retro: ordinals are not sequential from @0 (does a union \
         have an explicit ordinal? retroactive unionization is not supported)",
        "file errors.capnp: struct MixedGroup: group \"g\" holds an unnamed union next to \
         other members; name the union (`name :union { … }`)",
    ];
    assert_eq!(lines, expected, "{err}");
}

#[test]
fn malformed_requests_are_errors() {
    let err = from_request(b"not a capnp message").unwrap_err();
    assert!(
        err.message().starts_with("malformed CodeGeneratorRequest"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// (d) schemas/hollow.capnp

#[test]
fn hollow_capnp_compiles_and_its_annotations_are_found() {
    let dir = schemas_dir();
    let request = capnpc_embedded::CompileCommand::new()
        .file(dir.join("hollow.capnp"))
        .src_prefix(&dir)
        .import_path(&dir)
        .compile()
        .unwrap();
    // It declares the four annotations under its fixed file id.
    let message =
        capnp::serialize::read_message(&request[..], capnp::message::ReaderOptions::new()).unwrap();
    let req: code_generator_request::Reader = message.get_root().unwrap();
    let file = req
        .get_nodes()
        .unwrap()
        .iter()
        .find(|n| n.get_id() == HOLLOW_FILE_ID)
        .expect("hollow.capnp keeps its file id");
    assert!(matches!(file.which(), Ok(node::File(()))));
    let mut names: Vec<String> = file
        .get_nested_nodes()
        .unwrap()
        .iter()
        .map(|n| n.get_name().unwrap().to_string().unwrap())
        .collect();
    names.sort();
    for wanted in ["hashIndexes", "primaryKey", "record", "uniqueKeys"] {
        assert!(names.iter().any(|n| n == wanted), "{names:?}");
    }
    // It also defines the blob envelope, whose sections hold records as
    // AnyPointer: read as a dataset schema it is refused, naming that.
    let err = from_request(&request).unwrap_err().to_string();
    assert!(err.contains("AnyPointer"), "{err}");

    // A schema using them, imported from the import path.
    let text = r#"@0xd00dfeed12345678;
using Hollow = import "/hollow.capnp";
struct Movie $Hollow.record $Hollow.primaryKey("id")
             $Hollow.uniqueKeys(["title", "region, sku"])
             $Hollow.hashIndexes(["year", "genres"]) {
  # A film.
  id @0 :UInt64;
  title @1 :Text;
  year @2 :UInt16;
  genres @3 :List(Text);
  region @4 :Text;
  sku @5 :UInt32;
  struct Nested { a @0 :Bool; }
  nested @6 :Nested;
}
"#;
    let schema = from_request(&compile("movies.capnp", text).unwrap()).unwrap();
    validate(&schema).unwrap();
    let movie = schema.get_struct("Movie").unwrap();
    assert!(movie.is_record);
    assert_eq!(movie.doc.as_deref(), Some("A film."));
    assert_eq!(movie.primary_key, Some(Key::parse("id").unwrap()));
    assert_eq!(
        movie.unique_keys,
        [
            Key::parse("title").unwrap(),
            Key::parse("region,sku").unwrap()
        ]
    );
    assert_eq!(
        movie.hash_indexes,
        [Key::parse("year").unwrap(), Key::parse("genres").unwrap()]
    );
    assert!(!schema.get_struct("Nested").unwrap().is_record);
    let names: Vec<&str> = schema.types.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["Movie", "Nested"]);
    // The compiler's offsets are what assign_layout computes.
    let mut relaid = schema.clone();
    assign_layout(&mut relaid).unwrap();
    assert_eq!(relaid, schema);
}

#[test]
fn imported_types_that_records_use_are_included() {
    // hollow.capnp has no structs yet, so import a sibling file instead.
    let dir = std::env::temp_dir().join(format!("hollow-schema-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("common.capnp"),
        "@0xc0c0c0c0c0c0c0c1;\nstruct Money { cents @0 :Int64; }\nstruct Unused { a @0 :Bool; }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("shop.capnp"),
        "@0xc0c0c0c0c0c0c0c2;\nusing C = import \"common.capnp\";\n\
         struct Item { price @0 :C.Money; prices @1 :List(C.Money); }\n",
    )
    .unwrap();
    let request = capnpc_embedded::CompileCommand::new()
        .file(dir.join("shop.capnp"))
        .src_prefix(&dir)
        .import_path(&dir)
        .compile()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let schema = from_request(&request).unwrap();
    let names: Vec<&str> = schema.types.iter().map(|t| t.name()).collect();
    assert_eq!(names, ["Item", "Money"]);
    validate(&schema).unwrap();
}
