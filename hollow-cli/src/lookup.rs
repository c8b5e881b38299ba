//! Finding a record by primary key in one version.
//!
//! This is the one place the CLI looks a key up in a whole version; it scans
//! the type's records, reading each one's key in place (no copies, no
//! index built). `diff` and `history` do not come here for adjacent
//! versions: they read the keys of the records a delta removes and adds.
//!
//! Why not the runtime's run-time indexes (`ReadState::index_of` over an
//! `IndexSpec` with a `KeyReader` reading keys through the dynamic schema)?
//! A CLI call makes one lookup in a version it has just opened, and
//! building any index reads the key of every record, so it costs the scan
//! plus hashing and a table of about 6 bytes per record: strictly more than
//! the scan. It would also need a `ReadState`, while a version that has a
//! snapshot is read straight from the mapped file (its pages released as
//! the scan passes, keeping memory flat whatever the snapshot's size). An
//! index pays only where one state answers many lookups, which no command
//! does today; such a command should build one `DynIndex` and keep it.

use hollow_runtime::dynamic::{DynType, DynamicSchema, KeyValue};

use crate::error::CliError;
use crate::version::View;

/// The ordinal of the record of type `t` whose primary key is `key` in
/// `view`, if there is one.
///
/// # Errors
/// A record whose key cannot be read (malformed bytes).
pub fn find_by_key(
    view: &View<'_>,
    schema: &DynamicSchema,
    t: DynType,
    key: &KeyValue,
) -> Result<Option<u32>, CliError> {
    let name = schema.type_name(t);
    for (o, r) in view.iter(name) {
        if schema.record(t, r).key()?.as_ref() == Some(key) {
            return Ok(Some(o));
        }
    }
    Ok(None)
}
