//! The indexes of one state, and their maintenance: built from scratch
//! over a state, or carried to the state a delta reaches by the removed
//! and added ordinals alone.
//!
//! What an index reads of a state it reads through [`IndexSource`], which
//! the read state implements; the index module never names the read
//! state.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use hollow_schema::Schema;

use super::data::{AtFn, Change, IndexData, ReadFn};
use super::read_ahead::KeyReads;
use super::IndexSpec;
use crate::wire::ListReader;

/// What an index reads of the state it indexes (implemented by the read
/// state).
pub(crate) trait IndexSource: Sync {
    /// Reads the records of `type_name` by ordinal (none for a type the
    /// state does not hold).
    fn read_fn(&self, type_name: &str) -> Box<ReadFn<'_>>;
    /// How many records of `type_name` the state holds, and the limit of
    /// their ordinals (zeros for a type it does not hold).
    fn extent(&self, type_name: &str) -> (usize, u32);
    /// The state's schema.
    fn schema(&self) -> &Schema;
    /// Whether `spec`'s key reader reads this state's records right (a
    /// typed index reads through compiled code, compared with the schema).
    ///
    /// # Errors
    /// Why it would misread them.
    fn check_reader(&self, spec: &IndexSpec) -> Result<(), String>;
}

/// What a delta changed in one record type, as the indexes of that type
/// read it.
pub(crate) struct TypeDelta<'a> {
    /// Ordinals removed.
    pub(crate) removed: Vec<u32>,
    /// The record of `removed[k]`, as it was.
    pub(crate) removed_at: Box<AtFn<'a>>,
    /// Ordinals added.
    pub(crate) added: Vec<u32>,
    /// The records added, in the order of `added`, as the delta holds
    /// them: one list per section of the type (one, or its shards by
    /// ordinal range), in order.
    pub(crate) added_lists: Vec<ListReader<'a>>,
    /// Records of the state left, by ordinal.
    pub(crate) old: Box<ReadFn<'a>>,
}

impl TypeDelta<'_> {
    fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// The indexes of a set at one moment ([`IndexSet::standing`]): each slot,
/// with its data when it was built then.
pub(crate) struct Standing(Vec<(Arc<IndexSlot>, Option<Arc<IndexData>>)>);

impl Standing {
    /// Whether an index of `type_name` was built: a delta changing the
    /// type then has it updated.
    pub(crate) fn maintains(&self, type_name: &str) -> bool {
        self.0
            .iter()
            .any(|(s, data)| data.is_some() && s.spec.type_name() == type_name)
    }
}

/// One index in one state: built (eagerly, or on first use).
pub(crate) struct IndexSlot {
    pub(crate) spec: IndexSpec,
    pub(crate) data: OnceLock<Result<Arc<IndexData>, String>>,
}

impl IndexSlot {
    pub(crate) fn new(spec: IndexSpec) -> Arc<IndexSlot> {
        Arc::new(IndexSlot {
            spec,
            data: OnceLock::new(),
        })
    }

    pub(crate) fn built(spec: IndexSpec, data: Result<Arc<IndexData>, String>) -> Arc<IndexSlot> {
        let slot = IndexSlot {
            spec,
            data: OnceLock::new(),
        };
        let _ = slot.data.set(data);
        Arc::new(slot)
    }

    /// The index, built over `source` on first use.
    pub(crate) fn get_or_build(&self, source: &dyn IndexSource) -> &Result<Arc<IndexData>, String> {
        self.data.get_or_init(|| build(&self.spec, source))
    }
}

/// How a consumer keeps its indexes (see [`crate::ConsumerBuilder`]).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IndexOptions {
    /// Build on first use rather than at load.
    pub(crate) lazy: bool,
    /// Check deltas for duplicate keys even where the blobs vouch there
    /// are none.
    pub(crate) verify_keys: bool,
    /// Recompute every type's count and checksum from its records as each
    /// snapshot loads ([`crate::ReadState::check_records`]).
    pub(crate) check_records: bool,
}

/// The indexes of one state.
#[derive(Default)]
pub(crate) struct IndexSet {
    slots: RwLock<Vec<Arc<IndexSlot>>>,
    options: IndexOptions,
}

/// An index's update: the slot of the state reached, and how long it took.
type Updated = Result<(Arc<IndexSlot>, Duration), String>;

/// Deltas changing at least this many ordinals of an index's type update
/// it on a thread of its own, when two or more do.
const PARALLEL_UPDATE_MIN: usize = 4096;

/// Indexes are built on several cores when they cover this many records
/// together.
const PARALLEL_BUILD_MIN: usize = 100_000;

