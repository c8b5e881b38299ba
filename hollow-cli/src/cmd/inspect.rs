//! `hollow inspect`: one record as JSON.

use hollow_runtime::dynamic::DynamicSchema;
use serde_json::json;

use crate::cmd::{record_type, write, write_json};
use crate::error::CliError;
use crate::lookup::find_by_key;
use crate::store::Store;
use crate::version::Loaded;

/// Which record to show.
#[derive(Clone, Debug)]
pub enum Target {
    /// By primary key, as text.
    Key(String),
    /// By ordinal.
    Ordinal(u32),
}

/// Runs the command.
///
/// # Errors
/// An unknown version, type, key or ordinal; a corrupt blob.
pub fn run(
    store: &Store,
    type_name: &str,
    target: &Target,
    version: Option<u64>,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let v = store.resolve_version(version)?;
    let loaded = Loaded::load(store, v)?;
    let view = loaded.view()?;
    let schema = DynamicSchema::new(view.schema())?;
    let t = record_type(&schema, type_name, v)?;
    let ordinal = match target {
        Target::Ordinal(o) => {
            if view.get(type_name, *o).is_none() {
                return Err(CliError::new(format!(
                    "no {type_name} record at ordinal {o} in version {v} ({} records, \
                     ordinals below {})",
                    view.count(type_name),
                    view.ordinal_limit(type_name)
                )));
            }
            *o
        }
        Target::Key(text) => {
            let key = schema.parse_key(t, text)?;
            find_by_key(&view, &schema, t, &key)?.ok_or_else(|| {
                CliError::new(format!(
                    "no {type_name} with primary key {key} in version {v} ({} records)",
                    view.count(type_name)
                ))
            })?
        }
    };
    let r = view
        .get(type_name, ordinal)
        .ok_or_else(|| CliError::new(format!("{type_name} ordinal {ordinal} vanished")))?;
    let rec = schema.record(t, r);
    let record = rec.to_json()?;
    if json {
        return write_json(
            out,
            &json!({
                "version": v,
                "type": type_name,
                "ordinal": ordinal,
                "key": rec.key()?.map(|k| k.to_json()),
                "record": record,
            }),
        );
    }
    let pretty = serde_json::to_string_pretty(&rec)
        .map_err(|e| CliError::new(format!("{type_name} ordinal {ordinal}: {e}")))?;
    write(out, &format!("{pretty}\n"))
}
