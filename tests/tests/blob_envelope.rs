//! The blob envelope of `schemas/hollow.capnp` is laid out exactly as the
//! Rust types in `hollow_runtime::blob::envelope` that write and read it.
//!
//! `schemas/hollow.capnp` is compiled with the embedded Cap'n Proto
//! compiler; for every header struct, its section sizes and every
//! field's name, ordinal, type and offset must equal those of the derived
//! type's schema (`<HeaderWire as Struct>::schema()`, which holds every
//! header type), and the enums' enumerants must match. The section structs
//! (`SnapshotSection`, `DeltaSection`), written by hand rather than derived
//! (their `records` is an `AnyPointer` holding a `List(Record)`), must have
//! the pointer layout `docs/blob-format.md` documents.

use capnp::schema_capnp::{field, node};
use hollow_runtime::blob::envelope::HeaderWire;
use hollow_runtime::Struct;
use hollow_schema::{FieldKind, Schema, TypeDef};

/// One compiled field: name, ordinal (code order), type, offset.
type CompiledField = (String, u16, String, u32);

/// The section structs, laid out by hand.
const SECTION_STRUCTS: [&str; 2] = ["SnapshotSection", "DeltaSection"];

/// What the compiler made of one struct or enum.
enum Compiled {
    Struct {
        generic: bool,
        data_words: u16,
        pointers: u16,
        fields: Vec<CompiledField>,
    },
    Enum(Vec<String>),
}

/// Compiles `schemas/hollow.capnp` and returns its top-level structs and
/// enums by name.
fn compiled() -> Vec<(String, Compiled)> {
    let dir = hollow_tests::schemas_dir();
    let mut cmd = capnpc_embedded::CompileCommand::new();
    cmd.src_prefix(&dir).file(dir.join("hollow.capnp"));
    let request = cmd
        .compile()
        .unwrap_or_else(|e| panic!("capnp compile: {e}"));
    let mut options = capnp::message::ReaderOptions::new();
    options.traversal_limit_in_words(None);
    let message = capnp::serialize::read_message(&request[..], options).unwrap();
    let request: capnp::schema_capnp::code_generator_request::Reader<'_> =
        message.get_root().unwrap();
    let nodes: Vec<node::Reader<'_>> = request.get_nodes().unwrap().iter().collect();
    let file = nodes
        .iter()
        .find(|n| n.get_id() == hollow_schema::HOLLOW_FILE_ID)
        .expect("hollow.capnp's file node");
    let mut names = std::collections::BTreeMap::new();
    for n in file.get_nested_nodes().unwrap() {
        names.insert(n.get_id(), n.get_name().unwrap().to_string().unwrap());
    }
    let mut out = Vec::new();
    for nested in file.get_nested_nodes().unwrap() {
        let name = nested.get_name().unwrap().to_string().unwrap();
        let n = nodes
            .iter()
            .find(|n| n.get_id() == nested.get_id())
            .unwrap();
        match n.which().unwrap() {
            node::Struct(s) => {
                let mut fields = Vec::new();
                for f in s.get_fields().unwrap() {
                    let field::Slot(slot) = f.which().unwrap() else {
                        panic!("{name}: only plain fields are expected in the envelope");
                    };
                    fields.push((
                        f.get_name().unwrap().to_string().unwrap(),
                        f.get_code_order(),
                        hollow_tests::capnp_type_text(slot.get_type().unwrap(), &names),
                        slot.get_offset(),
                    ));
                }
                out.push((
                    name,
                    Compiled::Struct {
                        generic: n.get_is_generic(),
                        data_words: s.get_data_word_count(),
                        pointers: s.get_pointer_count(),
                        fields,
                    },
                ));
            }
            node::Enum(e) => {
                let enumerants = e
                    .get_enumerants()
                    .unwrap()
                    .iter()
                    .map(|x| x.get_name().unwrap().to_string().unwrap())
                    .collect();
                out.push((name, Compiled::Enum(enumerants)));
            }
            _ => {} // annotations
        }
    }
    out
}

fn derived() -> &'static Schema {
    <HeaderWire as Struct>::schema()
}

#[test]
fn header_structs_match_the_derived_types() {
    let compiled = compiled();
    let mut compiled_names: Vec<&str> = compiled
        .iter()
        .filter(|(n, _)| !SECTION_STRUCTS.contains(&n.as_str()))
        .map(|(n, _)| n.as_str())
        .collect();
    let mut derived_names: Vec<&str> = derived().types.iter().map(TypeDef::name).collect();
    compiled_names.sort();
    derived_names.sort();
    assert_eq!(compiled_names, derived_names);

    for (name, c) in &compiled {
        match (c, derived().get(name)) {
            _ if SECTION_STRUCTS.contains(&name.as_str()) => {}
            (
                Compiled::Struct {
                    generic,
                    data_words,
                    pointers,
                    fields,
                },
                Some(TypeDef::Struct(ours)),
            ) => {
                assert_eq!(
                    (*data_words, *pointers),
                    (ours.size.data_words, ours.size.pointers),
                    "section sizes of {name}"
                );
                assert!(!generic, "{name} is generic");
                assert!(ours.unnamed_union.is_none());
                let ours: Vec<CompiledField> = ours
                    .fields
                    .iter()
                    .map(|f| {
                        let FieldKind::Slot(s) = &f.kind else {
                            panic!("{name}.{}: not a plain field", f.name)
                        };
                        (f.name.clone(), s.ordinal, s.ty.to_string(), s.offset)
                    })
                    .collect();
                assert_eq!(fields, &ours, "fields of {name}");
            }
            (Compiled::Enum(enumerants), Some(TypeDef::Enum(ours))) => {
                let ours: Vec<String> = ours.enumerants.iter().map(|e| e.name.clone()).collect();
                assert_eq!(enumerants, &ours, "enumerants of {name}");
            }
            _ => panic!("{name} is a struct on one side and an enum on the other"),
        }
    }
}

#[test]
fn section_structs_have_the_documented_pointer_layout() {
    let compiled = compiled();
    let layout = |name: &str| -> (u16, u16, Vec<CompiledField>) {
        match compiled.iter().find(|(n, _)| n == name) {
            Some((
                _,
                Compiled::Struct {
                    generic: false,
                    data_words,
                    pointers,
                    fields,
                },
            )) => (*data_words, *pointers, fields.clone()),
            _ => panic!("{name} is not a plain struct of hollow.capnp"),
        }
    };
    let f = |n: &str, ord: u16, ty: &str, off: u32| (n.to_string(), ord, ty.to_string(), off);
    assert_eq!(
        layout("SnapshotSection"),
        (
            0,
            2,
            vec![
                f("populated", 0, "List(UInt64)", 0),
                f("records", 1, "AnyPointer", 1),
            ]
        )
    );
    assert_eq!(
        layout("DeltaSection"),
        (
            0,
            3,
            vec![
                f("removed", 0, "List(UInt32)", 0),
                f("added", 1, "List(UInt32)", 1),
                f("records", 2, "AnyPointer", 2),
            ]
        )
    );
}
