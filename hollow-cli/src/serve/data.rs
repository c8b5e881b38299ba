//! What each page shows, as JSON: computed on a blocking thread by the
//! same library functions the commands use (their `--json` output is the
//! model), so a page and the command agree.

use hollow_runtime::dynamic::DynamicSchema;
use serde_json::{json, Value};

use super::find::{self, KeyKind};
use super::{Paging, ServeError};
use crate::cmd;
use crate::lookup::find_by_key;
use crate::store::Store;
use crate::version::Loaded;

/// Runs a command with `--json` and parses its one document.
fn command_json(
    run: impl FnOnce(&mut Vec<u8>) -> Result<(), crate::CliError>,
) -> Result<Value, ServeError> {
    let mut out = Vec::new();
    run(&mut out).map_err(ServeError::from_cli)?;
    serde_json::from_slice(&out)
        .map_err(|e| ServeError::internal(format!("a command wrote unreadable JSON: {e}")))
}

/// The version `v`, if the store has it.
///
/// # Errors
/// 404 naming the versions there are.
pub(super) fn check_version(store: &Store, v: u64) -> Result<u64, ServeError> {
    store
        .resolve_version(Some(v))
        .map_err(|e| ServeError::not_found(e.to_string()))
}

/// The versions page: `hollow versions --json`.
pub(super) fn versions(store: &Store) -> Result<Value, ServeError> {
    command_json(|out| cmd::versions::run(store, true, out))
}

/// One version: the header tags and each record type's records and bytes
/// (from the header of the blob leading to it: the snapshot if there is
/// one, else a delta, whose counts are of what it changes).
pub(super) fn version(store: &Store, v: u64) -> Result<Value, ServeError> {
    check_version(store, v)?;
    let header = cmd::schema::schema_at(store, v).map_err(ServeError::from_cli)?;
    let from_snapshot = store.has(hollow_runtime::store::BlobName::Snapshot(v));
    let types: Vec<Value> = header
        .schema
        .records()
        .map(|s| {
            let section = header.section(&s.name);
            // A type's bytes over all its sections (shards).
            let bytes = section.map(|_| {
                header
                    .sections
                    .iter()
                    .filter(|x| x.type_name == s.name)
                    .map(|x| x.length)
                    .sum::<u64>()
            });
            json!({
                "name": s.name,
                "primary_key": s.primary_key.as_ref().map(ToString::to_string),
                "unique_keys": s.unique_keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "hash_indexes": s.hash_indexes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "records": section.map(|x| x.state_count),
                "bytes": bytes,
            })
        })
        .collect();
    let announced = store.announced().map_err(ServeError::from_cli)?;
    Ok(json!({
        "version": v,
        "status": cmd::VersionStatus::of(v, announced).as_str(),
        "counted_from": if from_snapshot { "snapshot" } else { "delta" },
        "tags": header.tags.iter().map(|(k, val)| json!({"key": k, "value": val})).collect::<Vec<_>>(),
        "types": types,
    }))
}

/// The schema page: `hollow schema --json`.
pub(super) fn schema(store: &Store, v: u64) -> Result<Value, ServeError> {
    check_version(store, v)?;
    command_json(|out| cmd::schema::run(store, Some(v), true, out))
}

/// One page of a type's records, in ordinal order.
pub(super) fn records(
    loaded: &Loaded,
    v: u64,
    type_name: &str,
    paging: Paging,
) -> Result<Value, ServeError> {
    let view = loaded.view().map_err(ServeError::from_cli)?;
    let schema = DynamicSchema::new(view.schema()).map_err(ServeError::from_dynamic)?;
    let t = cmd::record_type(&schema, type_name, v).map_err(ServeError::not_found_cli)?;
    let total = view.count(type_name);
    let mut list = Vec::new();
    for (o, r) in view
        .iter(type_name)
        .skip(paging.skip())
        .take(paging.per_page)
    {
        list.push(listed(schema.record(t, r), o)?);
    }
    Ok(json!({
        "version": v,
        "type": type_name,
        "total": total,
        "page": paging.page,
        "per_page": paging.per_page,
        "pages": total.div_ceil(paging.per_page).max(1),
        "records": list,
    }))
}

/// One record of a list page: its ordinal, key and fields.
fn listed(
    rec: hollow_runtime::dynamic::DynRecord<'_, '_>,
    o: impl Into<Value>,
) -> Result<Value, ServeError> {
    Ok(json!({
        "ordinal": o.into(),
        "key": rec.key().map_err(ServeError::from_dynamic)?.map(|k| k.to_json()),
        "record": rec.to_json().map_err(ServeError::from_dynamic)?,
    }))
}

