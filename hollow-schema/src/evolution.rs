//! Schema evolution: what changed between two schemas, and whether each
//! change is safe.
//!
//! One rule set serves every check: a producer continuing a history written
//! with an older schema, a consumer reading blobs through compiled types,
//! and `hollow schema-diff`. The rules are Cap'n Proto's, since a blob's
//! records are Cap'n Proto structs read by position:
//!
//! | change | verdict | readers of the other schema |
//! |---|---|---|
//! | type added | compatible | unaffected |
//! | record or nested type removed | breaking | see no records of it |
//! | field, union member or enumerant added (new ordinal, at the end) | compatible | skip it, or read its default |
//! | field renamed (same ordinal, type and offset) | compatible | unaffected |
//! | field removed | breaking | read its default |
//! | union member or enumerant removed from the end | breaking | never see it |
//! | field's type changed (including `Text` ↔ `Data`) | breaking | **misread** |
//! | field's ordinal or offset changed | breaking | **misread** |
//! | value field made a group or union, or back | breaking | **misread** |
//! | union discriminant moved, member reordered | breaking | **misread** |
//! | struct made an enum, or back | breaking | **misread** |
//! | list field marked `$Hollow.map` or `$Hollow.set` | breaking | a reader of the newer schema **misreads** the older's data; a reader of the older reads the newer's right |
//! | map or set mark removed (the field stays a list) | breaking | a reader of the older schema **misreads** the newer's data; a reader of the newer reads the older's right |
//! | map made a set, or back | breaking | **misread** |
//!
//! A *breaking* change is one a producer may not publish as a continuation
//! of the older history: some reader of the older schema would be wrong
//! about the data. Marking a list as a map or set is breaking too, though
//! no byte moves: the records a continued history carries over from older
//! versions were written unsorted, and deltas rewrite only the records
//! that change.
//!
//! A change that makes readers **misread** is a *conflict*
//! ([`Change::conflicts`]): a reader of the newer schema cannot read bytes
//! written with the older one. For every change but the mark changes this
//! holds both ways round (the two schemas disagree about where or how a
//! field both know is stored). A map or set mark is a promise about the
//! stored order: a reader that expects a map or set over a list written
//! without the mark (or with the other mark) looks entries up by binary
//! search in data that is not sorted, and misses them, so marking is a
//! conflict; a reader of a plain list reads a map's or set's entries right,
//! so removing the mark is not. A consumer checks only for conflicts, with
//! the blob's schema as the older side and its compiled types as the newer
//! ([`diff_reachable`]): its compiled types may be older or newer than a
//! blob's.
//!
//! A map's entry struct is compared as any struct.
//!
//! Fields are matched by name; an unmatched field of one schema and one of
//! the other at the same ordinal are one field renamed. Cap'n Proto also
//! allows `Text` ↔ `Data` and `List(T)` → `List(S)` where `S`'s field `@0`
//! is a `T`; these rules refuse both, since a typed reader of the other
//! schema would fail on them.
//!
//! ```
//! use hollow_schema::{evolution, Field, Schema, StructType, Type, TypeDef};
//!
//! let schema = |fields: Vec<Field>| {
//!     let mut movie = StructType::new("Movie");
//!     movie.is_record = true;
//!     movie.fields = fields;
//!     let mut s = Schema::new();
//!     s.insert(TypeDef::Struct(movie));
//!     hollow_schema::assign_layout(&mut s).unwrap();
//!     s
//! };
//! let v1 = schema(vec![Field::slot("id", 0, Type::UInt64), Field::slot("title", 1, Type::Text)]);
//! let v2 = schema(vec![
//!     Field::slot("id", 0, Type::UInt64),
//!     Field::slot("title", 1, Type::Text),
//!     Field::slot("year", 2, Type::UInt16),
//! ]);
//! let diff = evolution::diff(&v1, &v2);
//! assert!(!diff.is_breaking());
//! assert_eq!(diff.changes[0].to_string(), "Movie.year: field added: year @2 :UInt16 (data bits 64..80) (compatible)");
//!
//! let v3 = schema(vec![Field::slot("id", 0, Type::UInt64), Field::slot("title", 1, Type::Data)]);
//! let diff = evolution::diff(&v1, &v3);
//! assert!(diff.is_breaking() && diff.conflicts().count() == 1);
//! ```

