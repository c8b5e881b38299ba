//! Checks a [`Schema`] for everything the layout algorithm, the Cap'n Proto
//! compiler and the runtime's indexes rely on.

use std::collections::{BTreeMap, HashSet};

use crate::collection::collection_problem;
use crate::ir::{EnumType, Field, FieldKind, FieldPath, Key, Schema, StructType, Type, TypeDef};

/// Names `.capnp` text already gives a meaning to: the built-in types and the
/// `Hollow` import alias written by [`to_capnp`](crate::to_capnp).
const RESERVED_TYPE_NAMES: &[&str] = &[
    "Void",
    "Bool",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "Float32",
    "Float64",
    "Text",
    "Data",
    "List",
    "AnyPointer",
    "AnyStruct",
    "AnyList",
    "Capability",
    "Hollow",
];

/// Checks that `schema` is consistent and expressible in Cap'n Proto.
///
/// Structs are checked for:
/// - names: type names unique in the schema, starting with a capital letter;
///   member and enumerant names starting with a lower-case letter; only
///   ASCII letters and digits (the compiler refuses underscores); no built-in
///   type name (`Text`, `List`, …) and not `Hollow`;
/// - scopes: member names unique within a struct's scope, which (as in Cap'n
///   Proto) holds its fields, its named groups and unions and the members of
///   its [unnamed union](crate::StructType::unnamed_union); a named group's or
///   union's members form their own scope;
/// - shapes: every group has a member, every union (named or unnamed) at
///   least two;
/// - ordinals: the struct's value fields use `@0..@n-1`, each once, and each
///   union's members come in the order of their smallest ordinal (the
///   compiler numbers union members that way, the IR by position);
/// - types: a `Type::Struct` / `Type::Enum` names a struct / enum of the
///   schema;
/// - keys: each path of the primary key, unique keys and hash indexes names
///   a value field, following `a.b` through groups and nested struct fields,
///   never through a list, a union or a union member; primary and unique keys
///   are not on a float, `Void` or list field; hash indexes are not on a
///   float (or list of floats), `Void`, a list of structs or a list of lists.
/// - maps and sets: a field marked `$Hollow.set` is a `List` of a key type
///   (integers, `Bool`, enums, `Text`, `Data`, structs of fields of those);
///   one marked `$Hollow.map` is a `List` of an entry struct with exactly
///   the fields `key @0` (of a key type) and `value @1`.
///
/// Enums are checked for names and duplicate enumerants.
///
/// # Errors
/// One [`SchemaError`](crate::SchemaError) listing every problem found, one
/// per line, each naming the struct (or enum) and the field or key, e.g.
/// `struct Movie: primary key "idx": no field "idx" in struct Movie (fields:
/// id, title)`.
pub fn validate(schema: &Schema) -> Result<(), crate::SchemaError> {
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for def in &schema.types {
        let name = def.name();
        if !seen.insert(name) {
            errors.push(format!("type {name} is defined more than once"));
        }
        if let Some(problem) = type_name_problem(name) {
            errors.push(format!("type {name}: {problem}"));
        }
        match def {
            TypeDef::Struct(s) => check_struct(schema, s, &mut errors),
            TypeDef::Enum(e) => check_enum(e, &mut errors),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(crate::SchemaError::new(errors.join("\n")))
    }
}

fn type_name_problem(name: &str) -> Option<String> {
    if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Some("a type name must start with a capital letter".into());
    }
    if let Some(p) = identifier_problem(name) {
        return Some(p);
    }
    if RESERVED_TYPE_NAMES.contains(&name) {
        return Some(format!("\"{name}\" is reserved in Cap'n Proto schema text"));
    }
    None
}

fn member_name_problem(name: &str) -> Option<String> {
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some(format!(
            "member name \"{name}\" must start with a lower-case letter"
        ));
    }
    identifier_problem(name)
}

fn identifier_problem(name: &str) -> Option<String> {
    if name.chars().all(|c| c.is_ascii_alphanumeric()) {
        None
    } else {
        Some(format!(
            "name \"{name}\" may hold only ASCII letters and digits (camelCase, no underscores)"
        ))
    }
}

fn check_enum(e: &EnumType, errors: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for en in &e.enumerants {
        if !seen.insert(en.name.as_str()) {
            errors.push(format!(
                "enum {}: enumerant \"{}\" is defined more than once",
                e.name, en.name
            ));
        }
        if let Some(problem) = member_name_problem(&en.name) {
            errors.push(format!("enum {}: {problem}", e.name));
        }
    }
}

