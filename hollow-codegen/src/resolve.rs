//! Stage 2: the compiler's request → the schema IR (`hollow_schema`) →
//! [`ModulePlan`]s, refusing what cannot be generated faithfully.
//!
//! Every refusal names the file, the struct and the field. All problems are
//! collected and reported together.
//!
//! # Field order
//!
//! `#[derive(Hollow)]` numbers fields `@0, @1, …` in declaration order, depth
//! first through groups and unions, and lays the struct out from those
//! ordinals. So that the generated type has the compiler's layout, each
//! struct's and group's fields are emitted in the order of their smallest
//! ordinal (union members stay in discriminant order), and the resulting
//! numbering is checked against the schema's `@N`: a schema whose groups or
//! unions do not hold consecutive ordinals is refused rather than generated
//! with another layout.

use std::collections::{BTreeMap, HashMap, HashSet};

use capnp::message::ReaderOptions;
use capnp::schema_capnp::{code_generator_request, node};
use hollow_schema::{Collection, Field, FieldKind, Key, Schema, Slot, StructType, Type, TypeDef};

use crate::error::{Error, ErrorKind};
use crate::maps::{self, entry_of, Uses};
use crate::names;
use crate::plan::{
    EnumItem, FieldItem, Item, ModulePlan, RustType, StructItem, StructKind, UnionItem, VariantItem,
};

/// Type names that would shadow what generated code uses.
const RESERVED: &[&str] = &[
    "String", "Vec", "Option", "Result", "Box", "Default", "Self",
];

/// Reads `request` into the schema IR and validates it; also returns the
/// file each type is declared in (by local name).
pub(crate) fn schema(request: &[u8]) -> Result<(Schema, HashMap<String, String>), Error> {
    let files = type_files(request)?;
    let schema = hollow_schema::from_request(request)
        .map_err(|e| Error::schema(e.message().lines().map(str::to_string).collect()))?;
    let file_of = |name: &str| files.get(name).cloned().unwrap_or_else(|| "?".into());
    if let Err(e) = hollow_schema::validate(&schema) {
        let lines = e
            .message()
            .lines()
            .map(|l| {
                // Lines start "struct S: …", "enum E: …" or "type T …".
                let name = l
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .trim_end_matches(':');
                format!("file {}: {l}", file_of(name))
            })
            .collect();
        return Err(Error::schema(lines));
    }
    Ok((schema, files))
}

/// Reads `request` and plans the Rust modules.
pub(crate) fn resolve(request: &[u8]) -> Result<Vec<ModulePlan>, Error> {
    let (schema, files) = schema(request)?;
    let file_of = |name: &str| files.get(name).cloned().unwrap_or_else(|| "?".into());
    let mut r = Resolver {
        schema: &schema,
        module_of: schema
            .types
            .iter()
            .map(|t| (t.name().to_string(), names::module_name(&file_of(t.name()))))
            .collect(),
        uses: maps::uses(&schema),
        errors: Vec::new(),
    };
    let mut modules: BTreeMap<String, ModulePlan> = BTreeMap::new();
    for t in &schema.types {
        let file = file_of(t.name());
        let module = names::module_name(&file);
        let plan = modules.entry(module.clone()).or_insert_with(|| ModulePlan {
            name: module.clone(),
            file: file.clone(),
            items: Vec::new(),
        });
        if plan.file != file {
            r.errors.push(format!(
                "files {} and {file} both map to the Rust module `{module}`; rename one",
                plan.file
            ));
            continue;
        }
        let ctx = match t {
            TypeDef::Struct(s) => format!("file {file}: struct {}", s.name),
            TypeDef::Enum(e) => format!("file {file}: enum {}", e.name),
        };
        if RESERVED.contains(&t.name()) {
            r.errors.push(format!(
                "{ctx}: the name {} would shadow the Rust type of that name in generated code; \
                 rename the type",
                t.name()
            ));
            continue;
        }
        match t {
            TypeDef::Enum(e) => plan.items.push(Item::Enum(EnumItem {
                name: e.name.clone(),
                doc: e.doc.clone(),
                ordered: r.uses.key_enums.contains(&e.name),
                variants: e
                    .enumerants
                    .iter()
                    .map(|en| {
                        let (ident, rename) = names::ident(names::upper_camel(&en.name), &en.name);
                        VariantItem {
                            ident,
                            rename,
                            doc: en.doc.clone(),
                            ty: None,
                        }
                    })
                    .collect(),
            })),
            // The derive builds it from the map field.
            TypeDef::Struct(s) if r.uses.entry_only.contains(&s.name) => {}
            TypeDef::Struct(s) => {
                let items = r.struct_items(&ctx, &module, s);
                plan.items.extend(items);
            }
        }
    }
    for plan in modules.values() {
        check_names(plan, &mut r.errors);
    }
    if r.errors.is_empty() {
        Ok(modules.into_values().collect())
    } else {
        Err(Error::schema(r.errors))
    }
}