use std::collections::BTreeSet;
use std::fmt;

use crate::{EnumType, Field, FieldKind, Schema, Storage, StructType, Type, TypeDef, Union};

/// Whether a change may be published as a continuation of a history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Readers of either schema read the other's data correctly.
    Compatible,
    /// Some reader of the older schema would be wrong about the data.
    Breaking,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Compatible => "compatible",
            Verdict::Breaking => "breaking",
        })
    }
}

/// What kind of change a [`Change`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A type only the newer schema has.
    TypeAdded,
    /// A type only the older schema has.
    TypeRemoved,
    /// A struct in one schema is an enum in the other.
    TypeKindChanged,
    /// A field (or union member) only the newer schema has.
    FieldAdded,
    /// A field (or union member) only the older schema has.
    FieldRemoved,
    /// The same field (ordinal, type and offset) under another name.
    FieldRenamed,
    /// A field's value type changed.
    FieldRetyped,
    /// A field's ordinal or offset changed, or its ordinal now holds
    /// another field.
    FieldMoved,
    /// A field changed between a value, a group and a union.
    FieldKindChanged,
    /// A union's discriminant is elsewhere.
    DiscriminantMoved,
    /// A union member has another discriminant value (members reordered
    /// or one removed before others).
    MemberReordered,
    /// A list field only the newer schema marks as a map or a set
    /// (`$Hollow.map`, `$Hollow.set`).
    CollectionMarked,
    /// A map or set field the newer schema reads as a plain list.
    CollectionUnmarked,
    /// A map field the newer schema marks as a set, or the other way round.
    CollectionChanged,
    /// An enumerant only the newer schema has (at the end).
    EnumerantAdded,
    /// An enumerant only the older schema has (at the end).
    EnumerantRemoved,
    /// The same enumerant (same value) under another name.
    EnumerantRenamed,
}

impl ChangeKind {
    /// The change's verdict (see the [module docs](self)).
    pub fn verdict(self) -> Verdict {
        match self {
            ChangeKind::TypeAdded
            | ChangeKind::FieldAdded
            | ChangeKind::FieldRenamed
            | ChangeKind::EnumerantAdded
            | ChangeKind::EnumerantRenamed => Verdict::Compatible,
            _ => Verdict::Breaking,
        }
    }

    /// Whether a reader of the newer schema misreads bytes written with the
    /// older one. Every such change but [`CollectionMarked`] also makes a
    /// reader of the older schema misread the newer's bytes; a reader of
    /// the older schema misreads the newer's after [`CollectionUnmarked`]
    /// (see the [module docs](self)).
    ///
    /// [`CollectionMarked`]: ChangeKind::CollectionMarked
    /// [`CollectionUnmarked`]: ChangeKind::CollectionUnmarked
    pub fn conflicts(self) -> bool {
        matches!(
            self,
            ChangeKind::TypeKindChanged
                | ChangeKind::FieldRetyped
                | ChangeKind::FieldMoved
                | ChangeKind::FieldKindChanged
                | ChangeKind::DiscriminantMoved
                | ChangeKind::MemberReordered
                | ChangeKind::CollectionMarked
                | ChangeKind::CollectionChanged
        )
    }

    fn describe(self) -> &'static str {
        match self {
            ChangeKind::TypeAdded => "type added",
            ChangeKind::TypeRemoved => "type removed",
            ChangeKind::TypeKindChanged => "struct and enum swapped",
            ChangeKind::FieldAdded => "field added",
            ChangeKind::FieldRemoved => "field removed",
            ChangeKind::FieldRenamed => "field renamed",
            ChangeKind::FieldRetyped => "type changed",
            ChangeKind::FieldMoved => "ordinal or offset changed",
            ChangeKind::FieldKindChanged => "changed between value, group and union",
            ChangeKind::DiscriminantMoved => "union discriminant moved",
            ChangeKind::MemberReordered => "union member renumbered",
            ChangeKind::CollectionMarked => "marked as a map or set",
            ChangeKind::CollectionUnmarked => "map or set mark removed",
            ChangeKind::CollectionChanged => "changed between map and set",
            ChangeKind::EnumerantAdded => "enumerant added",
            ChangeKind::EnumerantRemoved => "enumerant removed",
            ChangeKind::EnumerantRenamed => "enumerant renamed",
        }
    }
}

