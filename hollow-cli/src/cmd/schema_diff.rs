//! `hollow schema-diff`: what changed between two dataset schemas, each
//! change compatible or breaking by Cap'n Proto's evolution rules.
//!
//! Each side is a version of a store (its blob header's schema) or a
//! `.capnp` file (compiled with the embedded compiler, as `hollow-codegen`
//! compiles it). The comparison is [`evolution::diff`], the rule set the
//! producer and consumer checks use, so what this command calls breaking is
//! what a producer refuses to publish as a continuation.
//!
//! The same from Rust, for a check of one's own:
//!
//! ```no_run
//! use hollow_cli::cmd::schema_diff::{Options, Side};
//! use hollow_runtime::schema::evolution;
//!
//! # fn main() -> Result<(), hollow_cli::CliError> {
//! let opts = Options::default();
//! let old = Side::parse("/data/movies")?.load(&opts)?;
//! let new = Side::parse("schemas/movies.capnp")?.load(&opts)?;
//! let diff = hollow_cli::cmd::schema_diff::compare(&old, &new)?;
//! for change in diff.breaking() {
//!     eprintln!("{change}");
//! }
//! // The same changes as the rule set's own function.
//! assert_eq!(diff, evolution::diff(&old.schema, &new.schema));
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};

use hollow_runtime::blob::{BlobHeader, BlobView};
use hollow_runtime::schema::evolution::{self, Change, ChangeKind, SchemaDiff, Verdict};
use hollow_runtime::schema::Schema;
use hollow_runtime::store::BlobName;
use serde_json::{json, Value};

use crate::cmd::{write, write_json, VersionStatus};
use crate::error::{CliError, EXIT_BREAKING};
use crate::store::{list_versions, Store};

/// One side of the comparison, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// A version of a store: `STORE@V`, or `STORE` for its announced
    /// version.
    Store {
        /// The store as the other commands take it (a directory, a
        /// `file://` or an `s3://` URL).
        store: String,
        /// The version; `None` for the announced one.
        version: Option<u64>,
    },
    /// `.capnp` schema files, compiled together (one or more).
    Capnp(Vec<PathBuf>),
}

impl Side {
    /// Reads a side from its command-line form:
    ///
    /// - a name ending in `.capnp` is a schema file, and `a.capnp,b.capnp`
    ///   several, compiled together (for a dataset whose record types are
    ///   declared in more than one file);
    /// - an existing directory is a store, at its announced version;
    /// - `STORE@V` is version `V` of `STORE` (the last `@` counts, and what
    ///   follows it must be a number);
    /// - anything else is a store, at its announced version.
    ///
    /// ```
    /// use hollow_cli::cmd::schema_diff::Side;
    ///
    /// assert_eq!(
    ///     Side::parse("s3://bucket/movies@12").unwrap(),
    ///     Side::Store { store: "s3://bucket/movies".into(), version: Some(12) }
    /// );
    /// assert_eq!(
    ///     Side::parse("/nonexistent/movies").unwrap(),
    ///     Side::Store { store: "/nonexistent/movies".into(), version: None }
    /// );
    /// assert_eq!(Side::parse("movies.capnp").unwrap(), Side::Capnp(vec!["movies.capnp".into()]));
    /// assert_eq!(
    ///     Side::parse("movies.capnp,iot.capnp").unwrap(),
    ///     Side::Capnp(vec!["movies.capnp".into(), "iot.capnp".into()])
    /// );
    /// assert!(Side::parse("/data/movies@latest").is_err());
    /// ```
    ///
    /// # Errors
    /// A `STORE@X` whose `X` is not a version number; a list of `.capnp`
    /// files with something else in it.
    pub fn parse(spec: &str) -> Result<Side, CliError> {
        if spec.ends_with(".capnp") {
            let files: Vec<&str> = spec.split(',').collect();
            if let Some(odd) = files.iter().find(|f| !f.ends_with(".capnp")) {
                return Err(CliError::new(format!(
                    "{spec}: {odd:?} is not a .capnp file; a side is STORE, STORE@V, or \
                     .capnp files separated by commas"
                )));
            }
            return Ok(Side::Capnp(files.into_iter().map(PathBuf::from).collect()));
        }
        if Path::new(spec).is_dir() {
            return Ok(Side::Store {
                store: spec.to_owned(),
                version: None,
            });
        }
        if let Some((store, v)) = spec.rsplit_once('@') {
            if !store.is_empty() && !v.contains('/') {
                let version = v.parse::<u64>().map_err(|_| {
                    CliError::new(format!(
                        "{spec}: {v:?} after the @ is not a version number; give STORE@V \
                         with V a version (`hollow versions {store}` lists them), STORE for \
                         its announced version, or a FILE.capnp"
                    ))
                })?;
                return Ok(Side::Store {
                    store: store.to_owned(),
                    version: Some(version),
                });
            }
        }
        Ok(Side::Store {
            store: spec.to_owned(),
            version: None,
        })
    }

