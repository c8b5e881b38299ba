//! Writes a [`Schema`] as Cap'n Proto schema text.

use std::fmt::Write;

use crate::ir::{EnumType, Field, FieldKind, Key, Schema, StructType, TypeDef};

/// The id of `schemas/hollow.capnp`, the file that declares the annotations.
pub const HOLLOW_FILE_ID: u64 = 0xb5e1_c0a7_d3f2_9e41;

/// Writes `schema` as the text of a `.capnp` file with id `file_id`.
///
/// The file holds every enum and struct of the schema, in schema order, each
/// at the top level: doc comments become `#` comments after the declaration
/// (where the compiler looks for them), fields are written `name @N :Type;`,
/// groups `name :group { … }`, named unions `name :union { … }` and a struct's
/// [unnamed union](crate::StructType::unnamed_union) `union { … }` after its
/// other fields. Record types and keys become `$Hollow.record`,
/// `$Hollow.primaryKey("…")`, `$Hollow.uniqueKeys([…])` and
/// `$Hollow.hashIndexes([…])`, a map or set field is written
/// `name @N :List(…) $Hollow.map;` (`$Hollow.set`); when any struct uses one
/// of these annotations, the file starts with
/// `using Hollow = import "/hollow.capnp";`, an absolute import, so compile
/// it with the folder holding `schemas/hollow.capnp` on the import path
/// (`capnp compile -I schemas`).
///
/// The output is deterministic, and for a schema that passes
/// [`validate`](crate::validate) the official compiler accepts it and lays
/// every struct out exactly as [`assign_layout`](crate::assign_layout) does
/// (the compiler derives the layout from the ordinals written here, not from
/// the IR's offsets). Nothing is checked here.
///
/// ```
/// use hollow_schema::{Field, Key, Schema, StructType, Type, TypeDef};
///
/// let mut movie = StructType::new("Movie");
/// movie.is_record = true;
/// movie.doc = Some("A film.".into());
/// movie.fields.push(Field::slot("id", 0, Type::UInt64));
/// movie.primary_key = Some(Key::parse("id").unwrap());
/// let mut schema = Schema::new();
/// schema.insert(TypeDef::Struct(movie));
/// let text = hollow_schema::to_capnp(&schema, 0xc0ffee0000000001);
/// assert_eq!(
///     text,
///     "@0xc0ffee0000000001;\n\
///      \n\
///      using Hollow = import \"/hollow.capnp\";\n\
///      \n\
///      struct Movie $Hollow.record $Hollow.primaryKey(\"id\") {\n\
///      \x20 # A film.\n\
///      \x20 id @0 :UInt64;\n\
///      }\n"
/// );
/// ```
pub fn to_capnp(schema: &Schema, file_id: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "@0x{file_id:016x};");
    let uses_hollow = schema.types.iter().any(|t| match t {
        TypeDef::Struct(s) => {
            s.is_record
                || s.primary_key.is_some()
                || !s.unique_keys.is_empty()
                || !s.hash_indexes.is_empty()
                || marks_a_field(&s.fields)
                || s.unnamed_union
                    .as_ref()
                    .is_some_and(|u| marks_a_field(&u.variants))
        }
        TypeDef::Enum(_) => false,
    });
    if uses_hollow {
        out.push_str("\nusing Hollow = import \"/hollow.capnp\";\n");
    }
    for def in &schema.types {
        out.push('\n');
        match def {
            TypeDef::Struct(s) => write_struct(&mut out, s),
            TypeDef::Enum(e) => write_enum(&mut out, e),
        }
    }
    out
}