/// One difference between two schemas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The struct or enum the change is in.
    pub type_name: String,
    /// The member, as a dotted path from the type (`info.runtime`; members
    /// of an unnamed union are named directly); empty for the type itself.
    pub path: String,
    /// What changed.
    pub kind: ChangeKind,
    /// The definition in the older schema (`title @1 :Text (pointer 0)`),
    /// when it has one.
    pub before: Option<String>,
    /// The definition in the newer schema, when it has one.
    pub after: Option<String>,
}

impl Change {
    /// The change's verdict.
    pub fn verdict(&self) -> Verdict {
        self.kind.verdict()
    }

    /// Whether a reader of the newer schema misreads the older's bytes (see
    /// [`ChangeKind::conflicts`]).
    pub fn conflicts(&self) -> bool {
        self.kind.conflicts()
    }

    /// `Movie.title` (or `Movie` for the type itself).
    pub fn location(&self) -> String {
        if self.path.is_empty() {
            self.type_name.clone()
        } else {
            format!("{}.{}", self.type_name, self.path)
        }
    }
}

impl fmt::Display for Change {
    /// `Movie.title: type changed: was title @1 :Text (pointer 0), is now
    /// title @1 :Data (pointer 0) (breaking)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location(), self.kind.describe())?;
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => write!(f, ": was {b}, is now {a}")?,
            (Some(b), None) => write!(f, ": was {b}")?,
            (None, Some(a)) => write!(f, ": {a}")?,
            (None, None) => {}
        }
        write!(f, " ({})", self.verdict())
    }
}

/// Every difference between two schemas, in the order of the types and
/// members of the older one (then what only the newer has).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchemaDiff {
    /// The changes.
    pub changes: Vec<Change>,
}

impl SchemaDiff {
    /// Whether any change is breaking.
    pub fn is_breaking(&self) -> bool {
        self.breaking().next().is_some()
    }

    /// The breaking changes.
    pub fn breaking(&self) -> impl Iterator<Item = &Change> {
        self.changes
            .iter()
            .filter(|c| c.verdict() == Verdict::Breaking)
    }

    /// The changes that make a reader of the newer schema misread the
    /// older's bytes (see [`ChangeKind::conflicts`]).
    pub fn conflicts(&self) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(|c| c.conflicts())
    }
}

impl fmt::Display for SchemaDiff {
    /// One change per line; `no changes` when there are none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return f.write_str("no changes");
        }
        for (i, c) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// Every difference from `old` to `new`, each with its verdict.
pub fn diff(old: &Schema, new: &Schema) -> SchemaDiff {
    let mut d = Differ::default();
    for def in &old.types {
        match new.get(def.name()) {
            Some(n) => d.type_def(def, n),
            None => d.push(def.name(), "", ChangeKind::TypeRemoved, None, None),
        }
    }
    for def in &new.types {
        if old.get(def.name()).is_none() {
            d.push(def.name(), "", ChangeKind::TypeAdded, None, None);
        }
    }
    SchemaDiff { changes: d.changes }
}

/// The differences that matter to a reader of `reader`'s types `roots` (and
/// the types they reach) reading bytes written with `writer`: like
/// [`diff`] from `writer` to `reader`, restricted to those types, so that
/// its [conflicts](SchemaDiff::conflicts) are what that reader misreads.
/// Either schema may be the newer.
pub fn diff_reachable(writer: &Schema, reader: &Schema, roots: &[&str]) -> SchemaDiff {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut todo: Vec<String> = roots.iter().map(|r| r.to_string()).collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(TypeDef::Struct(s)) = reader.get(&name) {
            let mut refs = Vec::new();
            for f in s.members() {
                referenced(f, &mut refs);
            }
            todo.extend(refs);
        }
    }
    let keep = |s: &Schema| {
        let mut out = Schema::new();
        for t in s.types.iter().filter(|t| seen.contains(t.name())) {
            out.insert(t.clone());
        }
        out
    };
    let (writer, reader) = (keep(writer), keep(reader));
    let mut d = diff(&writer, &reader);
    // A type the reader has and the writer does not is only absent data.
    d.changes.retain(|c| c.kind != ChangeKind::TypeAdded);
    d
}

