//! The movie catalog example: a producer and consumers over a local
//! directory, using the types hollow-codegen generated from
//! `schemas/movies.capnp`.
//!
//! ```text
//! cargo run -p generated-examples --bin movies [-- DIR]
//! ```
//!
//! 1. Three producer cycles (adds, changes, removals); a consumer follows
//!    each version by deltas and looks records up by primary key.
//! 2. Schema evolution: `Movie` gains a field (`tagline @10 :Text`, here the
//!    hand-derived [`MovieV2`]). A producer built with the new type restores
//!    the announced version and continues the same history (one delta, one
//!    record changed); the consumer built with the old type follows it by
//!    that delta and reads the new version, and a new consumer reads both
//!    the old versions (taglines empty) and the new one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore, Hollow, Producer, ReadState, Record};

use generated_examples::demo::{data_dir, open_store, BoxError};
use generated_examples::gen::movies::{
    Actor, Movie, MovieByGenres, MovieByLocalizedTitlesKey, MovieByTags, Review,
};
use generated_examples::sample;

/// `Movie` after a schema change: the fields of `movies.capnp` plus
/// `tagline @10 :Text`. The same type name (`Movie`), so it is the same
/// record type in the dataset.
#[derive(Hollow, Clone, Debug, Default, PartialEq)]
#[hollow(
    rename = "Movie",
    primary_key(id),
    hash_index(year),
    hash_index(genres)
)]
pub struct MovieV2 {
    id: u64,
    title: String,
    year: u16,
    runtime_min: u16,
    rating: f32,
    genres: Vec<String>,
    cast_ids: Vec<u64>,
    description: String,
    localized_titles: BTreeMap<String, String>,
    tags: BTreeSet<String>,
    /// New in version 2 of the schema.
    tagline: String,
}

impl MovieV2 {
    fn from_v1(m: &Movie, tagline: &str) -> Self {
        MovieV2 {
            id: m.id,
            title: m.title.clone(),
            year: m.year,
            runtime_min: m.runtime_min,
            rating: m.rating,
            genres: m.genres.clone(),
            cast_ids: m.cast_ids.clone(),
            description: m.description.clone(),
            localized_titles: m.localized_titles.clone(),
            tags: m.tags.clone(),
            tagline: tagline.into(),
        }
    }
}

