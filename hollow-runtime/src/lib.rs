//! Hollow for Rust: the runtime.
//!
//! Records are Cap'n Proto structs. `#[derive(Hollow)]` (re-exported here)
//! turns a Rust struct into a record type: it lays the struct out exactly
//! as the official Cap'n Proto compiler would (at compile time), writes the
//! encoder, and generates a zero-copy accessor (`MovieRef<'a>`) whose
//! getters read fields in place.
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
//!
//! The record types themselves (the wire format, the record and value
//! traits, lists, the encoder) are `hollow-core`'s, re-exported here: a
//! crate that only declares record types can depend on `hollow-core` alone.

// The derive names this crate `::hollow_runtime` when a crate depends on it,
// this crate's own record types included.
extern crate self as hollow_runtime;

mod bits;
pub mod blob;
mod compiled;
pub mod consumer;
pub mod dynamic;
mod error;
pub mod events;
mod hashing;
pub mod index;
mod mapping;
#[cfg(feature = "metrics")]
pub mod metrics;
pub mod producer;
mod read_state;
pub mod store;

// `hollow-core`'s modules, at the paths this crate's modules name them by.
pub(crate) use hollow_core::prefetch;
#[cfg(test)]
pub(crate) use hollow_core::xorshift;
use hollow_core::{encode, record, value};

#[doc(hidden)]
pub use hollow_core::__private;
pub use hollow_core::wire;

pub use consumer::{Consumer, ConsumerBuilder, ConsumerMetrics};
pub use error::{Error, ErrorKind};
pub use events::{Event, EventListener};
pub use hollow_core::{
    canonical_hash, field_id, hash_bytes, key_hash, read_root, to_canonical_bytes, CapnpSchema,
    Element, EncodeError, Encoder, FieldAt, HashKeyPart, Iter, KeyHasher, KeyPart, List, MapKey,
    MapKeys, MapRef, MapValues, NotInSchema, PointerValue, Record, SetRef, Struct, Value,
};
pub use hollow_schema as schema;
pub use index::{
    IndexDef, IndexKind, IndexSpec, IndexVisitor, Indexed, KeyReader, ManyRecordsPerKey,
    OneRecordPerKey, PrimaryKeyed, ViewKind,
};
pub use producer::{CycleOutcome, Producer, ProducerBuilder};
#[doc(hidden)]
pub use read_state::IndexBase;
pub use read_state::{
    DynIndex, HashIndex, IndexView, IndexViewOf, RawRecords, ReadState, Records, UniqueIndex,
    ViewOf,
};
pub use store::{
    AnnouncementWatcher, Announcer, BlobName, BlobStore, FileAnnouncer, FsBlobStore,
    InProcessAnnouncer, MemoryBlobStore, StoreError, StoreErrorKind,
};

pub use hollow_core::Hollow;
