//! The README's demo: a producer and a consumer over a local directory.
//!
//! Three cycles publish a small movie catalog (adds, changes, removals); a
//! consumer follows each version by applying deltas and reads records in
//! place.
//!
//! ```text
//! cargo run -p hollow-runtime --example quickstart [-- --dir PATH]
//! cargo run -p hollow-runtime --features object-store --example quickstart -- --store s3://bucket/prefix
//! ```
//!
//! The data goes to `./hollow-data` by default (blobs and the announcement
//! in `store/`, the consumer's cache in `cache/`); the directory is cleared
//! first. With `--store URL` (`s3://bucket/prefix`, `file:///path`,
//! `memory://`; S3 settings from the `AWS_*` environment variables) the
//! blobs and the announcement go there instead, and the producer first
//! restores the version announced there, if any, so the demo can be run
//! again against the same bucket.

use std::path::PathBuf;
use std::sync::Arc;

use hollow_runtime::store::{AnnouncementWatcher, Announcer, BlobStore};
use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore, Hollow, Producer, ReadState, Record};

/// A genre, stored as a Cap'n Proto enum.
#[derive(Hollow, Debug, Clone, Copy, PartialEq)]
enum Genre {
    Drama,
    Crime,
    Scifi,
}

/// A movie: the record type.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id), hash_index(genres))]
struct Movie {
    id: u64,
    title: String,
    year: u16,
    rating: f32,
    genres: Vec<Genre>,
    tagline: Option<String>,
}

fn movie(id: u64, title: &str, year: u16, rating: f32, genres: &[Genre]) -> Movie {
    Movie {
        id,
        title: title.into(),
        year,
        rating,
        genres: genres.to_vec(),
        tagline: None,
    }
}

struct Args {
    dir: PathBuf,
    store: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        dir: PathBuf::from("hollow-data"),
        store: None,
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--dir" => {
                parsed.dir = args
                    .next()
                    .ok_or("--dir needs a path, e.g. --dir /tmp/hollow")?
                    .into()
            }
            "--store" => {
                parsed.store = Some(
                    args.next()
                        .ok_or("--store needs a URL, e.g. --store s3://bucket/prefix")?,
                )
            }
            "-h" | "--help" => {
                println!(
                    "usage: quickstart [--dir PATH] [--store URL]   (default: ./hollow-data)\n\
                     URL: s3://bucket/prefix, file:///path or memory:// (blobs and announcement;\n\
                     the consumer's cache stays in PATH/cache)"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}; try --help")),
        }
    }
    Ok(parsed)
}

type Stores = (
    Arc<dyn BlobStore>,
    Arc<dyn Announcer>,
    Arc<dyn AnnouncementWatcher>,
);

/// The store, announcer and watcher at `url`.
#[cfg(feature = "object-store")]
fn open_url(url: &str) -> Result<Stores, Box<dyn std::error::Error>> {
    let o = hollow_runtime::store::url::open(url, &Default::default())?;
    Ok((o.store, o.announcer, o.watcher))
}

#[cfg(not(feature = "object-store"))]
fn open_url(url: &str) -> Result<Stores, Box<dyn std::error::Error>> {
    Err(format!(
        "--store {url}: built without the object-store feature; add --features object-store"
    )
    .into())
}

fn show(state: &ReadState) {
    let movies = state.records::<Movie>();
    println!(
        "  consumer holds version {} with {} movies:",
        state.version(),
        movies.len()
    );
    for (ordinal, m) in movies.iter() {
        println!(
            "    ordinal {ordinal}: #{} {:?} ({}), rated {:.1}{}",
            Movie::primary_key_ref(&m),
            m.title(),
            m.year(),
            m.rating(),
            m.tagline()
                .map(|t| format!(", \"{t}\""))
                .unwrap_or_default()
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let dir = args.dir;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    let (store, announcer, watcher): Stores = match &args.store {
        Some(url) => open_url(url)?,
        None => {
            let announcer = Arc::new(FileAnnouncer::new(dir.join("store"))?);
            (
                Arc::new(FsBlobStore::new(dir.join("store"))?),
                announcer.clone(),
                announcer,
            )
        }
    };
    println!("Hollow quickstart in {}", store.describe());

    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .header_tag("source", "quickstart")
        .build();
    if let Some(v) = producer.restore_latest().await? {
        println!(
            "  producer restored version {v} announced in {}",
            store.describe()
        );
    }
    let consumer = Consumer::builder(store.clone(), watcher)
        .cache_dir(dir.join("cache"))
        .build()?;

    use Genre::*;
    let mut catalog = vec![
        movie(1, "The Borrow Checker", 2024, 8.1, &[Drama, Crime]),
        movie(2, "Zero Copy", 2026, 7.4, &[Scifi]),
        movie(3, "Fearless Concurrency", 2025, 6.9, &[Drama]),
    ];
    type Change = fn(&mut Vec<Movie>);
    let cycles: [(&str, Change); 3] = [
        ("initial load", |_| {}),
        ("add a movie, change a rating", |c| {
            c.push(movie(4, "Lifetimes", 2023, 7.7, &[Drama]));
            c[1].rating = 8.8;
            c[1].tagline = Some("Nothing is copied.".into());
        }),
        ("remove a movie, change a title", |c| {
            c.retain(|m| m.id != 3);
            c[0].title = "The Borrow Checker (Director's Cut)".into();
        }),
    ];
    for (i, (what, change)) in cycles.iter().enumerate() {
        change(&mut catalog);
        println!("\ncycle {}: {what}", i + 1);
        let outcome = producer
            .run_cycle(|w| {
                for m in &catalog {
                    w.add(m)?;
                }
                Ok(())
            })
            .await?;
        let Some(version) = outcome.version else {
            println!("  no change since the restored version: nothing announced");
            continue;
        };
        println!(
            "  producer announced version {version} in {:?}",
            outcome.duration
        );
        for (name, size) in &outcome.blobs {
            println!("    {name}: {size} bytes");
        }
        let before = consumer.version();
        consumer.refresh().await?;
        let state = consumer.current().ok_or("consumer holds no version")?;
        println!(
            "  consumer refreshed {} -> {} in {:?}",
            before.map_or("nothing".to_string(), |v| v.to_string()),
            state.version(),
            consumer.metrics().last_refresh
        );
        show(&state);
    }

    let state = consumer.current().ok_or("consumer holds no version")?;
    let mut blobs = store.list().await?;
    blobs.sort();
    println!(
        "\nheader tag source = {:?}; the store holds: {}, announced.version",
        state.header_tag("source").unwrap_or("?"),
        blobs
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