fn referenced(f: &Field, out: &mut Vec<String>) {
    match &f.kind {
        FieldKind::Slot(s) => {
            let mut t = &s.ty;
            while let Type::List(inner) = t {
                t = inner;
            }
            if let Type::Struct(n) | Type::Enum(n) = t {
                out.push(n.clone());
            }
        }
        FieldKind::Group(g) => g.fields.iter().for_each(|f| referenced(f, out)),
        FieldKind::Union(u) => u.variants.iter().for_each(|f| referenced(f, out)),
    }
}

/// A member's definition as text: `title @1 :Text (pointer 0)`,
/// `year @2 :UInt16 (data bits 64..80)`,
/// `tags @3 :List(Text) $Hollow.set (pointer 1)`, `info :group`,
/// `shape :union`.
pub fn describe_field(f: &Field) -> String {
    match &f.kind {
        FieldKind::Slot(s) => {
            let at = match s.ty.storage() {
                Storage::Void => "no storage".to_string(),
                Storage::Pointer => format!("pointer {}", s.offset),
                Storage::Data(log2) => {
                    let bits = 1u64 << log2;
                    let start = u64::from(s.offset) * bits;
                    format!("data bits {start}..{}", start + bits)
                }
            };
            let mark = s
                .collection
                .map(|c| format!(" $Hollow.{}", c.annotation()))
                .unwrap_or_default();
            format!("{} @{} :{}{mark} ({at})", f.name, s.ordinal, s.ty)
        }
        FieldKind::Group(g) => format!("{} :group of {} members", f.name, g.fields.len()),
        FieldKind::Union(u) => format!(
            "{} :union of {} members ({})",
            f.name,
            u.variants.len(),
            discriminant_at(u)
        ),
    }
}

/// `f`'s kind without its map or set mark: what decides where and how it
/// is stored.
fn unmarked(f: &Field) -> FieldKind {
    match &f.kind {
        FieldKind::Slot(s) => FieldKind::Slot(crate::Slot {
            collection: None,
            ..s.clone()
        }),
        other => other.clone(),
    }
}

/// Where a union's discriminant is: `discriminant at data bits 64..80`.
fn discriminant_at(u: &Union) -> String {
    // In 64 bits: a schema read from a blob may hold any offset.
    let start = u64::from(u.discriminant_offset) * 16;
    format!("discriminant at data bits {start}..{}", start + 16)
}

#[derive(Default)]
struct Differ {
    changes: Vec<Change>,
}

impl Differ {
    fn push(
        &mut self,
        ty: &str,
        path: &str,
        kind: ChangeKind,
        before: Option<String>,
        after: Option<String>,
    ) {
        self.changes.push(Change {
            type_name: ty.to_string(),
            path: path.to_string(),
            kind,
            before,
            after,
        });
    }

    fn type_def(&mut self, old: &TypeDef, new: &TypeDef) {
        match (old, new) {
            (TypeDef::Struct(a), TypeDef::Struct(b)) => self.structs(a, b),
            (TypeDef::Enum(a), TypeDef::Enum(b)) => self.enums(a, b),
            _ => {
                let kind = |t: &TypeDef| match t {
                    TypeDef::Struct(_) => "struct".to_string(),
                    TypeDef::Enum(_) => "enum".to_string(),
                };
                self.push(
                    old.name(),
                    "",
                    ChangeKind::TypeKindChanged,
                    Some(kind(old)),
                    Some(kind(new)),
                );
            }
        }
    }

    fn structs(&mut self, old: &StructType, new: &StructType) {
        let ty = &old.name;
        self.members(ty, "", &old.fields, &new.fields);
        match (&old.unnamed_union, &new.unnamed_union) {
            (None, None) => {}
            (Some(a), Some(b)) => self.union(ty, "", a, b),
            // Members of an unnamed union added or removed as a whole: each
            // is a field of the struct's scope.
            (Some(a), None) => self.members(ty, "", &a.variants, &[]),
            (None, Some(b)) => self.members(ty, "", &[], &b.variants),
        }
    }

