//! The device fleet example: a producer and a consumer over a local
//! directory, using the types hollow-codegen generated from
//! `schemas/iot.capnp` (enums, a union with a group member, a key through a
//! nested struct).
//!
//! ```text
//! cargo run -p generated-examples --bin iot [-- DIR]
//! ```
//!
//! Three cycles of new readings and alerts; the consumer looks devices,
//! metrics and alerts up by primary key after each. Then a schema-evolution
//! step: `Device` gains `firmware @7 :Text` ([`DeviceV2`]); a consumer with
//! the old type reads data written with the new one, and a consumer with
//! the new type reads the old data.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use hollow_runtime::{Consumer, FileAnnouncer, FsBlobStore, Hollow, Producer, ReadState};

use generated_examples::demo::{data_dir, open_store, BoxError};
use generated_examples::gen::common::{Location, Timestamp};
use generated_examples::gen::iot::{
    Alert, AlertCauseRef, Device, DeviceKind, Metric, MetricValueRef,
};
use generated_examples::sample;

/// `Device` with a field added (`firmware @7 :Text`).
#[derive(Hollow, Clone, Debug, Default, PartialEq)]
#[hollow(
    rename = "Device",
    primary_key(id),
    unique(serial),
    hash_index(kind),
    hash_index(tags)
)]
pub struct DeviceV2 {
    id: u64,
    serial: String,
    kind: DeviceKind,
    location: Location,
    tags: Vec<String>,
    installed_at: Timestamp,
    labels: BTreeMap<String, String>,
    /// New in version 2: the firmware version.
    firmware: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let dir = data_dir("iot")?;
    let (store, announcer) = open_store(&dir)?;
    println!("iot example in {}", dir.display());
    let mut producer = Producer::builder(store.clone(), announcer.clone()).build();
    let consumer = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache"))
        .build()?;

    for cycle in 1..=3 {
        let fleet = sample::iot::at(cycle);
        let outcome = producer
            .run_cycle(|w| {
                fleet.devices.iter().try_for_each(|d| w.add(d))?;
                fleet.metrics.iter().try_for_each(|m| w.add(m))?;
                fleet.alerts.iter().try_for_each(|a| w.add(a))
            })
            .await?;
        let version = outcome
            .version
            .ok_or("the data changed, so a version is expected")?;
        consumer.refresh().await?;
        let state = consumer.current().ok_or("the consumer holds no version")?;
        println!(
            "\ncycle {cycle}: version {version}: {} devices, {} metrics, {} alerts",
            state.records::<Device>().len(),
            state.records::<Metric>().len(),
            state.records::<Alert>().len()
        );
        fleet_lookups(&state, &fleet, cycle)?;
    }
    let last_v1 = consumer.version().ok_or("no version")?;

    evolve(&dir, &store, &announcer, last_v1).await?;
    println!("\ndone: every lookup matched what the producer wrote");
    Ok(())
}

