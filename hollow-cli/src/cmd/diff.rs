//! `hollow diff`: what changed between two versions.
//!
//! When a chain of deltas (each with its reverse delta) joins the two
//! versions, the diff is computed from them alone: a delta's added records
//! are the new versions of records, its reverse delta's added records are
//! the old versions of the ones it removed (at the same ordinals), so the
//! cost follows the size of the change, not of the dataset. Changes along a
//! chain are composed per primary key (a record changed twice is reported
//! once, from its first to its last value; one added and removed again not
//! at all). Without such a chain the two versions are loaded whole and
//! joined by key.

use std::collections::HashMap;

use hollow_runtime::blob::BlobView;
use hollow_runtime::dynamic::{DynType, DynamicSchema, FieldChange, KeyValue};
use hollow_runtime::store::BlobName;
use hollow_runtime::wire::{canonicalize_struct, StructReader};
use serde_json::{json, Value};

use crate::cmd::{record_type, write, write_json};
use crate::error::CliError;
use crate::store::Store;
use crate::version::{delta_chain, owned_record, Loaded};

/// How records are matched across versions: by primary key, or for a type
/// without one by content (such a record is a value: it is either there or
/// not, never "modified"; an equal record removed and added again cancels).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MatchKey {
    Key(KeyValue),
    /// The record's canonical bytes, and for messages its ordinal where
    /// first seen (not part of the identity).
    Record(Vec<u8>, Shown),
}

/// An ordinal shown in messages, equal to any other.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shown(u32);

impl PartialEq for Shown {
    fn eq(&self, _: &Shown) -> bool {
        true
    }
}
impl Eq for Shown {}
impl std::hash::Hash for Shown {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl MatchKey {
    fn of(
        schema: &DynamicSchema,
        t: DynType,
        o: u32,
        r: StructReader<'_>,
    ) -> Result<Self, CliError> {
        Ok(match schema.record(t, r).key()? {
            Some(k) => MatchKey::Key(k),
            None => MatchKey::Record(owned_record(&r)?, Shown(o)),
        })
    }

    fn to_json(&self) -> Value {
        match self {
            MatchKey::Key(k) => k.to_json(),
            MatchKey::Record(..) => Value::Null,
        }
    }

    fn show(&self) -> String {
        match self {
            MatchKey::Key(k) => k.to_string(),
            MatchKey::Record(_, Shown(o)) => format!("ordinal {o}"),
        }
    }
}

/// A record kept beyond its blob: ordinal and canonical bytes.
#[derive(Clone, Debug)]
pub(crate) struct Kept {
    pub(crate) ordinal: u32,
    pub(crate) bytes: Vec<u8>,
}

impl Kept {
    pub(crate) fn of(o: u32, r: &StructReader<'_>) -> Result<Kept, CliError> {
        Ok(Kept {
            ordinal: o,
            bytes: owned_record(r)?,
        })
    }

    pub(crate) fn reader(&self) -> Result<StructReader<'_>, CliError> {
        StructReader::root(&self.bytes).map_err(|e| CliError::new(format!("a kept record: {e}")))
    }
}

/// A record's change: present before and/or after.
#[derive(Debug, Default)]
struct Change {
    old: Option<Kept>,
    new: Option<Kept>,
}

/// Changes of one type, in the order keys were first seen.
#[derive(Debug, Default)]
struct Changes {
    order: Vec<MatchKey>,
    map: HashMap<MatchKey, Change>,
}

impl Changes {
    fn entry(&mut self, k: MatchKey) -> (&mut Change, bool) {
        let fresh = !self.map.contains_key(&k);
        if fresh {
            self.order.push(k.clone());
        }
        (self.map.entry(k).or_default(), fresh)
    }

    fn removed(&mut self, k: MatchKey, r: Kept) {
        match self.entry(k) {
            (c, true) => c.old = Some(r),
            (c, false) => c.new = None,
        }
    }

