//! Proptest strategies for the test types: one function per type, each
//! returning `impl Strategy<Value = T>`.
//!
//! Floats are drawn from every class except NaN (zeros of both signs,
//! subnormals, infinities included), so `PartialEq` on the owned values is a
//! sound oracle; NaN payloads are tested separately, bit for bit. Text mixes
//! short ASCII words with arbitrary `char`s (NUL, control and non-ASCII
//! characters included); lists are short, and often empty.
//!
//! ```
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let movie = hollow_tests::strategy::movie()
//!     .new_tree(&mut runner)
//!     .unwrap()
//!     .current();
//! assert!(movie.genres.len() < 5);
//! ```

use proptest::collection::vec;
use proptest::prelude::*;

use crate::{
    Actor, AllTypes, Color, Coord, Detail, Dims, Event, Inner, Movie, Origin, Outcome, Payload,
    Performer, Role, Shipment, Span, Stock,
};

/// Most elements in a generated list.
const MAX_LEN: usize = 5;

/// Any `f32` but NaN.
pub fn float32() -> impl Strategy<Value = f32> {
    use proptest::num::f32 as f;
    prop_oneof![
        8 => f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO | f::INFINITE,
        1 => Just(-0.0f32),
        1 => Just(0.0f32),
    ]
}

/// Any `f64` but NaN.
pub fn float64() -> impl Strategy<Value = f64> {
    use proptest::num::f64 as f;
    prop_oneof![
        8 => f::POSITIVE | f::NEGATIVE | f::NORMAL | f::SUBNORMAL | f::ZERO | f::INFINITE,
        1 => Just(-0.0f64),
        1 => Just(0.0f64),
    ]
}

/// Text: often empty, often ASCII, sometimes any characters at all.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        3 => "[a-z]{1,8}( [a-z]{1,8})?",
        2 => vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ]
}

/// Bytes for `Data`.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..20)
}

/// A short list of `element`.
pub fn list<S: Strategy>(element: S) -> impl Strategy<Value = Vec<S::Value>> {
    vec(element, 0..MAX_LEN)
}

/// A [`Color`].
pub fn color() -> impl Strategy<Value = Color> {
    prop_oneof![Just(Color::Red), Just(Color::Green), Just(Color::Blue)]
}

prop_compose! {
    /// A [`Movie`].
    pub fn movie()(
        id in any::<u64>(),
        title in text(),
        year in any::<u16>(),
        runtime_min in any::<u16>(),
        rating in float32(),
        genres in list(text()),
        cast_ids in list(any::<u64>()),
        description in text(),
    ) -> Movie {
        Movie { id, title, year, runtime_min, rating, genres, cast_ids, description }
    }
}

prop_compose! {
    /// An [`Actor`].
    pub fn actor()(id in any::<u64>(), name in text()) -> Actor {
        Actor { id, name }
    }
}

prop_compose! {
    /// An [`Inner`].
    pub fn inner()(
        id in any::<u32>(),
        name in text(),
        flag in any::<bool>(),
        scores in list(any::<i16>()),
        color in color(),
    ) -> Inner {
        Inner { id, name, flag, scores, color }
    }
}

prop_compose! {
    /// The scalar fields of an [`AllTypes`] (a helper for [`all_types`]).
    fn scalars()(
        id in any::<u64>(),
        flag in any::<bool>(),
        int8 in any::<i8>(),
        int16 in any::<i16>(),
        int32 in any::<i32>(),
        int64 in any::<i64>(),
        uint8 in any::<u8>(),
        uint16 in any::<u16>(),
        uint32 in any::<u32>(),
        uint64 in any::<u64>(),
        float32 in float32(),
        float64 in float64(),
        color in color(),
    ) -> AllTypes {
        AllTypes {
            id, flag, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
            float32, float64, color,
            text: String::new(),
            data: Vec::new(),
            bools: Vec::new(),
            int8s: Vec::new(),
            int16s: Vec::new(),
            uint16s: Vec::new(),
            int32s: Vec::new(),
            uint32s: Vec::new(),
            int64s: Vec::new(),
            uint64s: Vec::new(),
            float32s: Vec::new(),
            float64s: Vec::new(),
            texts: Vec::new(),
            blobs: Vec::new(),
            uint32_lists: Vec::new(),
            text_lists: Vec::new(),
            inner: Inner { id: 0, name: String::new(), flag: false, scores: Vec::new(), color: Color::Red },
            inners: Vec::new(),
            colors: Vec::new(),
            maybe_text: None,
            maybe_data: None,
            maybe_uint64s: None,
            maybe_inner: None,
        }
    }
}

