//! Benchmark data and helpers.
