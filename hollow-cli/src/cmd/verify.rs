//! `hollow verify`: are the store's blobs sound, and do its deltas chain?
//!
//! Each blob: its whole-file checksum, its prefix against its name, every
//! section's checksum and shape, and (unless `--quick`) every record: a
//! snapshot's records must add up to the counts and state checksums its
//! directory promises, a delta's added records must be readable. Each delta `a → b`: applied to the state at
//! `a` it must reach the record counts and checksums it promises and, where
//! the store has `snapshot-b`, exactly that snapshot's state (tag, counts,
//! checksums per type); each reverse delta `b → a` applied to the state at
//! `b` must give back the state at `a`.

use std::collections::HashMap;

use hollow_runtime::blob::{BlobKind, BlobView};
use hollow_runtime::store::BlobName;
use hollow_runtime::ReadState;
use serde_json::json;

use crate::cmd::{write, write_json};
use crate::error::{CliError, EXIT_VERIFY_FAILED};
use crate::store::Store;
use crate::table;
use crate::version::Loaded;

/// One check's outcome.
struct Check {
    what: String,
    problem: Option<String>,
}

/// Checks one blob's bytes: checksum, prefix, sections, and unless `quick`
/// its records.
fn check_blob(store: &Store, name: BlobName, quick: bool) -> Result<String, String> {
    let map = store.map(name).map_err(|e| e.to_string())?;
    let view = BlobView::open(&name.to_string(), &map).map_err(|e| e.to_string())?;
    // `BlobView::open` refused a prefix other than what `name` says.
    let p = view.prefix();
    let mut records = 0u64;
    for s in view.sections() {
        s.verify_checksum().map_err(|e| e.to_string())?;
        if p.kind == BlobKind::Snapshot {
            s.snapshot().map_err(|e| e.to_string())?;
        } else {
            s.delta().map_err(|e| e.to_string())?;
        }
        records += s.info().record_count as u64;
    }
    if !quick {
        // Every section's records, the shards of a type added up.
        view.check_records().map_err(|e| e.to_string())?;
    }
    Ok(format!(
        "{}, {} sections, {records} records",
        table::bytes(map.len() as u64),
        view.header().sections.len()
    ))
}

/// Whether two states are the same: tag, and count and checksum per type.
fn same_state(a: &ReadState, b: &ReadState) -> Result<(), String> {
    if a.tag() != b.tag() {
        return Err(format!(
            "state tag {:016x}, expected {:016x}",
            a.tag(),
            b.tag()
        ));
    }
    let mut names: Vec<&str> = a.type_names().chain(b.type_names()).collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        if a.count(n) != b.count(n) || a.checksum(n) != b.checksum(n) {
            return Err(format!(
                "{n}: {} records, checksum {:016x}; expected {} records, checksum {:016x}",
                a.count(n),
                a.checksum(n).unwrap_or(0),
                b.count(n),
                b.checksum(n).unwrap_or(0)
            ));
        }
    }
    Ok(())
}

/// The state at `v` (from its snapshot, else a chain), cached.
fn state_at<'c>(
    store: &Store,
    cache: &'c mut HashMap<u64, Result<ReadState, String>>,
    v: u64,
) -> &'c Result<ReadState, String> {
    cache.entry(v).or_insert_with(|| {
        let snap = BlobName::Snapshot(v);
        if store.has(snap) {
            let map = store.map(snap).map_err(|e| e.to_string())?;
            ReadState::open_snapshot(snap, map).map_err(|e| e.to_string())
        } else {
            match Loaded::load(store, v).map_err(|e| e.to_string())? {
                Loaded::State(s) => Ok(s),
                Loaded::Snapshot { map, .. } => {
                    ReadState::open_snapshot(snap, map).map_err(|e| e.to_string())
                }
            }
        }
    })
}

