//! `#[derive(Hollow)]`: turns a Rust type into a Hollow record type.
//!
//! Use it through `hollow_runtime` (`use hollow_runtime::Hollow;`) or
//! `hollow_core` (`use hollow_core::Hollow;`), which re-export it. This
//! crate is the one place record impls and accessors are generated:
//! `hollow-codegen` emits plain structs carrying this derive.
//!
//! # On a struct
//!
//! Generates, for `struct Movie`:
//! - `MovieRef<'a>`, the zero-copy accessor: one getter per field
//!   (primitives by value, `String` → `&'a str`, `Vec<u8>` → `&'a [u8]`,
//!   `Vec<T>` → `List<'a, T>`, `BTreeSet<T>` and `HashSet<T>` → `SetRef<'a, T>`,
//!   `BTreeMap<K, V>` and `HashMap<K, V>` → `MapRef<'a, K, V>`,
//!   nested structs → their `…Ref<'a>`, enums and
//!   unions → `Result<_, NotInSchema>`), `to_value()` and `Debug`;
//! - the `Value`, `PointerValue`, `Element`, `Struct` and (unless
//!   `nested`) `Record` impls, with the Cap'n Proto layout computed at
//!   compile time, exactly as the official compiler lays out the equivalent
//!   schema;
//! - `Movie::CAPNP_SCHEMA`, that equivalent schema as text;
//! - for a record type, one index type per declared key (`MoviePrimaryKey`,
//!   `MovieByTitle` for `unique(title)`, `MovieByGenres` for
//!   `hash_index(genres)`), used as `state.index::<MovieByGenres>()`, and
//!   the `Indexed` / `PrimaryKeyed` impls (see `docs/indexes.md`).
//!
//! Fields are numbered `@0, @1, …` in declaration order (group and union
//! members included, depth first), and named in lowerCamelCase
//! (`runtime_min` → `runtimeMin`).
//!
//! Container attributes, `#[hollow(...)]`:
//! - `primary_key(id)`, `primary_key(region, sku)`, `primary_key(actor.id)`
//!   (or as a string, `primary_key("actor.id")`): the primary key;
//! - `unique(email)` (repeatable): a further unique key;
//! - `hash_index(genres)` (repeatable): a hash index; a list field indexes
//!   each element;
//! - `rename = "Name"`: the Cap'n Proto type name;
//! - `crate = "path"`: where `hollow_runtime` or `hollow_core` is (for
//!   re-exports; by default `hollow_core` when the crate's `Cargo.toml`
//!   lists it, else `hollow_runtime`, and one error when it lists neither;
//!   a crate listing `hollow-core` only among its dev-dependencies and
//!   `hollow-runtime` among its dependencies sets `crate =
//!   "::hollow_runtime"`);
//! - `nested`: a struct used only inside records, not a record type;
//! - `group`: a group, stored inline in the sections of the struct that
//!   has a field of this type;
//! - `map_key`: the struct is a composite map key (or set element),
//!   ordered field by field in declaration order; its fields must be keys
//!   (bool, integers, `String`, `Vec<u8>`, derived enums; not another
//!   composite key) and the struct must implement `Clone`, `Ord` and
//!   `Hash`.
//!
//! Field attributes: `rename = "name"`; on a map field, `entry = "Name"`:
//! the name of its entry struct (by default `<Owner><Field>Entry`, e.g.
//! `MovieTitlesEntry` for `Movie.titles`; the entry of a map that is a
//! map's value is `<Entry>ValueEntry`).
//!
//! A map field `titles: BTreeMap<K, V>` is the Cap'n Proto field
//! `titles @N :List(MovieTitlesEntry) $Hollow.map` with the entry struct
//! `struct MovieTitlesEntry { key @0 :K; value @1 :V; }`, its entries
//! written sorted by key; a `BTreeSet<T>` is `List(T) $Hollow.set`. Keys
//! and set elements are `MapKey` types; a derived enum without data is one
//! when it also implements `Clone`, `Ord` and `Hash` (ordered by its
//! enumerant numbers, not by its `Ord`).
//!
//! # On an enum
//!
//! An enum whose variants carry no data is a Cap'n Proto enum (variants
//! numbered in order). An enum with a variant holding one value (`V(T)`) is
//! a union: a field of that type is stored as a named union in the parent
//! struct; unit variants are `Void` members. `…Ref<'a>` mirrors the variants
//! with the values read in place.
//!
//! ```
//! use hollow_runtime::Hollow;
//!
//! #[derive(Hollow, Debug, PartialEq)]
//! enum Severity { Low, High }
//!
//! #[derive(Hollow, Debug, PartialEq)]
//! enum Reading { Missing, Celsius(f64), Text(String) }
//!
//! #[derive(Hollow, Debug, PartialEq)]
//! #[hollow(group)]
//! struct Location { lat: f64, lon: f64 }
//!
//! #[derive(Hollow, Debug, PartialEq)]
//! #[hollow(primary_key(id), hash_index(severity))]
//! struct Alert {
//!     id: u64,
//!     severity: Severity,
//!     reading: Reading,
//!     location: Location,
//! }
//!
//! let alert = Alert {
//!     id: 7,
//!     severity: Severity::High,
//!     reading: Reading::Celsius(81.5),
//!     location: Location { lat: 59.3, lon: 18.1 },
//! };
//! let bytes = hollow_runtime::to_canonical_bytes(&alert).unwrap();
//! let r = hollow_runtime::read_root::<Alert>(&bytes).unwrap();
//! assert_eq!(r.severity(), Ok(Severity::High));
//! assert!(matches!(r.reading(), Ok(ReadingRef::Celsius(t)) if t == 81.5));
//! assert_eq!(r.location().lon(), 18.1);
//! assert_eq!(r.to_value().unwrap(), alert);
//! ```

