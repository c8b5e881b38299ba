//! Comparisons of short byte strings (keys: a genre, an email, a locale)
//! in a few loads, without calling `memcmp`. A lookup bound by its instruction
//! count (keys in cache) spent a twentieth of its instructions in that call
//! for keys of a few bytes. (Copying a key into a `KeyHasher` the same way
//! cost more than the `memcpy` it saved: the hashing was then put out of
//! line.)

/// Whether `a` and `b` are equal. Up to 16 bytes, compared with two
/// (overlapping) loads of each; longer ones by `==`.
#[inline(always)]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        // Bytes 0, n/2 and n-1 are every byte.
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => head::<4>(a) == head::<4>(b) && tail::<4>(a) == tail::<4>(b),
        // A key of one integer: one word.
        8 => head::<8>(a) == head::<8>(b),
        9..=16 => head::<8>(a) == head::<8>(b) && tail::<8>(a) == tail::<8>(b),
        _ => a == b,
    }
}

/// The bytewise order of `a` and `b`, as `<[u8]>::cmp`: strings whose
/// common length is at most 16 bytes compared byte by byte inline, longer
/// ones by `cmp`.
#[inline(always)]
pub(crate) fn cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    if n > 16 {
        return a.cmp(b);
    }
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// The first `N` bytes (the caller knows there are that many).
#[inline(always)]
fn head<const N: usize>(s: &[u8]) -> [u8; N] {
    *s.first_chunk().expect("at least N bytes")
}

/// The last `N` bytes (the caller knows there are that many).
#[inline(always)]
fn tail<const N: usize>(s: &[u8]) -> [u8; N] {
    *s.last_chunk().expect("at least N bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_compares_match_the_slice_ones() {
        let src: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
        for n in 0..=40 {
            let a = &src[..n];
            let copy = a.to_vec();
            assert!(eq(a, &copy), "{n} bytes equal to a copy of them");
            assert_eq!(cmp(a, &copy), std::cmp::Ordering::Equal);
            // Every single byte changed, one at a time, is seen, and
            // ordered as the slices are (up or down, at any position).
            for i in 0..n {
                for delta in [1u8, 0x80] {
                    let mut b = a.to_vec();
                    b[i] ^= delta;
                    assert!(!eq(a, &b), "byte {i} of {n} differs");
                    assert_eq!(cmp(a, &b), a.cmp(&b), "byte {i} of {n}");
                    assert_eq!(cmp(&b, a), b.as_slice().cmp(a), "byte {i} of {n}");
                }
            }
            // A proper prefix sorts first, at every length.
            for m in 0..n {
                assert!(!eq(a, &a[..m]), "{n} bytes against {m}");
                assert_eq!(cmp(&a[..m], a), std::cmp::Ordering::Less, "{m} < {n}");
                assert_eq!(cmp(a, &a[..m]), std::cmp::Ordering::Greater, "{n} > {m}");
            }
        }
    }
}
