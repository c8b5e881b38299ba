//! The command line, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Look into a Hollow store: its versions, schema and records, what changed
/// and when, whether its blobs are sound, and whether a schema change is
/// safe. Works on any dataset from the blobs alone (no generated code).
///
/// STORE is a local directory (the producer's blob directory, holding
/// `snapshot-<v>`, `delta-<a>-<b>`, `reversedelta-<a>-<b>` and
/// `announced.version`), a `file://` URL or an `s3://bucket/prefix` URL.
///
/// Exit codes: 0 success; 1 an error (unknown store, version, type or key,
/// a corrupt blob, a schema file that does not compile); 2 a bad command
/// line; 3 `verify` found problems, or `schema-diff` found a breaking
/// change; 4 an admin command refused (a missing or incomplete version, no
/// confirmation); 5 an admin command lost a compare-and-swap (a producer
/// announced or another operator pinned meanwhile; nothing changed).
#[derive(Debug, Parser)]
#[command(name = "hollow", version)]
pub struct Cli {
    /// The operation.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand has.
#[derive(Debug, Args, Clone)]
pub struct Common {
    /// The store: a directory, a file:// or an s3:// URL.
    #[arg(value_name = "STORE")]
    pub store: String,
    /// Print JSON (one document, or JSON Lines for export) instead of
    /// human-readable text.
    #[arg(long)]
    pub json: bool,
}

/// How an admin command confirms a change.
#[derive(Debug, Args, Clone, Copy)]
pub struct Confirmation {
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Check and show what would be done; change nothing.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
}

/// The options of `hollow serve --admin`.
#[derive(Debug, Args, Clone)]
pub struct ServeAdmin {
    /// Enable the admin endpoints (POST /admin/pin, /admin/unpin,
    /// /admin/announce, /admin/clean), each requiring the token as
    /// `Authorization: Bearer TOKEN`. Without it they do not exist (404).
    #[arg(long)]
    pub admin: bool,
    /// The admin token (or the environment variable HOLLOW_ADMIN_TOKEN);
    /// required with --admin, unused without it.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "HOLLOW_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the announced version and every version with its snapshot,
    /// delta and reverse-delta blobs and their sizes.
    #[command(after_help = "Examples:\n  \
        hollow versions /data/movies\n  \
        hollow versions file:///data/movies --json")]
    Versions {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
    },
    /// Print the dataset schema as Cap'n Proto text.
    #[command(after_help = "Examples:\n  \
        hollow schema /data/movies\n  \
        hollow schema /data/movies --version 12 > movies.capnp")]
    Schema {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The version (default: the announced one; required when the store
        /// has no announcement).
        #[arg(long, value_name = "V")]
        version: Option<u64>,
    },
    /// Print one record as JSON, found by primary key or ordinal.
    #[command(after_help = "Examples:\n  \
        hollow inspect /data/movies --type Movie --key 42\n  \
        hollow inspect /data/shop --type Stock --key eu,1234 --version 7\n  \
        hollow inspect /data/shop --type Stock --key '[\"a,b\", 1234]'\n  \
        hollow inspect /data/movies --type Movie --ordinal 0 --json")]
    Inspect {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The record type.
        #[arg(long = "type", value_name = "T")]
        type_name: String,
        /// The primary key as text; a composite key as `a,b` (or a JSON
        /// array when a part holds a comma).
        #[arg(
            long,
            value_name = "K",
            conflicts_with = "ordinal",
            required_unless_present = "ordinal"
        )]
        key: Option<String>,
        /// The record's ordinal.
        #[arg(long, value_name = "N")]
        ordinal: Option<u32>,
        /// The version (default: the announced one; required when the store
        /// has no announcement).
        #[arg(long, value_name = "V")]
        version: Option<u64>,
    },
    /// Write every record of a version as JSON Lines
    /// (`{"type":…,"ordinal":…,"record":{…}}`), streaming in constant memory.
    #[command(after_help = "Examples:\n  \
        hollow export /data/movies > movies.jsonl\n  \
        hollow export /data/movies --type Movie --version 12 | jq .record.title")]
    Export {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The version (default: the announced one; required when the store
        /// has no announcement).
        #[arg(long, value_name = "V")]
        version: Option<u64>,
        /// Only this record type (default: all).
        #[arg(long = "type", value_name = "T")]
        type_name: Option<String>,
    },
    /// Show what changed between two versions, per type: added, removed
    /// and modified records matched by primary key, with the fields that
    /// changed. Adjacent versions are compared through their delta, so the
    /// cost follows the size of the change.
    #[command(after_help = "Examples:\n  \
        hollow diff /data/movies 11 12\n  \
        hollow diff /data/movies 7 12 --type Movie --json")]
    Diff {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The older version.
        #[arg(value_name = "V1")]
        from: u64,
        /// The newer version.
        #[arg(value_name = "V2")]
        to: u64,
        /// Only this record type (default: all).
        #[arg(long = "type", value_name = "T")]
        type_name: Option<String>,
    },
    /// Show every version in which one record was added, changed or
    /// removed, with the fields that changed.
    #[command(after_help = "Examples:\n  \
        hollow history /data/movies --type Movie --key 42\n  \
        hollow history /data/shop --type Stock --key eu,1234 --json")]
    History {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The record type.
        #[arg(long = "type", value_name = "T")]
        type_name: String,
        /// The primary key as text (composite keys as `a,b`).
        #[arg(long, value_name = "K")]
        key: String,
    },
    /// Check every blob's checksum and sections, recompute every
    /// snapshot's record counts and state checksums from its records, and
    /// check that the deltas and reverse deltas chain to the snapshots
    /// (each reaches the state its target snapshot holds). Exit code 0 when
    /// all is well, 3 when not.
    #[command(after_help = "Examples:\n  \
        hollow verify /data/movies\n  \
        hollow verify /data/movies --quick\n  \
        hollow verify /data/movies --version 12 --json")]
    Verify {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// Only the blobs leading to or from this version.
        #[arg(long, value_name = "V")]
        version: Option<u64>,
        /// Skip reading every record of the snapshots (their counts and
        /// bitmaps are still checked against their directories).
        #[arg(long)]
        quick: bool,
    },
    /// Serve a read-only web explorer over the store: versions, types,
    /// schema, records (paged, by primary key, unique key or ordinal),
    /// hash-index queries, diffs and histories, each page also as JSON
    /// under /api; versions published while it runs appear. Listens on
    /// 127.0.0.1 unless --bind says otherwise, and prints the URL. With
    /// --admin and a token, also POST /admin/pin, /admin/unpin,
    /// /admin/announce and /admin/clean (JSON bodies;
    /// `Authorization: Bearer TOKEN`).
    #[command(after_help = "Examples:\n  \
        hollow serve /data/movies\n  \
        hollow serve s3://bucket/movies --port 0\n  \
        HOLLOW_ADMIN_TOKEN=s3cret hollow serve /data/movies --admin\n  \
        curl -X POST -H 'Authorization: Bearer s3cret' -d '{\"version\": 7}' \
        http://127.0.0.1:8080/admin/pin\n\n\
        Pages (JSON under /api with the same path):\n  \
        /  /v/V  /v/V/schema  /v/V/types/T?page=1&per_page=50\n  \
        /v/V/types/T/record?key=K  /v/V/types/T/record?ordinal=N\n  \
        /v/V/types/T/record?unique=F&key=K  /v/V/types/T/index?fields=F&key=K&page=1\n  \
        /diff/A/B?type=T&page=1  /history/T?key=K\n  \
        /metrics: the explorer's figures, Prometheus text format")]
    Serve {
        /// The store: a directory, a file:// or an s3:// URL.
        #[arg(value_name = "STORE")]
        store: String,
        /// The address to listen on (only this machine by default).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// The port; 0 picks a free one (the URL printed says which).
        #[arg(long, value_name = "N", default_value_t = 8080)]
        port: u16,
        /// The admin endpoints.
        #[command(flatten)]
        admin: ServeAdmin,
    },
    /// Pin every consumer of the store to VERSION: they load it at their
    /// next refresh and stay there, whatever is announced, until `hollow
    /// unpin`. Producers go on announcing. The version is checked first
    /// (its snapshot, or a snapshot and the deltas to it, read and
    /// verified); the pin is a compare-and-swap, so two operators cannot
    /// both change it unseen.
    #[command(after_help = "Examples:\n  \
        hollow pin /data/movies 7 --dry-run\n  \
        hollow pin /data/movies 7\n  \
        hollow pin s3://bucket/movies 7 --yes --json")]
    Pin {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The version to pin consumers to.
        #[arg(value_name = "VERSION")]
        version: u64,
        /// Confirmation.
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Remove the pin: consumers go back to the announced version.
    #[command(after_help = "Examples:\n  \
        hollow unpin /data/movies --dry-run\n  \
        hollow unpin /data/movies --yes")]
    Unpin {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// Confirmation.
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Announce VERSION, a version published earlier: a rollback (consumers
    /// go back to it, and the next producer cycle continues from it with a
    /// version above every version in the store) or a roll forward. The
    /// version is checked first and must be complete; a version without
    /// blobs is refused. The announcement is a compare-and-swap against the
    /// version read before asking: a producer announcing meanwhile makes
    /// the command fail (exit code 5) and nothing changes.
    #[command(after_help = "Examples:\n  \
        hollow announce /data/movies 7 --dry-run\n  \
        hollow announce /data/movies 7\n  \
        hollow announce /data/movies 7 --expect 10 --yes")]
    Announce {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// The version to announce.
        #[arg(value_name = "VERSION")]
        version: u64,
        /// Only if version V is announced now (else exit code 5).
        #[arg(long, value_name = "V")]
        expect: Option<u64>,
        /// Confirmation.
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Delete the blobs no longer needed: keep the N newest versions up to
    /// the announced one with the deltas between them, the snapshot they
    /// are reached from, what a pinned version needs, and every version
    /// above the announced one. Refused (exit code 5, nothing deleted)
    /// when the announcement or pin changes between the plan and the
    /// deletes.
    #[command(after_help = "Examples:\n  \
        hollow clean /data/movies --keep 10 --dry-run\n  \
        hollow clean s3://bucket/movies --keep 10 --yes")]
    Clean {
        /// Store and output options.
        #[command(flatten)]
        common: Common,
        /// How many versions to keep (at least 1).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        keep: u64,
        /// Confirmation.
        #[command(flatten)]
        confirm: Confirmation,
    },
    /// Compare two dataset schemas (store versions or .capnp files) and
    /// print each change as compatible or breaking by Cap'n Proto's
    /// evolution rules; exit code 3 when any change is breaking.
    ///
    /// OLD and NEW are each one of: STORE (the store's announced version),
    /// STORE@V (version V of the store), or a FILE.capnp (compiled with
    /// the embedded Cap'n Proto compiler; its record types are the structs
    /// annotated `$Hollow.record`), or several as A.capnp,B.capnp (compiled
    /// together). STORE is any store the other commands take: a directory,
    /// a file:// or an s3:// URL.
    ///
    /// A breaking change is one a producer may not publish as a
    /// continuation of OLD's history. Consumers refuse a blob only where
    /// the two schemas disagree about how a field both know is stored:
    /// those changes are counted as making readers misread (`"misread":
    /// true` in JSON). Exit code 0 when every change is compatible or there
    /// is none, 3 when any is breaking, 1 for bad input (a store, version
    /// or file that cannot be read, or two schemas that share no record
    /// type).
    #[command(after_help = "Examples:\n  \
        hollow schema-diff /data/movies@11 /data/movies@12\n  \
        hollow schema-diff /data/movies schemas/movies.capnp\n  \
        hollow schema-diff old/movies.capnp schemas/movies.capnp --json\n  \
        hollow schema-diff file:///data/movies@7 /data/movies --json\n  \
        hollow schema-diff /data/things schemas/movies.capnp,schemas/iot.capnp\n\n\
        In CI, before deploying a producer built from schemas/movies.capnp\n\
        (exit code 3 fails the job when the change is breaking):\n  \
        hollow schema-diff s3://bucket/movies schemas/movies.capnp --import-path schemas")]
    SchemaDiff {
        /// The older schema: STORE, STORE@V or FILE.capnp[,FILE.capnp…].
        #[arg(value_name = "OLD")]
        old: String,
        /// The newer schema: STORE, STORE@V or FILE.capnp[,FILE.capnp…].
        #[arg(value_name = "NEW")]
        new: String,
        /// Print one JSON document instead of human-readable text.
        #[arg(long)]
        json: bool,
        /// A directory searched for absolute imports (`import
        /// "/common.capnp"`) of a .capnp side; may be repeated.
        /// `/hollow.capnp` is always found.
        #[arg(long = "import-path", value_name = "DIR")]
        import_paths: Vec<PathBuf>,
    },
}
