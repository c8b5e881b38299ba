//! Field types as Rust tokens.

use proc_macro2::TokenStream;
use quote::quote;

use super::ident;
use crate::plan::RustType;

/// The tokens of `ty`, as written in the module that holds the field.
pub(crate) fn tokens(ty: &RustType) -> TokenStream {
    match ty {
        RustType::Primitive(p) => {
            let p = ident(p);
            quote!(#p)
        }
        RustType::String => quote!(String),
        RustType::Bytes => quote!(Vec<u8>),
        RustType::List(inner) => {
            let inner = tokens(inner);
            quote!(Vec<#inner>)
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