prop_compose! {
    /// An [`AllTypes`]: every field drawn independently.
    pub fn all_types()(
        base in scalars(),
        text in text(),
        data in bytes(),
        bools in vec(any::<bool>(), 0..80),
        int8s in list(any::<i8>()),
        int16s in list(any::<i16>()),
        uint16s in list(any::<u16>()),
        int32s in list(any::<i32>()),
        uint32s in list(any::<u32>()),
        int64s in list(any::<i64>()),
        uint64s in list(any::<u64>()),
        float32s in list(float32()),
        float64s in list(float64()),
        texts in list(text()),
        blobs in list(bytes()),
        uint32_lists in list(list(any::<u32>())),
        text_lists in list(list(text())),
        inner in inner(),
        inners in list(inner()),
        colors in list(color()),
        maybe_text in proptest::option::of(text()),
        maybe_data in proptest::option::of(bytes()),
        maybe_uint64s in proptest::option::of(list(any::<u64>())),
        maybe_inner in proptest::option::of(inner()),
    ) -> AllTypes {
        AllTypes {
            text, data, bools, int8s, int16s, uint16s, int32s, uint32s, int64s, uint64s,
            float32s, float64s, texts, blobs, uint32_lists, text_lists, inner, inners,
            colors, maybe_text, maybe_data, maybe_uint64s, maybe_inner,
            ..base
        }
    }
}

prop_compose! {
    /// An [`Origin`] group.
    pub fn origin()(zone in any::<u8>(), code in text()) -> Origin {
        Origin { zone, code }
    }
}

prop_compose! {
    /// A [`Dims`] group.
    pub fn dims()(
        fragile in any::<bool>(),
        grade in any::<u8>(),
        width in any::<u16>(),
        weight in float32(),
        volume in float64(),
        label in text(),
        origin in origin(),
    ) -> Dims {
        Dims { fragile, grade, width, weight, volume, label, origin }
    }
}

prop_compose! {
    /// A [`Shipment`].
    pub fn shipment()(
        id in any::<u64>(),
        express in any::<bool>(),
        dims in dims(),
        stops in any::<u16>(),
        carrier in text(),
    ) -> Shipment {
        Shipment { id, express, dims, stops, carrier }
    }
}

prop_compose! {
    /// A [`Coord`].
    pub fn coord()(lat in float64(), lon in float64()) -> Coord {
        Coord { lat, lon }
    }
}

prop_compose! {
    /// A [`Span`] group.
    pub fn span()(start in any::<u32>(), end in any::<u32>()) -> Span {
        Span { start, end }
    }
}

/// A [`Detail`] union.
pub fn detail() -> impl Strategy<Value = Detail> {
    prop_oneof![
        Just(Detail::Unknown),
        any::<u16>().prop_map(Detail::Code),
        text().prop_map(Detail::Reason),
    ]
}

/// A [`Payload`] union: each member equally likely.
pub fn payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        Just(Payload::Empty),
        any::<i64>().prop_map(Payload::Count),
        text().prop_map(Payload::Message),
        coord().prop_map(Payload::Location),
        span().prop_map(Payload::Window),
        detail().prop_map(Payload::Detail),
        Just(Payload::Cancelled),
        any::<bool>().prop_map(Payload::Urgent),
    ]
}

/// An [`Outcome`] union.
pub fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Pending),
        any::<u32>().prop_map(Outcome::Done),
        text().prop_map(Outcome::Failed),
    ]
}

prop_compose! {
    /// An [`Event`].
    pub fn event()(
        id in any::<u64>(),
        payload in payload(),
        seq in any::<u16>(),
        outcome in outcome(),
    ) -> Event {
        Event { id, payload, seq, outcome }
    }
}

prop_compose! {
    /// A [`Stock`].
    pub fn stock()(
        region in text(),
        sku in any::<u32>(),
        quantity in any::<i32>(),
        price in float64(),
    ) -> Stock {
        Stock { region, sku, quantity, price }
    }
}

prop_compose! {
    /// A [`Performer`].
    pub fn performer()(id in any::<u64>(), name in text()) -> Performer {
        Performer { id, name }
    }
}

prop_compose! {
    /// A [`Role`].
    pub fn role()(actor in performer(), character in text(), billing in any::<u8>()) -> Role {
        Role { actor, character, billing }
    }
}