/// Two items with the same name, or a name clashing with a derive-generated
/// accessor (`MovieRef` next to `Movie`).
fn check_names(plan: &ModulePlan, errors: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for item in &plan.items {
        let name = item_name(item);
        if !seen.insert(name) {
            errors.push(format!(
                "file {}: two generated types are named {name} (a group or union type is named \
                 after its struct and field); rename one",
                plan.file
            ));
        }
    }
    // Every name the derive adds beside a type (`XRef`, and one index type
    // per key: `XPrimaryKey`, `XBy<Fields>`) must not be a schema type's
    // name too, nor be generated twice (`unique(a_b)` and `unique(a.b)`).
    let mut generated: HashMap<String, String> = HashMap::new();
    for item in &plan.items {
        for (extra, what) in derived_names(item) {
            let owner = item_name(item);
            if seen.contains(extra.as_str()) {
                errors.push(format!(
                    "file {}: type {extra} clashes with the {what} generated for {owner}; rename it",
                    plan.file
                ));
            } else if let Some(first) = generated.insert(extra.clone(), what.clone()) {
                errors.push(format!(
                    "file {}: the {what} and the {first} generated for {owner} are both named \
                     {extra}; rename a field or drop one key",
                    plan.file
                ));
            }
        }
    }
}

/// The item names the derive generates for `item` besides the item itself,
/// with what each one is (mirrors `hollow-derive`: `structs.rs`, `enums.rs`
/// and `indexes.rs`).
fn derived_names(item: &Item) -> Vec<(String, String)> {
    let name = item_name(item);
    let mut out = Vec::new();
    if matches!(item, Item::Enum(_)) {
        return out;
    }
    out.push((format!("{name}Ref"), "accessor".to_string()));
    let Item::Struct(s) = item else {
        return out;
    };
    let by = |key: &[Vec<String>]| {
        let fields: String = key
            .iter()
            .flat_map(|path| path.iter())
            .flat_map(|seg| seg.strip_prefix("r#").unwrap_or(seg).split('_'))
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut c = part.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect();
        format!("{name}By{fields}")
    };
    let label = |key: &[Vec<String>]| {
        key.iter()
            .map(|path| path.join("."))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if s.primary_key.is_some() {
        out.push((
            format!("{name}PrimaryKey"),
            "primary-key index type".to_string(),
        ));
    }
    for key in &s.unique_keys {
        out.push((
            by(key),
            format!("index type of unique key ({})", label(key)),
        ));
    }
    for key in &s.hash_indexes {
        out.push((
            by(key),
            format!("index type of hash index ({})", label(key)),
        ));
    }
    out
}

fn item_name(item: &Item) -> &str {
    match item {
        Item::Struct(s) => &s.name,
        Item::Enum(e) => &e.name,
        Item::Union(u) => &u.name,
    }
}

/// The file (display name) of every struct and enum, by local name.
fn type_files(request: &[u8]) -> Result<HashMap<String, String>, Error> {
    fn bad(e: impl std::fmt::Display) -> Error {
        Error::new(
            ErrorKind::Compiler,
            format!("malformed CodeGeneratorRequest: {e}"),
        )
    }
    let mut options = ReaderOptions::new();
    options.traversal_limit_in_words(None);
    let message = capnp::serialize::read_message(request, options).map_err(bad)?;
    let req: code_generator_request::Reader<'_> = message.get_root().map_err(bad)?;
    let mut out = HashMap::new();
    for n in req.get_nodes().map_err(bad)? {
        let is_type = match n.which().map_err(bad)? {
            node::Struct(s) => !s.get_is_group(),
            node::Enum(_) => true,
            _ => false,
        };
        if !is_type {
            continue;
        }
        let display = n.get_display_name().map_err(bad)?.to_str().map_err(bad)?;
        let prefix = n.get_display_name_prefix_length() as usize;
        let local = display.get(prefix..).unwrap_or(display);
        let file = display.split(':').next().unwrap_or(display);
        out.insert(local.to_string(), file.to_string());
    }
    Ok(out)
}

struct Resolver<'s> {
    schema: &'s Schema,
    module_of: HashMap<String, String>,
    uses: Uses,
    errors: Vec<String>,
}