fn check_struct(schema: &Schema, s: &StructType, errors: &mut Vec<String>) {
    let ctx = format!("struct {}", s.name);
    // The struct's own scope: fields plus the unnamed union's members.
    let top: Vec<&Field> = s.members().collect();
    check_scope(schema, &ctx, "", &top, errors);
    if let Some(u) = &s.unnamed_union {
        if u.variants.len() < 2 {
            errors.push(format!(
                "{ctx}: the unnamed union needs at least two members, has {}",
                u.variants.len()
            ));
        }
        check_union_order(&ctx, "the unnamed union", &u.variants, errors);
    }
    check_ordinals(s, &ctx, errors);
    for (kind, key) in s
        .primary_key
        .iter()
        .map(|k| (KeyKind::Primary, k))
        .chain(s.unique_keys.iter().map(|k| (KeyKind::Unique, k)))
        .chain(s.hash_indexes.iter().map(|k| (KeyKind::Hash, k)))
    {
        check_key(schema, s, kind, key, errors);
    }
}

/// Checks one name scope: duplicate and malformed names, then each member.
/// `prefix` is the dotted path of the enclosing group or union (`""` at the
/// top).
fn check_scope(
    schema: &Schema,
    ctx: &str,
    prefix: &str,
    members: &[&Field],
    errors: &mut Vec<String>,
) {
    let mut seen = HashSet::new();
    for f in members {
        let path = format!("{prefix}{}", f.name);
        if !seen.insert(f.name.as_str()) {
            errors.push(format!(
                "{ctx}: member \"{path}\" is defined more than once in its scope"
            ));
        }
        if let Some(problem) = member_name_problem(&f.name) {
            errors.push(format!("{ctx}: field \"{path}\": {problem}"));
        }
        match &f.kind {
            FieldKind::Slot(slot) => {
                check_type(schema, ctx, &path, &slot.ty, errors);
                if let Some(c) = slot.collection {
                    if let Some(problem) = collection_problem(schema, c, &slot.ty) {
                        errors.push(format!(
                            "{ctx}: field \"{path}\" is marked $Hollow.{}: {problem}",
                            c.annotation()
                        ));
                    }
                }
            }
            FieldKind::Group(g) => {
                if g.fields.is_empty() {
                    errors.push(format!("{ctx}: group \"{path}\" has no members"));
                }
                let inner: Vec<&Field> = g.fields.iter().collect();
                check_scope(schema, ctx, &format!("{path}."), &inner, errors);
            }
            FieldKind::Union(u) => {
                if u.variants.len() < 2 {
                    errors.push(format!(
                        "{ctx}: union \"{path}\" needs at least two members, has {}",
                        u.variants.len()
                    ));
                }
                check_union_order(ctx, &format!("union \"{path}\""), &u.variants, errors);
                let inner: Vec<&Field> = u.variants.iter().collect();
                check_scope(schema, ctx, &format!("{path}."), &inner, errors);
            }
        }
    }
}

fn check_type(schema: &Schema, ctx: &str, path: &str, ty: &Type, errors: &mut Vec<String>) {
    match ty {
        Type::List(inner) => check_type(schema, ctx, path, inner, errors),
        Type::Struct(name) => match schema.get(name) {
            Some(TypeDef::Struct(_)) => {}
            Some(TypeDef::Enum(_)) => errors.push(format!(
                "{ctx}: field \"{path}\" uses {name} as a struct, but it is an enum"
            )),
            None => errors.push(format!(
                "{ctx}: field \"{path}\" uses struct {name}, which is not in the schema"
            )),
        },
        Type::Enum(name) => match schema.get(name) {
            Some(TypeDef::Enum(_)) => {}
            Some(TypeDef::Struct(_)) => errors.push(format!(
                "{ctx}: field \"{path}\" uses {name} as an enum, but it is a struct"
            )),
            None => errors.push(format!(
                "{ctx}: field \"{path}\" uses enum {name}, which is not in the schema"
            )),
        },
        _ => {}
    }
}

