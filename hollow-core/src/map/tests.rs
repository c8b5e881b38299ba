use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::wire::{MessageBuilder, StructReader};

/// One data word and one pointer: room for any key and value pair of one
/// data and one pointer field, or of two pointer fields' first.
const SIZE: StructSize = StructSize {
    data_words: 1,
    pointers: 1,
};

/// A message whose root holds one pointer, written by `write`.
fn message(write: impl FnOnce(&mut MessageBuilder, usize)) -> Vec<u8> {
    let mut msg = MessageBuilder::new();
    let w = msg.init_root(0, 1).pointer_word(0);
    write(&mut msg, w);
    msg.words().iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// The list the root's pointer points to.
fn root_list(bytes: &[u8]) -> ListReader<'_> {
    StructReader::root(bytes)
        .unwrap()
        .pointer(0)
        .list_reader()
        .unwrap_or_else(|_| ListReader::empty())
}

/// The bytes of a map in canonical form, entries laid out in `SIZE` at
/// `key_at` and `value_at`.
fn map_bytes<K: MapKey, V: Value>(entries: &[(K, V)], key_at: &[u32], value_at: &[u32]) -> Vec<u8> {
    let mut refs: Vec<(&K, &V)> = entries.iter().map(|(k, v)| (k, v)).collect();
    message(|msg, w| write_map(&mut refs, msg, w, SIZE, key_at, value_at))
}

/// `map` read back agrees with the oracle in every lookup (of its keys and
/// of `probes`) and in iteration.
fn check_text_map(oracle: &BTreeMap<String, u64>, probes: &[String]) {
    // Entries given in reverse: the writer sorts them.
    let entries: Vec<(String, u64)> = oracle.iter().rev().map(|(k, v)| (k.clone(), *v)).collect();
    let bytes = map_bytes(&entries, &[0], &[0]);
    let map = MapRef::<String, u64>::new(root_list(&bytes), &[0], &[0]);
    assert_eq!(map.len(), oracle.len());
    assert_eq!(map.is_empty(), oracle.is_empty());
    let read: Vec<(&str, u64)> = map.iter().collect();
    let want: Vec<(&str, u64)> = oracle.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(read, want);
    assert!(map.keys().eq(oracle.keys().map(String::as_str)));
    assert!(map.values().eq(oracle.values().copied()));
    for k in oracle.keys().chain(probes) {
        assert_eq!(map.get(&k.as_str()), oracle.get(k).copied(), "key {k:?}");
        assert_eq!(map.contains_key(&k.as_str()), oracle.contains_key(k));
    }
}

fn check_int_map(oracle: &BTreeMap<i64, String>, probes: &[i64]) {
    let entries: Vec<(i64, String)> = oracle.iter().rev().map(|(k, v)| (*k, v.clone())).collect();
    let bytes = map_bytes(&entries, &[0], &[0]);
    let map = MapRef::<i64, String>::new(root_list(&bytes), &[0], &[0]);
    assert_eq!(map.len(), oracle.len());
    assert!(map.iter().eq(oracle.iter().map(|(k, v)| (*k, v.as_str()))));
    for k in oracle.keys().chain(probes) {
        assert_eq!(map.get(k), oracle.get(k).map(String::as_str), "key {k}");
        assert_eq!(map.contains_key(k), oracle.contains_key(k));
    }
}

fn check_text_set(items: &[String], probes: &[String]) {
    let oracle: BTreeSet<&String> = items.iter().collect();
    let bytes = message(|msg, w| write_set(items, msg, w));
    let set = SetRef::<String>::new(List::new(root_list(&bytes)));
    assert_eq!(set.len(), oracle.len());
    assert!(set.iter().eq(oracle.iter().map(|s| s.as_str())));
    for k in items.iter().chain(probes) {
        assert_eq!(set.contains(&k.as_str()), oracle.contains(k), "item {k:?}");
    }
}

