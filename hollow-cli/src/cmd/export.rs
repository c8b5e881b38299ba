//! `hollow export`: a version as JSON Lines, streamed.
//!
//! Each line is `{"type":"Movie","ordinal":7,"record":{…}}`. Records are
//! serialized straight from the memory-mapped blob to the output (a
//! buffered writer): nothing is collected, and the pages of the mapped
//! snapshot already read are handed back as the export goes, so memory
//! stays flat whatever the size of the version.

use std::io::Write;

use hollow_runtime::dynamic::DynamicSchema;

use crate::cmd::record_type;
use crate::error::{output, CliError};
use crate::store::{progress, Store};
use crate::version::Loaded;

/// Records written between two [`Loaded::release_pages`]: the pages of the
/// mapped snapshot read so far are handed back, so resident memory stays
/// flat whatever the size of the version.
const RELEASE_EVERY: u64 = 1 << 14;

/// Runs the command; returns the number of records written.
///
/// # Errors
/// An unknown version or type, a corrupt blob or record, or a failed write.
pub fn run(
    store: &Store,
    version: Option<u64>,
    type_name: Option<&str>,
    out: &mut dyn Write,
) -> Result<u64, CliError> {
    let v = store.resolve_version(version)?;
    let loaded = Loaded::load(store, v)?;
    let view = loaded.view()?;
    let schema = DynamicSchema::new(view.schema())?;
    let types: Vec<String> = match type_name {
        Some(t) => {
            record_type(&schema, t, v)?;
            vec![t.to_owned()]
        }
        None => schema.record_types().map(str::to_owned).collect(),
    };
    let total: u64 = types.iter().map(|t| view.count(t) as u64).sum();
    let bar = progress(total, &format!("exporting version {v}"));
    let mut written = 0u64;
    let mut line = Vec::with_capacity(4096);
    for name in &types {
        let t = schema.record_type(name)?;
        let prefix = format!(
            "{{\"type\":{},\"ordinal\":",
            serde_json::Value::String(name.clone())
        );
        for (o, r) in view.iter(name) {
            // Each line is built in a reused buffer (serde_json's many small
            // writes stay statically dispatched) and written in one call.
            line.clear();
            line.extend_from_slice(prefix.as_bytes());
            // Writing to a Vec cannot fail.
            let _ = write!(line, "{o},\"record\":");
            schema
                .record(t, r)
                .write_json(&mut line)
                .map_err(|e| CliError::new(format!("version {v}, {name} ordinal {o}: {e}")))?;
            line.extend_from_slice(b"}\n");
            out.write_all(&line).map_err(output)?;
            written += 1;
            if written.is_multiple_of(RELEASE_EVERY) {
                loaded.release_pages();
            }
            if let Some(b) = &bar {
                if written.is_multiple_of(4096) {
                    b.set_position(written);
                }
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(written)
}