fn show(state: &ReadState) -> Result<(), BoxError> {
    let movies = state.records::<Movie>();
    println!(
        "  version {}: {} movies, {} actors, {} reviews",
        state.version(),
        movies.len(),
        state.records::<Actor>().len(),
        state.records::<Review>().len()
    );
    for (ordinal, m) in movies.iter() {
        println!(
            "    movie ordinal {ordinal}: #{} {:?} ({}), rated {:.1}, genres {:?}",
            Movie::primary_key_ref(&m),
            m.title(),
            m.year(),
            m.rating(),
            m.genres().iter().collect::<Vec<_>>()
        );
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let dir = data_dir("movies")?;
    let (store, announcer) = open_store(&dir)?;
    println!("movies example in {}", dir.display());
    let old_consumer = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache-v1"))
        .build()?;
    let last_v1 = cycles(&store, &announcer, &old_consumer).await?;

    println!("\nschema evolution: Movie gains `tagline @10 :Text`");
    let catalog = sample::movies::at(3);
    let with_taglines: Vec<MovieV2> = catalog
        .movies
        .iter()
        .map(|m| MovieV2::from_v1(m, if m.id == 2 { "Nothing is copied." } else { "" }))
        .collect();
    let version = continue_with_new_type(&store, &announcer, &catalog, &with_taglines).await?;
    old_type_reads_new_data(&old_consumer, version, &catalog).await?;
    new_type_reads_both(&dir, &store, &announcer, last_v1, &catalog, &with_taglines).await?;
    println!("\ndone: every lookup matched what the producer wrote");
    Ok(())
}

/// Three cycles of the catalog, each read back by `consumer` and checked;
/// the last version.
async fn cycles(
    store: &Arc<FsBlobStore>,
    announcer: &Arc<FileAnnouncer>,
    consumer: &Consumer,
) -> Result<u64, BoxError> {
    let mut producer = Producer::builder(store.clone(), announcer.clone())
        .record_type::<Movie>()
        .record_type::<Actor>()
        .record_type::<Review>()
        .build();
    for cycle in 1..=3 {
        let catalog = sample::movies::at(cycle);
        let outcome = producer
            .run_cycle(|w| {
                catalog.movies.iter().try_for_each(|m| w.add(m))?;
                catalog.actors.iter().try_for_each(|a| w.add(a))?;
                catalog.reviews.iter().try_for_each(|r| w.add(r))
            })
            .await?;
        let version = outcome
            .version
            .ok_or("the data changed, so a version is expected")?;
        println!(
            "\ncycle {cycle}: announced version {version}, changes {:?}",
            outcome.changes
        );
        consumer.refresh().await?;
        let state = consumer.current().ok_or("the consumer holds no version")?;
        show(&state)?;
        lookups(&state, &catalog)?;
    }
    Ok(consumer.version().ok_or("no version")?)
}

/// Lookups by primary key and by genre in `state`, checked against
/// `catalog`, what was produced.
fn lookups(state: &ReadState, catalog: &sample::movies::Catalog) -> Result<(), BoxError> {
    let zero_copy = state
        .records::<Movie>()
        .by_primary_key(&2)
        .ok_or("movie 2 is missing")?;
    let expected = catalog
        .movies
        .iter()
        .find(|m| m.id == 2)
        .ok_or("no movie 2")?;
    if zero_copy.to_value()? != *expected {
        return Err("movie 2 read back differs from what was produced".into());
    }
    println!(
        "  lookup movie 2 -> {:?} rated {:.1}",
        zero_copy.title(),
        zero_copy.rating()
    );
    // A hash-index lookup (the derive generates `MovieByGenres` from
    // `hash_index(genres)`): every movie listing "drama", checked
    // against a scan of what was produced.
    let dramas: Vec<u64> = state
        .index::<MovieByGenres>()
        .get("drama")
        .map(|m| m.id())
        .collect();
    let mut expected_dramas: Vec<u64> = catalog
        .movies
        .iter()
        .filter(|m| m.genres.iter().any(|g| g == "drama"))
        .map(|m| m.id)
        .collect();
    let mut sorted = dramas.clone();
    sorted.sort_unstable();
    expected_dramas.sort_unstable();
    if sorted != expected_dramas {
        return Err(format!(
            "movies by genre \"drama\": index gives {dramas:?}, expected {expected_dramas:?}"
        )
        .into());
    }
    println!("  lookup movies by genre \"drama\" -> ids {dramas:?}");
    localized(state, catalog)?;
    let review = state
        .records::<Review>()
        .by_primary_key(&(1, "ana"))
        .ok_or("review (1, ana) is missing")?;
    println!(
        "  lookup review (1, \"ana\") -> {} stars at {} ms: {:?}",
        review.stars(),
        review.posted_at().epoch_millis(),
        review.text()
    );
    Ok(())
}

/// Maps and sets read in place: every movie's title in French (a lookup
/// in its `localizedTitles` map) and whether it is tagged "classic" (its
/// `tags` set), checked against what was produced.
fn localized(state: &ReadState, catalog: &sample::movies::Catalog) -> Result<(), BoxError> {
    for wanted in &catalog.movies {
        let m = state
            .records::<Movie>()
            .by_primary_key(&wanted.id)
            .ok_or_else(|| format!("movie {} is missing", wanted.id))?;
        let titles = m.localized_titles();
        let fr = titles.get(&"fr");
        let classic = m.tags().contains(&"classic");
        if fr != wanted.localized_titles.get("fr").map(String::as_str)
            || classic != wanted.tags.contains("classic")
            || titles.len() != wanted.localized_titles.len()
        {
            return Err(format!("movie {}: titles or tags read back differ", wanted.id).into());
        }
        println!(
            "  movie {} in French: {:?} ({} locales: {:?}), tags {:?}",
            m.id(),
            fr.unwrap_or("-"),
            titles.len(),
            titles.keys().collect::<Vec<_>>(),
            m.tags()
        );
    }
    // Hash indexes over a set's elements (`hash_index(tags)`) and a map's
    // keys (`hash_index(localizedTitles.key)`): every movie tagged
    // "classic", and every movie with a French title, checked against a
    // scan of what was produced.
    let ids = |found: &mut dyn Iterator<Item = u64>| {
        let mut v: Vec<u64> = found.collect();
        v.sort_unstable();
        v
    };
    let classics = ids(&mut state.index::<MovieByTags>().get("classic").map(|m| m.id()));
    let in_french = ids(&mut state
        .index::<MovieByLocalizedTitlesKey>()
        .get("fr")
        .map(|m| m.id()));
    let scan = |keep: &dyn Fn(&Movie) -> bool| {
        ids(&mut catalog.movies.iter().filter(|m| keep(m)).map(|m| m.id))
    };
    if classics != scan(&|m| m.tags.contains("classic"))
        || in_french != scan(&|m| m.localized_titles.contains_key("fr"))
    {
        return Err(format!(
            "index lookups differ from a scan: tagged classic {classics:?}, in French {in_french:?}"
        )
        .into());
    }
    println!("  lookup movies tagged \"classic\" -> ids {classics:?}; with a French title -> ids {in_french:?}");
    Ok(())
}

/// A producer built with the new type continues the history; the version
/// it publishes.
async fn continue_with_new_type(
    store: &Arc<FsBlobStore>,
    announcer: &Arc<FileAnnouncer>,
    catalog: &sample::movies::Catalog,
    with_taglines: &[MovieV2],
) -> Result<u64, BoxError> {
    let populate = |w: &mut hollow_runtime::producer::CycleWriter<'_>| {
        with_taglines.iter().try_for_each(|m| w.add(m))?;
        catalog.actors.iter().try_for_each(|a| w.add(a))?;
        catalog.reviews.iter().try_for_each(|r| w.add(r))
    };
    // A producer built with the new type continues the history: it restores
    // the announced version (whose snapshot has the old schema), and its
    // next cycle publishes a delta and a snapshot carrying the new schema.
    // The records are not re-encoded: the movies whose tagline stays empty
    // are byte-identical to before and keep their ordinals.
    let mut producer_v2 = Producer::builder(store.clone(), announcer.clone())
        .record_type::<MovieV2>()
        .record_type::<Actor>()
        .record_type::<Review>()
        .build();
    producer_v2.restore_latest().await?;
    let outcome = producer_v2.run_cycle(populate).await?;
    let version = outcome
        .version
        .ok_or("movie 2 gained a tagline, so a version is expected")?;
    println!(
        "  producer (new schema) continued the history: version {version}, changes {:?}",
        outcome.changes
    );
    let changed: Vec<_> = outcome
        .changes
        .iter()
        .filter(|(_, added, removed)| added + removed > 0)
        .collect();
    if changed != [&("Movie".to_string(), 1, 1)] {
        return Err(format!(
            "only movie 2 changed, but the cycle reports {:?}",
            outcome.changes
        )
        .into());
    }
    Ok(version)
}

