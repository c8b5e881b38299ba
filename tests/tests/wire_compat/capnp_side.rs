//! The test types through the code `capnpc` generates (`crate::capnp_gen`):
//! `read_*` turns a capnpc reader into the owned value (calling every
//! getter), `build_*` writes an owned value with the capnpc builders.
//!
//! Builders take a [`Style`]: Hollow's encoder stores an empty `Text`,
//! `Data` or list in a plain (non-`Option`) field as a null pointer, while a
//! capnpc setter called with an empty value stores an empty, non-null one.
//! Both read back as empty, but their canonical bytes differ, so
//! [`Style::Minimal`] leaves such fields unset (matching Hollow's bytes) and
//! [`Style::Explicit`] sets every field.

use capnp::Result;

use crate::capnp_gen::{
    actor_capnp::actor, all_types_capnp as at, event_capnp as ev, movie_capnp::movie,
    role_capnp as ro, shipment_capnp::shipment, stock_capnp::stock,
};
use hollow_tests::{
    Actor, AllTypes, Color, Coord, Detail, Dims, Event, Inner, Movie, Origin, Outcome, Payload,
    Performer, Role, Shipment, Span, Stock,
};

/// Which fields a builder sets (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    /// Leave plain pointer fields holding an empty value unset (null), as
    /// Hollow's encoder does.
    Minimal,
    /// Set every field, even to an empty value.
    Explicit,
}

impl Style {
    /// Whether a plain pointer field whose value is empty or not is set.
    fn sets(self, empty: bool) -> bool {
        self == Style::Explicit || !empty
    }
}

fn text(t: capnp::text::Reader<'_>) -> Result<String> {
    Ok(t.to_str()?.to_owned())
}

fn texts(l: capnp::text_list::Reader<'_>) -> Result<Vec<String>> {
    l.iter().map(|t| text(t?)).collect()
}

fn prims<T: capnp::private::layout::PrimitiveElement + Copy>(
    l: capnp::primitive_list::Reader<'_, T>,
) -> Vec<T> {
    l.iter().collect()
}

fn set_texts(mut b: capnp::text_list::Builder<'_>, v: &[String]) {
    for (i, t) in v.iter().enumerate() {
        b.set(i as u32, t.as_str());
    }
}

fn set_prims<T: capnp::private::layout::PrimitiveElement + Copy>(
    mut b: capnp::primitive_list::Builder<'_, T>,
    v: &[T],
) {
    for (i, x) in v.iter().enumerate() {
        b.set(i as u32, *x);
    }
}

/// Reads a `Movie` with capnpc's reader.
///
/// # Errors
/// A pointer capnp cannot follow, or text that is not UTF-8.
pub(crate) fn read_movie(r: movie::Reader<'_>) -> Result<Movie> {
    Ok(Movie {
        id: r.get_id(),
        title: text(r.get_title()?)?,
        year: r.get_year(),
        runtime_min: r.get_runtime_min(),
        rating: r.get_rating(),
        genres: texts(r.get_genres()?)?,
        cast_ids: prims(r.get_cast_ids()?),
        description: text(r.get_description()?)?,
    })
}

/// Writes a `Movie` with capnpc's builder.
pub(crate) fn build_movie(mut b: movie::Builder<'_>, v: &Movie, style: Style) {
    b.set_id(v.id);
    if style.sets(v.title.is_empty()) {
        b.set_title(v.title.as_str());
    }
    b.set_year(v.year);
    b.set_runtime_min(v.runtime_min);
    b.set_rating(v.rating);
    if style.sets(v.genres.is_empty()) {
        set_texts(b.reborrow().init_genres(v.genres.len() as u32), &v.genres);
    }
    if style.sets(v.cast_ids.is_empty()) {
        set_prims(
            b.reborrow().init_cast_ids(v.cast_ids.len() as u32),
            &v.cast_ids,
        );
    }
    if style.sets(v.description.is_empty()) {
        b.set_description(v.description.as_str());
    }
}

