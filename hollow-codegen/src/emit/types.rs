//! Field types as Rust tokens.

use proc_macro2::TokenStream;
use quote::quote;

use super::{ident, Emit};
use crate::plan::RustType;
use crate::Collections;

/// The tokens of `ty`, as written in the module that holds the field.
pub(crate) fn tokens(e: &Emit, ty: &RustType) -> TokenStream {
    match ty {
        RustType::Primitive(p) => {
            let p = ident(p);
            quote!(#p)
        }
        RustType::String => quote!(String),
        RustType::Bytes => quote!(Vec<u8>),
        RustType::List(inner) => {
            let inner = tokens(e, inner);
            quote!(Vec<#inner>)
        }
        RustType::Map { key, value } => {
            let (key, value) = (tokens(e, key), tokens(e, value));
            match e.collections {
                Collections::BTree => quote!(::std::collections::BTreeMap<#key, #value>),
                Collections::Hash => quote!(::std::collections::HashMap<#key, #value>),
            }
        }
        RustType::Set(elem) => {
            let elem = tokens(e, elem);
            match e.collections {
                Collections::BTree => quote!(::std::collections::BTreeSet<#elem>),
                Collections::Hash => quote!(::std::collections::HashSet<#elem>),
            }
        }
        RustType::Named { module: None, name } => {
            let name = ident(name);
            quote!(#name)
        }
        RustType::Named {
            module: Some(m),
            name,
        } => {
            let (m, name) = (ident(m), ident(name));
            quote!(super::#m::#name)
        }
    }
}
