//! The online shop example: a producer and a consumer over a local
//! directory, using the types hollow-codegen generated from
//! `schemas/commerce.capnp` (a group, a list of nested structs, an enum, a
//! unique key and a composite primary key).
//!
//! ```text
//! cargo run -p generated-examples --bin commerce [-- DIR]
//! ```
//!
//! Three cycles move orders through their states; the consumer looks
//! customers, orders and stock levels up by primary key after each. Then a
//! schema-evolution step: `StockLevel` gains `incoming @4 :Int32`
//! ([`StockLevelV2`]); a consumer with the old type reads data written with
//! the new one, and a consumer with the new type reads the old data.

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore, Hollow, Producer, ReadState};

use generated_examples::demo::{data_dir, open_store, BoxError};
use generated_examples::gen::commerce::{
    Customer, CustomerByEmail, Order, OrderStatus, Product, StockLevel,
};
use generated_examples::sample;

/// `StockLevel` with a field added (`incoming @4 :Int32`).
#[derive(Hollow, Clone, Debug, Default, PartialEq)]
#[hollow(rename = "StockLevel", primary_key(warehouse, sku))]
pub struct StockLevelV2 {
    warehouse: String,
    sku: String,
    on_hand: i32,
    reserved: i32,
    /// New in version 2: units on their way to the warehouse.
    incoming: i32,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let dir = data_dir("commerce")?;
    let (store, announcer) = open_store(&dir)?;
    println!("commerce example in {}", dir.display());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache"))
        .build()?;

    for cycle in 1..=3 {
        let shop = sample::commerce::at(cycle);
        let outcome = producer
            .run_cycle(|w| {
                shop.customers.iter().try_for_each(|c| w.add(c))?;
                shop.orders.iter().try_for_each(|o| w.add(o))?;
                shop.stock.iter().try_for_each(|s| w.add(s))?;
                shop.products.iter().try_for_each(|p| w.add(p))
            })
            .await?;
        let version = outcome
            .version
            .ok_or("the data changed, so a version is expected")?;
        consumer.refresh().await?;
        let state = consumer.current().ok_or("the consumer holds no version")?;
        println!(
            "\ncycle {cycle}: version {version}: {} customers, {} orders, {} stock levels; \
             changes {:?}",
            state.records::<Customer>().len(),
            state.records::<Order>().len(),
            state.records::<StockLevel>().len(),
            outcome.changes
        );
        shop_lookups(&state, &shop, cycle)?;
    }
    let last_v1 = consumer.version().ok_or("no version")?;

    evolve(&dir, &store, &announcer, last_v1).await?;
    println!("\ndone: every lookup matched what the producer wrote");
    Ok(())
}

/// Lookups in `state`, checked against `shop`, what cycle `cycle` produced.
fn shop_lookups(
    state: &ReadState,
    shop: &sample::commerce::Shop,
    cycle: u32,
) -> Result<(), BoxError> {
    for (_, o) in state.records::<Order>().iter() {
        let status = o.status().map_err(|e| format!("order {}: {e:?}", o.id()))?;
        let customer = state
            .records::<Customer>()
            .by_primary_key(&o.customer_id())
            .ok_or_else(|| format!("order {} names a missing customer", o.id()))?;
        println!(
            "  order {} by {} ({}, {}): {:?}, {} items, total {} {}",
            o.id(),
            customer.name(),
            customer.email(),
            customer.address().city(),
            status,
            o.items().len(),
            o.total().minor_units(),
            o.total().currency()
        );
    }
    let first = state
        .records::<Order>()
        .by_primary_key(&100)
        .ok_or("order 100 is missing")?;
    let expected = shop
        .orders
        .iter()
        .find(|o| o.id == 100)
        .ok_or("no order 100")?;
    if first.to_value()? != *expected {
        return Err("order 100 read back differs from what was produced".into());
    }
    // A unique-key lookup (the derive generates `CustomerByEmail` from
    // `unique(email)`), checked against what was produced.
    let wanted = shop
        .customers
        .iter()
        .find(|c| c.id == expected.customer_id)
        .ok_or("order 100 names no produced customer")?;
    let by_email = state
        .index::<CustomerByEmail>()
        .get(&wanted.email)
        .ok_or_else(|| format!("no customer with email {:?}", wanted.email))?;
    if by_email.to_value()? != *wanted {
        return Err(format!("customer by email {:?} differs", wanted.email).into());
    }
    println!(
        "  lookup customer by email {:?} -> #{} {}",
        wanted.email,
        by_email.id(),
        by_email.name()
    );
    let key = ("north", "mug");
    let mugs = state
        .records::<StockLevel>()
        .by_primary_key(&key)
        .ok_or("stock (north, mug) is missing")?;
    println!(
        "  lookup stock (north, mug) -> {} on hand, {} reserved",
        mugs.on_hand(),
        mugs.reserved()
    );
    product_lookups(state, shop)?;
    if cycle == 3 && first.status() != Ok(OrderStatus::Delivered) {
        return Err("order 100 should be delivered by cycle 3".into());
    }
    Ok(())
}