/// The smallest ordinal of the value fields under `f` (`None` when there is
/// none, which only a malformed group or union allows).
fn first_ordinal(f: &Field) -> Option<u16> {
    match &f.kind {
        FieldKind::Slot(s) => Some(s.ordinal),
        FieldKind::Group(g) => g.fields.iter().filter_map(first_ordinal).min(),
        FieldKind::Union(u) => u.variants.iter().filter_map(first_ordinal).min(),
    }
}

fn check_union_order(ctx: &str, what: &str, variants: &[Field], errors: &mut Vec<String>) {
    let mut previous: Option<(&str, u16)> = None;
    for v in variants {
        let Some(ord) = first_ordinal(v) else {
            continue;
        };
        if let Some((prev_name, prev_ord)) = previous {
            if ord < prev_ord {
                errors.push(format!(
                    "{ctx}: {what}: member \"{}\" (@{ord}) comes after \"{prev_name}\" \
                     (@{prev_ord}); members must be in ordinal order, as the compiler numbers \
                     them by their first ordinal",
                    v.name
                ));
            }
        }
        previous = Some((&v.name, ord));
    }
}

fn collect_ordinals(fields: &[Field], prefix: &str, out: &mut Vec<(u16, String)>) {
    for f in fields {
        let path = format!("{prefix}{}", f.name);
        match &f.kind {
            FieldKind::Slot(s) => out.push((s.ordinal, path)),
            FieldKind::Group(g) => collect_ordinals(&g.fields, &format!("{path}."), out),
            FieldKind::Union(u) => collect_ordinals(&u.variants, &format!("{path}."), out),
        }
    }
}

fn check_ordinals(s: &StructType, ctx: &str, errors: &mut Vec<String>) {
    let mut ords = Vec::new();
    collect_ordinals(&s.fields, "", &mut ords);
    if let Some(u) = &s.unnamed_union {
        collect_ordinals(&u.variants, "", &mut ords);
    }
    let mut by_ordinal: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for (ord, path) in &ords {
        by_ordinal.entry(*ord).or_default().push(path);
    }
    for (ord, paths) in &by_ordinal {
        if paths.len() > 1 {
            errors.push(format!(
                "{ctx}: ordinal @{ord} is used by more than one field ({})",
                paths.join(", ")
            ));
        }
    }
    let max = by_ordinal.keys().next_back().copied().unwrap_or(0);
    let missing: Vec<String> = (0..max)
        .filter(|o| !by_ordinal.contains_key(o))
        .map(|o| format!("@{o}"))
        .collect();
    if !missing.is_empty() {
        errors.push(format!(
            "{ctx}: ordinals must run from @0 without gaps; missing {}",
            missing.join(", ")
        ));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Primary,
    Unique,
    Hash,
}

impl KeyKind {
    fn describe(self) -> &'static str {
        match self {
            KeyKind::Primary => "primary key",
            KeyKind::Unique => "unique key",
            KeyKind::Hash => "hash index",
        }
    }
}

fn check_key(schema: &Schema, s: &StructType, kind: KeyKind, key: &Key, errors: &mut Vec<String>) {
    let head = format!("struct {}: {} \"{key}\"", s.name, kind.describe());
    if key.paths.is_empty() {
        errors.push(format!("{head}: names no field"));
    }
    for path in &key.paths {
        match resolve(schema, s, kind, path) {
            Err(problem) => errors.push(format!("{head}: {problem}")),
            Ok(ty) => {
                if let Some(problem) = key_type_problem(kind, ty) {
                    errors.push(format!("{head}: field \"{path}\" {problem}"));
                }
            }
        }
    }
}

fn key_type_problem(kind: KeyKind, ty: &Type) -> Option<String> {
    if *ty == Type::Void {
        return Some("is Void and holds no value".into());
    }
    match kind {
        KeyKind::Primary | KeyKind::Unique => {
            if ty.is_float() {
                Some(format!(
                    "is {ty}; floats cannot be in a {}",
                    kind.describe()
                ))
            } else if matches!(ty, Type::List(_)) {
                Some(format!("is {ty}; lists cannot be in a {}", kind.describe()))
            } else {
                None
            }
        }
        KeyKind::Hash => match ty {
            t if t.is_float() => Some(format!("is {t}; floats cannot be hash indexed")),
            Type::List(e) if e.is_float() => {
                Some(format!("is {ty}; floats cannot be hash indexed"))
            }
            Type::List(e) if matches!(**e, Type::Struct(_) | Type::List(_)) => Some(format!(
                "is {ty}; a hash index on a list indexes each element, which must be a \
                 scalar, Text, Data or an enum"
            )),
            _ => None,
        },
    }
}

