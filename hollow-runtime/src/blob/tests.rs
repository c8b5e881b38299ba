use hollow_schema::{Field, Key, Schema, StructType, Type, TypeDef, Union};
use proptest::prelude::*;

use super::*;
use crate::{to_canonical_bytes, Hollow, Record, Struct};

#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", nested)]
struct Info {
    note: String,
}

#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(crate = "crate")]
enum Kind {
    Plain,
    Fancy,
}

#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate")]
enum Extra {
    #[default]
    Nothing,
    Count(u32),
    Label(String),
}

#[derive(Hollow, Clone, Debug, PartialEq)]
#[hollow(crate = "crate", primary_key(id))]
struct Movie {
    id: u64,
    title: String,
    genres: Vec<String>,
    info: Option<Info>,
    kind: Kind,
    extra: Extra,
    scores: Vec<Vec<u16>>,
}

impl Default for Movie {
    fn default() -> Self {
        Movie {
            id: 0,
            title: String::new(),
            genres: Vec::new(),
            info: None,
            kind: Kind::Plain,
            extra: Extra::Nothing,
            scores: Vec::new(),
        }
    }
}

#[derive(Hollow, Clone, Debug, PartialEq, Default)]
#[hollow(crate = "crate", primary_key(code))]
struct Tiny {
    code: u8,
}

fn movies() -> Vec<Movie> {
    vec![
        Movie {
            id: 1,
            title: "Heat".into(),
            genres: vec!["crime".into(), "drama".into()],
            info: Some(Info {
                note: "Mann".into(),
            }),
            kind: Kind::Fancy,
            extra: Extra::Label("x".into()),
            scores: vec![vec![1, 2], vec![], vec![3]],
        },
        // All defaults: a zero-sized root.
        Movie::default(),
        // A zero-sized nested struct (offset -1) among the root's pointers.
        Movie {
            id: 3,
            info: Some(Info::default()),
            extra: Extra::Count(9),
            ..Movie::default()
        },
        Movie {
            id: 4,
            title: "Ran".into(),
            ..Movie::default()
        },
    ]
}

fn schema() -> Schema {
    let mut s = Movie::schema().clone();
    for t in &Tiny::schema().types {
        s.insert(t.clone());
    }
    s
}

fn bits(ordinals: &[u32]) -> Vec<u64> {
    let mut b = vec![0u64; 4];
    for &o in ordinals {
        b[o as usize / 64] |= 1 << (o % 64);
    }
    b
}

/// Movies at ordinals 0, 2, 3, 4 (1 empty), Tiny at 0..3.
fn snapshot_blob() -> Vec<u8> {
    let canon: Vec<Vec<u8>> = movies()
        .iter()
        .map(|m| to_canonical_bytes(m).unwrap())
        .collect();
    let ords = [0u32, 2, 3, 4];
    let section = snapshot_section(
        Movie::SIZE,
        5,
        &bits(&ords),
        ords.iter().zip(&canon).map(|(o, b)| (*o, &b[..])),
    )
    .unwrap();
    let tiny: Vec<Vec<u8>> = (0..3u8)
        .map(|c| to_canonical_bytes(&Tiny { code: c }).unwrap())
        .collect();
    let tiny_section = snapshot_section(
        Tiny::SIZE,
        3,
        &[0b111],
        tiny.iter().enumerate().map(|(o, b)| (o as u32, &b[..])),
    )
    .unwrap();
    let mut w = BlobWriter::new(BlobKind::Snapshot, 7, 7, 0, 0xfeed);
    let mut info = SectionInfo::snapshot("Movie", 4, 5);
    info.state_checksum = 0xabc;
    w.add_section(info, section);
    w.add_section(SectionInfo::snapshot("Tiny", 3, 3), tiny_section);
    w.finish(&schema(), &[("who".into(), "tests".into())])
        .unwrap()
}

