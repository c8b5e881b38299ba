//! The fuzz targets: what the coverage-guided fuzzer (`fuzz/`) and the
//! replay test (`tests/fuzz_replay.rs`) run on every input.
//!
//! An input is `[set, pick, program...]`: the first byte picks a seed set
//! ([`SeedSet`]), the second which of its blobs is mutated (and which one
//! donates spliced words), the rest is the mutation program
//! ([`mutate::mutate`]). Each [`Target`] then reads the mutant as a tool or
//! consumer would and walks everything it can reach. A target returns
//! whether the mutant was refused (with the error) or read; it panics only
//! on a bug: a panic in the runtime, or a loaded state that contradicts
//! itself (`len()` against the records iterated, the version against the
//! blob's name).
//!
//! ```
//! use hollow_tests::fuzz::{run, Outcome, Target};
//! use hollow_tests::mutate;
//!
//! let sets = mutate::make_seed_sets();
//! // An empty program: the seed itself, which loads.
//! let outcome = run(Target::Snapshot, &sets, &[0, 0]);
//! assert!(matches!(outcome, Outcome::Read { records } if records > 0), "{outcome:?}");
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use hollow_runtime::blob::{BlobKind, BlobView};
use hollow_runtime::dynamic::DynamicSchema;
use hollow_runtime::{ReadState, Struct};

use crate::check::touch_all_types;
use crate::mutate::{self, Choices, SeedSet};
use crate::{Actor, AllTypes, Event, Movie, Shipment};

/// A fuzz target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// [`BlobView::open`], every section view, every record's reader and
    /// canonical bytes.
    Open,
    /// [`ReadState::open_snapshot`] and every record of the state.
    Snapshot,
    /// A clean snapshot, then [`ReadState::apply_blob`] of a mutated delta
    /// or reverse delta, every record, and the clean blob back.
    Delta,
    /// Every record of a mutated snapshot as JSON through
    /// [`hollow_runtime::dynamic`], from the blob's sections and from the
    /// read state (as `hollow export` does).
    Dynamic,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 4] = [
        Target::Open,
        Target::Snapshot,
        Target::Delta,
        Target::Dynamic,
    ];

    /// The target called `name` (see [`Target::name`]).
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The target's name (its fuzz binary and corpus folder).
    pub fn name(self) -> &'static str {
        match self {
            Target::Open => "blob_open",
            Target::Snapshot => "snapshot_load",
            Target::Delta => "delta_apply",
            Target::Dynamic => "dynamic_walk",
        }
    }
}

/// What a target did with one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No seed set to mutate.
    NoSeeds,
    /// The mutant was refused with this error.
    Refused(String),
    /// The mutant was read; `records` records were walked.
    Read {
        /// Records walked.
        records: usize,
    },
}

/// Most ordinals walked per type: a state whose ordinal limit is larger is
/// walked this far only (and its `len()` not compared with the walk).
const WALK_LIMIT: u32 = 1 << 20;

/// Runs `target` on `input` against `sets`.
///
/// # Panics
/// On a bug only: a panic of the runtime, or a read state that contradicts
/// itself.
pub fn run(target: Target, sets: &[SeedSet], input: &[u8]) -> Outcome {
    if sets.is_empty() {
        return Outcome::NoSeeds;
    }
    let mut c = Choices::new(input);
    let set = &sets[c.u8() as usize % sets.len()];
    let pick = c.u8() as usize;
    let blobs = &set.blobs;
    let donor = &blobs[(pick / 4) % blobs.len()].bytes;
    match target {
        Target::Open => {
            let seed = &blobs[pick % blobs.len()];
            let mutant = mutate::mutate(&seed.bytes, donor, &mut c);
            open_blob(&seed.name.to_string(), &mutant)
        }
        Target::Snapshot => {
            let seed = &blobs[if pick.is_multiple_of(2) { 0 } else { 3 }];
            let mutant = mutate::mutate(&seed.bytes, donor, &mut c);
            match ReadState::open_snapshot(seed.name, Arc::new(mutant)) {
                Ok(state) => Outcome::Read {
                    records: walk_state(&state, seed.name.to_version()),
                },
                Err(e) => refused(&seed.name.to_string(), e),
            }
        }
        Target::Delta => {
            // Delta 1 -> 2 over snapshot 1, or reverse delta 2 -> 1 over
            // snapshot 2; then the clean blob the other way.
            let (base, step, back) = if pick.is_multiple_of(2) {
                (0, 1, 2)
            } else {
                (3, 2, 1)
            };
            let (base, step, back) = (&blobs[base], &blobs[step], &blobs[back]);
            let mutant = mutate::mutate(&step.bytes, donor, &mut c);
            let state = match ReadState::open_snapshot(base.name, base.bytes.clone()) {
                Ok(s) => s,
                Err(e) => panic!("seed {} of set {} does not load: {e}", base.name, set.name),
            };
            match state.apply_blob(step.name, Arc::new(mutant)) {
                Ok(next) => {
                    let mut records = walk_state(&next, step.name.to_version());
                    if let Ok(again) = next.apply_blob(back.name, back.bytes.clone()) {
                        records += walk_state(&again, back.name.to_version());
                    }
                    Outcome::Read { records }
                }
                Err(e) => refused(&step.name.to_string(), e),
            }
        }
        Target::Dynamic => {
            let seed = &blobs[if pick.is_multiple_of(2) { 0 } else { 3 }];
            let mutant = Arc::new(mutate::mutate(&seed.bytes, donor, &mut c));
            let from_blob = dynamic_blob(&seed.name.to_string(), &mutant);
            let from_state = match ReadState::open_snapshot(seed.name, mutant) {
                Ok(state) => dynamic_state(&state),
                Err(e) => refused(&seed.name.to_string(), e),
            };
            match (from_blob, from_state) {
                (Outcome::Read { records: a }, Outcome::Read { records: b }) => {
                    Outcome::Read { records: a + b }
                }
                (Outcome::Read { records }, _) | (_, Outcome::Read { records }) => {
                    Outcome::Read { records }
                }
                (refused, _) => refused,
            }
        }
    }
}

