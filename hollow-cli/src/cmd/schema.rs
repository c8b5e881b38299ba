//! `hollow schema`: the dataset schema as `.capnp` text.

use hollow_runtime::blob::BlobView;
use hollow_runtime::store::BlobName;
use serde_json::json;

use crate::cmd::{write, write_json};
use crate::error::CliError;
use crate::store::Store;

/// The schema written in the header of a blob leading to `version`.
///
/// # Errors
/// No blob leads to the version, or it is corrupt.
pub(crate) fn schema_at(
    store: &Store,
    version: u64,
) -> Result<hollow_runtime::blob::BlobHeader, CliError> {
    // Any blob producing the version carries the dataset schema; the
    // snapshot is preferred, else the smallest delta.
    let name = if store.has(BlobName::Snapshot(version)) {
        BlobName::Snapshot(version)
    } else {
        store
            .blobs()
            .iter()
            .copied()
            .find(|n| matches!(n, BlobName::Delta { to, .. } | BlobName::ReverseDelta { to, .. } if *to == version))
            .ok_or_else(|| CliError::new(format!("no blob of store {} leads to version {version}", store.describe())))?
    };
    let map = store.map(name)?;
    let view = BlobView::open(&name.to_string(), &map)?;
    Ok(view.header().clone())
}

/// Runs the command.
///
/// # Errors
/// An unknown version, or a corrupt blob.
pub fn run(
    store: &Store,
    version: Option<u64>,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let v = store.resolve_version(version)?;
    let header = schema_at(store, v)?;
    let text = hollow_runtime::schema::to_capnp(
        &header.schema,
        hollow_runtime::schema::file_id_for("dataset.capnp"),
    );
    if json {
        let records: Vec<_> = header
            .schema
            .records()
            .map(|s| {
                json!({
                    "name": s.name,
                    "primary_key": s.primary_key.as_ref().map(|k| k.to_string()),
                    "records": header.section(&s.name).map(|x| x.state_count),
                })
            })
            .collect();
        return write_json(
            out,
            &json!({"version": v, "record_types": records, "capnp": text}),
        );
    }
    write(out, &text)
}
