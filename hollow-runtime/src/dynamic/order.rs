//! The stored order of maps and sets, checked with no generated code: the
//! one dynamic form of `MapKey`'s canonical order (`docs/maps-and-sets.md`)
//! that the load-time check, `ReadState::check_records` and `hollow verify`
//! use, and that the dynamic reader uses to pair up entries by key.
//!
//! A key is read as a [`KeyRead`] by the schema's key kind and two keys are
//! compared by [`cmp_keys`]: integers numerically (signed as signed),
//! `Bool` false first, enums by ordinal, `Text` and `Data` bytewise (a null
//! pointer reads as empty, as the compiled accessors read it), composite
//! keys field by field in ordinal order.

use std::cmp::Ordering;

use hollow_schema::{Collection, Field, FieldKind, Schema, TypeDef};

use super::compile::{CField, CKind, CMembers, CType, CUnion, Compiled};
use super::json::{element_size, type_name};
use crate::wire::{ListReader, PointerReader, StructReader};

/// Whether any field of `schema` is a map or a set.
pub(super) fn has_marks(schema: &Schema) -> bool {
    fn marked(fields: &[Field]) -> bool {
        fields.iter().any(|f| match &f.kind {
            FieldKind::Slot(s) => s.collection.is_some(),
            FieldKind::Group(g) => marked(&g.fields),
            FieldKind::Union(u) => marked(&u.variants),
        })
    }
    schema.types.iter().any(|t| match t {
        TypeDef::Struct(s) => {
            marked(&s.fields)
                || s.unnamed_union
                    .as_ref()
                    .is_some_and(|u| marked(&u.variants))
        }
        TypeDef::Enum(_) => false,
    })
}

/// One key (a map entry's key or a set element) as read.
#[derive(Clone, Copy, Debug)]
pub(super) enum KeyRead<'a> {
    /// A signed integer.
    Signed(i64),
    /// An unsigned integer, a `Bool` (0, 1) or an enum's ordinal.
    Unsigned(u64),
    /// `Text` (without its terminating zero) or `Data`.
    Bytes(&'a [u8]),
    /// A composite key: struct type index and the struct.
    Struct(u32, StructReader<'a>),
}

/// Reads a value of key type `ty` from slot `offset` of `r`.
#[inline]
pub(super) fn key_in_struct<'a>(
    ty: &CType,
    offset: u32,
    r: &StructReader<'a>,
) -> Result<KeyRead<'a>, String> {
    Ok(match ty {
        CType::Bool => KeyRead::Unsigned(u64::from(r.read_bool(offset))),
        CType::I8 => KeyRead::Signed(i64::from(r.read_u8(offset) as i8)),
        CType::I16 => KeyRead::Signed(i64::from(r.read_u16(offset) as i16)),
        CType::I32 => KeyRead::Signed(i64::from(r.read_u32(offset) as i32)),
        CType::I64 => KeyRead::Signed(r.read_u64(offset) as i64),
        CType::U8 => KeyRead::Unsigned(u64::from(r.read_u8(offset))),
        CType::U16 | CType::Enum(_) => KeyRead::Unsigned(u64::from(r.read_u16(offset))),
        CType::U32 => KeyRead::Unsigned(u64::from(r.read_u32(offset))),
        CType::U64 => KeyRead::Unsigned(r.read_u64(offset)),
        _ => return key_behind(ty, r.pointer(offset)),
    })
}

