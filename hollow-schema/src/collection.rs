//! The shape a field marked `$Hollow.map` or `$Hollow.set` must have
//! (`docs/maps-and-sets.md`): what [`validate`](crate::validate) checks of
//! each marked field.

use crate::ir::{Collection, Schema, StructType, Type};

/// Why a field of type `ty` marked `c` cannot be that map or set, if it
/// cannot. A struct or enum missing from the schema is not reported here
/// (the type check reports it).
pub(crate) fn collection_problem(schema: &Schema, c: Collection, ty: &Type) -> Option<String> {
    let Type::List(elem) = ty else {
        return Some(format!("a {} is a List, not {ty}", noun(c)));
    };
    match c {
        Collection::Set => key_problem(schema, elem).map(|p| format!("element: {p}")),
        Collection::Map => match &**elem {
            Type::Struct(entry) => schema
                .get_struct(entry)
                .and_then(|s| entry_problem(schema, s)),
            other => Some(format!(
                "a map is a List of entry structs (key @0, value @1), not of {other}"
            )),
        },
    }
}

fn noun(c: Collection) -> &'static str {
    match c {
        Collection::Map => "map",
        Collection::Set => "set",
    }
}

/// Why `s` cannot be a map's entry struct, if it cannot: it must have
/// exactly the fields `key @0` and `value @1`, and a key of a key type.
fn entry_problem(schema: &Schema, s: &StructType) -> Option<String> {
    if let ([k, v], None) = (s.fields.as_slice(), &s.unnamed_union) {
        if let (Some(ks), Some(vs)) = (k.as_slot(), v.as_slot()) {
            if k.name == "key" && v.name == "value" && ks.ordinal == 0 && vs.ordinal == 1 {
                return key_problem(schema, &ks.ty)
                    .map(|p| format!("entry struct {}: key: {p}", s.name));
            }
        }
    }
    Some(format!(
        "entry struct {} must have exactly the fields key @0 and value @1 (no groups or unions)",
        s.name
    ))
}

/// Why values of `ty` cannot be map keys or set elements, if they cannot.
fn key_problem(schema: &Schema, ty: &Type) -> Option<String> {
    const KINDS: &str = "keys are integers, Bool, enums, Text, Data, or structs of fields of those";
    if is_scalar_key(ty) {
        return None;
    }
    match ty {
        Type::Struct(name) => {
            let s = schema.get_struct(name)?;
            let why = if s.fields.is_empty() {
                Some("it has no fields".to_string())
            } else if s.unnamed_union.is_some() {
                Some("it has a union".to_string())
            } else {
                s.fields.iter().find_map(|f| match f.as_slot() {
                    Some(x) if is_scalar_key(&x.ty) => None,
                    Some(x) => Some(format!("field \"{}\" is {}", f.name, x.ty)),
                    None => Some(format!("field \"{}\" is a group or union", f.name)),
                })
            };
            why.map(|why| {
                format!(
                    "struct {name} cannot be a key: {why} (a composite key has only fields \
                     of integer, Bool, enum, Text or Data type: no groups, unions, lists, \
                     floats or structs)"
                )
            })
        }
        _ => Some(format!("{ty} cannot be a key ({KINDS})")),
    }
}

