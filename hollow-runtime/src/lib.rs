//! Hollow for Rust: the runtime.
//!
//! Records are Cap'n Proto structs. `#[derive(Hollow)]` (re-exported here
//! behind the default `derive` feature) turns a Rust struct into a record
//! type: it lays the struct out exactly as the official Cap'n Proto compiler
//! would (at compile time), writes the encoder, and generates a zero-copy
//! accessor (`MovieRef<'a>`) whose getters read fields in place.
//!
//! ```
//! use hollow_runtime::{Hollow, Record};
//!
//! #[derive(Hollow, Debug, PartialEq)]
//! #[hollow(primary_key(id))]
//! struct Movie {
//!     id: u64,
//!     title: String,
//!     year: u16,
//!     genres: Vec<String>,
//! }
//!
//! let movie = Movie {
//!     id: 42,
//!     title: "The Rust Identity".into(),
//!     year: 2026,
//!     genres: vec!["thriller".into()],
//! };
//! // Canonical bytes: equal records, equal bytes (and hash).
//! let bytes = hollow_runtime::to_canonical_bytes(&movie).unwrap();
//! // Zero-copy read.
//! let r = hollow_runtime::read_root::<Movie>(&bytes).unwrap();
//! assert_eq!(r.title(), "The Rust Identity");
//! assert_eq!(r.year(), 2026);
//! assert_eq!(r.genres().get(0), Some("thriller"));
//! assert_eq!(Movie::primary_key_ref(&r), 42);
//! assert_eq!(movie.primary_key(), 42);
//! // Back to an owned value.
//! assert_eq!(r.to_value().unwrap(), movie);
//! // The equivalent Cap'n Proto schema.
//! assert!(Movie::CAPNP_SCHEMA.contains("struct Movie"));
//! ```
//!
//! See [`Value`] for how each Rust type maps to Cap'n Proto, and the
//! `Hollow` derive's documentation for the attributes.

mod bits;
pub mod blob;
mod bytes;
pub mod consumer;
pub mod dynamic;
mod encode;
mod error;
pub mod events;
mod hashing;
pub mod index;
mod list;
mod mapping;
pub mod producer;
mod read_state;
mod record;
pub mod store;
mod value;
pub mod wire;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use consumer::{Consumer, ConsumerBuilder, ConsumerMetrics};
pub use encode::{canonical_hash, hash_bytes, read_root, to_canonical_bytes, EncodeError, Encoder};
pub use error::{Error, ErrorKind};
pub use events::{Event, EventListener};
pub use hollow_schema as schema;
pub use index::{IndexDef, IndexKind, IndexSpec, Indexed, KeyReader, PrimaryKeyed};
pub use list::{Iter, List};
pub use producer::{CycleOutcome, Producer, ProducerBuilder};
pub use read_state::{DynIndex, HashIndex, RawRecords, ReadState, Records, UniqueIndex};
pub use record::{
    field_id, key_hash, CapnpSchema, FieldAt, HashKeyPart, KeyHasher, KeyPart, Record, Struct,
};
pub use store::{
    AnnouncementWatcher, Announcer, BlobName, BlobStore, FileAnnouncer, FsBlobStore,
    InProcessAnnouncer, MemoryBlobStore, StoreError, StoreErrorKind,
};
pub use value::{Element, NotInSchema, PointerValue, Value};

#[cfg(feature = "derive")]
pub use hollow_derive::Hollow;

/// A pseudo-random sequence (xorshift) from `seed`, for tests.
#[cfg(test)]
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Asks the processor to start loading the cache line at `p`: a hint that
/// reads nothing and cannot fault, so a batch of lookups can overlap its
/// cache misses.
#[inline]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only hints the cache; it never dereferences in
    // a way that can fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
