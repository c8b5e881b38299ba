//! The consumer's schema check: every type read through compiled code is
//! compared with the schema of each blob it will read, by the rules of
//! [`hollow_schema::evolution`], before any record is read.
//!
//! A [`SchemaChecks`] registry is shared by a consumer and every state it
//! makes (or by a state opened directly and the states applied to it). It
//! holds the compiled types registered so far and, for each pair of a
//! blob schema (by hash) and a compiled type, what the comparison found, so
//! each pair is compared once: a delta whose schema is the one already
//! held costs a hash of the schema and a map lookup per type.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use hollow_schema::{evolution, Schema};

use crate::compiled::Compiled;

/// The conflicts between a blob schema and a compiled type, one line per
/// [`evolution::Change`]; `None` when the type reads the blob right.
type Outcome = Option<Arc<str>>;

/// The compiled types a consumer reads, and what comparing them with each
/// blob schema found (see the [module docs](self)).
#[derive(Debug, Default)]
pub(crate) struct SchemaChecks {
    compiled: RwLock<Vec<Compiled>>,
    /// By (blob schema hash, compiled type id).
    outcomes: Mutex<HashMap<(u64, usize), Outcome>>,
    /// Comparisons run (pairs not found in `outcomes`).
    runs: AtomicU64,
}

impl SchemaChecks {
    /// Registers a compiled type for every later check (once).
    pub(crate) fn register(&self, c: Compiled) {
        let known = |v: &[Compiled]| v.iter().any(|k| k.id() == c.id());
        if known(&self.compiled.read().unwrap_or_else(|p| p.into_inner())) {
            return;
        }
        let mut w = self.compiled.write().unwrap_or_else(|p| p.into_inner());
        if !known(&w) {
            w.push(c);
        }
    }

    /// The compiled types registered.
    pub(crate) fn registered(&self) -> Vec<Compiled> {
        self.compiled
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Comparisons run so far: one per distinct pair of a blob schema and
    /// a compiled type.
    pub(crate) fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// The conflicts between `schema` (hashed to `hash`) and compiled type
    /// `c`, as text (`None`: none). A type `schema` does not have conflicts
    /// with nothing (no records of it are read).
    pub(crate) fn conflicts(&self, schema: &Schema, hash: u64, c: Compiled) -> Outcome {
        let key = (hash, c.id());
        // One lock for the lookup and the insert, so a pair is compared
        // once even when two refreshes meet it at the same time.
        self.outcomes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_insert_with(|| {
                self.runs.fetch_add(1, Ordering::Relaxed);
                compare(schema, c)
            })
            .clone()
    }

    /// Every registered type's conflicts with `schema`, as one message per
    /// type that has some (empty when every type reads it right).
    pub(crate) fn check_all(&self, schema: &Schema, hash: u64) -> Vec<String> {
        self.registered()
            .into_iter()
            .filter_map(|c| {
                self.conflicts(schema, hash, c)
                    .map(|text| conflict_message(c.name, &text))
            })
            .collect()
    }
}

/// Runs the comparison of `schema` (a blob's) with compiled type `c`.
fn compare(schema: &Schema, c: Compiled) -> Outcome {
    // A type the blob lacks: nothing of it is read.
    schema.get(c.name)?;
    let diff = evolution::diff_reachable(schema, c.schema, &[c.name]);
    let lines: Vec<String> = diff.conflicts().map(|ch| ch.to_string()).collect();
    (!lines.is_empty()).then(|| Arc::from(lines.join("; ")))
}

/// How a type's conflicts are told: the type, then each conflicting
/// change (`was` the blob's definition, `is now` the compiled one).
pub(crate) fn conflict_message(type_name: &str, conflicts: &str) -> String {
    format!(
        "the compiled type {type_name} would misread it (was: the blob's definition, \
         is now: the compiled one): {conflicts}"
    )
}

/// A hash of a schema, equal for equal schemas: the key a comparison's
/// outcome is kept under. Costs one walk of the schema (its `Debug` text,
/// fed to the hasher without being kept).
pub(crate) fn schema_hash(schema: &Schema) -> u64 {
    struct Feed(std::collections::hash_map::DefaultHasher);
    impl std::fmt::Write for Feed {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let mut feed = Feed(std::collections::hash_map::DefaultHasher::new());
    // Writing to `Feed` cannot fail.
    let _ = std::fmt::write(&mut feed, format_args!("{schema:?}"));
    feed.0.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hollow_schema::{assign_layout, Field, StructType, Type, TypeDef};

    fn movie(fields: Vec<Field>) -> Schema {
        let mut m = StructType::new("Movie");
        m.is_record = true;
        m.fields = fields;
        let mut s = Schema::new();
        s.insert(TypeDef::Struct(m));
        assign_layout(&mut s).unwrap();
        s
    }

    fn compiled(s: Schema) -> Compiled {
        Compiled {
            name: "Movie",
            schema: Box::leak(Box::new(s)),
        }
    }

    fn text() -> Schema {
        movie(vec![
            Field::slot("id", 0, Type::UInt64),
            Field::slot("name", 1, Type::Text),
        ])
    }

    #[test]
    fn equal_schemas_hash_alike_and_changed_ones_do_not() {
        assert_eq!(schema_hash(&text()), schema_hash(&text()));
        let mut added = text();
        let TypeDef::Struct(m) = &mut added.types[0] else {
            unreachable!()
        };
        m.fields.push(Field::slot("year", 2, Type::UInt16));
        assert_ne!(schema_hash(&text()), schema_hash(&added));
        assert_ne!(schema_hash(&text()), schema_hash(&Schema::new()));
    }

    #[test]
    fn each_pair_of_schema_and_type_is_compared_once() {
        let checks = SchemaChecks::default();
        let retyped = compiled(movie(vec![
            Field::slot("id", 0, Type::UInt64),
            Field::slot("name", 1, Type::UInt32),
        ]));
        let same = compiled(text());
        checks.register(retyped);
        checks.register(same);
        checks.register(same);
        assert_eq!(checks.registered().len(), 2);
        let blob = text();
        let h = schema_hash(&blob);
        for _ in 0..3 {
            let found = checks.check_all(&blob, h);
            assert_eq!(found.len(), 1, "{found:?}");
            assert!(
                found[0].contains(
                    "Movie.name: type changed: was name @1 :Text (pointer 0), \
                     is now name @1 :UInt32 (data bits 64..96)"
                ),
                "{found:?}"
            );
        }
        assert_eq!(checks.runs(), 2);
        // A schema without the type: nothing of it is read.
        assert_eq!(checks.conflicts(&Schema::new(), 1, retyped), None);
        assert_eq!(checks.runs(), 3);
    }
}