#[test]
fn snapshot_round_trip() {
    let bytes = snapshot_blob();
    assert_eq!(bytes.len() % 8, 0);
    let view = BlobView::open("snapshot-7", &bytes).unwrap();
    assert_eq!(view.kind(), BlobKind::Snapshot);
    assert_eq!(view.prefix().to_tag, 0xfeed);
    assert_eq!(view.header().tag("who"), Some("tests"));
    let info = view.header().section("Movie").unwrap();
    assert_eq!(
        (info.record_count, info.ordinal_limit, info.state_checksum),
        (4, 5, 0xabc)
    );
    let s = view.section("Movie").unwrap();
    s.verify_checksum().unwrap();
    let snap = s.snapshot().unwrap();
    assert_eq!(snap.ordinal_limit(), 5);
    assert_eq!(snap.ordinals().collect::<Vec<_>>(), [0, 2, 3, 4]);
    assert!(snap.record_reader(1).is_none());
    assert!(snap.record_reader(5).is_none());
    for (o, m) in [0u32, 2, 3, 4].iter().zip(movies()) {
        let r = Movie::wrap(snap.record_reader(*o).unwrap());
        assert_eq!(r.to_value().unwrap(), m, "ordinal {o}");
        assert_eq!(Movie::primary_key_ref(&r), m.id);
    }
    let tiny = view.section("Tiny").unwrap().snapshot().unwrap();
    for c in 0..3u32 {
        let r = Tiny::wrap(tiny.record_reader(c).unwrap());
        assert_eq!(r.code(), c as u8);
    }
    assert!(view.section("Nope").is_none());
    assert_eq!(view.sections().count(), 2);
    // A snapshot section is not a delta section.
    assert_eq!(s.delta().unwrap_err().kind(), BlobErrorKind::Section);
}

#[test]
fn relocated_records_canonicalize_to_their_input() {
    let bytes = snapshot_blob();
    let view = BlobView::open("snapshot-7", &bytes).unwrap();
    let snap = view.section("Movie").unwrap().snapshot().unwrap();
    let mut out = Vec::new();
    for (o, m) in [0u32, 2, 3, 4].iter().zip(movies()) {
        assert!(snap.canonical_bytes(*o, &mut out).unwrap());
        assert_eq!(out, to_canonical_bytes(&m).unwrap(), "ordinal {o}");
    }
    assert!(!snap.canonical_bytes(1, &mut out).unwrap());
    assert!(out.is_empty());
}

fn delta_blob() -> Vec<u8> {
    let ms = movies();
    let a = to_canonical_bytes(&ms[0]).unwrap();
    let b = to_canonical_bytes(&ms[2]).unwrap();
    let section = delta_section(Movie::SIZE, &[1, 7, 3], &[(9, &a[..]), (1, &b[..])]).unwrap();
    let empty = delta_section(Tiny::SIZE, &[], &[]).unwrap();
    let mut w = BlobWriter::new(BlobKind::Delta, 7, 8, 0xfeed, 0xbeef);
    w.add_section(SectionInfo::delta("Movie", 2, 3, 4, 10), section);
    w.add_section(SectionInfo::delta("Tiny", 0, 0, 3, 3), empty);
    w.finish(&schema(), &[]).unwrap()
}

#[test]
fn delta_round_trip() {
    let bytes = delta_blob();
    let view = BlobView::open("delta-7-8", &bytes).unwrap();
    assert_eq!(view.prefix().from_tag, 0xfeed);
    assert_eq!(view.prefix().from_version, 7);
    let s = view.section("Movie").unwrap();
    assert_eq!(s.snapshot().unwrap_err().kind(), BlobErrorKind::Section);
    let d = s.delta().unwrap();
    assert_eq!(d.removed().collect::<Vec<_>>(), [1, 7, 3]);
    let ms = movies();
    let added: Vec<(u32, Movie)> = d
        .added()
        .map(|(o, r)| (o, Movie::wrap(r).to_value().unwrap()))
        .collect();
    assert_eq!(added, [(9, ms[0].clone()), (1, ms[2].clone())]);
    let mut out = Vec::new();
    d.canonical_bytes(1, &mut out).unwrap();
    assert_eq!(out, to_canonical_bytes(&ms[2]).unwrap());
    assert!(d.canonical_bytes(2, &mut out).is_err());
    let t = view.section("Tiny").unwrap().delta().unwrap();
    assert_eq!((t.removed_len(), t.added_len()), (0, 0));
    assert_eq!(t.added().count(), 0);
    // A reverse delta reads the same way.
    let mut w = BlobWriter::new(BlobKind::ReverseDelta, 8, 7, 0xbeef, 0xfeed);
    w.add_section(
        SectionInfo::delta("Tiny", 0, 1, 2, 3),
        delta_section(Tiny::SIZE, &[2], &[]).unwrap(),
    );
    let bytes = w.finish(&schema(), &[]).unwrap();
    let view = BlobView::open("reversedelta-8-7", &bytes).unwrap();
    let d = view.section("Tiny").unwrap().delta().unwrap();
    assert_eq!(d.removed().collect::<Vec<_>>(), [2]);
}

