//! Maps and sets through the runtime: the blob header carries a field's
//! `$Hollow.map` / `$Hollow.set` mark from producer to consumer, and a blob
//! whose map or set is out of order or repeats a key is refused as damaged.

use std::collections::BTreeSet;
use std::sync::Arc;

use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{Consumer, Hollow, Producer};
use hollow_schema::Collection;

/// A record with a set field.
#[derive(Hollow, Debug, Clone, PartialEq, Default)]
#[hollow(rename = "Tagged", primary_key(id))]
struct Tagged {
    id: u64,
    name: String,
    tags: BTreeSet<String>,
    scores: BTreeSet<i32>,
}

fn tagged(id: u64) -> Tagged {
    Tagged {
        id,
        name: format!("item {id}"),
        tags: (0..id % 4)
            .map(|i| format!("tag{}", (id + i) % 5))
            .collect(),
        scores: [-(id as i32), id as i32 * 3, 7].into_iter().collect(),
    }
}

fn memory() -> (Arc<MemoryBlobStore>, Arc<InProcessAnnouncer>) {
    (
        Arc::new(MemoryBlobStore::new()),
        Arc::new(InProcessAnnouncer::new()),
    )
}

/// The collection mark of `field` of struct `ty` in `schema`.
fn mark(schema: &hollow_schema::Schema, ty: &str, field: &str) -> Option<Collection> {
    let s = schema.get_struct(ty).expect("the struct");
    let f = s
        .fields
        .iter()
        .find(|f| f.name == field)
        .expect("the field");
    f.as_slot().expect("a slot").collection
}

#[tokio::test]
async fn a_set_field_keeps_its_mark_from_producer_to_consumer() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, ann) = memory();
    let items: Vec<Tagged> = (1..=12).map(tagged).collect();
    let mut p = Producer::builder(store.clone(), ann.clone())
        .record_type::<Tagged>()
        .build();
    p.run_cycle(|w| items.iter().try_for_each(|m| w.add(m)))
        .await
        .expect("cycle 1");

    // A consumer compiled with the type, and one reading the blob's schema only.
    for typed in [true, false] {
        let b = Consumer::builder(store.clone(), ann.clone())
            .cache_dir(tmp.path().join(format!("c{typed}")));
        let c = if typed { b.record_type::<Tagged>() } else { b }
            .build()
            .unwrap();
        assert_eq!(c.refresh().await.unwrap(), Some(1));
        let s = c.current().expect("version 1");
        assert_eq!(mark(s.schema(), "Tagged", "tags"), Some(Collection::Set));
        assert_eq!(mark(s.schema(), "Tagged", "scores"), Some(Collection::Set));
        assert_eq!(mark(s.schema(), "Tagged", "name"), None);
        let mut read: Vec<Tagged> = s
            .records::<Tagged>()
            .iter()
            .map(|(_, r)| r.to_value().expect("a whole record"))
            .collect();
        read.sort_by_key(|t| t.id);
        assert_eq!(read, items);
        s.check_records().expect("sorted sets pass the deep check");
    }
}
