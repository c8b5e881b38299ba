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

/// The diff of one type: the records as kept from the blobs, turned into
/// JSON (and compared field by field) only when shown, so showing a page
/// of a large diff costs the page.
struct TypeDiff {
    name: String,
    t: DynType,
    added: Vec<(MatchKey, Kept)>,
    removed: Vec<(MatchKey, Kept)>,
    /// The key, the old record and the new one.
    modified: Vec<(MatchKey, Kept, Kept)>,
}

impl TypeDiff {
    fn build(schema: &DynamicSchema, t: DynType, changes: Changes) -> TypeDiff {
        let mut d = TypeDiff {
            name: schema.type_name(t).to_owned(),
            t,
            added: Vec::new(),
            removed: Vec::new(),
            modified: Vec::new(),
        };
        let mut map = changes.map;
        for k in changes.order {
            let Some(c) = map.remove(&k) else { continue };
            match (c.old, c.new) {
                (None, Some(n)) => d.added.push((k, n)),
                (Some(o), None) => d.removed.push((k, o)),
                (Some(o), Some(n)) => {
                    if o.bytes != n.bytes {
                        d.modified.push((k, o, n));
                    }
                }
                (None, None) => {}
            }
        }
        d
    }

    /// The same diff seen from the other end.
    fn invert(self) -> TypeDiff {
        TypeDiff {
            name: self.name,
            t: self.t,
            added: self.removed,
            removed: self.added,
            modified: self
                .modified
                .into_iter()
                .map(|(k, a, b)| (k, b, a))
                .collect(),
        }
    }

    /// The field changes of a modified record, old to new.
    fn changes(
        &self,
        schema: &DynamicSchema,
        old: &Kept,
        new: &Kept,
    ) -> Result<Vec<FieldChange>, CliError> {
        Ok(schema
            .record(self.t, old.reader()?)
            .compare(&schema.record(self.t, new.reader()?))?)
    }

    /// The type's JSON (`--json`'s form) with each list cut to `range`
    /// (all of it when `None`; then without the `…_total` fields).
    fn to_json(&self, schema: &DynamicSchema, range: Option<Range>) -> Result<Value, CliError> {
        let cut = |len: usize| match range {
            Some(r) => r.skip.min(len)..r.skip.saturating_add(r.take).min(len),
            None => 0..len,
        };
        let side = |v: &[(MatchKey, Kept)]| -> Result<Vec<Value>, CliError> {
            v[cut(v.len())]
                .iter()
                .map(|(k, r)| {
                    Ok(json!({
                        "key": k.to_json(),
                        "ordinal": r.ordinal,
                        "record": schema.record(self.t, r.reader()?).to_json()?,
                    }))
                })
                .collect()
        };
        let modified = self.modified[cut(self.modified.len())]
            .iter()
            .map(|(k, a, b)| {
                let ch = self.changes(schema, a, b)?;
                Ok(json!({
                    "key": k.to_json(),
                    "old_ordinal": a.ordinal,
                    "new_ordinal": b.ordinal,
                    "changes": ch.iter().map(FieldChange::to_json).collect::<Vec<_>>(),
                }))
            })
            .collect::<Result<Vec<_>, CliError>>()?;
        let mut doc = json!({
            "type": self.name,
            "added": side(&self.added)?,
            "removed": side(&self.removed)?,
            "modified": modified,
        });
        if range.is_some() {
            doc["added_total"] = json!(self.added.len());
            doc["removed_total"] = json!(self.removed.len());
            doc["modified_total"] = json!(self.modified.len());
        }
        Ok(doc)
    }
}

/// Which entries of each list of a [`Diff`] to show: `take` of them from
/// the `skip`th.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// How many entries of each list to pass over.
    pub skip: usize,
    /// How many to show after them.
    pub take: usize,
}

/// The diff of two versions, computed once: each type's added, removed and
/// modified records, kept as their bytes. [`Diff::to_json`] shows all of it
/// (what `hollow diff --json` prints) or one page of it (what `hollow
/// serve` shows), turning only the records shown into JSON.
pub struct Diff {
    from: u64,
    to: u64,
    through: String,
    schema: DynamicSchema,
    types: Vec<TypeDiff>,
}

impl std::fmt::Debug for Diff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Diff")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("through", &self.through)
            .field("types", &self.types.len())
            .finish()
    }
}

impl Diff {
    /// The diff as a JSON document: `from`, `to`, `through` (how it was
    /// computed) and per type its `added`, `removed` and `modified` lists.
    /// With a `range`, each list is cut to it and each type also gives its
    /// lists' whole lengths (`added_total`, `removed_total`,
    /// `modified_total`).
    ///
    /// # Errors
    /// A kept record that cannot be read (a corrupt blob).
    pub fn to_json(&self, range: Option<Range>) -> Result<Value, CliError> {
        Ok(json!({
            "from": self.from,
            "to": self.to,
            "through": self.through,
            "types": self
                .types
                .iter()
                .map(|t| t.to_json(&self.schema, range))
                .collect::<Result<Vec<_>, _>>()?,
        }))
    }

    /// The diff for people: per type its counts and one line per change.
    fn to_text(&self) -> Result<String, CliError> {
        let (from, to) = (self.from, self.to);
        let mut text = format!("diff {from} → {to} (through {})\n", self.through);
        for d in &self.types {
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
            for (k, _) in &d.added {
                text.push_str(&format!("  + {}\n", k.show()));
            }
            for (k, _) in &d.removed {
                text.push_str(&format!("  - {}\n", k.show()));
            }
            for (k, a, b) in &d.modified {
                let ch = d.changes(&self.schema, a, b)?;
                text.push_str(&format!("  ~ {}: {}\n", k.show(), show_changes(&ch)));
            }
        }
        Ok(text)
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
) -> Result<(DynamicSchema, Vec<TypeDiff>), CliError> {
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
        out.push(TypeDiff::build(&schema, t, changes));
    }
    Ok((schema, out))
}

/// The diff of two versions loaded whole, joined by key.
fn by_snapshots(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
) -> Result<(DynamicSchema, Vec<TypeDiff>), CliError> {
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
        out.push(TypeDiff::build(&schema, t, changes));
    }
    Ok((schema, out))
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
    let diff = compute_with(store, from, to, only, method)?;
    if json {
        return write_json(out, &diff.to_json(None)?);
    }
    write(out, &diff.to_text()?)
}

/// The diff of versions `from` and `to` (of type `only`, or of every
/// record type), computed as `hollow diff` does: through the deltas when a
/// chain of them (each with its reverse delta) joins the versions, else by
/// loading both whole. Kept by callers that show it in parts, such as
/// `hollow serve`.
///
/// # Errors
/// As [`run`].
pub fn compute(store: &Store, from: u64, to: u64, only: Option<&str>) -> Result<Diff, CliError> {
    compute_with(store, from, to, only, Method::Auto)
}

/// [`compute`], choosing how.
fn compute_with(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
    method: Method,
) -> Result<Diff, CliError> {
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
    let (through, (schema, mut types)) = match &chain {
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
        types = types.into_iter().map(TypeDiff::invert).collect();
    }
    Ok(Diff {
        from,
        to,
        through,
        schema,
        types,
    })
}