/// A schema using every IR feature: docs, groups, named and unnamed
/// unions, enums, nested lists, struct fields, keys.
fn rich_schema() -> Schema {
    let mut side = StructType::new("Side");
    side.fields.push(Field::slot("len", 0, Type::UInt32));
    let mut shape = StructType::new("Shape");
    shape.doc = Some("A shape.\nTwo lines.".into());
    shape.is_record = true;
    shape
        .fields
        .push(Field::slot("id", 0, Type::UInt64).with_doc("The id."));
    shape.fields.push(Field::group(
        "pos",
        vec![
            Field::slot("x", 1, Type::Float64),
            Field::group("inner", vec![Field::slot("z", 2, Type::Int8)]),
        ],
    ));
    shape.fields.push(Field::union(
        "tag",
        vec![
            Field::slot("none", 3, Type::Void),
            Field::slot(
                "names",
                4,
                Type::List(Box::new(Type::List(Box::new(Type::Text)))),
            ),
        ],
    ));
    shape
        .fields
        .push(Field::slot("color", 5, Type::Enum("Color".into())));
    shape.fields.push(Field::slot(
        "sides",
        6,
        Type::List(Box::new(Type::Struct("Side".into()))),
    ));
    shape.unnamed_union = Some(Union::new(vec![
        Field::slot("circle", 7, Type::Float64),
        Field::slot("square", 8, Type::Struct("Side".into())),
    ]));
    shape.primary_key = Some(Key::parse("id").unwrap());
    shape.unique_keys = vec![Key::parse("id,color").unwrap()];
    shape.hash_indexes = vec![
        Key::parse("color").unwrap(),
        Key::parse("pos.inner.z").unwrap(),
    ];
    let color = hollow_schema::EnumType {
        name: "Color".into(),
        doc: Some(String::new()),
        enumerants: vec![
            hollow_schema::Enumerant {
                name: "red".into(),
                doc: None,
            },
            hollow_schema::Enumerant {
                name: "green".into(),
                doc: Some("Green.".into()),
            },
        ],
    };
    let mut s = Schema::new();
    s.insert(TypeDef::Struct(shape));
    s.insert(TypeDef::Enum(color));
    s.insert(TypeDef::Struct(side));
    hollow_schema::assign_layout(&mut s).unwrap();
    hollow_schema::validate(&s).unwrap();
    s
}

#[test]
fn header_round_trip() {
    for schema in [rich_schema(), schema(), Schema::new()] {
        let tags = vec![
            ("a".to_string(), "1".to_string()),
            ("".to_string(), "".to_string()),
            ("ünï".to_string(), "cödé".to_string()),
        ];
        // A delta: it needs no section for the schema's record types.
        let w = BlobWriter::new(BlobKind::Delta, 0, 1, 3, 2);
        let bytes = w.finish(&schema, &tags).unwrap();
        let view = BlobView::open("delta-0-1", &bytes).unwrap();
        assert_eq!(view.header().schema, schema);
        assert_eq!(view.header().tags, tags);
        // Through the wire types alone, too.
        let wire = view.header().to_wire();
        assert_eq!(BlobHeader::from_wire(wire).unwrap(), *view.header());
    }
}

