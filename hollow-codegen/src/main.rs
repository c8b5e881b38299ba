//! `hollow-codegen`: the command line front of the `hollow_codegen` library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use hollow_codegen::{Collections, Config, DriftKind, ModuleLayout};

/// Generates typed Hollow record types (Rust) from Cap'n Proto schemas.
///
/// Every `.capnp` file in the given folders (and every file given directly)
/// is compiled together, so imports between them resolve; each becomes one
/// Rust module (`movies.capnp` → `movies.rs`), declared in `mod.rs`. The
/// `$Hollow` annotations file is bundled: schemas `import "/hollow.capnp"`
/// without a copy (a `hollow.capnp` inside a schema folder is skipped).
///
/// Only files whose content changed are written. Nothing is written when a
/// schema has an error.
#[derive(Parser, Debug)]
#[command(
    name = "hollow-codegen",
    version,
    after_help = "Examples:\n  hollow-codegen schemas/ -o src/gen\n  hollow-codegen schemas/ -o src/gen --check     # CI: fail when src/gen is out of date\n  hollow-codegen schemas/ --capnp /usr/bin/capnp # use a system compiler\n\nExit status: 0 success, 1 the schemas or files have an error, 2 bad usage,\n3 --check found files out of date."
)]
struct Args {
    /// Schema folders (every `.capnp` file in them) or `.capnp` files.
    #[arg(required = true, value_name = "SCHEMAS")]
    inputs: Vec<PathBuf>,

    /// Output directory.
    #[arg(
        short = 'o',
        long = "out-dir",
        value_name = "DIR",
        default_value = "src/gen"
    )]
    out_dir: PathBuf,

    /// A directory searched for absolute imports (`import "/x.capnp"`);
    /// repeatable.
    #[arg(short = 'I', long = "import-path", value_name = "DIR")]
    import_paths: Vec<PathBuf>,

    /// Use this `capnp` executable instead of the embedded compiler
    /// (faster; the embedded one needs nothing installed).
    #[arg(long = "capnp", value_name = "PATH")]
    capnp: Option<PathBuf>,

    /// Write nothing; list the files that would change and exit with status 3
    /// if any would.
    #[arg(long)]
    check: bool,

    /// Put every module in this one file instead of one file per schema.
    #[arg(long, value_name = "FILE")]
    single_file: Option<String>,

    /// The path generated code names its support crate by (default
    /// `::hollow_runtime`; `::hollow_core` for a crate of record types alone,
    /// or the path of a re-export).
    #[arg(long, value_name = "PATH")]
    runtime_crate: Option<String>,

    /// The Rust types of map and set fields (`$Hollow.map`, `$Hollow.set`):
    /// `btree` for `BTreeMap` and `BTreeSet`, `hash` for `HashMap` and
    /// `HashSet`.
    #[arg(long, value_name = "KIND", default_value = "btree", value_parser = ["btree", "hash"])]
    collections: String,

    /// Say what is done (files read, written, unchanged, and timing).
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            let mut lines = e.message().lines();
            let first = lines.next().unwrap_or("");
            let rest: Vec<&str> = lines.collect();
            if rest.is_empty() {
                eprintln!("error: {first}");
            } else {
                eprintln!("error: {} problems; nothing was written:", rest.len() + 1);
                for l in std::iter::once(first).chain(rest) {
                    eprintln!("  {l}");
                }
            }
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<ExitCode, hollow_codegen::Error> {
    let start = Instant::now();
    let mut files = Vec::new();
    for input in &args.inputs {
        if input.is_dir() {
            files.extend(hollow_codegen::schema_files(input)?);
        } else {
            files.push(input.clone());
        }
    }
    let mut config = Config::new();
    config.out_dir(&args.out_dir);
    for p in &args.import_paths {
        config.import_path(p);
    }
    if let Some(capnp) = &args.capnp {
        config.capnp_executable(capnp);
    }
    if let Some(name) = &args.single_file {
        config.module_layout(ModuleLayout::SingleFile(name.clone()));
    }
    if let Some(krate) = &args.runtime_crate {
        config.runtime_crate(krate);
    }
    if args.collections == "hash" {
        config.collections(Collections::Hash);
    }
    if args.verbose {
        for f in &files {
            eprintln!("reading {}", f.display());
        }
    }
    if args.check {
        let drift = config.check(&files)?;
        if drift.is_empty() {
            if args.verbose {
                eprintln!(
                    "{} is up to date ({:.2?})",
                    args.out_dir.display(),
                    start.elapsed()
                );
            }
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "{} is out of date; run hollow-codegen without --check to update it:",
            args.out_dir.display()
        );
        for d in &drift {
            let what = match d.kind {
                DriftKind::Missing => "would be created",
                DriftKind::Changed => "would change",
                DriftKind::Stale => "would be removed",
            };
            eprintln!("  {} {what}", d.path.display());
        }
        return Ok(ExitCode::from(3));
    }
    let report = config.compile(&files)?;
    if args.verbose {
        for p in &report.written {
            eprintln!("wrote {}", p.display());
        }
        for p in &report.unchanged {
            eprintln!("unchanged {}", p.display());
        }
        for p in &report.removed {
            eprintln!("removed stale {}", p.display());
        }
        eprintln!("done in {:.2?}", start.elapsed());
    }
    Ok(ExitCode::SUCCESS)
}
