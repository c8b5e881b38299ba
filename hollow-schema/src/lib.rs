//! The schema IR of Hollow for Rust.
//!
//! A dataset schema ([`Schema`]) is a list of struct and enum types; a struct
//! marked as a record type has its own ordinals and blob section, and may
//! declare a primary key, unique keys and hash indexes ([`Key`]). Every
//! struct carries its Cap'n Proto wire layout, computed by [`layout`], which
//! matches the official compiler offset for offset.
//!
//! The IR comes from two places and goes to one:
//! - `#[derive(Hollow)]` builds it for a Rust type (see `hollow-core`);
//! - `from_request` (behind the `request` feature) reads it from a Cap'n
//!   Proto `CodeGeneratorRequest`;
//! - [`to_capnp`] writes it back as `.capnp` text that any Cap'n Proto
//!   compiler accepts and lays out identically.
//!
//! [`validate`] checks a schema before it is used: names and scopes, ordinals,
//! type references, and that every key names a field an index can use.
//!
//! A struct's unnamed union (`struct Shape { union { … } }`) is kept apart
//! from its fields, in [`StructType::unnamed_union`]; named unions and groups
//! are fields ([`FieldKind::Union`], [`FieldKind::Group`]).
//!
//! This crate does no I/O.
//!
//! ```
//! use hollow_schema::{Field, Key, Schema, StructType, Type, TypeDef};
//!
//! let mut movie = StructType::new("Movie");
//! movie.is_record = true;
//! movie.fields.push(Field::slot("id", 0, Type::UInt64));
//! movie.fields.push(Field::slot("title", 1, Type::Text));
//! movie.primary_key = Some(Key::parse("id").unwrap());
//! let mut schema = Schema::new();
//! schema.insert(TypeDef::Struct(movie));
//! hollow_schema::assign_layout(&mut schema).unwrap();
//! hollow_schema::validate(&schema).unwrap();
//! let movie = schema.get_struct("Movie").unwrap();
//! assert_eq!((movie.size.data_words, movie.size.pointers), (1, 1));
//! ```

mod assign;
mod capnp_text;
mod collection;
mod error;
pub mod evolution;
mod ir;
pub mod layout;
mod names;
#[cfg(feature = "request")]
mod request;
mod validate;

pub use assign::assign_layout;
pub use capnp_text::{file_id_for, to_capnp, HOLLOW_FILE_ID};
pub use error::SchemaError;
pub use ir::*;
pub use names::{lower_camel, map_entry_name};
#[cfg(feature = "request")]
pub use request::from_request;
pub use validate::validate;