#[test]
fn writer_streams_the_same_bytes() {
    let bytes = snapshot_blob();
    let ms = movies();
    let canon = to_canonical_bytes(&ms[0]).unwrap();
    let mut w = BlobWriter::new(BlobKind::Snapshot, 7, 7, 0, 1);
    w.add_section(
        SectionInfo::snapshot("Movie", 1, 1),
        snapshot_section(Movie::SIZE, 1, &[1], [(0, &canon[..])].into_iter()).unwrap(),
    );
    let mut streamed = Vec::new();
    let n = w.write_to_writer(&schema(), &[], &mut streamed).unwrap();
    assert_eq!(n as usize, streamed.len());
    assert_eq!(w.finished_len(&schema(), &[]).unwrap(), n);
    assert_eq!(streamed, w.finish(&schema(), &[]).unwrap());
    assert_ne!(streamed, bytes);
}

#[test]
fn not_hollow_and_unknown_version() {
    let mut bytes = snapshot_blob();
    let e = BlobView::open("x", b"PK\x03\x04 a zip file").unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::NotHollow);
    assert!(
        e.to_string().starts_with("blob x is not a Hollow blob"),
        "{e}"
    );
    bytes[8..12].copy_from_slice(&7u32.to_le_bytes());
    let e = BlobView::open("snapshot-7", &bytes).unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::UnsupportedVersion);
    assert_eq!(
        e.to_string(),
        "blob snapshot-7 has format version 7; this reader knows versions 1 and 2"
    );
}

#[test]
fn truncation_at_every_length_is_an_error() {
    for bytes in [snapshot_blob(), delta_blob()] {
        for len in 0..bytes.len() {
            let e = BlobView::open("snapshot-7", &bytes[..len]).unwrap_err();
            assert!(e.to_string().contains("snapshot-7"), "{e}");
            if len >= 12 {
                assert_eq!(e.kind(), BlobErrorKind::Truncated, "length {len}: {e}");
            }
        }
    }
}

#[test]
fn prefix_checks() {
    let bytes = snapshot_blob();
    let p = BlobPrefix::parse("b", &bytes).unwrap();
    assert_eq!(p.to_bytes()[..], bytes[..PREFIX_LEN]);
    let mut bad = bytes.clone();
    bad[12] = 9; // kind
    assert_eq!(
        BlobPrefix::parse("b", &bad).unwrap_err().kind(),
        BlobErrorKind::Prefix
    );
    let mut bad = bytes.clone();
    bad[56] = 1; // reserved
    assert_eq!(
        BlobPrefix::parse("b", &bad).unwrap_err().kind(),
        BlobErrorKind::Prefix
    );
    let w = BlobWriter::new(BlobKind::Snapshot, 1, 2, 0, 0);
    assert_eq!(
        w.finish(&Schema::new(), &[]).unwrap_err().kind(),
        BlobErrorKind::Prefix
    );
}

#[test]
fn section_builder_refuses_bad_input() {
    let a = to_canonical_bytes(&movies()[0]).unwrap();
    let size = Movie::SIZE;
    let err = |r: Result<Vec<u8>, BlobError>| r.unwrap_err().kind();
    assert_eq!(
        err(snapshot_section(
            size,
            2,
            &[0b11],
            [(2, &a[..])].into_iter()
        )),
        BlobErrorKind::Record
    );
    assert_eq!(
        err(snapshot_section(
            size,
            2,
            &[0b01],
            [(1, &a[..])].into_iter()
        )),
        BlobErrorKind::Record
    );
    assert_eq!(
        err(snapshot_section(
            size,
            2,
            &[0b01],
            [(0, &a[..]), (0, &a[..])].into_iter()
        )),
        BlobErrorKind::Record
    );
    assert_eq!(
        err(snapshot_section(
            size,
            2,
            &[0b11],
            [(0, &a[..])].into_iter()
        )),
        BlobErrorKind::Record
    );
    // Too large for the slot.
    assert_eq!(
        err(delta_section(Tiny::SIZE, &[], &[(0, &a[..])])),
        BlobErrorKind::Record
    );
    // Garbage.
    for junk in [
        &[1u8, 2, 3][..],
        &[0xff; 16][..],
        &[0, 0, 0, 0, 1, 0, 0, 0][..],
    ] {
        assert_eq!(
            err(delta_section(size, &[], &[(0, junk)])),
            BlobErrorKind::Record
        );
    }
    // Bits past the limit are cleared, not an error.
    let s = snapshot_section(size, 1, &[u64::MAX], [(0, &a[..])].into_iter()).unwrap();
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 1);
    w.add_section(SectionInfo::snapshot("Movie", 1, 1), s);
    add_empty_tiny(&mut w);
    let bytes = w.finish(&schema(), &[]).unwrap();
    let view = BlobView::open("s", &bytes).unwrap();
    let snap = view.section("Movie").unwrap().snapshot().unwrap();
    assert_eq!(snap.ordinals().collect::<Vec<_>>(), [0]);
}

