//! The derive's layout is the official compiler's.
//!
//! Every root test type's `CAPNP_SCHEMA` is compiled (all in one call to the
//! embedded Cap'n Proto compiler) and read back with
//! `hollow_schema::from_request`. For every struct, the compiler's slot
//! offsets, union discriminant offsets and section sizes must equal
//! - the derive's IR (`<T as Struct>::schema()`, laid out at run time by
//!   `assign_layout`),
//! - the derive's compile-time constants: `T::SIZE`, and the offset table
//!   the generated getters index (`T::__HOLLOW_OFFSETS`, one entry per
//!   layout node in pre-order),
//!
//! and the compiled schema as a whole (names, ordinals, types, docs, keys)
//! must equal the derived one. Also: the checked-in copies of the texts
//! (`tests/capnp/`) are current.

use std::sync::OnceLock;

use hollow_runtime::Struct;
use hollow_schema::{Field, FieldKind, Schema, StructSize, StructType, TypeDef};
use hollow_tests::{
    Actor, AllTypes, Coord, Event, Inner, Movie, Performer, Role, Shipment, Stock, ROOT_SCHEMAS,
};

/// What the derive fixed for one struct type.
struct Derived {
    name: &'static str,
    size: StructSize,
    getter_offsets: &'static [u32],
    schema: &'static Schema,
}

macro_rules! derived {
    ($($t:ty),* $(,)?) => {
        vec![$(Derived {
            name: <$t as Struct>::TYPE_NAME,
            size: <$t as Struct>::SIZE,
            getter_offsets: <$t>::__HOLLOW_OFFSETS,
            schema: <$t as Struct>::schema(),
        }),*]
    };
}

/// Every derived struct type of the test crate (records and nested).
fn all_derived() -> Vec<Derived> {
    derived!(Movie, Actor, AllTypes, Inner, Shipment, Event, Coord, Stock, Role, Performer)
}

/// The compiler's view of every root type's schema text, compiled once.
fn compiled() -> &'static Schema {
    static COMPILED: OnceLock<Schema> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = capnpc_embedded::CompileCommand::new();
        cmd.src_prefix(dir.path())
            .import_path(hollow_tests::schemas_dir());
        for root in ROOT_SCHEMAS {
            let path = dir.path().join(root.file);
            std::fs::write(&path, (root.text)()).unwrap();
            cmd.file(&path);
        }
        let request = cmd
            .compile()
            .unwrap_or_else(|e| panic!("capnp compile: {e}"));
        hollow_schema::from_request(&request).unwrap_or_else(|e| panic!("from_request: {e}"))
    })
}

/// One line per layout fact of a struct, in pre-order: `path: slot @offset`,
/// `path: union discriminant @offset`, `path: group`, and the sizes.
fn layout_lines(s: &StructType) -> Vec<String> {
    fn walk(prefix: &str, fields: &[Field], out: &mut Vec<String>) {
        for f in fields {
            let path = format!("{prefix}.{}", f.name);
            match &f.kind {
                FieldKind::Slot(slot) => {
                    out.push(format!("{path}: {} @{}", slot.ty, slot.offset));
                }
                FieldKind::Group(g) => {
                    out.push(format!("{path}: group"));
                    walk(&path, &g.fields, out);
                }
                FieldKind::Union(u) => {
                    out.push(format!(
                        "{path}: union discriminant @{}",
                        u.discriminant_offset
                    ));
                    walk(&path, &u.variants, out);
                }
            }
        }
    }
    let mut out = vec![format!(
        "{}: {} data words, {} pointers",
        s.name, s.size.data_words, s.size.pointers
    )];
    walk(&s.name, &s.fields, &mut out);
    if let Some(u) = &s.unnamed_union {
        out.push(format!(
            "{}: unnamed union @{}",
            s.name, u.discriminant_offset
        ));
        walk(&s.name, &u.variants, &mut out);
    }
    out
}

