//! Encoding records into canonical bytes, hashing them, and reading them back.

use std::fmt;

use crate::record::Struct;
use crate::wire::{as_le_bytes, canonicalize_words, MessageBuilder, ReadError, StructReader};

/// A record that could not be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    type_name: &'static str,
    cause: ReadError,
}

impl EncodeError {
    /// The Cap'n Proto name of the record type.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot encode a {} record: {}",
            self.type_name, self.cause
        )
    }
}

impl std::error::Error for EncodeError {}

/// Encodes records into their canonical bytes, reusing its buffers.
///
/// The canonical bytes of a record are a single-segment Cap'n Proto message
/// (root pointer first, no segment table) in canonical form: equal records
/// give equal bytes, on every machine and run.
///
/// ```
/// use hollow_core::{Encoder, Hollow};
///
/// #[derive(Hollow)]
/// struct Point {
///     x: i32,
///     y: i32,
/// }
///
/// let mut enc = Encoder::new();
/// let a = enc.encode(&Point { x: 1, y: 2 }).unwrap().to_vec();
/// let h = enc.hash(&Point { x: 1, y: 2 }).unwrap();
/// assert_eq!(h, hollow_core::hash_bytes(&a));
/// assert_ne!(h, enc.hash(&Point { x: 2, y: 1 }).unwrap());
/// ```
#[derive(Debug, Default)]
pub struct Encoder {
    msg: MessageBuilder,
    words: Vec<u64>,
}

impl Encoder {
    /// A new encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes `value`, returning its canonical bytes (valid until the next
    /// call).
    ///
    /// # Errors
    /// The value nests deeper than [`NESTING_LIMIT`](crate::wire::NESTING_LIMIT).
    pub fn encode<T: Struct>(&mut self, value: &T) -> Result<&[u8], EncodeError> {
        {
            let mut root = self.msg.init_root(T::SIZE.data_words, T::SIZE.pointers);
            value.write_fields(&mut root);
        }
        canonicalize_words(self.msg.words(), &mut self.words).map_err(|cause| EncodeError {
            type_name: T::TYPE_NAME,
            cause,
        })?;
        Ok(as_le_bytes(&mut self.words))
    }

    /// The 64-bit canonical hash of `value` ([`hash_bytes`] of its canonical
    /// bytes).
    ///
    /// # Errors
    /// As [`Encoder::encode`].
    pub fn hash<T: Struct>(&mut self, value: &T) -> Result<u64, EncodeError> {
        self.encode(value).map(hash_bytes)
    }
}

/// The canonical bytes of `value` (see [`Encoder`]).
///
/// # Errors
/// As [`Encoder::encode`].
pub fn to_canonical_bytes<T: Struct>(value: &T) -> Result<Vec<u8>, EncodeError> {
    Encoder::new().encode(value).map(<[u8]>::to_vec)
}

/// The canonical hash of `value` (see [`Encoder::hash`]).
///
/// # Errors
/// As [`Encoder::encode`].
pub fn canonical_hash<T: Struct>(value: &T) -> Result<u64, EncodeError> {
    Encoder::new().hash(value)
}

/// The 64-bit hash of canonical bytes: XXH3-64 with seed 0, a fixed,
/// published algorithm, so hashes agree across runs, machines and
/// implementations.
#[inline]
pub fn hash_bytes(canonical: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(canonical)
}

/// Reads a record in place from a single-segment message (such as its
/// canonical bytes) and returns its generated accessor.
///
/// Getters never fail: a pointer that is out of bounds or of the wrong kind
/// reads as the field's default.
///
/// # Errors
/// The message is not a whole number of words or its root is not a struct
/// inside it.
pub fn read_root<T: Struct>(message: &[u8]) -> Result<T::Ref<'_>, ReadError> {
    StructReader::root(message).map(T::wrap)
}
