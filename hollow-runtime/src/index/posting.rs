//! Posting lists: the ordinals of one hash-index key, as a persistent set.
//!
//! Ordinals are split by their high bits into parts of 65 536; a part is a
//! sorted array while small and a bitmap once dense (both at most 8 KiB). Parts are shared
//! between versions and copied on write, so adding or removing an ordinal
//! costs O(part) whatever the list's length, and an old version keeps its
//! exact set.

use std::sync::Arc;

const PART_SHIFT: u32 = 16;
const PART_MASK: u32 = (1 << PART_SHIFT) - 1;
/// An array part becomes a bitmap past this many entries (same bytes).
const TO_BITS: usize = 4096;
/// A bitmap part becomes an array below this many entries.
const TO_ARRAY: u32 = 2048;
const WORDS: usize = (1 << PART_SHIFT) / 64;

#[derive(Clone, Debug)]
enum Part {
    Array(Vec<u16>),
    Bits(Box<[u64; WORDS]>, u32),
}

impl Part {
    /// The part without spare array capacity.
    fn shrunk(mut self) -> Part {
        if let Part::Array(a) = &mut self {
            a.shrink_to_fit();
        }
        self
    }

    fn len(&self) -> u32 {
        match self {
            Part::Array(a) => a.len() as u32,
            Part::Bits(_, n) => *n,
        }
    }

    /// Adds `low`; false if it was there.
    #[cfg(test)]
    fn insert(&mut self, low: u16) -> bool {
        let before = self.len();
        self.insert_lows(&mut vec![low]);
        self.len() > before
    }

    /// Removes `low`; false (and the part unchanged) if it was not there.
    #[cfg(test)]
    fn remove(&mut self, low: u16) -> bool {
        self.remove_lows(&[low]).is_some()
    }

    fn bits_iter(b: &[u64; WORDS]) -> impl Iterator<Item = u16> + '_ {
        b.iter().enumerate().flat_map(|(w, &word)| {
            let mut word = word;
            std::iter::from_fn(move || {
                if word == 0 {
                    return None;
                }
                let t = word.trailing_zeros();
                word &= word - 1;
                Some((w * 64) as u16 + t as u16)
            })
        })
    }

    /// Removes `lows` (ascending, no repeats), giving the entries left,
    /// or `None` (and the part unspecified) if one was not there.
    fn remove_lows(&mut self, lows: &[u16]) -> Option<u32> {
        match self {
            Part::Array(a) => array_remove(a, lows).then_some(a.len() as u32),
            Part::Bits(b, n) => {
                for &low in lows {
                    let (w, bit) = (low as usize / 64, 1u64 << (low % 64));
                    if b[w] & bit == 0 {
                        return None;
                    }
                    b[w] &= !bit;
                    *n -= 1;
                }
                let n = *n;
                if n < TO_ARRAY {
                    *self = Part::Array(Part::bits_iter(b).collect());
                }
                Some(n)
            }
        }
    }

    /// Adds `lows` (ascending, no repeats; those there already are left
    /// as they are, and dropped from `lows`), becoming a bitmap past
    /// [`TO_BITS`] entries.
    fn insert_lows(&mut self, lows: &mut Vec<u16>) {
        match self {
            Part::Array(a) => {
                lows.retain(|low| a.binary_search(low).is_err());
                if a.len() + lows.len() <= TO_BITS {
                    array_insert(a, lows);
                } else {
                    let mut bits = Box::new([0u64; WORDS]);
                    for &x in a.iter().chain(lows.iter()) {
                        bits[x as usize / 64] |= 1 << (x % 64);
                    }
                    *self = Part::Bits(bits, (a.len() + lows.len()) as u32);
                }
            }
            Part::Bits(b, n) => {
                for &low in lows.iter() {
                    let (w, bit) = (low as usize / 64, 1u64 << (low % 64));
                    *n += u32::from(b[w] & bit == 0);
                    b[w] |= bit;
                }
            }
        }
    }

    fn first(&self) -> Option<u16> {
        match self {
            Part::Array(a) => a.first().copied(),
            Part::Bits(b, _) => Part::bits_iter(b).next(),
        }
    }

    fn iter(&self) -> PartIter<'_> {
        match self {
            Part::Array(a) => PartIter::Array(a.iter()),
            Part::Bits(b, _) => PartIter::Bits {
                words: b,
                w: 0,
                word: b[0],
            },
        }
    }
}

