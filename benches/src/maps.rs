//! The map workload of `docs/benchmark.md`: items whose titles are kept by
//! locale (a map of 1 to 12 entries) with a set of tags, drawn from their
//! own generator so the movies' draws stay exactly as the scenario defines
//! them.

use std::collections::{BTreeMap, BTreeSet};

use hollow_runtime::Hollow;

use crate::{rstr, JavaRandom, GENRES};

/// The seed of the items' own generator.
pub const ITEM_SEED: u64 = 4242;

/// The locales an item's titles are drawn from, in draw order.
pub const LOCALES: [&str; 12] = [
    "ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "ru", "zh",
];

/// An item with titles by locale and a set of tags.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id))]
pub struct Item {
    /// Primary key.
    pub id: u64,
    /// One title, 20 to 40 characters, for each of 1 to 12 distinct locales.
    pub titles: BTreeMap<String, String>,
    /// Zero to three distinct genres.
    pub tags: BTreeSet<String>,
}

/// An [`Item`] without its titles: the same records with no map, so the
/// difference in snapshot bytes is what the map adds.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id))]
pub struct ItemWithoutTitles {
    /// Primary key.
    pub id: u64,
    /// As [`Item::tags`].
    pub tags: BTreeSet<String>,
}

/// An [`Item`] stored as plain lists: the same bytes (the titles as a list
/// of key-value structs in key order, the tags as a sorted list), without
/// the map and set marks, so loading it checks no stored order. Its load
/// time is the baseline of the map check's cost.
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(primary_key(id))]
pub struct ItemAsLists {
    /// Primary key.
    pub id: u64,
    /// As [`Item::titles`], in key order.
    pub titles: Vec<ItemTitle>,
    /// As [`Item::tags`], in order.
    pub tags: Vec<String>,
}

/// One title of an [`ItemAsLists`]: an entry of [`Item::titles`].
#[derive(Hollow, Debug, Clone, PartialEq)]
#[hollow(nested)]
pub struct ItemTitle {
    /// The locale.
    pub key: String,
    /// The title.
    pub value: String,
}

impl From<&Item> for ItemAsLists {
    fn from(i: &Item) -> Self {
        ItemAsLists {
            id: i.id,
            titles: i
                .titles
                .iter()
                .map(|(k, v)| ItemTitle {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            tags: i.tags.iter().cloned().collect(),
        }
    }
}

/// Generates `count` items with ids `0..count` from [`ITEM_SEED`]: for each,
/// `k = 1 + nextInt(12)` distinct locales (`LOCALES[nextInt(12)]`, redrawn on
/// a duplicate), each with a title `rstr(20 + nextInt(21))`; then
/// `nextInt(4)` distinct tags (`GENRES[nextInt(20)]`, redrawn on a
/// duplicate).
pub fn items(count: u64) -> Vec<Item> {
    let mut rng = JavaRandom::new(ITEM_SEED);
    (0..count)
        .map(|id| {
            let k = 1 + rng.next_int(12) as usize;
            let mut titles = BTreeMap::new();
            while titles.len() < k {
                let locale = LOCALES[rng.next_int(12) as usize];
                if titles.contains_key(locale) {
                    continue;
                }
                let n = 20 + rng.next_int(21);
                titles.insert(locale.to_string(), rstr(&mut rng, n));
            }
            let k = rng.next_int(4) as usize;
            let mut tags = BTreeSet::new();
            while tags.len() < k {
                tags.insert(GENRES[rng.next_int(20) as usize].to_string());
            }
            Item { id, titles, tags }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_deterministic_and_within_their_ranges() {
        let a = items(500);
        assert_eq!(a, items(500));
        assert!(a.iter().all(|i| (1..=12).contains(&i.titles.len())));
        assert!(a.iter().all(|i| i.tags.len() <= 3));
        assert!(a
            .iter()
            .flat_map(|i| i.titles.values())
            .all(|t| (20..=40).contains(&t.len())));
        // Every size of map occurs.
        let sizes: BTreeSet<usize> = a.iter().map(|i| i.titles.len()).collect();
        assert_eq!(sizes.len(), 12);
    }
}
