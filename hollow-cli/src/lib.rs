//! The `hollow` CLI.