impl IndexSet {
    /// A set of `slots`, kept with `options`.
    fn of(slots: Vec<Arc<IndexSlot>>, options: IndexOptions) -> IndexSet {
        IndexSet {
            slots: RwLock::new(slots),
            options,
        }
    }

    /// A set of the indexes `specs`, none built yet, kept with `options`.
    pub(crate) fn for_specs(specs: &[IndexSpec], options: IndexOptions) -> IndexSet {
        IndexSet::of(specs.iter().cloned().map(IndexSlot::new).collect(), options)
    }

    /// Another set holding the same indexes (built or not), for a state
    /// with the same records.
    pub(crate) fn sharing(&self) -> IndexSet {
        IndexSet::of(self.snapshot(), self.options)
    }

    /// The specs of the indexes in the set.
    pub(crate) fn specs(&self) -> Vec<IndexSpec> {
        self.snapshot().iter().map(|s| s.spec.clone()).collect()
    }

    /// Builds every index not built yet over `source`, unless the set
    /// builds its indexes on first use.
    ///
    /// # Errors
    /// As [`IndexSet::build_all`].
    pub(crate) fn build_unless_lazy(&self, source: &dyn IndexSource) -> Result<(), String> {
        if self.options.lazy {
            return Ok(());
        }
        self.build_all(source)
    }

    pub(crate) fn find(&self, type_name: &str, name: &str) -> Option<Arc<IndexSlot>> {
        self.slots
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|s| s.spec.same(type_name, name))
            .cloned()
    }

    /// The slot for `spec`, added (unbuilt) if the state has none.
    pub(crate) fn slot(
        &self,
        spec: impl FnOnce() -> IndexSpec,
        type_name: &str,
        name: &str,
    ) -> Arc<IndexSlot> {
        if let Some(s) = self.find(type_name, name) {
            return s;
        }
        let mut slots = self.slots.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = slots.iter().find(|s| s.spec.same(type_name, name)) {
            return s.clone();
        }
        let s = IndexSlot::new(spec());
        slots.push(s.clone());
        s
    }

    fn snapshot(&self) -> Vec<Arc<IndexSlot>> {
        self.slots.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The indexes as they stand now: each slot with its data if built.
    /// A delta is applied against one such view ([`IndexSet::apply_change`]),
    /// so an index a reader builds on the state left while the delta is
    /// applied is neither updated nor carried over: the state reached
    /// builds it anew when asked.
    pub(crate) fn standing(&self) -> Standing {
        Standing(
            self.snapshot()
                .into_iter()
                .map(|s| {
                    let data = match s.data.get() {
                        Some(Ok(d)) => Some(d.clone()),
                        _ => None,
                    };
                    (s, data)
                })
                .collect(),
        )
    }

    /// Builds every index not built yet over `source` (several at once on
    /// several cores when there is enough work).
    ///
    /// # Errors
    /// The first index that cannot be built, and why.
    pub(crate) fn build_all(&self, source: &dyn IndexSource) -> Result<(), String> {
        let todo: Vec<Arc<IndexSlot>> = self
            .snapshot()
            .into_iter()
            .filter(|s| s.data.get().is_none())
            .collect();
        let records: usize = todo
            .iter()
            .map(|s| source.extent(s.spec.type_name()).0)
            .sum();
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(todo.len());
        // Several indexes with real work are built on several cores, each
        // worker taking the next index not yet started.
        if workers >= 2 && records >= PARALLEL_BUILD_MIN {
            let next = AtomicUsize::new(0);
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    scope.spawn(|| {
                        while let Some(s) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                            s.get_or_build(source);
                        }
                    });
                }
            });
        }
        for s in &todo {
            if let Err(e) = s.get_or_build(source) {
                return Err(e.clone());
            }
        }
        Ok(())
    }

    /// The indexes of `next`, the state a delta reaches from the one these
    /// index: each built index of a type in `changes` is updated by the
    /// ordinals removed and added (on threads of their own when several
    /// have enough work), the other built ones are shared, and the unbuilt
    /// ones stay unbuilt. Gives the set and each updated index's own time.
    ///
    /// # Errors
    /// An index that cannot be updated (two records with one unique key),
    /// and why.
    pub(crate) fn apply_change<'a>(
        &self,
        standing: &Standing,
        changes: &HashMap<String, TypeDelta<'a>>,
        next: &'a dyn IndexSource,
    ) -> Result<(IndexSet, Vec<(String, Duration)>), String> {
        let mut jobs = Vec::new();
        let mut slots: Vec<Option<Arc<IndexSlot>>> = Vec::with_capacity(standing.0.len());
        for (s, data) in &standing.0 {
            match data {
                Some(data) => match changes.get(s.spec.type_name()) {
                    Some(change) if !change.is_empty() => {
                        jobs.push((slots.len(), s, data, change));
                        slots.push(None);
                    }
                    _ => slots.push(Some(IndexSlot::built(s.spec.clone(), Ok(data.clone())))),
                },
                None => slots.push(Some(IndexSlot::new(s.spec.clone()))),
            }
        }
        let update = |&(i, s, data, change): &(usize, &Arc<IndexSlot>, &Arc<IndexData>, _)| {
            (i, self.update(&s.spec, data, change, next))
        };
        let big = jobs
            .iter()
            .filter(|j| j.3.removed.len() + j.3.added.len() >= PARALLEL_UPDATE_MIN)
            .count();
        let results: Vec<(usize, Updated)> = if big >= 2 {
            std::thread::scope(|scope| {
                let handles: Vec<_> = jobs
                    .iter()
                    .map(|job| (job.0, scope.spawn(move || update(job).1)))
                    .collect();
                handles
                    .into_iter()
                    .map(|(i, h)| {
                        let r = h
                            .join()
                            .unwrap_or_else(|_| Err("index update panicked".to_string()));
                        (i, r)
                    })
                    .collect()
            })
        } else {
            jobs.iter().map(update).collect()
        };
        let mut times = Vec::with_capacity(results.len());
        for (i, r) in results {
            let (slot, took) = r?;
            times.push((slot.spec.name().to_string(), took));
            slots[i] = Some(slot);
        }
        let set = IndexSet::of(slots.into_iter().flatten().collect(), self.options);
        Ok((set, times))
    }

    /// Index `spec` (`data` in the state left) in the state `next` reached
    /// by `change`.
    fn update<'a>(
        &self,
        spec: &IndexSpec,
        data: &IndexData,
        change: &TypeDelta<'a>,
        next: &'a dyn IndexSource,
    ) -> Updated {
        let started = Instant::now();
        let type_name = spec.type_name();
        let new_read = next.read_fn(type_name);
        let lists = change.added_lists.clone();
        // Where each list's records start among `added`.
        let starts: Vec<usize> = lists
            .iter()
            .scan(0usize, |at, l| {
                let start = *at;
                *at += l.len() as usize;
                Some(start)
            })
            .collect();
        let added_at = move |k: usize| {
            let i = starts.partition_point(|&s| s <= k).checked_sub(1)?;
            let list = lists.get(i)?;
            u32::try_from(k - starts[i]).ok().map(|k| list.struct_at(k))
        };
        let added_list = match change.added_lists.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let schema = next.schema();
        // The state reached matched the producer's checksum; a key the
        // producer declares unique it has checked.
        let vouched = !self.options.verify_keys && spec.declared_unique_in(schema);
        let updated = data.update(
            spec,
            &Change {
                removed: &change.removed,
                removed_at: &*change.removed_at,
                old: &*change.old,
                added: &change.added,
                added_at: &added_at,
                added_list: added_list.filter(|l| l.len() as usize == change.added.len()),
                new: &*new_read,
                new_limit: next.extent(type_name).1,
                vouched,
                reads: KeyReads::of(schema, type_name, spec.key()),
            },
        )?;
        let slot = IndexSlot::built(spec.clone(), Ok(Arc::new(updated)));
        Ok((slot, started.elapsed()))
    }
}