/// Whether `ty` is a key type other than a struct.
fn is_scalar_key(ty: &Type) -> bool {
    matches!(
        ty,
        Type::Bool
            | Type::Int8
            | Type::Int16
            | Type::Int32
            | Type::Int64
            | Type::UInt8
            | Type::UInt16
            | Type::UInt32
            | Type::UInt64
            | Type::Text
            | Type::Data
            | Type::Enum(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Field, TypeDef};

    fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    fn entry(name: &str, fields: Vec<Field>) -> TypeDef {
        let mut s = StructType::new(name);
        s.fields = fields;
        TypeDef::Struct(s)
    }

    /// A schema with entry structs of good and bad shapes, and a composite key.
    fn schema() -> Schema {
        let mut schema = Schema::new();
        schema.types.push(entry(
            "Good",
            vec![
                Field::slot("key", 0, Type::Text),
                Field::slot("value", 1, list(Type::Struct("Good".into()))),
            ],
        ));
        schema.types.push(entry(
            "ByPair",
            vec![
                Field::slot("key", 0, Type::Struct("Pair".into())),
                Field::slot("value", 1, Type::Float64),
            ],
        ));
        schema.types.push(entry(
            "Pair",
            vec![
                Field::slot("region", 0, Type::Text),
                Field::slot("n", 1, Type::Int32),
            ],
        ));
        schema.types.push(entry(
            "FloatKey",
            vec![
                Field::slot("key", 0, Type::Float32),
                Field::slot("value", 1, Type::Text),
            ],
        ));
        schema.types.push(entry(
            "Grouped",
            vec![
                Field::slot("id", 0, Type::Int32),
                Field::group("g", vec![Field::slot("n", 1, Type::Int32)]),
            ],
        ));
        schema.types.push(entry("Empty", vec![]));
        schema.types.push(entry(
            "Floats",
            vec![
                Field::slot("id", 0, Type::Int32),
                Field::slot("x", 1, Type::Float32),
            ],
        ));
        schema.types.push(entry(
            "ByFloats",
            vec![
                Field::slot("key", 0, Type::Struct("Floats".into())),
                Field::slot("value", 1, Type::Text),
            ],
        ));
        schema.types.push(entry(
            "Swapped",
            vec![
                Field::slot("value", 0, Type::Text),
                Field::slot("key", 1, Type::Text),
            ],
        ));
        schema
    }

    fn problem(c: Collection, ty: Type) -> Option<String> {
        collection_problem(&schema(), c, &ty)
    }

    #[test]
    fn maps_and_sets_of_key_types_are_accepted() {
        for ty in [
            Type::Int64,
            Type::Bool,
            Type::Text,
            Type::Data,
            Type::Enum("E".into()),
        ] {
            assert_eq!(problem(Collection::Set, list(ty)), None);
        }
        assert_eq!(
            problem(Collection::Set, list(Type::Struct("Pair".into()))),
            None
        );
        assert_eq!(
            problem(Collection::Map, list(Type::Struct("Good".into()))),
            None
        );
        assert_eq!(
            problem(Collection::Map, list(Type::Struct("ByPair".into()))),
            None
        );
    }

    #[test]
    fn each_wrong_shape_is_named() {
        let cases = [
            (Collection::Set, Type::Text, "a set is a List, not Text"),
            (
                Collection::Set,
                list(Type::Float64),
                "element: Float64 cannot be a key",
            ),
            (
                Collection::Set,
                list(list(Type::Text)),
                "element: List(Text) cannot be a key",
            ),
            (
                Collection::Set,
                list(Type::Struct("Good".into())),
                "element: struct Good cannot be a key: field \"value\" is List(Good)",
            ),
            (
                Collection::Set,
                list(Type::Struct("ByPair".into())),
                "element: struct ByPair cannot be a key: field \"key\" is Pair",
            ),
            (
                Collection::Set,
                list(Type::Struct("Grouped".into())),
                "element: struct Grouped cannot be a key: field \"g\" is a group or union",
            ),
            (
                Collection::Set,
                list(Type::Struct("Empty".into())),
                "element: struct Empty cannot be a key: it has no fields",
            ),
            (
                Collection::Map,
                list(Type::Struct("ByFloats".into())),
                "entry struct ByFloats: key: struct Floats cannot be a key: field \"x\" is Float32",
            ),
            (
                Collection::Set,
                list(Type::Void),
                "element: Void cannot be a key",
            ),
            (
                Collection::Map,
                list(Type::Text),
                "a map is a List of entry structs (key @0, value @1), not of Text",
            ),
            (
                Collection::Map,
                list(Type::Struct("FloatKey".into())),
                "entry struct FloatKey: key: Float32 cannot be a key",
            ),
            (
                Collection::Map,
                list(Type::Struct("Swapped".into())),
                "entry struct Swapped must have exactly the fields key @0 and value @1",
            ),
            (
                Collection::Map,
                list(Type::Struct("Pair".into())),
                "entry struct Pair must have exactly the fields key @0 and value @1",
            ),
        ];
        for (c, ty, want) in cases {
            let got = problem(c, ty.clone()).unwrap_or_default();
            assert!(got.starts_with(want), "{c:?} {ty}: {got}");
        }
    }
}