fn check_int_set(items: &[u32], probes: &[u32]) {
    let oracle: BTreeSet<u32> = items.iter().copied().collect();
    let bytes = message(|msg, w| write_set(items, msg, w));
    let set = SetRef::<u32>::new(List::new(root_list(&bytes)));
    assert_eq!(set.len(), oracle.len());
    assert!(set.iter().eq(oracle.iter().copied()));
    for k in items.iter().chain(probes) {
        assert_eq!(set.contains(k), oracle.contains(k), "item {k}");
    }
}

/// Short texts over a small alphabet with non-ASCII letters, so keys share
/// prefixes and differ only in their last byte.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof!["a", "b", "é", "ß", "\u{1F600}", "\0"], 0..5)
        .prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn a_text_keyed_map_reads_as_its_btreemap(
        oracle in proptest::collection::btree_map(text(), any::<u64>(), 0..40),
        probes in proptest::collection::vec(text(), 0..10),
    ) {
        check_text_map(&oracle, &probes);
    }

    #[test]
    fn an_integer_keyed_map_reads_as_its_btreemap(
        oracle in proptest::collection::btree_map(-50i64..50, text(), 0..40),
        probes in proptest::collection::vec(any::<i64>(), 0..10),
    ) {
        check_int_map(&oracle, &probes);
    }

    #[test]
    fn a_text_set_reads_as_its_btreeset(
        items in proptest::collection::vec(text(), 0..40),
        probes in proptest::collection::vec(text(), 0..10),
    ) {
        check_text_set(&items, &probes);
    }

    #[test]
    fn an_integer_set_reads_as_its_btreeset(
        items in proptest::collection::vec(0u32..100, 0..40),
        probes in proptest::collection::vec(any::<u32>(), 0..10),
    ) {
        check_int_set(&items, &probes);
    }
}

#[test]
fn edge_cases_read_as_their_oracles() {
    check_text_map(&BTreeMap::new(), &["".into(), "a".into()]);
    check_text_map(&BTreeMap::from([("".to_string(), 7)]), &["a".into()]);
    let near: BTreeMap<String, u64> = ["ab", "ac", "a\u{7f}", "a\u{80}", "日本", "日本語"]
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), i as u64))
        .collect();
    check_text_map(&near, &["a".into(), "ad".into(), "日".into()]);
    let ints = BTreeMap::from([
        (i64::MIN, "min".into()),
        (-1, "".into()),
        (0, "z".into()),
        (i64::MAX, "max".into()),
    ]);
    check_int_map(&ints, &[1, -2, i64::MIN + 1]);
    check_int_set(&[], &[0]);
    check_int_set(&[u32::MAX, 0, u32::MAX], &[1]);
    check_text_set(&["b".into(), "a".into(), "b".into()], &["".into()]);
}

#[test]
fn keys_of_every_kind_order_as_documented() {
    assert_eq!(i8::cmp_refs(&-1, &0), Ordering::Less);
    assert_eq!(bool::cmp_refs(&false, &true), Ordering::Less);
    assert_eq!(u64::cmp_refs(&u64::MAX, &0), Ordering::Greater);
    assert_eq!(String::cmp_refs(&"b", &"ab"), Ordering::Greater);
    assert_eq!(String::cmp_refs(&"z", &"é"), Ordering::Less);
    let (a, b): (&[u8], &[u8]) = (b"ab", b"ab\0");
    assert_eq!(<Vec<u8>>::cmp_refs(&a, &b), Ordering::Less);
    assert_eq!("x".to_string().cmp_owned(&"x".to_string()), Ordering::Equal);
}

#[test]
fn a_data_keyed_map_finds_its_keys() {
    let entries: Vec<(Vec<u8>, u64)> =
        vec![(b"\xff".to_vec(), 1), (vec![], 2), (b"\x00".to_vec(), 3)];
    let bytes = map_bytes(&entries, &[0], &[0]);
    let map = MapRef::<Vec<u8>, u64>::new(root_list(&bytes), &[0], &[0]);
    let keys: Vec<&[u8]> = map.keys().collect();
    assert_eq!(keys, [&b""[..], b"\x00", b"\xff"]);
    assert_eq!(map.get(&&b"\x00"[..]), Some(3));
    assert_eq!(map.get(&&b"\x01"[..]), None);
}