/// Builds the index `spec` over `source` from scratch.
///
/// # Errors
/// Its key reader would misread the records, or two records share a
/// primary or unique key.
pub(crate) fn build(spec: &IndexSpec, source: &dyn IndexSource) -> Result<Arc<IndexData>, String> {
    let (count, limit) = source.extent(spec.type_name());
    source
        .check_reader(spec)
        .map_err(|e| format!("index {}: {e}", spec.name()))?;
    let read = source.read_fn(spec.type_name());
    let started = Instant::now();
    let data = IndexData::build(spec, count, limit, &*read)?;
    tracing::debug!(
        index = spec.name(),
        records = count,
        elapsed = ?started.elapsed(),
        "index built"
    );
    Ok(Arc::new(data))
}

#[cfg(test)]
mod tests {
    /// Modules import downward: the read state holds its indexes and reads
    /// them through this module's interface, and no file of the index
    /// module names the read state.
    #[test]
    fn the_index_module_does_not_reach_into_the_state_it_indexes() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/index");
        // Spelt in parts so this file does not name it.
        let state = ["read", "state"].join("_");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            files += 1;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.starts_with("//") || !line.contains(&state) {
                    continue;
                }
                panic!("index/{file}:{}: {line}", n + 1);
            }
        }
        assert!(files >= 8, "read {files} files of {}", dir.display());
    }
}
