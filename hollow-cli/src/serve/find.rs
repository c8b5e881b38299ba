//! Records found by a unique key or a hash index their type declares
//! (`$Hollow.uniqueKeys`, `$Hollow.hashIndexes`), with no generated code.
//!
//! A key's fields are read from the record's JSON (what every page shows)
//! by walking each field path with the schema beside it: a list or a set
//! gives each of its elements, a map its keys (`.key`) or its values
//! (`.value`), a struct, group or union its named member. A record matches
//! when, for every field of the key, one of the values it reads there is
//! the one asked for, compared as text (numbers as written, enums by name,
//! Data in base64: the forms the pages show). A lookup scans the type's
//! records once, as a primary-key lookup does (see `crate::lookup`).

use hollow_runtime::schema::{Collection, Field, FieldKind, Key, Schema, StructType, Type};
use serde_json::Value;

use super::ServeError;

/// Which of a type's declared keys a query names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    /// One of its unique keys: at most one record per value.
    Unique,
    /// One of its hash indexes: any number of records per value.
    Hash,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Unique => "unique key",
            KeyKind::Hash => "hash index",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            KeyKind::Unique => "unique keys",
            KeyKind::Hash => "hash indexes",
        }
    }
}

/// The key `fields` (annotation form, `lead.id` or `region,sku`) among
/// those of kind `kind` that `st` declares.
///
/// # Errors
/// 400 naming the type and the keys of that kind it declares.
pub(super) fn declared(st: &StructType, kind: KeyKind, fields: &str) -> Result<Key, ServeError> {
    let list = match kind {
        KeyKind::Unique => &st.unique_keys,
        KeyKind::Hash => &st.hash_indexes,
    };
    let wanted = Key::parse(fields).ok();
    if let Some(k) = list.iter().find(|k| Some(*k) == wanted.as_ref()) {
        return Ok(k.clone());
    }
    let what = kind.name();
    let have = if list.is_empty() {
        format!("it declares no {what}")
    } else {
        format!(
            "its {} are {}",
            kind.plural(),
            list.iter()
                .map(|k| format!("\"{k}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    Err(ServeError::bad_request(format!(
        "{} has no {what} \"{fields}\"; {have}",
        st.name
    )))
}

/// The value asked for, one text per field of `key`: the text itself for
/// a one-field key; for a composite key its parts separated by commas or
/// a JSON array (`["a,b", 42]`).
///
/// # Errors
/// 400 when the number of parts is not the number of fields.
pub(super) fn parse_value(key: &Key, text: &str) -> Result<Vec<String>, ServeError> {
    let n = key.paths.len();
    if n == 1 {
        return Ok(vec![text.to_owned()]);
    }
    let parts: Vec<String> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items.iter().map(leaf_text).collect(),
        _ => text.split(',').map(|p| p.trim().to_owned()).collect(),
    };
    if parts.len() == n {
        Ok(parts)
    } else {
        Err(ServeError::bad_request(format!(
            "{text:?} has {} parts but the key \"{key}\" has {n} fields; give them \
             separated by commas or as a JSON array",
            parts.len()
        )))
    }
}

/// Whether the record `rec` (the JSON of a record of type `st`) holds
/// `want` (from [`parse_value`]) at `key`.
pub(super) fn matches(
    schema: &Schema,
    st: &StructType,
    rec: &Value,
    key: &Key,
    want: &[String],
) -> bool {
    let scope: Vec<&Field> = st.members().collect();
    key.paths.iter().zip(want).all(|(path, w)| {
        let mut found = Vec::new();
        walk(schema, &scope, rec, &path.segments, &mut found);
        found.iter().any(|v| leaf_text(v) == *w)
    })
}

/// A value as the text a query compares with.
fn leaf_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The values at `segs` below `v`, whose members are `scope`.
fn walk(schema: &Schema, scope: &[&Field], v: &Value, segs: &[String], out: &mut Vec<Value>) {
    let Some((seg, rest)) = segs.split_first() else {
        return;
    };
    let (Some(f), Some(x)) = (scope.iter().find(|f| f.name == *seg), v.get(seg)) else {
        return;
    };
    match &f.kind {
        FieldKind::Slot(s) => along(schema, &s.ty, s.collection, x, rest, out),
        FieldKind::Group(g) => walk(schema, &g.fields.iter().collect::<Vec<_>>(), x, rest, out),
        FieldKind::Union(u) => walk(schema, &u.variants.iter().collect::<Vec<_>>(), x, rest, out),
    }
}

/// The values at `rest` below `x`, a value of type `ty`.
fn along(
    schema: &Schema,
    ty: &Type,
    collection: Option<Collection>,
    x: &Value,
    rest: &[String],
    out: &mut Vec<Value>,
) {
    match (ty, collection) {
        (Type::List(elem), Some(Collection::Map)) => map_part(schema, elem, x, rest, out),
        (Type::List(elem), _) => {
            for e in x.as_array().map_or(&[][..], Vec::as_slice) {
                along(schema, elem, None, e, rest, out);
            }
        }
        (Type::Struct(name), _) => {
            if let Some(st) = schema.get_struct(name) {
                walk(schema, &st.members().collect::<Vec<_>>(), x, rest, out);
            }
        }
        _ if rest.is_empty() && !x.is_null() => out.push(x.clone()),
        _ => {}
    }
}

