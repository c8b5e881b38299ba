//! The generated types round-trip through producer → blobs → consumer:
//! three cycles per example dataset, the consumer following by deltas, and
//! every record read back equals what was produced. Also a new consumer
//! loading the last snapshot sees the same.

use std::fmt::Debug;
use std::sync::Arc;

use generated_examples::gen::{commerce, iot, movies};
use generated_examples::sample;
use hollow_runtime::{Consumer, InProcessAnnouncer, MemoryBlobStore, Producer, ReadState, Record};

/// Every record of `T` in `state`, in primary key order, equals `expected`.
fn assert_same<T>(state: &ReadState, expected: &[T])
where
    T: Record + PartialEq + Debug,
    T::PrimaryKey: Ord,
{
    let mut got: Vec<T> = state
        .records::<T>()
        .iter()
        .map(|(o, r)| {
            T::from_ref(r).unwrap_or_else(|e| panic!("{} ordinal {o}: {e:?}", T::TYPE_NAME))
        })
        .collect();
    got.sort_by_key(|r| r.primary_key());
    let mut want: Vec<&T> = expected.iter().collect();
    want.sort_by_key(|r| r.primary_key());
    assert_eq!(got.len(), want.len(), "{} count", T::TYPE_NAME);
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "{}", T::TYPE_NAME);
    }
}

struct Harness {
    store: Arc<MemoryBlobStore>,
    announcer: Arc<InProcessAnnouncer>,
    producer: Producer,
    consumer: Consumer,
    cache: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        let store = Arc::new(MemoryBlobStore::new());
        let announcer = Arc::new(InProcessAnnouncer::new());
        let cache = tempfile::tempdir().expect("tempdir");
        let producer = Producer::builder(store.clone(), announcer.clone()).build();
        let consumer = Consumer::builder(store.clone(), announcer.clone())
            .cache_dir(cache.path().join("follow"))
            .build()
            .expect("consumer");
        Harness {
            store,
            announcer,
            producer,
            consumer,
            cache,
        }
    }

    /// A consumer that loads the announced version from scratch.
    async fn fresh_state(&self) -> Arc<ReadState> {
        let c = Consumer::builder(self.store.clone(), self.announcer.clone())
            .cache_dir(self.cache.path().join("fresh"))
            .build()
            .expect("consumer");
        c.refresh().await.expect("refresh");
        c.current().expect("a version")
    }
}

#[tokio::test]
async fn movies_round_trip() {
    let mut h = Harness::new();
    for cycle in 1..=3 {
        let c = sample::movies::at(cycle);
        let out = h
            .producer
            .run_cycle(|w| {
                c.movies.iter().try_for_each(|m| w.add(m))?;
                c.actors.iter().try_for_each(|a| w.add(a))?;
                c.reviews.iter().try_for_each(|r| w.add(r))
            })
            .await
            .expect("cycle");
        assert_eq!(out.version, Some(u64::from(cycle)));
        h.consumer.refresh().await.expect("refresh");
        let s = h.consumer.current().expect("state");
        assert_same::<movies::Movie>(&s, &c.movies);
        assert_same::<movies::Actor>(&s, &c.actors);
        assert_same::<movies::Review>(&s, &c.reviews);
    }
    let c = sample::movies::at(3);
    let s = h.fresh_state().await;
    assert_same::<movies::Movie>(&s, &c.movies);
    assert_same::<movies::Review>(&s, &c.reviews);
}

#[tokio::test]
async fn commerce_round_trip() {
    let mut h = Harness::new();
    for cycle in 1..=3 {
        let c = sample::commerce::at(cycle);
        h.producer
            .run_cycle(|w| {
                c.customers.iter().try_for_each(|x| w.add(x))?;
                c.orders.iter().try_for_each(|x| w.add(x))?;
                c.stock.iter().try_for_each(|x| w.add(x))
            })
            .await
            .expect("cycle");
        h.consumer.refresh().await.expect("refresh");
        let s = h.consumer.current().expect("state");
        assert_same::<commerce::Customer>(&s, &c.customers);
        assert_same::<commerce::Order>(&s, &c.orders);
        assert_same::<commerce::StockLevel>(&s, &c.stock);
    }
    let c = sample::commerce::at(3);
    let s = h.fresh_state().await;
    assert_same::<commerce::Customer>(&s, &c.customers);
    assert_same::<commerce::Order>(&s, &c.orders);
    assert_same::<commerce::StockLevel>(&s, &c.stock);
}

#[tokio::test]
async fn iot_round_trip() {
    let mut h = Harness::new();
    for cycle in 1..=3 {
        let c = sample::iot::at(cycle);
        h.producer
            .run_cycle(|w| {
                c.devices.iter().try_for_each(|x| w.add(x))?;
                c.metrics.iter().try_for_each(|x| w.add(x))?;
                c.alerts.iter().try_for_each(|x| w.add(x))
            })
            .await
            .expect("cycle");
        h.consumer.refresh().await.expect("refresh");
        let s = h.consumer.current().expect("state");
        assert_same::<iot::Device>(&s, &c.devices);
        assert_same::<iot::Metric>(&s, &c.metrics);
        assert_same::<iot::Alert>(&s, &c.alerts);
    }
    let c = sample::iot::at(3);
    let s = h.fresh_state().await;
    assert_same::<iot::Device>(&s, &c.devices);
    assert_same::<iot::Metric>(&s, &c.metrics);
    assert_same::<iot::Alert>(&s, &c.alerts);
}