/// Where a key path segment is looked up: a struct's scope or a group's.
struct Scope<'a> {
    describe: String,
    fields: &'a [Field],
    unnamed: &'a [Field],
}

impl Scope<'_> {
    fn names(&self) -> String {
        let names: Vec<&str> = self
            .fields
            .iter()
            .chain(self.unnamed)
            .map(|f| f.name.as_str())
            .collect();
        names.join(", ")
    }
}

fn struct_scope(s: &StructType) -> Scope<'_> {
    Scope {
        describe: format!("struct {}", s.name),
        fields: &s.fields,
        unnamed: s.unnamed_union.as_ref().map_or(&[], |u| &u.variants[..]),
    }
}

/// Resolves a key path to the type of the value field it ends at, or
/// describes why it cannot. A hash index path may end in a map's entries
/// (`titles.key`, `titles.value`: each of the map's keys or values).
fn resolve<'a>(
    schema: &'a Schema,
    s: &'a StructType,
    kind: KeyKind,
    path: &FieldPath,
) -> Result<&'a Type, String> {
    let mut scope = struct_scope(s);
    let n = path.segments.len();
    for (i, seg) in path.segments.iter().enumerate() {
        let last = i + 1 == n;
        let so_far = path.segments[..=i].join(".");
        if scope.unnamed.iter().any(|f| &f.name == seg) {
            return Err(format!(
                "\"{so_far}\" is a member of the unnamed union of {}; a key cannot use a \
                 union member",
                scope.describe
            ));
        }
        let Some(field) = scope.fields.iter().find(|f| &f.name == seg) else {
            return Err(format!(
                "no field \"{seg}\" in {} (fields: {})",
                scope.describe,
                scope.names()
            ));
        };
        match &field.kind {
            FieldKind::Union(_) => {
                return Err(format!(
                    "\"{so_far}\" is a union; a key cannot use a union or its members"
                ))
            }
            FieldKind::Group(g) => {
                if last {
                    return Err(format!(
                        "\"{so_far}\" is a group; name one of its fields ({})",
                        g.fields
                            .iter()
                            .map(|f| f.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                scope = Scope {
                    describe: format!("group \"{so_far}\""),
                    fields: &g.fields,
                    unnamed: &[],
                };
            }
            FieldKind::Slot(slot) => {
                if last {
                    return Ok(&slot.ty);
                }
                match &slot.ty {
                    Type::List(entry) if slot.collection == Some(crate::Collection::Map) => {
                        return map_entry_field(
                            schema,
                            kind,
                            entry,
                            &so_far,
                            &path.segments[i + 1..],
                        )
                    }
                    Type::List(_) => {
                        return Err(format!(
                            "\"{so_far}\" is a {}; a key path cannot pass through a list",
                            slot.ty
                        ))
                    }
                    Type::Struct(name) => match schema.get_struct(name) {
                        Some(inner) => scope = struct_scope(inner),
                        None => {
                            return Err(format!(
                                "\"{so_far}\" has type {name}, which is not a struct of the schema"
                            ))
                        }
                    },
                    other => {
                        return Err(format!(
                            "\"{so_far}\" is {other}, not a struct or group, so \"{}\" names \
                             nothing",
                            path
                        ))
                    }
                }
            }
        }
    }
    Err(format!("empty path in {}", scope.describe))
}

/// The type of the field `rest` names in the entries (of type `entry`) of
/// the map `so_far`: `key` or `value`, and only for a hash index.
fn map_entry_field<'a>(
    schema: &'a Schema,
    kind: KeyKind,
    entry: &Type,
    so_far: &str,
    rest: &[String],
) -> Result<&'a Type, String> {
    if kind != KeyKind::Hash {
        return Err(format!(
            "\"{so_far}\" is a map; a {} cannot pass through a map (a hash index can \
             index its keys, {so_far}.key, or its values, {so_far}.value)",
            kind.describe()
        ));
    }
    let [seg] = rest else {
        return Err(format!(
            "\"{so_far}\" is a map; a path into it names its entries' key or value and ends \
             there ({so_far}.key, {so_far}.value)"
        ));
    };
    let field = match entry {
        Type::Struct(name) => schema
            .get_struct(name)
            .and_then(|e| e.fields.iter().find(|f| &f.name == seg)),
        _ => None,
    };
    match field.map(|f| &f.kind) {
        Some(FieldKind::Slot(slot)) if seg == "key" || seg == "value" => match &slot.ty {
            Type::List(_) => Err(format!(
                "\"{so_far}.{seg}\" is {}; a map's keys or values are hash indexed only \
                 when each is one key (a scalar, Text, Data or an enum)",
                slot.ty
            )),
            ty => Ok(ty),
        },
        _ => Err(format!(
            "\"{so_far}\" is a map; its entries have the fields key and value, not \"{seg}\""
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Enumerant, Union};

    fn movie() -> StructType {
        let mut m = StructType::new("Movie");
        m.is_record = true;
        m.fields.push(Field::slot("id", 0, Type::UInt64));
        m.fields.push(Field::slot("title", 1, Type::Text));
        m.fields.push(Field::slot("rating", 2, Type::Float32));
        m.fields.push(Field::slot(
            "genres",
            3,
            Type::List(Box::new(Type::Enum("Genre".into()))),
        ));
        m.fields
            .push(Field::slot("lead", 4, Type::Struct("Person".into())));
        m.fields.push(Field::group(
            "release",
            vec![
                Field::slot("year", 5, Type::UInt16),
                Field::slot("country", 6, Type::Text),
            ],
        ));
        m.fields.push(Field::slot(
            "cast",
            7,
            Type::List(Box::new(Type::Struct("Person".into()))),
        ));
        m
    }

    fn schema_with(m: StructType) -> Schema {
        let mut p = StructType::new("Person");
        p.fields.push(Field::slot("id", 0, Type::UInt32));
        p.fields.push(Field::slot("name", 1, Type::Text));
        let genre = EnumType {
            name: "Genre".into(),
            doc: None,
            enumerants: vec![
                Enumerant {
                    name: "drama".into(),
                    doc: None,
                },
                Enumerant {
                    name: "comedy".into(),
                    doc: None,
                },
            ],
        };
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Struct(m));
        schema.types.push(TypeDef::Struct(p));
        schema.types.push(TypeDef::Enum(genre));
        schema
    }

    fn errors_of(schema: &Schema) -> Vec<String> {
        match validate(schema) {
            Ok(()) => Vec::new(),
            Err(e) => e.message().lines().map(str::to_string).collect(),
        }
    }

    #[test]
    fn a_marked_field_of_no_map_or_set_shape_is_named() {
        let mut m = movie();
        m.fields[1] = Field::slot("title", 1, Type::Text).marked(crate::Collection::Set);
        m.fields[6] = Field::slot(
            "cast",
            7,
            Type::List(Box::new(Type::Struct("Person".into()))),
        )
        .marked(crate::Collection::Map);
        assert_eq!(
            errors_of(&schema_with(m)),
            [
                "struct Movie: field \"title\" is marked $Hollow.set: a set is a List, not Text",
                "struct Movie: field \"cast\" is marked $Hollow.map: entry struct Person must \
                 have exactly the fields key @0 and value @1 (no groups or unions)",
            ]
        );
        let mut m = movie();
        m.fields[3] = Field::slot(
            "genres",
            3,
            Type::List(Box::new(Type::Enum("Genre".into()))),
        )
        .marked(crate::Collection::Set);
        assert_eq!(errors_of(&schema_with(m)), Vec::<String>::new());
    }

    #[test]
    fn accepts_a_good_schema() {
        let mut m = movie();
        m.primary_key = Some(Key::parse("id").unwrap());
        m.unique_keys
            .push(Key::parse("title, release.year").unwrap());
        m.unique_keys.push(Key::parse("lead.id").unwrap());
        m.hash_indexes.push(Key::parse("genres").unwrap());
        m.hash_indexes.push(Key::parse("release.country").unwrap());
        assert_eq!(errors_of(&schema_with(m)), Vec::<String>::new());
    }

    #[test]
    fn missing_key_fields_are_named_with_the_fields_available() {
        let mut m = movie();
        m.primary_key = Some(Key::parse("idx").unwrap());
        m.hash_indexes.push(Key::parse("lead.nme").unwrap());
        m.unique_keys.push(Key::parse("release.month").unwrap());
        let errs = errors_of(&schema_with(m));
        assert_eq!(
            errs,
            [
                "struct Movie: primary key \"idx\": no field \"idx\" in struct Movie (fields: \
                 id, title, rating, genres, lead, release, cast)",
                "struct Movie: unique key \"release.month\": no field \"month\" in group \
                 \"release\" (fields: year, country)",
                "struct Movie: hash index \"lead.nme\": no field \"nme\" in struct Person \
                 (fields: id, name)",
            ]
        );
    }

    #[test]
    fn key_types_are_checked() {
        let mut m = movie();
        m.primary_key = Some(Key::parse("rating").unwrap());
        m.unique_keys.push(Key::parse("genres").unwrap());
        m.hash_indexes.push(Key::parse("cast").unwrap());
        m.hash_indexes.push(Key::parse("rating").unwrap());
        m.hash_indexes.push(Key::parse("cast.id").unwrap());
        m.hash_indexes.push(Key::parse("title.x").unwrap());
        m.hash_indexes.push(Key::parse("release").unwrap());
        let errs = errors_of(&schema_with(m));
        assert_eq!(errs.len(), 7, "{errs:#?}");
        assert!(errs[0].contains("primary key \"rating\": field \"rating\" is Float32"));
        assert!(errs[1].contains("unique key \"genres\": field \"genres\" is List(Genre)"));
        assert!(errs[2].contains("hash index \"cast\": field \"cast\" is List(Person)"));
        assert!(errs[3].contains("hash index \"rating\""));
        assert!(errs[4].contains("cannot pass through a list"));
        assert!(errs[5].contains("\"title\" is Text, not a struct or group"));
        assert!(errs[6].contains("\"release\" is a group"));
    }

    /// A hash index may name a map's keys or values (each one indexed);
    /// no other key passes through a map, and nothing past key or value.
    #[test]
    fn a_hash_index_names_a_map_s_keys_or_values() {
        let with_map = |hash: &str, unique: Option<&str>| {
            let mut m = movie();
            m.fields.push(
                Field::slot(
                    "titles",
                    8,
                    Type::List(Box::new(Type::Struct("MovieTitlesEntry".into()))),
                )
                .marked(crate::Collection::Map),
            );
            m.hash_indexes.push(Key::parse(hash).unwrap());
            m.unique_keys.extend(unique.map(|k| Key::parse(k).unwrap()));
            let mut schema = schema_with(m);
            let mut entry = StructType::new("MovieTitlesEntry");
            entry.fields.push(Field::slot("key", 0, Type::Text));
            entry.fields.push(Field::slot("value", 1, Type::UInt32));
            schema.types.push(TypeDef::Struct(entry));
            errors_of(&schema)
        };
        assert_eq!(with_map("titles.key", None), Vec::<String>::new());
        assert_eq!(with_map("titles.value", None), Vec::<String>::new());
        for (hash, unique, problem) in [
            (
                "titles.name",
                None,
                "its entries have the fields key and value, not \"name\"",
            ),
            ("titles", None, "is List(MovieTitlesEntry)"),
            ("titles.key.x", None, "and ends there"),
            (
                "titles.key",
                Some("titles.key"),
                "a unique key cannot pass through a map",
            ),
        ] {
            let errs = with_map(hash, unique);
            assert_eq!(errs.len(), 1, "{hash}: {errs:#?}");
            assert!(errs[0].contains(problem), "{hash}: {errs:#?}");
        }
    }

    #[test]
    fn keys_cannot_use_unions() {
        let mut m = movie();
        m.fields.push(Field::union(
            "status",
            vec![
                Field::slot("draft", 8, Type::Void),
                Field::slot("published", 9, Type::UInt64),
            ],
        ));
        m.unnamed_union = Some(Union::new(vec![
            Field::slot("a", 10, Type::UInt8),
            Field::slot("b", 11, Type::UInt8),
        ]));
        m.hash_indexes.push(Key::parse("status.published").unwrap());
        m.hash_indexes.push(Key::parse("a").unwrap());
        let errs = errors_of(&schema_with(m));
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(errs[0].contains("\"status\" is a union"));
        assert!(errs[1].contains("\"a\" is a member of the unnamed union of struct Movie"));
    }

    #[test]
    fn names_and_scopes() {
        let mut m = movie();
        // Clashes with a field through the unnamed union's shared scope.
        m.unnamed_union = Some(Union::new(vec![
            Field::slot("title", 8, Type::Void),
            Field::slot("other", 9, Type::Void),
        ]));
        // A group's members are their own scope: "id" is fine there.
        m.fields.push(Field::group(
            "extra",
            vec![
                Field::slot("id", 10, Type::Bool),
                Field::slot("id", 11, Type::Bool),
            ],
        ));
        m.fields.push(Field::slot("bad_name", 12, Type::Bool));
        let mut schema = schema_with(m);
        schema
            .types
            .push(TypeDef::Struct(StructType::new("Person")));
        schema.types.push(TypeDef::Struct(StructType::new("lower")));
        schema.types.push(TypeDef::Struct(StructType::new("Text")));
        let errs = errors_of(&schema);
        assert!(
            errs.iter()
                .any(|e| e
                    == "struct Movie: member \"title\" is defined more than once in its scope"),
            "{errs:#?}"
        );
        assert!(
            errs.iter()
                .any(|e| e
                    == "struct Movie: member \"extra.id\" is defined more than once in its scope"),
            "{errs:#?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("\"bad_name\" may hold only")),
            "{errs:#?}"
        );
        assert!(errs.contains(&"type Person is defined more than once".to_string()));
        assert!(errs
            .iter()
            .any(|e| e.starts_with("type lower: a type name must start")));
        assert!(errs
            .iter()
            .any(|e| e.starts_with("type Text: \"Text\" is reserved")));
        assert_eq!(errs.len(), 6, "{errs:#?}");
    }

    #[test]
    fn dangling_type_references() {
        let mut m = movie();
        m.fields
            .push(Field::slot("studio", 8, Type::Struct("Studio".into())));
        m.fields.push(Field::slot(
            "tags",
            9,
            Type::List(Box::new(Type::Enum("Tag".into()))),
        ));
        m.fields
            .push(Field::slot("who", 10, Type::Enum("Person".into())));
        let errs = errors_of(&schema_with(m));
        assert_eq!(
            errs,
            [
                "struct Movie: field \"studio\" uses struct Studio, which is not in the schema",
                "struct Movie: field \"tags\" uses enum Tag, which is not in the schema",
                "struct Movie: field \"who\" uses Person as an enum, but it is a struct",
            ]
        );
    }

    #[test]
    fn small_unions_empty_groups_and_ordinals() {
        let mut s = StructType::new("Shapes");
        s.fields
            .push(Field::union("u", vec![Field::slot("a", 0, Type::Void)]));
        s.fields.push(Field::group("g", vec![]));
        s.fields.push(Field::slot("b", 0, Type::Bool));
        s.fields.push(Field::slot("c", 3, Type::Bool));
        s.unnamed_union = Some(Union::new(vec![Field::slot("d", 4, Type::Bool)]));
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Struct(s));
        let errs = errors_of(&schema);
        assert_eq!(
            errs,
            [
                "struct Shapes: union \"u\" needs at least two members, has 1",
                "struct Shapes: group \"g\" has no members",
                "struct Shapes: the unnamed union needs at least two members, has 1",
                "struct Shapes: ordinal @0 is used by more than one field (u.a, b)",
                "struct Shapes: ordinals must run from @0 without gaps; missing @1, @2",
            ]
        );
    }

    #[test]
    fn union_members_follow_ordinal_order() {
        let mut s = StructType::new("S");
        s.fields.push(Field::union(
            "u",
            vec![
                Field::group("g", vec![Field::slot("x", 1, Type::Bool)]),
                Field::slot("y", 0, Type::Bool),
            ],
        ));
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Struct(s));
        let errs = errors_of(&schema);
        assert_eq!(errs.len(), 1, "{errs:#?}");
        assert!(
            errs[0].starts_with("struct S: union \"u\": member \"y\" (@0) comes after \"g\" (@1)")
        );
    }

    #[test]
    fn enums_are_checked() {
        let mut schema = Schema::new();
        schema.types.push(TypeDef::Enum(EnumType {
            name: "Color".into(),
            doc: None,
            enumerants: vec![
                Enumerant {
                    name: "red".into(),
                    doc: None,
                },
                Enumerant {
                    name: "red".into(),
                    doc: None,
                },
                Enumerant {
                    name: "Blue".into(),
                    doc: None,
                },
            ],
        }));
        let errs = errors_of(&schema);
        assert_eq!(
            errs,
            [
                "enum Color: enumerant \"red\" is defined more than once",
                "enum Color: member name \"Blue\" must start with a lower-case letter",
            ]
        );
    }
}
