//! Sets of ordinals kept as bits, in `u64` words (bit `o % 64` of word
//! `o / 64`); a bitmap stored in a blob as `List(UInt64)` (little-endian
//! bytes) has the same bit order.

/// A growable set of ordinals. Bits past the end of its words are clear.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bits(Vec<u64>);

impl Bits {
    /// The bits below `limit` of little-endian `bytes` (a bitmap stored as
    /// bytes); bits past the end of `bytes` are clear.
    pub(crate) fn from_le_bytes(bytes: &[u8], limit: u32) -> Bits {
        let mut words: Vec<u64> = bytes
            .chunks(8)
            .take((limit as usize).div_ceil(64))
            .map(|c| {
                let mut w = [0u8; 8];
                w[..c.len()].copy_from_slice(c);
                u64::from_le_bytes(w)
            })
            .collect();
        let full = words.len() == (limit as usize).div_ceil(64);
        if let Some(last) = words
            .last_mut()
            .filter(|_| full && !limit.is_multiple_of(64))
        {
            *last &= (1u64 << (limit % 64)) - 1;
        }
        Bits(words)
    }

    /// Whether `o` is in the set.
    #[inline(always)]
    pub(crate) fn get(&self, o: u32) -> bool {
        self.0
            .get(o as usize / 64)
            .is_some_and(|w| (w >> (o % 64)) & 1 == 1)
    }

    /// Puts `o` in the set (`on`) or takes it out, growing the words as
    /// needed.
    #[inline]
    pub(crate) fn set(&mut self, o: u32, on: bool) {
        let i = o as usize / 64;
        if self.0.len() <= i {
            if !on {
                return;
            }
            self.0.resize(i + 1, 0);
        }
        if on {
            self.0[i] |= 1 << (o % 64);
        } else {
            self.0[i] &= !(1 << (o % 64));
        }
    }

    /// Empties the set (keeping its words).
    pub(crate) fn clear(&mut self) {
        self.0.iter_mut().for_each(|w| *w = 0);
    }

    /// Adds every ordinal of `other`.
    pub(crate) fn union_with(&mut self, other: &Bits) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (w, m) in self.0.iter_mut().zip(&other.0) {
            *w |= m;
        }
    }

    /// Ordinals in `self` but not in `other`, ascending.
    pub(crate) fn minus(&self, other: &Bits) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, &w) in self.0.iter().enumerate() {
            let mut d = w & !other.0.get(i).copied().unwrap_or(0);
            while d != 0 {
                let b = d.trailing_zeros();
                out.push((i * 64) as u32 + b);
                d &= d - 1;
            }
        }
        out
    }

    /// The ordinals, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut d = w;
            std::iter::from_fn(move || {
                if d == 0 {
                    None
                } else {
                    let b = d.trailing_zeros();
                    d &= d - 1;
                    Some((i * 64) as u32 + b)
                }
            })
        })
    }

    /// How many ordinals the set holds.
    pub(crate) fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// The words as held (bit `o % 64` of word `o / 64`).
    #[inline(always)]
    pub(crate) fn as_words(&self) -> &[u64] {
        &self.0
    }

    /// The words, padded to cover `limit` ordinals.
    pub(crate) fn words(&self, limit: u32) -> Vec<u64> {
        let mut w = self.0.clone();
        w.resize((limit as usize).div_ceil(64), 0);
        w
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.0.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_bytes_agree() {
        let mut words = Bits::default();
        for o in [0u32, 5, 63, 64, 200] {
            words.set(o, true);
        }
        words.set(5, false);
        words.set(10_000, false);
        assert_eq!(
            words.as_words().len(),
            4,
            "clearing past the end does not grow"
        );
        let bytes: Vec<u8> = words
            .as_words()
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        for o in 0..300 {
            let want = [0, 63, 64, 200].contains(&o);
            assert_eq!(words.get(o), want, "{o}");
        }
        assert!(!words.get(100_000));
        // Back from bytes: whole, cut at a limit inside a word, and from
        // bytes that stop inside a word.
        assert_eq!(Bits::from_le_bytes(&bytes, 256), words);
        let cut = Bits::from_le_bytes(&bytes, 200);
        assert_eq!(cut.as_words().len(), 4);
        assert!((0..300).all(|o| cut.get(o) == [0, 63, 64].contains(&o)));
        let short = Bits::from_le_bytes(&bytes[..9], 256);
        assert_eq!(short.as_words().len(), 2);
        assert!((0..300).all(|o| short.get(o) == [0, 63, 64].contains(&o)));
    }

    #[test]
    fn diff_union_and_iterate() {
        let mut a = Bits::default();
        let mut b = Bits::default();
        for i in [1, 5, 64, 200] {
            a.set(i, true);
        }
        for i in [5, 64, 300] {
            b.set(i, true);
        }
        assert_eq!(a.minus(&b), vec![1, 200]);
        assert_eq!(b.minus(&a), vec![300]);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![1, 5, 64, 200]);
        assert_eq!(a.count(), 4);
        let mut u = a.clone();
        u.union_with(&b);
        assert_eq!(u.iter().collect::<Vec<_>>(), vec![1, 5, 64, 200, 300]);
        a.set(5, false);
        assert!(!a.get(5));
        assert_eq!(a.words(300).len(), 5);
        a.clear();
        assert_eq!(a.count(), 0);
    }
}
