//! Maps keyed by values that are already hashes (record hashes, key
//! hashes): the key is used as it is, not hashed again.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `Hasher` for keys that are already good hashes (XXH3 of a record or
/// of a key's encoding): a `u64` hashes to itself, as running SipHash over
/// such a value would buy nothing.
#[derive(Default, Clone, Copy)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ b as u64;
        }
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// A map keyed by a hash value.
pub(crate) type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_keys_itself() {
        let mut h = Prehashed::default();
        h.write_u64(0xDEAD_BEEF);
        assert_eq!(h.finish(), 0xDEAD_BEEF);
        let mut m: HashKeyed<&str> = HashKeyed::default();
        m.insert(7, "seven");
        assert_eq!(m.get(&7), Some(&"seven"));
    }
}
