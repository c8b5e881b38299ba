//! The `hollow` operations tool, as a library: the binary only parses the
//! command line ([`args::Cli`]) and calls [`run`].
//!
//! Every command reads the store's blobs directly (memory-mapped from a
//! private copy, never in place: see [`store::Store::copy`]) and their
//! records through the schema-driven dynamic reader
//! ([`hollow_runtime::dynamic`]), so it works on any dataset with no
//! generated code. Without `--version`, a command reads the announced
//! version; a store with no announcement has no default.
//!
//! The commands, one module each under [`cmd`]:
//!
//! | command | what it prints |
//! |---|---|
//! | `versions` | the announced version and every version's blobs |
//! | `schema` | a version's dataset schema as `.capnp` text |
//! | `inspect` | one record, by primary key or ordinal |
//! | `export` | every record of a version, as JSON Lines |
//! | `diff` | the records added, removed and changed between two versions |
//! | `history` | every version one record changed in |
//! | `verify` | whether the blobs are sound and chain (exit code 3 if not) |
//! | `serve` | a read-only web explorer of all the above, with a JSON API (see [`serve`]) |
//! | `schema-diff` | each change between two schemas (store versions or `.capnp` files), compatible or breaking (exit code 3 if any is breaking) |
//! | `pin`, `unpin` | pins every consumer to a checked version, or releases them (see [`cmd::admin`]) |
//! | `announce` | announces a checked, published version: a rollback or roll forward |
//! | `clean` | deletes the blobs retention no longer needs |
//!
//! ```no_run
//! use clap::Parser;
//!
//! let cli = hollow_cli::args::Cli::parse_from(["hollow", "versions", "/data/movies"]);
//! let mut out = std::io::stdout().lock();
//! if let Err(e) = hollow_cli::run(cli, &mut out) {
//!     eprintln!("error: {e}");
//!     std::process::exit(e.code().into());
//! }
//! ```

pub mod args;
pub mod cmd;
mod error;
pub mod lookup;
pub mod serve;
pub mod store;
mod table;
pub mod version;

pub use error::{
    CliError, EXIT_BREAKING, EXIT_CONFLICT, EXIT_ERROR, EXIT_REFUSED, EXIT_VERIFY_FAILED,
};

use args::{Cli, Command};
use store::Store;

/// Runs an admin command (`pin`, `unpin`, `announce`, `clean`).
fn run_admin(command: Command, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    use cmd::admin::Request;
    let (common, request, confirm) = match command {
        Command::Pin {
            common,
            version,
            confirm,
        } => (common, Request::Pin { version }, confirm),
        Command::Unpin { common, confirm } => (common, Request::Unpin, confirm),
        Command::Announce {
            common,
            version,
            expect,
            confirm,
        } => (common, Request::Announce { version, expect }, confirm),
        Command::Clean {
            common,
            keep,
            confirm,
        } => {
            let keep = usize::try_from(keep).unwrap_or(usize::MAX);
            (common, Request::Clean { keep }, confirm)
        }
        other => return Err(CliError::new(format!("{other:?} is not an admin command"))),
    };
    let store = Store::open(&common.store)?;
    let confirmation = cmd::admin::Confirm {
        yes: confirm.yes,
        dry_run: confirm.dry_run,
    };
    cmd::admin::run(&store, &request, confirmation, common.json, out)
}

/// Runs one command, writing its output to `out`.
///
/// # Errors
/// A [`CliError`] whose message is one line saying what is wrong (and what
/// exists instead), and whose [`code`](CliError::code) is the exit code.
pub fn run(cli: Cli, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    match cli.command {
        Command::Versions { common } => {
            cmd::versions::run(&Store::open(&common.store)?, common.json, out)
        }
        Command::Schema { common, version } => {
            cmd::schema::run(&Store::open(&common.store)?, version, common.json, out)
        }
        Command::Inspect {
            common,
            type_name,
            key,
            ordinal,
            version,
        } => {
            let target = match (key, ordinal) {
                (Some(k), _) => cmd::inspect::Target::Key(k),
                (None, Some(o)) => cmd::inspect::Target::Ordinal(o),
                (None, None) => return Err(CliError::new("give --key K or --ordinal N")),
            };
            let store = Store::open(&common.store)?;
            cmd::inspect::run(&store, &type_name, &target, version, common.json, out)
        }
        Command::Export {
            common,
            version,
            type_name,
        } => cmd::export::run(
            &Store::open(&common.store)?,
            version,
            type_name.as_deref(),
            out,
        )
        .map(|_| ()),
        Command::Diff {
            common,
            from,
            to,
            type_name,
        } => cmd::diff::run(
            &Store::open(&common.store)?,
            from,
            to,
            type_name.as_deref(),
            common.json,
            out,
        ),
        Command::History {
            common,
            type_name,
            key,
        } => cmd::history::run(
            &Store::open(&common.store)?,
            &type_name,
            &key,
            common.json,
            out,
        ),
        Command::Verify {
            common,
            version,
            quick,
        } => cmd::verify::run(
            &Store::open(&common.store)?,
            version,
            quick,
            common.json,
            out,
        ),
        Command::Serve {
            store,
            bind,
            port,
            admin,
        } => {
            let admin = serve::admin::Config::from_args(&admin, &store)?;
            serve::run(
                Store::open(&store)?,
                &serve::Options { bind, port, admin },
                out,
            )
        }
        admin @ (Command::Pin { .. }
        | Command::Unpin { .. }
        | Command::Announce { .. }
        | Command::Clean { .. }) => run_admin(admin, out),
        Command::SchemaDiff {
            old,
            new,
            json,
            import_paths,
        } => {
            let sides = cmd::schema_diff::Options { import_paths };
            cmd::schema_diff::run(
                &cmd::schema_diff::Side::parse(&old)?,
                &cmd::schema_diff::Side::parse(&new)?,
                &sides,
                json,
                out,
            )
        }
    }
}
