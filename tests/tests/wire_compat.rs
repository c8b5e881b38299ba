//! Wire compatibility with the code `capnpc` generates from the derived
//! schema texts (`tests/capnp/*.capnp`, compiled by `build.rs`; that they
//! are current is checked by `schema_files_are_current` in
//! `layout_vs_compiler.rs`):
//!
//! - records written by the derive are read by capnpc's readers with the
//!   same value in every field, and are canonical by capnp's own check;
//! - messages built by capnpc's builders are read by the derive's accessors
//!   with the same value in every field;
//! - `hollow_runtime::wire::canonicalize` of a capnpc-built message equals
//!   capnp's `canonicalize()`, and (when the builder leaves empty pointers
//!   null, as Hollow does) Hollow's encoding of the equal value.

use capnp::message::{Builder, HeapAllocator, TypedBuilder};
use capnp_side::Style;
use hollow_runtime::{read_root, to_canonical_bytes, wire};
use hollow_tests::{aligned, capnp_reader, check, strategy};
use proptest::prelude::*;

/// The readers and builders `capnpc` generates from `tests/capnp/*.capnp`
/// (written by `build.rs`; one module per file: `movie_capnp`, …).
#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
mod capnp_gen {
    include!(concat!(env!("OUT_DIR"), "/capnp_gen.rs"));
}

#[path = "wire_compat/capnp_side.rs"]
mod capnp_side;

/// Builds a single-segment message with capnpc's builder for `T`.
fn build<T: capnp::traits::Owned>(f: impl FnOnce(T::Builder<'_>)) -> Vec<u8> {
    let alloc = HeapAllocator::new().first_segment_words(1 << 15);
    let mut msg = TypedBuilder::<T, HeapAllocator>::new(Builder::new(alloc));
    f(msg.init_root());
    let segments = msg.borrow_inner().get_segments_for_output();
    assert_eq!(
        segments.len(),
        1,
        "the first segment must hold the whole message"
    );
    segments[0].to_vec()
}

/// capnp's own canonical form of a single-segment message.
fn capnp_canonical(bytes: &[u8]) -> Vec<u8> {
    let words = aligned(bytes);
    let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
    let canonical = reader.canonicalize().expect("capnp canonicalizes");
    capnp::Word::words_to_bytes(&canonical).to_vec()
}

/// Hollow's canonical form of a single-segment message.
fn hollow_canonical(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    wire::canonicalize(bytes, &mut out).expect("hollow canonicalizes");
    out
}

/// Floats compare equal across signs of zero; their Debug text does not.
#[track_caller]
fn assert_same<T: PartialEq + std::fmt::Debug>(got: &T, expected: &T) {
    assert_eq!(got, expected);
    assert_eq!(format!("{got:?}"), format!("{expected:?}"));
}

/// For one type: both directions and the canonical forms, over the type's
/// strategy.
macro_rules! compat {
    (
        $name:ident: $ty:ty, $strategy:expr, $owned:ty,
        read: $read:path, build: $build:path, check: $check:path,
        comparable: $comparable:expr
    ) => {
        mod $name {
            use super::*;

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(64))]

                /// Derive → capnpc reader.
                #[test]
                fn hollow_bytes_read_by_capnpc(v in $strategy) {
                    let bytes = to_canonical_bytes(&v).unwrap();
                    let words = aligned(&bytes);
                    let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
                    prop_assert!(reader.is_canonical().unwrap(), "not canonical by capnp");
                    let root = reader.get_root::<<$owned as capnp::traits::Owned>::Reader<'_>>();
                    let got = $read(root.unwrap()).unwrap();
                    assert_same(&got, &v);
                    prop_assert_eq!(capnp_canonical(&bytes), bytes);
                }

                /// capnpc builder (empty pointers left null) → derive
                /// accessors, and all three canonical forms agree.
                #[test]
                fn capnpc_minimal_read_by_hollow(v in $strategy) {
                    let bytes = build::<$owned>(|b| $build(b, &v, Style::Minimal));
                    let words = aligned(&bytes);
                    let seg = capnp::Word::words_to_bytes(&words);
                    $check(&read_root::<$ty>(seg).unwrap(), &v);
                    let ours = hollow_canonical(seg);
                    prop_assert_eq!(&ours, &capnp_canonical(seg));
                    let comparable: fn(&$ty) -> bool = $comparable;
                    if comparable(&v) {
                        prop_assert_eq!(&ours, &to_canonical_bytes(&v).unwrap());
                    }
                    $check(&read_root::<$ty>(&ours).unwrap(), &v);
                }

                /// capnpc builder (every field set, empty pointers non-null)
                /// → derive accessors; both canonicalizers agree.
                #[test]
                fn capnpc_explicit_read_by_hollow(v in $strategy) {
                    let bytes = build::<$owned>(|b| $build(b, &v, Style::Explicit));
                    let words = aligned(&bytes);
                    let seg = capnp::Word::words_to_bytes(&words);
                    $check(&read_root::<$ty>(seg).unwrap(), &v);
                    let ours = hollow_canonical(seg);
                    prop_assert_eq!(&ours, &capnp_canonical(seg));
                    $check(&read_root::<$ty>(&ours).unwrap(), &v);
                }
            }
        }
    };
}