/// The consumer built with the old type follows to `version`, written
/// with the new one.
async fn old_type_reads_new_data(
    old_consumer: &Consumer,
    version: u64,
    catalog: &sample::movies::Catalog,
) -> Result<(), BoxError> {
    old_consumer.refresh().await?;
    let state = old_consumer.current().ok_or("no version")?;
    if state.version() != version {
        return Err(format!("the old consumer is at {}, not {version}", state.version()).into());
    }
    let m2 = state
        .records::<Movie>()
        .by_primary_key(&2)
        .ok_or("movie 2 is missing")?;
    println!(
        "  old-schema consumer at version {}: movie 2 is {:?}, rated {:.1} (it has no tagline \
         getter; the field is skipped)",
        state.version(),
        m2.title(),
        m2.rating()
    );
    if m2.to_value()? != catalog.movies[1] {
        return Err("the old consumer reads movie 2 differently".into());
    }
    if state.records::<Movie>().len() != catalog.movies.len() {
        return Err("the old consumer sees a different number of movies".into());
    }

    Ok(())
}

/// Consumers built with the new type read data of the old schema (the
/// tagline reads as empty) and of the new one.
async fn new_type_reads_both(
    dir: &Path,
    store: &Arc<FsBlobStore>,
    announcer: &Arc<FileAnnouncer>,
    last_v1: u64,
    catalog: &sample::movies::Catalog,
    with_taglines: &[MovieV2],
) -> Result<(), BoxError> {
    let new_on_old = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache-v2-on-v1"))
        .build()?;
    new_on_old.refresh_to(last_v1).await?;
    let state = new_on_old.current().ok_or("no version")?;
    let old = state
        .records::<MovieV2>()
        .by_primary_key(&2)
        .ok_or("movie 2 is missing")?;
    println!(
        "  new-schema consumer at version {} (old schema): movie 2 {:?}, tagline {:?}",
        state.version(),
        old.title(),
        old.tagline()
    );
    if old.to_value()? != MovieV2::from_v1(&catalog.movies[1], "") {
        return Err("the new consumer misreads data of the old schema".into());
    }
    let new_on_new = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache-v2"))
        .build()?;
    new_on_new.refresh().await?;
    let state = new_on_new.current().ok_or("no version")?;
    let new = state
        .records::<MovieV2>()
        .by_primary_key(&2)
        .ok_or("movie 2 is missing")?;
    println!(
        "  new-schema consumer at version {} (new schema): movie 2 tagline {:?}",
        state.version(),
        new.tagline()
    );
    if new.to_value()? != with_taglines[1] {
        return Err("the new consumer misreads data of the new schema".into());
    }
    Ok(())
}
