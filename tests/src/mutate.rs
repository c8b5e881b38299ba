//! Structure-aware mutation of blobs, for fuzzing past the checksums.
//!
//! A mutant is made from a valid seed blob by a *program*: a byte string
//! read as a sequence of edits ([`mutate`]). The edits know the blob's
//! structure: prefix fields, the header's directory entries and schema
//! (decoded, edited and re-encoded, with section offsets moved when the
//! header's length changes), section root pointers, list pointers and
//! elements (ordinals, bitmap words), record words, as well as plain
//! bytes, truncation and words spliced from another blob. After the edits
//! every section checksum in the directory and the whole-file XXH3 trailer
//! are recomputed, so a mutant is not simply refused by a checksum (unless
//! the program asks for stale section checksums).
//!
//! The same programs come from two places: the coverage-guided fuzzer
//! (`fuzz/`, whose input bytes are the program) and the replay test
//! (`tests/fuzz_replay.rs`, which draws programs from a seeded
//! [`Rng`]). Seeds are small blobs written by a real [`Producer`]
//! ([`make_seed_sets`]), checked in under `fuzz/seeds/` and read back
//! with [`load_seed_sets`].
//!
//! ```
//! use hollow_tests::mutate::{self, Choices};
//!
//! let sets = mutate::make_seed_sets();
//! let snapshot = &sets[0].blobs[0];
//! // Program: edit 1 (a directory entry) of section 0 (a 2-byte choice),
//! // field 6 (stateCount), value choice 0 (zero).
//! let mut program = Choices::new(&[1, 0, 0, 6, 0]);
//! let mutant = mutate::mutate(&snapshot.bytes, &snapshot.bytes, &mut program);
//! assert_eq!(mutant.len(), snapshot.bytes.len());
//! assert_ne!(mutant, *snapshot.bytes);
//! // The checksums were recomputed: what refuses the mutant is its
//! // directory, which no longer agrees with itself, not its checksum.
//! let e = hollow_runtime::blob::BlobView::open("snapshot-1", &mutant).unwrap_err();
//! assert!(e.to_string().contains("stateCount 0"), "{e}");
//! ```

use std::path::Path;
use std::sync::Arc;

use hollow_runtime::blob::envelope::{HeaderWire, MemberKindWire, TypeBaseWire, TypeKindWire};
use hollow_runtime::blob::{END_MAGIC, PREFIX_LEN, TRAILER_LEN};
use hollow_runtime::producer::CycleWriter;
use hollow_runtime::store::{InProcessAnnouncer, MemoryBlobStore};
use hollow_runtime::{hash_bytes, read_root, to_canonical_bytes, BlobName, Producer};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::{dataset, strategy};

/// Most edits one program makes (the rest of a longer program is ignored).
pub const MAX_EDITS: usize = 24;

/// The bytes a mutation program is read from: each read takes the next
/// bytes, and reads past the end give zeros (so every byte string is a
/// program, and a shorter one is a prefix of the same edits).
#[derive(Clone, Debug)]
pub struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Choices<'a> {
    /// A program over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Choices { bytes, at: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.at >= self.bytes.len()
    }

    /// The next byte (0 past the end).
    pub fn u8(&mut self) -> u8 {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at = self.at.saturating_add(1);
        b
    }

    /// The next 2 bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }

    /// The next 4 bytes, little-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// The next 8 bytes, little-endian.
    pub fn u64(&mut self) -> u64 {
        (self.u32() as u64) | (self.u32() as u64) << 32
    }

    /// A number below `n` (0 when `n` is 0), from 2 bytes.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.u16() as usize % n
        }
    }

    /// A value to put where `old` was: mostly boundary values (0, 1, the
    /// largest `u32`s, one more or less than `old`), sometimes any value.
    pub fn value(&mut self, old: u64) -> u64 {
        match self.u8() % 16 {
            0 => 0,
            1 => 1,
            2 => old.wrapping_add(1),
            3 => old.wrapping_sub(1),
            4 => old.wrapping_mul(2),
            5 => old / 2,
            6 => 0x7FFF_FFFF,
            7 => 0x8000_0000,
            8 => 0xFFFF_FFFF,
            9 => 0xFFFF_FFFE,
            10 => u64::MAX,
            11 => old ^ (1 << (self.u8() % 64)),
            12 => old.wrapping_add(self.u8() as u64 * 8),
            13 => self.u8() as u64,
            14 => self.u32() as u64,
            _ => self.u64(),
        }
    }

    /// A word that looks like a Cap'n Proto pointer (small offsets, any
    /// kind, element size and count), or a boundary value.
    pub fn pointer_word(&mut self) -> u64 {
        let offset = (self.u8() as i8 as i32) >> 1;
        let kind = (self.u8() % 4) as u64;
        let low = ((offset << 2) as u32 as u64) | kind;
        match kind {
            0 => low | (self.u8() as u64 % 8) << 32 | (self.u8() as u64 % 8) << 48,
            1 => low | (self.u8() as u64 % 8) << 32 | (self.value(4) & 0x1FFF_FFFF) << 35,
            _ => low | (self.u32() as u64) << 32,
        }
    }
}

