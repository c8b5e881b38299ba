//! One module per subcommand, plus what they share.

pub mod admin;
pub mod diff;
pub mod export;
pub mod history;
pub mod inspect;
pub mod schema;
pub mod schema_diff;
pub mod verify;
pub mod versions;

use hollow_runtime::dynamic::{DynType, DynamicSchema};

use crate::error::{output, CliError};

/// Where a version stands against the announcement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionStatus {
    /// The version the announcement names: what consumers read.
    Announced,
    /// Older than the announced version.
    Older,
    /// Newer than the announced version (never announced, or announced and
    /// then rolled back from), or any version of a store with no
    /// announcement: its blobs are present, but consumers do not read it.
    Unannounced,
}

impl VersionStatus {
    /// The status of `version` in a store announcing `announced`.
    pub(crate) fn of(version: u64, announced: Option<u64>) -> VersionStatus {
        match announced {
            Some(a) if version == a => VersionStatus::Announced,
            Some(a) if version < a => VersionStatus::Older,
            _ => VersionStatus::Unannounced,
        }
    }

    /// The status as shown (text and JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Announced => "announced",
            VersionStatus::Older => "older",
            VersionStatus::Unannounced => "unannounced",
        }
    }
}

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