/// Which record to show.
#[derive(Clone, Debug)]
pub(super) enum Target {
    /// By primary key.
    Key(String),
    /// By ordinal.
    Ordinal(u32),
    /// By the unique key `fields` (annotation form), holding `value`.
    Unique { fields: String, value: String },
}

/// One record, by key or ordinal: what `hollow inspect --json` prints,
/// read from the version already loaded.
pub(super) fn record(
    loaded: &Loaded,
    v: u64,
    type_name: &str,
    target: &Target,
) -> Result<Value, ServeError> {
    let view = loaded.view().map_err(ServeError::from_cli)?;
    let schema = DynamicSchema::new(view.schema()).map_err(ServeError::from_dynamic)?;
    let t = cmd::record_type(&schema, type_name, v).map_err(ServeError::not_found_cli)?;
    let ordinal = match target {
        Target::Ordinal(o) => {
            if view.get(type_name, *o).is_none() {
                return Err(ServeError::not_found(format!(
                    "no {type_name} record at ordinal {o} in version {v} ({} records, \
                     ordinals below {})",
                    view.count(type_name),
                    view.ordinal_limit(type_name)
                )));
            }
            *o
        }
        Target::Key(text) => {
            let key = schema
                .parse_key(t, text)
                .map_err(|e| ServeError::bad_request(e.to_string()))?;
            find_by_key(&view, &schema, t, &key)
                .map_err(ServeError::from_cli)?
                .ok_or_else(|| {
                    ServeError::not_found(format!(
                        "no {type_name} with primary key {key} in version {v} ({} records)",
                        view.count(type_name)
                    ))
                })?
        }
        Target::Unique { fields, value } => {
            let st = declaring(&view, type_name)?;
            let key = find::declared(st, KeyKind::Unique, fields)?;
            let want = find::parse_value(&key, value)?;
            let mut found = None;
            for (o, r) in view.iter(type_name) {
                let rec = schema
                    .record(t, r)
                    .to_json()
                    .map_err(ServeError::from_dynamic)?;
                if find::matches(view.schema(), st, &rec, &key, &want) {
                    found = Some(o);
                    break;
                }
            }
            found.ok_or_else(|| {
                ServeError::not_found(format!(
                    "no {type_name} with unique key {key} = {value} in version {v} ({} records)",
                    view.count(type_name)
                ))
            })?
        }
    };
    let r = view
        .get(type_name, ordinal)
        .ok_or_else(|| ServeError::internal(format!("{type_name} ordinal {ordinal} vanished")))?;
    let rec = schema.record(t, r);
    Ok(json!({
        "version": v,
        "type": type_name,
        "ordinal": ordinal,
        "key": rec.key().map_err(ServeError::from_dynamic)?.map(|k| k.to_json()),
        "record": rec.to_json().map_err(ServeError::from_dynamic)?,
    }))
}

/// The schema's declaration of record type `type_name` (checked to be one
/// before this is called).
fn declaring<'v>(
    view: &'v crate::version::View<'_>,
    type_name: &str,
) -> Result<&'v hollow_runtime::schema::StructType, ServeError> {
    view.schema()
        .get_struct(type_name)
        .ok_or_else(|| ServeError::internal(format!("record type {type_name} has no declaration")))
}

/// The ordinals of the records of `type_name` whose hash index `fields`
/// holds `value`, ascending, as `{"index", "ordinals"}`: one scan of the
/// type, kept by the explorer so that every page of the answer is cheap.
///
/// # Errors
/// 404 for an unknown type; 400 for an index the type does not declare or
/// a value that does not fit it.
pub(super) fn index_matches(
    loaded: &Loaded,
    v: u64,
    type_name: &str,
    fields: &str,
    value: &str,
) -> Result<Value, ServeError> {
    let view = loaded.view().map_err(ServeError::from_cli)?;
    let schema = DynamicSchema::new(view.schema()).map_err(ServeError::from_dynamic)?;
    let t = cmd::record_type(&schema, type_name, v).map_err(ServeError::not_found_cli)?;
    let st = declaring(&view, type_name)?;
    let key = find::declared(st, KeyKind::Hash, fields)?;
    let want = find::parse_value(&key, value)?;
    let mut ordinals = Vec::new();
    for (o, r) in view.iter(type_name) {
        let doc = schema
            .record(t, r)
            .to_json()
            .map_err(ServeError::from_dynamic)?;
        if find::matches(view.schema(), st, &doc, &key, &want) {
            ordinals.push(o);
        }
    }
    Ok(json!({ "index": key.to_string(), "ordinals": ordinals }))
}

