//! The example producers and consumers over the record types generated from
//! the example schemas in `schemas/` (the `example-models` crate, re-exported
//! here as [`gen`]): the sample data and helpers the example binaries
//! (`movies`, `commerce`, `iot`) share.

pub use example_models::gen;

pub mod demo;
pub mod sample;
