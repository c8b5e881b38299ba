//! Shared values inside a section: identical values pointed to by the
//! records' own pointers are written once, and every record holding one
//! points at that copy.
//!
//! A record's canonical bytes are in pre-order: its root struct, then the
//! objects of its first non-null pointer, then those of the next, and so
//! on. Each root pointer's objects are therefore one contiguous run of
//! words whose pointers all point inside the run, and the run can be
//! placed anywhere in the section, or pointed to from several records: a
//! Cap'n Proto pointer may point anywhere in its segment. Canonicalizing a
//! record read from the section follows the pointers wherever they lead,
//! so it gives back the record's canonical bytes exactly, with or without
//! sharing; hashes, checksums and deltas are defined on those bytes.
//!
//! What is worth sharing is measured as the section is written, per root
//! pointer (per field): the first [`SAMPLE`] records holding a value in a
//! field look it up; a field whose values were found at least once in
//! [`MIN_HIT_RATIO`] of them keeps sharing, the others stop looking (their
//! values, unique titles say, would only cost a hash each).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::section::SectionBuf;

/// How sections are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SectionOptions {
    /// Whether identical values of a section's records are stored once and
    /// shared by pointer (see `docs/blob-format.md`, "Shared values").
    /// Default: on. Off writes every record's objects after its own
    /// element, as canonical bytes hold them; both read the same.
    pub share_values: bool,
    /// Most bytes a section is let grow to before a record type is cut
    /// into several sections (shards by ordinal range, see
    /// `docs/blob-format.md`, "Shards"), as reckoned before values are
    /// shared (so shards come out at most this long, and shorter where
    /// values are shared). Used by [`snapshot_shards`](super::snapshot_shards)
    /// and [`delta_shards`](super::delta_shards). Default
    /// [`SectionOptions::MAX_SHARD_BYTES`], just under 4 GiB, the most a
    /// section message can hold; tests set a few KiB to get several shards
    /// from small data.
    pub shard_limit: u64,
}

impl SectionOptions {
    /// The largest section a Cap'n Proto message can hold: 2^29 − 1 words
    /// (just under 4 GiB). The default [`SectionOptions::shard_limit`].
    pub const MAX_SHARD_BYTES: u64 = ((1 << 29) - 1) * 8;
}

impl Default for SectionOptions {
    fn default() -> Self {
        SectionOptions {
            share_values: true,
            shard_limit: SectionOptions::MAX_SHARD_BYTES,
        }
    }
}

/// Values of a field looked up before deciding whether the field is worth
/// sharing.
pub(super) const SAMPLE: u32 = 1024;

/// A field keeps sharing when at least one value in this many of its first
/// [`SAMPLE`] was found already written.
pub(super) const MIN_HIT_RATIO: u32 = 16;

/// The hash of a value is already a hash: the table uses it as it is.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A value written to the section, that later records may point to.
#[derive(Clone, Copy)]
struct Written {
    /// The word of the section its objects start at.
    at: usize,
    /// Their length in words.
    words: usize,
    /// The pointer's kind and size bits (all but the offset).
    head: u64,
    /// Where a copy of its bytes starts in [`Sharer::kept`] (a spooled
    /// section's objects are no longer in memory to compare with).
    kept: usize,
}

/// What was seen of one field (root pointer).
#[derive(Clone, Copy, Default)]
struct Field {
    tried: u32,
    hits: u32,
    off: bool,
}

/// One root pointer of a record: where it is, what it is, and its objects.
#[derive(Clone, Copy)]
struct Part {
    index: usize,
    word: u64,
    /// Its objects: words `start..end` of the record.
    start: usize,
    end: usize,
}

/// Writes records into a section, sharing their values (see the module
/// docs). One per section: values are shared inside a section only.
pub(super) struct Sharer {
    on: bool,
    fields: Vec<Field>,
    table: HashMap<u64, Written, BuildHasherDefault<PassThrough>>,
    /// A copy of each value in `table`, to compare a value with before
    /// pointing to it.
    kept: Vec<u8>,
    parts: Vec<Part>,
    /// Words not written thanks to sharing, so far.
    saved: u64,
}

fn word(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at * 8..at * 8 + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => 0,
    }
}

fn target(at: usize, w: u64) -> i64 {
    at as i64 + 1 + ((w as u32) as i32 >> 2) as i64
}

