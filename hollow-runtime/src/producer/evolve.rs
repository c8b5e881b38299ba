//! Schema evolution across a restore: may a producer whose record types
//! changed continue a history written with their older schema?
//!
//! The rules are those of [`hollow_schema::evolution`], the ones consumers
//! and `hollow schema-diff` apply too: a producer continuing an announced
//! version refuses every *breaking* change (a field's type, ordinal or
//! offset changed, a field, union member or enumerant removed, a union
//! reordered, ...), naming each one with both definitions, and publishes
//! nothing. Compatible changes (fields, union members and enumerants
//! added, types added, renames) continue the history as deltas.
//!
//! A compatible change needs no re-encoding: the canonical bytes of an old
//! record are exactly those of the same record built with the new type (its
//! new fields at their defaults are trailing zero words or null pointers,
//! which the canonical form strips), so identical records still dedupe and
//! keep their ordinals, and blob sections sized for the new type hold the old
//! records as they are.
//!
//! A breaking change can be published only with
//! [`ProducerBuilder::allow_breaking_schema`](super::ProducerBuilder::allow_breaking_schema):
//! as a new snapshot that no delta joins to the older versions, without
//! the restored records of the types it breaks (they cannot be re-encoded).
//!
//! ```text
//! old: struct Movie { id @0 :UInt64; title @1 :Text; }
//! new: struct Movie { id @0 :UInt64; title @1 :Text; tagline @2 :Text; }  // continues
//! new: struct Movie { id @0 :UInt32; title @1 :Text; }                    // refused: id's type
//! ```

use hollow_schema::evolution::{self, SchemaDiff};
use hollow_schema::Schema;

use crate::error::{Error, ErrorKind};

/// The changes a producer whose record types are `types` makes to a
/// dataset written with `written`: [`evolution::diff`] from `written` to
/// the schema the producer would write (the definitions of `types`, then
/// those of `written` that `types` lacks, kept as they are). Types only
/// `written` has are carried over unchanged, so they are no change.
pub fn continuation_diff(written: &Schema, types: &Schema) -> SchemaDiff {
    evolution::diff(written, &merged(types, written))
}

/// The producer's schema check, exactly as [`Producer::restore`] and the
/// first add of a type restored without being declared apply it: may a
/// producer whose record types are `types` continue `version`, written
/// with `written`? Returns the changes when none is breaking.
///
/// For checking a change before deploying a producer (the same rules as
/// `hollow schema-diff`).
///
/// # Errors
/// [`ErrorKind::Schema`], listing every breaking change (type, field and
/// both definitions) and naming `version`.
///
/// ```
/// use hollow_runtime::producer::check_continuation;
/// use hollow_runtime::{Hollow, Struct};
///
/// #[derive(Hollow)]
/// #[hollow(rename = "Movie", primary_key(id))]
/// struct MovieV1 { id: u64, title: String }
///
/// #[derive(Hollow)]
/// #[hollow(rename = "Movie", primary_key(id))]
/// struct MovieV2 { id: u64, title: String, year: u16 }
///
/// #[derive(Hollow)]
/// #[hollow(rename = "Movie", primary_key(id))]
/// struct MovieV3 { id: u64, title: Vec<u8> }
///
/// let added = check_continuation(MovieV1::schema(), MovieV2::schema(), 7).unwrap();
/// assert!(!added.is_breaking() && added.changes.len() == 1);
/// let err = check_continuation(MovieV1::schema(), MovieV3::schema(), 7).unwrap_err();
/// assert_eq!(err.kind(), hollow_runtime::ErrorKind::Schema);
/// assert!(err.to_string().contains("since version 7"));
/// assert!(err.to_string().contains("Movie.title: type changed"));
/// ```
///
/// [`Producer::restore`]: super::Producer::restore
pub fn check_continuation(
    written: &Schema,
    types: &Schema,
    version: u64,
) -> Result<SchemaDiff, Error> {
    let diff = continuation_diff(written, types);
    if diff.is_breaking() {
        return Err(refusal(
            &diff,
            version,
            &format!("cannot continue version {version} with these types"),
        ));
    }
    Ok(diff)
}