/// A struct's per-node offsets in the order the derive's offset table has
/// them: slot offset, 0 for a group, the discriminant for a union.
fn preorder_offsets(s: &StructType) -> Vec<u32> {
    fn walk(fields: &[Field], out: &mut Vec<u32>) {
        for f in fields {
            match &f.kind {
                FieldKind::Slot(slot) => out.push(slot.offset),
                FieldKind::Group(g) => {
                    out.push(0);
                    walk(&g.fields, out);
                }
                FieldKind::Union(u) => {
                    out.push(u.discriminant_offset);
                    walk(&u.variants, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&s.fields, &mut out);
    out
}

fn compiled_struct(name: &str) -> &'static StructType {
    compiled()
        .get_struct(name)
        .unwrap_or_else(|| panic!("the compiler's schema has no struct {name}"))
}

/// The IR fields a source file cannot carry (the Rust type behind a group
/// or union) cleared, so the two IRs can be compared whole.
fn without_rust_names(s: &StructType) -> StructType {
    fn clear(fields: &mut [Field]) {
        for f in fields {
            match &mut f.kind {
                FieldKind::Slot(_) => {}
                FieldKind::Group(g) => {
                    g.type_name = None;
                    clear(&mut g.fields);
                }
                FieldKind::Union(u) => {
                    u.type_name = None;
                    clear(&mut u.variants);
                }
            }
        }
    }
    let mut s = s.clone();
    clear(&mut s.fields);
    if let Some(u) = &mut s.unnamed_union {
        u.type_name = None;
        clear(&mut u.variants);
    }
    s
}

#[test]
fn compiled_schema_has_exactly_the_derived_types() {
    let mut derived: Vec<String> = Vec::new();
    for d in all_derived() {
        for t in &d.schema.types {
            if !derived.iter().any(|n| n == t.name()) {
                derived.push(t.name().to_owned());
            }
        }
    }
    let mut compiled: Vec<String> = compiled()
        .types
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    derived.sort();
    compiled.sort();
    assert_eq!(compiled, derived);
}

#[test]
fn ir_layout_matches_the_compiler() {
    for d in all_derived() {
        for def in &d.schema.types {
            let TypeDef::Struct(ours) = def else { continue };
            let theirs = compiled_struct(&ours.name);
            assert_eq!(
                layout_lines(ours).join("\n"),
                layout_lines(theirs).join("\n"),
                "layout of {} (from {}::schema())",
                ours.name,
                d.name
            );
        }
    }
}

#[test]
fn compile_time_sizes_match_the_compiler() {
    for d in all_derived() {
        let theirs = compiled_struct(d.name);
        assert_eq!(d.size, theirs.size, "{}::SIZE", d.name);
    }
}

#[test]
fn getter_offsets_match_the_compiler() {
    for d in all_derived() {
        let theirs = compiled_struct(d.name);
        assert_eq!(
            d.getter_offsets,
            &preorder_offsets(theirs)[..],
            "{}::__HOLLOW_OFFSETS (the offsets the getters read) vs the compiler:\n{}",
            d.name,
            layout_lines(theirs).join("\n")
        );
    }
}

#[test]
fn whole_ir_matches_the_compiler() {
    for d in all_derived() {
        for def in &d.schema.types {
            match def {
                TypeDef::Struct(ours) => {
                    let theirs = compiled_struct(&ours.name);
                    assert_eq!(
                        without_rust_names(ours),
                        without_rust_names(theirs),
                        "struct {}",
                        ours.name
                    );
                }
                TypeDef::Enum(ours) => {
                    let theirs = compiled()
                        .get_enum(&ours.name)
                        .unwrap_or_else(|| panic!("no enum {}", ours.name));
                    assert_eq!(ours, theirs);
                }
            }
        }
    }
}

#[test]
fn records_and_keys_survive_the_compiler() {
    let s = compiled();
    let records: Vec<&str> = s.records().map(|r| r.name.as_str()).collect();
    for root in ROOT_SCHEMAS {
        let name = root.type_name;
        assert!(
            records.contains(&name),
            "{name} is not a record after compiling"
        );
    }
    for nested in ["Inner", "Coord", "Performer"] {
        assert!(
            !records.contains(&nested),
            "{nested} should not be a record"
        );
    }
    let key = |name: &str| {
        s.get_struct(name)
            .unwrap()
            .primary_key
            .as_ref()
            .unwrap()
            .to_string()
    };
    assert_eq!(key("Stock"), "region,sku");
    assert_eq!(key("Role"), "actor.id");
    let movie = s.get_struct("Movie").unwrap();
    let hashes: Vec<String> = movie.hash_indexes.iter().map(|k| k.to_string()).collect();
    assert_eq!(hashes, ["year", "genres"]);
    hollow_schema::validate(s).unwrap();
}

/// The checked-in schema texts (`tests/capnp/*.capnp`, compiled by
/// `build.rs` into the `capnpc` readers and builders `wire_compat.rs` uses)
/// are exactly what the derive emits. With `HOLLOW_UPDATE_FIXTURES=1` they
/// are rewritten. (It lives here, not in `wire_compat.rs`, because that file
/// does not build while the generated code is stale.)
#[test]
fn schema_files_are_current() {
    let dir = hollow_tests::fixtures_dir();
    let update = std::env::var_os("HOLLOW_UPDATE_FIXTURES").is_some_and(|v| v == "1");
    let mut stale = Vec::new();
    for root in ROOT_SCHEMAS {
        let (path, text) = (dir.join(root.file), (root.text)());
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != text {
            stale.push(path.clone());
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, text).unwrap();
                eprintln!("HOLLOW_UPDATE_FIXTURES: rewrote {}", path.display());
            }
        }
    }
    let known: Vec<&str> = ROOT_SCHEMAS.iter().map(|r| r.file).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".capnp") && !known.contains(&name.as_str()) {
            stale.push(path.clone());
            if update {
                std::fs::remove_file(&path).unwrap();
                eprintln!("HOLLOW_UPDATE_FIXTURES: removed {}", path.display());
            }
        }
    }
    let list = stale
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join("\n  ");
    if update {
        if !stale.is_empty() {
            eprintln!(
                "HOLLOW_UPDATE_FIXTURES: rewrote the schema files above; review the diff \
                 and rebuild (build.rs regenerates the capnpc code from them)"
            );
        }
    } else {
        assert!(
            stale.is_empty(),
            "these checked-in schema files differ from the derived CAPNP_SCHEMA texts:\n  \
             {list}\nrewrite them with\n  HOLLOW_UPDATE_FIXTURES=1 cargo test -p hollow-tests \
             --test layout_vs_compiler schema_files_are_current\nthen review the diff"
        );
    }
}