/// Attribute lookups in each product's `attributes` map (read in place,
/// by binary search on the stored order), checked against `shop`.
fn product_lookups(state: &ReadState, shop: &sample::commerce::Shop) -> Result<(), BoxError> {
    for wanted in &shop.products {
        let p = state
            .records::<Product>()
            .by_primary_key(&wanted.sku.as_str())
            .ok_or_else(|| format!("product {} is missing", wanted.sku))?;
        let attributes = p.attributes();
        let color = attributes.get(&"color");
        if color != wanted.attributes.get("color").map(String::as_str) {
            return Err(
                format!("product {}: color {color:?} read back differs", wanted.sku).into(),
            );
        }
        if !attributes.iter().eq(wanted
            .attributes
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())))
        {
            return Err(format!("product {}: attributes read back differ", wanted.sku).into());
        }
        println!(
            "  product {} ({}): color {}, {} attributes: {:?}",
            p.sku(),
            p.name(),
            color.unwrap_or("-"),
            attributes.len(),
            attributes
        );
    }
    Ok(())
}

/// The schema-evolution step: a consumer with the old type reads data
/// written with the new one, and a consumer with the new type reads the
/// old data (version `last_v1`).
async fn evolve(
    dir: &Path,
    store: &Arc<FsBlobStore>,
    announcer: &Arc<FileAnnouncer>,
    last_v1: u64,
) -> Result<(), BoxError> {
    println!("\nschema evolution: StockLevel gains `incoming @4 :Int32`");
    let shop = sample::commerce::at(3);
    let stock_v2: Vec<StockLevelV2> = shop
        .stock
        .iter()
        .map(|s| StockLevelV2 {
            warehouse: s.warehouse.clone(),
            sku: s.sku.clone(),
            on_hand: s.on_hand,
            reserved: s.reserved,
            incoming: 24,
        })
        .collect();
    let (s2, a2) = open_store(&dir.join("v2"))?;
    let mut producer_v2 = Producer::builder(s2.clone(), a2.clone()).build();
    producer_v2
        .run_cycle(|w| {
            shop.customers.iter().try_for_each(|c| w.add(c))?;
            shop.orders.iter().try_for_each(|o| w.add(o))?;
            stock_v2.iter().try_for_each(|s| w.add(s))?;
            shop.products.iter().try_for_each(|p| w.add(p))
        })
        .await?;
    let old_type = Consumer::builder(s2.clone(), a2.clone())
        .cache_dir(dir.join("cache-old-type"))
        .build()?;
    old_type.refresh().await?;
    let state = old_type.current().ok_or("no version")?;
    let key = ("north", "mug");
    let mugs = state
        .records::<StockLevel>()
        .by_primary_key(&key)
        .ok_or("stock (north, mug) is missing")?;
    println!(
        "  old-type consumer on new data: (north, mug) {} on hand (no `incoming` getter)",
        mugs.on_hand()
    );
    if mugs.to_value()? != shop.stock[0] {
        return Err("the old type misreads new data".into());
    }
    let new_type = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache-new-type"))
        .build()?;
    new_type.refresh_to(last_v1).await?;
    let state = new_type.current().ok_or("no version")?;
    let mugs = state
        .records::<StockLevelV2>()
        .by_primary_key(&key)
        .ok_or("stock (north, mug) is missing")?;
    println!(
        "  new-type consumer on old data: (north, mug) {} on hand, incoming {} (not written)",
        mugs.on_hand(),
        mugs.incoming()
    );
    if mugs.incoming() != 0 || mugs.on_hand() != shop.stock[0].on_hand {
        return Err("the new type misreads old data".into());
    }
    Ok(())
}
