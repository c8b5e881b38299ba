//! Random schema edits applied to published datasets: the rule set
//! (`hollow_schema::evolution`), the consumer check, the producer check and
//! `hollow schema-diff` agree with each other and with a hand-written table
//! of Cap'n Proto's evolution rules.
//!
//! Each case takes the schema `B` of a compiled record type, applies one
//! random edit to get `E`, and publishes a dataset of `B` whose blobs carry
//! `E` in their headers (the records are untouched; every check happens
//! before a record is read). Then:
//! - the table says whether `B → E` and `E → B` are breaking, and whether
//!   the two conflict (a reader of one misreads the other);
//! - `evolution::diff` in both directions agrees with it;
//! - a consumer compiled with `B` refuses the blobs exactly on a conflict;
//! - a producer compiled with `B` continuing the version written with `E`
//!   refuses exactly when `E → B` is breaking;
//! - `hollow schema-diff E.capnp B.capnp` exits with 3 exactly when
//!   `E → B` is breaking, and the other way round for `B → E`.
//!
//! A list marked `$Hollow.set` ([`Edit::MarkSet`]) is checked by the rule
//! set and `hollow schema-diff` on `.capnp` files
//! (`a_list_marked_as_a_set_agrees_with_the_table`).

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::producer::check_continuation;
use hollow_runtime::store::{Compression, FileAnnouncer};
use hollow_runtime::{ErrorKind, FsBlobStore, Indexed, Producer};
use hollow_schema::evolution::{self, ChangeKind};
use hollow_schema::{Collection, Enumerant, Field, FieldKind, Schema, TypeDef, Union};
use hollow_schema::{StructType, Type};
use hollow_tests::dataset;
use proptest::prelude::*;

/// One edit of a schema, and what Cap'n Proto's rules say of it.
#[derive(Clone, Debug)]
enum Edit {
    /// A field appended with the next ordinal.
    AddField(Type),
    /// A new record type.
    AddType,
    /// The field with the highest ordinal removed.
    RemoveLastField,
    /// The `n`-th top-level value field given another type.
    Retype(usize, Type),
    /// The ordinals of two top-level value fields swapped.
    SwapOrdinals(usize, usize),
    /// A top-level value field renamed.
    Rename(usize),
    /// Two members of a union swapped (their discriminant values change).
    SwapUnionMembers(usize, usize),
    /// A member appended to a union with the next ordinal.
    AppendUnionMember,
    /// An enumerant appended.
    AppendEnumerant,
    /// The last enumerant removed.
    RemoveLastEnumerant,
    /// The `n`-th top-level unmarked `List` field marked `$Hollow.set`
    /// (when its element can be a set's).
    MarkSet(usize),
}

/// One edit of each row of the table (two retypes: to a data and to a
/// pointer type).
fn table_rows() -> Vec<Edit> {
    vec![
        Edit::AddField(Type::Text),
        Edit::AddType,
        Edit::RemoveLastField,
        Edit::Retype(1, Type::Float64),
        Edit::Retype(2, Type::Text),
        Edit::SwapOrdinals(1, 2),
        Edit::Rename(1),
        Edit::SwapUnionMembers(1, 2),
        Edit::AppendUnionMember,
        Edit::AppendEnumerant,
        Edit::RemoveLastEnumerant,
    ]
}

/// What the table says of an edit from `B` to `E`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Expect {
    /// `B → E` is breaking.
    forward: bool,
    /// `E → B` is breaking.
    backward: bool,
    /// A reader of `B` misreads `E`'s data (a consumer compiled with `B`
    /// refuses `E`'s blobs).
    conflict: bool,
    /// A reader of `E` misreads `B`'s data: as `conflict`, but for a map
    /// or set mark, which only its reader misreads.
    e_misreads: bool,
}

