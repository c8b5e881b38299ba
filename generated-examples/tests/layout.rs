//! The generated types have exactly the layout the Cap'n Proto compiler
//! assigns to `schemas/*.capnp`: section sizes, every field's ordinal,
//! type and offset, union discriminant offsets, enumerants and keys, for
//! every struct and enum a record type uses. The compiler's layout is read
//! with `hollow_schema::from_request`; the derive's is `T::schema()`.

use std::path::PathBuf;

use generated_examples::gen::{commerce, iot, movies};
use hollow_runtime::Struct;
use hollow_schema::{Field, FieldKind, Schema, StructType, TypeDef};

fn compiler_schema() -> Schema {
    let schemas = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let mut cmd = capnpc_embedded::CompileCommand::new();
    cmd.src_prefix(&schemas).import_path(&schemas);
    for n in ["common", "movies", "commerce", "iot"] {
        cmd.file(schemas.join(format!("{n}.capnp")));
    }
    let request = cmd.compile().expect("the example schemas compile");
    hollow_schema::from_request(&request).expect("the compiler's IR")
}

fn fields(out: &mut Vec<String>, prefix: &str, fs: &[Field]) {
    for f in fs {
        let path = format!("{prefix}{}", f.name);
        match &f.kind {
            FieldKind::Slot(s) => {
                out.push(format!("{path} @{} :{} at {}", s.ordinal, s.ty, s.offset))
            }
            FieldKind::Group(g) => {
                out.push(format!("{path} :group"));
                fields(out, &format!("{path}."), &g.fields);
            }
            FieldKind::Union(u) => {
                out.push(format!("{path} :union at {}", u.discriminant_offset));
                for (i, v) in u.variants.iter().enumerate() {
                    out.push(format!("{path} variant {i} = {}", v.name));
                }
                fields(out, &format!("{path}."), &u.variants);
            }
        }
    }
}

/// Everything about a struct that the wire and the indexes depend on.
fn shape(s: &StructType) -> Vec<String> {
    let mut out = Vec::new();
    fields(&mut out, "", &s.fields);
    out.sort();
    out.insert(
        0,
        format!(
            "{}: {} data words, {} pointers, record {}, unnamed union {}",
            s.name,
            s.size.data_words,
            s.size.pointers,
            s.is_record,
            s.unnamed_union.is_some()
        ),
    );
    out.push(format!(
        "keys {:?} {:?} {:?}",
        s.primary_key.as_ref().map(ToString::to_string),
        s.unique_keys
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        s.hash_indexes
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
    ));
    out
}

fn derived_schemas() -> Vec<&'static Schema> {
    vec![
        movies::Movie::schema(),
        movies::Actor::schema(),
        movies::Review::schema(),
        commerce::Customer::schema(),
        commerce::Order::schema(),
        commerce::StockLevel::schema(),
        commerce::Product::schema(),
        iot::Device::schema(),
        iot::Metric::schema(),
        iot::Alert::schema(),
    ]
}

#[test]
fn generated_types_have_the_compilers_layout() {
    let compiled = compiler_schema();
    let mut covered = std::collections::BTreeSet::new();
    for schema in derived_schemas() {
        for t in &schema.types {
            let expected = compiled
                .get(t.name())
                .unwrap_or_else(|| panic!("{} is not in the schemas", t.name()));
            match (t, expected) {
                (TypeDef::Struct(d), TypeDef::Struct(c)) => {
                    // Nested use of a record type is still that record type.
                    let mut d = d.clone();
                    d.is_record = c.is_record;
                    assert_eq!(shape(&d), shape(c), "struct {}", c.name);
                }
                (TypeDef::Enum(d), TypeDef::Enum(c)) => {
                    let names = |e: &hollow_schema::EnumType| {
                        e.enumerants
                            .iter()
                            .map(|x| x.name.clone())
                            .collect::<Vec<_>>()
                    };
                    assert_eq!(names(d), names(c), "enum {}", c.name);
                }
                _ => panic!(
                    "{} is a struct on one side and an enum on the other",
                    t.name()
                ),
            }
            covered.insert(t.name().to_string());
        }
    }
    let all: std::collections::BTreeSet<String> = compiled
        .types
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(covered, all, "every type of the schemas is checked");
}

#[test]
fn records_and_docs_are_carried_over() {
    let compiled = compiler_schema();
    for schema in derived_schemas() {
        for r in schema.records() {
            let c = compiled.get_struct(&r.name).expect("in the schemas");
            assert!(c.is_record, "{} is a record in the schema", r.name);
            assert_eq!(r.doc, c.doc, "doc of {}", r.name);
        }
    }
    let movie = movies::Movie::schema().get_struct("Movie").expect("Movie");
    assert_eq!(movie.doc.as_deref(), Some("A film of the catalog."));
    let year = movie.field("year").expect("year");
    assert_eq!(year.doc.as_deref(), Some("Year of release."));
}