    /// Reads the side's schema: the blob header's for a store version,
    /// the compiled file's for a `.capnp` file.
    ///
    /// # Errors
    /// A store that cannot be opened, a version it does not have (the
    /// message lists those it has), a store with no announcement when no
    /// version is given, a corrupt blob; a schema file that does not exist
    /// or does not compile (the compiler's own messages, with file and
    /// line, go to stderr), or whose types the schema IR cannot hold.
    pub fn load(&self, options: &Options) -> Result<Loaded, CliError> {
        match self {
            Side::Store { store, version } => {
                let s = Store::open(store)?;
                let announced = s.announced()?;
                let v = match (version, announced) {
                    (Some(v), _) => s.resolve_version(Some(*v))?,
                    (None, Some(a)) => s.resolve_version(Some(a))?,
                    (None, None) => {
                        return Err(CliError::new(format!(
                            "store {} has no announced version, so {store} names no schema; \
                             name a version as {store}@V (it has versions {})",
                            s.describe(),
                            list_versions(&s.versions())
                        )))
                    }
                };
                let header = header_at(&s, v)?;
                Ok(Loaded {
                    schema: header.schema,
                    source: Source::Store {
                        store: s.describe(),
                        version: v,
                        status: VersionStatus::of(v, announced),
                    },
                })
            }
            Side::Capnp(paths) => {
                let mut config = hollow_codegen::Config::new();
                for dir in &options.import_paths {
                    config.import_path(dir);
                }
                let source = Source::Capnp(paths.clone());
                let schema = config.schema(paths).map_err(|e| {
                    if e.kind() == hollow_codegen::ErrorKind::Compiler {
                        // The embedded compiler has written its messages
                        // (`file:line:column: error: …`) to stderr.
                        return CliError::new(format!(
                            "schema {source} does not compile; the Cap'n Proto compiler's \
                             messages above give file and line"
                        ));
                    }
                    let problems: Vec<&str> = e.message().lines().collect();
                    if e.kind() == hollow_codegen::ErrorKind::Schema {
                        CliError::new(format!(
                            "schema {source} is not a dataset schema: {}",
                            problems.join("; ")
                        ))
                    } else {
                        // A missing file or I/O: the message names the file.
                        CliError::new(problems.join("; "))
                    }
                })?;
                Ok(Loaded { schema, source })
            }
        }
    }
}

/// The header of the smallest blob producing `version` of `store`: its
/// snapshot or a delta into it, each of which carries the dataset schema of
/// `version`. A delta is usually a small fraction of the snapshot, and only
/// the chosen blob is fetched and checked, so a schema is read from a large
/// remote store without fetching its snapshot.
///
/// # Errors
/// No blob leads to the version, or the chosen one is corrupt.
fn header_at(store: &Store, version: u64) -> Result<BlobHeader, CliError> {
    let mut best: Option<(u64, BlobName)> = None;
    for &name in store.blobs() {
        let produces = match name {
            BlobName::Snapshot(v) => v == version,
            BlobName::Delta { to, .. } => to == version,
            BlobName::ReverseDelta { .. } => false,
        };
        if produces {
            let size = store.size(name)?;
            if best.is_none_or(|(s, _)| size < s) {
                best = Some((size, name));
            }
        }
    }
    match best {
        Some((_, name)) => {
            let map = store.map(name)?;
            Ok(BlobView::open(&name.to_string(), &map)?.header().clone())
        }
        // Only reverse deltas lead there: as `hollow schema` reads it.
        None => crate::cmd::schema::schema_at(store, version),
    }
}