/// The smallest ordinal a member holds (`u16::MAX` for an empty scope).
fn min_ordinal(f: &Field) -> u16 {
    match &f.kind {
        FieldKind::Slot(s) => s.ordinal,
        FieldKind::Group(g) => g.fields.iter().map(min_ordinal).min().unwrap_or(u16::MAX),
        FieldKind::Union(u) => u.variants.iter().map(min_ordinal).min().unwrap_or(u16::MAX),
    }
}

/// Members sorted by their smallest ordinal (stable), as the derive must see
/// them.
fn derive_order(fields: &[Field]) -> Vec<&Field> {
    let mut v: Vec<&Field> = fields.iter().collect();
    v.sort_by_key(|f| min_ordinal(f));
    v
}

impl Resolver<'_> {
    fn struct_items(&mut self, ctx: &str, module: &str, s: &StructType) -> Vec<Item> {
        let before = self.errors.len();
        if let Some(u) = &s.unnamed_union {
            let members: Vec<&str> = u.variants.iter().map(|v| v.name.as_str()).collect();
            self.errors.push(format!(
                "{ctx}: an unnamed union ({}) is not supported; give the union a name \
                 (`name :union {{ … }}`)",
                members.join(", ")
            ));
        }
        let has_keys =
            s.primary_key.is_some() || !s.unique_keys.is_empty() || !s.hash_indexes.is_empty();
        if has_keys && !s.is_record {
            self.errors.push(format!(
                "{ctx}: declares keys or indexes but is not a record type; add $Hollow.record"
            ));
        }
        self.check_numbering(ctx, s);
        self.check_cycle(ctx, s);
        let mut items = Vec::new();
        let kind = if s.is_record {
            StructKind::Record
        } else {
            StructKind::Nested
        };
        let fields = self.fields(ctx, module, &s.name, "", &s.fields, &mut items);
        let keys = |k: &Key| self.key_idents(s, k);
        let head = StructItem {
            name: s.name.clone(),
            doc: s.doc.clone(),
            kind,
            fields,
            primary_key: s.primary_key.as_ref().map(keys),
            unique_keys: s.unique_keys.iter().map(keys).collect(),
            hash_indexes: s.hash_indexes.iter().map(keys).collect(),
            map_key: self.uses.key_structs.contains(&s.name),
        };
        items.insert(0, Item::Struct(head));
        if self.errors.len() > before {
            Vec::new()
        } else {
            items
        }
    }

    /// The fields of a struct or group scope, in derive order; group and
    /// union types they need are added to `items`.
    fn fields(
        &mut self,
        ctx: &str,
        module: &str,
        owner: &str,
        prefix: &str,
        fields: &[Field],
        items: &mut Vec<Item>,
    ) -> Vec<FieldItem> {
        let mut out = Vec::new();
        for f in derive_order(fields) {
            let path = format!("{prefix}{}", f.name);
            let (ident, rename) = names::ident(names::snake(&f.name), &f.name);
            let mut entry = None;
            let ty = match &f.kind {
                FieldKind::Slot(slot) => {
                    if slot.ty == Type::Void {
                        self.errors.push(format!(
                            "{ctx}: field \"{path}\": a Void field outside a union holds \
                             nothing; remove it or make it a union member"
                        ));
                        continue;
                    }
                    let default = hollow_schema::map_entry_name(owner, &f.name);
                    match self.slot_type(ctx, module, &path, slot, &default) {
                        Some((t, e)) => {
                            entry = e;
                            t
                        }
                        None => continue,
                    }
                }
                FieldKind::Group(g) => {
                    let name = format!("{owner}{}", names::upper_camel(&f.name));
                    let mut nested = Vec::new();
                    let inner = self.fields(
                        ctx,
                        module,
                        &name,
                        &format!("{path}."),
                        &g.fields,
                        &mut nested,
                    );
                    items.push(group_item(&name, f.doc.clone(), inner));
                    items.append(&mut nested);
                    RustType::Named { module: None, name }
                }
                FieldKind::Union(u) => {
                    let name = format!("{owner}{}", names::upper_camel(&f.name));
                    let mut nested = Vec::new();
                    let variants = self.variants(
                        ctx,
                        module,
                        &name,
                        &format!("{path}."),
                        &u.variants,
                        &mut nested,
                    );
                    items.push(Item::Union(UnionItem {
                        name: name.clone(),
                        doc: f.doc.clone(),
                        variants,
                    }));
                    items.append(&mut nested);
                    RustType::Named { module: None, name }
                }
            };
            out.push(FieldItem {
                ident,
                rename,
                doc: f.doc.clone(),
                ty,
                entry,
            });
        }
        out
    }

    fn variants(
        &mut self,
        ctx: &str,
        module: &str,
        union: &str,
        prefix: &str,
        variants: &[Field],
        items: &mut Vec<Item>,
    ) -> Vec<VariantItem> {
        let mut out = Vec::new();
        for v in variants {
            let path = format!("{prefix}{}", v.name);
            let (ident, rename) = names::ident(names::upper_camel(&v.name), &v.name);
            let ty = match &v.kind {
                FieldKind::Slot(slot) if slot.ty == Type::Void => None,
                FieldKind::Slot(slot) if slot.collection == Some(Collection::Map) => {
                    self.errors.push(format!(
                        "{ctx}: field \"{path}\": a map as a union member is not supported; \
                         put it in a group member"
                    ));
                    continue;
                }
                // Not a map (refused above): no entry struct to name.
                FieldKind::Slot(slot) => match self.slot_type(ctx, module, &path, slot, "") {
                    Some((t, _)) => Some(t),
                    None => continue,
                },
                FieldKind::Group(g) => {
                    let name = format!("{union}{}", names::upper_camel(&v.name));
                    let mut nested = Vec::new();
                    let inner = self.fields(
                        ctx,
                        module,
                        &name,
                        &format!("{path}."),
                        &g.fields,
                        &mut nested,
                    );
                    items.push(group_item(&name, v.doc.clone(), inner));
                    items.append(&mut nested);
                    Some(RustType::Named { module: None, name })
                }
                FieldKind::Union(_) => {
                    self.errors.push(format!(
                        "{ctx}: field \"{path}\": a union directly inside a union member is not \
                         supported; put the inner union in a group with another field, or \
                         flatten the two unions"
                    ));
                    continue;
                }
            };
            out.push(VariantItem {
                ident,
                rename,
                doc: v.doc.clone(),
                ty,
            });
        }
        out
    }

    /// The Rust type of a value field (`path`) and, for a map, its entry
    /// struct's name when it is not `default_entry` (the derive's default).
    fn slot_type(
        &mut self,
        ctx: &str,
        module: &str,
        path: &str,
        slot: &Slot,
        default_entry: &str,
    ) -> Option<(RustType, Option<String>)> {
        let elem = match (&slot.ty, slot.collection) {
            (_, None) => return Some((self.rust_type(ctx, module, path, &slot.ty)?, None)),
            (Type::List(elem), Some(Collection::Set)) => elem,
            (ty, Some(Collection::Map)) => {
                let entry = entry_of(ty).unwrap_or_default().to_string();
                let ty = self.map_type(ctx, module, path, &entry)?;
                return Some((ty, (entry != default_entry).then_some(entry)));
            }
            (ty, Some(c)) => {
                // Refused by `hollow_schema::validate` already.
                self.errors.push(format!(
                    "{ctx}: field \"{path}\" is marked $Hollow.{} but is {ty}",
                    c.annotation()
                ));
                return None;
            }
        };
        let elem = self.rust_type(ctx, module, path, elem)?;
        Some((RustType::Set(Box::new(elem)), None))
    }

    /// `BTreeMap<K, V>` (or `HashMap`) for a map whose entries are the
    /// struct `entry`; a map in its value must have the entry struct the
    /// derive names `<Entry>ValueEntry`, since no attribute can rename it.
    fn map_type(&mut self, ctx: &str, module: &str, path: &str, entry: &str) -> Option<RustType> {
        let schema = self.schema;
        let slots = schema
            .get_struct(entry)
            .and_then(|s| match s.fields.as_slice() {
                [k, v] => k.as_slot().zip(v.as_slot()),
                _ => None,
            });
        let Some((k, v)) = slots else {
            // Refused by `hollow_schema::validate` already.
            self.errors.push(format!(
                "{ctx}: field \"{path}\": entry struct {entry} has no fields key and value"
            ));
            return None;
        };
        let key = self.rust_type(ctx, module, path, &k.ty);
        let inner_default = hollow_schema::map_entry_name(entry, "value");
        let value = self.slot_type(ctx, module, path, v, &inner_default);
        let (key, (value, inner)) = (key?, value?);
        if let Some(inner) = inner {
            self.errors.push(format!(
                "{ctx}: field \"{path}\": the map in the value of entry struct {entry} has \
                 entry struct {inner}, which generated code can only name {inner_default}; \
                 rename it"
            ));
            return None;
        }
        Some(RustType::Map {
            key: Box::new(key),
            value: Box::new(value),
        })
    }

    fn rust_type(&mut self, ctx: &str, module: &str, path: &str, ty: &Type) -> Option<RustType> {
        Some(match ty {
            Type::Void => {
                self.errors.push(format!(
                    "{ctx}: field \"{path}\": List(Void) is not supported"
                ));
                return None;
            }
            Type::Bool => RustType::Primitive("bool"),
            Type::Int8 => RustType::Primitive("i8"),
            Type::Int16 => RustType::Primitive("i16"),
            Type::Int32 => RustType::Primitive("i32"),
            Type::Int64 => RustType::Primitive("i64"),
            Type::UInt8 => RustType::Primitive("u8"),
            Type::UInt16 => RustType::Primitive("u16"),
            Type::UInt32 => RustType::Primitive("u32"),
            Type::UInt64 => RustType::Primitive("u64"),
            Type::Float32 => RustType::Primitive("f32"),
            Type::Float64 => RustType::Primitive("f64"),
            Type::Text => RustType::String,
            Type::Data => RustType::Bytes,
            Type::List(inner) if **inner == Type::UInt8 => {
                self.errors.push(format!(
                    "{ctx}: field \"{path}\": List(UInt8) is not supported (its Rust type \
                     Vec<u8> is stored as Data); use Data"
                ));
                return None;
            }
            Type::List(inner) => {
                RustType::List(Box::new(self.rust_type(ctx, module, path, inner)?))
            }
            Type::Enum(name) | Type::Struct(name) => {
                let other = self.module_of.get(name).cloned().unwrap_or_default();
                RustType::Named {
                    module: (other != module).then_some(other),
                    name: name.clone(),
                }
            }
        })
    }

    /// Checks that numbering the fields in derive order gives the schema's
    /// ordinals.
    fn check_numbering(&mut self, ctx: &str, s: &StructType) {
        fn walk(
            fields: &[Field],
            prefix: &str,
            next: &mut u16,
            ordered: bool,
            bad: &mut Vec<(String, u16, u16)>,
        ) {
            let list: Vec<&Field> = if ordered {
                derive_order(fields)
            } else {
                fields.iter().collect()
            };
            for f in list {
                let path = format!("{prefix}{}", f.name);
                match &f.kind {
                    FieldKind::Slot(slot) => {
                        if slot.ordinal != *next {
                            bad.push((path, slot.ordinal, *next));
                        }
                        *next += 1;
                    }
                    FieldKind::Group(g) => walk(&g.fields, &format!("{path}."), next, true, bad),
                    FieldKind::Union(u) => walk(&u.variants, &format!("{path}."), next, false, bad),
                }
            }
        }
        let mut bad = Vec::new();
        walk(&s.fields, "", &mut 0, true, &mut bad);
        if let Some((path, has, would)) = bad.first() {
            self.errors.push(format!(
                "{ctx}: field \"{path}\": ordinal @{has} cannot be kept (the generated type \
                 would number it @{would}): the members of each group and union need \
                 consecutive ordinals"
            ));
        }
    }

    /// A struct that holds itself inline (not through a List) has no finite
    /// Rust type.
    fn check_cycle(&mut self, ctx: &str, s: &StructType) {
        let mut stack = vec![(s.name.clone(), String::new())];
        let mut seen = HashSet::new();
        while let Some((name, via)) = stack.pop() {
            let Some(st) = self.schema.get_struct(&name) else {
                continue;
            };
            let mut direct = Vec::new();
            collect_inline(&st.fields, &mut direct);
            for (target, field) in direct {
                let path = if via.is_empty() {
                    field
                } else {
                    format!("{via} → {target}.{field}")
                };
                if target == s.name {
                    self.errors.push(format!(
                        "{ctx}: field \"{path}\": the struct contains itself without a List in \
                         between, which has no Rust type of finite size; wrap it in a List"
                    ));
                    return;
                }
                if seen.insert(target.clone()) {
                    stack.push((target, path));
                }
            }
        }
    }

    /// The key's paths as Rust field names (the keys were validated).
    fn key_idents(&self, s: &StructType, key: &Key) -> Vec<Vec<String>> {
        key.paths
            .iter()
            .map(|p| {
                let mut fields: Vec<Field> = s.fields.clone();
                let mut out = Vec::new();
                for seg in &p.segments {
                    out.push(names::ident(names::snake(seg), seg).0);
                    let next = match fields.iter().find(|f| &f.name == seg).map(|f| &f.kind) {
                        Some(FieldKind::Group(g)) => g.fields.clone(),
                        Some(FieldKind::Slot(slot)) => match &slot.ty {
                            Type::Struct(n) => self
                                .schema
                                .get_struct(n)
                                .map(|t| t.fields.clone())
                                .unwrap_or_default(),
                            _ => Vec::new(),
                        },
                        _ => Vec::new(),
                    };
                    fields = next;
                }
                out
            })
            .collect()
    }
}

/// A group's struct.
fn group_item(name: &str, doc: Option<String>, fields: Vec<FieldItem>) -> Item {
    Item::Struct(StructItem {
        name: name.to_string(),
        doc,
        kind: StructKind::Group,
        fields,
        primary_key: None,
        unique_keys: Vec::new(),
        hash_indexes: Vec::new(),
        map_key: false,
    })
}

/// Struct types held inline by `fields` (not through a list), with the field.
fn collect_inline(fields: &[Field], out: &mut Vec<(String, String)>) {
    for f in fields {
        match &f.kind {
            FieldKind::Slot(slot) => {
                if let Type::Struct(n) = &slot.ty {
                    out.push((n.clone(), f.name.clone()));
                }
            }
            FieldKind::Group(g) => collect_inline(&g.fields, out),
            FieldKind::Union(u) => collect_inline(&u.variants, out),
        }
    }
}
