//! One module per subcommand, plus what they share.

pub mod diff;
pub mod export;
pub mod history;
pub mod inspect;
pub mod schema;
pub mod verify;
pub mod versions;

use hollow_runtime::dynamic::{DynType, DynamicSchema};

use crate::error::{output, CliError};

/// The record type `name` of `schema` (read at `version`).
///
/// # Errors
/// No such record type: the message lists the record types there are.
pub(crate) fn record_type(
    schema: &DynamicSchema,
    name: &str,
    version: u64,
) -> Result<DynType, CliError> {
    let known: Vec<&str> = schema.record_types().collect();
    if !known.contains(&name) {
        return Err(CliError::new(format!(
            "no record type {name} in version {version}; its record types are {}",
            known.join(", ")
        )));
    }
    Ok(schema.record_type(name)?)
}

/// Writes `text` to `out`.
pub(crate) fn write(out: &mut dyn std::io::Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes()).map_err(output)
}

/// Writes `v` as one line of JSON.
pub(crate) fn write_json(
    out: &mut dyn std::io::Write,
    v: &serde_json::Value,
) -> Result<(), CliError> {
    serde_json::to_writer(&mut *out, v)
        .map_err(|e| CliError::new(format!("cannot write the output: {e}")))?;
    out.write_all(b"\n").map_err(output)
}