/// Reads an `Actor` with capnpc's reader.
///
/// # Errors
/// As [`read_movie`].
pub(crate) fn read_actor(r: actor::Reader<'_>) -> Result<Actor> {
    Ok(Actor {
        id: r.get_id(),
        name: text(r.get_name()?)?,
    })
}

/// Writes an `Actor` with capnpc's builder.
pub(crate) fn build_actor(mut b: actor::Builder<'_>, v: &Actor, style: Style) {
    b.set_id(v.id);
    if style.sets(v.name.is_empty()) {
        b.set_name(v.name.as_str());
    }
}

fn color(c: at::Color) -> Color {
    match c {
        at::Color::Red => Color::Red,
        at::Color::Green => Color::Green,
        at::Color::Blue => Color::Blue,
    }
}

fn to_color(c: Color) -> at::Color {
    match c {
        Color::Red => at::Color::Red,
        Color::Green => at::Color::Green,
        Color::Blue => at::Color::Blue,
    }
}

fn read_inner(r: at::inner::Reader<'_>) -> Result<Inner> {
    Ok(Inner {
        id: r.get_id(),
        name: text(r.get_name()?)?,
        flag: r.get_flag(),
        scores: prims(r.get_scores()?),
        color: color(r.get_color()?),
    })
}

fn build_inner(mut b: at::inner::Builder<'_>, v: &Inner, style: Style) {
    b.set_id(v.id);
    if style.sets(v.name.is_empty()) {
        b.set_name(v.name.as_str());
    }
    b.set_flag(v.flag);
    if style.sets(v.scores.is_empty()) {
        set_prims(b.reborrow().init_scores(v.scores.len() as u32), &v.scores);
    }
    b.set_color(to_color(v.color));
}

/// Reads an `AllTypes` with capnpc's reader, calling every getter (and
/// `has_*` for the optional fields: null is `None`).
///
/// # Errors
/// As [`read_movie`].
pub(crate) fn read_all_types(r: at::all_types::Reader<'_>) -> Result<AllTypes> {
    Ok(AllTypes {
        id: r.get_id(),
        flag: r.get_flag(),
        int8: r.get_int8(),
        int16: r.get_int16(),
        int32: r.get_int32(),
        int64: r.get_int64(),
        uint8: r.get_uint8(),
        uint16: r.get_uint16(),
        uint32: r.get_uint32(),
        uint64: r.get_uint64(),
        float32: r.get_float32(),
        float64: r.get_float64(),
        text: text(r.get_text()?)?,
        data: r.get_data()?.to_vec(),
        bools: prims(r.get_bools()?),
        int8s: prims(r.get_int8s()?),
        int16s: prims(r.get_int16s()?),
        uint16s: prims(r.get_uint16s()?),
        int32s: prims(r.get_int32s()?),
        uint32s: prims(r.get_uint32s()?),
        int64s: prims(r.get_int64s()?),
        uint64s: prims(r.get_uint64s()?),
        float32s: prims(r.get_float32s()?),
        float64s: prims(r.get_float64s()?),
        texts: texts(r.get_texts()?)?,
        blobs: r
            .get_blobs()?
            .iter()
            .map(|b| Ok(b?.to_vec()))
            .collect::<Result<_>>()?,
        uint32_lists: r
            .get_uint32_lists()?
            .iter()
            .map(|l| Ok(prims(l?)))
            .collect::<Result<_>>()?,
        text_lists: r
            .get_text_lists()?
            .iter()
            .map(|l| texts(l?))
            .collect::<Result<_>>()?,
        inner: read_inner(r.get_inner()?)?,
        inners: r
            .get_inners()?
            .iter()
            .map(read_inner)
            .collect::<Result<_>>()?,
        color: color(r.get_color()?),
        colors: r
            .get_colors()?
            .iter()
            .map(|c| Ok(color(c?)))
            .collect::<Result<_>>()?,
        maybe_text: match r.has_maybe_text() {
            true => Some(text(r.get_maybe_text()?)?),
            false => None,
        },
        maybe_data: match r.has_maybe_data() {
            true => Some(r.get_maybe_data()?.to_vec()),
            false => None,
        },
        maybe_uint64s: match r.has_maybe_uint64s() {
            true => Some(prims(r.get_maybe_uint64s()?)),
            false => None,
        },
        maybe_inner: match r.has_maybe_inner() {
            true => Some(read_inner(r.get_maybe_inner()?)?),
            false => None,
        },
    })
}