/// Reads element `i` of list `l` of key type `ty`.
#[inline]
pub(super) fn key_in_list<'a>(
    ty: &CType,
    l: &ListReader<'a>,
    i: u32,
) -> Result<KeyRead<'a>, String> {
    Ok(match ty {
        CType::Bool => KeyRead::Unsigned(u64::from(l.bit(i))),
        CType::I8 => KeyRead::Signed(i64::from(l.u8_at(i) as i8)),
        CType::I16 => KeyRead::Signed(i64::from(l.u16_at(i) as i16)),
        CType::I32 => KeyRead::Signed(i64::from(l.u32_at(i) as i32)),
        CType::I64 => KeyRead::Signed(l.u64_at(i) as i64),
        CType::U8 => KeyRead::Unsigned(u64::from(l.u8_at(i))),
        CType::U16 | CType::Enum(_) => KeyRead::Unsigned(u64::from(l.u16_at(i))),
        CType::U32 => KeyRead::Unsigned(u64::from(l.u32_at(i))),
        CType::U64 => KeyRead::Unsigned(l.u64_at(i)),
        CType::Struct(s) => KeyRead::Struct(*s, l.struct_at(i)),
        _ => return key_behind(ty, l.pointer(i)),
    })
}

/// A `Text`, `Data` or composite key behind pointer `p`.
fn key_behind<'a>(ty: &CType, p: PointerReader<'a>) -> Result<KeyRead<'a>, String> {
    match ty {
        // Bytewise on the bytes before the terminating zero (UTF-8 or not:
        // the order does not depend on it).
        CType::Text => text_bytes(p).map(KeyRead::Bytes),
        CType::Data => Ok(KeyRead::Bytes(p.data().map_err(|e| e.to_string())?)),
        CType::Struct(s) if p.is_null() => Ok(KeyRead::Struct(*s, StructReader::empty())),
        CType::Struct(s) => Ok(KeyRead::Struct(
            *s,
            p.struct_reader().map_err(|e| e.to_string())?,
        )),
        _ => Err(
            "not a key type (keys are integers, Bool, enums, Text, Data or structs of those)"
                .into(),
        ),
    }
}

/// A `Text` key's bytes before the terminating zero (UTF-8 or not: the
/// order does not depend on it).
#[inline]
fn text_bytes<'a>(p: PointerReader<'a>) -> Result<&'a [u8], String> {
    match p.data().map_err(|e| e.to_string())?.split_last() {
        None => Ok(&[]),
        Some((0, body)) => Ok(body),
        Some(_) => Err("a Text without its terminating zero".into()),
    }
}

/// The first of `n` keys, read by `key`, that does not sort after the one
/// before it by `cmp`: its index and how the one before compares with it.
#[inline]
fn first_unsorted<K>(
    n: u32,
    mut key: impl FnMut(u32) -> Result<K, String>,
    mut cmp: impl FnMut(&K, &K) -> Result<Ordering, String>,
) -> Result<Option<(u32, Ordering)>, String> {
    if n == 0 {
        return Ok(None);
    }
    let mut prev = key(0)?;
    for i in 1..n {
        let this = key(i)?;
        match cmp(&prev, &this)? {
            Ordering::Less => prev = this,
            other => return Ok(Some((i, other))),
        }
    }
    Ok(None)
}

/// The canonical order of two keys of one key type.
pub(super) fn cmp_keys(c: &Compiled, a: KeyRead<'_>, b: KeyRead<'_>) -> Result<Ordering, String> {
    match (a, b) {
        (KeyRead::Signed(x), KeyRead::Signed(y)) => Ok(x.cmp(&y)),
        (KeyRead::Unsigned(x), KeyRead::Unsigned(y)) => Ok(x.cmp(&y)),
        (KeyRead::Bytes(x), KeyRead::Bytes(y)) => Ok(x.cmp(y)),
        (KeyRead::Struct(s, x), KeyRead::Struct(_, y)) => {
            let st = &c.structs[s as usize];
            for f in st.by_ordinal.iter().map(|&i| &st.members.fields[i]) {
                let CKind::Slot { ty, offset, .. } = &f.kind else {
                    return Err(format!("key field {} is not a value", f.name));
                };
                let (kx, ky) = (
                    key_in_struct(ty, *offset, &x)?,
                    key_in_struct(ty, *offset, &y)?,
                );
                match cmp_keys(c, kx, ky)? {
                    Ordering::Equal => {}
                    other => return Ok(other),
                }
            }
            Ok(Ordering::Equal)
        }
        _ => Err("keys of different kinds".into()),
    }
}