    fn added(&mut self, k: MatchKey, r: Kept) {
        self.entry(k).0.new = Some(r);
    }
}

/// The diff of one type.
struct TypeDiff {
    name: String,
    added: Vec<(MatchKey, u32, Value)>,
    removed: Vec<(MatchKey, u32, Value)>,
    modified: Vec<(MatchKey, u32, u32, Vec<FieldChange>)>,
}

impl TypeDiff {
    fn build(schema: &DynamicSchema, t: DynType, changes: Changes) -> Result<TypeDiff, CliError> {
        let mut d = TypeDiff {
            name: schema.type_name(t).to_owned(),
            added: Vec::new(),
            removed: Vec::new(),
            modified: Vec::new(),
        };
        let mut map = changes.map;
        for k in changes.order {
            let Some(c) = map.remove(&k) else { continue };
            match (c.old, c.new) {
                (None, Some(n)) => {
                    let v = schema.record(t, n.reader()?).to_json()?;
                    d.added.push((k, n.ordinal, v));
                }
                (Some(o), None) => {
                    let v = schema.record(t, o.reader()?).to_json()?;
                    d.removed.push((k, o.ordinal, v));
                }
                (Some(o), Some(n)) => {
                    if o.bytes == n.bytes {
                        continue;
                    }
                    let changes = schema
                        .record(t, o.reader()?)
                        .compare(&schema.record(t, n.reader()?))?;
                    d.modified.push((k, o.ordinal, n.ordinal, changes));
                }
                (None, None) => {}
            }
        }
        Ok(d)
    }

    /// The same diff seen from the other end.
    fn invert(self) -> TypeDiff {
        TypeDiff {
            name: self.name,
            added: self.removed,
            removed: self.added,
            modified: self
                .modified
                .into_iter()
                .map(|(k, a, b, ch)| {
                    let ch = ch
                        .into_iter()
                        .map(|c| FieldChange {
                            path: c.path,
                            old: c.new,
                            new: c.old,
                        })
                        .collect();
                    (k, b, a, ch)
                })
                .collect(),
        }
    }