/// Writes an `AllTypes` with capnpc's builder. The nested struct `inner` is
/// always initialized (Hollow writes a non-optional struct even when it is
/// all defaults); `Option` fields are set exactly when `Some`.
pub(crate) fn build_all_types(mut b: at::all_types::Builder<'_>, v: &AllTypes, style: Style) {
    b.set_id(v.id);
    b.set_flag(v.flag);
    b.set_int8(v.int8);
    b.set_int16(v.int16);
    b.set_int32(v.int32);
    b.set_int64(v.int64);
    b.set_uint8(v.uint8);
    b.set_uint16(v.uint16);
    b.set_uint32(v.uint32);
    b.set_uint64(v.uint64);
    b.set_float32(v.float32);
    b.set_float64(v.float64);
    if style.sets(v.text.is_empty()) {
        b.set_text(v.text.as_str());
    }
    if style.sets(v.data.is_empty()) {
        b.set_data(&v.data);
    }
    macro_rules! prim_list {
        ($init:ident, $field:ident) => {
            if style.sets(v.$field.is_empty()) {
                set_prims(b.reborrow().$init(v.$field.len() as u32), &v.$field);
            }
        };
    }
    prim_list!(init_bools, bools);
    prim_list!(init_int8s, int8s);
    prim_list!(init_int16s, int16s);
    prim_list!(init_uint16s, uint16s);
    prim_list!(init_int32s, int32s);
    prim_list!(init_uint32s, uint32s);
    prim_list!(init_int64s, int64s);
    prim_list!(init_uint64s, uint64s);
    prim_list!(init_float32s, float32s);
    prim_list!(init_float64s, float64s);
    if style.sets(v.texts.is_empty()) {
        set_texts(b.reborrow().init_texts(v.texts.len() as u32), &v.texts);
    }
    if style.sets(v.blobs.is_empty()) {
        let mut l = b.reborrow().init_blobs(v.blobs.len() as u32);
        for (i, x) in v.blobs.iter().enumerate() {
            l.set(i as u32, x);
        }
    }
    if style.sets(v.uint32_lists.is_empty()) {
        let mut l = b.reborrow().init_uint32_lists(v.uint32_lists.len() as u32);
        for (i, x) in v.uint32_lists.iter().enumerate() {
            set_prims(l.reborrow().init(i as u32, x.len() as u32), x);
        }
    }
    if style.sets(v.text_lists.is_empty()) {
        let mut l = b.reborrow().init_text_lists(v.text_lists.len() as u32);
        for (i, x) in v.text_lists.iter().enumerate() {
            set_texts(l.reborrow().init(i as u32, x.len() as u32), x);
        }
    }
    build_inner(b.reborrow().init_inner(), &v.inner, style);
    if style.sets(v.inners.is_empty()) {
        let mut l = b.reborrow().init_inners(v.inners.len() as u32);
        for (i, x) in v.inners.iter().enumerate() {
            build_inner(l.reborrow().get(i as u32), x, style);
        }
    }
    b.set_color(to_color(v.color));
    if style.sets(v.colors.is_empty()) {
        let mut l = b.reborrow().init_colors(v.colors.len() as u32);
        for (i, x) in v.colors.iter().enumerate() {
            l.set(i as u32, to_color(*x));
        }
    }
    if let Some(t) = &v.maybe_text {
        b.set_maybe_text(t.as_str());
    }
    if let Some(d) = &v.maybe_data {
        b.set_maybe_data(d);
    }
    if let Some(l) = &v.maybe_uint64s {
        set_prims(b.reborrow().init_maybe_uint64s(l.len() as u32), l);
    }
    if let Some(i) = &v.maybe_inner {
        build_inner(b.reborrow().init_maybe_inner(), i, style);
    }
}