#[test]
#[should_panic(expected = "repeated")]
fn a_repeated_key_is_refused_when_writing() {
    map_bytes(&[(1u32, 1u64), (1, 2)], &[0], &[1]);
}

#[test]
fn damaged_maps_miss_but_never_misread() {
    // Entries written out of order, bypassing the writer's sort.
    let bytes = message(|msg, w| {
        let mut list = msg.init_struct_list_at(w, 3, 1, 0);
        for (i, k) in [3u64, 1, 2].into_iter().enumerate() {
            list.struct_at(i as u32).set_u64(0, k);
        }
    });
    let map = MapRef::<u64, u64>::new(root_list(&bytes), &[0], &[0]);
    assert_eq!(map.len(), 3);
    for k in 0..5 {
        if let Some(v) = map.get(&k) {
            assert_eq!(v, k, "a hit reads its own entry");
        }
    }
    // A list of other than structs reads as an empty map.
    let bytes = message(|msg, w| write_set(&[1u32, 2], msg, w));
    let map = MapRef::<u32, u32>::new(root_list(&bytes), &[0], &[1]);
    assert!(map.is_empty());
    assert_eq!(map.get(&1), None);
}

#[derive(crate::Hollow, Debug, PartialEq)]
struct Tagged {
    id: u64,
    tags: std::collections::BTreeSet<String>,
    codes: std::collections::HashSet<u32>,
}

#[test]
fn set_fields_derive_encode_canonically_and_read_in_place() {
    let t = Tagged {
        id: 7,
        tags: ["drama", "crime", "é"].map(String::from).into(),
        codes: [30, 10, 20].into(),
    };
    let bytes = crate::to_canonical_bytes(&t).unwrap();
    // Equal sets, whatever the order they were built in: equal bytes.
    let again = Tagged {
        id: 7,
        tags: ["é", "drama", "crime"].map(String::from).into(),
        codes: [20, 30, 10, 20].into(),
    };
    assert_eq!(crate::to_canonical_bytes(&again).unwrap(), bytes);
    let r = crate::read_root::<Tagged>(&bytes).unwrap();
    assert!(r.tags().contains(&"crime"));
    assert!(!r.tags().contains(&"comedy"));
    assert_eq!(r.tags().iter().collect::<Vec<_>>(), ["crime", "drama", "é"]);
    assert_eq!(r.codes().iter().collect::<Vec<_>>(), [10, 20, 30]);
    assert!(r.codes().contains(&20));
    assert_eq!(r.to_value().unwrap(), t);
    let text: &str = &Tagged::CAPNP_SCHEMA;
    assert!(text.contains("using Hollow = import"), "{text}");
    assert!(text.contains("tags @1 :List(Text) $Hollow.set;"), "{text}");
    assert!(
        text.contains("codes @2 :List(UInt32) $Hollow.set;"),
        "{text}"
    );
    assert_eq!(
        <Tagged as crate::Struct>::schema()
            .get_struct("Tagged")
            .unwrap()
            .fields[1]
            .as_slot()
            .unwrap()
            .collection,
        Some(hollow_schema::Collection::Set)
    );
}

#[derive(crate::Hollow, Debug, PartialEq, Clone)]
#[hollow(nested)]
struct Title {
    text: String,
    votes: u32,
}

#[derive(crate::Hollow, Debug, PartialEq)]
#[hollow(primary_key(id))]
struct Movie {
    id: u64,
    titles: BTreeMap<String, String>,
    by_locale: std::collections::HashMap<String, Title>,
    aliases: BTreeMap<String, Vec<String>>,
    ratings: BTreeMap<String, BTreeMap<u32, u64>>,
    #[hollow(entry = "Count")]
    counts: BTreeMap<i16, u8>,
}