/// A small deterministic random number generator (xorshift64*), for the
/// replay test's generated programs.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// One blob of a seed set: its store name and bytes.
#[derive(Clone, Debug)]
pub struct SeedBlob {
    /// The blob's store name (`snapshot-1`, `delta-1-2`, ...).
    pub name: BlobName,
    /// The blob.
    pub bytes: Arc<Vec<u8>>,
}

/// The blobs of two consecutive versions of one dataset, in the order
/// `snapshot-1`, `delta-1-2`, `reversedelta-2-1`, `snapshot-2`.
#[derive(Clone, Debug)]
pub struct SeedSet {
    /// The set's name (its folder under `fuzz/seeds/`).
    pub name: String,
    /// The blobs, in the order above.
    pub blobs: Vec<SeedBlob>,
}

impl SeedSet {
    /// The blob named `name`, if the set has it.
    pub fn blob(&self, name: BlobName) -> Option<&SeedBlob> {
        self.blobs.iter().find(|b| b.name == name)
    }
}

/// The store names of a seed set's blobs, in [`SeedSet::blobs`] order.
pub const SEED_BLOBS: [BlobName; 4] = [
    BlobName::Snapshot(1),
    BlobName::Delta { from: 1, to: 2 },
    BlobName::ReverseDelta { from: 2, to: 1 },
    BlobName::Snapshot(2),
];

