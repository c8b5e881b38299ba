//! Map and set fields (`$Hollow.map`, `$Hollow.set`): the generated text
//! for `tests/fixtures/maps/maps.capnp`, the choice of `BTreeMap` or
//! `HashMap` (library and command line), and the refusals, each naming
//! file, struct and field.
//!
//! The text is checked rather than compiled: it relies on the derive's
//! `#[hollow(entry = "…")]` and `#[hollow(map_key)]`.

use std::path::{Path, PathBuf};
use std::process::Command;

use hollow_codegen::{Collections, Config, ErrorKind};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/maps/maps.capnp")
}

/// The module generated from `file` (one schema file).
fn generate(config: &Config, file: &Path) -> String {
    let files = config.generate(&[file]).expect("generate");
    files
        .into_iter()
        .find(|f| f.name != Path::new("mod.rs"))
        .expect("a module")
        .content
}

/// The item of `code` that starts with the line holding `head` (its
/// attributes and docs not included), up to its closing brace.
fn item<'a>(code: &'a str, head: &str) -> &'a str {
    let start = code
        .find(head)
        .unwrap_or_else(|| panic!("{head:?} in:\n{code}"));
    let end = code[start..].find("\n}").expect("the item's end") + start + 2;
    &code[start..end]
}

/// The derive list and `#[hollow]` attribute right above `head`.
fn attrs<'a>(code: &'a str, head: &str) -> &'a str {
    let start = code.find(head).expect("the item");
    let from = code[..start].rfind("#[derive(").expect("a derive");
    &code[from..start]
}

#[test]
fn map_and_set_fields_become_btree_maps_and_sets() {
    let code = generate(&Config::new(), &fixture());
    let movie = item(&code, "pub struct Movie {");
    for line in [
        "    pub titles: ::std::collections::BTreeMap<String, String>,",
        "    pub tags: ::std::collections::BTreeSet<String>,",
        "    #[hollow(entry = \"Score\")]\n    pub ratings: ::std::collections::BTreeMap<Region, f64>,",
        "    pub by_place: ::std::collections::BTreeMap<Place, Vec<String>>,",
        "    pub places: ::std::collections::BTreeSet<Place>,",
        "    pub nested: ::std::collections::BTreeMap<\n        u32,\n        \
         ::std::collections::BTreeMap<Vec<u8>, ::std::collections::BTreeSet<i64>>,\n    >,",
        "    #[hollow(entry = \"Shared\")]\n    pub shared: ::std::collections::BTreeMap<String, u16>,",
        "    pub pairs: Vec<Shared>,",
        "    pub kinds: ::std::collections::BTreeMap<String, Kind>,",
    ] {
        assert!(movie.contains(line), "{line:?} in:\n{movie}");
    }
    // Only fields whose entry struct has another name than the derive's
    // default carry `entry`.
    assert_eq!(movie.matches("entry = ").count(), 2, "{movie}");
    // A group's map: the group's struct is the owner.
    let info = item(&code, "pub struct MovieInfo {");
    assert!(
        info.contains("    pub labels: ::std::collections::BTreeMap<bool, String>,")
            && !info.contains("entry = "),
        "{info}"
    );
}

#[test]
fn entry_structs_are_not_generated_and_keys_are_ordered() {
    let code = generate(&Config::new(), &fixture());
    for entry in [
        "MovieTitlesEntry",
        "Score",
        "MovieByPlaceEntry",
        "MovieNestedEntry",
        "MovieNestedEntryValueEntry",
        "MovieInfoLabelsEntry",
        "MovieKindsEntry",
    ] {
        assert!(
            !code.contains(&format!("pub struct {entry} ")),
            "{entry} is only a map entry:\n{code}"
        );
    }
    // Used as a plain struct too: generated, and no key.
    let shared = attrs(&code, "pub struct Shared {");
    assert!(shared.contains("#[hollow(nested)]"), "{shared}");
    assert!(!shared.contains("Ord"), "{shared}");
    // A composite key: `map_key`, `Eq`, `Ord`, `Hash`.
    let place = attrs(&code, "pub struct Place {");
    assert!(place.contains("#[hollow(nested, map_key)]"), "{place}");
    for t in ["Eq,", "PartialOrd,", "Ord,", "Hash"] {
        assert!(place.contains(t), "{t} in {place}");
    }
    // A key enum is `Ord`; an enum that is only a map value is not.
    assert!(attrs(&code, "pub enum Region {").contains("    Ord,"));
    assert!(!attrs(&code, "pub enum Kind {").contains("Ord"));
}