/// `first`'s definitions, then those of `rest` that `first` lacks: the
/// dataset schema a producer writes when `first` holds its types.
pub(crate) fn merged(first: &Schema, rest: &Schema) -> Schema {
    let mut out = first.clone();
    for d in &rest.types {
        out.insert(d.clone());
    }
    out
}

/// The types among `names` whose records, written with `old`, cannot be
/// carried into `new`: some type they reach (themselves included) changed
/// in a breaking way.
pub(crate) fn broken_types<'a>(
    old: &Schema,
    new: &Schema,
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| evolution::diff_reachable(old, new, &[n]).is_breaking())
        .map(str::to_string)
        .collect()
}

/// The error refusing the breaking changes of `diff` (written by
/// [`evolution::diff`]) for a producer continuing `version`; `what` says
/// what was attempted (`restoring version 3 with this producer's types`).
pub(crate) fn refusal(diff: &SchemaDiff, version: u64, what: &str) -> Error {
    let breaking: Vec<String> = diff.breaking().map(|c| format!("  {c}")).collect();
    Error::new(
        ErrorKind::Schema,
        format!(
            "{what}: the schema changed incompatibly since version {version} \
             ({} breaking change{}):\n{}\nA producer continuing version {version} \
             publishes only compatible changes; to publish these as a new snapshot \
             that consumers of the old types refuse, build the producer with \
             allow_breaking_schema(true)",
            breaking.len(),
            if breaking.len() == 1 { "" } else { "s" },
            breaking.join("\n")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use hollow_schema::{Field, StructType, Type, TypeDef};

    fn schema(fields: Vec<Field>) -> Schema {
        let mut movie = StructType::new("Movie");
        movie.is_record = true;
        movie.fields = fields;
        let mut s = Schema::new();
        s.insert(TypeDef::Struct(movie));
        hollow_schema::assign_layout(&mut s).expect("a layout");
        s
    }

    #[test]
    fn added_field_is_accepted_and_changes_are_refused() {
        let v1 = schema(vec![
            Field::slot("id", 0, Type::UInt64),
            Field::slot("title", 1, Type::Text),
        ]);
        let v2 = schema(vec![
            Field::slot("id", 0, Type::UInt64),
            Field::slot("title", 1, Type::Text),
            Field::slot("tagline", 2, Type::Text),
        ]);
        assert!(!evolution::diff(&v1, &v2).is_breaking());
        assert!(broken_types(&v1, &v2, ["Movie"]).is_empty());

        let d = evolution::diff(&v2, &v1);
        assert_eq!(broken_types(&v2, &v1, ["Movie"]), vec!["Movie".to_string()]);
        let err = refusal(&d, 3, "restoring version 3").to_string();
        assert!(
            err.contains("since version 3 (1 breaking change)")
                && err.contains("Movie.tagline: field removed: was tagline @2 :Text"),
            "{err}"
        );

        let retyped = schema(vec![
            Field::slot("id", 0, Type::UInt32),
            Field::slot("title", 1, Type::Text),
        ]);
        let err = refusal(&evolution::diff(&v1, &retyped), 3, "x").to_string();
        assert!(
            err.contains("Movie.id: type changed: was id @0 :UInt64")
                && err.contains("is now id @0 :UInt32"),
            "{err}"
        );
    }

    #[test]
    fn merged_keeps_the_first_definitions() {
        let v1 = schema(vec![Field::slot("id", 0, Type::UInt64)]);
        let mut other = Schema::new();
        other.insert(TypeDef::Struct(StructType::new("Actor")));
        let m = merged(&v1, &merged(&other, &schema(vec![])));
        assert_eq!(m.get("Movie"), v1.get("Movie"));
        assert!(m.get("Actor").is_some());
    }
}
