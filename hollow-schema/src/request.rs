//! Reads the IR from a Cap'n Proto `CodeGeneratorRequest`, the message the
//! schema compiler (`capnp compile -o-`, or the embedded compiler) emits.

use std::collections::{HashMap, HashSet};

use capnp::message::ReaderOptions;
use capnp::schema_capnp::{code_generator_request, field, node, type_, value};

use crate::capnp_text::HOLLOW_FILE_ID;
use crate::ir::{
    Collection, EnumType, Enumerant, Field, FieldKind, Group, Key, Schema, Slot, StructSize,
    StructType, Type, TypeDef, Union,
};
use crate::SchemaError;

/// A field that is not a member of its scope's union.
const NO_DISCRIMINANT: u16 = 0xffff;

/// Reads every struct and enum declared in the request's requested files
/// (nested declarations included), plus the structs and enums of other files
/// that those use, into a [`Schema`].
///
/// - Types are named by their local name (`Inner` for `Outer.Inner`) and come
///   in declaration order, requested files first, then the imported types
///   they use in the order first met.
/// - Offsets, discriminant offsets and section sizes are the compiler's (not
///   recomputed); fields are in code order, union members in discriminant
///   order.
/// - A group field becomes [`FieldKind::Group`]; a named union becomes
///   [`FieldKind::Union`], and so does a group that holds nothing but an
///   unnamed union (the two are the same on the wire); a struct's unnamed
///   union becomes [`StructType::unnamed_union`].
/// - Doc comments come from the source info, without the final newline.
/// - `$Hollow.record`, `$Hollow.primaryKey`, `$Hollow.uniqueKeys`,
///   `$Hollow.hashIndexes` and, on fields, `$Hollow.map` and `$Hollow.set`
///   (into [`Slot::collection`]) are the annotations of that name declared in the
///   file with id `0xb5e1c0a7d3f29e41` (`schemas/hollow.capnp`), whatever ids
///   the compiler gave them.
///
/// # Errors
/// Every problem found, one per line, each naming the file, the struct and
/// the field concerned:
/// - a field of an interface type, of `AnyPointer` or a generic parameter,
///   or of a generic struct; a generic struct;
/// - a field with an explicit default value other than its type's zero (an
///   empty Text or Data counts as zero);
/// - a named union with an explicit ordinal (retroactive unionization), or
///   any other ordinal gap;
/// - a group holding an unnamed union next to other members (name the union
///   instead);
/// - two types with the same local name;
/// - a key annotation that does not parse (see [`Key::parse`]);
/// - a field marked both `$Hollow.map` and `$Hollow.set`;
/// - a message that is not a readable `CodeGeneratorRequest`.
///
/// The result is not [validated](crate::validate): keys may still name
/// missing fields, and a field marked as a map or set may have no such shape.
pub fn from_request(request_bytes: &[u8]) -> Result<Schema, SchemaError> {
    let mut options = ReaderOptions::new();
    options.traversal_limit_in_words(None);
    let message = capnp::serialize::read_message(request_bytes, options).map_err(malformed)?;
    let request: code_generator_request::Reader = message.get_root().map_err(malformed)?;
    let mut reader = RequestReader::new(request).map_err(malformed)?;
    let schema = reader.read().map_err(malformed)?;
    if reader.errors.is_empty() {
        Ok(schema)
    } else {
        Err(SchemaError::new(reader.errors.join("\n")))
    }
}

#[cold]
fn malformed(e: capnp::Error) -> SchemaError {
    SchemaError::new(format!("malformed CodeGeneratorRequest: {e}"))
}

/// The ids of the hollow.capnp annotations, as declared in this request.
#[derive(Default)]
struct AnnotationIds {
    record: Option<u64>,
    primary_key: Option<u64>,
    unique_keys: Option<u64>,
    hash_indexes: Option<u64>,
    map: Option<u64>,
    set: Option<u64>,
}

