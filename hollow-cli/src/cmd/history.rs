//! `hollow history`: every version in which one record changed.
//!
//! The record is looked up by key once, in the oldest snapshot; from there
//! each delta is checked for it: is its ordinal among the removed, is its
//! key among the added? So the walk costs one lookup plus the size of the
//! changes, not a scan of every version. Where two versions have no delta
//! between them, the later one's snapshot is searched instead. Each event
//! carries its version's status against the announcement, so a change in
//! a version consumers do not read (newer than the announced one) is marked
//! unannounced.

use hollow_runtime::blob::BlobView;
use hollow_runtime::dynamic::{DynType, DynamicSchema, FieldChange, KeyValue};
use hollow_runtime::store::BlobName;
use serde_json::{json, Value};

use crate::cmd::diff::{show_changes, Kept};
use crate::cmd::{record_type, write, write_json, VersionStatus};
use crate::error::CliError;
use crate::lookup::find_by_key;
use crate::store::{list_versions, Store};
use crate::version::Loaded;

/// What happened to the record at one version.
#[derive(Debug)]
enum Event {
    /// Present in the oldest version the store holds.
    Present(Kept),
    Added(Kept),
    Modified(Kept, Vec<FieldChange>),
    Removed,
}

/// Looks the key up in the snapshot of `version`.
fn find_in_snapshot(
    store: &Store,
    version: u64,
    type_name: &str,
    key_text: &str,
) -> Result<(DynamicSchema, DynType, KeyValue, Option<Kept>), CliError> {
    let loaded = Loaded::load(store, version)?;
    let view = loaded.view()?;
    let schema = DynamicSchema::new(view.schema())?;
    let t = record_type(&schema, type_name, version)?;
    let key = schema.parse_key(t, key_text)?;
    let found = match find_by_key(&view, &schema, t, &key)? {
        Some(o) => match view.get(type_name, o) {
            Some(r) => Some(Kept::of(o, &r)?),
            None => None,
        },
        None => None,
    };
    Ok((schema, t, key, found))
}

/// Runs the command.
///
/// # Errors
/// An unknown type or key, or a corrupt blob.
pub fn run(
    store: &Store,
    type_name: &str,
    key_text: &str,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let versions: Vec<u64> = store.versions().into_iter().collect();
    let Some(first) = versions
        .iter()
        .copied()
        .find(|v| store.has(BlobName::Snapshot(*v)))
    else {
        return Err(CliError::new(format!(
            "store {} has no snapshot to start the history from",
            store.describe()
        )));
    };
    let (schema, t, key, mut current) = find_in_snapshot(store, first, type_name, key_text)?;
    let mut events: Vec<(u64, Event)> = Vec::new();
    if let Some(k) = &current {
        events.push((first, Event::Present(k.clone())));
    }
    let mut at = first;
    for &w in versions.iter().filter(|&&w| w > first) {
        let delta = BlobName::Delta { from: at, to: w };
        let next: Option<Kept> = if store.has(delta) {
            let map = store.map(delta)?;
            let view = BlobView::open(&delta.to_string(), &map)?;
            let mut next = current.clone();
            // Every section of the type (its shards, when it has several).
            for section in view.shards(type_name) {
                let d = section.delta()?;
                if let Some(c) = &current {
                    if d.removed().any(|o| o == c.ordinal) {
                        next = None;
                    }
                }
                for (o, r) in d.added() {
                    if schema.record(t, r).key()?.as_ref() == Some(&key) {
                        next = Some(Kept::of(o, &r)?);
                    }
                }
            }
            next
        } else if store.has(BlobName::Snapshot(w)) {
            find_in_snapshot(store, w, type_name, key_text)?.3
        } else {
            // Not reachable from `at`: a later version may be.
            continue;
        };
        match (&current, &next) {
            (None, Some(n)) => events.push((w, Event::Added(n.clone()))),
            (Some(_), None) => events.push((w, Event::Removed)),
            (Some(c), Some(n)) if c.bytes != n.bytes => {
                let changes = schema
                    .record(t, c.reader()?)
                    .compare(&schema.record(t, n.reader()?))?;
                events.push((w, Event::Modified(n.clone(), changes)));
            }
            _ => {}
        }
        current = next;
        at = w;
    }
    if events.is_empty() {
        return Err(CliError::new(format!(
            "no {type_name} with primary key {key} in any version of store {} (versions {})",
            store.describe(),
            list_versions(&store.versions())
        )));
    }
    let announced = store.announced()?;
    let record =
        |k: &Kept| -> Result<Value, CliError> { Ok(schema.record(t, k.reader()?).to_json()?) };
    if json {
        let mut list = Vec::new();
        for (v, e) in &events {
            let mut entry = match e {
                Event::Present(k) => {
                    json!({"version": v, "event": "present", "ordinal": k.ordinal, "record": record(k)?})
                }
                Event::Added(k) => {
                    json!({"version": v, "event": "added", "ordinal": k.ordinal, "record": record(k)?})
                }
                Event::Modified(k, ch) => json!({
                    "version": v, "event": "modified", "ordinal": k.ordinal,
                    "changes": ch.iter().map(FieldChange::to_json).collect::<Vec<_>>(),
                    "record": record(k)?,
                }),
                Event::Removed => json!({"version": v, "event": "removed"}),
            };
            entry["status"] = json!(VersionStatus::of(*v, announced).as_str());
            list.push(entry);
        }
        return write_json(
            out,
            &json!({"type": type_name, "key": key.to_json(), "events": list}),
        );
    }
    let mut text = format!("{type_name} {key}\n");
    for (v, e) in &events {
        let line = match e {
            Event::Present(k) => format!(
                "  {v}: present (the oldest version in the store), ordinal {}",
                k.ordinal
            ),
            Event::Added(k) => format!("  {v}: added, ordinal {}", k.ordinal),
            Event::Modified(_, ch) => format!("  {v}: modified: {}", show_changes(ch)),
            Event::Removed => format!("  {v}: removed"),
        };
        text.push_str(&line);
        if VersionStatus::of(*v, announced) == VersionStatus::Unannounced {
            text.push_str(" (unannounced)");
        }
        text.push('\n');
    }
    write(out, &text)
}
