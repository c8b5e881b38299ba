//! A consumer in its own process, for the shared cache directory tests
//! (`tests/shared_cache.rs`): it reads a local directory store (an
//! `FsBlobStore` and a `FileAnnouncer` sharing it) through a given cache
//! directory.
//!
//! ```text
//! hollow-test-consumer <store dir> <cache dir> <version>
//!     refreshes to <version>, reads every movie and actor, prints
//!     "ready <version> <movies> <actors>"; then, for each line "to <v>"
//!     on stdin, refreshes to <v> and prints the same; exits 0 at the end
//!     of stdin, 1 on any failure (the error on stderr)
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore};
use hollow_tests::dataset::{self, by_key};
use hollow_tests::{Actor, Movie};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(store), Some(cache), Some(Ok(first))) = (
        args.first(),
        args.get(1),
        args.get(2).map(|v| v.parse::<u64>()),
    ) else {
        eprintln!("usage: hollow-test-consumer <store dir> <cache dir> <version>");
        return ExitCode::from(2);
    };
    let rt = dataset::runtime();
    let result: Result<(), String> = rt.block_on(async {
        let consumer = Consumer::builder(
            Arc::new(FsBlobStore::new(store).map_err(|e| e.to_string())?),
            Arc::new(FileAnnouncer::new(store).map_err(|e| e.to_string())?),
        )
        .cache_dir(cache)
        .build()
        .map_err(|e| e.to_string())?;
        let mut stdin = std::io::stdin().lock();
        let mut version = first;
        loop {
            consumer
                .refresh_to(version)
                .await
                .map_err(|e| format!("refreshing to {version}: {e}"))?;
            let state = consumer.current().ok_or("no state")?;
            let (movies, actors) = (by_key::<Movie>(&state), by_key::<Actor>(&state));
            let mut out = std::io::stdout().lock();
            writeln!(out, "ready {version} {} {}", movies.len(), actors.len())
                .and_then(|()| out.flush())
                .map_err(|e| e.to_string())?;
            let mut line = String::new();
            if stdin.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                return Ok(());
            }
            version = line
                .trim()
                .strip_prefix("to ")
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("not \"to <version>\": {line:?}"))?;
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hollow-test-consumer: {e}");
            ExitCode::from(1)
        }
    }
}