/// The hand-written table (see docs/schema-evolution.md).
fn table(edit: &Edit) -> Expect {
    let (forward, backward, conflict) = match edit {
        // Adding is safe; undoing it removes, which is breaking.
        Edit::AddField(_) | Edit::AddType | Edit::AppendUnionMember | Edit::AppendEnumerant => {
            (false, true, false)
        }
        Edit::RemoveLastField | Edit::RemoveLastEnumerant => (true, false, false),
        Edit::Rename(_) => (false, false, false),
        Edit::Retype(..) | Edit::SwapOrdinals(..) | Edit::SwapUnionMembers(..) => {
            (true, true, true)
        }
        // A reader of the set binary-searches `B`'s unsorted lists; a
        // reader of the plain list reads the set's elements right.
        Edit::MarkSet(_) => {
            return Expect {
                forward: true,
                backward: true,
                conflict: false,
                e_misreads: true,
            }
        }
    };
    Expect {
        forward,
        backward,
        conflict,
        e_misreads: conflict,
    }
}

fn max_ordinal(fields: &[Field]) -> Option<u16> {
    fields
        .iter()
        .filter_map(|f| match &f.kind {
            FieldKind::Slot(s) => Some(s.ordinal),
            FieldKind::Group(g) => max_ordinal(&g.fields),
            FieldKind::Union(u) => max_ordinal(&u.variants),
        })
        .max()
}

fn struct_max_ordinal(s: &StructType) -> u16 {
    let mut m = max_ordinal(&s.fields);
    if let Some(u) = &s.unnamed_union {
        m = m.max(max_ordinal(&u.variants));
    }
    m.unwrap_or(0)
}