impl Sharer {
    pub(super) fn new(options: SectionOptions, pointers: u16) -> Sharer {
        Sharer {
            on: options.share_values && pointers > 0,
            fields: vec![Field::default(); pointers as usize],
            table: HashMap::default(),
            kept: Vec::new(),
            parts: Vec::new(),
            saved: 0,
        }
    }

    /// Words not written thanks to sharing.
    pub(super) fn saved_words(&self) -> u64 {
        self.saved
    }

    /// Copies the canonical record `record` into the element at word `slot`
    /// of `out`, as [`crate::wire::splice_record`] does, but pointing a
    /// root pointer at an identical value already in `out` instead of
    /// copying it again (when its field is worth it, see the module docs).
    ///
    /// Bytes whose root pointers are not in pre-order (not canonical) are
    /// copied by [`SectionBuf::splice_plain`], unshared.
    ///
    /// # Errors
    /// As [`crate::wire::splice_record`].
    pub(super) fn splice(
        &mut self,
        out: &mut SectionBuf<'_>,
        slot: usize,
        data_words: u16,
        pointers: u16,
        record: &[u8],
    ) -> Result<(), &'static str> {
        if !self.on || !self.find_parts(out.fixed.len(), slot, data_words, pointers, record) {
            return out.splice_plain(slot, data_words, pointers, record);
        }
        let dw = (word(record, 0) >> 32) as u16 as usize;
        out.fixed[slot * 8..(slot + dw) * 8].copy_from_slice(&record[8..8 + dw * 8]);
        for k in 0..self.parts.len() {
            let p = self.parts[k];
            let dst_at = slot + data_words as usize + p.index;
            let new = if p.word & 3 == 0 && p.word >> 32 == 0 {
                // A zero-sized struct: offset -1 is valid anywhere.
                0xffff_fffc
            } else {
                let at = self.place(out, &p, record);
                let offset = at as i64 - dst_at as i64 - 1;
                if !(-(1 << 29)..(1 << 29)).contains(&offset) {
                    return Err("the message being built is too large for a pointer offset");
                }
                (p.word & !0xffff_ffff)
                    | (((offset as i32) << 2) as u32 | (p.word as u32 & 3)) as u64
            };
            out.fixed[dst_at * 8..dst_at * 8 + 8].copy_from_slice(&new.to_le_bytes());
        }
        Ok(())
    }

    /// Where the objects of `p` are in `out`: an identical value written
    /// before, or a copy appended now.
    fn place(&mut self, out: &mut SectionBuf<'_>, p: &Part, record: &[u8]) -> usize {
        let words = p.end - p.start;
        let bytes = &record[p.start * 8..p.end * 8];
        let end = out.words();
        if words == 0 {
            return end;
        }
        let field = &mut self.fields[p.index];
        if field.off {
            out.append(bytes);
            return end;
        }
        let head = p.word & !0xffff_fffc;
        let key = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, head);
        field.tried += 1;
        let kept = &mut self.kept;
        let found = self.table.get(&key).copied().filter(|w| {
            w.head == head && w.words == words && kept[w.kept..w.kept + words * 8] == *bytes
        });
        // A reader walks every record's values: sharing may at most double
        // the words that walk reads over the section's own length (the
        // reader's traversal budget allows eight times).
        let result = match found {
            Some(w) if self.saved + words as u64 <= end as u64 => {
                field.hits += 1;
                self.saved += words as u64;
                w.at
            }
            _ => {
                out.append(bytes);
                self.table.entry(key).or_insert_with(|| {
                    kept.extend_from_slice(bytes);
                    Written {
                        at: end,
                        words,
                        head,
                        kept: kept.len() - bytes.len(),
                    }
                });
                end
            }
        };
        if field.tried >= SAMPLE && field.hits * MIN_HIT_RATIO < field.tried {
            field.off = true;
        }
        result
    }

    /// Finds the record's root pointers and their objects into
    /// `self.parts`: `false` when the record is not canonical bytes of a
    /// struct fitting the slot with its objects in pre-order (the plain
    /// splice then copies it, or says what is wrong).
    fn find_parts(
        &mut self,
        out_len: usize,
        slot: usize,
        data_words: u16,
        pointers: u16,
        record: &[u8],
    ) -> bool {
        self.parts.clear();
        if record.len() < 8 || !record.len().is_multiple_of(8) {
            return false;
        }
        let words = record.len() / 8;
        let root = word(record, 0);
        let (dw, pc) = ((root >> 32) as u16, (root >> 48) as u16);
        if root & 3 != 0 || (root as u32) >> 2 != 0 || (dw == 0 && pc == 0) {
            return false;
        }
        if dw > data_words || pc > pointers {
            return false;
        }
        let block = 1 + dw as usize + pc as usize;
        let slot_end = (slot + data_words as usize + pointers as usize) * 8;
        if block > words || slot_end > out_len || !out_len.is_multiple_of(8) {
            return false;
        }
        // Pre-order: the first non-null pointer's objects start right
        // after the root struct, each next one's at or after the end of
        // the previous pointer's own object, and the last run ends at the
        // record's end.
        let mut next = block;
        let mut any = false;
        for j in 0..pc as usize {
            let at = 1 + dw as usize + j;
            let w = word(record, at);
            if w == 0 {
                continue;
            }
            if w & 3 == 0 && w >> 32 == 0 {
                // A zero-sized struct: no objects.
                self.parts.push(Part {
                    index: j,
                    word: w,
                    start: 0,
                    end: 0,
                });
                continue;
            }
            let t = target(at, w);
            let first_ok = any || t == block as i64;
            if w & 3 > 1 || !first_ok || t < next as i64 || t > words as i64 {
                return false;
            }
            let t = t as usize;
            let Some(own) = own_words(w).filter(|n| t + n <= words) else {
                return false;
            };
            any = true;
            self.parts.push(Part {
                index: j,
                word: w,
                start: t,
                end: t + own,
            });
            next = t + own;
        }
        if !any {
            return block == words;
        }
        // Each run ends where the next one starts, the last one at the
        // record's end.
        let mut end = words;
        for p in self.parts.iter_mut().rev() {
            if p.word & 3 == 0 && p.word >> 32 == 0 {
                continue;
            }
            p.end = end;
            end = p.start;
        }
        true
    }
}