mod attr;
mod ctxt;
mod enums;
mod indexes;
mod keys;
mod model;
mod names;
mod structs;
mod types;

use proc_macro::TokenStream;
use syn::{Data, DeriveInput, Fields};

/// Derives a Hollow record type, nested struct, group, enum or union; see
/// the crate documentation.
#[proc_macro_derive(Hollow, attributes(hollow))]
pub fn derive_hollow(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let mut cx = ctxt::Ctxt::default();
    let c = attr::container(&mut cx, &input.attrs);
    if !input.generics.params.is_empty() || input.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &input.generics,
            "generic types cannot derive Hollow: a record type has one fixed Cap'n Proto layout",
        );
    }
    let krate = match c.krate.clone() {
        Some(krate) => krate,
        None => default_crate(input)?,
    };
    let out = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => structs::expand(&mut cx, input, named, &c, &krate),
            Fields::Unnamed(u) => {
                cx.error_spanned_by(
                    u,
                    "tuple structs cannot derive Hollow: Cap'n Proto fields need names",
                );
                proc_macro2::TokenStream::new()
            }
            Fields::Unit => {
                cx.error_spanned_by(
                    &input.ident,
                    "unit structs cannot derive Hollow: add named fields",
                );
                proc_macro2::TokenStream::new()
            }
        },
        Data::Enum(e) => enums::expand(&mut cx, input, e, &c, &krate),
        Data::Union(u) => {
            cx.error_spanned_by(
                u.union_token,
                "Rust unions cannot derive Hollow; use an enum whose variants hold one value",
            );
            proc_macro2::TokenStream::new()
        }
    };
    cx.check()?;
    Ok(out)
}

/// The path derived code names its support crate by, when the type does not
/// give one (`#[hollow(crate = "…")]`), found in the deriving crate's
/// `Cargo.toml` by [`choose_crate`].
fn default_crate(input: &DeriveInput) -> syn::Result<syn::Path> {
    choose_crate(proc_macro_crate::crate_name)
        .map_err(|message| syn::Error::new_spanned(&input.ident, message))
}

