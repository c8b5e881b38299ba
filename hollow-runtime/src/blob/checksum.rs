//! The state checksum of the section directory (`stateChecksum`).
//!
//! A type's state checksum is the wrapping sum, over its populated
//! ordinals, of [`state_mix`] of the ordinal and the XXH3-64 hash of the
//! record's canonical bytes. Being a sum, a delta updates it in O(change):
//! subtract the share of every removed ordinal, add that of every added
//! one. `docs/blob-format.md` ("State checksum") gives the same definition.

/// A record's share of its type's state checksum: ordinal `ordinal`, hash
/// of its canonical bytes `hash` (see [`hash_bytes`](crate::hash_bytes)).
#[inline]
pub fn state_mix(ordinal: u32, hash: u64) -> u64 {
    let mut z = hash ^ (ordinal as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