/// Removes `lows` (ascending, no repeats) from the sorted array `a`,
/// moving the runs between them with slice copies; false (and `a`
/// unspecified) if one was not there.
fn array_remove(a: &mut Vec<u16>, lows: &[u16]) -> bool {
    // `a[..w]` is kept; `a[at..]` is not looked at yet.
    let (mut w, mut at) = (0, 0);
    for &low in lows {
        let i = at + a[at..].partition_point(|&x| x < low);
        if a.get(i) != Some(&low) {
            return false;
        }
        a.copy_within(at..i, w);
        w += i - at;
        at = i + 1;
    }
    let len = a.len();
    a.copy_within(at..len, w);
    a.truncate(w + len - at);
    true
}

/// Adds `lows` (ascending, no repeats, none in `a`) to the sorted array
/// `a`, from the back: each run of `a` moves once, by a slice copy.
fn array_insert(a: &mut Vec<u16>, lows: &[u16]) {
    let old = a.len();
    a.resize(old + lows.len(), 0);
    // `a[..end]` is what is left of the old entries, unmoved; the new
    // array is filled downwards from `to`.
    let (mut end, mut to) = (old, a.len());
    for &low in lows.iter().rev() {
        let i = a[..end].partition_point(|&x| x < low);
        let n = end - i;
        a.copy_within(i..end, to - n);
        to -= n + 1;
        a[to] = low;
        end = i;
    }
}

/// The low bits of a part's ordinals, ascending.
enum PartIter<'a> {
    Array(std::slice::Iter<'a, u16>),
    Bits {
        words: &'a [u64; WORDS],
        w: usize,
        word: u64,
    },
}

/// The ordinals of a [`Posting`], ascending: part by part, with the state
/// of one part's walk kept in place (the first ordinal, what a lookup
/// reading one match asks for, costs a few instructions).
pub(crate) struct Ordinals<'a> {
    parts: std::slice::Iter<'a, (u32, Arc<Part>)>,
    /// The high bits of the part being walked.
    hi: u32,
    part: PartIter<'a>,
}

impl<'a> Ordinals<'a> {
    /// No ordinals.
    pub(crate) fn empty() -> Ordinals<'a> {
        Ordinals {
            parts: [].iter(),
            hi: 0,
            part: PartIter::Array([].iter()),
        }
    }
}

impl Iterator for Ordinals<'_> {
    type Item = u32;
    #[inline]
    fn next(&mut self) -> Option<u32> {
        loop {
            if let Some(low) = self.part.next() {
                return Some((self.hi << PART_SHIFT) | low as u32);
            }
            let (hi, part) = self.parts.next()?;
            self.hi = *hi;
            self.part = part.iter();
        }
    }
}

impl Iterator for PartIter<'_> {
    type Item = u16;
    #[inline]
    fn next(&mut self) -> Option<u16> {
        match self {
            PartIter::Array(it) => it.next().copied(),
            PartIter::Bits { words, w, word } => loop {
                if *word != 0 {
                    let t = word.trailing_zeros();
                    *word &= *word - 1;
                    return Some((*w * 64) as u16 + t as u16);
                }
                *w += 1;
                if *w >= WORDS {
                    return None;
                }
                *word = words[*w];
            },
        }
    }
}

/// Builds a posting list from ordinals given in ascending order, each part
/// filled in place (no per-ordinal copying or searching).
#[derive(Default)]
pub(crate) struct PostingBuilder {
    len: u32,
    parts: Vec<(u32, Arc<Part>)>,
    /// The part being filled (its high bits and contents).
    cur: Option<(u32, Part)>,
}

