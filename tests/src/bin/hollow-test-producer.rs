//! A producer in its own process, for the kill and race tests
//! (`tests/processes.rs`): it publishes [`dataset::catalog`]s to a local
//! directory store (an `FsBlobStore` and a `FileAnnouncer` sharing it),
//! continuing from the announced version.
//!
//! ```text
//! hollow-test-producer loop <dir> <records>
//!     restores, then publishes version v as catalog(records, v, EVERY)
//!     (v above every version with blobs in the store), forever, printing
//!     "announced <v>" after each announcement
//! hollow-test-producer once <dir> <records>
//!     the same, for one version, then exits
//! hollow-test-producer race <dir> <records> <writer> <offset>
//!     restores, prints "ready", waits for a line on stdin, then publishes
//!     one version v as catalog(records, v * 1000 + offset, EVERY) with the
//!     header tag writer=<writer>; exits 0 when it announced, 3 when
//!     another producer won the version, 1 on any other failure
//! ```

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use hollow_runtime::store::BlobStore;
use hollow_runtime::{ErrorKind, FileAnnouncer, FsBlobStore, Producer};
use hollow_tests::dataset::{self, Catalog};
use hollow_tests::{Actor, Movie};

/// Records whose id is a multiple of this change in every version.
const EVERY: u64 = 16;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let number = |i: usize| arg(i).parse::<u64>().unwrap_or_default();
    let (mode, dir, records) = (arg(0), arg(1), number(2));
    if dir.is_empty() || records == 0 || !matches!(mode, "loop" | "once" | "race") {
        eprintln!("usage: hollow-test-producer loop|once|race <dir> <records> [<writer> <offset>]");
        return ExitCode::from(2);
    }
    let rt = dataset::runtime();
    rt.block_on(async {
        let store = Arc::new(FsBlobStore::new(dir).expect("the store"));
        let announcer = Arc::new(FileAnnouncer::new(dir).expect("the announcer"));
        let mut builder = Producer::builder(store.clone(), announcer)
            .record_type::<Movie>()
            .record_type::<Actor>();
        if mode == "race" {
            builder = builder.header_tag("writer", arg(3));
        }
        let mut producer = builder.build();
        if let Err(e) = producer.restore_latest().await {
            eprintln!("restore failed: {e}");
            return ExitCode::from(1);
        }
        let mut out = std::io::stdout();
        if mode == "race" {
            let _ = writeln!(out, "ready");
            let _ = out.flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
        }
        // A restored producer mints above every version with blobs in the
        // store (a killed producer's leftovers too); after its first cycle,
        // above the version it announced.
        let mut taken = match store.list().await {
            Ok(names) => names
                .iter()
                .map(|n| n.to_version().max(n.from_version()))
                .max(),
            Err(e) => {
                eprintln!("listing the store failed: {e}");
                return ExitCode::from(1);
            }
        };
        loop {
            let next = producer.announced().max(taken.take()).map_or(1, |v| v + 1);
            let seed = if mode == "race" {
                next * 1000 + number(4)
            } else {
                next
            };
            let catalog = dataset::catalog(records, seed, EVERY);
            match publish(&mut producer, &catalog).await {
                Ok(v) => {
                    let _ = writeln!(out, "announced {v}");
                    let _ = out.flush();
                }
                Err(e) if e.kind() == ErrorKind::AnnounceConflict => {
                    eprintln!("lost version {next}: {e}");
                    return ExitCode::from(3);
                }
                Err(e) => {
                    eprintln!("cycle for version {next} failed: {e}");
                    return ExitCode::from(1);
                }
            }
            if mode != "loop" {
                return ExitCode::SUCCESS;
            }
        }
    })
}

/// Publishes `c` as one cycle; the version announced.
async fn publish(producer: &mut Producer, c: &Catalog) -> Result<u64, hollow_runtime::Error> {
    let outcome = producer
        .run_cycle(|w| {
            c.movies.values().try_for_each(|m| w.add(m))?;
            c.actors.values().try_for_each(|a| w.add(a))
        })
        .await?;
    outcome.version.ok_or_else(|| {
        hollow_runtime::Error::new(ErrorKind::Planning, "the cycle found nothing to publish")
    })
}