    /// Members matched by name; leftovers at the same ordinal are renames.
    fn members(&mut self, ty: &str, prefix: &str, old: &[Field], new: &[Field]) {
        let path = |f: &Field| format!("{prefix}{}", f.name);
        let by_name = |fs: &[Field], n: &str| fs.iter().position(|f| f.name == n);
        let ordinal = |f: &Field| f.as_slot().map(|s| s.ordinal);
        let new_left: Vec<&Field> = new
            .iter()
            .filter(|f| by_name(old, &f.name).is_none())
            .collect();
        let mut paired_new = BTreeSet::new();
        for f in old {
            match by_name(new, &f.name) {
                Some(i) => self.field(ty, &path(f), f, &new[i]),
                None => {
                    let twin = new_left
                        .iter()
                        .position(|g| ordinal(g).is_some() && ordinal(g) == ordinal(f));
                    match twin {
                        Some(i) => {
                            paired_new.insert(i);
                            let g = new_left[i];
                            let kind = if unmarked(f) == unmarked(g) {
                                ChangeKind::FieldRenamed
                            } else {
                                ChangeKind::FieldMoved
                            };
                            self.push(
                                ty,
                                &path(f),
                                kind,
                                Some(describe_field(f)),
                                Some(describe_field(g)),
                            );
                            if kind == ChangeKind::FieldRenamed {
                                self.marks(ty, &path(f), f, g);
                            }
                        }
                        None => self.push(
                            ty,
                            &path(f),
                            ChangeKind::FieldRemoved,
                            Some(describe_field(f)),
                            None,
                        ),
                    }
                }
            }
        }
        for (i, g) in new_left.iter().enumerate() {
            if !paired_new.contains(&i) {
                self.push(
                    ty,
                    &path(g),
                    ChangeKind::FieldAdded,
                    None,
                    Some(describe_field(g)),
                );
            }
        }
    }

    fn field(&mut self, ty: &str, path: &str, old: &Field, new: &Field) {
        let (b, a) = (Some(describe_field(old)), Some(describe_field(new)));
        match (&old.kind, &new.kind) {
            (FieldKind::Slot(x), FieldKind::Slot(y)) => {
                if x.ty != y.ty {
                    self.push(ty, path, ChangeKind::FieldRetyped, b, a);
                } else if x.ordinal != y.ordinal || x.offset != y.offset {
                    self.push(ty, path, ChangeKind::FieldMoved, b, a);
                } else {
                    self.marks(ty, path, old, new);
                }
            }
            (FieldKind::Group(x), FieldKind::Group(y)) => {
                self.members(ty, &format!("{path}."), &x.fields, &y.fields)
            }
            (FieldKind::Union(x), FieldKind::Union(y)) => self.union(ty, path, x, y),
            _ => self.push(ty, path, ChangeKind::FieldKindChanged, b, a),
        }
    }

    /// The change of a value field's map or set mark, if it has one (the
    /// fields are otherwise the same).
    fn marks(&mut self, ty: &str, path: &str, old: &Field, new: &Field) {
        let mark = |f: &Field| f.as_slot().and_then(|s| s.collection);
        let kind = match (mark(old), mark(new)) {
            (None, Some(_)) => ChangeKind::CollectionMarked,
            (Some(_), None) => ChangeKind::CollectionUnmarked,
            (Some(x), Some(y)) if x != y => ChangeKind::CollectionChanged,
            _ => return,
        };
        self.push(
            ty,
            path,
            kind,
            Some(describe_field(old)),
            Some(describe_field(new)),
        );
    }

    /// Members matched by discriminant value (their index).
    fn union(&mut self, ty: &str, path: &str, old: &Union, new: &Union) {
        let prefix = if path.is_empty() {
            String::new()
        } else {
            format!("{path}.")
        };
        if old.discriminant_offset != new.discriminant_offset {
            let where_ = if path.is_empty() {
                "(unnamed union)"
            } else {
                path
            };
            self.push(
                ty,
                where_,
                ChangeKind::DiscriminantMoved,
                Some(discriminant_at(old)),
                Some(discriminant_at(new)),
            );
        }
        for (i, v) in old.variants.iter().enumerate() {
            let p = format!("{prefix}{}", v.name);
            match new.variants.get(i) {
                Some(n) if n.name == v.name => self.field(ty, &p, v, n),
                Some(n) => {
                    // Another member at this value: the same one renamed,
                    // or members renumbered.
                    let moved = new.variants.iter().any(|m| m.name == v.name);
                    let kind = if !moved && unmarked(n) == unmarked(v) {
                        ChangeKind::FieldRenamed
                    } else {
                        ChangeKind::MemberReordered
                    };
                    self.push(
                        ty,
                        &p,
                        kind,
                        Some(format!("{} (member {i})", describe_field(v))),
                        Some(format!("{} (member {i})", describe_field(n))),
                    );
                    if kind == ChangeKind::FieldRenamed {
                        self.marks(ty, &p, v, n);
                    }
                }
                None => self.push(
                    ty,
                    &p,
                    ChangeKind::FieldRemoved,
                    Some(format!("{} (member {i})", describe_field(v))),
                    None,
                ),
            }
        }
        for (i, n) in new.variants.iter().enumerate().skip(old.variants.len()) {
            self.push(
                ty,
                &format!("{prefix}{}", n.name),
                ChangeKind::FieldAdded,
                None,
                Some(format!("{} (member {i})", describe_field(n))),
            );
        }
    }