impl PostingBuilder {
    /// Adds `o`, greater than every ordinal added before.
    #[inline]
    pub(crate) fn push(&mut self, o: u32) {
        let (hi, low) = (o >> PART_SHIFT, (o & PART_MASK) as u16);
        match &mut self.cur {
            Some((h, part)) if *h == hi => match part {
                Part::Array(a) => {
                    debug_assert!(a.last().is_none_or(|&l| l < low));
                    a.push(low);
                    if a.len() > TO_BITS {
                        let mut bits = Box::new([0u64; WORDS]);
                        for &x in a.iter() {
                            bits[x as usize / 64] |= 1 << (x % 64);
                        }
                        *part = Part::Bits(bits, a.len() as u32);
                    }
                }
                Part::Bits(b, n) => {
                    b[low as usize / 64] |= 1 << (low % 64);
                    *n += 1;
                }
            },
            cur => {
                if let Some((h, part)) = cur.take() {
                    self.parts.push((h, Arc::new(part.shrunk())));
                }
                *cur = Some((hi, Part::Array(vec![low])));
            }
        }
        self.len += 1;
    }

    /// The set.
    pub(crate) fn finish(mut self) -> Posting {
        if let Some((h, part)) = self.cur.take() {
            self.parts.push((h, Arc::new(part.shrunk())));
        }
        Posting {
            len: self.len,
            parts: Arc::new(self.parts),
        }
    }
}

/// Ascending ordinals cut into runs of one part each: (part, run).
fn by_part(os: &[u32]) -> impl Iterator<Item = (u32, &[u32])> {
    os.chunk_by(|a, b| a >> PART_SHIFT == b >> PART_SHIFT)
        .map(|run| (run[0] >> PART_SHIFT, run))
}

/// A set of ordinals. Cloning it is O(1).
#[derive(Clone, Debug, Default)]
pub(crate) struct Posting {
    len: u32,
    parts: Arc<Vec<(u32, Arc<Part>)>>,
}