fn movie() -> Movie {
    let title = |text: &str, votes| Title {
        text: text.into(),
        votes,
    };
    Movie {
        id: 9,
        titles: BTreeMap::from([
            ("fr".into(), "Le Titre".into()),
            ("en".into(), "The Title".into()),
        ]),
        by_locale: [
            ("de".into(), title("Der Titel", 3)),
            ("é".into(), title("", 0)),
        ]
        .into(),
        aliases: BTreeMap::from([
            ("en".into(), vec!["T".into(), "TT".into()]),
            ("x".into(), vec![]),
        ]),
        ratings: BTreeMap::from([
            ("imdb".into(), BTreeMap::from([(10, 5), (1, 7)])),
            ("none".into(), BTreeMap::new()),
        ]),
        counts: BTreeMap::from([(-1, 1), (i16::MIN, 2), (300, 3)]),
    }
}

#[test]
fn map_fields_derive_encode_canonically_and_read_in_place() {
    let m = movie();
    let bytes = crate::to_canonical_bytes(&m).unwrap();
    let r = crate::read_root::<Movie>(&bytes).unwrap();
    assert_eq!(r.titles().get(&"fr"), Some("Le Titre"));
    assert_eq!(r.titles().get(&"de"), None);
    assert_eq!(r.titles().get_owned(&"en".to_string()), Some("The Title"));
    assert_eq!(r.titles().keys().collect::<Vec<_>>(), ["en", "fr"]);
    let de = r.by_locale().get(&"de").unwrap();
    assert_eq!((de.text(), de.votes()), ("Der Titel", 3));
    assert_eq!(r.by_locale().keys().collect::<Vec<_>>(), ["de", "é"]);
    let en: Vec<&str> = r.aliases().get(&"en").unwrap().iter().collect();
    assert_eq!(en, ["T", "TT"]);
    assert!(r.aliases().get(&"x").unwrap().is_empty());
    let imdb = r.ratings().get(&"imdb").unwrap();
    assert_eq!(imdb.iter().collect::<Vec<_>>(), [(1, 7), (10, 5)]);
    assert_eq!(imdb.get(&10), Some(5));
    assert!(r.ratings().get(&"none").unwrap().is_empty());
    assert_eq!(r.counts().keys().collect::<Vec<_>>(), [i16::MIN, -1, 300]);
    assert_eq!(r.to_value().unwrap(), m);
    // A HashMap's own iteration order (random per map) is not what is
    // stored.
    for _ in 0..4 {
        let mut again = movie();
        let entries: Vec<(String, Title)> = again.by_locale.into_iter().collect();
        again.by_locale = entries.into_iter().rev().collect();
        assert_eq!(crate::to_canonical_bytes(&again).unwrap(), bytes);
    }
    let debug = format!("{r:?}");
    assert!(
        debug.contains(r#"titles: {"en": "The Title", "fr": "Le Titre"}"#),
        "{debug}"
    );
}

#[test]
fn map_fields_declare_their_entry_structs() {
    let text: &str = &Movie::CAPNP_SCHEMA;
    for line in [
        "titles @1 :List(MovieTitlesEntry) $Hollow.map;",
        "byLocale @2 :List(MovieByLocaleEntry) $Hollow.map;",
        "aliases @3 :List(MovieAliasesEntry) $Hollow.map;",
        "ratings @4 :List(MovieRatingsEntry) $Hollow.map;",
        "counts @5 :List(Count) $Hollow.map;",
        "struct MovieTitlesEntry {",
        "struct MovieByLocaleEntry {",
        "value @1 :Title;",
        "value @1 :List(Text);",
        "value @1 :List(MovieRatingsEntryValueEntry) $Hollow.map;",
        "struct MovieRatingsEntryValueEntry {",
        "key @0 :UInt32;",
        "struct Count {",
        "key @0 :Int16;",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
    let schema = <Movie as crate::Struct>::schema();
    let titles = schema.get_struct("Movie").unwrap().fields[1]
        .as_slot()
        .unwrap();
    assert_eq!(titles.collection, Some(hollow_schema::Collection::Map));
    let entry = schema.get_struct("MovieTitlesEntry").unwrap();
    assert!(!entry.is_record);
    assert_eq!(
        entry.size,
        StructSize {
            data_words: 0,
            pointers: 2
        }
    );
    let count = schema.get_struct("Count").unwrap();
    assert_eq!(
        count.size,
        StructSize {
            data_words: 1,
            pointers: 0
        }
    );
}

/// An enum whose Rust `Ord` (by name) is not its enumerant order.
#[derive(crate::Hollow, Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Genre {
    Drama,
    Comedy,
    Action,
}

impl Ord for Genre {
    fn cmp(&self, other: &Self) -> Ordering {
        format!("{self:?}").cmp(&format!("{other:?}"))
    }
}

impl PartialOrd for Genre {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A composite key: row, then column, then genre.
#[derive(crate::Hollow, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[hollow(nested, map_key)]
struct Cell {
    row: i32,
    col: String,
    genre: Genre,
}

#[derive(crate::Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Keyed {
    genres: BTreeSet<Genre>,
    votes: BTreeMap<Genre, u32>,
    cells: BTreeMap<Cell, u64>,
    marked: std::collections::HashSet<Cell>,
}

const GENRES: [Genre; 3] = [Genre::Drama, Genre::Comedy, Genre::Action];

fn genre() -> impl Strategy<Value = Genre> {
    (0..3usize).prop_map(|i| GENRES[i])
}

fn cell() -> impl Strategy<Value = Cell> {
    (-2i32..2, text(), genre()).prop_map(|(row, col, genre)| Cell { row, col, genre })
}

/// What the canonical order of [`Cell`] is: a tuple of its fields, the
/// genre by its ordinal.
fn cell_order(c: &Cell) -> (i32, String, u16) {
    (c.row, c.col.clone(), c.genre as u16)
}

#[test]
fn enum_keys_are_ordered_by_enumerant_not_by_ord() {
    let k = Keyed {
        genres: GENRES.into(),
        votes: BTreeMap::from([(Genre::Action, 3), (Genre::Drama, 1)]),
        cells: BTreeMap::new(),
        marked: Default::default(),
    };
    // Rust's `Ord` would iterate Action, Comedy, Drama.
    assert_eq!(k.genres.iter().next(), Some(&Genre::Action));
    let bytes = crate::to_canonical_bytes(&k).unwrap();
    let r = crate::read_root::<Keyed>(&bytes).unwrap();
    let stored: Vec<Genre> = r.genres().iter().map(Result::unwrap).collect();
    assert_eq!(stored, GENRES);
    assert!(r.genres().contains_owned(&Genre::Comedy));
    assert!(r.genres().contains(&Ok(Genre::Comedy)));
    let votes: Vec<(Genre, u32)> = r.votes().iter().map(|(g, v)| (g.unwrap(), v)).collect();
    assert_eq!(votes, [(Genre::Drama, 1), (Genre::Action, 3)]);
    assert_eq!(r.votes().get_owned(&Genre::Action), Some(3));
    assert_eq!(r.votes().get_owned(&Genre::Comedy), None);
    assert_eq!(r.to_value().unwrap(), k);
    // An enumerant this schema does not know orders by its number.
    let unknown = Err(NotInSchema(7));
    assert_eq!(
        Genre::cmp_refs(&Ok(Genre::Action), &unknown),
        Ordering::Less
    );
    assert_eq!(Genre::Action.cmp_to_ref(&unknown), Ordering::Less);
}

proptest! {
    #[test]
    fn composite_and_enum_keys_read_as_their_oracles(
        cells in proptest::collection::vec((cell(), any::<u64>()), 0..30),
        genres in proptest::collection::vec((genre(), any::<u32>()), 0..5),
        probes in proptest::collection::vec(cell(), 0..10),
    ) {
        let k = Keyed {
            genres: genres.iter().map(|(g, _)| *g).collect(),
            votes: genres.iter().copied().collect(),
            cells: cells.iter().cloned().collect(),
            marked: cells.iter().map(|(c, _)| c.clone()).collect(),
        };
        let bytes = crate::to_canonical_bytes(&k).unwrap();
        let r = crate::read_root::<Keyed>(&bytes).unwrap();
        // The oracles, keyed by the canonical order.
        let oracle: BTreeMap<(i32, String, u16), u64> =
            k.cells.iter().map(|(c, v)| (cell_order(c), *v)).collect();
        let read: Vec<((i32, String, u16), u64)> = r
            .cells()
            .iter()
            .map(|(c, v)| (cell_order(&Cell::from_ref(c).unwrap()), v))
            .collect();
        prop_assert_eq!(read, oracle.clone().into_iter().collect::<Vec<_>>());
        let marked: Vec<(i32, String, u16)> = r
            .marked()
            .iter()
            .map(|c| cell_order(&Cell::from_ref(c).unwrap()))
            .collect();
        prop_assert_eq!(marked, oracle.keys().cloned().collect::<Vec<_>>());
        for p in cells.iter().map(|(c, _)| c).chain(&probes) {
            let want = oracle.get(&cell_order(p)).copied();
            prop_assert_eq!(r.cells().get_owned(p), want);
            prop_assert_eq!(r.cells().contains_key_owned(p), want.is_some());
            prop_assert_eq!(r.marked().contains_owned(p), want.is_some());
        }
        // The three forms of the order agree.
        let stored: Vec<_> = r.cells().keys().collect();
        for (i, a) in stored.iter().enumerate() {
            for (j, b) in stored.iter().enumerate() {
                let (oa, ob) = (Cell::from_ref(*a).unwrap(), Cell::from_ref(*b).unwrap());
                prop_assert_eq!(Cell::cmp_refs(a, b), i.cmp(&j));
                prop_assert_eq!(oa.cmp_to_ref(b), i.cmp(&j));
                prop_assert_eq!(oa.cmp_owned(&ob), i.cmp(&j));
            }
        }
        let votes: Vec<(u16, u32)> = r.votes().iter().map(|(g, v)| (g.unwrap() as u16, v)).collect();
        let want: BTreeMap<u16, u32> = k.votes.iter().map(|(g, v)| (*g as u16, *v)).collect();
        prop_assert_eq!(votes, want.into_iter().collect::<Vec<_>>());
        prop_assert_eq!(r.to_value().unwrap(), k);
    }
}

#[test]
fn composite_and_enum_keys_declare_their_schema() {
    let text: &str = <Keyed as crate::Struct>::capnp_schema();
    for line in [
        "genres @0 :List(Genre) $Hollow.set;",
        "votes @1 :List(KeyedVotesEntry) $Hollow.map;",
        "cells @2 :List(KeyedCellsEntry) $Hollow.map;",
        "marked @3 :List(Cell) $Hollow.set;",
        "key @0 :Cell;",
        "key @0 :Genre;",
    ] {
        assert!(text.contains(line), "{line:?} not in\n{text}");
    }
}

#[derive(crate::Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Info {
    id: u64,
    names: BTreeMap<String, String>,
}