#[test]
fn hash_maps_and_sets_on_request() {
    let code = generate(Config::new().collections(Collections::Hash), &fixture());
    let movie = item(&code, "pub struct Movie {");
    assert!(movie.contains("    pub titles: ::std::collections::HashMap<String, String>,"));
    assert!(movie.contains("    pub places: ::std::collections::HashSet<Place>,"));
    assert!(!code.contains("BTree"), "{code}");

    // The same from the command line.
    let out = tempfile::tempdir().expect("tempdir");
    let run = |kind: &str| {
        let o = Command::new(env!("CARGO_BIN_EXE_hollow-codegen"))
            .arg(fixture())
            .arg("-o")
            .arg(out.path())
            .args(["--collections", kind])
            .output()
            .expect("run hollow-codegen");
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), err)
    };
    assert_eq!(run("hash").0, Some(0));
    let written = std::fs::read_to_string(out.path().join("maps.rs")).expect("maps.rs");
    assert_eq!(written, code);
    let (status, err) = run("vec");
    assert_eq!(status, Some(2), "{err}");
    assert!(err.contains("btree") && err.contains("hash"), "{err}");
}

/// Generates a one-file schema `text` and returns the error's lines.
fn refused(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad.capnp");
    std::fs::write(&file, text).expect("write");
    let err = Config::new()
        .generate(&[&file])
        .expect_err("a refused schema");
    assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
    err.message().to_string()
}

#[test]
fn a_marked_field_of_no_map_or_set_shape_is_refused_by_file_struct_and_field() {
    let err = refused(
        "@0xd1e2f3a4b5c60731;\n\
         using Hollow = import \"/hollow.capnp\";\n\
         struct Movie $Hollow.record {\n\
           title @0 :Text $Hollow.set;\n\
           scores @1 :List(Float64) $Hollow.set;\n\
           names @2 :List(Text) $Hollow.map;\n\
           byPair @3 :List(ByPair) $Hollow.map;\n\
         }\n\
         struct ByPair { key @0 :Pair; value @1 :Text; }\n\
         struct Pair { a @0 :Text; b @1 :List(Int32); }\n",
    );
    for want in [
        "file bad.capnp: struct Movie: field \"title\" is marked $Hollow.set: a set is a List, \
         not Text",
        "file bad.capnp: struct Movie: field \"scores\" is marked $Hollow.set: element: Float64 \
         cannot be a key",
        "file bad.capnp: struct Movie: field \"names\" is marked $Hollow.map: a map is a List of \
         entry structs (key @0, value @1), not of Text",
        "file bad.capnp: struct Movie: field \"byPair\" is marked $Hollow.map: entry struct \
         ByPair: key: struct Pair cannot be a key: field \"b\" is List(Int32)",
    ] {
        assert!(err.contains(want), "{want:?} in:\n{err}");
    }
    assert_eq!(err.lines().count(), 4, "{err}");
}

#[test]
fn maps_generated_code_cannot_declare_are_refused() {
    let err = refused(
        "@0xd1e2f3a4b5c60732;\n\
         using Hollow = import \"/hollow.capnp\";\n\
         struct Movie $Hollow.record {\n\
           id @0 :UInt64;\n\
           choice :union {\n\
             none @1 :Void;\n\
             titles @2 :List(MovieTitlesEntry) $Hollow.map;\n\
             tags @3 :List(Text) $Hollow.set;\n\
           }\n\
           nested @4 :List(Outer) $Hollow.map;\n\
         }\n\
         struct MovieTitlesEntry { key @0 :Text; value @1 :Text; }\n\
         struct Outer { key @0 :Text; value @1 :List(Inner) $Hollow.map; }\n\
         struct Inner { key @0 :Text; value @1 :Text; }\n",
    );
    for want in [
        "file bad.capnp: struct Movie: field \"choice.titles\": a map as a union member is not \
         supported",
        "file bad.capnp: struct Movie: field \"nested\": the map in the value of entry struct \
         Outer has entry struct Inner, which generated code can only name OuterValueEntry",
    ] {
        assert!(err.contains(want), "{want:?} in:\n{err}");
    }
    // A set is a value like any other in a union member.
    assert_eq!(err.lines().count(), 2, "{err}");
}