/// How `.capnp` sides are compiled.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Directories searched for absolute imports (`/hollow.capnp` is
    /// always found).
    pub import_paths: Vec<PathBuf>,
}

/// Where a loaded schema came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A version of a store.
    Store {
        /// The store, described (`dir /data/movies`).
        store: String,
        /// The version.
        version: u64,
        /// Where it stands against the store's announcement.
        status: VersionStatus,
    },
    /// `.capnp` files.
    Capnp(Vec<PathBuf>),
}

impl std::fmt::Display for Source {
    /// `version 12 of dir /data/movies (announced)`, `file movies.capnp`,
    /// `files movies.capnp, iot.capnp`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Store {
                store,
                version,
                status,
            } => write!(f, "version {version} of {store} ({})", status.as_str()),
            Source::Capnp(files) => {
                let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                let s = if names.len() == 1 { "" } else { "s" };
                write!(f, "file{s} {}", names.join(", "))
            }
        }
    }
}

impl Source {
    fn to_json(&self) -> Value {
        match self {
            Source::Store {
                store,
                version,
                status,
            } => json!({
                "kind": "store",
                "store": store,
                "version": version,
                "status": status.as_str(),
            }),
            Source::Capnp(files) => json!({
                "kind": "capnp",
                "files": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            }),
        }
    }
}

/// A side's schema and where it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The dataset schema.
    pub schema: Schema,
    /// Where it came from.
    pub source: Source,
}

/// [`evolution::diff`] from `old` to `new`, once they are known to be
/// schemas of one dataset.
///
/// # Errors
/// A side with no record type, or two sides that share no record type
/// (different datasets): the message names both sides and their record
/// types rather than listing every type as removed and added.
pub fn compare(old: &Loaded, new: &Loaded) -> Result<SchemaDiff, CliError> {
    let records =
        |l: &Loaded| -> Vec<String> { l.schema.records().map(|s| s.name.clone()).collect() };
    let (a, b) = (records(old), records(new));
    for (l, r) in [(old, &a), (new, &b)] {
        if r.is_empty() {
            return Err(CliError::new(format!(
                "{} has no record type (no struct annotated $Hollow.record), so it is not \
                 a dataset schema",
                l.source
            )));
        }
    }
    if !a.iter().any(|n| b.contains(n)) {
        return Err(CliError::new(format!(
            "{} and {} share no record type, so they are not schemas of one dataset: the \
             first has {}, the second {}",
            old.source,
            new.source,
            a.join(", "),
            b.join(", ")
        )));
    }
    Ok(evolution::diff(&old.schema, &new.schema))
}

/// The change kind's name in JSON output (`field_added`).
pub fn kind_name(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::TypeAdded => "type_added",
        ChangeKind::TypeRemoved => "type_removed",
        ChangeKind::TypeKindChanged => "type_kind_changed",
        ChangeKind::FieldAdded => "field_added",
        ChangeKind::FieldRemoved => "field_removed",
        ChangeKind::FieldRenamed => "field_renamed",
        ChangeKind::FieldRetyped => "field_retyped",
        ChangeKind::FieldMoved => "field_moved",
        ChangeKind::FieldKindChanged => "field_kind_changed",
        ChangeKind::DiscriminantMoved => "discriminant_moved",
        ChangeKind::MemberReordered => "member_reordered",
        ChangeKind::CollectionMarked => "collection_marked",
        ChangeKind::CollectionUnmarked => "collection_unmarked",
        ChangeKind::CollectionChanged => "collection_changed",
        ChangeKind::EnumerantAdded => "enumerant_added",
        ChangeKind::EnumerantRemoved => "enumerant_removed",
        ChangeKind::EnumerantRenamed => "enumerant_renamed",
    }
}

