//! `hollow-codegen`: Cap'n Proto schemas (`.capnp`) to typed Rust record
//! types for Hollow.
//!
//! Each struct becomes an owned Rust struct carrying `#[derive(Hollow)]` and
//! the `#[hollow(...)]` attributes read from the `$Hollow` annotations
//! (`schemas/hollow.capnp`, bundled with the tool): record types with their
//! primary key, unique keys and hash indexes; nested structs; groups; named
//! unions as Rust enums; enums; map and set fields (`$Hollow.map`,
//! `$Hollow.set`) as `BTreeMap` and `BTreeSet`, or `HashMap` and `HashSet`
//! ([`Config::collections`]). The derive writes every impl and the
//! zero-copy accessor (`MovieRef<'a>`), with the wire layout the Cap'n Proto
//! compiler assigns to the schema. Doc comments come from the schema.
//!
//! The pipeline ([`Config::generate`]): run the compiler (embedded as
//! WebAssembly by default, or a system `capnp`) → read its
//! `CodeGeneratorRequest` into the schema IR (`hollow_schema`) → check and
//! plan the Rust items → emit them with `quote` → format with prettyplease →
//! write only the files that changed.
//!
//! # From a build script or a one-off program
//!
//! ```no_run
//! # fn main() -> Result<(), hollow_codegen::Error> {
//! // src/gen/{common,movies,mod}.rs; `mod gen;` in the crate.
//! hollow_codegen::compile(&["schemas/movies.capnp"], "src/gen")?;
//! # Ok(()) }
//! ```
//!
//! Into `OUT_DIR` instead (in `build.rs`), then include it:
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), hollow_codegen::Error> {
//!     let inputs = hollow_codegen::compile_to_out_dir(&["schemas/movies.capnp"])?;
//!     for f in inputs {
//!         println!("cargo:rerun-if-changed={}", f.display());
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ```text
//! // src/lib.rs: pub mod movies { … } pub mod common { … }
//! hollow_codegen::include_generated!();
//! ```
//!
//! (`generated-examples/build.rs` and its `out_dir` test do exactly this.)
//!
//! # Errors
//!
//! What cannot be generated faithfully is refused, all problems at once, each
//! naming the file, struct and field: interfaces, `AnyPointer`, generic
//! structs, unnamed unions, non-zero default values, keys naming missing
//! fields, groups and unions whose ordinals are not consecutive, fields
//! marked `$Hollow.map` or `$Hollow.set` of no map or set shape, maps as
//! union members. Nothing is written when generation fails.
//!
//! # Maps and sets
//!
//! A `$Hollow.map` field `List(Entry)` becomes `BTreeMap<K, V>` of the entry
//! struct's `key` and `value` types, a `$Hollow.set` field `List(T)`
//! `BTreeSet<T>` (`HashMap`/`HashSet` with [`Collections::Hash`], or
//! `--collections hash`). The derive builds the entry struct from the map
//! field, named `<Owner><Field>Entry` (`Movie.titles` →
//! `MovieTitlesEntry`); a field whose entry struct has another name gets
//! `#[hollow(entry = "…")]`, and a struct used only as map entries is not
//! generated. A struct used as a key or set element gets
//! `#[hollow(map_key)]` and `Eq, PartialOrd, Ord, Hash`; an enum used as one
//! (or in a key struct) gets `PartialOrd, Ord`.

mod compiler;
mod config;
mod emit;
mod error;
mod maps;
mod names;
mod plan;
mod resolve;
mod writer;

pub use compiler::{SchemaCompiler, HOLLOW_CAPNP};
pub use config::{schema_files, Collections, Config, ModuleLayout};
pub use error::{Error, ErrorKind};
pub use writer::{Drift, DriftKind, GeneratedFile, WriteReport};

use std::path::{Path, PathBuf};

/// The file [`compile_to_out_dir`] writes into `OUT_DIR`.
pub const OUT_DIR_FILE: &str = "hollow_gen.rs";

/// Generates `files` into `out_dir` with the default [`Config`] (one module
/// per schema file and a `mod.rs`), writing only what changed.
///
/// # Errors
/// See [`Config::compile`].
pub fn compile(files: &[impl AsRef<Path>], out_dir: impl AsRef<Path>) -> Result<(), Error> {
    Config::new()
        .out_dir(out_dir.as_ref())
        .compile(files)
        .map(|_| ())
}

/// For build scripts: generates `files` as one file, [`OUT_DIR_FILE`], in
/// the `OUT_DIR` Cargo sets, for [`include_generated!`]. Returns the schema
/// files read, for `cargo:rerun-if-changed` lines.
///
/// # Errors
/// [`ErrorKind::Config`] when `OUT_DIR` is not set (not in a build script);
/// otherwise see [`Config::compile`].
pub fn compile_to_out_dir(files: &[impl AsRef<Path>]) -> Result<Vec<PathBuf>, Error> {
    let out = std::env::var_os("OUT_DIR").ok_or_else(|| {
        Error::new(
            ErrorKind::Config,
            "OUT_DIR is not set: compile_to_out_dir is for build scripts",
        )
    })?;
    Config::new()
        .out_dir(PathBuf::from(out))
        .module_layout(ModuleLayout::SingleFile(OUT_DIR_FILE.into()))
        .compile(files)?;
    Ok(files.iter().map(|f| f.as_ref().to_path_buf()).collect())
}

/// Includes what [`compile_to_out_dir`] generated: one `pub mod` per schema
/// file, at the place of the macro call.
#[macro_export]
macro_rules! include_generated {
    () => {
        include!(concat!(env!("OUT_DIR"), "/hollow_gen.rs"));
    };
}
