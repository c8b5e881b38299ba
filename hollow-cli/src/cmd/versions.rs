//! `hollow versions`: the announced version and every version's blobs,
//! each version marked announced, older than the announced one, or
//! unannounced (newer than the announced one, or in a store with no
//! announcement: present, but no consumer reads it). Each blob shows its
//! size as stored (what a consumer transfers) and, for a compressed blob,
//! its layout and plain size (what a consumer's cache holds).

use std::collections::BTreeMap;

use hollow_runtime::store::{BlobName, BlobStat, Encoding};
use serde_json::{json, Value};

use crate::cmd::{write, write_json, VersionStatus};
use crate::error::CliError;
use crate::store::Store;
use crate::table;

#[derive(Default)]
struct Row {
    snapshot: Option<BlobStat>,
    /// (from, stat)
    deltas: Vec<(u64, BlobStat)>,
    /// (to, stat)
    reverse: Vec<(u64, BlobStat)>,
}

/// A blob's sizes in JSON: `bytes` as stored, `plain_bytes` (null when a
/// corrupt compressed blob declares none), the `encoding` and the
/// `stored_name`.
fn sizes_json(s: &BlobStat) -> Value {
    json!({
        "bytes": s.stored_bytes,
        "plain_bytes": s.plain_bytes,
        "encoding": s.encoding.as_str(),
        "stored_name": s.stored.to_string(),
    })
}

/// A JSON object of `fields` with the blob's sizes added.
fn with_sizes(mut fields: Value, s: &BlobStat) -> Value {
    if let (Some(obj), Value::Object(sizes)) = (fields.as_object_mut(), sizes_json(s)) {
        obj.extend(sizes);
    }
    fields
}

/// A blob's sizes for people: `1.2 MiB` for a plain blob, `1.2 MiB (zstd,
/// 3.4 MiB plain)` for a compressed one.
fn sizes_text(s: &BlobStat) -> String {
    let stored = table::bytes(s.stored_bytes);
    match (s.encoding, s.plain_bytes) {
        (Encoding::Plain, _) => stored,
        (e, Some(plain)) => format!("{stored} ({e}, {} plain)", table::bytes(plain)),
        (e, None) => format!("{stored} ({e}, plain size unreadable)"),
    }
}

/// Runs the command.
///
/// # Errors
/// The store cannot be listed or its announcement read.
pub fn run(store: &Store, json: bool, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let announced = store.announced()?;
    let mut rows: BTreeMap<u64, Row> = store
        .versions()
        .into_iter()
        .map(|v| (v, Row::default()))
        .collect();
    for &n in store.blobs() {
        let size = store.stat(n)?;
        match n {
            BlobName::Snapshot(v) => rows.entry(v).or_default().snapshot = Some(size),
            BlobName::Delta { from, to } => rows.entry(to).or_default().deltas.push((from, size)),
            BlobName::ReverseDelta { from, to } => {
                rows.entry(from).or_default().reverse.push((to, size))
            }
        }
    }
    let latest = rows.keys().next_back().copied();
    // `hollow pin` pins consumers (`pinned.version`); an announced version
    // older than the newest published one was rolled back to.
    let pinned = store.pinned()?;
    let rolled_back = matches!((announced, latest), (Some(a), Some(l)) if a < l);
    if json {
        let versions: Vec<Value> = rows
            .iter()
            .map(|(v, r)| {
                json!({
                    "version": v,
                    "announced": Some(*v) == announced,
                    "status": VersionStatus::of(*v, announced).as_str(),
                    "snapshot": r.snapshot.as_ref().map(|b| with_sizes(json!({"name": BlobName::Snapshot(*v).to_string()}), b)),
                    "deltas": r.deltas.iter().map(|(f, b)| with_sizes(json!({"name": BlobName::Delta{from: *f, to: *v}.to_string(), "from": f}), b)).collect::<Vec<_>>(),
                    "reverse_deltas": r.reverse.iter().map(|(t, b)| with_sizes(json!({"name": BlobName::ReverseDelta{from: *v, to: *t}.to_string(), "to": t}), b)).collect::<Vec<_>>(),
                })
            })
            .collect();
        return write_json(
            out,
            &json!({
                "store": store.describe(),
                "announced": announced,
                "pinned": pinned,
                "rolled_back": rolled_back,
                "latest": latest,
                "versions": versions,
            }),
        );
    }
    let mut text = format!("store: {}\n", store.describe());
    text.push_str(&match announced {
        Some(a) => format!("announced: {a}\n"),
        None => "announced: none (no announcement: consumers read no version, and commands \
                 need --version)\n"
            .to_owned(),
    });
    text.push_str(&match pinned {
        Some(p) => {
            format!("pinned: {p} (consumers read version {p}; `hollow unpin` releases them)\n")
        }
        None => "pinned: no\n".to_owned(),
    });
    if let (true, Some(a), Some(l)) = (rolled_back, announced, latest) {
        text.push_str(&format!(
            "rolled back: the announced version {a} is older than the newest published, {l}\n"
        ));
    }
    text.push('\n');
    let mut t = vec![vec![
        "VERSION".to_owned(),
        "STATUS".to_owned(),
        "SNAPSHOT".to_owned(),
        "DELTA".to_owned(),
        "REVERSE DELTA".to_owned(),
    ]];
    let list = |items: &[(u64, BlobStat)], arrow: &str| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items
                .iter()
                .map(|(v, b)| format!("{arrow}{v} {}", sizes_text(b)))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    for (v, r) in &rows {
        let mark = if Some(*v) == announced { " *" } else { "" };
        t.push(vec![
            format!("{v}{mark}"),
            VersionStatus::of(*v, announced).as_str().to_owned(),
            r.snapshot.as_ref().map_or("-".to_owned(), sizes_text),
            list(&r.deltas, "from "),
            list(&r.reverse, "to "),
        ]);
    }
    text.push_str(&table::render(&t));
    text.push_str(
        "(* announced; sizes as stored, what consumers fetch, with the plain size of \
         compressed blobs)\n",
    );
    write(out, &text)
}