/// One page of the records `found` (from [`index_matches`]) lists.
pub(super) fn index_page(
    loaded: &Loaded,
    v: u64,
    type_name: &str,
    found: &Value,
    value: &str,
    paging: Paging,
) -> Result<Value, ServeError> {
    let view = loaded.view().map_err(ServeError::from_cli)?;
    let schema = DynamicSchema::new(view.schema()).map_err(ServeError::from_dynamic)?;
    let t = cmd::record_type(&schema, type_name, v).map_err(ServeError::not_found_cli)?;
    let ordinals = found["ordinals"].as_array().map_or(&[][..], Vec::as_slice);
    let total = ordinals.len();
    let mut list = Vec::new();
    for o in ordinals.iter().skip(paging.skip()).take(paging.per_page) {
        let o = o
            .as_u64()
            .and_then(|o| u32::try_from(o).ok())
            .ok_or_else(|| ServeError::internal(format!("{o} is not an ordinal")))?;
        let r = view
            .get(type_name, o)
            .ok_or_else(|| ServeError::internal(format!("{type_name} ordinal {o} vanished")))?;
        list.push(listed(schema.record(t, r), o)?);
    }
    Ok(json!({
        "version": v,
        "type": type_name,
        "index": found["index"],
        "value": value,
        "total": total,
        "page": paging.page,
        "per_page": paging.per_page,
        "pages": total.div_ceil(paging.per_page).max(1),
        "records": list,
    }))
}

/// Checks that `type_name` is a record type of version `v` and, when given,
/// that `key` parses as its primary key: from the header alone, so a bad
/// request is answered before the command runs.
///
/// # Errors
/// 404 for an unknown version or type, 400 for a key that does not parse.
pub(super) fn check_type(
    store: &Store,
    v: u64,
    type_name: &str,
    key: Option<&str>,
) -> Result<(), ServeError> {
    check_version(store, v)?;
    let header = cmd::schema::schema_at(store, v).map_err(ServeError::from_cli)?;
    let schema = DynamicSchema::new(&header.schema).map_err(ServeError::from_dynamic)?;
    let t = cmd::record_type(&schema, type_name, v).map_err(ServeError::not_found_cli)?;
    if let Some(k) = key {
        schema
            .parse_key(t, k)
            .map_err(|e| ServeError::bad_request(e.to_string()))?;
    }
    Ok(())
}

/// The diff of two versions, computed as `hollow diff` computes it
/// (through deltas where they join the versions) and kept whole;
/// [`diff_page`] shows a page of it.
pub(super) fn diff(
    store: &Store,
    from: u64,
    to: u64,
    only: Option<&str>,
) -> Result<cmd::diff::Diff, ServeError> {
    check_version(store, from)?;
    check_version(store, to)?;
    cmd::diff::compute(store, from, to, only).map_err(ServeError::from_cli)
}

/// One page of the diff `d` (from [`diff`]): the document `hollow diff
/// --json` prints with each type's lists cut to the page and their whole
/// lengths beside them (`added_total`, …). Only the records on the page
/// are turned into JSON.
pub(super) fn diff_page(d: &cmd::diff::Diff, paging: Paging) -> Result<Value, ServeError> {
    let range = cmd::diff::Range {
        skip: paging.skip(),
        take: paging.per_page,
    };
    let mut page = d.to_json(Some(range)).map_err(ServeError::from_cli)?;
    page["page"] = json!(paging.page);
    page["per_page"] = json!(paging.per_page);
    Ok(page)
}

/// The history of one key: `hollow history --json`.
pub(super) fn history(store: &Store, type_name: &str, key: &str) -> Result<Value, ServeError> {
    // The type and key are checked against the oldest snapshot's schema,
    // where the history starts.
    let first = store
        .versions()
        .into_iter()
        .find(|v| store.has(hollow_runtime::store::BlobName::Snapshot(*v)));
    if let Some(v) = first {
        check_type(store, v, type_name, Some(key))?;
    }
    command_json(|out| cmd::history::run(store, type_name, key, true, out))
}
