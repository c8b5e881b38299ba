//! Getter-by-getter comparisons of a generated accessor (`MovieRef<'_>`, …)
//! with the owned value it should hold, and "touch everything" walks for
//! accessors over untrusted bytes.
//!
//! The comparisons panic (with the field's name) on the first difference, so
//! they work inside `proptest!` bodies as well as plain tests. Floats are
//! compared bit for bit (so `-0.0` and NaN payloads count), lists through
//! `len()`, `is_empty()`, every `get(i)`, `get(len)`, `iter()` and
//! `iter().rev()`, and each accessor's `to_value()` must equal the value.

use std::fmt::Debug;

use hollow_runtime::{Element, List, Record};

use crate::{
    Actor, ActorRef, AllTypes, AllTypesRef, Color, Coord, CoordRef, Detail, DetailRef, Dims,
    DimsRef, Event, EventRef, Inner, InnerRef, Movie, MovieRef, Outcome, OutcomeRef, Payload,
    PayloadRef, Role, RoleRef, Shipment, ShipmentRef, Stock, StockRef,
};

/// Checks that `l` holds exactly `expected`, comparing elements with
/// `check` (which panics on a difference), through every way of reading a
/// list.
#[track_caller]
pub fn list<'a, T: Element, V>(
    what: &str,
    l: List<'a, T>,
    expected: &[V],
    mut check: impl FnMut(T::Item<'a>, &V),
) {
    let n = expected.len();
    assert_eq!(l.len(), n, "{what}: len()");
    assert_eq!(l.is_empty(), n == 0, "{what}: is_empty()");
    for (i, v) in expected.iter().enumerate() {
        check(
            l.get(i)
                .unwrap_or_else(|| panic!("{what}: get({i}) is None")),
            v,
        );
    }
    assert!(l.get(n).is_none(), "{what}: get(len) is Some");
    assert!(
        l.get(usize::MAX).is_none(),
        "{what}: get(usize::MAX) is Some"
    );
    let it = l.iter();
    assert_eq!(it.len(), n, "{what}: iter().len()");
    let mut seen = 0;
    for (item, v) in l.iter().zip(expected) {
        check(item, v);
        seen += 1;
    }
    assert_eq!(seen, n, "{what}: iter() count");
    let mut seen = 0;
    for (item, v) in l.iter().rev().zip(expected.iter().rev()) {
        check(item, v);
        seen += 1;
    }
    assert_eq!(seen, n, "{what}: iter().rev() count");
    assert_eq!(l.iter().rev().count(), n, "{what}: iter().rev() length");
    // Taking from both ends in turn meets in the middle.
    let mut it = l.iter();
    let (mut front, mut back) = (0, n);
    let mut from_front = true;
    while front < back {
        if from_front {
            check(it.next().expect("front element"), &expected[front]);
            front += 1;
        } else {
            back -= 1;
            check(it.next_back().expect("back element"), &expected[back]);
        }
        from_front = !from_front;
    }
    assert!(
        it.next().is_none() && it.next_back().is_none(),
        "{what}: iterator overran"
    );
}

/// Checks a list of values that compare with `==` directly.
#[track_caller]
pub fn plain_list<'a, T, V>(what: &str, l: List<'a, T>, expected: &[V])
where
    T: Element,
    T::Item<'a>: PartialEq<V> + Debug,
    V: Debug,
{
    list(what, l, expected, |a, b| assert_eq!(a, *b, "{what}"));
}

/// Checks a list of `f32` bit for bit.
#[track_caller]
pub fn f32_list(what: &str, l: List<'_, f32>, expected: &[f32]) {
    list(what, l, expected, |a, b| {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}")
    });
}

/// Checks a list of `f64` bit for bit.
#[track_caller]
pub fn f64_list(what: &str, l: List<'_, f64>, expected: &[f64]) {
    list(what, l, expected, |a, b| {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}")
    });
}

/// Checks an enum read in place.
#[track_caller]
pub fn color(what: &str, got: Result<Color, hollow_runtime::NotInSchema>, expected: Color) {
    assert_eq!(got, Ok(expected), "{what}");
}