struct RequestReader<'a> {
    request: code_generator_request::Reader<'a>,
    nodes: HashMap<u64, node::Reader<'a>>,
    docs: HashMap<u64, node::source_info::Reader<'a>>,
    annotations: AnnotationIds,
    /// Ids of the types to read, in schema order.
    order: Vec<u64>,
    /// Local name of every type to read.
    names: HashMap<u64, String>,
    errors: Vec<String>,
}

/// Where a problem is: `file f.capnp: struct S`.
fn context(node: node::Reader<'_>) -> capnp::Result<String> {
    let display = node.get_display_name()?.to_str()?;
    let file = display.split(':').next().unwrap_or(display);
    let kind = match node.which() {
        Ok(node::Enum(_)) => "enum",
        _ => "struct",
    };
    Ok(format!("file {file}: {kind} {}", local_name(node)?))
}

fn local_name(node: node::Reader<'_>) -> capnp::Result<String> {
    let display = node.get_display_name()?.to_str()?;
    let prefix = node.get_display_name_prefix_length() as usize;
    Ok(display.get(prefix..).unwrap_or(display).to_string())
}

/// The doc comment without the final newline the compiler adds.
fn doc_text(text: capnp::text::Reader<'_>) -> capnp::Result<Option<String>> {
    let text = text.to_str()?;
    Ok(Some(text.strip_suffix('\n').unwrap_or(text).to_string()))
}

impl<'a> RequestReader<'a> {
    fn new(request: code_generator_request::Reader<'a>) -> capnp::Result<Self> {
        let mut nodes = HashMap::new();
        for n in request.get_nodes()? {
            nodes.insert(n.get_id(), n);
        }
        let mut docs = HashMap::new();
        for info in request.get_source_info()? {
            docs.insert(info.get_id(), info);
        }
        let mut annotations = AnnotationIds::default();
        if let Some(file) = nodes.get(&HOLLOW_FILE_ID) {
            for nested in file.get_nested_nodes()? {
                let id = Some(nested.get_id());
                match nested.get_name()?.to_str()? {
                    "record" => annotations.record = id,
                    "primaryKey" => annotations.primary_key = id,
                    "uniqueKeys" => annotations.unique_keys = id,
                    "hashIndexes" => annotations.hash_indexes = id,
                    "map" => annotations.map = id,
                    "set" => annotations.set = id,
                    _ => {}
                }
            }
        }
        Ok(RequestReader {
            request,
            nodes,
            docs,
            annotations,
            order: Vec::new(),
            names: HashMap::new(),
            errors: Vec::new(),
        })
    }