/// Checks a delta (and its reverse delta) against the states around it.
fn check_chain(
    store: &Store,
    cache: &mut HashMap<u64, Result<ReadState, String>>,
    from: u64,
    to: u64,
) -> Vec<Check> {
    let delta = BlobName::Delta { from, to };
    let reverse = BlobName::ReverseDelta { from: to, to: from };
    let mut out = Vec::new();
    let before = match state_at(store, cache, from) {
        Ok(s) => s.clone(),
        Err(e) => {
            out.push(Check {
                what: format!("{delta} chains"),
                problem: Some(format!("the state at version {from} cannot be read: {e}")),
            });
            return out;
        }
    };
    let after = match store
        .map(delta)
        .map_err(|e| e.to_string())
        .and_then(|m| before.apply_blob(delta, m).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => {
            out.push(Check {
                what: format!("{delta} chains"),
                problem: Some(e),
            });
            return out;
        }
    };
    let snap = BlobName::Snapshot(to);
    let mut problem = None;
    if store.has(snap) {
        if let Ok(s) = state_at(store, cache, to) {
            problem = same_state(&after, s)
                .err()
                .map(|e| format!("applied to version {from} it does not give {snap}: {e}"));
        }
    }
    out.push(Check {
        what: format!("{delta} chains {from} → {to}"),
        problem,
    });
    if store.has(reverse) {
        let base = match state_at(store, cache, to) {
            Ok(s) => s.clone(),
            Err(_) => after,
        };
        let problem = store
            .map(reverse)
            .map_err(|e| e.to_string())
            .and_then(|m| base.apply_blob(reverse, m).map_err(|e| e.to_string()))
            .and_then(|back| {
                same_state(&back, &before)
                    .map_err(|e| format!("it does not give back version {from}: {e}"))
            })
            .err();
        out.push(Check {
            what: format!("{reverse} chains {to} → {from}"),
            problem,
        });
    }
    out
}

/// Runs the command; `quick` skips reading every record.
///
/// # Errors
/// An unknown version; [`EXIT_VERIFY_FAILED`] when a check failed.
pub fn run(
    store: &Store,
    version: Option<u64>,
    quick: bool,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    if let Some(v) = version {
        store.resolve_version(Some(v))?;
    }
    let involves = |n: &BlobName| match (version, *n) {
        (None, _) => true,
        (Some(v), BlobName::Snapshot(s)) => s == v,
        (Some(v), BlobName::Delta { from, to } | BlobName::ReverseDelta { from, to }) => {
            from == v || to == v
        }
    };
    let mut checks = Vec::new();
    for &n in store.blobs().iter().filter(|n| involves(n)) {
        let r = check_blob(store, n, quick);
        checks.push(match r {
            Ok(what) => Check {
                what: format!("{n}: {what}"),
                problem: None,
            },
            Err(e) => Check {
                what: n.to_string(),
                problem: Some(e),
            },
        });
    }
    let mut cache = HashMap::new();
    for &n in store.blobs().iter().filter(|n| involves(n)) {
        if let BlobName::Delta { from, to } = n {
            checks.extend(check_chain(store, &mut cache, from, to));
        }
    }
    let bad = checks.iter().filter(|c| c.problem.is_some()).count();
    if json {
        write_json(
            out,
            &json!({
                "ok": bad == 0,
                "checks": checks.iter().map(|c| json!({"check": c.what, "ok": c.problem.is_none(), "problem": c.problem})).collect::<Vec<_>>(),
            }),
        )?;
    } else {
        let mut text = String::new();
        for c in &checks {
            match &c.problem {
                None => text.push_str(&format!("ok   {}\n", c.what)),
                Some(p) => text.push_str(&format!("BAD  {}: {p}\n", c.what)),
            }
        }
        text.push_str(&format!("{} checks, {} failed\n", checks.len(), bad));
        write(out, &text)?;
    }
    if bad > 0 {
        let first = checks
            .iter()
            .find_map(|c| c.problem.as_deref())
            .unwrap_or("");
        return Err(CliError::with_code(
            format!(
                "{bad} of {} checks failed; the first: {first}",
                checks.len()
            ),
            EXIT_VERIFY_FAILED,
        ));
    }
    Ok(())
}
