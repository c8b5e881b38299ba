//! Hash indexes over sets and maps: `hash_index(tags)` on a set finds every
//! record whose set holds a tag; `hash_index(titles.key)` and
//! `hash_index(titles.value)` every record whose map has that key, or that
//! value; `hash_index(info.labels)` reads a set inside a nested struct. Every lookup is checked against a scan of the records, after a
//! snapshot and after each delta that adds and removes set elements and
//! map entries, through the typed views and through run-time
//! [`IndexSpec`]s (a typed index's, and one with a reader of its own).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use hollow_runtime::schema::Key;
use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::wire::StructReader;
use hollow_runtime::{
    Consumer, Hollow, IndexKind, IndexSpec, KeyHasher, KeyPart, KeyReader, Producer, ReadState,
    Struct,
};

#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(
    primary_key(id),
    hash_index(tags),
    hash_index(ranks),
    hash_index(titles.key),
    hash_index(titles.value),
    hash_index(votes.value),
    hash_index(info.labels)
)]
struct Movie {
    id: u64,
    tags: BTreeSet<String>,
    ranks: HashSet<u32>,
    /// Title by locale.
    titles: BTreeMap<String, String>,
    /// Votes by reviewer.
    votes: HashMap<u32, u8>,
    /// A nested struct holding a set: `hash_index(info.labels)`.
    info: Info,
}

/// A struct inside [`Movie`] with a set of its own.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(nested)]
struct Info {
    labels: BTreeSet<u16>,
}

const TAGS: [&str; 6] = ["classic", "noir", "", "cult", "western", "short"];
const LOCALES: [&str; 4] = ["en", "fr", "de", "ja"];

/// Movie `id` as produced in cycle `cycle`: most movies keep their sets and
/// maps from one cycle to the next, a few gain and lose elements and entries.
fn movie(id: u64, cycle: u64) -> Movie {
    let v = if id.is_multiple_of(5) { id + cycle } else { id };
    Movie {
        id,
        tags: (0..v % 4)
            .map(|i| TAGS[((v + i * 3) % 6) as usize].to_owned())
            .collect(),
        ranks: (0..v % 3).map(|i| ((v + i) % 7) as u32).collect(),
        titles: (0..v % 5)
            .map(|i| {
                let locale = LOCALES[((v + i) % 4) as usize];
                (locale.to_owned(), format!("title {}", (v + i) % 9))
            })
            .collect(),
        votes: (0..v % 4).map(|i| (i as u32, (v % 3) as u8)).collect(),
        info: Info {
            labels: (0..v % 3).map(|i| ((v * 7 + i) % 5) as u16).collect(),
        },
    }
}

/// The movies of cycle `cycle`: ids come and go too.
fn movies(cycle: u64) -> BTreeMap<u64, Movie> {
    (0..60)
        .filter(|id| !(id + cycle).is_multiple_of(11))
        .map(|id| (id, movie(id, cycle)))
        .collect()
}

/// The sorted ids of the movies `keep` selects: the scan every lookup is
/// checked against.
fn scan(all: &BTreeMap<u64, Movie>, keep: impl Fn(&Movie) -> bool) -> Vec<u64> {
    all.values().filter(|m| keep(m)).map(|m| m.id).collect()
}

fn sorted(ids: impl Iterator<Item = u64>) -> Vec<u64> {
    let mut ids: Vec<u64> = ids.collect();
    ids.sort_unstable();
    ids
}

/// The encoding of a text key (see `KeyHasher`): what a run-time lookup
/// takes.
fn text_key(t: &str) -> Vec<u8> {
    let mut h = KeyHasher::new();
    h.write_u64(t.len() as u64);
    h.write(t.as_bytes());
    h.bytes().to_vec()
}

/// A run-time reader of each title of a movie (its map's values), as an
/// index without generated index code reads them.
struct EachTitle;

impl KeyReader for EachTitle {
    fn keys(&self, r: &StructReader<'_>, h: &mut KeyHasher, f: &mut dyn FnMut(&[u8])) {
        for title in Movie::wrap(*r).titles().values() {
            h.clear();
            <String as KeyPart>::hash_key_ref(&title, h);
            f(h.bytes());
        }
    }
    fn describe(&self, r: &StructReader<'_>) -> String {
        format!("titles={}", Movie::wrap(*r).titles().len())
    }
}

/// The run-time index of [`EachTitle`], on the schema's key `titles.value`.
fn title_spec() -> IndexSpec {
    IndexSpec::new("Movie", "eachTitle", IndexKind::Hash, Arc::new(EachTitle))
        .with_key(Key::parse("titles.value").unwrap())
}