/// The message of the one error a derive reports when the deriving crate's
/// `Cargo.toml` names neither support crate (or cannot be read).
const NO_SUPPORT_CRATE: &str = "#[derive(Hollow)] needs `hollow-core` or `hollow-runtime` \
     in this crate's [dependencies]; or name the crate that re-exports them \
     with #[hollow(crate = \"path::to\")]";

/// Picks the support crate path from `lookup` (which maps a package name
/// to how the deriving crate names it, as `proc_macro_crate::crate_name`
/// does): `hollow-core` first, since any crate that lists it (as a normal
/// or a dev-dependency, or `hollow-runtime` itself) can name it and it holds
/// every item derived code uses; then `hollow-runtime`, which re-exports
/// them. `hollow-core` names itself `hollow_core` (`extern crate self`), so
/// its own tests resolve the same path. When
/// `CARGO_MANIFEST_DIR` is unset (not built by Cargo) the path is
/// `::hollow_runtime`; when neither crate is found the error is
/// [`NO_SUPPORT_CRATE`].
fn choose_crate(
    lookup: impl Fn(&str) -> Result<proc_macro_crate::FoundCrate, proc_macro_crate::Error>,
) -> Result<syn::Path, &'static str> {
    use proc_macro_crate::{Error, FoundCrate};
    for package in ["hollow-core", "hollow-runtime"] {
        let name = match lookup(package) {
            Ok(FoundCrate::Itself) => package.replace('-', "_"),
            Ok(FoundCrate::Name(name)) => name,
            Err(Error::CargoManifestDirNotSet) => return Ok(syn::parse_quote!(::hollow_runtime)),
            Err(_) => continue,
        };
        let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
        return Ok(syn::parse_quote!(::#ident));
    }
    Err(NO_SUPPORT_CRATE)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use proc_macro_crate::{Error, FoundCrate};
    use quote::ToTokens;

    use super::{choose_crate, NO_SUPPORT_CRATE};

    /// `choose_crate` over a manifest holding `deps` (package, name).
    fn choose(deps: &[(&str, &str)]) -> Result<String, &'static str> {
        choose_crate(|package| {
            deps.iter()
                .find(|(p, _)| *p == package)
                .map(|(_, name)| FoundCrate::Name((*name).to_owned()))
                .ok_or_else(|| Error::CrateNotFound {
                    crate_name: package.to_owned(),
                    path: PathBuf::from("Cargo.toml"),
                })
        })
        .map(|path| path.to_token_stream().to_string().replace(' ', ""))
    }

    #[test]
    fn core_is_chosen_over_a_runtime_dev_dependency() {
        // A models crate: hollow-core in [dependencies], hollow-runtime in
        // [dev-dependencies] (the lookup sees both).
        let deps = [
            ("hollow-runtime", "hollow_runtime"),
            ("hollow-core", "hollow_core"),
        ];
        assert_eq!(choose(&deps).unwrap(), "::hollow_core");
    }

    #[test]
    fn runtime_alone_and_renames_are_used() {
        assert_eq!(
            choose(&[("hollow-runtime", "hollow_runtime")]).unwrap(),
            "::hollow_runtime"
        );
        assert_eq!(choose(&[("hollow-core", "hc")]).unwrap(), "::hc");
    }

    #[test]
    fn neither_crate_is_one_error() {
        assert_eq!(choose(&[("serde", "serde")]), Err(NO_SUPPORT_CRATE));
        let unreadable = choose_crate(|_| Err(Error::NotFound(PathBuf::from("Cargo.toml"))));
        assert_eq!(unreadable.unwrap_err(), NO_SUPPORT_CRATE);
    }

    #[test]
    fn no_manifest_dir_falls_back_to_runtime() {
        let path = choose_crate(|_| Err(Error::CargoManifestDirNotSet)).unwrap();
        assert_eq!(
            path.to_token_stream().to_string().replace(' ', ""),
            "::hollow_runtime"
        );
    }
}
