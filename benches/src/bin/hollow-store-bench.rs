//! `hollow-store-bench`: the benchmark scenario of `docs/benchmark.md`
//! published to and consumed from a store given by URL (such as an
//! S3-compatible server), beside the same on a local directory measured in
//! the same run.
//!
//! ```text
//! cargo run --release -p hollow-benches --bin hollow-store-bench -- \
//!     --store s3://bucket/prefix [--movies N (200000)] [--reps R (5)]
//! ```
//!
//! S3 settings come from the `AWS_*` environment variables
//! (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP=true` for a local server, keys).
//! Each run writes under a fresh sub-prefix `<prefix>/run-<unix millis>`.
//!
//! Figures, per store: producer cycle 1 (populate, write, check, upload,
//! announce), median steady cycle (cycles 2..6, 1 % modified), consumer
//! snapshot load from an empty cache (download included), and median delta
//! refresh (download and apply) following cycles 2..6. The consumer's
//! records are checked against the producer's.

use std::time::Instant;

use hollow_benches::flags::{unknown, Flags};
use hollow_benches::{change, check_equal, initial, median, ms, populate, Actor, Movie};
use hollow_runtime::store::url::{open, Opened, StoreOptions};
use hollow_runtime::{Consumer, Producer};

struct Args {
    movies: u64,
    reps: usize,
    store: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        movies: 200_000,
        reps: 5,
        store: String::new(),
    };
    let mut f = Flags::from_env();
    while let Some(x) = f.next_flag() {
        match x.as_str() {
            "--movies" => a.movies = f.movies()?,
            "--reps" => a.reps = f.reps()?,
            "--store" => a.store = f.value("--store")?,
            "-h" | "--help" => {
                println!(
                    "usage: hollow-store-bench --store URL [--movies N (200000)] [--reps R (5)]"
                );
                std::process::exit(0);
            }
            other => return Err(unknown(other)),
        }
    }
    if a.store.is_empty() {
        return Err("--store URL is required, e.g. --store s3://bucket/prefix".into());
    }
    Ok(a)
}

/// The figures of one store.
struct Figures {
    cycle1: f64,
    steady: f64,
    load: f64,
    refresh: f64,
}

async fn measure(
    opened: &Opened,
    actors: &[Actor],
    start: &[Movie],
    rng: &hollow_benches::JavaRandom,
    n: u64,
    reps: usize,
) -> Result<Figures, Box<dyn std::error::Error>> {
    let (mut movies, mut rng, mut next_id) = (start.to_vec(), rng.clone(), n);
    let mut producer = Producer::builder(opened.store.clone(), opened.announcer.clone()).build();
    let s = Instant::now();
    let v1 = producer
        .run_cycle(populate(actors, &movies))
        .await?
        .version
        .ok_or("cycle 1 made no version")?;
    let cycle1 = ms(s.elapsed());

    // Snapshot loads, each from an empty cache: download, map, load.
    let mut loads = Vec::new();
    let mut follower = None;
    for _ in 0..reps {
        let c = Consumer::builder(opened.store.clone(), opened.watcher.clone()).build()?;
        let s = Instant::now();
        c.refresh_to(v1).await?;
        loads.push(ms(s.elapsed()));
        follower = Some(c);
    }
    let follower = follower.ok_or("no consumer")?;
    check_equal(&*follower.current().ok_or("no state")?, &movies)?;

    let mut steady = Vec::new();
    let mut refreshes = Vec::new();
    for _ in 2..=6 {
        change(&mut rng, &mut movies, n, n / 100, &mut next_id);
        let s = Instant::now();
        let v = producer
            .run_cycle(populate(actors, &movies))
            .await?
            .version
            .ok_or("a cycle with changes made no version")?;
        steady.push(ms(s.elapsed()));
        let s = Instant::now();
        follower.refresh_to(v).await?;
        refreshes.push(ms(s.elapsed()));
    }
    check_equal(&*follower.current().ok_or("no state")?, &movies)?;
    Ok(Figures {
        cycle1,
        steady: median(steady),
        load: median(loads),
        refresh: median(refreshes),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hollow-store-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("hollow-store-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let n = args.movies;
    eprintln!("generating {n} movies and 200000 actors ...");
    let (actors, movies, rng) = initial(n);
    let dir = tempfile::tempdir()?;
    let local = open(
        &format!("file://{}", dir.path().join("store").display()),
        &StoreOptions::default(),
    )?;
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let url = format!("{}/run-{run_id}", args.store.trim_end_matches('/'));
    let remote = open(&url, &StoreOptions::default())?;
    eprintln!("local directory ...");
    let base = measure(&local, &actors, &movies, &rng, n, args.reps).await?;
    eprintln!("{url} ...");
    let other = measure(&remote, &actors, &movies, &rng, n, args.reps).await?;

    println!("hollow-store-bench: {n} movies, {} reps", args.reps);
    println!("| figure | {url} | local directory (baseline) | ratio |\n|---|---|---|---|");
    for (figure, a, b) in [
        ("producer cycle 1 (ms)", other.cycle1, base.cycle1),
        (
            "producer steady cycle, median (ms)",
            other.steady,
            base.steady,
        ),
        (
            "consumer snapshot load, empty cache, median (ms)",
            other.load,
            base.load,
        ),
        (
            "consumer delta refresh, median (ms)",
            other.refresh,
            base.refresh,
        ),
    ] {
        println!("| {figure} | {a:.1} | {b:.1} | {:.2}x |", a / b);
    }
    Ok(())
}