/// Reads a `Shipment` (and its groups) with capnpc's reader.
///
/// # Errors
/// As [`read_movie`].
pub(crate) fn read_shipment(r: shipment::Reader<'_>) -> Result<Shipment> {
    let d = r.get_dims();
    let o = d.get_origin();
    Ok(Shipment {
        id: r.get_id(),
        express: r.get_express(),
        dims: Dims {
            fragile: d.get_fragile(),
            grade: d.get_grade(),
            width: d.get_width(),
            weight: d.get_weight(),
            volume: d.get_volume(),
            label: text(d.get_label()?)?,
            origin: Origin {
                zone: o.get_zone(),
                code: text(o.get_code()?)?,
            },
        },
        stops: r.get_stops(),
        carrier: text(r.get_carrier()?)?,
    })
}

/// Writes a `Shipment` with capnpc's builder.
pub(crate) fn build_shipment(mut b: shipment::Builder<'_>, v: &Shipment, style: Style) {
    b.set_id(v.id);
    b.set_express(v.express);
    {
        let mut d = b.reborrow().init_dims();
        d.set_fragile(v.dims.fragile);
        d.set_grade(v.dims.grade);
        d.set_width(v.dims.width);
        d.set_weight(v.dims.weight);
        d.set_volume(v.dims.volume);
        if style.sets(v.dims.label.is_empty()) {
            d.set_label(v.dims.label.as_str());
        }
        let mut o = d.init_origin();
        o.set_zone(v.dims.origin.zone);
        if style.sets(v.dims.origin.code.is_empty()) {
            o.set_code(v.dims.origin.code.as_str());
        }
    }
    b.set_stops(v.stops);
    if style.sets(v.carrier.is_empty()) {
        b.set_carrier(v.carrier.as_str());
    }
}

/// Reads an `Event` (its two unions, the union nested in a member, the
/// group and struct members) with capnpc's reader.
///
/// # Errors
/// As [`read_movie`], or a discriminant capnpc does not know.
pub(crate) fn read_event(r: ev::event::Reader<'_>) -> Result<Event> {
    use ev::event::{outcome as o, payload as p};
    let payload = match r.get_payload().which()? {
        p::Empty(()) => Payload::Empty,
        p::Count(n) => Payload::Count(n),
        p::Message(t) => Payload::Message(text(t?)?),
        p::Location(c) => {
            let c = c?;
            Payload::Location(Coord {
                lat: c.get_lat(),
                lon: c.get_lon(),
            })
        }
        p::Window(w) => Payload::Window(Span {
            start: w.get_start(),
            end: w.get_end(),
        }),
        p::Detail(d) => Payload::Detail(match d.which()? {
            p::detail::Unknown(()) => Detail::Unknown,
            p::detail::Code(c) => Detail::Code(c),
            p::detail::Reason(t) => Detail::Reason(text(t?)?),
        }),
        p::Cancelled(()) => Payload::Cancelled,
        p::Urgent(u) => Payload::Urgent(u),
    };
    let outcome = match r.get_outcome().which()? {
        o::Pending(()) => Outcome::Pending,
        o::Done(n) => Outcome::Done(n),
        o::Failed(t) => Outcome::Failed(text(t?)?),
    };
    Ok(Event {
        id: r.get_id(),
        payload,
        seq: r.get_seq(),
        outcome,
    })
}