/// Compares every getter of a [`MovieRef`] with `v`.
pub fn movie(r: &MovieRef<'_>, v: &Movie) {
    assert_eq!(r.id(), v.id, "id");
    assert_eq!(r.title(), v.title, "title");
    assert_eq!(r.year(), v.year, "year");
    assert_eq!(r.runtime_min(), v.runtime_min, "runtime_min");
    assert_eq!(r.rating().to_bits(), v.rating.to_bits(), "rating");
    plain_list("genres", r.genres(), &v.genres);
    plain_list("cast_ids", r.cast_ids(), &v.cast_ids);
    assert_eq!(r.description(), v.description, "description");
    assert_eq!(Movie::primary_key_ref(r), v.primary_key(), "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

/// Compares every getter of an [`ActorRef`] with `v`.
pub fn actor(r: &ActorRef<'_>, v: &Actor) {
    assert_eq!(r.id(), v.id, "id");
    assert_eq!(r.name(), v.name, "name");
    assert_eq!(Actor::primary_key_ref(r), v.primary_key(), "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

/// Compares every getter of an [`InnerRef`] with `v`.
pub fn inner(what: &str, r: &InnerRef<'_>, v: &Inner) {
    assert_eq!(r.id(), v.id, "{what}.id");
    assert_eq!(r.name(), v.name, "{what}.name");
    assert_eq!(r.flag(), v.flag, "{what}.flag");
    plain_list(&format!("{what}.scores"), r.scores(), &v.scores);
    color(&format!("{what}.color"), r.color(), v.color);
    assert_eq!(r.to_value().as_ref(), Ok(v), "{what}.to_value");
}

/// Compares every getter of an [`AllTypesRef`] with `v`, descending into
/// every list and nested struct.
pub fn all_types(r: &AllTypesRef<'_>, v: &AllTypes) {
    assert_eq!(r.id(), v.id, "id");
    assert_eq!(r.flag(), v.flag, "flag");
    assert_eq!(r.int8(), v.int8, "int8");
    assert_eq!(r.int16(), v.int16, "int16");
    assert_eq!(r.int32(), v.int32, "int32");
    assert_eq!(r.int64(), v.int64, "int64");
    assert_eq!(r.uint8(), v.uint8, "uint8");
    assert_eq!(r.uint16(), v.uint16, "uint16");
    assert_eq!(r.uint32(), v.uint32, "uint32");
    assert_eq!(r.uint64(), v.uint64, "uint64");
    assert_eq!(r.float32().to_bits(), v.float32.to_bits(), "float32");
    assert_eq!(r.float64().to_bits(), v.float64.to_bits(), "float64");
    assert_eq!(r.text(), v.text, "text");
    assert_eq!(r.data(), &v.data[..], "data");
    plain_list("bools", r.bools(), &v.bools);
    plain_list("int8s", r.int8s(), &v.int8s);
    plain_list("int16s", r.int16s(), &v.int16s);
    plain_list("uint16s", r.uint16s(), &v.uint16s);
    plain_list("int32s", r.int32s(), &v.int32s);
    plain_list("uint32s", r.uint32s(), &v.uint32s);
    plain_list("int64s", r.int64s(), &v.int64s);
    plain_list("uint64s", r.uint64s(), &v.uint64s);
    f32_list("float32s", r.float32s(), &v.float32s);
    f64_list("float64s", r.float64s(), &v.float64s);
    plain_list("texts", r.texts(), &v.texts);
    list("blobs", r.blobs(), &v.blobs, |a, b| {
        assert_eq!(a, &b[..], "blobs")
    });
    list("uint32_lists", r.uint32_lists(), &v.uint32_lists, |a, b| {
        plain_list("uint32_lists[_]", a, b)
    });
    list("text_lists", r.text_lists(), &v.text_lists, |a, b| {
        plain_list("text_lists[_]", a, b)
    });
    inner("inner", &r.inner(), &v.inner);
    list("inners", r.inners(), &v.inners, |a, b| {
        inner("inners[_]", &a, b)
    });
    color("color", r.color(), v.color);
    list("colors", r.colors(), &v.colors, |a, b| {
        color("colors[_]", a, *b)
    });
    assert_eq!(r.maybe_text(), v.maybe_text.as_deref(), "maybe_text");
    assert_eq!(r.maybe_data(), v.maybe_data.as_deref(), "maybe_data");
    match (r.maybe_uint64s(), &v.maybe_uint64s) {
        (None, None) => {}
        (Some(l), Some(e)) => plain_list("maybe_uint64s", l, e),
        (got, e) => panic!("maybe_uint64s: got {got:?}, expected {e:?}"),
    }
    match (r.maybe_inner(), &v.maybe_inner) {
        (None, None) => {}
        (Some(i), Some(e)) => inner("maybe_inner", &i, e),
        (got, e) => panic!("maybe_inner: got {got:?}, expected {e:?}"),
    }
    assert_eq!(AllTypes::primary_key_ref(r), v.primary_key(), "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

/// Compares a [`DimsRef`] group (and the group inside it) with `v`.
pub fn dims(r: &DimsRef<'_>, v: &Dims) {
    assert_eq!(r.fragile(), v.fragile, "dims.fragile");
    assert_eq!(r.grade(), v.grade, "dims.grade");
    assert_eq!(r.width(), v.width, "dims.width");
    assert_eq!(r.weight().to_bits(), v.weight.to_bits(), "dims.weight");
    assert_eq!(r.volume().to_bits(), v.volume.to_bits(), "dims.volume");
    assert_eq!(r.label(), v.label, "dims.label");
    assert_eq!(r.origin().zone(), v.origin.zone, "dims.origin.zone");
    assert_eq!(r.origin().code(), v.origin.code, "dims.origin.code");
    assert_eq!(r.origin().to_value().as_ref(), Ok(&v.origin), "dims.origin");
    assert_eq!(r.to_value().as_ref(), Ok(v), "dims");
}

/// Compares every getter of a [`ShipmentRef`] with `v`.
pub fn shipment(r: &ShipmentRef<'_>, v: &Shipment) {
    assert_eq!(r.id(), v.id, "id");
    assert_eq!(r.express(), v.express, "express");
    dims(&r.dims(), &v.dims);
    assert_eq!(r.stops(), v.stops, "stops");
    assert_eq!(r.carrier(), v.carrier, "carrier");
    assert_eq!(Shipment::primary_key_ref(r), v.primary_key(), "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

fn coord(r: &CoordRef<'_>, v: &Coord) {
    assert_eq!(r.lat().to_bits(), v.lat.to_bits(), "coord.lat");
    assert_eq!(r.lon().to_bits(), v.lon.to_bits(), "coord.lon");
}

/// Compares a [`PayloadRef`] (as read) with `v`: same member, same value.
pub fn payload(r: Result<PayloadRef<'_>, hollow_runtime::NotInSchema>, v: &Payload) {
    let r = r.expect("payload discriminant in schema");
    match (r, v) {
        (PayloadRef::Empty, Payload::Empty) | (PayloadRef::Cancelled, Payload::Cancelled) => {}
        (PayloadRef::Count(a), Payload::Count(b)) => assert_eq!(a, *b, "payload.count"),
        (PayloadRef::Message(a), Payload::Message(b)) => assert_eq!(a, b, "payload.message"),
        (PayloadRef::Location(a), Payload::Location(b)) => coord(&a, b),
        (PayloadRef::Window(a), Payload::Window(b)) => {
            assert_eq!((a.start(), a.end()), (b.start, b.end), "payload.window");
        }
        (PayloadRef::Detail(a), Payload::Detail(b)) => match (a.expect("detail in schema"), b) {
            (DetailRef::Unknown, Detail::Unknown) => {}
            (DetailRef::Code(x), Detail::Code(y)) => assert_eq!(x, *y, "detail.code"),
            (DetailRef::Reason(x), Detail::Reason(y)) => assert_eq!(x, y, "detail.reason"),
            (x, y) => panic!("payload.detail: got {x:?}, expected {y:?}"),
        },
        (PayloadRef::Urgent(a), Payload::Urgent(b)) => assert_eq!(a, *b, "payload.urgent"),
        (a, b) => panic!("payload: got {a:?}, expected {b:?}"),
    }
}

/// Compares an [`OutcomeRef`] (as read) with `v`.
pub fn outcome(r: Result<OutcomeRef<'_>, hollow_runtime::NotInSchema>, v: &Outcome) {
    match (r.expect("outcome discriminant in schema"), v) {
        (OutcomeRef::Pending, Outcome::Pending) => {}
        (OutcomeRef::Done(a), Outcome::Done(b)) => assert_eq!(a, *b, "outcome.done"),
        (OutcomeRef::Failed(a), Outcome::Failed(b)) => assert_eq!(a, b, "outcome.failed"),
        (a, b) => panic!("outcome: got {a:?}, expected {b:?}"),
    }
}

/// Compares every getter of an [`EventRef`] with `v`.
pub fn event(r: &EventRef<'_>, v: &Event) {
    assert_eq!(r.id(), v.id, "id");
    payload(r.payload(), &v.payload);
    assert_eq!(r.seq(), v.seq, "seq");
    outcome(r.outcome(), &v.outcome);
    assert_eq!(Event::primary_key_ref(r), v.primary_key(), "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

/// Compares every getter of a [`StockRef`] with `v` (and the composite key).
pub fn stock(r: &StockRef<'_>, v: &Stock) {
    assert_eq!(r.region(), v.region, "region");
    assert_eq!(r.sku(), v.sku, "sku");
    assert_eq!(r.quantity(), v.quantity, "quantity");
    assert_eq!(r.price().to_bits(), v.price.to_bits(), "price");
    let (region, sku) = Stock::primary_key_ref(r);
    assert_eq!(
        (region, sku),
        (v.region.as_str(), v.sku),
        "primary key (ref)"
    );
    assert_eq!(v.primary_key(), (v.region.clone(), v.sku), "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

/// Compares every getter of a [`RoleRef`] with `v` (and the `actor.id` key).
pub fn role(r: &RoleRef<'_>, v: &Role) {
    assert_eq!(r.actor().id(), v.actor.id, "actor.id");
    assert_eq!(r.actor().name(), v.actor.name, "actor.name");
    assert_eq!(r.actor().to_value().as_ref(), Ok(&v.actor), "actor");
    assert_eq!(r.character(), v.character, "character");
    assert_eq!(r.billing(), v.billing, "billing");
    assert_eq!(Role::primary_key_ref(r), v.actor.id, "primary key (ref)");
    assert_eq!(v.primary_key(), v.actor.id, "primary key");
    assert_eq!(r.to_value().as_ref(), Ok(v), "to_value");
}

/// Reads every field of an [`AllTypesRef`] over untrusted bytes: every
/// getter, every list forwards and backwards, every nested struct,
/// `to_value()` and `Debug`. Returns a number derived from what was read
/// (so the reads are not optimized away). It must never panic.
pub fn touch_all_types(r: &AllTypesRef<'_>) -> u64 {
    let mut acc = r.id()
        ^ r.flag() as u64
        ^ r.int8() as u64
        ^ r.int16() as u64
        ^ r.int32() as u64
        ^ r.int64() as u64
        ^ r.uint8() as u64
        ^ r.uint16() as u64
        ^ r.uint32() as u64
        ^ r.uint64()
        ^ r.float32().to_bits() as u64
        ^ r.float64().to_bits();
    acc ^= r.text().len() as u64 ^ r.data().len() as u64;
    acc ^= touch(r.bools(), |b| b as u64);
    acc ^= touch(r.int8s(), |x| x as u64);
    acc ^= touch(r.int16s(), |x| x as u64);
    acc ^= touch(r.uint16s(), |x| x as u64);
    acc ^= touch(r.int32s(), |x| x as u64);
    acc ^= touch(r.uint32s(), |x| x as u64);
    acc ^= touch(r.int64s(), |x| x as u64);
    acc ^= touch(r.uint64s(), |x| x);
    acc ^= touch(r.float32s(), |x| x.to_bits() as u64);
    acc ^= touch(r.float64s(), f64::to_bits);
    acc ^= touch(r.texts(), |t| t.len() as u64);
    acc ^= touch(r.blobs(), |b| b.len() as u64);
    acc ^= touch(r.uint32_lists(), |l| touch(l, |x| x as u64));
    acc ^= touch(r.text_lists(), |l| touch(l, |t| t.len() as u64));
    acc ^= touch_inner(&r.inner());
    acc ^= touch(r.inners(), |i| touch_inner(&i));
    acc ^= r.color().map_or(7, |c| c as u64);
    acc ^= touch(r.colors(), |c| c.map_or(7, |c| c as u64));
    acc ^= r.maybe_text().map_or(0, |t| t.len() as u64);
    acc ^= r.maybe_data().map_or(0, |d| d.len() as u64);
    acc ^= r.maybe_uint64s().map_or(0, |l| touch(l, |x| x));
    acc ^= r.maybe_inner().map_or(0, |i| touch_inner(&i));
    acc ^= AllTypes::primary_key_ref(r);
    acc ^= format!("{r:?}").len() as u64;
    if let Ok(v) = r.to_value() {
        acc ^= v.texts.len() as u64;
    }
    acc
}

fn touch_inner(r: &InnerRef<'_>) -> u64 {
    let _ = r.to_value();
    r.id() as u64
        ^ r.name().len() as u64
        ^ r.flag() as u64
        ^ touch(r.scores(), |x| x as u64)
        ^ r.color().map_or(7, |c| c as u64)
}

/// Reads every element of `l` forwards, backwards and by index.
fn touch<'a, T: Element>(l: List<'a, T>, mut f: impl FnMut(T::Item<'a>) -> u64) -> u64 {
    let mut acc = l.len() as u64 ^ l.is_empty() as u64;
    for x in l.iter() {
        acc = acc.rotate_left(5) ^ f(x);
    }
    for x in l.iter().rev() {
        acc = acc.rotate_left(3) ^ f(x);
    }
    for i in 0..=l.len() {
        if let Some(x) = l.get(i) {
            acc ^= f(x);
        }
    }
    acc
}