/// Publishes two versions with a real [`Producer`] into a
/// [`MemoryBlobStore`] and returns their blobs: `catalog` ([`Movie`]s with
/// text and lists, [`Actor`]s) and `mixed` ([`Event`]s with unions,
/// [`Shipment`]s with nested structs, [`AllTypes`] with every field type
/// and nested lists). Deterministic but for the blobs' random state tags.
///
/// [`Movie`]: crate::Movie
/// [`Actor`]: crate::Actor
/// [`Event`]: crate::Event
/// [`Shipment`]: crate::Shipment
/// [`AllTypes`]: crate::AllTypes
pub fn make_seed_sets() -> Vec<SeedSet> {
    let catalog = |round: u64| -> Vec<Step> {
        let movies = (1..=8u64)
            .filter(|id| round == 1 || *id != 3)
            .map(|id| dataset::movie(id, if id % 3 == 0 { round } else { id }));
        let actors = (1..=4u64).map(|id| dataset::actor(id, round.min(id)));
        movies
            .map(|m| Box::new(move |w: &mut CycleWriter<'_>| w.add(&m)) as Step)
            .chain(actors.map(|a| Box::new(move |w: &mut CycleWriter<'_>| w.add(&a)) as Step))
            .collect()
    };
    let mixed = |round: u64| -> Vec<Step> {
        let mut runner = TestRunner::deterministic();
        let mut steps: Vec<Step> = Vec::new();
        for i in 0..3u64 {
            let mut e = sample(&mut runner, strategy::event());
            let mut s = sample(&mut runner, strategy::shipment());
            let mut a = sample(&mut runner, strategy::all_types());
            // Keys stay unique; round 2 changes the record with i == 1 and
            // drops the one with i == 2's shipment.
            e.id = i;
            s.id = i;
            a.id = i;
            if round == 2 && i == 1 {
                e.id = 10;
                a.text = "changed".into();
            }
            steps.push(Box::new(move |w| w.add(&e)));
            if !(round == 2 && i == 2) {
                steps.push(Box::new(move |w| w.add(&s)));
            }
            steps.push(Box::new(move |w| w.add(&a)));
        }
        steps
    };
    vec![
        publish("catalog", catalog(1), catalog(2)),
        publish("mixed", mixed(1), mixed(2)),
    ]
}

type Step = Box<dyn FnOnce(&mut CycleWriter<'_>) -> Result<(), hollow_runtime::Error>>;

fn sample<S: Strategy>(runner: &mut TestRunner, s: S) -> S::Value {
    s.new_tree(runner).expect("a sample value").current()
}

/// Publishes versions 1 and 2 and collects the set's blobs.
fn publish(name: &str, v1: Vec<Step>, v2: Vec<Step>) -> SeedSet {
    let store = Arc::new(MemoryBlobStore::new());
    let announcer = Arc::new(InProcessAnnouncer::new());
    let rt = dataset::runtime();
    let mut producer = Producer::builder(store.clone(), announcer).build();
    for steps in [v1, v2] {
        let outcome =
            rt.block_on(producer.run_cycle(|w| steps.into_iter().try_for_each(|step| step(w))));
        outcome
            .expect("a seed cycle")
            .version
            .expect("a new version");
    }
    let blobs = SEED_BLOBS
        .iter()
        .map(|&name| SeedBlob {
            name,
            bytes: Arc::new(store.get(name).expect("the producer wrote the blob")),
        })
        .collect();
    SeedSet {
        name: name.to_owned(),
        blobs,
    }
}

/// Writes seed sets under `dir`, one folder per set, one file per blob
/// named as in the store.
///
/// # Errors
/// A failed write.
pub fn write_seed_sets(dir: &Path, sets: &[SeedSet]) -> std::io::Result<()> {
    for set in sets {
        let d = dir.join(&set.name);
        std::fs::create_dir_all(&d)?;
        for b in &set.blobs {
            std::fs::write(d.join(b.name.to_string()), &b.bytes[..])?;
        }
    }
    Ok(())
}

/// Reads the seed sets written by [`write_seed_sets`] under `dir`, sorted
/// by name.
///
/// # Errors
/// A folder that cannot be read or lacks one of [`SEED_BLOBS`].
pub fn load_seed_sets(dir: &Path) -> std::io::Result<Vec<SeedSet>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let d = dir.join(&name);
            let blobs = SEED_BLOBS
                .iter()
                .map(|&b| {
                    Ok(SeedBlob {
                        name: b,
                        bytes: Arc::new(std::fs::read(d.join(b.to_string()))?),
                    })
                })
                .collect::<std::io::Result<_>>()?;
            Ok(SeedSet { name, blobs })
        })
        .collect()
}

/// The seed folder of this repository, `fuzz/seeds/`.
pub fn seeds_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

// --- the edits ----------------------------------------------------------

fn word_at(b: &[u8], at: usize) -> Option<u64> {
    let w = b.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(w.try_into().ok()?))
}

fn put_word(b: &mut [u8], at: usize, v: u64) {
    if let Some(w) = at.checked_add(8).and_then(|end| b.get_mut(at..end)) {
        w.copy_from_slice(&v.to_le_bytes());
    }
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    if let Some(w) = at.checked_add(4).and_then(|end| b.get_mut(at..end)) {
        w.copy_from_slice(&v.to_le_bytes());
    }
}

/// The header as its wire struct, if it still decodes.
fn header(b: &[u8]) -> Option<HeaderWire> {
    let len = usize::try_from(word_at(b, 48)?).ok()?;
    let bytes = b.get(PREFIX_LEN..PREFIX_LEN.checked_add(len)?)?;
    // Bounded as the blob reader bounds it: a header of many zero-sized
    // elements would decode (and re-encode) to far more than its bytes.
    hollow_runtime::wire::canonicalize_bounded(bytes, &mut Vec::new(), bytes.len() as u64 / 8)
        .ok()?;
    read_root::<HeaderWire>(bytes).ok()?.to_value().ok()
}

/// Replaces the header with `wire`, moving the sections (and their
/// directory offsets) when its encoded length changes.
fn set_header(b: &mut Vec<u8>, mut wire: HeaderWire) {
    let Some(old_len) = word_at(b, 48).and_then(|l| usize::try_from(l).ok()) else {
        return;
    };
    let Some(old_end) = PREFIX_LEN.checked_add(old_len).filter(|&e| e <= b.len()) else {
        return;
    };
    let Ok(first) = to_canonical_bytes(&wire) else {
        return;
    };
    let shift = first.len() as i64 - old_len as i64;
    let encoded = if shift == 0 {
        first
    } else {
        for s in &mut wire.sections {
            if s.offset >= old_end as u64 {
                s.offset = s.offset.wrapping_add_signed(shift);
            }
        }
        match to_canonical_bytes(&wire) {
            Ok(e) if e.len() == first.len() => e,
            _ => return,
        }
    };
    put_word(b, 48, encoded.len() as u64);
    b.splice(PREFIX_LEN..old_end, encoded);
}

/// `(start, len)` of section `i` in bytes, if inside the blob.
fn section_span(b: &[u8], wire: &HeaderWire, i: usize) -> Option<(usize, usize)> {
    let s = wire.sections.get(i)?;
    let start = usize::try_from(s.offset).ok()?;
    let len = usize::try_from(s.length).ok()?;
    (start.checked_add(len)? <= b.len()).then_some((start, len))
}

/// A decoded pointer: where its target starts (bytes, absolute) and what
/// the pointer word says of it.
#[derive(Clone, Copy, Debug)]
struct Ptr {
    /// Byte offset of the target's first word (after the tag for an
    /// inline-composite list).
    target: usize,
    /// 0 struct, 1 list.
    kind: u8,
    /// List element size code (0..=7).
    size: u8,
    /// List element count (for inline composite: elements, from the tag).
    count: usize,
    /// Words per element (inline composite) or struct data words.
    data_words: usize,
    /// Pointers per element / struct.
    pointers: usize,
}

/// Decodes the pointer at byte `at` of `b`, if its target is before `hi`.
fn pointer(b: &[u8], at: usize, hi: usize) -> Option<Ptr> {
    let w = word_at(b, at)?;
    let offset = (w as u32 as i32) >> 2;
    let kind = (w & 3) as u8;
    let target = (at as i64 + 8 + offset as i64 * 8) as usize;
    if target >= hi {
        return None;
    }
    match kind {
        0 => Some(Ptr {
            target,
            kind,
            size: 0,
            count: 1,
            data_words: (w >> 32) as u16 as usize,
            pointers: (w >> 48) as usize,
        }),
        1 => {
            let size = ((w >> 32) & 7) as u8;
            let count = (w >> 35) as usize;
            if size == 7 {
                let tag = word_at(b, target)?;
                Some(Ptr {
                    target: target + 8,
                    kind,
                    size,
                    count: ((tag as u32) >> 2) as usize,
                    data_words: (tag >> 32) as u16 as usize,
                    pointers: (tag >> 48) as usize,
                })
            } else {
                Some(Ptr {
                    target,
                    kind,
                    size,
                    count,
                    data_words: 0,
                    pointers: 0,
                })
            }
        }
        _ => None,
    }
}

/// The root struct of the section at `(start, len)` and the byte offset of
/// its pointer `j`.
fn root_pointer(b: &[u8], (start, len): (usize, usize), j: usize) -> Option<usize> {
    let root = pointer(b, start, start + len)?;
    (root.kind == 0 && j < root.pointers).then_some(root.target + (root.data_words + j) * 8)
}

/// Applies the program's edits to `blob` (`donor`, another blob of the
/// same set, supplies spliced words) and recomputes the checksums.
pub fn mutate(blob: &[u8], donor: &[u8], c: &mut Choices<'_>) -> Vec<u8> {
    let mut b = blob.to_vec();
    let mut stale_sections = false;
    for _ in 0..MAX_EDITS {
        if c.is_empty() {
            break;
        }
        match c.u8() % 12 {
            0 => edit_prefix(&mut b, c),
            1 => edit_directory(&mut b, c),
            2 => edit_schema(&mut b, c),
            3 => edit_list_element(&mut b, c),
            4 => edit_list_pointer(&mut b, c),
            5 => edit_record_word(&mut b, c),
            6 => {
                // A word anywhere in a section.
                if let Some(w) = header(&b) {
                    let i = c.below(w.sections.len());
                    if let Some((start, len)) = section_span(&b, &w, i) {
                        let at = start + c.below(len / 8) * 8;
                        let v = if c.u8().is_multiple_of(2) {
                            c.pointer_word()
                        } else {
                            c.value(word_at(&b, at).unwrap_or(0))
                        };
                        put_word(&mut b, at, v);
                    }
                }
            }
            7 => {
                // A byte anywhere.
                let at = c.below(b.len());
                let x = c.u8().max(1);
                if let Some(v) = b.get_mut(at) {
                    *v ^= x;
                }
            }
            8 => {
                // Truncated (a trailer is written again after it).
                let keep = c.below(b.len().saturating_sub(TRAILER_LEN) + 1);
                b.truncate(keep);
                b.resize(keep + TRAILER_LEN, 0);
            }
            9 => {
                // Words from the donor, at the same or another place.
                let words = 1 + c.below(16);
                let from = c.below(donor.len() / 8) * 8;
                let to = if c.u8().is_multiple_of(2) {
                    from
                } else {
                    c.below(b.len() / 8) * 8
                };
                for k in 0..words {
                    if let Some(w) = word_at(donor, from + k * 8) {
                        put_word(&mut b, to + k * 8, w);
                    }
                }
            }
            10 => {
                // Words inserted into or cut out of the body.
                let at = c.below(b.len() / 8) * 8;
                let n = (1 + c.below(4)) * 8;
                if c.u8().is_multiple_of(2) {
                    let end = (at + n).min(b.len());
                    b.drain(at..end);
                } else {
                    b.splice(at..at, std::iter::repeat_n(0u8, n));
                }
            }
            _ => stale_sections = true,
        }
    }
    finish(&mut b, !stale_sections);
    b
}

/// Recomputes the directory's section checksums (when `sections`) and
/// rewrites the trailer: the XXH3 of every byte before it, then the end
/// magic.
pub fn finish(b: &mut Vec<u8>, sections: bool) {
    if b.len() < TRAILER_LEN {
        b.resize(TRAILER_LEN, 0);
    }
    if sections {
        if let Some(mut w) = header(b) {
            let mut changed = false;
            for i in 0..w.sections.len() {
                if let Some((start, len)) = section_span(b, &w, i) {
                    let sum = hash_bytes(&b[start..start + len]);
                    changed |= w.sections[i].checksum != sum;
                    w.sections[i].checksum = sum;
                }
            }
            if changed {
                set_header(b, w);
            }
        }
    }
    let body = b.len() - TRAILER_LEN;
    let sum = hash_bytes(&b[..body]);
    put_word(b, body, sum);
    b[body + 8..].copy_from_slice(&END_MAGIC);
}

fn edit_prefix(b: &mut [u8], c: &mut Choices<'_>) {
    match c.u8() % 8 {
        0 => put_u32(b, 8, c.value(1) as u32),
        1 => put_u32(b, 12, c.u8() as u32 % 5),
        field => {
            let at = 8 * field as usize;
            let old = word_at(b, at).unwrap_or(0);
            put_word(b, at, c.value(old));
        }
    }
}

fn edit_directory(b: &mut Vec<u8>, c: &mut Choices<'_>) {
    let Some(mut w) = header(b) else { return };
    let n = w.sections.len();
    if n == 0 {
        return;
    }
    let i = c.below(n);
    let field = c.u8() % 12;
    let s = &mut w.sections[i];
    match field {
        0 => s.offset = c.value(s.offset),
        1 => s.length = c.value(s.length),
        2 => s.checksum = c.value(s.checksum),
        3 => s.record_count = c.value(s.record_count as u64) as u32,
        4 => s.removed_count = c.value(s.removed_count as u64) as u32,
        5 => s.ordinal_limit = c.value(s.ordinal_limit as u64) as u32,
        6 => s.state_count = c.value(s.state_count as u64) as u32,
        7 => s.state_checksum = c.value(s.state_checksum),
        8 => {
            // Another section's type name (a repeated or renamed entry).
            let other = c.below(n);
            w.sections[i].type_name = w.sections[other].type_name.clone();
        }
        9 => {
            w.sections.remove(i);
        }
        10 => {
            let copy = w.sections[i].clone();
            w.sections.push(copy);
        }
        _ => {
            let j = c.below(n);
            w.sections.swap(i, j);
        }
    }
    set_header(b, w);
}

fn edit_schema(b: &mut Vec<u8>, c: &mut Choices<'_>) {
    let Some(mut w) = header(b) else { return };
    let types = &mut w.schema.types;
    if types.is_empty() {
        return;
    }
    let t = c.below(types.len());
    let ty = &mut types[t];
    match c.u8() % 10 {
        0 => ty.data_words = c.value(ty.data_words as u64) as u16,
        1 => ty.pointers = c.value(ty.pointers as u64) as u16,
        2 => ty.is_record = !ty.is_record,
        3 => {
            ty.kind = match ty.kind {
                TypeKindWire::Struct => TypeKindWire::Enum,
                TypeKindWire::Enum => TypeKindWire::Struct,
            }
        }
        4 => {
            ty.primary_key = match c.u8() % 3 {
                0 => None,
                1 => ty.members.first().map(|m| m.name.clone()),
                _ => ty.members.last().map(|m| m.name.clone()),
            }
        }
        5 => {
            ty.enumerants.pop();
        }
        field => {
            let n = ty.members.len();
            if n == 0 {
                return;
            }
            let m = &mut ty.members[c.below(n)];
            match field {
                6 => m.offset = c.value(m.offset as u64) as u32,
                7 => {
                    const BASES: [TypeBaseWire; 16] = [
                        TypeBaseWire::Void,
                        TypeBaseWire::Bool,
                        TypeBaseWire::Int8,
                        TypeBaseWire::Int16,
                        TypeBaseWire::Int32,
                        TypeBaseWire::Int64,
                        TypeBaseWire::UInt8,
                        TypeBaseWire::UInt16,
                        TypeBaseWire::UInt32,
                        TypeBaseWire::UInt64,
                        TypeBaseWire::Float32,
                        TypeBaseWire::Float64,
                        TypeBaseWire::Text,
                        TypeBaseWire::Data,
                        TypeBaseWire::Enum,
                        TypeBaseWire::Struct,
                    ];
                    m.type_base = BASES[c.below(BASES.len())];
                }
                8 => m.list_depth = c.value(m.list_depth as u64) as u8,
                _ => {
                    m.kind = match c.u8() % 3 {
                        0 => MemberKindWire::Slot,
                        1 => MemberKindWire::Group,
                        _ => MemberKindWire::Union,
                    };
                    m.parent = c.value(m.parent as u64) as u32;
                }
            }
        }
    }
    set_header(b, w);
}

/// A list of the section's root: `(pointer byte offset, decoded)`.
fn root_list(b: &[u8], c: &mut Choices<'_>) -> Option<(usize, Ptr)> {
    let w = header(b)?;
    let span = section_span(b, &w, c.below(w.sections.len()))?;
    let at = root_pointer(b, span, c.below(3))?;
    let p = pointer(b, at, span.0 + span.1)?;
    (p.kind == 1).then_some((at, p))
}

fn edit_list_element(b: &mut [u8], c: &mut Choices<'_>) {
    let Some((_, list)) = root_list(b, c) else {
        return;
    };
    let k = c.below(list.count);
    match list.size {
        // `removed` / `added` ordinals: a boundary value or another
        // element's ordinal (a duplicate).
        4 => {
            let at = list.target + k * 4;
            let old = b
                .get(at..at + 4)
                .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
            let v = if c.u8().is_multiple_of(3) {
                let other = list.target + c.below(list.count) * 4;
                b.get(other..other + 4)
                    .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
            } else {
                c.value(old as u64) as u32
            };
            put_u32(b, at, v);
        }
        // The populated bitmap.
        5 => {
            let at = list.target + k * 8;
            let old = word_at(b, at).unwrap_or(0);
            let v = match c.u8() % 4 {
                0 => 0,
                1 => u64::MAX,
                2 => old ^ (1 << (c.u8() % 64)),
                _ => c.value(old),
            };
            put_word(b, at, v);
        }
        _ => {}
    }
}

fn edit_list_pointer(b: &mut [u8], c: &mut Choices<'_>) {
    let Some((at, list)) = root_list(b, c) else {
        return;
    };
    let Some(w) = word_at(b, at) else { return };
    let v = match c.u8() % 5 {
        // The element count.
        0 => (w & 0x7_FFFF_FFFF) | (c.value(w >> 35) & 0x1FFF_FFFF) << 35,
        // The element size.
        1 => (w & !(7 << 32)) | ((c.u8() as u64 % 8) << 32),
        // The offset.
        2 => {
            (w & !0xFFFF_FFFC)
                | ((c.value((w as u32 >> 2) as u64) as u32 as u64) << 2 & 0xFFFF_FFFC)
        }
        // The inline-composite tag's count or sizes.
        3 if list.size == 7 => {
            let tag_at = list.target - 8;
            let tag = word_at(b, tag_at).unwrap_or(0);
            let tag = match c.u8() % 3 {
                0 => {
                    (tag & !0xFFFF_FFFC)
                        | (c.value(list.count as u64) as u32 as u64) << 2 & 0xFFFF_FFFC
                }
                1 => (tag & !(0xFFFF << 32)) | (c.value(list.data_words as u64) & 0xFFFF) << 32,
                _ => (tag & !(0xFFFF << 48)) | (c.value(list.pointers as u64) & 0xFFFF) << 48,
            };
            put_word(b, tag_at, tag);
            return;
        }
        _ => c.pointer_word(),
    };
    put_word(b, at, v);
}

fn edit_record_word(b: &mut [u8], c: &mut Choices<'_>) {
    let Some((_, list)) = root_list(b, c) else {
        return;
    };
    if list.size != 7 {
        return;
    }
    let per = list.data_words + list.pointers;
    if per == 0 {
        return;
    }
    let k = c.below(list.count);
    let word = c.below(per);
    let at = list.target + (k * per + word) * 8;
    let v = if word >= list.data_words || c.u8().is_multiple_of(2) {
        c.pointer_word()
    } else {
        c.value(word_at(b, at).unwrap_or(0))
    };
    put_word(b, at, v);
    // Sometimes follow the record's pointer one level, to reach its texts,
    // lists and nested structs.
    if word >= list.data_words && c.u8().is_multiple_of(2) {
        let ptr_at = list.target + (k * per + list.data_words + c.below(list.pointers)) * 8;
        if let Some(p) = pointer(b, ptr_at, b.len()) {
            let inner = p.target + c.below(p.count.min(64)) * 8;
            let old = word_at(b, inner).unwrap_or(0);
            put_word(b, inner, c.value(old));
        }
    }
}