#[test]
fn directory_and_section_shape_are_checked() {
    let a = to_canonical_bytes(&movies()[0]).unwrap();
    let good = snapshot_section(Movie::SIZE, 1, &[1], [(0, &a[..])].into_iter()).unwrap();
    // The directory's ordinal limit disagrees with the section.
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 1);
    w.add_section(SectionInfo::snapshot("Movie", 1, 2), good.clone());
    add_empty_tiny(&mut w);
    let bytes = w.finish(&schema(), &[]).unwrap();
    let view = BlobView::open("s", &bytes).unwrap();
    let e = view.section("Movie").unwrap().snapshot().unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Section);
    assert!(e.to_string().contains("Movie"), "{e}");
    // A section for a type the schema does not have.
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 1);
    w.add_section(SectionInfo::snapshot("Ghost", 1, 1), good.clone());
    let bytes = w.finish(&schema(), &[]).unwrap();
    assert_eq!(
        BlobView::open("s", &bytes).unwrap_err().kind(),
        BlobErrorKind::Header
    );
    // Two sections for one type.
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 1);
    w.add_section(SectionInfo::snapshot("Movie", 1, 1), good.clone());
    w.add_section(SectionInfo::snapshot("Movie", 1, 1), good);
    assert_eq!(
        w.finish(&schema(), &[]).unwrap_err().kind(),
        BlobErrorKind::Header
    );
}

#[test]
fn a_snapshot_needs_a_section_for_every_record_type() {
    let a = to_canonical_bytes(&movies()[0]).unwrap();
    let movie = snapshot_section(Movie::SIZE, 1, &[1], [(0, &a[..])].into_iter()).unwrap();
    let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 1);
    w.add_section(SectionInfo::snapshot("Movie", 1, 1), movie.clone());
    let bytes = w.finish(&schema(), &[]).unwrap();
    let e = BlobView::open("snapshot-1", &bytes).unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Header);
    assert!(
        e.to_string().contains("snapshot-1") && e.to_string().contains("Tiny"),
        "{e}"
    );
    // With an empty one it opens; a delta needs none.
    add_empty_tiny(&mut w);
    BlobView::open("snapshot-1", &w.finish(&schema(), &[]).unwrap()).unwrap();
    let mut w = BlobWriter::new(BlobKind::Delta, 1, 2, 1, 2);
    w.add_section(
        SectionInfo::delta("Movie", 0, 0, 1, 1),
        delta_section(Movie::SIZE, &[], &[]).unwrap(),
    );
    BlobView::open("delta-1-2", &w.finish(&schema(), &[]).unwrap()).unwrap();
}

/// Adds the empty section a snapshot of `schema()` needs for `Tiny`.
fn add_empty_tiny(w: &mut BlobWriter) {
    let empty = snapshot_section(Tiny::SIZE, 0, &[], std::iter::empty()).unwrap();
    w.add_section(SectionInfo::snapshot("Tiny", 0, 0), empty);
}

/// Rewrites the trailer checksum after tampering (what a forger, not a
/// bit flip, would do).
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - TRAILER_LEN;
    let sum = crate::hash_bytes(&bytes[..n]);
    bytes[n..n + 8].copy_from_slice(&sum.to_le_bytes());
}