    fn node(&self, id: u64) -> capnp::Result<node::Reader<'a>> {
        self.nodes
            .get(&id)
            .copied()
            .ok_or_else(|| capnp::Error::failed(format!("no node with id 0x{id:016x}")))
    }

    fn read(&mut self) -> capnp::Result<Schema> {
        for file in self.request.get_requested_files()? {
            let file_node = self.node(file.get_id())?;
            self.collect_declared(file_node)?;
        }
        // Types of other files that the requested ones use.
        let mut i = 0;
        while i < self.order.len() {
            let n = self.node(self.order[i])?;
            if let Ok(node::Struct(_)) = n.which() {
                self.collect_used(n)?;
            }
            i += 1;
        }
        self.assign_names()?;
        let mut schema = Schema::new();
        for id in self.order.clone() {
            let n = self.node(id)?;
            match n.which()? {
                node::Struct(_) => {
                    if let Some(s) = self.read_struct(n)? {
                        schema.types.push(TypeDef::Struct(s));
                    }
                }
                node::Enum(e) => schema.types.push(TypeDef::Enum(self.read_enum(n, e)?)),
                _ => {}
            }
        }
        Ok(schema)
    }

    /// Adds the structs and enums declared in `scope` (a file, struct or
    /// interface), depth first in declaration order.
    fn collect_declared(&mut self, scope: node::Reader<'a>) -> capnp::Result<()> {
        for nested in scope.get_nested_nodes()? {
            let n = self.node(nested.get_id())?;
            match n.which()? {
                node::Struct(s) if !s.get_is_group() => {
                    self.order.push(n.get_id());
                    self.collect_declared(n)?;
                }
                node::Enum(_) => self.order.push(n.get_id()),
                node::Interface(_) => self.collect_declared(n)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds the structs and enums the fields of struct (or group) `n` use.
    fn collect_used(&mut self, n: node::Reader<'a>) -> capnp::Result<()> {
        let node::Struct(s) = n.which()? else {
            return Ok(());
        };
        for f in s.get_fields()? {
            match f.which()? {
                field::Slot(slot) => self.collect_type(slot.get_type()?)?,
                field::Group(g) => {
                    let group = self.node(g.get_type_id())?;
                    self.collect_used(group)?;
                }
            }
        }
        Ok(())
    }

    fn collect_type(&mut self, t: type_::Reader<'a>) -> capnp::Result<()> {
        let id = match t.which()? {
            type_::List(l) => return self.collect_type(l.get_element_type()?),
            type_::Enum(e) => e.get_type_id(),
            type_::Struct(s) => s.get_type_id(),
            _ => return Ok(()),
        };
        // Generic structs are refused at the field that uses them.
        if !self.order.contains(&id) && !self.node(id)?.get_is_generic() {
            self.order.push(id);
        }
        Ok(())
    }

    fn assign_names(&mut self) -> capnp::Result<()> {
        let mut by_name: HashMap<String, u64> = HashMap::new();
        for &id in &self.order {
            let n = self.node(id)?;
            let name = local_name(n)?;
            if let Some(&other) = by_name.get(&name) {
                let first = self.node(other)?.get_display_name()?.to_str()?;
                let second = n.get_display_name()?.to_str()?;
                self.errors.push(format!(
                    "types {first} and {second} have the same name {name}; rename one"
                ));
            } else {
                by_name.insert(name.clone(), id);
            }
            self.names.insert(id, name);
        }
        Ok(())
    }

    fn read_enum(
        &mut self,
        n: node::Reader<'a>,
        e: node::enum_::Reader<'a>,
    ) -> capnp::Result<EnumType> {
        let info = self.docs.get(&n.get_id()).copied();
        let member_docs = match info {
            Some(i) if i.has_members() => Some(i.get_members()?),
            _ => None,
        };
        let mut enumerants = Vec::new();
        for (i, en) in e.get_enumerants()?.iter().enumerate() {
            let doc = match member_docs {
                Some(m) if (i as u32) < m.len() && m.get(i as u32).has_doc_comment() => {
                    doc_text(m.get(i as u32).get_doc_comment()?)?
                }
                _ => None,
            };
            enumerants.push(Enumerant {
                name: en.get_name()?.to_str()?.to_string(),
                doc,
            });
        }
        Ok(EnumType {
            name: self.names[&n.get_id()].clone(),
            doc: self.node_doc(n.get_id())?,
            enumerants,
        })
    }

    fn node_doc(&self, id: u64) -> capnp::Result<Option<String>> {
        match self.docs.get(&id) {
            Some(info) if info.has_doc_comment() => doc_text(info.get_doc_comment()?),
            _ => Ok(None),
        }
    }

    fn read_struct(&mut self, n: node::Reader<'a>) -> capnp::Result<Option<StructType>> {
        let ctx = context(n)?;
        if n.get_is_generic() {
            self.errors.push(format!(
                "{ctx}: generic structs (and structs nested in them) are not supported"
            ));
            return Ok(None);
        }
        let node::Struct(st) = n.which()? else {
            return Ok(None);
        };
        let mut s = StructType::new(self.names[&n.get_id()].clone());
        s.doc = self.node_doc(n.get_id())?;
        s.size = StructSize {
            data_words: st.get_data_word_count(),
            pointers: st.get_pointer_count(),
        };
        let (fields, unnamed) = self.read_scope(&ctx, n, "")?;
        s.fields = fields;
        s.unnamed_union = unnamed;
        self.check_ordinals(&ctx, &s);
        self.read_annotations(&ctx, n, &mut s)?;
        Ok(Some(s))
    }

    /// Reads the members of a struct or group node: the fields outside its
    /// unnamed union in code order, and the unnamed union, if any.
    fn read_scope(
        &mut self,
        ctx: &str,
        n: node::Reader<'a>,
        prefix: &str,
    ) -> capnp::Result<(Vec<Field>, Option<Union>)> {
        let node::Struct(st) = n.which()? else {
            return Err(capnp::Error::failed(format!(
                "{ctx}: group is not a struct"
            )));
        };
        let member_docs = match self.docs.get(&n.get_id()) {
            Some(i) if i.has_members() => Some(i.get_members()?),
            _ => None,
        };
        let mut plain = Vec::new();
        let mut variants = Vec::new();
        for (i, f) in st.get_fields()?.iter().enumerate() {
            let name = f.get_name()?.to_str()?.to_string();
            let path = format!("{prefix}{name}");
            let doc = match member_docs {
                Some(m) if (i as u32) < m.len() && m.get(i as u32).has_doc_comment() => {
                    doc_text(m.get(i as u32).get_doc_comment()?)?
                }
                _ => None,
            };
            let Some(kind) = self.read_member(ctx, f, &path)? else {
                continue;
            };
            let member = Field { name, doc, kind };
            if f.get_discriminant_value() == NO_DISCRIMINANT {
                plain.push((f.get_code_order(), member));
            } else {
                variants.push((f.get_discriminant_value(), member));
            }
        }
        plain.sort_by_key(|(order, _)| *order);
        variants.sort_by_key(|(d, _)| *d);
        let unnamed = if st.get_discriminant_count() > 0 {
            Some(Union {
                type_name: None,
                discriminant_offset: st.get_discriminant_offset(),
                variants: variants.into_iter().map(|(_, f)| f).collect(),
            })
        } else {
            None
        };
        Ok((plain.into_iter().map(|(_, f)| f).collect(), unnamed))
    }

    /// Reads one member; `None` (with an error recorded) when unsupported.
    fn read_member(
        &mut self,
        ctx: &str,
        f: field::Reader<'a>,
        path: &str,
    ) -> capnp::Result<Option<FieldKind>> {
        match f.which()? {
            field::Slot(slot) => {
                let ordinal = match f.get_ordinal().which()? {
                    field::ordinal::Explicit(o) => o,
                    field::ordinal::Implicit(()) => f.get_code_order(),
                };
                let ty = match self.read_type(slot.get_type()?)? {
                    Ok(ty) => ty,
                    Err(problem) => {
                        self.errors
                            .push(format!("{ctx}: field \"{path}\": {problem}"));
                        return Ok(None);
                    }
                };
                if slot.get_had_explicit_default() && !is_zero(slot.get_default_value()?)? {
                    self.errors.push(format!(
                        "{ctx}: field \"{path}\": default values other than the type's zero \
                         are not supported"
                    ));
                }
                Ok(Some(FieldKind::Slot(Slot {
                    ordinal,
                    ty,
                    offset: slot.get_offset(),
                    collection: self.read_collection(ctx, path, f)?,
                })))
            }
            field::Group(g) => {
                let group = self.node(g.get_type_id())?;
                let (fields, unnamed) = self.read_scope(ctx, group, &format!("{path}."))?;
                match unnamed {
                    Some(u) if fields.is_empty() => {
                        if let field::ordinal::Explicit(o) = f.get_ordinal().which()? {
                            self.errors.push(format!(
                                "{ctx}: union \"{path}\" has ordinal @{o}; union ordinals \
                                 (retroactive unionization) are not supported"
                            ));
                        }
                        Ok(Some(FieldKind::Union(u)))
                    }
                    Some(_) => {
                        self.errors.push(format!(
                            "{ctx}: group \"{path}\" holds an unnamed union next to other \
                             members; name the union (`name :union {{ … }}`)"
                        ));
                        Ok(None)
                    }
                    None => Ok(Some(FieldKind::Group(Group {
                        type_name: None,
                        fields,
                    }))),
                }
            }
        }
    }

    /// The IR type, or why it is not supported.
    fn read_type(&self, t: type_::Reader<'a>) -> capnp::Result<Result<Type, String>> {
        Ok(Ok(match t.which()? {
            type_::Void(()) => Type::Void,
            type_::Bool(()) => Type::Bool,
            type_::Int8(()) => Type::Int8,
            type_::Int16(()) => Type::Int16,
            type_::Int32(()) => Type::Int32,
            type_::Int64(()) => Type::Int64,
            type_::Uint8(()) => Type::UInt8,
            type_::Uint16(()) => Type::UInt16,
            type_::Uint32(()) => Type::UInt32,
            type_::Uint64(()) => Type::UInt64,
            type_::Float32(()) => Type::Float32,
            type_::Float64(()) => Type::Float64,
            type_::Text(()) => Type::Text,
            type_::Data(()) => Type::Data,
            type_::List(l) => match self.read_type(l.get_element_type()?)? {
                Ok(inner) => Type::List(Box::new(inner)),
                Err(problem) => return Ok(Err(problem)),
            },
            type_::Enum(e) => Type::Enum(self.type_name(e.get_type_id())?),
            type_::Struct(s) => {
                let target = self.node(s.get_type_id())?;
                if target.get_is_generic() {
                    return Ok(Err(format!(
                        "uses generic struct {}; generics are not supported",
                        target.get_display_name()?.to_str()?
                    )));
                }
                Type::Struct(self.type_name(s.get_type_id())?)
            }
            type_::Interface(_) => {
                return Ok(Err("interface (capability) fields are not supported".into()))
            }
            type_::AnyPointer(_) => {
                return Ok(Err(
                    "AnyPointer fields (and generic parameters) are not supported".into(),
                ))
            }
        }))
    }

    fn type_name(&self, id: u64) -> capnp::Result<String> {
        self.names
            .get(&id)
            .cloned()
            .ok_or_else(|| capnp::Error::failed(format!("type 0x{id:016x} was not collected")))
    }

    fn check_ordinals(&mut self, ctx: &str, s: &StructType) {
        fn collect(fields: &[Field], out: &mut Vec<u16>) {
            for f in fields {
                match &f.kind {
                    FieldKind::Slot(slot) => out.push(slot.ordinal),
                    FieldKind::Group(g) => collect(&g.fields, out),
                    FieldKind::Union(u) => collect(&u.variants, out),
                }
            }
        }
        let mut ords = Vec::new();
        collect(&s.fields, &mut ords);
        if let Some(u) = &s.unnamed_union {
            collect(&u.variants, &mut ords);
        }
        ords.sort_unstable();
        if ords.iter().enumerate().any(|(i, o)| i != *o as usize) {
            self.errors.push(format!(
                "{ctx}: ordinals are not sequential from @0 (does a union have an explicit \
                 ordinal? retroactive unionization is not supported)"
            ));
        }
    }

    /// Whether a field is marked `$Hollow.map` or `$Hollow.set` (an error is
    /// recorded when it is marked both; `validate` judges the field's type).
    fn read_collection(
        &mut self,
        ctx: &str,
        path: &str,
        f: field::Reader<'a>,
    ) -> capnp::Result<Option<Collection>> {
        let ids = &self.annotations;
        let (mut map, mut set) = (false, false);
        for a in f.get_annotations()? {
            let id = Some(a.get_id());
            map |= id == ids.map;
            set |= id == ids.set;
        }
        Ok(match (map, set) {
            (true, true) => {
                self.errors.push(format!(
                    "{ctx}: field \"{path}\": marked both $Hollow.map and $Hollow.set"
                ));
                None
            }
            (true, false) => Some(Collection::Map),
            (false, true) => Some(Collection::Set),
            (false, false) => None,
        })
    }

    fn read_annotations(
        &mut self,
        ctx: &str,
        n: node::Reader<'a>,
        s: &mut StructType,
    ) -> capnp::Result<()> {
        let ids = &self.annotations;
        let (record, pk, uk, hi) = (
            ids.record,
            ids.primary_key,
            ids.unique_keys,
            ids.hash_indexes,
        );
        let mut seen = HashSet::new();
        for a in n.get_annotations()? {
            let id = Some(a.get_id());
            if !seen.insert(a.get_id()) {
                continue;
            }
            if id == record {
                s.is_record = true;
            } else if id == pk {
                if let value::Text(t) = a.get_value()?.which()? {
                    let text = t?.to_str()?;
                    s.primary_key = self.parse_key(ctx, "primary key", text);
                }
            } else if id == uk || id == hi {
                if let value::List(list) = a.get_value()?.which()? {
                    let (what, out) = if id == uk {
                        ("unique key", &mut s.unique_keys)
                    } else {
                        ("hash index", &mut s.hash_indexes)
                    };
                    for text in list.get_as::<capnp::text_list::Reader>()?.iter() {
                        if let Some(key) = self.parse_key(ctx, what, text?.to_str()?) {
                            out.push(key);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn parse_key(&mut self, ctx: &str, what: &str, text: &str) -> Option<Key> {
        match Key::parse(text) {
            Ok(k) => Some(k),
            Err(e) => {
                self.errors.push(format!("{ctx}: {what}: {e}"));
                None
            }
        }
    }
}

/// Whether an explicit default value is its type's zero (what a field
/// without a default reads as).
fn is_zero(v: value::Reader<'_>) -> capnp::Result<bool> {
    Ok(match v.which()? {
        value::Void(()) | value::Interface(()) => true,
        value::Bool(b) => !b,
        value::Int8(x) => x == 0,
        value::Int16(x) => x == 0,
        value::Int32(x) => x == 0,
        value::Int64(x) => x == 0,
        value::Uint8(x) => x == 0,
        value::Uint16(x) => x == 0,
        value::Uint32(x) => x == 0,
        value::Uint64(x) => x == 0,
        value::Float32(x) => x.to_bits() == 0,
        value::Float64(x) => x.to_bits() == 0,
        value::Enum(x) => x == 0,
        value::Text(t) => t?.is_empty(),
        value::Data(d) => d?.is_empty(),
        value::List(p) | value::Struct(p) | value::AnyPointer(p) => p.is_null(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use capnp::message::Builder;

    const FILE: u64 = 0xaaaa_0000_0000_0001;
    const MOVIE: u64 = 0xbbbb_0000_0000_0002;
    // Annotation ids the compiler would derive; any value works because they
    // are looked up by name.
    const RECORD: u64 = 0x1111_0000_0000_0003;
    const PRIMARY_KEY: u64 = 0x2222_0000_0000_0004;
    const MAP: u64 = 0x3333_0000_0000_0005;
    const SET: u64 = 0x4444_0000_0000_0006;

    /// A hand-built request: `movies.capnp` declaring
    /// `struct Movie $Hollow.record $Hollow.primaryKey("id") { id @0 :UInt64; }`
    /// with doc comments.
    fn request() -> Vec<u8> {
        request_marking_id(&[])
    }

    /// [`request`] with the `id` field carrying the annotations `marks`.
    fn request_marking_id(marks: &[u64]) -> Vec<u8> {
        let mut message = Builder::new_default();
        let mut req = message.init_root::<code_generator_request::Builder>();
        let mut nodes = req.reborrow().init_nodes(3);
        {
            let mut hollow = nodes.reborrow().get(0);
            hollow.set_id(HOLLOW_FILE_ID);
            hollow.set_display_name("hollow.capnp");
            hollow.set_file(());
            let names = [
                ("record", RECORD),
                ("primaryKey", PRIMARY_KEY),
                ("map", MAP),
                ("set", SET),
            ];
            let mut nested = hollow.init_nested_nodes(names.len() as u32);
            for (i, (name, id)) in names.into_iter().enumerate() {
                nested.reborrow().get(i as u32).set_name(name);
                nested.reborrow().get(i as u32).set_id(id);
            }
        }
        {
            let mut file = nodes.reborrow().get(1);
            file.set_id(FILE);
            file.set_display_name("movies.capnp");
            file.set_file(());
            let mut nested = file.init_nested_nodes(1);
            nested.reborrow().get(0).set_name("Movie");
            nested.reborrow().get(0).set_id(MOVIE);
        }
        {
            let mut movie = nodes.reborrow().get(2);
            movie.set_id(MOVIE);
            movie.set_display_name("movies.capnp:Movie");
            movie.set_display_name_prefix_length("movies.capnp:".len() as u32);
            movie.set_scope_id(FILE);
            let mut anns = movie.reborrow().init_annotations(2);
            anns.reborrow().get(0).set_id(RECORD);
            anns.reborrow().get(0).init_value().set_void(());
            anns.reborrow().get(1).set_id(PRIMARY_KEY);
            anns.reborrow().get(1).init_value().set_text("id");
            let mut st = movie.init_struct();
            st.set_data_word_count(1);
            st.set_discriminant_count(0);
            let mut field = st.init_fields(1).get(0);
            field.set_name("id");
            field.set_discriminant_value(NO_DISCRIMINANT);
            field.reborrow().init_ordinal().set_explicit(0);
            let mut anns = field.reborrow().init_annotations(marks.len() as u32);
            for (i, &id) in marks.iter().enumerate() {
                anns.reborrow().get(i as u32).set_id(id);
                anns.reborrow().get(i as u32).init_value().set_void(());
            }
            let mut slot = field.init_slot();
            slot.set_offset(0);
            slot.reborrow().init_type().set_uint64(());
            slot.init_default_value().set_uint64(0);
        }
        let mut infos = req.reborrow().init_source_info(1);
        let mut info = infos.reborrow().get(0);
        info.set_id(MOVIE);
        info.set_doc_comment("A film.\nSecond line.\n");
        info.init_members(1).get(0).set_doc_comment("The id.\n");
        let mut files = req.init_requested_files(1);
        files.reborrow().get(0).set_id(FILE);
        files.get(0).set_filename("movies.capnp");
        let mut bytes = Vec::new();
        capnp::serialize::write_message(&mut bytes, &message).unwrap();
        bytes
    }

    #[test]
    fn map_and_set_marks_are_read_by_name_and_both_at_once_refused() {
        let slot = |marks: &[u64]| {
            let schema = from_request(&request_marking_id(marks)).unwrap();
            let movie = schema.get_struct("Movie").unwrap();
            movie.fields[0].as_slot().unwrap().collection
        };
        assert_eq!(slot(&[]), None);
        assert_eq!(slot(&[MAP]), Some(Collection::Map));
        assert_eq!(slot(&[SET]), Some(Collection::Set));
        let err = from_request(&request_marking_id(&[MAP, SET])).unwrap_err();
        assert_eq!(
            err.message(),
            "file movies.capnp: struct Movie: field \"id\": marked both $Hollow.map and $Hollow.set"
        );
    }

    #[test]
    fn reads_structs_docs_and_annotations_by_name() {
        let schema = from_request(&request()).unwrap();
        let mut expected = StructType::new("Movie");
        expected.doc = Some("A film.\nSecond line.".into());
        expected.is_record = true;
        expected.primary_key = Some(Key::parse("id").unwrap());
        expected.size = StructSize {
            data_words: 1,
            pointers: 0,
        };
        expected
            .fields
            .push(Field::slot("id", 0, Type::UInt64).with_doc("The id."));
        assert_eq!(schema.types, [TypeDef::Struct(expected)]);
    }

    #[test]
    fn garbage_is_a_malformed_request() {
        let err = from_request(&[0, 0, 0, 0, 5, 0, 0, 0]).unwrap_err();
        assert!(
            err.message().starts_with("malformed CodeGeneratorRequest"),
            "{err}"
        );
    }

    #[test]
    fn explicit_defaults_are_zero_only_when_they_read_as_zero() {
        let mut message = Builder::new_default();
        let mut v = message.init_root::<value::Builder>();
        v.set_float64(-0.0);
        assert!(!is_zero(v.reborrow_as_reader()).unwrap());
        v.set_uint16(0);
        assert!(is_zero(v.reborrow_as_reader()).unwrap());
        v.set_text("");
        assert!(is_zero(v.reborrow_as_reader()).unwrap());
        v.set_text("x");
        assert!(!is_zero(v.reborrow_as_reader()).unwrap());
        v.set_enum(2);
        assert!(!is_zero(v.reborrow_as_reader()).unwrap());
    }
}