    fn to_json(&self) -> Value {
        let side = |v: &[(MatchKey, u32, Value)]| -> Vec<Value> {
            v.iter()
                .map(|(k, o, r)| json!({"key": k.to_json(), "ordinal": o, "record": r}))
                .collect()
        };
        json!({
            "type": self.name,
            "added": side(&self.added),
            "removed": side(&self.removed),
            "modified": self.modified.iter().map(|(k, a, b, ch)| json!({
                "key": k.to_json(),
                "old_ordinal": a,
                "new_ordinal": b,
                "changes": ch.iter().map(FieldChange::to_json).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })
    }
}

/// Shows a change's value for people: JSON, `(unset)` when absent.
pub(crate) fn show_value(v: &Option<Value>) -> String {
    match v {
        Some(v) => v.to_string(),
        None => "(unset)".to_owned(),
    }
}

/// `path old → new` for each change, joined.
pub(crate) fn show_changes(ch: &[FieldChange]) -> String {
    ch.iter()
        .map(|c| {
            format!(
                "{}: {} → {}",
                c.path,
                show_value(&c.old),
                show_value(&c.new)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The types to diff.
fn types(schema: &DynamicSchema, only: Option<&str>, v: u64) -> Result<Vec<DynType>, CliError> {
    match only {
        Some(n) => Ok(vec![record_type(schema, n, v)?]),
        None => schema
            .record_types()
            .map(|n| schema.record_type(n).map_err(CliError::from))
            .collect(),
    }
}

/// The diff along a chain of deltas, from their sections alone.
fn by_deltas(
    store: &Store,
    chain: &[BlobName],
    only: Option<&str>,
) -> Result<Vec<TypeDiff>, CliError> {
    let mut maps = Vec::with_capacity(chain.len());
    for &step in chain {
        let BlobName::Delta { from, to } = step else {
            return Err(CliError::new(format!("{step} is not a delta")));
        };
        let reverse = BlobName::ReverseDelta { from: to, to: from };
        maps.push((step, store.map(step)?, reverse, store.map(reverse)?));
    }
    let mut views = Vec::with_capacity(maps.len());
    for (d, dm, r, rm) in &maps {
        views.push((
            BlobView::open(&d.to_string(), dm)?,
            BlobView::open(&r.to_string(), rm)?,
        ));
    }
    let last = views
        .last()
        .ok_or_else(|| CliError::new("an empty delta chain"))?;
    let schema = DynamicSchema::new(&last.0.header().schema)?;
    let to = chain.last().map_or(0, BlobName::to_version);
    let mut out = Vec::new();
    for t in types(&schema, only, to)? {
        let name = schema.type_name(t);
        let mut changes = Changes::default();
        for (dv, rv) in &views {
            // Every section of the type: its only one, or its shards.
            let added = dv
                .shards(name)
                .map(|s| s.delta())
                .collect::<Result<Vec<_>, _>>()?;
            let removed = rv
                .shards(name)
                .map(|s| s.delta())
                .collect::<Result<Vec<_>, _>>()?;
            // The reverse delta re-adds exactly what the delta removed.
            let mut want: Vec<u32> = added.iter().flat_map(|a| a.removed()).collect();
            let mut have: Vec<u32> = removed
                .iter()
                .flat_map(|r| r.added().map(|(o, _)| o))
                .collect();
            want.sort_unstable();
            have.sort_unstable();
            if want != have {
                return Err(CliError::new(format!(
                    "blob {} does not restore the {name} records blob {} removes \
                     ({} removed, {} restored)",
                    rv.name(),
                    dv.name(),
                    want.len(),
                    have.len()
                )));
            }
            for r in &removed {
                for (o, rec) in r.added() {
                    changes.removed(MatchKey::of(&schema, t, o, rec)?, Kept::of(o, &rec)?);
                }
            }
            for a in &added {
                for (o, rec) in a.added() {
                    changes.added(MatchKey::of(&schema, t, o, rec)?, Kept::of(o, &rec)?);
                }
            }
        }
        out.push(TypeDiff::build(&schema, t, changes)?);
    }
    Ok(out)
}

/// The diff of two versions loaded whole, joined by key.
fn by_snapshots(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
) -> Result<Vec<TypeDiff>, CliError> {
    let (a, b) = (Loaded::load(store, from)?, Loaded::load(store, to)?);
    let (va, vb) = (a.view()?, b.view()?);
    let schema = DynamicSchema::new(vb.schema())?;
    let old_schema = DynamicSchema::new(va.schema())?;
    let mut out = Vec::new();
    for t in types(&schema, only, to)? {
        let name = schema.type_name(t);
        let ot = old_schema.record_type(name).ok();
        let mut old: HashMap<MatchKey, u32> = HashMap::new();
        if let Some(ot) = ot {
            for (o, r) in va.iter(name) {
                old.insert(MatchKey::of(&old_schema, ot, o, r)?, o);
            }
        }
        let mut changes = Changes::default();
        let (mut words_a, mut words_b) = (Vec::new(), Vec::new());
        let bad = |e| CliError::new(format!("a {name} record cannot be read: {e}"));
        for (o, r) in vb.iter(name) {
            let k = MatchKey::of(&schema, t, o, r)?;
            if let Some(oo) = old.remove(&k) {
                let Some(or) = va.get(name, oo) else { continue };
                // Canonical bytes compared in a reused buffer; copies are
                // kept only for the records that changed.
                canonicalize_struct(&or, &mut words_a).map_err(bad)?;
                canonicalize_struct(&r, &mut words_b).map_err(bad)?;
                if words_a != words_b {
                    changes.removed(k.clone(), Kept::of(oo, &or)?);
                    changes.added(k, Kept::of(o, &r)?);
                }
            } else {
                changes.added(k, Kept::of(o, &r)?);
            }
        }
        let mut gone: Vec<(MatchKey, u32)> = old.into_iter().collect();
        gone.sort_by_key(|(_, o)| *o);
        for (k, o) in gone {
            if let Some(r) = va.get(name, o) {
                changes.removed(k, Kept::of(o, &r)?);
            }
        }
        out.push(TypeDiff::build(&schema, t, changes)?);
    }
    Ok(out)
}

/// How [`run_with`] computes the diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Through the deltas when a chain joins the versions (what `hollow
    /// diff` does), else by loading both versions whole.
    Auto,
    /// Always by loading both versions whole and joining them by key (the
    /// baseline the benchmark compares the delta path with).
    Whole,
}

/// Runs the command.
///
/// # Errors
/// An unknown version or type, or a corrupt blob.
pub fn run(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    run_with(store, from, to, only, json, out, Method::Auto)
}

/// [`run`], choosing how the diff is computed.
///
/// # Errors
/// As [`run`].
pub fn run_with(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
    json: bool,
    out: &mut dyn std::io::Write,
    method: Method,
) -> Result<(), CliError> {
    let (method, diffs) = compute(store, from, to, only, method)?;
    if json {
        return write_json(out, &document(from, to, &method, &diffs));
    }
    let mut text = format!("diff {from} → {to} (through {method})\n");
    for d in &diffs {
        if d.added.is_empty() && d.removed.is_empty() && d.modified.is_empty() {
            text.push_str(&format!("{}: no changes\n", d.name));
            continue;
        }
        text.push_str(&format!(
            "{}: {} added, {} removed, {} modified\n",
            d.name,
            d.added.len(),
            d.removed.len(),
            d.modified.len()
        ));
        for (k, _, _) in &d.added {
            text.push_str(&format!("  + {}\n", k.show()));
        }
        for (k, _, _) in &d.removed {
            text.push_str(&format!("  - {}\n", k.show()));
        }
        for (k, _, _, ch) in &d.modified {
            text.push_str(&format!("  ~ {}: {}\n", k.show(), show_changes(ch)));
        }
    }
    write(out, &text)
}

/// The diff as the JSON document `--json` prints, without writing it (for
/// callers that keep the value, such as `hollow serve`).
///
/// # Errors
/// As [`run`].
pub fn json(store: &Store, from: u64, to: u64, only: Option<&str>) -> Result<Value, CliError> {
    let (method, diffs) = compute(store, from, to, only, Method::Auto)?;
    Ok(document(from, to, &method, &diffs))
}

fn document(from: u64, to: u64, method: &str, diffs: &[TypeDiff]) -> Value {
    json!({
        "from": from,
        "to": to,
        "through": method,
        "types": diffs.iter().map(TypeDiff::to_json).collect::<Vec<_>>(),
    })
}

/// How the diff was computed (for people), and each type's changes.
fn compute(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
    method: Method,
) -> Result<(String, Vec<TypeDiff>), CliError> {
    store.resolve_version(Some(from))?;
    store.resolve_version(Some(to))?;
    let (lo, hi) = (from.min(to), from.max(to));
    let chain = delta_chain(store, lo, hi).filter(|c| {
        method == Method::Auto
            && c.iter().all(|d| match *d {
                BlobName::Delta { from, to } => {
                    store.has(BlobName::ReverseDelta { from: to, to: from })
                }
                _ => false,
            })
    });
    let (method, mut diffs) = match &chain {
        Some(c) if !c.is_empty() => (
            c.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            by_deltas(store, c, only)?,
        ),
        _ if lo == hi => (
            "the same version".to_owned(),
            by_snapshots(store, lo, hi, only)?,
        ),
        _ => (
            format!("version {lo} and {hi} loaded whole"),
            by_snapshots(store, lo, hi, only)?,
        ),
    };
    if from > to {
        diffs = diffs.into_iter().map(TypeDiff::invert).collect();
    }
    Ok((method, diffs))
}