/// Every index of `state` answers as a scan of `all` does, for present and
/// absent keys; `label` names the version in failures.
fn check(state: &ReadState, all: &BTreeMap<u64, Movie>, label: &str) {
    let by_tags = state.index::<MovieByTags>();
    for tag in TAGS.iter().chain(&["absent"]) {
        let want = scan(all, |m| m.tags.contains(*tag));
        assert_eq!(
            sorted(by_tags.get(tag).map(|m| m.id())),
            want,
            "{label}: tag {tag:?}"
        );
        assert_eq!(by_tags.count(tag), want.len(), "{label}: tag {tag:?}");
    }
    let by_rank = state.index::<MovieByRanks>();
    for rank in 0..8 {
        let want = scan(all, |m| m.ranks.contains(&rank));
        assert_eq!(
            sorted(by_rank.get(rank).map(|m| m.id())),
            want,
            "{label}: rank {rank}"
        );
    }
    let by_locale = state.index::<MovieByTitlesKey>();
    let locale_spec = IndexSpec::of::<MovieByTitlesKey>();
    let by_locale_dyn = state.index_of(&locale_spec);
    let records = state.records::<Movie>();
    for locale in LOCALES.iter().chain(&["xx"]) {
        let want = scan(all, |m| m.titles.contains_key(*locale));
        let got = sorted(by_locale.get(locale).map(|m| m.id()));
        assert_eq!(got, want, "{label}: locale {locale:?}");
        let got_dyn = sorted(
            by_locale_dyn
                .ordinals(&text_key(locale))
                .into_iter()
                .map(|o| records.get(o).expect("a present ordinal").id()),
        );
        assert_eq!(got_dyn, want, "{label}: run-time locale {locale:?}");
    }
    let by_title = state.index::<MovieByTitlesValue>();
    let by_title_dyn = state.index_of(&title_spec());
    for t in 0..10 {
        let title = format!("title {t}");
        let want = scan(all, |m| m.titles.values().any(|v| *v == title));
        let got = sorted(by_title.get(&title).map(|m| m.id()));
        assert_eq!(got, want, "{label}: title {title:?}");
        let got_dyn = sorted(
            by_title_dyn
                .ordinals(&text_key(&title))
                .into_iter()
                .map(|o| records.get(o).expect("a present ordinal").id()),
        );
        assert_eq!(got_dyn, want, "{label}: run-time title {title:?}");
    }
    let by_label = state.index::<MovieByInfoLabels>();
    for label_ in 0..6u16 {
        let want = scan(all, |m| m.info.labels.contains(&label_));
        assert_eq!(
            sorted(by_label.get(label_).map(|m| m.id())),
            want,
            "{label}: nested set label {label_}"
        );
    }
    let by_vote = state.index::<MovieByVotesValue>();
    for vote in 0..4u8 {
        let want = scan(all, |m| m.votes.values().any(|v| *v == vote));
        assert_eq!(
            sorted(by_vote.get(vote).map(|m| m.id())),
            want,
            "{label}: vote {vote}"
        );
    }
}

#[tokio::test]
async fn set_and_map_indexes_answer_as_a_scan_after_a_snapshot_and_each_delta() {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    // One consumer builds every index at load and updates it by deltas
    // (the run-time title index too); one builds them on first use (and
    // updates them from then on); one registers the locale index as a
    // run-time spec only.
    let registered = Consumer::builder(store.clone(), announcer.clone())
        .record_type::<Movie>()
        .index_spec(title_spec())
        .build()
        .unwrap();
    let on_use = Consumer::builder(store.clone(), announcer.clone())
        .build()
        .unwrap();
    let by_spec = Consumer::builder(store, announcer)
        .index_spec(IndexSpec::of::<MovieByTitlesKey>())
        .build()
        .unwrap();
    let mut held = Vec::new();
    for cycle in 0..6 {
        let all = movies(cycle);
        producer
            .run_cycle(|w| all.values().try_for_each(|m| w.add(m)))
            .await
            .unwrap();
        for (c, name) in [
            (&registered, "registered"),
            (&on_use, "on use"),
            (&by_spec, "spec"),
        ] {
            c.refresh().await.unwrap();
            check(
                &c.current().unwrap(),
                &all,
                &format!("{name}, cycle {cycle}"),
            );
        }
        held.push((registered.current().unwrap(), all));
    }
    // A state held from before keeps the answers of its own version.
    for (cycle, (state, all)) in held.iter().enumerate() {
        check(state, all, &format!("held, cycle {cycle}"));
    }
}

/// The run-time description of a map index names the path through the
/// entry struct, as the schema does.
#[test]
fn map_index_specs_name_the_entry_field_they_read() {
    let key = IndexSpec::of::<MovieByTitlesKey>();
    assert_eq!(key.kind(), IndexKind::Hash);
    assert_eq!(key.key(), Some(&Key::parse("titles.key").unwrap()));
    let value = IndexSpec::of::<MovieByTitlesValue>();
    assert_eq!(value.key(), Some(&Key::parse("titles.value").unwrap()));
    assert_eq!(
        IndexSpec::of::<MovieByTags>().key(),
        Some(&Key::parse("tags").unwrap())
    );
}