/// A refusal, whose message must name the blob refused.
fn refused(blob: &str, e: impl std::fmt::Display) -> Outcome {
    let message = e.to_string();
    assert!(
        message.contains(blob),
        "an error that does not name the blob {blob}: {message}"
    );
    Outcome::Refused(message)
}

/// Opens a blob and reads every section and record it has.
fn open_blob(name: &str, bytes: &[u8]) -> Outcome {
    let view = match BlobView::open(name, bytes) {
        Ok(v) => v,
        Err(e) => return refused(name, e),
    };
    let mut records = 0;
    let mut out = Vec::new();
    let mut last_error = None;
    for s in view.sections() {
        let _ = s.verify_checksum();
        if view.kind() == BlobKind::Snapshot {
            match s.snapshot() {
                Ok(snap) => {
                    for o in snap.ordinals().take(WALK_LIMIT as usize) {
                        let _ = snap.populated(o);
                        let _ = snap.record_reader(o);
                        if snap.canonical_bytes(o, &mut out).is_ok() {
                            records += 1;
                        }
                    }
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        } else {
            match s.delta() {
                Ok(d) => {
                    let _ = d.removed().take(WALK_LIMIT as usize).count();
                    let _ = d.added().take(WALK_LIMIT as usize).count();
                    for i in 0..d.added_len().min(WALK_LIMIT) {
                        if d.canonical_bytes(i, &mut out).is_ok() {
                            records += 1;
                        }
                    }
                }
                Err(e) => last_error = Some(e.to_string()),
            }
        }
    }
    match last_error {
        Some(e) if records == 0 => Outcome::Refused(e),
        _ => Outcome::Read { records },
    }
}

/// Walks every record of a loaded state and checks it agrees with itself.
fn walk_state(state: &ReadState, version: u64) -> usize {
    assert_eq!(
        state.version(),
        version,
        "a state loaded from the blob of version {version} says it is version {}",
        state.version()
    );
    let mut records = 0;
    let names: Vec<String> = state.type_names().map(str::to_owned).collect();
    for name in &names {
        let Some(raw) = state.raw_records(name) else {
            continue;
        };
        let limit = raw.ordinal_limit();
        let mut seen = 0usize;
        for o in 0..limit.min(WALK_LIMIT) {
            if raw.get(o).is_some() {
                seen += 1;
                let _ = raw.hash(o);
            }
        }
        if limit <= WALK_LIMIT {
            assert_eq!(
                seen,
                raw.len(),
                "version {version}, type {name}: len() is {} but {seen} records are populated",
                raw.len()
            );
            assert_eq!(raw.len(), state.count(name), "type {name}: count()");
        }
        records += seen;
    }
    walk_typed::<Movie>(state);
    walk_typed::<Actor>(state);
    walk_typed::<Event>(state);
    walk_typed::<Shipment>(state);
    walk_typed::<AllTypes>(state);
    if let Ok(all) = state.try_records::<AllTypes>() {
        for (_, r) in all.iter().take(WALK_LIMIT as usize) {
            touch_all_types(&r);
        }
    }
    records
}

/// Reads every record of `T` through the typed accessors, unless the
/// state's schema conflicts with `T`'s (the schema check refuses a typed
/// read that would misread).
fn walk_typed<T: Struct>(state: &ReadState) {
    let Ok(records) = state.try_records::<T>() else {
        return;
    };
    let mut seen = 0usize;
    for (o, r) in records.iter().take(WALK_LIMIT as usize) {
        let _ = T::from_ref(r);
        let _ = records.get(o);
        seen += 1;
    }
    if records.ordinal_limit() <= WALK_LIMIT {
        assert_eq!(
            seen,
            records.len(),
            "type {}: len() is {} but iter() gives {seen} records",
            T::TYPE_NAME,
            records.len()
        );
    }
}

/// Writes every record of a blob's snapshot sections as JSON.
fn dynamic_blob(name: &str, bytes: &[u8]) -> Outcome {
    let view = match BlobView::open(name, bytes) {
        Ok(v) => v,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let schema = match DynamicSchema::new(&view.header().schema) {
        Ok(s) => s,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let mut records = 0;
    let mut line = Vec::new();
    for s in view.sections() {
        let (Ok(t), Ok(snap)) = (schema.record_type(s.type_name()), s.snapshot()) else {
            continue;
        };
        for o in snap.ordinals().take(WALK_LIMIT as usize) {
            if let Some(r) = snap.record_reader(o) {
                let rec = schema.record(t, r);
                line.clear();
                let _ = rec.write_json(&mut line);
                let _ = rec.key();
                let _ = rec.compare(&rec);
                records += 1;
            }
        }
    }
    Outcome::Read { records }
}

/// Writes every record of a state as JSON, as `hollow export` does.
fn dynamic_state(state: &ReadState) -> Outcome {
    let schema = match DynamicSchema::new(state.schema()) {
        Ok(s) => s,
        Err(e) => return Outcome::Refused(e.to_string()),
    };
    let mut records = 0;
    let mut line = Vec::new();
    let names: Vec<String> = schema.record_types().map(str::to_owned).collect();
    for name in &names {
        let (Ok(t), Some(raw)) = (schema.record_type(name), state.raw_records(name)) else {
            continue;
        };
        for o in 0..raw.ordinal_limit().min(WALK_LIMIT) {
            if let Some(r) = raw.get(o) {
                let rec = schema.record(t, r);
                line.clear();
                let _ = rec.write_json(&mut line);
                let _ = rec.to_json();
                let _ = rec.key();
                records += 1;
            }
        }
    }
    Outcome::Read { records }
}

thread_local! {
    /// Whether this thread is inside [`run_caught`].
    static CAUGHT: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic inside [`run_caught`] on this thread happened.
    static PANIC_AT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// [`run`], with a panic caught and returned as its message and location
/// (and not printed: callers run many inputs and report the failures).
///
/// # Errors
/// The panic's message, then `(at file:line:column)`.
pub fn run_caught(target: Target, sets: &[SeedSet], input: &[u8]) -> Result<Outcome, String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAUGHT.with(Cell::get) {
                let at = info.location().map(|l| l.to_string()).unwrap_or_default();
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                default(info);
            }
        }));
    });
    CAUGHT.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| run(target, sets, input)));
    CAUGHT.with(|c| c.set(false));
    result.map_err(|p| {
        let message = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into());
        let at = PANIC_AT.with(|p| p.take());
        format!("{message} (at {at})")
    })
}

