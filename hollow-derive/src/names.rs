//! Rust names to Cap'n Proto names: the mapping lives in `hollow-schema`,
//! shared with `hollow-codegen`.

pub(crate) use hollow_schema::lower_camel;