/// What a walk may still read (as the JSON walk's budget: 8 units per word
/// of the record's segment, plus 1024), so a record whose pointers repeat
/// one object cannot make the check read more than its bytes justify.
struct Walk<'c> {
    c: &'c Compiled,
    budget: u64,
}

/// Checks every map and set reachable from the record `r` of struct type
/// `t`: its entries sorted by key without repeats. The error names the
/// struct type and field that holds the damaged map or set, and says which
/// entries are out of order.
pub(super) fn check(c: &Compiled, t: u32, r: StructReader<'_>) -> Result<(), String> {
    if !c.structs[t as usize].has_collections {
        return Ok(());
    }
    let (seg, ..) = r.parts();
    let mut walk = Walk {
        c,
        budget: crate::wire::traversal_budget(seg.len() as u64 / 8),
    };
    walk.structure(t, r)
}

impl Walk<'_> {
    fn charge(&mut self, units: u64) -> Result<(), String> {
        if units > self.budget {
            return Err("the record reads more than its blob's bytes allow \
                        (a list or pointer repeated to amplify it)"
                .into());
        }
        self.budget -= units;
        Ok(())
    }

    fn structure(&mut self, t: u32, r: StructReader<'_>) -> Result<(), String> {
        let st = &self.c.structs[t as usize];
        if !st.has_collections {
            return Ok(());
        }
        self.charge(1)?;
        self.members(&st.name, &st.members, r)
    }

    fn members(&mut self, owner: &str, m: &CMembers, r: StructReader<'_>) -> Result<(), String> {
        for f in &m.fields {
            self.field(owner, f, r)?;
        }
        if let Some(u) = &m.unnamed {
            self.union(owner, u, r)?;
        }
        Ok(())
    }

    /// The active member of union `u`, if any (a discriminant past the
    /// members holds nothing to check).
    fn union(&mut self, owner: &str, u: &CUnion, r: StructReader<'_>) -> Result<(), String> {
        match u.variants.get(r.read_u16(u.discriminant) as usize) {
            Some(v) => self.field(owner, v, r),
            None => Ok(()),
        }
    }

    fn field(&mut self, owner: &str, f: &CField, r: StructReader<'_>) -> Result<(), String> {
        match &f.kind {
            CKind::Group(g) => self.members(owner, g, r),
            CKind::Union(u) => self.union(owner, u, r),
            CKind::Slot {
                ty,
                offset,
                collection,
            } => {
                if !ty.is_pointer() || collection.is_none() && !self.c.reaches_collection(ty) {
                    return Ok(());
                }
                let p = r.pointer(*offset);
                if p.is_null() {
                    return Ok(());
                }
                let at = |e: String| format!("{owner}.{}: {e}", f.name);
                match (collection, ty) {
                    (Some(kind), CType::List(elem)) => self.collection(*kind, elem, p).map_err(at),
                    _ => self.value(ty, p).map_err(at),
                }
            }
        }
    }

    /// A value of type `ty` behind `p` (not null), which may hold maps or
    /// sets in its structs.
    fn value(&mut self, ty: &CType, p: PointerReader<'_>) -> Result<(), String> {
        match ty {
            CType::Struct(s) => {
                let r = p.struct_reader().map_err(|e| e.to_string())?;
                self.structure(*s, r)
            }
            CType::List(elem) if self.c.reaches_collection(elem) => {
                let l = self.list(elem, p)?;
                for i in 0..l.len() {
                    match &**elem {
                        CType::Struct(s) => self.structure(*s, l.struct_at(i))?,
                        inner => {
                            let q = l.pointer(i);
                            if !q.is_null() {
                                self.value(inner, q)?;
                            }
                        }
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn list<'a>(&mut self, elem: &CType, p: PointerReader<'a>) -> Result<ListReader<'a>, String> {
        let l = p.list_reader().map_err(|e| e.to_string())?;
        self.charge(1 + u64::from(l.len()))?;
        if !l.is(element_size(elem)) {
            return Err(format!(
                "a List({}) stored with {:?} elements",
                type_name(self.c, elem),
                l.element_size()
            ));
        }
        Ok(l)
    }

    /// A map (a list of entry structs `elem`) or a set (a list of `elem`)
    /// behind `p`: sorted by key without repeats; a map's values are
    /// walked too.
    fn collection(
        &mut self,
        kind: Collection,
        elem: &CType,
        p: PointerReader<'_>,
    ) -> Result<(), String> {
        let l = self.list(elem, p)?;
        let (key_ty, key_offset, entry) = match kind {
            Collection::Map => {
                let e = self.c.entry(elem)?;
                (e.key_ty, Some(e.key_offset), Some(e.index))
            }
            Collection::Set => (elem, None, None),
        };
        // One unit per key compared, as every other element the walk reads.
        self.charge(u64::from(l.len().saturating_sub(1)))?;
        sorted(self.c, kind, key_ty, key_offset, &l)?;
        if let Some(e) = entry.filter(|&e| self.c.structs[e as usize].has_collections) {
            for i in 0..l.len() {
                self.structure(e, l.struct_at(i))?;
            }
        }
        Ok(())
    }
}

/// Checks that the map or set `l` (a list of entry structs whose key of
/// type `key_ty` is at slot `key_offset`, or of elements of type `key_ty`)
/// is sorted by key without repeats; not what its values hold.
fn sorted(
    c: &Compiled,
    kind: Collection,
    key_ty: &CType,
    key_offset: Option<u32>,
    l: &ListReader<'_>,
) -> Result<(), String> {
    let ordered = |a: &&[u8], b: &&[u8]| Ok(a.cmp(b));
    // Text and Data keys (the common kinds) are compared as the bytes
    // they are, every other kind as a key read (`cmp_keys`).
    let unsorted = match (key_ty, key_offset) {
        (CType::Text, Some(o)) => {
            first_unsorted(l.len(), |i| text_bytes(l.struct_at(i).pointer(o)), ordered)
        }
        (CType::Text, None) => first_unsorted(l.len(), |i| text_bytes(l.pointer(i)), ordered),
        (CType::Data, Some(o)) => first_unsorted(
            l.len(),
            |i| l.struct_at(i).pointer(o).data().map_err(|e| e.to_string()),
            ordered,
        ),
        (CType::Data, None) => first_unsorted(
            l.len(),
            |i| l.pointer(i).data().map_err(|e| e.to_string()),
            ordered,
        ),
        (_, Some(o)) => first_unsorted(
            l.len(),
            |i| key_in_struct(key_ty, o, &l.struct_at(i)),
            |a, b| cmp_keys(c, *a, *b),
        ),
        (_, None) => first_unsorted(
            l.len(),
            |i| key_in_list(key_ty, l, i),
            |a, b| cmp_keys(c, *a, *b),
        ),
    }?;
    let (noun, what) = match kind {
        Collection::Map => ("entry", "key"),
        Collection::Set => ("element", "element"),
    };
    match unsorted {
        None => {}
        Some((i, Ordering::Equal)) => {
            return Err(format!(
                "{noun} {i} repeats the {what} of {noun} {} (a {} stores each {what} once)",
                i - 1,
                kind.annotation()
            ))
        }
        Some((i, _)) => {
            return Err(format!(
                "{noun} {i} is out of order: its {what} sorts before {noun} {}'s \
                     (a {} is stored sorted by {what})",
                i - 1,
                kind.annotation()
            ))
        }
    }
    Ok(())
}

/// Checks that the map or set `l`, a list of `elem` (entry structs for a
/// map), is sorted by key without repeats; not what its values hold (a
/// walk that reads them meets their maps and sets in turn).
///
/// # Errors
/// Which entries are out of order or repeat a key; a map whose elements
/// are not entry structs.
pub(super) fn check_one(
    c: &Compiled,
    kind: Collection,
    elem: &CType,
    l: &ListReader<'_>,
) -> Result<(), String> {
    match kind {
        Collection::Map => {
            let e = c.entry(elem)?;
            sorted(c, kind, e.key_ty, Some(e.key_offset), l)
        }
        Collection::Set => sorted(c, kind, elem, None, l),
    }
}

#[cfg(test)]
mod tests {
    use hollow_schema::{Field, FieldKind, StructType, Type};

    use super::super::DynamicSchema;
    use super::*;
    use crate::wire::{ElementSize, MessageBuilder};

    fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    fn add(schema: &mut Schema, name: &str, fields: Vec<Field>, record: bool) {
        let mut s = StructType::new(name);
        s.is_record = record;
        s.fields = fields;
        schema.insert(TypeDef::Struct(s));
    }

    /// `Rec { id; byName: map Text → set of Int16; byPair: map Pair → Bool }`
    /// with `Pair { region :Text; n :Int32 }` (a composite key).
    fn schema() -> Schema {
        let mut s = Schema::new();
        let st = |n: &str| Type::Struct(n.into());
        add(
            &mut s,
            "Rec",
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("byName", 1, list(st("RecByNameEntry"))).marked(Collection::Map),
                Field::slot("byPair", 2, list(st("RecByPairEntry"))).marked(Collection::Map),
            ],
            true,
        );
        add(
            &mut s,
            "RecByNameEntry",
            vec![
                Field::slot("key", 0, Type::Text),
                Field::slot("value", 1, list(Type::Int16)).marked(Collection::Set),
            ],
            false,
        );
        add(
            &mut s,
            "RecByPairEntry",
            vec![
                Field::slot("key", 0, st("Pair")),
                Field::slot("value", 1, Type::Bool),
            ],
            false,
        );
        // Declared out of ordinal order: `region` (@0) compares first.
        add(
            &mut s,
            "Pair",
            vec![
                Field::slot("n", 1, Type::Int32),
                Field::slot("region", 0, Type::Text),
            ],
            false,
        );
        hollow_schema::assign_layout(&mut s).unwrap();
        s
    }

    fn offset(schema: &Schema, ty: &str, i: usize) -> u32 {
        match &schema.get_struct(ty).unwrap().fields[i].kind {
            FieldKind::Slot(s) => s.offset,
            _ => unreachable!("a slot"),
        }
    }

    /// A `Rec` whose maps hold `names` and `pairs` in the order given.
    fn rec(schema: &Schema, names: &[(&str, &[i16])], pairs: &[(&str, i32)]) -> Vec<u8> {
        let size = |n: &str| schema.get_struct(n).unwrap().size;
        let (rs, ns, ps, pair) = (
            size("Rec"),
            size("RecByNameEntry"),
            size("RecByPairEntry"),
            size("Pair"),
        );
        let mut m = MessageBuilder::new();
        let root = m.init_root(rs.data_words, rs.pointers);
        let (w_names, w_pairs) = (
            root.pointer_word(offset(schema, "Rec", 1)),
            root.pointer_word(offset(schema, "Rec", 2)),
        );
        let mut l = m.init_struct_list_at(w_names, names.len() as u32, ns.data_words, ns.pointers);
        let mut words = Vec::new();
        for (i, _) in names.iter().enumerate() {
            let e = l.struct_at(i as u32);
            words.push((
                e.pointer_word(offset(schema, "RecByNameEntry", 0)),
                e.pointer_word(offset(schema, "RecByNameEntry", 1)),
            ));
        }
        for ((key, set), (wk, wv)) in names.iter().zip(words) {
            m.set_text_at(wk, key);
            let mut s = m.init_list_at(wv, ElementSize::TwoBytes, set.len() as u32);
            for (j, x) in set.iter().enumerate() {
                s.set_u16(j as u32, *x as u16);
            }
        }
        let mut l = m.init_struct_list_at(w_pairs, pairs.len() as u32, ps.data_words, ps.pointers);
        let mut words = Vec::new();
        for (i, _) in pairs.iter().enumerate() {
            let e = l.struct_at(i as u32);
            words.push(e.pointer_word(offset(schema, "RecByPairEntry", 0)));
        }
        for ((region, n), w) in pairs.iter().zip(words) {
            let mut k = m.init_struct_at(w, pair.data_words, pair.pointers);
            k.set_u32(offset(schema, "Pair", 0), *n as u32);
            let wr = k.pointer_word(offset(schema, "Pair", 1));
            m.set_text_at(wr, region);
        }
        m.words().iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// What the order check of a `Rec` with these maps says.
    fn check(names: &[(&str, &[i16])], pairs: &[(&str, i32)]) -> Result<(), String> {
        let s = schema();
        let d = DynamicSchema::for_order_check(&s)
            .unwrap()
            .expect("maps to check");
        let t = d.ordered_type("Rec").expect("Rec holds maps");
        let bytes = rec(&s, names, pairs);
        let r = StructReader::root(&bytes).unwrap();
        d.record(t, r).check_order().map_err(|e| e.to_string())
    }

    #[test]
    fn sorted_maps_pass_in_the_canonical_order_of_each_key_kind() {
        check(&[], &[]).unwrap();
        // Text bytewise (a proper prefix first, "Z" before "a", UTF-8
        // bytes), a set of Int16 signed, composite keys field by field.
        check(
            &[
                ("", &[]),
                ("Z", &[-5, 0, 7]),
                ("a", &[1]),
                ("ab", &[]),
                ("é", &[]),
            ],
            &[("eu", -3), ("eu", 5), ("fr", -100)],
        )
        .unwrap();
    }

    #[test]
    fn a_map_or_set_out_of_order_or_repeating_a_key_is_named() {
        let e = check(&[("b", &[]), ("a", &[])], &[]).unwrap_err();
        assert!(e.contains("Rec.byName: entry 1 is out of order"), "{e}");
        let e = check(&[("a", &[]), ("a", &[])], &[]).unwrap_err();
        assert!(
            e.contains("Rec.byName: entry 1 repeats the key of entry 0"),
            "{e}"
        );
        // A set inside a map's value: Int16 compared signed.
        let e = check(&[("a", &[3, -1])], &[]).unwrap_err();
        assert!(
            e.contains("RecByNameEntry.value: element 1 is out of order"),
            "{e}"
        );
        let e = check(&[("a", &[-1, -1])], &[]).unwrap_err();
        assert!(e.contains("RecByNameEntry.value: element 1 repeats"), "{e}");
        // Composite keys: the second field decides when the first is equal.
        let e = check(&[], &[("eu", 5), ("eu", -3)]).unwrap_err();
        assert!(e.contains("Rec.byPair: entry 1 is out of order"), "{e}");
        let e = check(&[], &[("eu", 5), ("eu", 5)]).unwrap_err();
        assert!(e.contains("Rec.byPair: entry 1 repeats"), "{e}");
        let e = check(&[], &[("fr", 0), ("eu", 9)]).unwrap_err();
        assert!(e.contains("Rec.byPair: entry 1 is out of order"), "{e}");
    }

    #[test]
    fn maps_read_as_json_objects_by_text_key_and_as_pairs_otherwise() {
        let s = schema();
        let d = DynamicSchema::new(&s).unwrap();
        let t = d.record_type("Rec").unwrap();
        let bytes = rec(&s, &[("a", &[-1, 2]), ("b", &[])], &[("eu", -3), ("fr", 1)]);
        let r = d.record(t, StructReader::root(&bytes).unwrap());
        assert_eq!(
            r.to_json().unwrap(),
            serde_json::json!({
                "id": 0,
                "byName": {"a": [-1, 2], "b": []},
                "byPair": [
                    [{"region": "eu", "n": -3}, false],
                    [{"region": "fr", "n": 1}, false]
                ]
            })
        );
    }

    #[test]
    fn maps_and_sets_compare_key_by_key() {
        use super::super::FieldChange;
        use serde_json::json;
        let s = schema();
        let d = DynamicSchema::new(&s).unwrap();
        let t = d.record_type("Rec").unwrap();
        let old = rec(&s, &[("a", &[1]), ("b", &[])], &[("eu", -3)]);
        let new = rec(&s, &[("a", &[1, 2]), ("c", &[])], &[("eu", -3), ("fr", 1)]);
        let (ro, rn) = (
            d.record(t, StructReader::root(&old).unwrap()),
            d.record(t, StructReader::root(&new).unwrap()),
        );
        let change = |path: &str, old: Option<serde_json::Value>, new| FieldChange {
            path: path.into(),
            old,
            new,
        };
        let pair = json!({"region": "fr", "n": 1});
        assert_eq!(
            ro.compare(&rn).unwrap(),
            vec![
                change("byName[\"a\"][2]", None, Some(json!(2))),
                change("byName[\"b\"]", Some(json!([])), None),
                change("byName[\"c\"]", None, Some(json!([]))),
                change(&format!("byPair[{pair}]"), None, Some(json!(false))),
            ]
        );
        assert_eq!(rn.compare(&rn).unwrap(), vec![]);
    }

    #[test]
    fn export_and_compare_refuse_a_map_or_set_out_of_order_by_name() {
        let s = schema();
        let d = DynamicSchema::new(&s).unwrap();
        let t = d.record_type("Rec").unwrap();
        let sound = rec(&s, &[("a", &[1, 2])], &[]);
        for (names, pairs, needle) in [
            (
                &[("b", &[][..]), ("a", &[])][..],
                &[][..],
                "Rec.byName: entry 1 is out of order",
            ),
            (
                &[("a", &[2, 1])],
                &[],
                "RecByNameEntry.value: element 1 is out of order",
            ),
            (
                &[("a", &[1, 1])],
                &[],
                "RecByNameEntry.value: element 1 repeats",
            ),
            (&[], &[("eu", 5), ("eu", 5)], "Rec.byPair: entry 1 repeats"),
        ] {
            let bytes = rec(&s, names, pairs);
            let r = d.record(t, StructReader::root(&bytes).unwrap());
            let e = r.to_json().unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
            let mut out = Vec::new();
            let e = r.write_json(&mut out).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
            // A diff pairs entries by key, so it refuses too, either way.
            let other = d.record(t, StructReader::root(&sound).unwrap());
            let e = other.compare(&r).unwrap_err().to_string();
            assert!(e.contains("out of order") || e.contains("repeats"), "{e}");
            let e = r.compare(&other).unwrap_err().to_string();
            assert!(e.contains("out of order") || e.contains("repeats"), "{e}");
        }
    }

    #[test]
    fn a_schema_without_maps_or_sets_is_not_checked() {
        let mut s = Schema::new();
        add(
            &mut s,
            "Plain",
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("tags", 1, list(Type::Text)),
            ],
            true,
        );
        hollow_schema::assign_layout(&mut s).unwrap();
        assert!(DynamicSchema::for_order_check(&s).unwrap().is_none());
        // In a schema with maps, a type that reaches none is not checked
        // either, and one that reaches a map through a struct is.
        let mut s = schema();
        add(
            &mut s,
            "Holder",
            vec![
                Field::slot("id", 0, Type::UInt64),
                Field::slot("rec", 1, Type::Struct("Rec".into())),
            ],
            true,
        );
        hollow_schema::assign_layout(&mut s).unwrap();
        let d = DynamicSchema::for_order_check(&s).unwrap().unwrap();
        assert!(d.ordered_type("Pair").is_none());
        assert!(d.ordered_type("Holder").is_some());
    }
}
