//! The feature snapshot (`tests/snapshots/features/`, every construct
//! hollow-codegen maps) compiles, round-trips through the canonical
//! encoding, and has the layout the Cap'n Proto compiler assigns to
//! `tests/fixtures/features/*.capnp`. The single-file snapshot compiles too.

use std::path::PathBuf;

use hollow_runtime::{read_root, to_canonical_bytes, Struct};
use hollow_schema::{Field, FieldKind, StructType};

#[path = "snapshots/features/mod.rs"]
#[rustfmt::skip]
#[allow(unreachable_pub, dead_code)]
mod generated;

/// The single-file layout, as `include_generated!` would include it.
#[rustfmt::skip]
#[allow(unreachable_pub, dead_code)]
mod single {
    include!("snapshots/features_single.rs");
}

use generated::features::{
    Everything, EverythingChoice, EverythingChoicePair, EverythingInner, EverythingInnerDeeper,
    Item, Kind, Nested, Outer,
};
use generated::shared::Tag;

fn sample() -> Vec<Everything> {
    let base = Everything {
        id: 1,
        flag: true,
        r#type: "keyword".into(),
        i8: -8,
        i16: -16,
        i32: -32,
        i64: -64,
        u8: 8,
        u16: 16,
        u32: 32,
        f32: 3.5,
        f64: -2.25,
        code: "E-1".into(),
        data: vec![0, 1, 2, 255],
        blobs: vec![vec![1], vec![], vec![2, 3]],
        matrix: vec![vec![1, 2], vec![], vec![-3]],
        inner: EverythingInner {
            a: 7,
            deeper: EverythingInnerDeeper { b: "deep".into() },
        },
        choice: EverythingChoice::Nothing,
        kind: Kind::BetaGamma,
        kinds: vec![Kind::Match, Kind::Alpha],
        shared: Tag {
            label: "blue".into(),
            weight: 0.5,
        },
        bits: vec![true, false, true],
    };
    let choices = [
        EverythingChoice::Nothing,
        EverythingChoice::Number(-5),
        EverythingChoice::Item(Item {
            name: "one".into(),
            weights: vec![1.0, 2.0],
        }),
        EverythingChoice::Items(vec![
            Item {
                name: "a".into(),
                weights: vec![],
            },
            Item {
                name: "b".into(),
                weights: vec![0.25],
            },
        ]),
        EverythingChoice::Pair(EverythingChoicePair { left: 3, right: 4 }),
    ];
    choices
        .into_iter()
        .enumerate()
        .map(|(i, choice)| Everything {
            id: i as u64,
            choice,
            ..base.clone()
        })
        .collect()
}

#[test]
fn every_construct_round_trips() {
    for e in sample() {
        let bytes = to_canonical_bytes(&e).expect("encode");
        let r = read_root::<Everything>(&bytes).expect("read");
        assert_eq!(r.r#type(), "keyword");
        assert_eq!(r.inner().deeper().b(), "deep");
        assert_eq!(r.to_value().expect("known members"), e);
    }
    let outer = Outer {
        inner: Nested { value: 9 },
    };
    let bytes = to_canonical_bytes(&outer).expect("encode");
    assert_eq!(read_root::<Outer>(&bytes).expect("read").inner().value(), 9);
    // The single-file layout is the same types.
    let s = single::features::Outer {
        inner: single::features::Nested { value: 9 },
    };
    assert_eq!(to_canonical_bytes(&s).expect("encode"), bytes);
}

#[test]
fn defaults_are_the_zero_values() {
    let e = Everything::default();
    assert_eq!(e.choice, EverythingChoice::Nothing);
    assert_eq!(e.kind, Kind::Alpha);
    let bytes = to_canonical_bytes(&e).expect("encode");
    assert_eq!(
        read_root::<Everything>(&bytes)
            .expect("read")
            .to_value()
            .expect("read"),
        e
    );
}

fn shape(out: &mut Vec<String>, prefix: &str, fs: &[Field]) {
    for f in fs {
        let path = format!("{prefix}{}", f.name);
        match &f.kind {
            FieldKind::Slot(s) => {
                out.push(format!("{path} @{} :{} at {}", s.ordinal, s.ty, s.offset))
            }
            FieldKind::Group(g) => shape(out, &format!("{path}."), &g.fields),
            FieldKind::Union(u) => {
                out.push(format!("{path} :union at {}", u.discriminant_offset));
                for (i, v) in u.variants.iter().enumerate() {
                    out.push(format!("{path} #{i} {}", v.name));
                }
                shape(out, &format!("{path}."), &u.variants);
            }
        }
    }
}

fn layout(s: &StructType) -> Vec<String> {
    let mut out = vec![format!("{} {:?}", s.name, s.size)];
    shape(&mut out, "", &s.fields);
    out.sort();
    out.push(format!(
        "{:?} {:?} {:?}",
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

#[test]
fn layout_equals_the_compilers() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/features");
    let bundled = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        bundled.path().join("hollow.capnp"),
        hollow_codegen::HOLLOW_CAPNP,
    )
    .expect("write");
    let mut cmd = capnpc_embedded::CompileCommand::new();
    cmd.src_prefix(&dir).import_path(bundled.path());
    cmd.file(dir.join("features.capnp"));
    let compiled = hollow_schema::from_request(&cmd.compile().expect("compile")).expect("IR");
    let derived = [Everything::schema(), Outer::schema()];
    let mut checked = 0;
    for schema in derived {
        for s in schema.types.iter().filter_map(|t| match t {
            hollow_schema::TypeDef::Struct(s) => Some(s),
            hollow_schema::TypeDef::Enum(_) => None,
        }) {
            let c = compiled.get_struct(&s.name).expect("in the schema");
            assert_eq!(layout(s), layout(c), "struct {}", s.name);
            checked += 1;
        }
    }
    assert!(checked >= 5, "Everything, Item, Tag, Outer, Nested");
}