    fn enums(&mut self, old: &EnumType, new: &EnumType) {
        let ty = &old.name;
        for (i, e) in old.enumerants.iter().enumerate() {
            match new.enumerants.get(i) {
                Some(n) if n.name == e.name => {}
                Some(n) => self.push(
                    ty,
                    &e.name,
                    ChangeKind::EnumerantRenamed,
                    Some(format!("{} = {i}", e.name)),
                    Some(format!("{} = {i}", n.name)),
                ),
                None => self.push(
                    ty,
                    &e.name,
                    ChangeKind::EnumerantRemoved,
                    Some(format!("{} = {i}", e.name)),
                    None,
                ),
            }
        }
        for (i, n) in new.enumerants.iter().enumerate().skip(old.enumerants.len()) {
            self.push(
                ty,
                &n.name,
                ChangeKind::EnumerantAdded,
                None,
                Some(format!("{} = {i}", n.name)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{assign_layout, Collection, Enumerant};

    fn schema(fields: Vec<Field>, union: Option<Vec<Field>>) -> Schema {
        let mut movie = StructType::new("Movie");
        movie.is_record = true;
        movie.fields = fields;
        movie.unnamed_union = union.map(Union::new);
        let mut s = Schema::new();
        s.insert(TypeDef::Struct(movie));
        assign_layout(&mut s).unwrap();
        s
    }

    fn base() -> Vec<Field> {
        vec![
            Field::slot("id", 0, Type::UInt64),
            Field::slot("title", 1, Type::Text),
        ]
    }

    fn kinds(d: &SchemaDiff) -> Vec<(String, ChangeKind)> {
        d.changes.iter().map(|c| (c.location(), c.kind)).collect()
    }

    #[test]
    fn a_discriminant_offset_read_from_a_blob_is_described_without_overflow() {
        let mut u = Union::new(vec![Field::slot("a", 0, Type::UInt8)]);
        u.discriminant_offset = u32::MAX;
        assert_eq!(
            discriminant_at(&u),
            "discriminant at data bits 68719476720..68719476736"
        );
    }

    #[test]
    fn the_issue_s_misread_is_a_conflict_naming_both_definitions() {
        let blob = schema(
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("name", 1, Type::Text),
                Field::slot("price", 2, Type::UInt32),
            ],
            None,
        );
        let compiled = schema(
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("name", 1, Type::UInt32),
            ],
            None,
        );
        let d = diff_reachable(&blob, &compiled, &["Movie"]);
        let c: Vec<_> = d.conflicts().collect();
        assert_eq!(c.len(), 1, "{d}");
        assert_eq!(
            c[0].to_string(),
            "Movie.name: type changed: was name @1 :Text (pointer 0), \
             is now name @1 :UInt32 (data bits 64..96) (breaking)"
        );
    }

    #[test]
    fn added_renamed_removed_and_moved_fields() {
        let v1 = schema(base(), None);
        let mut f = base();
        f.push(Field::slot("year", 2, Type::UInt16));
        let added = diff(&v1, &schema(f, None));
        assert_eq!(
            kinds(&added),
            [("Movie.year".into(), ChangeKind::FieldAdded)]
        );
        assert!(!added.is_breaking());

        let renamed = schema(
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("name", 1, Type::Text),
            ],
            None,
        );
        let d = diff(&v1, &renamed);
        assert_eq!(
            kinds(&d),
            [("Movie.title".into(), ChangeKind::FieldRenamed)]
        );
        assert!(!d.is_breaking());

        let removed = schema(vec![Field::slot("id", 0, Type::UInt64)], None);
        let d = diff(&v1, &removed);
        assert_eq!(
            kinds(&d),
            [("Movie.title".into(), ChangeKind::FieldRemoved)]
        );
        assert!(d.is_breaking() && d.conflicts().next().is_none());
        // Either way round, nothing both know is misread.
        assert!(diff_reachable(&removed, &v1, &["Movie"])
            .conflicts()
            .next()
            .is_none());

        // Ordinals swapped: both fields moved.
        let swapped = schema(
            vec![
                Field::slot("id", 1, Type::UInt64),
                Field::slot("title", 0, Type::Text),
            ],
            None,
        );
        let d = diff(&v1, &swapped);
        assert_eq!(
            kinds(&d),
            [
                ("Movie.id".into(), ChangeKind::FieldMoved),
                ("Movie.title".into(), ChangeKind::FieldMoved)
            ]
        );
        // A new field at a removed field's ordinal with another type.
        let reused = schema(
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("rank", 1, Type::UInt32),
            ],
            None,
        );
        let d = diff(&v1, &reused);
        assert_eq!(kinds(&d), [("Movie.title".into(), ChangeKind::FieldMoved)]);
        assert!(d.conflicts().next().is_some());
    }