/// Every union of a struct (named ones, at any depth, and the unnamed one).
fn unions(s: &mut StructType) -> Vec<&mut Union> {
    fn walk<'a>(fields: &'a mut [Field], out: &mut Vec<&'a mut Union>) {
        for f in fields {
            match &mut f.kind {
                FieldKind::Slot(_) => {}
                FieldKind::Group(g) => walk(&mut g.fields, out),
                FieldKind::Union(u) => {
                    walk(&mut u.variants[..], &mut Vec::new());
                    out.push(u);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&mut s.fields, &mut out);
    if let Some(u) = &mut s.unnamed_union {
        out.push(u);
    }
    out
}

/// The top-level value fields (not groups or unions) of a struct.
fn slots(s: &StructType) -> Vec<usize> {
    (0..s.fields.len())
        .filter(|&i| matches!(s.fields[i].kind, FieldKind::Slot(_)))
        .collect()
}

/// Applies `edit` to `record` in `schema` (`enum_name` is an enum the
/// record uses); `None` when the edit does not apply to this schema.
fn apply(schema: &Schema, record: &str, enum_name: Option<&str>, edit: &Edit) -> Option<Schema> {
    let mut out = schema.clone();
    let next = struct_max_ordinal(out.get_struct(record)?) + 1;
    let pos = out.types.iter().position(|t| t.name() == record)?;
    let TypeDef::Struct(s) = &mut out.types[pos] else {
        return None;
    };
    match edit {
        Edit::AddField(ty) => s.fields.push(Field::slot("addedField", next, ty.clone())),
        Edit::AddType => {
            let mut extra = StructType::new("AddedRecord");
            extra.is_record = true;
            extra.fields.push(Field::slot("id", 0, Type::UInt64));
            out.insert(TypeDef::Struct(extra));
        }
        Edit::RemoveLastField => {
            let last = s
                .fields
                .iter()
                .rposition(|f| matches!(&f.kind, FieldKind::Slot(x) if x.ordinal + 1 == next))?;
            s.fields.remove(last);
        }
        Edit::Retype(n, ty) => {
            let i = *slots(s).get(n % slots(s).len().max(1))?;
            let FieldKind::Slot(slot) = &mut s.fields[i].kind else {
                return None;
            };
            if slot.ty == *ty {
                return None;
            }
            slot.ty = ty.clone();
        }
        Edit::SwapOrdinals(a, b) => {
            let sl = slots(s);
            let (i, j) = (*sl.get(a % sl.len().max(1))?, *sl.get(b % sl.len().max(1))?);
            if i == j {
                return None;
            }
            let oi = s.fields[i].as_slot()?.ordinal;
            let oj = s.fields[j].as_slot()?.ordinal;
            for (k, o) in [(i, oj), (j, oi)] {
                if let FieldKind::Slot(x) = &mut s.fields[k].kind {
                    x.ordinal = o;
                }
            }
        }
        Edit::Rename(n) => {
            let i = *slots(s).get(n % slots(s).len().max(1))?;
            s.fields[i].name = format!("{}Renamed", s.fields[i].name);
        }
        Edit::SwapUnionMembers(a, b) => {
            let mut us = unions(s);
            let u = us.first_mut()?;
            let n = u.variants.len();
            let (i, j) = (a % n, b % n);
            if i == j {
                return None;
            }
            // The members keep their places (ordinals, offsets); their
            // names and contents trade discriminant values.
            let (vi, vj) = (u.variants[i].clone(), u.variants[j].clone());
            let swap_into = |into: &mut Field, from: &Field| {
                into.name = from.name.clone();
                if let (FieldKind::Slot(x), FieldKind::Slot(y)) = (&mut into.kind, &from.kind) {
                    x.ty = y.ty.clone();
                } else {
                    return false;
                }
                true
            };
            if !swap_into(&mut u.variants[i], &vj) || !swap_into(&mut u.variants[j], &vi) {
                return None;
            }
            if u.variants[i] == vi {
                return None;
            }
        }
        Edit::MarkSet(n) => {
            let lists: Vec<usize> = slots(s)
                .into_iter()
                .filter(|&i| {
                    s.fields[i]
                        .as_slot()
                        .is_some_and(|x| matches!(x.ty, Type::List(_)) && x.collection.is_none())
                })
                .collect();
            let i = *lists.get(n % lists.len().max(1))?;
            let FieldKind::Slot(slot) = &mut s.fields[i].kind else {
                return None;
            };
            slot.collection = Some(Collection::Set);
        }
        Edit::AppendUnionMember => {
            let mut us = unions(s);
            let u = us.first_mut()?;
            u.variants
                .push(Field::slot("appendedMember", next, Type::UInt32));
        }
        Edit::AppendEnumerant | Edit::RemoveLastEnumerant => {
            let e = enum_name?;
            let pos = out.types.iter().position(|t| t.name() == e)?;
            let TypeDef::Enum(en) = &mut out.types[pos] else {
                return None;
            };
            if matches!(edit, Edit::AppendEnumerant) {
                en.enumerants.push(Enumerant {
                    name: "appended".into(),
                    doc: None,
                });
            } else {
                if en.enumerants.len() < 2 {
                    return None;
                }
                en.enumerants.pop();
            }
        }
    }
    hollow_schema::assign_layout(&mut out).ok()?;
    hollow_schema::validate(&out).ok()?;
    Some(out)
}

fn value_type() -> impl Strategy<Value = Type> {
    prop_oneof![
        Just(Type::Bool),
        Just(Type::Int8),
        Just(Type::UInt16),
        Just(Type::Int32),
        Just(Type::UInt64),
        Just(Type::Float64),
        Just(Type::Text),
        Just(Type::Data),
        Just(Type::List(Box::new(Type::UInt32))),
        Just(Type::List(Box::new(Type::Text))),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        value_type().prop_map(Edit::AddField),
        Just(Edit::AddType),
        Just(Edit::RemoveLastField),
        (0..16usize, value_type()).prop_map(|(n, t)| Edit::Retype(n, t)),
        (0..16usize, 0..16usize).prop_map(|(a, b)| Edit::SwapOrdinals(a, b)),
        (0..16usize).prop_map(Edit::Rename),
        (0..8usize, 0..8usize).prop_map(|(a, b)| Edit::SwapUnionMembers(a, b)),
        Just(Edit::AppendUnionMember),
        Just(Edit::AppendEnumerant),
        Just(Edit::RemoveLastEnumerant),
    ]
}

/// The schemas the edits start from: compiled record types with unions,
/// groups, nested structs, enums and lists.
fn bases() -> Vec<(Schema, &'static str, Option<&'static str>)> {
    use hollow_runtime::Struct;
    vec![
        (
            hollow_tests::AllTypes::schema().clone(),
            "AllTypes",
            Some("Color"),
        ),
        (hollow_tests::Event::schema().clone(), "Event", None),
        (hollow_tests::Movie::schema().clone(), "Movie", None),
    ]
}

/// The rule set agrees with the table, both ways round.
fn rules_agree(b: &Schema, e: &Schema, record: &str, expect: Expect) -> Result<(), TestCaseError> {
    let forward = evolution::diff(b, e);
    let backward = evolution::diff(e, b);
    prop_assert_eq!(forward.is_breaking(), expect.forward, "B → E:\n{}", forward);
    prop_assert_eq!(
        backward.is_breaking(),
        expect.backward,
        "E → B:\n{}",
        backward
    );
    prop_assert_eq!(
        forward.conflicts().next().is_some(),
        expect.e_misreads,
        "{}",
        forward
    );
    prop_assert_eq!(
        backward.conflicts().next().is_some(),
        expect.conflict,
        "{}",
        backward
    );
    // A consumer compiled with B reading E's blobs sees the same conflicts.
    let reader = evolution::diff_reachable(e, b, &[record]);
    prop_assert_eq!(
        reader.conflicts().next().is_some(),
        expect.conflict,
        "{}",
        reader
    );
    // A removal seen from the reader's side is absent data, never a conflict.
    prop_assert!(reader
        .changes
        .iter()
        .all(|c| c.kind != ChangeKind::TypeAdded));
    Ok(())
}

/// The canonical record `record` cut to `size`: the data words and
/// pointers past it dropped, which is the record as a reader of a schema
/// with those sections sees it. Unchanged when it fits.
fn cut_to(record: &[u8], size: hollow_schema::StructSize) -> Vec<u8> {
    use hollow_tests::crafted::word;
    let root = word(record, 0);
    let (dw, pc) = ((root >> 32) as u16, (root >> 48) as u16);
    if dw <= size.data_words && pc <= size.pointers {
        return record.to_vec();
    }
    let (kept_dw, kept_pc) = (dw.min(size.data_words), pc.min(size.pointers));
    let mut message = ((kept_dw as u64) << 32 | (kept_pc as u64) << 48)
        .to_le_bytes()
        .to_vec();
    message.extend_from_slice(&record[8..8 + kept_dw as usize * 8]);
    // The objects after the root struct move up by the words dropped; a
    // kept pointer moves up by the data words dropped, so its offset
    // shrinks by the pointers dropped.
    for j in 0..kept_pc as usize {
        let w = word(record, 1 + dw as usize + j);
        let moved = if w == 0 {
            0
        } else {
            let offset = (w as u32 as i32) >> 2;
            let offset = offset - (pc - kept_pc) as i32;
            (w & !0xFFFF_FFFC) | ((offset as u32) << 2) as u64
        };
        message.extend_from_slice(&moved.to_le_bytes());
    }
    message.extend_from_slice(&record[(1 + dw as usize + pc as usize) * 8..]);
    let mut out = Vec::new();
    hollow_runtime::wire::canonicalize(&message, &mut out).unwrap();
    out
}

/// Publishes a dataset in schema `e` to a directory store at `dir`: the
/// records of `T` a producer compiled with `T` wrote (ids 1..=3), laid out
/// at `e`'s section sizes (cut to them where `e`'s are smaller, see
/// [`cut_to`]), every other record type of `e` empty, as version 1,
/// announced.
fn publish_as<T: Indexed>(dir: &Path, e: &Schema, with_id: impl Fn(u64) -> T) {
    use hollow_runtime::blob::{snapshot_section, BlobKind, BlobView, BlobWriter, SectionInfo};
    use hollow_runtime::store::{Announcer, BlobName, BlobStore};
    let rt = dataset::runtime();
    // The records, as a producer of `T` writes them.
    let first = tempfile::tempdir().unwrap();
    let mut p = Producer::builder(
        Arc::new(FsBlobStore::new(first.path()).unwrap()),
        Arc::new(FileAnnouncer::new(first.path()).unwrap()),
    )
    // Plain, to read the snapshot file below as written.
    .compression(Compression::None)
    .record_type::<T>()
    .build();
    rt.block_on(p.run_cycle(|w| (1..=3).try_for_each(|id| w.add(&with_id(id)))))
        .unwrap();
    let written = std::fs::read(first.path().join("snapshot-1")).unwrap();
    let view = BlobView::open("snapshot-1", &written).unwrap();
    let section = view.section(T::TYPE_NAME).unwrap().snapshot().unwrap();
    let records: Vec<(u32, Vec<u8>)> = section
        .ordinals()
        .map(|o| {
            let mut bytes = Vec::new();
            section.canonical_bytes(o, &mut bytes).unwrap();
            (o, bytes)
        })
        .collect();
    let in_e = e
        .records()
        .find(|r| r.name == T::TYPE_NAME)
        .expect("the edited schema keeps the record type");
    let records: Vec<(u32, Vec<u8>)> = records
        .into_iter()
        .map(|(o, bytes)| (o, cut_to(&bytes, in_e.size)))
        .collect();
    // The same records under schema `e`.
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 0x5EED);
    for record in e.records() {
        let mine: &[(u32, Vec<u8>)] = if record.name == T::TYPE_NAME {
            &records
        } else {
            &[]
        };
        let limit = mine.iter().map(|(o, _)| o + 1).max().unwrap_or(0);
        let mut populated = vec![0u64; limit.div_ceil(64) as usize];
        let mut checksum = 0u64;
        for (o, bytes) in mine {
            populated[*o as usize / 64] |= 1 << (o % 64);
            checksum = checksum.wrapping_add(hollow_tests::crafted::state_mix(
                *o,
                hollow_runtime::hash_bytes(bytes),
            ));
        }
        let bytes = snapshot_section(
            record.size,
            limit,
            &populated,
            mine.iter().map(|(o, b)| (*o, b.as_slice())),
        )
        .unwrap();
        w.add_section(
            SectionInfo {
                type_name: record.name.clone(),
                record_count: mine.len() as u32,
                ordinal_limit: limit,
                state_count: mine.len() as u32,
                state_checksum: checksum,
                ..SectionInfo::default()
            },
            bytes,
        );
    }
    let blob = w.finish(e, &[]).unwrap();
    let store = FsBlobStore::new(dir).unwrap();
    let announcer = FileAnnouncer::new(dir).unwrap();
    rt.block_on(async {
        store.put(BlobName::Snapshot(1), &blob).await.unwrap();
        announcer.announce(1, None).await.unwrap();
    });
}

/// The producer check, run for real: a producer compiled with `T`
/// restores the store written with `E` (refused exactly when `E → B` is
/// breaking, with `ErrorKind::Schema`), and the library function agrees.
/// A record type only `E` has is no removal here: the producer carries
/// types it does not declare over unchanged.
fn producer_agrees<T: Indexed>(dir: &Path, e: &Schema, edit: &Edit) {
    let refused = table(edit).backward && !matches!(edit, Edit::AddType);
    let rt = dataset::runtime();
    let store = Arc::new(FsBlobStore::new(dir).unwrap());
    let announcer = Arc::new(FileAnnouncer::new(dir).unwrap());
    let mut p = Producer::builder(store, announcer)
        .record_type::<T>()
        .build();
    match rt.block_on(p.restore_latest()) {
        Ok(v) => assert!(
            !refused && v == Some(1),
            "{edit:?}: restore of a breaking change succeeded: {v:?}"
        ),
        Err(err) => {
            assert!(
                refused,
                "{edit:?}: restore refused a compatible change: {err}"
            );
            assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
        }
    }
    assert_eq!(check_continuation(e, T::schema(), 1).is_err(), refused);
}

/// The consumer check, run for real: a consumer compiled with `T` refuses
/// the store written with `E` exactly on a conflict, with
/// `ErrorKind::Schema`, and holds no version then; `try_records` on a
/// state read without the check agrees.
fn consumer_agrees<T: Indexed>(dir: &Path, edit: &Edit) {
    let conflict = table(edit).conflict;
    let rt = dataset::runtime();
    let cache = tempfile::tempdir().unwrap();
    let consumer = |checked: bool, name: &str| {
        let builder = hollow_runtime::Consumer::builder(
            Arc::new(FsBlobStore::new(dir).unwrap()),
            Arc::new(FileAnnouncer::new(dir).unwrap()),
        )
        .cache_dir(cache.path().join(name));
        let builder = if checked {
            builder.check_type::<T>()
        } else {
            builder
        };
        builder.build().unwrap()
    };
    let checked = consumer(true, "checked");
    match rt.block_on(checked.refresh()) {
        Ok(v) => {
            assert!(!conflict, "{edit:?}: a conflicting blob was loaded");
            assert_eq!(v, Some(1));
            let state = checked.current().unwrap();
            assert_eq!(state.records::<T>().len(), 3, "{edit:?}");
        }
        Err(err) => {
            assert!(conflict, "{edit:?}: a compatible blob was refused: {err}");
            assert_eq!(err.kind(), ErrorKind::Schema, "{err}");
            assert!(err.to_string().contains(T::TYPE_NAME), "{err}");
            assert!(checked.current().is_none());
        }
    }
    // Read without registering the type: the state loads, and the typed
    // read reports the same verdict.
    let unchecked = consumer(false, "unchecked");
    assert_eq!(rt.block_on(unchecked.refresh()).unwrap(), Some(1));
    let state = unchecked.current().unwrap();
    assert_eq!(state.try_records::<T>().is_err(), conflict, "{edit:?}");
}

/// `hollow schema-diff OLD NEW`'s exit code.
fn schema_diff(old: &str, new: &str) -> i32 {
    let out = assert_cmd::Command::cargo_bin("hollow")
        .unwrap()
        .args(["schema-diff", old, new])
        .output()
        .unwrap();
    out.status.code().unwrap_or(-1)
}

/// The CLI, run for real on `.capnp` text of both schemas and on the store
/// written with `E` (when `dir` is one): exit code 3 exactly when the table
/// says breaking (the store's side is `E` as it stands: a type only it has
/// is removed in `B.capnp`).
fn cli_agrees(dir: Option<&Path>, b: &Schema, e: &Schema, edit: &Edit) {
    let expect = table(edit);
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, schema: &Schema| {
        let path = files.path().join(name);
        let text = hollow_schema::to_capnp(schema, hollow_schema::file_id_for(name));
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (bf, ef) = (write("b.capnp", b), write("e.capnp", e));
    let code = |breaking: bool| if breaking { 3 } else { 0 };
    assert_eq!(
        schema_diff(&bf, &ef),
        code(expect.forward),
        "{edit:?}: B → E"
    );
    assert_eq!(
        schema_diff(&ef, &bf),
        code(expect.backward),
        "{edit:?}: E → B"
    );
    if let Some(dir) = dir {
        let store = dir.to_str().unwrap();
        assert_eq!(
            schema_diff(store, &bf),
            code(expect.backward),
            "{edit:?}: store → B"
        );
    }
}

/// Every leg for one edit of `T`'s schema.
fn all_agree<T: Indexed>(edit: &Edit, en: Option<&str>, with_id: impl Fn(u64) -> T) {
    let b = T::schema().clone();
    let Some(e) = apply(&b, T::TYPE_NAME, en, edit) else {
        return;
    };
    let expect = table(edit);
    rules_agree(&b, &e, T::TYPE_NAME, expect)
        .unwrap_or_else(|err| panic!("{edit:?} on {}: {err}", T::TYPE_NAME));
    let dir = tempfile::tempdir().unwrap();
    publish_as(dir.path(), &e, &with_id);
    producer_agrees::<T>(dir.path(), &e, edit);
    consumer_agrees::<T>(dir.path(), edit);
    cli_agrees(Some(dir.path()), &b, &e, edit);
}

fn all_types(id: u64) -> hollow_tests::AllTypes {
    hollow_tests::AllTypes {
        id,
        ..Default::default()
    }
}

fn event(id: u64) -> hollow_tests::Event {
    hollow_tests::Event {
        id,
        ..Default::default()
    }
}

fn movie(id: u64) -> hollow_tests::Movie {
    dataset::movie(id, 0)
}

/// Every leg agrees for each row of the table, on each base type.
#[test]
fn the_checks_agree_on_published_datasets() {
    for edit in &table_rows() {
        all_agree(edit, Some("Color"), all_types);
        all_agree(edit, None, event);
        all_agree(edit, None, movie);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn the_rules_agree_with_the_table(which in 0..3usize, edit in edit()) {
        let (b, record, en) = bases().swap_remove(which);
        let Some(e) = apply(&b, record, en, &edit) else {
            return Ok(());
        };
        rules_agree(&b, &e, record, table(&edit))?;
    }
}

proptest! {
    // Each case publishes a store, restores it and runs the CLI thrice.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_checks_agree_on_random_edits(which in 0..3usize, edit in edit()) {
        match which {
            0 => all_agree(&edit, Some("Color"), all_types),
            1 => all_agree(&edit, None, event),
            _ => all_agree(&edit, None, movie),
        }
    }
}

/// Every kind of edit applies to at least one base (so the property test
/// above exercises each row of the table), and the rules agree on each.
#[test]
fn every_edit_of_the_table_is_exercised() {
    for edit in &table_rows() {
        let mut applied = 0;
        for (b, record, en) in bases() {
            if let Some(e) = apply(&b, record, en, edit) {
                applied += 1;
                rules_agree(&b, &e, record, table(edit))
                    .unwrap_or_else(|err| panic!("{edit:?} on {record}: {err}"));
            }
        }
        assert!(applied > 0, "{edit:?} applies to no base schema");
    }
}

/// A list field marked as a set: breaking both ways, and misread only by a
/// reader of the set; the rule set, the consumer's view of it and
/// `hollow schema-diff` on `.capnp` files agree with the table.
#[test]
fn a_list_marked_as_a_set_agrees_with_the_table() {
    let mut applied = 0;
    for n in 0..4 {
        let edit = Edit::MarkSet(n);
        for (b, record, en) in bases() {
            if let Some(e) = apply(&b, record, en, &edit) {
                applied += 1;
                rules_agree(&b, &e, record, table(&edit))
                    .unwrap_or_else(|err| panic!("{edit:?} on {record}: {err}"));
                cli_agrees(None, &b, &e, &edit);
            }
        }
    }
    assert!(applied > 0, "no base has a list of a set's element type");
}

/// Edits that shrink a record type's sections below what the records
/// written with `B` use (a data field made a pointer, the last field
/// removed): the records are published cut to `E`'s sections, as a reader
/// of `E` sees them, and every leg still agrees.
#[test]
fn records_larger_than_the_edited_sections_are_cut_to_them() {
    use hollow_runtime::Struct;
    let movie_schema = hollow_tests::Movie::schema();
    let movie_size = movie_schema
        .records()
        .find(|r| r.name == "Movie")
        .unwrap()
        .size;
    let mut shrunk = 0;
    for n in 0..16 {
        for edit in [Edit::Retype(n, Type::Text), Edit::Retype(n, Type::Bool)] {
            if let Some(e) = apply(movie_schema, "Movie", None, &edit) {
                let size = e.records().find(|r| r.name == "Movie").unwrap().size;
                if size.data_words < movie_size.data_words || size.pointers < movie_size.pointers {
                    shrunk += 1;
                    all_agree(&edit, None, movie);
                }
            }
        }
    }
    all_agree(&Edit::RemoveLastField, None, movie);
    assert!(shrunk > 0, "no edit shrank Movie's sections");
}