/// Writes an `Event` with capnpc's builder. A union member holding an empty
/// `Text` is set to a non-null empty text whatever the style (a capnpc
/// builder cannot select a member and leave its pointer null), so such
/// events have other canonical bytes than Hollow's; see
/// [`event_has_empty_union_text`].
pub(crate) fn build_event(mut b: ev::event::Builder<'_>, v: &Event, _style: Style) {
    b.set_id(v.id);
    {
        let mut p = b.reborrow().init_payload();
        match &v.payload {
            Payload::Empty => p.set_empty(()),
            Payload::Count(n) => p.set_count(*n),
            Payload::Message(t) => p.set_message(t.as_str()),
            Payload::Location(c) => {
                let mut l = p.init_location();
                l.set_lat(c.lat);
                l.set_lon(c.lon);
            }
            Payload::Window(s) => {
                let mut w = p.init_window();
                w.set_start(s.start);
                w.set_end(s.end);
            }
            Payload::Detail(d) => {
                let mut d2 = p.init_detail();
                match d {
                    Detail::Unknown => d2.set_unknown(()),
                    Detail::Code(c) => d2.set_code(*c),
                    Detail::Reason(t) => d2.set_reason(t.as_str()),
                }
            }
            Payload::Cancelled => p.set_cancelled(()),
            Payload::Urgent(u) => p.set_urgent(*u),
        }
    }
    b.set_seq(v.seq);
    let mut o = b.reborrow().init_outcome();
    match &v.outcome {
        Outcome::Pending => o.set_pending(()),
        Outcome::Done(n) => o.set_done(*n),
        Outcome::Failed(t) => o.set_failed(t.as_str()),
    }
}

/// Whether `v` has a union member holding an empty `Text`: Hollow stores it
/// as a null pointer, a capnpc builder as an empty text.
pub(crate) fn event_has_empty_union_text(v: &Event) -> bool {
    let payload = match &v.payload {
        Payload::Message(t) | Payload::Detail(Detail::Reason(t)) => t.is_empty(),
        _ => false,
    };
    payload || matches!(&v.outcome, Outcome::Failed(t) if t.is_empty())
}

/// Reads a `Stock` with capnpc's reader.
///
/// # Errors
/// As [`read_movie`].
pub(crate) fn read_stock(r: stock::Reader<'_>) -> Result<Stock> {
    Ok(Stock {
        region: text(r.get_region()?)?,
        sku: r.get_sku(),
        quantity: r.get_quantity(),
        price: r.get_price(),
    })
}

/// Writes a `Stock` with capnpc's builder.
pub(crate) fn build_stock(mut b: stock::Builder<'_>, v: &Stock, style: Style) {
    if style.sets(v.region.is_empty()) {
        b.set_region(v.region.as_str());
    }
    b.set_sku(v.sku);
    b.set_quantity(v.quantity);
    b.set_price(v.price);
}

/// Reads a `Role` with capnpc's reader.
///
/// # Errors
/// As [`read_movie`].
pub(crate) fn read_role(r: ro::role::Reader<'_>) -> Result<Role> {
    let a = r.get_actor()?;
    Ok(Role {
        actor: Performer {
            id: a.get_id(),
            name: text(a.get_name()?)?,
        },
        character: text(r.get_character()?)?,
        billing: r.get_billing(),
    })
}

/// Writes a `Role` with capnpc's builder (the nested `actor` always
/// initialized).
pub(crate) fn build_role(mut b: ro::role::Builder<'_>, v: &Role, style: Style) {
    {
        let mut a = b.reborrow().init_actor();
        a.set_id(v.actor.id);
        if style.sets(v.actor.name.is_empty()) {
            a.set_name(v.actor.name.as_str());
        }
    }
    if style.sets(v.character.is_empty()) {
        b.set_character(v.character.as_str());
    }
    b.set_billing(v.billing);
}
