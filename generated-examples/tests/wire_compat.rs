//! Wire compatibility: records written through the generated types are
//! read, field by field, by the readers capnpc generates from the same
//! `schemas/*.capnp` files (built by `build.rs`), and messages built with
//! capnpc's builders are read back by the generated accessors.

use generated_examples::gen::{commerce, iot};
use generated_examples::sample;
use hollow_runtime::{read_root, to_canonical_bytes};

#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    unused_qualifications,
    clippy::all,
    clippy::pedantic
)]
mod capnp_gen {
    include!(concat!(env!("OUT_DIR"), "/capnp_gen.rs"));
}
use capnp_gen::{commerce_capnp, iot_capnp, movies_capnp};

/// The bytes of a single-segment message, word aligned.
fn words(bytes: &[u8]) -> Vec<capnp::Word> {
    assert_eq!(bytes.len() % 8, 0, "a message is whole words");
    let mut w = capnp::Word::allocate_zeroed_vec(bytes.len() / 8);
    capnp::Word::words_to_bytes_mut(&mut w).copy_from_slice(bytes);
    w
}

/// Reads `bytes` (one segment, no segment table) with capnp.
fn with_root<T, R>(bytes: &[u8], f: impl FnOnce(T::Reader<'_>) -> R) -> R
where
    T: capnp::traits::Owned,
{
    let w = words(bytes);
    let segments: [&[u8]; 1] = [capnp::Word::words_to_bytes(&w)];
    let message = capnp::message::Reader::new(
        capnp::message::SegmentArray::new(&segments),
        capnp::message::ReaderOptions::new(),
    );
    f(message.get_root::<T::Reader<'_>>().expect("a root struct"))
}

fn text(t: capnp::Result<capnp::text::Reader<'_>>) -> String {
    t.expect("text").to_str().expect("utf-8").to_string()
}

#[test]
fn movies_are_read_by_capnpc() {
    let c = sample::movies::at(3);
    for m in &c.movies {
        let bytes = to_canonical_bytes(m).expect("encode");
        with_root::<movies_capnp::movie::Owned, _>(&bytes, |r| {
            assert_eq!(r.get_id(), m.id);
            assert_eq!(text(r.get_title()), m.title);
            assert_eq!(r.get_year(), m.year);
            assert_eq!(r.get_runtime_min(), m.runtime_min);
            assert_eq!(r.get_rating(), m.rating);
            let genres: Vec<String> = r.get_genres().expect("genres").iter().map(text).collect();
            assert_eq!(genres, m.genres);
            let cast: Vec<u64> = r.get_cast_ids().expect("cast").iter().collect();
            assert_eq!(cast, m.cast_ids);
            assert_eq!(text(r.get_description()), m.description);
        });
    }
    for rv in &c.reviews {
        let bytes = to_canonical_bytes(rv).expect("encode");
        with_root::<movies_capnp::review::Owned, _>(&bytes, |r| {
            assert_eq!(r.get_movie_id(), rv.movie_id);
            assert_eq!(text(r.get_reviewer()), rv.reviewer);
            assert_eq!(r.get_stars(), rv.stars);
            assert_eq!(
                r.get_posted_at().expect("postedAt").get_epoch_millis(),
                rv.posted_at.epoch_millis
            );
            assert_eq!(text(r.get_text()), rv.text);
        });
    }
}

#[test]
fn commerce_is_read_by_capnpc() {
    let c = sample::commerce::at(3);
    for cu in &c.customers {
        let bytes = to_canonical_bytes(cu).expect("encode");
        with_root::<commerce_capnp::customer::Owned, _>(&bytes, |r| {
            assert_eq!(r.get_id(), cu.id);
            assert_eq!(text(r.get_email()), cu.email);
            assert_eq!(text(r.get_name()), cu.name);
            let a = r.get_address();
            assert_eq!(text(a.get_street()), cu.address.street);
            assert_eq!(text(a.get_city()), cu.address.city);
            assert_eq!(text(a.get_country()), cu.address.country);
            assert_eq!(
                r.get_since().expect("since").get_epoch_millis(),
                cu.since.epoch_millis
            );
        });
    }
    for o in &c.orders {
        let bytes = to_canonical_bytes(o).expect("encode");
        with_root::<commerce_capnp::order::Owned, _>(&bytes, |r| {
            assert_eq!(r.get_id(), o.id);
            assert_eq!(r.get_customer_id(), o.customer_id);
            assert_eq!(r.get_status().expect("status") as u16, o.status as u16);
            let items = r.get_items().expect("items");
            assert_eq!(items.len() as usize, o.items.len());
            for (ri, oi) in items.iter().zip(&o.items) {
                assert_eq!(text(ri.get_sku()), oi.sku);
                assert_eq!(ri.get_quantity(), oi.quantity);
                let p = ri.get_unit_price().expect("unitPrice");
                assert_eq!(text(p.get_currency()), oi.unit_price.currency);
                assert_eq!(p.get_minor_units(), oi.unit_price.minor_units);
            }
            assert_eq!(
                r.get_total().expect("total").get_minor_units(),
                o.total.minor_units
            );
            assert_eq!(
                r.get_placed_at().expect("placedAt").get_epoch_millis(),
                o.placed_at.epoch_millis
            );
        });
    }
    for s in &c.stock {
        let bytes = to_canonical_bytes(s).expect("encode");
        with_root::<commerce_capnp::stock_level::Owned, _>(&bytes, |r| {
            assert_eq!(text(r.get_warehouse()), s.warehouse);
            assert_eq!(text(r.get_sku()), s.sku);
            assert_eq!(r.get_on_hand(), s.on_hand);
            assert_eq!(r.get_reserved(), s.reserved);
        });
    }
}

#[test]
fn iot_is_read_by_capnpc() {
    let c = sample::iot::at(3);
    for d in &c.devices {
        let bytes = to_canonical_bytes(d).expect("encode");
        with_root::<iot_capnp::device::Owned, _>(&bytes, |r| {
            assert_eq!(r.get_id(), d.id);
            assert_eq!(text(r.get_serial()), d.serial);
            assert_eq!(r.get_kind().expect("kind") as u16, d.kind as u16);
            let l = r.get_location().expect("location");
            assert_eq!((l.get_lat(), l.get_lon()), (d.location.lat, d.location.lon));
            let tags: Vec<String> = r.get_tags().expect("tags").iter().map(text).collect();
            assert_eq!(tags, d.tags);
        });
    }
    for m in &c.metrics {
        let bytes = to_canonical_bytes(m).expect("encode");
        with_root::<iot_capnp::metric::Owned, _>(&bytes, |r| {
            use iot_capnp::metric::value::Which;
            assert_eq!(r.get_device_id(), m.device_id);
            assert_eq!(text(r.get_name()), m.name);
            assert_eq!(
                r.get_at().expect("at").get_epoch_millis(),
                m.at.epoch_millis
            );
            match (r.get_value().which().expect("known member"), &m.value) {
                (Which::Gauge(a), iot::MetricValue::Gauge(b)) => assert_eq!(a, *b),
                (Which::Counter(a), iot::MetricValue::Counter(b)) => assert_eq!(a, *b),
                (Which::Text(a), iot::MetricValue::Text(b)) => assert_eq!(text(a), *b),
                (Which::Missing(()), iot::MetricValue::Missing) => {}
                (_, other) => panic!(
                    "metric {}: capnpc reads another member than {other:?}",
                    m.name
                ),
            }
        });
    }
    for a in &c.alerts {
        let bytes = to_canonical_bytes(a).expect("encode");
        with_root::<iot_capnp::alert::Owned, _>(&bytes, |r| {
            use iot_capnp::alert::cause::Which;
            assert_eq!(r.get_id(), a.id);
            assert_eq!(
                r.get_severity().expect("severity") as u16,
                a.severity as u16
            );
            assert_eq!(text(r.get_message()), a.message);
            match (r.get_cause().which().expect("known member"), &a.cause) {
                (Which::Threshold(t), iot::AlertCause::Threshold(e)) => {
                    assert_eq!(text(t.get_metric()), e.metric);
                    assert_eq!(t.get_limit(), e.limit);
                }
                (Which::Offline(()), iot::AlertCause::Offline) => {}
                (Which::Manual(n), iot::AlertCause::Manual(e)) => assert_eq!(text(n), *e),
                (_, other) => panic!("alert {}: capnpc reads another member than {other:?}", a.id),
            }
        });
    }
}

/// Builds a single-segment message with capnpc's builder.
fn build<T: capnp::traits::Owned>(f: impl FnOnce(T::Builder<'_>)) -> Vec<u8> {
    let alloc = capnp::message::HeapAllocator::new().first_segment_words(1 << 12);
    let mut msg = capnp::message::Builder::new(alloc);
    f(msg.init_root::<T::Builder<'_>>());
    let segments = msg.get_segments_for_output();
    assert_eq!(segments.len(), 1, "one segment");
    segments[0].to_vec()
}

#[test]
fn capnpc_built_records_are_read_by_the_generated_accessors() {
    let bytes = build::<iot_capnp::alert::Owned>(|mut a| {
        a.set_id(9);
        a.set_device_id(4);
        a.set_severity(iot_capnp::Severity::Critical);
        a.set_message("hot");
        a.reborrow().init_raised_at().set_epoch_millis(77);
        let mut t = a.init_cause().init_threshold();
        t.set_metric("temperature");
        t.set_limit(30.5);
    });
    let r = read_root::<iot::Alert>(&bytes).expect("read");
    assert_eq!(
        r.to_value().expect("known members"),
        iot::Alert {
            id: 9,
            device_id: 4,
            severity: iot::Severity::Critical,
            raised_at: generated_examples::gen::common::Timestamp { epoch_millis: 77 },
            message: "hot".into(),
            cause: iot::AlertCause::Threshold(iot::AlertCauseThreshold {
                metric: "temperature".into(),
                limit: 30.5,
            }),
        }
    );
    let bytes = build::<commerce_capnp::order::Owned>(|mut o| {
        o.set_id(5);
        o.set_status(commerce_capnp::OrderStatus::Shipped);
        let mut items = o.reborrow().init_items(1);
        let mut i = items.reborrow().get(0);
        i.set_sku("mug");
        i.set_quantity(3);
        i.init_unit_price().set_minor_units(1_250);
    });
    let r = read_root::<commerce::Order>(&bytes).expect("read");
    let o = r.to_value().expect("known members");
    assert_eq!((o.id, o.status), (5, commerce::OrderStatus::Shipped));
    assert_eq!(o.items[0].sku, "mug");
    assert_eq!(o.items[0].quantity, 3);
    assert_eq!(o.items[0].unit_price.minor_units, 1_250);
}