/// A stable 64-bit Cap'n Proto file id for `name`: the FNV-1a hash of its
/// UTF-8 bytes with the high bit set (the compiler requires it).
///
/// The same name gives the same id on every machine and run.
///
/// ```
/// let id = hollow_schema::file_id_for("movies.capnp");
/// assert_eq!(id, hollow_schema::file_id_for("movies.capnp"));
/// assert!(id >> 63 == 1);
/// assert_ne!(id, hollow_schema::file_id_for("commerce.capnp"));
/// ```
pub fn file_id_for(name: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    h | (1 << 63)
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Writes a doc comment as `#` lines at `depth`: each line of the doc
/// becomes `# line` (`#` alone for an empty line), which the compiler reads
/// back as the same text plus a final newline.
fn write_doc(out: &mut String, doc: Option<&str>, depth: usize) {
    let Some(doc) = doc else { return };
    for line in doc.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        indent(out, depth);
        if line.is_empty() {
            out.push_str("#\n");
        } else {
            let _ = writeln!(out, "# {line}");
        }
    }
}

fn quote(text: &str) -> String {
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn key_list(keys: &[Key]) -> String {
    let items: Vec<String> = keys.iter().map(|k| quote(&k.to_string())).collect();
    format!("[{}]", items.join(", "))
}

fn write_enum(out: &mut String, e: &EnumType) {
    let _ = writeln!(out, "enum {} {{", e.name);
    write_doc(out, e.doc.as_deref(), 1);
    for (i, en) in e.enumerants.iter().enumerate() {
        let _ = writeln!(out, "  {} @{i};", en.name);
        write_doc(out, en.doc.as_deref(), 1);
    }
    out.push_str("}\n");
}

fn write_struct(out: &mut String, s: &StructType) {
    let _ = write!(out, "struct {}", s.name);
    if s.is_record {
        out.push_str(" $Hollow.record");
    }
    if let Some(pk) = &s.primary_key {
        let _ = write!(out, " $Hollow.primaryKey({})", quote(&pk.to_string()));
    }
    if !s.unique_keys.is_empty() {
        let _ = write!(out, " $Hollow.uniqueKeys({})", key_list(&s.unique_keys));
    }
    if !s.hash_indexes.is_empty() {
        let _ = write!(out, " $Hollow.hashIndexes({})", key_list(&s.hash_indexes));
    }
    out.push_str(" {\n");
    write_doc(out, s.doc.as_deref(), 1);
    write_fields(out, &s.fields, 1);
    if let Some(u) = &s.unnamed_union {
        indent(out, 1);
        out.push_str("union {\n");
        write_fields(out, &u.variants, 2);
        indent(out, 1);
        out.push_str("}\n");
    }
    out.push_str("}\n");
}

/// Whether any value field among `fields` (through groups and unions) is
/// marked as a map or a set.
fn marks_a_field(fields: &[Field]) -> bool {
    fields.iter().any(|f| match &f.kind {
        FieldKind::Slot(s) => s.collection.is_some(),
        FieldKind::Group(g) => marks_a_field(&g.fields),
        FieldKind::Union(u) => marks_a_field(&u.variants),
    })
}

fn write_fields(out: &mut String, fields: &[Field], depth: usize) {
    for f in fields {
        indent(out, depth);
        match &f.kind {
            FieldKind::Slot(slot) => {
                let _ = write!(out, "{} @{} :{}", f.name, slot.ordinal, slot.ty);
                if let Some(c) = slot.collection {
                    let _ = write!(out, " $Hollow.{}", c.annotation());
                }
                out.push_str(";\n");
                write_doc(out, f.doc.as_deref(), depth);
            }
            FieldKind::Group(g) => {
                let _ = writeln!(out, "{} :group {{", f.name);
                write_doc(out, f.doc.as_deref(), depth + 1);
                write_fields(out, &g.fields, depth + 1);
                indent(out, depth);
                out.push_str("}\n");
            }
            FieldKind::Union(u) => {
                let _ = writeln!(out, "{} :union {{", f.name);
                write_doc(out, f.doc.as_deref(), depth + 1);
                write_fields(out, &u.variants, depth + 1);
                indent(out, depth);
                out.push_str("}\n");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Enumerant, Type, Union};

    #[test]
    fn file_ids_are_stable_fnv1a_with_the_high_bit() {
        // FNV-1a 64 of "" is the offset basis; of "a" a published test vector.
        assert_eq!(file_id_for(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(file_id_for("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(file_id_for("foobar"), 0x85944171f73967e8 | (1 << 63));
    }

    #[test]
    fn writes_every_kind_of_member() {
        let mut s = StructType::new("Thing");
        s.is_record = true;
        s.doc = Some("First line.\n\n  indented".into());
        s.primary_key = Some(Key::parse("id").unwrap());
        s.unique_keys.push(Key::parse("name").unwrap());
        s.hash_indexes.push(Key::parse("tags").unwrap());
        s.hash_indexes.push(Key::parse("info.kind,id").unwrap());
        s.fields
            .push(Field::slot("id", 0, Type::UInt64).with_doc("The id."));
        s.fields.push(Field::slot("name", 1, Type::Text));
        s.fields.push(Field::slot(
            "tags",
            2,
            Type::List(Box::new(Type::List(Box::new(Type::Data)))),
        ));
        s.fields.push(
            Field::group(
                "info",
                vec![Field::slot("kind", 3, Type::Enum("Kind".into()))],
            )
            .with_doc("Grouped."),
        );
        s.fields.push(Field::union(
            "state",
            vec![
                Field::slot("none", 4, Type::Void),
                Field::slot("other", 5, Type::Struct("Thing".into())),
            ],
        ));
        s.unnamed_union = Some(Union::new(vec![
            Field::slot("a", 6, Type::Bool),
            Field::slot("b", 7, Type::Float64),
        ]));
        let kind = EnumType {
            name: "Kind".into(),
            doc: Some("Kinds.".into()),
            enumerants: vec![
                Enumerant {
                    name: "small".into(),
                    doc: Some("Tiny.".into()),
                },
                Enumerant {
                    name: "large".into(),
                    doc: None,
                },
            ],
        };
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Enum(kind));
        schema.types.push(TypeDef::Struct(s));
        let text = to_capnp(&schema, 0x8000_0000_0000_0001);
        let expected = r#"@0x8000000000000001;

using Hollow = import "/hollow.capnp";

enum Kind {
  # Kinds.
  small @0;
  # Tiny.
  large @1;
}

struct Thing $Hollow.record $Hollow.primaryKey("id") $Hollow.uniqueKeys(["name"]) $Hollow.hashIndexes(["tags", "info.kind,id"]) {
  # First line.
  #
  #   indented
  id @0 :UInt64;
  # The id.
  name @1 :Text;
  tags @2 :List(List(Data));
  info :group {
    # Grouped.
    kind @3 :Kind;
  }
  state :union {
    none @4 :Void;
    other @5 :Thing;
  }
  union {
    a @6 :Bool;
    b @7 :Float64;
  }
}
"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn no_import_without_annotations_and_quotes_are_escaped() {
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Struct(StructType::new("Empty")));
        assert_eq!(
            to_capnp(&schema, 0x8000_0000_0000_0002),
            "@0x8000000000000002;\n\nstruct Empty {\n}\n"
        );
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn map_and_set_fields_carry_their_annotation_and_the_import() {
        let mut s = StructType::new("Movie");
        s.fields.push(
            Field::slot(
                "titles",
                0,
                Type::List(Box::new(Type::Struct("TitlesEntry".into()))),
            )
            .marked(crate::Collection::Map),
        );
        s.fields.push(Field::group(
            "meta",
            vec![Field::slot("tags", 1, Type::List(Box::new(Type::Text)))
                .marked(crate::Collection::Set)],
        ));
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Struct(s));
        let text = to_capnp(&schema, 0x8000_0000_0000_0003);
        assert!(text.contains("using Hollow = import \"/hollow.capnp\";"));
        assert!(text.contains("  titles @0 :List(TitlesEntry) $Hollow.map;\n"));
        assert!(text.contains("    tags @1 :List(Text) $Hollow.set;\n"));
    }
}
