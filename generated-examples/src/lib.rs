//! The example producers and consumers over the record types generated from
//! the example schemas in `schemas/` (the `example-models` crate, re-exported
//! here as [`gen`]): the sample data and helpers the example binaries
//! (`movies`, `commerce`, `iot`) share.
//!
//! ```
//! use generated_examples::gen::movies::Movie;
//!
//! let movie = Movie { id: 7, title: "Zero Copy".into(), year: 2026, ..Default::default() };
//! let bytes = hollow_runtime::to_canonical_bytes(&movie).unwrap();
//! let read = hollow_runtime::read_root::<Movie>(&bytes).unwrap();
//! assert_eq!(read.title(), "Zero Copy");
//! assert_eq!(read.to_value().unwrap(), movie);
//! ```

pub use example_models::gen;

pub mod demo;
pub mod sample;