/// The keys (`rest` = `key…`) or values (`value…`) of the map `x`, whose
/// entries are `elem`: a JSON object when its keys are Text, else an
/// array of `[key, value]` pairs.
fn map_part(schema: &Schema, elem: &Type, x: &Value, rest: &[String], out: &mut Vec<Value>) {
    let Type::Struct(entry) = elem else { return };
    let Some((part, rest)) = rest.split_first() else {
        return;
    };
    let Some(FieldKind::Slot(slot)) = schema
        .get_struct(entry)
        .and_then(|e| e.field(part))
        .map(|f| &f.kind)
    else {
        return;
    };
    let index = match part.as_str() {
        "key" => 0,
        "value" => 1,
        _ => return,
    };
    match x {
        Value::Object(m) => {
            for (k, v) in m {
                let item = if index == 0 {
                    Value::String(k.clone())
                } else {
                    v.clone()
                };
                along(schema, &slot.ty, slot.collection, &item, rest, out);
            }
        }
        Value::Array(pairs) => {
            for item in pairs.iter().filter_map(|p| p.get(index)) {
                along(schema, &slot.ty, slot.collection, item, rest, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use hollow_runtime::schema::TypeDef;
    use serde_json::json;

    use super::*;

    fn entry(name: &str, key: Type, value: Type) -> TypeDef {
        let mut e = StructType::new(name);
        e.fields.push(Field::slot("key", 0, key));
        e.fields.push(Field::slot("value", 1, value));
        TypeDef::Struct(e)
    }

    fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }

    /// A record with a Text-keyed map, an integer-keyed map, a list of
    /// structs and a group; and one record of it as JSON.
    fn movie() -> (Schema, Value) {
        let mut m = StructType::new("Movie");
        m.is_record = true;
        m.fields.push(Field::slot("id", 0, Type::UInt64));
        m.fields.push(
            Field::slot("titles", 1, list(Type::Struct("TitlesEntry".into())))
                .marked(Collection::Map),
        );
        m.fields.push(
            Field::slot("ratings", 2, list(Type::Struct("RatingsEntry".into())))
                .marked(Collection::Map),
        );
        m.fields
            .push(Field::slot("cast", 3, list(Type::Struct("Role".into()))));
        m.fields.push(Field::group(
            "release",
            vec![Field::slot("country", 4, Type::Text)],
        ));
        let mut role = StructType::new("Role");
        role.fields.push(Field::slot("id", 0, Type::UInt64));
        role.fields.push(Field::slot("name", 1, Type::Text));
        let mut schema = Schema::new();
        schema.insert(TypeDef::Struct(m));
        schema.insert(TypeDef::Struct(role));
        schema.insert(entry("TitlesEntry", Type::Text, Type::UInt32));
        schema.insert(entry("RatingsEntry", Type::UInt32, Type::Text));
        let rec = json!({
            "id": 1,
            "titles": {"en": 10, "fr": 20},
            "ratings": [[5, "good"], [1, "bad"]],
            "cast": [{"id": 7, "name": "a"}, {"id": 8, "name": "b"}],
            "release": {"country": "se"},
        });
        (schema, rec)
    }

    fn finds(key: &str, value: &str) -> bool {
        let (schema, rec) = movie();
        let st = schema.get_struct("Movie").unwrap();
        let key = Key::parse(key).unwrap();
        let want = parse_value(&key, value).unwrap();
        matches(&schema, st, &rec, &key, &want)
    }

    #[test]
    fn keys_through_maps_lists_and_groups() {
        assert!(finds("titles.key", "fr"));
        assert!(!finds("titles.key", "de"));
        assert!(finds("titles.value", "20"));
        assert!(finds("ratings.key", "1"));
        assert!(finds("ratings.value", "good"));
        assert!(!finds("ratings.value", "5"));
        assert!(finds("cast.id", "8"));
        assert!(!finds("cast.id", "9"));
        assert!(finds("release.country", "se"));
        assert!(finds("id,cast.name", "1,b"));
        assert!(finds("id,cast.name", r#"[1, "b"]"#));
        assert!(!finds("id,cast.name", "2,b"));
        // A path the record does not have finds nothing.
        assert!(!finds("titles.name", "fr"));
        assert!(!finds("nope", "1"));
    }

    #[test]
    fn a_value_must_have_one_part_per_field() {
        let key = Key::parse("region,code").unwrap();
        let e = parse_value(&key, "eu").unwrap_err();
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(
            e.message()
                .contains("\"eu\" has 1 parts but the key \"region,code\" has 2 fields"),
            "{e}"
        );
        // One field: the text whole, commas and all.
        let one = Key::parse("title").unwrap();
        assert_eq!(parse_value(&one, "a,b").unwrap(), ["a,b"]);
    }

    #[test]
    fn an_undeclared_index_names_the_declared_ones() {
        let (schema, _) = movie();
        let mut st = schema.get_struct("Movie").unwrap().clone();
        st.hash_indexes.push(Key::parse("cast.id").unwrap());
        assert_eq!(
            declared(&st, KeyKind::Hash, "cast.id").unwrap().to_string(),
            "cast.id"
        );
        let e = declared(&st, KeyKind::Hash, "id").unwrap_err();
        assert_eq!(
            e.message(),
            "Movie has no hash index \"id\"; its hash indexes are \"cast.id\""
        );
        let e = declared(&st, KeyKind::Unique, "id").unwrap_err();
        assert_eq!(
            e.message(),
            "Movie has no unique key \"id\"; it declares no unique key"
        );
    }
}