    #[test]
    fn unions_groups_enums_and_types() {
        let u = |names: &[&str]| {
            let v = names
                .iter()
                .enumerate()
                .map(|(i, n)| Field::slot(*n, 2 + i as u16, Type::Float64))
                .collect();
            schema(base(), Some(v))
        };
        let v1 = u(&["circle", "square", "star"]);
        assert!(!diff(&v1, &u(&["circle", "square", "star", "ring"])).is_breaking());
        let d = diff(&v1, &u(&["square", "circle", "star"]));
        assert_eq!(
            kinds(&d),
            [
                ("Movie.circle".into(), ChangeKind::MemberReordered),
                ("Movie.square".into(), ChangeKind::MemberReordered)
            ]
        );
        let d = diff(&v1, &u(&["circle", "square"]));
        assert_eq!(kinds(&d), [("Movie.star".into(), ChangeKind::FieldRemoved)]);

        let mut g = base();
        g.push(Field::group(
            "info",
            vec![Field::slot("runtime", 2, Type::UInt32)],
        ));
        let mut g2 = base();
        g2.push(Field::group(
            "info",
            vec![Field::slot("runtime", 2, Type::Int32)],
        ));
        let d = diff(&schema(g.clone(), None), &schema(g2, None));
        assert_eq!(
            kinds(&d),
            [("Movie.info.runtime".into(), ChangeKind::FieldRetyped)]
        );
        let mut v = base();
        v.push(Field::slot("info", 2, Type::UInt32));
        let d = diff(&schema(g, None), &schema(v, None));
        assert_eq!(
            kinds(&d),
            [("Movie.info".into(), ChangeKind::FieldKindChanged)]
        );

        let e = |names: &[&str]| {
            let mut s = Schema::new();
            s.insert(TypeDef::Enum(EnumType {
                name: "Genre".into(),
                doc: None,
                enumerants: names
                    .iter()
                    .map(|n| Enumerant {
                        name: n.to_string(),
                        doc: None,
                    })
                    .collect(),
            }));
            s
        };
        let d = diff(&e(&["drama", "comedy"]), &e(&["drama", "comic", "horror"]));
        assert_eq!(
            kinds(&d),
            [
                ("Genre.comedy".into(), ChangeKind::EnumerantRenamed),
                ("Genre.horror".into(), ChangeKind::EnumerantAdded)
            ]
        );
        assert!(!d.is_breaking());
        let d = diff(&e(&["drama", "comedy"]), &e(&["drama"]));
        assert!(d.is_breaking() && d.conflicts().next().is_none());
        let d = diff(&e(&["x"]), &schema(base(), None));
        assert_eq!(
            kinds(&d),
            [
                ("Genre".into(), ChangeKind::TypeRemoved),
                ("Movie".into(), ChangeKind::TypeAdded)
            ]
        );
        assert_eq!(d.to_string().lines().count(), 2);
    }

