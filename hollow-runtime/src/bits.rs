//! Sets of ordinals kept as bits: in `u64` words (bit `o % 64` of word
//! `o / 64`), or in little-endian bytes read from a blob (a bitmap stored
//! as `List(UInt64)` has the same bit order).

/// Whether bit `o` of `words` is set (bits past the end are clear).
#[inline(always)]
pub(crate) fn get(words: &[u64], o: u32) -> bool {
    words
        .get(o as usize / 64)
        .is_some_and(|w| (w >> (o % 64)) & 1 == 1)
}

/// Sets or clears bit `o` of `words`, growing them as needed.
#[inline]
pub(crate) fn set(words: &mut Vec<u64>, o: u32, on: bool) {
    let i = o as usize / 64;
    if words.len() <= i {
        if !on {
            return;
        }
        words.resize(i + 1, 0);
    }
    if on {
        words[i] |= 1 << (o % 64);
    } else {
        words[i] &= !(1 << (o % 64));
    }
}

/// The bits below `limit` of little-endian `bytes` (a bitmap stored as
/// bytes), as words; bits past the end of `bytes` are clear.
pub(crate) fn from_le_bytes(bytes: &[u8], limit: u32) -> Vec<u64> {
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
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_bytes_agree() {
        let mut words = Vec::new();
        for o in [0u32, 5, 63, 64, 200] {
            set(&mut words, o, true);
        }
        set(&mut words, 5, false);
        set(&mut words, 10_000, false);
        assert_eq!(words.len(), 4, "clearing past the end does not grow");
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        for o in 0..300 {
            let want = [0, 63, 64, 200].contains(&o);
            assert_eq!(get(&words, o), want, "{o}");
        }
        assert!(!get(&words, 100_000));
        // Back from bytes: whole, cut at a limit inside a word, and from
        // bytes that stop inside a word.
        assert_eq!(from_le_bytes(&bytes, 256), words);
        let cut = from_le_bytes(&bytes, 200);
        assert_eq!(cut.len(), 4);
        assert!((0..300).all(|o| get(&cut, o) == [0, 63, 64].contains(&o)));
        let short = from_le_bytes(&bytes[..9], 256);
        assert_eq!(short.len(), 2);
        assert!((0..300).all(|o| get(&short, o) == [0, 63, 64].contains(&o)));
    }
}