fn change_json(c: &Change) -> Value {
    json!({
        "type": c.type_name,
        "path": c.path,
        "location": c.location(),
        "kind": kind_name(c.kind),
        "verdict": c.verdict().to_string(),
        "misread": c.conflicts(),
        "before": c.before,
        "after": c.after,
        "text": c.to_string(),
    })
}

/// The summary line: `compatible: 2 changes, none breaking`.
fn summary(diff: &SchemaDiff) -> String {
    let total = diff.changes.len();
    let breaking = diff.breaking().count();
    let misread = diff.conflicts().count();
    let changes = |n: usize| {
        if n == 1 {
            "1 change".to_owned()
        } else {
            format!("{n} changes")
        }
    };
    if total == 0 {
        "compatible: no changes".to_owned()
    } else if breaking == 0 {
        format!("compatible: {}, none breaking", changes(total))
    } else {
        let verb = if breaking == 1 { "is" } else { "are" };
        let mut s = format!("breaking: {breaking} of {} {verb} breaking", changes(total));
        if misread > 0 {
            let verb = if misread == 1 { "makes" } else { "make" };
            s.push_str(&format!(
                " ({misread} {verb} readers of one schema misread the other's data)"
            ));
        }
        s
    }
}

/// Runs the command: loads both sides, prints every change (the breaking
/// ones first, each group in the order of the older schema's types) and a
/// summary line.
///
/// With `json`, one document:
///
/// ```text
/// {"old": {"kind": "store", "store": "dir /data/movies", "version": 11, "status": "older"},
///  "new": {"kind": "capnp", "files": ["schemas/movies.capnp"]},
///  "verdict": "breaking",              // or "compatible"
///  "breaking": 1, "compatible": 1, "misread": 1,
///  "changes": [{"type": "Movie", "path": "title", "location": "Movie.title",
///               "kind": "field_retyped", "verdict": "breaking", "misread": true,
///               "before": "title @1 :Text (pointer 0)", "after": "title @1 :Data (pointer 0)",
///               "text": "Movie.title: type changed: was … (breaking)"}, …]}
/// ```
///
/// `kind` is one of [`kind_name`]'s names; `misread` marks the changes
/// that make readers of one schema misread the other's data (the ones a
/// consumer refuses a blob for).
///
/// # Errors
/// A side that cannot be loaded (see [`Side::load`]) or sides of different
/// datasets (see [`compare`]); [`EXIT_BREAKING`] when a change is
/// breaking, after the output is written.
pub fn run(
    old: &Side,
    new: &Side,
    options: &Options,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let old = old.load(options)?;
    let new = new.load(options)?;
    let diff = compare(&old, &new)?;
    let mut ordered: Vec<&Change> = diff.breaking().collect();
    ordered.extend(
        diff.changes
            .iter()
            .filter(|c| c.verdict() == Verdict::Compatible),
    );
    let breaking = diff.breaking().count();
    if json {
        write_json(
            out,
            &json!({
                "old": old.source.to_json(),
                "new": new.source.to_json(),
                "verdict": if breaking > 0 { "breaking" } else { "compatible" },
                "changes": ordered.iter().map(|c| change_json(c)).collect::<Vec<_>>(),
                "breaking": breaking,
                "compatible": diff.changes.len() - breaking,
                "misread": diff.conflicts().count(),
            }),
        )?;
    } else {
        let mut text = format!("old: {}\nnew: {}\n\n", old.source, new.source);
        for c in &ordered {
            text.push_str(&format!("{c}\n"));
        }
        if !ordered.is_empty() {
            text.push('\n');
        }
        text.push_str(&summary(&diff));
        text.push('\n');
        write(out, &text)?;
    }
    if breaking > 0 {
        return Err(CliError::with_code(
            format!(
                "{} breaks {}: {breaking} breaking change{}; a producer may not continue the \
                 older history with it",
                new.source,
                old.source,
                if breaking == 1 { "" } else { "s" }
            ),
            EXIT_BREAKING,
        ));
    }
    Ok(())
}
