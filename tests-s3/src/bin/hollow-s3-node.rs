//! One node of the distributed end-to-end test (`tests/object_store_e2e.rs`):
//! a producer or a consumer in its own process, pointed at a store URL such
//! as `s3://bucket/prefix` (settings from the `AWS_*` environment).
//!
//! ```text
//! hollow-s3-node produce URL CYCLES   # prints "announced V movies N digest D"
//! hollow-s3-node consume URL LAST     # prints "version V movies N digest D"
//! ```
//!
//! The producer publishes `CYCLES` versions of a deterministic catalog
//! ([`catalog`]); the consumer follows the announcements (polling with
//! conditional GETs), steps through every version up to `LAST` and prints
//! what it holds at each, so the test compares the two outputs.

use std::collections::BTreeMap;
use std::time::Duration;

use hollow_runtime::store::url::{open, StoreOptions};
use hollow_runtime::{Consumer, Producer};
use hollow_tests::{dataset, Movie};

/// The catalog of cycle `c`: each cycle adds three movies, changes about a
/// fifth and leaves out about an eleventh of the others.
fn catalog(c: u64) -> BTreeMap<u64, Movie> {
    (0..40 + 3 * c)
        .filter(|id| id % 11 != c % 11)
        .map(|id| {
            let seed = if id % 5 == c % 5 { 100 + c } else { id % 3 };
            (id, dataset::movie(id, seed))
        })
        .collect()
}

/// A digest of movies listed by primary key.
fn digest(movies: &BTreeMap<u64, Movie>) -> String {
    let mut bytes = Vec::new();
    for m in movies.values() {
        bytes.extend(hollow_runtime::to_canonical_bytes(m).expect("encoding a movie"));
    }
    format!("{:016x}", hollow_runtime::hash_bytes(&bytes))
}

fn options() -> StoreOptions {
    StoreOptions {
        poll_interval: Duration::from_millis(20),
        ..StoreOptions::default()
    }
}

async fn produce(url: &str, cycles: u64) -> Result<(), Box<dyn std::error::Error>> {
    let opened = open(url, &options())?;
    let mut producer = Producer::builder(opened.store, opened.announcer)
        .record_type::<Movie>()
        .build();
    for c in 1..=cycles {
        let movies = catalog(c);
        let outcome = producer
            .run_cycle(|w| {
                for m in movies.values() {
                    w.add(m)?;
                }
                Ok(())
            })
            .await?;
        let v = outcome.version.ok_or("the catalog did not change")?;
        println!(
            "announced {v} movies {} digest {}",
            movies.len(),
            digest(&movies)
        );
    }
    Ok(())
}

async fn consume(url: &str, last: u64) -> Result<(), Box<dyn std::error::Error>> {
    let opened = open(url, &options())?;
    let consumer = Consumer::builder(opened.store, opened.watcher.clone())
        .record_type::<Movie>()
        .build()?;
    let mut seen = None;
    let mut next = 1;
    while next <= last {
        // Waits (polling) until something new is announced.
        let announced = opened.watcher.changed(seen).await?;
        seen = announced;
        let Some(announced) = announced else { continue };
        while next <= announced.min(last) {
            consumer.refresh_to(next).await?;
            let state = consumer.current().ok_or("no state after a refresh")?;
            let movies = dataset::by_key::<Movie>(&state);
            println!(
                "version {} movies {} digest {}",
                state.version(),
                movies.len(),
                digest(&movies)
            );
            next += 1;
        }
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: hollow-s3-node produce URL CYCLES | consume URL LAST";
    let (mode, url, n) = match args.as_slice() {
        [mode, url, n] => (
            mode.as_str(),
            url.as_str(),
            n.parse::<u64>().map_err(|_| usage)?,
        ),
        _ => return Err(usage.into()),
    };
    match mode {
        "produce" => produce(url, n).await,
        // Bounded: a test waiting on a consumer never hangs.
        "consume" => tokio::time::timeout(Duration::from_secs(120), consume(url, n))
            .await
            .map_err(|_| "consumer: versions not reached within 120 s")?,
        _ => Err(usage.into()),
    }
}
