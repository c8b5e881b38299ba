//! The Cap'n Proto wire format: reading in place, building, canonical form.
//!
//! This is the machinery under the typed accessors that `#[derive(Hollow)]`
//! generates; users rarely touch it directly.

mod builder;
mod canonical;
mod reader;
mod splice;

pub use builder::{ListBuilder, MessageBuilder, StructBuilder};
pub(crate) use canonical::canonicalize_words;
pub use canonical::{canonicalize, canonicalize_struct};
pub use reader::{
    ElementSize, ListReader, PointerReader, ReadError, StructReader, MAX_ZERO_SIZED_ELEMENTS,
    NESTING_LIMIT,
};

// For `hollow-runtime`'s blob and read-state code, which reads and writes
// records in place beside the typed accessors.
#[doc(hidden)]
pub use canonical::{
    as_le_bytes, canonical_struct_bytes, canonicalize_bounded, canonicalize_struct_within,
    traversal_budget,
};
#[doc(hidden)]
pub use reader::{decode, Decoded, ListPosition, Words};
#[doc(hidden)]
pub use splice::splice_record;

/// Encodes a struct pointer stored at word `ptr_word` to `target`.
#[inline]
#[doc(hidden)]
pub fn struct_ptr(ptr_word: usize, target: usize, data_words: u16, pointers: u16) -> u64 {
    let offset = target as i64 - ptr_word as i64 - 1;
    (((offset as i32) << 2) as u32 as u64) | (data_words as u64) << 32 | (pointers as u64) << 48
}

/// Encodes a list pointer stored at word `ptr_word` to `target`.
#[inline]
#[doc(hidden)]
pub fn list_ptr(ptr_word: usize, target: usize, size: ElementSize, count: u32) -> u64 {
    let offset = target as i64 - ptr_word as i64 - 1;
    ((((offset as i32) << 2) as u32 | 1) as u64) | size.bits() << 32 | (count as u64) << 35
}
