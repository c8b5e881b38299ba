//! Finding a record by primary key in one version.
//!
//! This is the one place the CLI looks a key up in a whole version; it scans
//! the type's records, reading each one's key in place (no copies, no
//! index built). When the runtime's generic primary-key indexes are
//! available, swap the body of [`find_by_key`] for an index lookup: callers
//! do not change. `diff` and `history` do not come here for adjacent
//! versions: they read the keys of the records a delta removes and adds.

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