/// Lookups in `state`, checked against `fleet`, what cycle `cycle` produced.
fn fleet_lookups(
    state: &ReadState,
    fleet: &sample::iot::Fleet,
    cycle: u32,
) -> Result<(), BoxError> {
    for (_, m) in state.records::<Metric>().iter() {
        let value = match m
            .value()
            .map_err(|e| format!("metric {}: {e:?}", m.name()))?
        {
            MetricValueRef::Gauge(g) => format!("gauge {g}"),
            MetricValueRef::Counter(c) => format!("counter {c}"),
            MetricValueRef::Text(t) => format!("text {t:?}"),
            MetricValueRef::Missing => "missing".to_string(),
        };
        println!("  metric device {} {}: {value}", m.device_id(), m.name());
    }
    for (_, a) in state.records::<Alert>().iter() {
        let cause = match a.cause().map_err(|e| format!("alert {}: {e:?}", a.id()))? {
            AlertCauseRef::Threshold(t) => format!("{} above {}", t.metric(), t.limit()),
            AlertCauseRef::Offline => "offline".to_string(),
            AlertCauseRef::Manual(note) => format!("manual: {note}"),
        };
        let device = state
            .records::<Device>()
            .by_primary_key(&a.device_id())
            .ok_or_else(|| format!("alert {} names a missing device", a.id()))?;
        let kind = device
            .kind()
            .map_err(|e| format!("device {}: {e:?}", device.id()))?;
        let severity = a
            .severity()
            .map_err(|e| format!("alert {}: {e:?}", a.id()))?;
        println!(
            "  alert {} on {} ({kind:?}): {severity:?} {:?}, {cause}",
            a.id(),
            device.serial(),
            a.message()
        );
    }
    let t = 1_700_000_000_000 + i64::from(cycle) * 60_000;
    let key = (1u64, "temperature", t);
    let temp = state
        .records::<Metric>()
        .by_primary_key(&key)
        .ok_or("the temperature reading is missing")?;
    let expected = fleet
        .metrics
        .iter()
        .find(|m| m.device_id == 1)
        .ok_or("no metric")?;
    if temp.to_value()? != *expected {
        return Err("metric read back differs from what was produced".into());
    }
    println!(
        "  lookup metric (1, temperature, {t}) -> {:?}",
        temp.to_value()?.value
    );
    // Each device's labels map, read in place: its site, and every label.
    for wanted in &fleet.devices {
        let d = state
            .records::<Device>()
            .by_primary_key(&wanted.id)
            .ok_or_else(|| format!("device {} is missing", wanted.id))?;
        let labels = d.labels();
        let site = labels.get(&"site");
        if site != wanted.labels.get("site").map(String::as_str)
            || !labels
                .iter()
                .eq(wanted.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            return Err(format!("device {}: labels read back differ", wanted.id).into());
        }
        println!(
            "  device {} at site {}: labels {labels:?}",
            d.serial(),
            site.unwrap_or("-")
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
    println!("\nschema evolution: Device gains `firmware @7 :Text`");
    let fleet = sample::iot::at(3);
    let devices_v2: Vec<DeviceV2> = fleet
        .devices
        .iter()
        .map(|d| DeviceV2 {
            id: d.id,
            serial: d.serial.clone(),
            kind: d.kind,
            location: d.location.clone(),
            tags: d.tags.clone(),
            installed_at: d.installed_at.clone(),
            labels: d.labels.clone(),
            firmware: format!("3.{}.0", d.id),
        })
        .collect();
    let (s2, a2) = open_store(&dir.join("v2"))?;
    let mut producer_v2 = Producer::builder(s2.clone(), a2.clone()).build();
    producer_v2
        .run_cycle(|w| {
            devices_v2.iter().try_for_each(|d| w.add(d))?;
            fleet.metrics.iter().try_for_each(|m| w.add(m))?;
            fleet.alerts.iter().try_for_each(|a| w.add(a))
        })
        .await?;
    let old_type = Consumer::builder(s2, a2)
        .cache_dir(dir.join("cache-old-type"))
        .build()?;
    old_type.refresh().await?;
    let state = old_type.current().ok_or("no version")?;
    let d1 = state
        .records::<Device>()
        .by_primary_key(&1)
        .ok_or("device 1 is missing")?;
    println!(
        "  old-type consumer on new data: device 1 {} at ({}, {})",
        d1.serial(),
        d1.location().lat(),
        d1.location().lon()
    );
    if d1.to_value()? != fleet.devices[0] {
        return Err("the old type misreads new data".into());
    }
    let new_type = Consumer::builder(store.clone(), announcer.clone())
        .cache_dir(dir.join("cache-new-type"))
        .build()?;
    new_type.refresh_to(last_v1).await?;
    let state = new_type.current().ok_or("no version")?;
    let d1 = state
        .records::<DeviceV2>()
        .by_primary_key(&1)
        .ok_or("device 1 is missing")?;
    println!(
        "  new-type consumer on old data: device 1 {} firmware {:?} (not written)",
        d1.serial(),
        d1.firmware()
    );
    if !d1.firmware().is_empty() || d1.serial() != fleet.devices[0].serial {
        return Err("the new type misreads old data".into());
    }
    Ok(())
}