    #[test]
    fn map_and_set_marks_are_breaking_and_conflict_for_their_reader() {
        let entry = || {
            let mut e = StructType::new("MovieTitlesEntry");
            e.fields = vec![
                Field::slot("key", 0, Type::Text),
                Field::slot("value", 1, Type::Text),
            ];
            TypeDef::Struct(e)
        };
        let with = |tags: Option<Collection>, titles: Option<Collection>| {
            let list = |t: Type| Type::List(Box::new(t));
            let mark = |f: Field, c: Option<Collection>| match c {
                Some(c) => f.marked(c),
                None => f,
            };
            let mut s = schema(
                vec![
                    Field::slot("id", 0, Type::UInt64),
                    mark(Field::slot("tags", 1, list(Type::Text)), tags),
                    mark(
                        Field::slot("titles", 2, list(Type::Struct("MovieTitlesEntry".into()))),
                        titles,
                    ),
                ],
                None,
            );
            s.insert(entry());
            assign_layout(&mut s).unwrap();
            crate::validate(&s).unwrap();
            s
        };
        let plain = with(None, None);
        let marked = with(Some(Collection::Set), Some(Collection::Map));

        let d = diff(&plain, &marked);
        assert_eq!(
            kinds(&d),
            [
                ("Movie.tags".into(), ChangeKind::CollectionMarked),
                ("Movie.titles".into(), ChangeKind::CollectionMarked)
            ]
        );
        assert_eq!(
            d.changes[0].to_string(),
            "Movie.tags: marked as a map or set: was tags @1 :List(Text) (pointer 0), \
             is now tags @1 :List(Text) $Hollow.set (pointer 0) (breaking)"
        );
        // A reader expecting the mark over lists written without it would
        // binary-search unsorted entries.
        assert_eq!(d.conflicts().count(), 2);
        assert_eq!(
            diff_reachable(&plain, &marked, &["Movie"])
                .conflicts()
                .count(),
            2
        );

        // The other way round: breaking (the history's records are sorted
        // no more), but a list reader reads sorted entries right.
        let d = diff(&marked, &plain);
        assert_eq!(
            kinds(&d),
            [
                ("Movie.tags".into(), ChangeKind::CollectionUnmarked),
                ("Movie.titles".into(), ChangeKind::CollectionUnmarked)
            ]
        );
        assert!(d.is_breaking() && d.conflicts().next().is_none());
        assert!(diff_reachable(&marked, &plain, &["Movie"])
            .conflicts()
            .next()
            .is_none());

        // A set made a map: breaking, and misread both ways round.
        let set_of_entries = with(None, Some(Collection::Set));
        for (a, b) in [(&set_of_entries, &marked), (&marked, &set_of_entries)] {
            let d = diff(a, b);
            assert_eq!(
                kinds(&d)
                    .into_iter()
                    .filter(|(l, _)| l == "Movie.titles")
                    .collect::<Vec<_>>(),
                [("Movie.titles".into(), ChangeKind::CollectionChanged)]
            );
            assert!(d.conflicts().any(|c| c.path == "titles"));
        }

        // The entry struct is compared as any struct; a field renamed and
        // marked at once is a rename and a mark.
        let mut retyped = marked.clone();
        let Some(TypeDef::Struct(e)) = retyped
            .types
            .iter_mut()
            .find(|t| t.name() == "MovieTitlesEntry")
        else {
            unreachable!()
        };
        e.fields[1] = Field::slot("value", 1, Type::Data);
        assign_layout(&mut retyped).unwrap();
        let d = diff(&marked, &retyped);
        assert_eq!(
            kinds(&d),
            [("MovieTitlesEntry.value".into(), ChangeKind::FieldRetyped)]
        );
        let mut renamed = marked.clone();
        let Some(TypeDef::Struct(m)) = renamed.types.iter_mut().find(|t| t.name() == "Movie")
        else {
            unreachable!()
        };
        m.fields[1].name = "labels".into();
        let d = diff(&plain, &renamed);
        assert_eq!(
            kinds(&d),
            [
                ("Movie.tags".into(), ChangeKind::FieldRenamed),
                ("Movie.tags".into(), ChangeKind::CollectionMarked),
                ("Movie.titles".into(), ChangeKind::CollectionMarked)
            ]
        );
        assert_eq!(diff(&marked, &marked.clone()).changes, []);
    }
}
