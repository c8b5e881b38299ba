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

/// Whether bit `o` of little-endian `bytes` is set (bits past the end are
/// clear).
#[inline(always)]
pub(crate) fn get_in_bytes(bytes: &[u8], o: u32) -> bool {
    bytes
        .get(o as usize / 8)
        .is_some_and(|b| (b >> (o % 8)) & 1 == 1)
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
            assert_eq!(get_in_bytes(&bytes, o), want, "{o}");
        }
        assert!(!get(&words, 100_000) && !get_in_bytes(&bytes, 100_000));
    }
}