/// The words of the object a struct or list pointer `w` points to itself
/// (not what its pointers point to); `None` for other pointers.
fn own_words(w: u64) -> Option<usize> {
    match w & 3 {
        0 => Some(((w >> 32) as u16) as usize + (w >> 48) as usize),
        1 => {
            let size = (w >> 32) & 7;
            let count = (w >> 35) as usize;
            let bits = [0, 1, 8, 16, 32, 64, 64][..].get(size as usize);
            Some(match bits {
                Some(b) => (b * count).div_ceil(64),
                // Inline composite: the tag and `count` words.
                None => 1 + count,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{to_canonical_bytes, Hollow, Struct};

    #[derive(Hollow, Clone, Debug, PartialEq, Default)]
    #[hollow(primary_key(id))]
    struct Film {
        id: u64,
        title: String,
        genres: Vec<String>,
    }

    /// Writes `n` films (unique titles, genres from a pool of 3) into a
    /// section-like buffer; returns the sharer and the buffer.
    fn write(n: u64, options: SectionOptions) -> (Sharer, Vec<u8>) {
        let size = Film::SIZE;
        let per = size.data_words as usize + size.pointers as usize;
        let mut out = SectionBuf::memory();
        out.begin(n as usize * per * 8);
        let mut sharer = Sharer::new(options, size.pointers);
        for id in 0..n {
            let film = Film {
                id,
                title: format!("title {id}"),
                genres: vec![format!("genre {}", id % 3)],
            };
            let bytes = to_canonical_bytes(&film).unwrap();
            sharer
                .splice(
                    &mut out,
                    id as usize * per,
                    size.data_words,
                    size.pointers,
                    &bytes,
                )
                .unwrap();
        }
        (sharer, out.into_vec())
    }

    #[test]
    fn fields_of_unique_values_stop_sharing_after_the_sample_and_repeating_ones_keep_it() {
        let (sharer, shared) = write(3000, SectionOptions::default());
        let (title, genres) = (sharer.fields[0], sharer.fields[1]);
        assert!(title.off, "titles never repeat");
        assert_eq!((title.tried, title.hits), (SAMPLE, 0));
        assert!(!genres.off, "genres repeat");
        assert_eq!(genres.tried, 3000);
        assert_eq!(genres.hits, 2997, "all but the first of each genre list");
        assert!(sharer.saved_words() > 0);
        let (plain_sharer, plain) = write(
            3000,
            SectionOptions {
                share_values: false,
                ..SectionOptions::default()
            },
        );
        assert_eq!(plain_sharer.saved_words(), 0);
        assert_eq!(
            plain.len() - shared.len(),
            sharer.saved_words() as usize * 8,
            "every word saved is a word not written"
        );
    }
}