/// Reads everything a consumer would read from a blob.
fn read_all(view: &BlobView<'_>) {
    let mut out = Vec::new();
    for s in view.sections() {
        let _ = s.verify_checksum();
        if let Ok(snap) = s.snapshot() {
            for o in 0..snap.ordinal_limit() {
                if let Some(r) = snap.record_reader(o) {
                    let _ = Movie::wrap(r).to_value();
                    let _ = snap.canonical_bytes(o, &mut out);
                }
            }
        }
        if let Ok(d) = s.delta() {
            let _ = d.removed().count();
            for (i, (_, r)) in d.added().enumerate() {
                let _ = Movie::wrap(r).to_value();
                let _ = d.canonical_bytes(i as u32, &mut out);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_flipped_bit_anywhere_is_an_error(pos in any::<prop::sample::Index>(), bit in 0u8..8, delta in any::<bool>()) {
        let mut bytes = if delta { delta_blob() } else { snapshot_blob() };
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let e = BlobView::open("blob-under-test", &bytes).unwrap_err();
        prop_assert!(e.to_string().contains("blob-under-test"), "{}", e);
    }

    #[test]
    fn resealed_garbage_never_panics(pos in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), delta in any::<bool>()) {
        let mut bytes = if delta { delta_blob() } else { snapshot_blob() };
        let n = bytes.len() - TRAILER_LEN;
        for (p, v) in pos {
            bytes[p.index(n)] = v;
        }
        reseal(&mut bytes);
        if let Ok(view) = BlobView::open("b", &bytes) {
            read_all(&view);
        }
    }
}

#[test]
fn streamed_checksum_agrees_with_open() {
    let blob = snapshot_blob();
    verify_checksum_stream("snapshot-7", &blob[..], blob.len() as u64).unwrap();
    let view = BlobView::open_prechecked("snapshot-7", &blob).unwrap();
    assert_eq!(
        view.header(),
        BlobView::open("snapshot-7", &blob).unwrap().header()
    );
    for at in [0, 70, blob.len() / 2, blob.len() - 20, blob.len() - 16] {
        let mut bad = blob.clone();
        bad[at] ^= 0x10;
        let streamed = verify_checksum_stream("snapshot-1", &bad[..], bad.len() as u64);
        let opened = BlobView::open("snapshot-1", &bad).map(|_| ());
        let (s, o) = (streamed.unwrap_err(), opened.unwrap_err());
        assert!(s.to_string().contains("snapshot-1"), "{s}");
        if o.kind() == BlobErrorKind::Checksum {
            assert_eq!(s.kind(), BlobErrorKind::Checksum, "byte {at}");
        }
    }
    let e = verify_checksum_stream("snapshot-1", &blob[..40], 40).unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Truncated);
    let e = verify_checksum_stream("snapshot-1", &blob[..100], blob.len() as u64).unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Truncated);
}