impl Posting {
    /// Number of ordinals.
    pub(crate) fn len(&self) -> u32 {
        self.len
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `o`; false if it was there (tests check batches against it).
    #[cfg(test)]
    pub(crate) fn insert(&mut self, o: u32) -> bool {
        let (hi, low) = (o >> PART_SHIFT, (o & PART_MASK) as u16);
        let parts = Arc::make_mut(&mut self.parts);
        let added = match parts.binary_search_by_key(&hi, |p| p.0) {
            Ok(i) => Arc::make_mut(&mut parts[i].1).insert(low),
            Err(i) => {
                parts.insert(i, (hi, Arc::new(Part::Array(vec![low]))));
                true
            }
        };
        self.len += added as u32;
        added
    }

    /// Removes `o`; false if it was not there (tests check batches
    /// against it).
    #[cfg(test)]
    pub(crate) fn remove(&mut self, o: u32) -> bool {
        let (hi, low) = (o >> PART_SHIFT, (o & PART_MASK) as u16);
        let Ok(i) = self.parts.binary_search_by_key(&hi, |p| p.0) else {
            return false;
        };
        if !self.contains_in(i, low) {
            return false;
        }
        let parts = Arc::make_mut(&mut self.parts);
        let part = Arc::make_mut(&mut parts[i].1);
        part.remove(low);
        if part.len() == 0 {
            parts.remove(i);
        }
        self.len -= 1;
        true
    }

    /// Removes every ordinal of `os` (ascending, no repeats), touching each
    /// part once; false (and the set unspecified) if one was not there.
    pub(crate) fn remove_sorted(&mut self, os: &[u32]) -> bool {
        let parts = Arc::make_mut(&mut self.parts);
        let mut lows = Vec::new();
        for (hi, run) in by_part(os) {
            lows.clear();
            lows.extend(run.iter().map(|&o| (o & PART_MASK) as u16));
            let Ok(i) = parts.binary_search_by_key(&hi, |p| p.0) else {
                return false;
            };
            // Copied first if another version holds it (`make_mut`), then
            // edited where it is.
            let Some(left) = Arc::make_mut(&mut parts[i].1).remove_lows(&lows) else {
                return false;
            };
            if left == 0 {
                parts.remove(i);
            }
        }
        self.len -= os.len() as u32;
        true
    }

    /// Adds every ordinal of `os` (ascending, no repeats), touching each
    /// part once; ordinals already there are left as they are.
    pub(crate) fn insert_sorted(&mut self, os: &[u32]) {
        let parts = Arc::make_mut(&mut self.parts);
        let mut lows = Vec::new();
        for (hi, run) in by_part(os) {
            let i = match parts.binary_search_by_key(&hi, |p| p.0) {
                Ok(i) => i,
                Err(i) => {
                    parts.insert(i, (hi, Arc::new(Part::Array(Vec::new()))));
                    i
                }
            };
            let before = parts[i].1.len();
            lows.clear();
            lows.extend(run.iter().map(|&o| (o & PART_MASK) as u16));
            if Arc::get_mut(&mut parts[i].1).is_none() {
                // Shared with another version: copied first (one streaming
                // pass, with room for the new entries), then edited.
                let copy = match &*parts[i].1 {
                    Part::Array(a) => {
                        let mut v = Vec::with_capacity(a.len() + lows.len());
                        v.extend_from_slice(a);
                        Part::Array(v)
                    }
                    bits => bits.clone(),
                };
                parts[i].1 = Arc::new(copy);
            }
            // Held here alone now: `make_mut` copies nothing.
            Arc::make_mut(&mut parts[i].1).insert_lows(&mut lows);
            self.len += parts[i].1.len() - before;
        }
    }

    #[cfg(test)]
    fn contains_in(&self, i: usize, low: u16) -> bool {
        match &*self.parts[i].1 {
            Part::Array(a) => a.binary_search(&low).is_ok(),
            Part::Bits(b, _) => b[low as usize / 64] & (1 << (low % 64)) != 0,
        }
    }

    /// Whether `o` is in the set.
    #[cfg(test)]
    pub(crate) fn contains(&self, o: u32) -> bool {
        let (hi, low) = (o >> PART_SHIFT, (o & PART_MASK) as u16);
        match self.parts.binary_search_by_key(&hi, |p| p.0) {
            Ok(i) => self.contains_in(i, low),
            Err(_) => false,
        }
    }

    /// The lowest ordinal.
    pub(crate) fn first(&self) -> Option<u32> {
        let (hi, part) = self.parts.first()?;
        Some((hi << PART_SHIFT) | part.first()? as u32)
    }

    /// The ordinals, ascending.
    pub(crate) fn iter(&self) -> Ordinals<'_> {
        Ordinals {
            parts: self.parts.iter(),
            ..Ordinals::empty()
        }
    }