use capnp_gen::{
    actor_capnp::actor, all_types_capnp::all_types, event_capnp::event, movie_capnp::movie,
    role_capnp::role, shipment_capnp::shipment, stock_capnp::stock,
};
use hollow_tests::{Actor, AllTypes, Event, Movie, Role, Shipment, Stock};

compat!(movies: Movie, strategy::movie(), movie::Owned,
    read: capnp_side::read_movie, build: capnp_side::build_movie, check: check::movie,
    comparable: |_| true);
compat!(actors: Actor, strategy::actor(), actor::Owned,
    read: capnp_side::read_actor, build: capnp_side::build_actor, check: check::actor,
    comparable: |_| true);
compat!(all: AllTypes, strategy::all_types(), all_types::Owned,
    read: capnp_side::read_all_types, build: capnp_side::build_all_types,
    check: check::all_types, comparable: |_| true);
compat!(groups: Shipment, strategy::shipment(), shipment::Owned,
    read: capnp_side::read_shipment, build: capnp_side::build_shipment,
    check: check::shipment, comparable: |_| true);
compat!(unions: Event, strategy::event(), event::Owned,
    read: capnp_side::read_event, build: capnp_side::build_event, check: check::event,
    comparable: |v| !capnp_side::event_has_empty_union_text(v));
compat!(composite_key: Stock, strategy::stock(), stock::Owned,
    read: capnp_side::read_stock, build: capnp_side::build_stock, check: check::stock,
    comparable: |_| true);
compat!(nested_key: Role, strategy::role(), role::Owned,
    read: capnp_side::read_role, build: capnp_side::build_role, check: check::role,
    comparable: |_| true);

/// Null versus empty in `Option` fields, through capnpc's `has_*`: `None`
/// is a null pointer, `Some` of an empty value is not.
#[test]
fn options_null_versus_empty_as_capnpc_sees_them() {
    let mut v = AllTypes {
        maybe_text: Some(String::new()),
        maybe_data: Some(Vec::new()),
        maybe_uint64s: Some(Vec::new()),
        maybe_inner: None,
        ..all_defaults()
    };
    let bytes = to_canonical_bytes(&v).unwrap();
    let words = aligned(&bytes);
    let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
    let r = reader.get_root::<all_types::Reader<'_>>().unwrap();
    assert!(r.has_maybe_text() && r.has_maybe_data() && r.has_maybe_uint64s());
    assert!(!r.has_maybe_inner());
    assert!(
        !r.has_text() && !r.has_data() && !r.has_texts(),
        "empty plain fields are null"
    );
    assert!(r.has_inner(), "a plain nested struct is always written");
    assert_same(&capnp_side::read_all_types(r).unwrap(), &v);

    v.maybe_text = None;
    v.maybe_data = None;
    v.maybe_uint64s = None;
    v.maybe_inner = Some(v.inner.clone());
    let bytes = to_canonical_bytes(&v).unwrap();
    let words = aligned(&bytes);
    let reader = capnp_reader(capnp::Word::words_to_bytes(&words));
    let r = reader.get_root::<all_types::Reader<'_>>().unwrap();
    assert!(!r.has_maybe_text() && !r.has_maybe_data() && !r.has_maybe_uint64s());
    assert!(r.has_maybe_inner());
    assert_same(&capnp_side::read_all_types(r).unwrap(), &v);
}

/// A capnpc message that leaves a plain nested struct unset (null) reads
/// as that struct's defaults through the derive's accessors.
#[test]
fn unset_nested_struct_reads_as_defaults() {
    let bytes = build::<all_types::Owned>(|mut b| b.set_id(9));
    let words = aligned(&bytes);
    let r = read_root::<AllTypes>(capnp::Word::words_to_bytes(&words)).unwrap();
    let expected = AllTypes {
        id: 9,
        ..all_defaults()
    };
    check::all_types(&r, &expected);
}

fn all_defaults() -> AllTypes {
    AllTypes::default()
}