/// `n` movies with ids from `seed`, as canonical bytes.
fn movie_bytes(n: u32, seed: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let m = Movie {
                id: seed + u64::from(i),
                title: format!("movie {i} of {seed}"),
                genres: vec!["drama".into(); (i % 3) as usize],
                ..Movie::default()
            };
            to_canonical_bytes(&m).unwrap()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Snapshot shards cover `0..limit` in consecutive ranges, hold every
    /// record at its ordinal, stay within the limit (no record here passes
    /// it alone), and make a blob that opens and passes the deep check.
    #[test]
    fn snapshot_shards_cover_the_ordinals_and_keep_the_limit(
        populated in proptest::collection::btree_set(0u32..300, 0..200),
        extra in 0u32..100,
        limit in 400u64..6000,
    ) {
        let ordinal_limit = populated.iter().next_back().map_or(0, |o| o + 1) + extra;
        let records = movie_bytes(ordinal_limit, 7);
        let mut words = vec![0u64; ordinal_limit.div_ceil(64) as usize];
        for &o in &populated {
            words[o as usize / 64] |= 1 << (o % 64);
        }
        let checksum = populated.iter().fold(0u64, |c, &o| {
            c.wrapping_add(state_mix(o, crate::hash_bytes(&records[o as usize])))
        });
        let options = SectionOptions { shard_limit: limit, ..SectionOptions::default() };
        let shards = snapshot_shards(
            options,
            "Movie",
            Movie::SIZE,
            ordinal_limit,
            &words,
            |o| &records[o as usize],
            (populated.len() as u32, checksum),
        )
        .unwrap();
        let mut w = BlobWriter::new(BlobKind::Snapshot, 1, 1, 0, 1);
        let mut at = 0;
        for (info, bytes) in shards.iter().cloned() {
            prop_assert_eq!(info.first_ordinal, at);
            at = info.ordinal_limit;
            // A run of unpopulated ordinals may pass the limit: elements
            // of 6 words each.
            let holes = extra as u64 * 48 + 300 * 48;
            prop_assert!(bytes.len() as u64 <= limit + holes, "{} > {limit}", bytes.len());
            w.add_section(info, bytes);
        }
        prop_assert_eq!(at, ordinal_limit);
        let mut tiny = SectionInfo::snapshot("Tiny", 0, 0);
        tiny.state_checksum = 0;
        w.add_section(tiny, snapshot_section(Tiny::SIZE, 0, &[], std::iter::empty()).unwrap());
        let blob = w.finish(&schema(), &[]).unwrap();
        let version = u32::from_le_bytes([blob[8], blob[9], blob[10], blob[11]]);
        prop_assert_eq!(version, if shards.len() > 1 { 2 } else { 1 });
        let view = BlobView::open("snapshot-1", &blob).unwrap();
        view.check_records().unwrap();
        let mut seen = Vec::new();
        for s in view.shards("Movie") {
            let snap = s.snapshot().unwrap();
            for o in snap.ordinals() {
                let r = snap.record_reader(o).unwrap();
                let mut out = Vec::new();
                crate::wire::canonical_struct_bytes(&r, &mut out).unwrap();
                prop_assert_eq!(&out, &records[o as usize], "ordinal {}", o);
                seen.push(o);
            }
        }
        prop_assert_eq!(seen, populated.into_iter().collect::<Vec<_>>());
    }

    /// Delta shards hold each removed and added ordinal once, in the
    /// shard whose range holds it, the ranges covering `0..limit`.
    #[test]
    fn delta_shards_put_each_ordinal_in_its_range(
        removed in proptest::collection::btree_set(0u32..400, 0..100),
        added in proptest::collection::btree_set(0u32..400, 0..100),
        limit in 100u64..3000,
    ) {
        let added: Vec<u32> = added.difference(&removed).copied().collect();
        let records = movie_bytes(400, 9);
        let adds: Vec<(u32, &[u8])> =
            added.iter().rev().map(|&o| (o, &records[o as usize][..])).collect();
        let removed: Vec<u32> = removed.into_iter().rev().collect();
        let options = SectionOptions { shard_limit: limit, ..SectionOptions::default() };
        let shards =
            delta_shards(options, "Movie", Movie::SIZE, &removed, &adds, 400, (5, 6)).unwrap();
        let mut w = BlobWriter::new(BlobKind::Delta, 1, 2, 1, 2);
        for (info, bytes) in shards {
            w.add_section(info, bytes);
        }
        let blob = w.finish(&schema(), &[]).unwrap();
        let view = BlobView::open("delta-1-2", &blob).unwrap();
        let (mut r, mut a) = (Vec::new(), Vec::new());
        let mut at = 0;
        for s in view.shards("Movie") {
            let range = s.ordinal_range();
            prop_assert_eq!(range.start, at);
            at = range.end;
            prop_assert_eq!((s.info().state_count, s.info().state_checksum), (5, 6));
            let d = s.delta().unwrap();
            for o in d.removed() {
                prop_assert!(range.contains(&o));
                r.push(o);
            }
            for (o, rec) in d.added() {
                prop_assert!(range.contains(&o));
                let mut out = Vec::new();
                crate::wire::canonical_struct_bytes(&rec, &mut out).unwrap();
                prop_assert_eq!(&out, &records[o as usize]);
                a.push(o);
            }
        }
        prop_assert_eq!(at, 400);
        r.sort_unstable();
        a.sort_unstable();
        let mut want_r = removed.clone();
        want_r.sort_unstable();
        prop_assert_eq!(r, want_r);
        prop_assert_eq!(a, added);
    }
}

#[test]
fn delta_shards_refuse_an_ordinal_past_the_limit() {
    let e = delta_shards(
        SectionOptions::default(),
        "Movie",
        Movie::SIZE,
        &[3, 10],
        &[],
        10,
        (0, 0),
    )
    .unwrap_err();
    assert_eq!(e.kind(), BlobErrorKind::Record);
    assert!(e.to_string().contains("ordinal 10"), "{e}");
}