    /// Heap bytes (shared parts included).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.parts.len() * 16
            + self
                .parts
                .iter()
                .map(|(_, p)| match &**p {
                    Part::Array(a) => a.capacity() * 2 + 32,
                    Part::Bits(..) => WORDS * 8 + 32,
                })
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn matches_a_btreeset_and_old_copies_stay() {
        let mut p = Posting::default();
        let mut oracle = BTreeSet::new();
        let mut x: u64 = 99;
        let mut copies = Vec::new();
        for step in 0..30000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Dense in the low range (bitmaps), sparse above (arrays).
            let o = if x.is_multiple_of(3) {
                (x >> 8) as u32 % 5000
            } else {
                (x >> 8) as u32 % 2_000_000
            };
            if x % 5 < 2 {
                assert_eq!(p.remove(o), oracle.remove(&o));
            } else {
                assert_eq!(p.insert(o), oracle.insert(o));
            }
            assert_eq!(p.len() as usize, oracle.len());
            if step % 5000 == 0 {
                copies.push((p.clone(), oracle.clone()));
            }
        }
        assert!(p.iter().eq(oracle.iter().copied()));
        assert_eq!(p.first(), oracle.first().copied());
        for o in 0..6000 {
            assert_eq!(p.contains(o), oracle.contains(&o));
        }
        for (c, o) in copies {
            assert!(c.iter().eq(o.iter().copied()));
        }
    }

    #[test]
    fn sorted_batches_match_a_btreeset_and_old_copies_stay() {
        let mut p = Posting::default();
        let mut oracle = BTreeSet::new();
        let mut x: u64 = 5;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut copies = Vec::new();
        for round in 0..200 {
            // Dense in the low range (bitmaps), sparse above (arrays).
            let span = if round % 2 == 0 { 9000 } else { 400_000 };
            let adds: BTreeSet<u32> = (0..(next() % 3000))
                .map(|_| (next() % span) as u32)
                .collect();
            let adds: Vec<u32> = adds.into_iter().collect();
            p.insert_sorted(&adds);
            oracle.extend(adds.iter().copied());
            let present: Vec<u32> = oracle.iter().copied().collect();
            let removes: BTreeSet<u32> = (0..(next() % 2500).min(present.len() as u64))
                .map(|_| present[(next() % present.len() as u64) as usize])
                .collect();
            let removes: Vec<u32> = removes.into_iter().collect();
            assert!(p.remove_sorted(&removes));
            for o in &removes {
                oracle.remove(o);
            }
            assert_eq!(p.len() as usize, oracle.len());
            if round % 40 == 0 {
                copies.push((p.clone(), oracle.clone()));
            }
        }
        assert!(p.iter().eq(oracle.iter().copied()));
        assert_eq!(p.first(), oracle.first().copied());
        // Removing an ordinal not there is refused.
        let absent = (0..).find(|o| !oracle.contains(o)).unwrap();
        assert!(!p.clone().remove_sorted(&[absent]));
        for (c, o) in copies {
            assert!(c.iter().eq(o.iter().copied()));
            assert_eq!(c.len() as usize, o.len());
        }
    }

    /// The slice-copy edits of an array part against a `BTreeSet`:
    /// entries at either end, runs of neighbours, an empty array, and
    /// a removal of an entry not there (refused).
    #[test]
    fn array_edits_match_a_btreeset() {
        let mut x: u64 = 11;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..2000 {
            let span = [4u64, 40, 700, 65_536][round % 4];
            let have: BTreeSet<u16> = (0..next() % 300).map(|_| (next() % span) as u16).collect();
            let mut a: Vec<u16> = have.iter().copied().collect();
            let adds: BTreeSet<u16> = (0..next() % 40)
                .map(|_| (next() % span) as u16)
                .filter(|l| !have.contains(l))
                .collect();
            let adds: Vec<u16> = adds.into_iter().collect();
            array_insert(&mut a, &adds);
            let mut want: BTreeSet<u16> = have
                .union(&adds.iter().copied().collect())
                .copied()
                .collect();
            assert_eq!(a, want.iter().copied().collect::<Vec<_>>());
            let removes: BTreeSet<u16> = a.iter().copied().filter(|_| next() % 3 == 0).collect();
            let removes: Vec<u16> = removes.into_iter().collect();
            assert!(array_remove(&mut a, &removes));
            for r in &removes {
                want.remove(r);
            }
            assert_eq!(a, want.iter().copied().collect::<Vec<_>>());
            if let Some(absent) = (0..=u16::MAX).find(|l| !want.contains(l)) {
                let mut with_absent: Vec<u16> = want.iter().copied().take(2).collect();
                with_absent.push(absent);
                with_absent.sort_unstable();
                assert!(!array_remove(&mut a.clone(), &with_absent));
            }
        }
    }

    #[test]
    fn builder_matches_inserts() {
        let mut x: u64 = 7;
        for density in [1u64, 3, 20, 400] {
            let mut b = PostingBuilder::default();
            let mut p = Posting::default();
            let mut o = 0u32;
            for _ in 0..60000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                o += 1 + (x % density) as u32;
                b.push(o);
                p.insert(o);
            }
            let built = b.finish();
            assert_eq!(built.len(), p.len());
            assert!(built.iter().eq(p.iter()));
            assert_eq!(built.first(), p.first());
            // The built list updates like an inserted one.
            let (mut bc, mut pc) = (built.clone(), p.clone());
            for k in (0..o).step_by(7) {
                assert_eq!(bc.remove(k), pc.remove(k));
            }
            assert!(bc.iter().eq(pc.iter()));
            assert!(built.iter().eq(p.iter()));
        }
    }
}