#[derive(crate::Hollow, Debug, PartialEq)]
#[hollow(primary_key(info.id))]
struct Listing {
    info: Info,
    tags: BTreeSet<String>,
}

#[test]
fn a_key_path_reaches_past_a_struct_holding_a_map() {
    use crate::Record;
    let l = Listing {
        info: Info {
            id: 5,
            names: BTreeMap::from([("a".into(), "b".into())]),
        },
        tags: BTreeSet::from(["t".into()]),
    };
    let bytes = crate::to_canonical_bytes(&l).unwrap();
    let r = crate::read_root::<Listing>(&bytes).unwrap();
    assert_eq!(Listing::primary_key_ref(&r), 5);
    assert_eq!(l.primary_key(), 5);
    assert!(Listing::has_primary_key(&5, &r));
    assert_eq!(r.info().names().get(&"a"), Some("b"));
    let debug = format!("{r:?}");
    assert!(debug.contains(r#"names: {"a": "b"}"#), "{debug}");
    assert!(debug.contains(r#"tags: {"t"}"#), "{debug}");
    let text = <Listing as crate::Struct>::capnp_schema();
    assert!(text.contains("struct InfoNamesEntry {"), "{text}");
}

#[derive(crate::Hollow, Debug, PartialEq)]
#[hollow(nested)]
struct Clash {
    #[hollow(entry = "Shared")]
    a: BTreeMap<String, u32>,
    #[hollow(entry = "Shared")]
    b: BTreeMap<u32, String>,
}

#[test]
#[should_panic(expected = "the entry struct Shared of a map field has the name of another type")]
fn two_maps_with_one_entry_name_are_refused() {
    <Clash as crate::Struct>::schema();
}

fn title() -> impl Strategy<Value = Title> {
    (text(), any::<u32>()).prop_map(|(text, votes)| Title { text, votes })
}

proptest! {
    #[test]
    fn maps_of_structs_lists_and_maps_read_as_their_oracles(
        titles in proptest::collection::btree_map(text(), text(), 0..8),
        by_locale in proptest::collection::hash_map(text(), title(), 0..8),
        aliases in proptest::collection::btree_map(text(), proptest::collection::vec(text(), 0..4), 0..8),
        ratings in proptest::collection::btree_map(
            text(),
            proptest::collection::btree_map(any::<u32>(), any::<u64>(), 0..5),
            0..8,
        ),
        counts in proptest::collection::btree_map(any::<i16>(), any::<u8>(), 0..8),
        probes in proptest::collection::vec(text(), 0..6),
    ) {
        let m = Movie { id: 1, titles, by_locale, aliases, ratings, counts };
        let bytes = crate::to_canonical_bytes(&m).unwrap();
        let r = crate::read_root::<Movie>(&bytes).unwrap();
        // Iteration in the canonical order (Text bytewise: the oracle's).
        prop_assert!(r.titles().iter().eq(m.titles.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
        let locales: BTreeMap<&String, &Title> = m.by_locale.iter().collect();
        prop_assert!(r.by_locale().keys().eq(locales.keys().map(|k| k.as_str())));
        prop_assert!(r.counts().iter().eq(m.counts.iter().map(|(k, v)| (*k, *v))));
        for k in m.by_locale.keys().chain(m.aliases.keys()).chain(m.ratings.keys()).chain(&probes) {
            let title = r.by_locale().get(&k.as_str()).map(|t| Title::from_ref(t).unwrap());
            prop_assert_eq!(title.as_ref(), m.by_locale.get(k));
            let alias = r.aliases().get(&k.as_str()).map(|l| l.iter().collect::<Vec<_>>());
            prop_assert_eq!(alias, m.aliases.get(k).map(|l| l.iter().map(String::as_str).collect()));
            match (r.ratings().get(&k.as_str()), m.ratings.get(k)) {
                (Some(read), Some(want)) => {
                    prop_assert!(read.iter().eq(want.iter().map(|(a, b)| (*a, *b))));
                    for x in want.keys().chain(&[0, u32::MAX]) {
                        prop_assert_eq!(read.get(x), want.get(x).copied());
                    }
                }
                (None, None) => {}
                (read, want) => prop_assert!(false, "{k:?}: read {read:?}, want {want:?}"),
            }
        }
        prop_assert_eq!(r.to_value().unwrap(), m);
    }
}