/// Most bytes the process may hold allocated at once under
/// [`CappedAlloc`]: mutants of blobs of a few kilobytes justify nothing
/// near it.
pub const ALLOCATION_CAP: usize = 1 << 30;

/// Bytes allocated through [`CappedAlloc`] and not yet freed.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The name of the input being run, written to standard error by
/// [`CappedAlloc`] when it refuses an allocation (set it with
/// [`set_current_input`]).
static CURRENT_INPUT: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Records the name of the input about to run, for [`CappedAlloc`]'s
/// message.
pub fn set_current_input(name: &str) {
    let mut current = CURRENT_INPUT.lock().unwrap_or_else(|p| p.into_inner());
    current.clear();
    current.push_str(name);
}

/// A global allocator that refuses an allocation that would bring the
/// bytes held past [`ALLOCATION_CAP`] (the process then aborts with
/// "memory allocation of N bytes failed", after naming the input): without
/// it, allocations sized by a blob's bytes would take the machine's memory
/// before failing. Install it with `#[global_allocator]` in a fuzz or test
/// binary.
#[derive(Debug)]
pub struct CappedAlloc;

impl CappedAlloc {
    /// Counts `size` more bytes; false (counting nothing) past the cap.
    fn reserve(size: usize) -> bool {
        let before = LIVE.fetch_add(size, Ordering::Relaxed);
        if before.saturating_add(size) <= ALLOCATION_CAP {
            return true;
        }
        LIVE.fetch_sub(size, Ordering::Relaxed);
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = err
            .write_all(b"CappedAlloc: refused an allocation past ALLOCATION_CAP, running input ");
        if let Ok(current) = CURRENT_INPUT.try_lock() {
            let _ = err.write_all(current.as_bytes());
        }
        let _ = err.write_all(b"\n");
        false
    }
}

// SAFETY: every call is passed on to `System` unchanged, or refused with a
// null pointer, which `GlobalAlloc` allows.
unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !CappedAlloc::reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's guarantees for `layout` hold for `System`.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !CappedAlloc::reserve(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grow = new_size.saturating_sub(layout.size());
        if !CappedAlloc::reserve(grow) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` was allocated by `System` with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            LIVE.fetch_sub(grow, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size().saturating_sub(new_size), Ordering::Relaxed);
        }
        p
    }
}
