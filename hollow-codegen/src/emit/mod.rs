//! Stage 3: [`ModulePlan`](crate::plan::ModulePlan)s → Rust source, one
//! emitter per item kind, assembled into files by [`module`].

pub(crate) mod enums;
pub(crate) mod module;
pub(crate) mod structs;
pub(crate) mod types;
pub(crate) mod unions;

use proc_macro2::TokenStream;
use quote::quote;

/// What every emitter needs to know.
pub(crate) struct Emit {
    /// The path of the support crate (`hollow_core`, or a re-export), when
    /// not the default `::hollow_runtime`.
    pub(crate) runtime_crate: Option<syn::Path>,
    /// The Rust types of map and set fields.
    pub(crate) collections: crate::Collections,
}

impl Emit {
    /// The derive macro's path.
    pub(crate) fn derive(&self) -> TokenStream {
        match &self.runtime_crate {
            Some(p) => quote!(#p::Hollow),
            None => quote!(::hollow_runtime::Hollow),
        }
    }

    /// `crate = "…"` for the `#[hollow(...)]` attribute, when needed.
    pub(crate) fn crate_arg(&self) -> Option<TokenStream> {
        self.runtime_crate.as_ref().map(|p| {
            let s = quote!(#p).to_string().replace(' ', "");
            quote!(crate = #s)
        })
    }
}

/// `#[doc = "…"]` attributes, one per line of `doc`.
pub(crate) fn doc_attrs(doc: Option<&str>) -> TokenStream {
    let Some(doc) = doc else {
        return TokenStream::new();
    };
    let lines = doc.lines().map(|l| {
        let l = l.trim_end();
        let text = if l.is_empty() {
            String::new()
        } else {
            format!(" {l}")
        };
        quote!(#[doc = #text])
    });
    quote!(#(#lines)*)
}

/// An identifier, raw when written `r#…`.
pub(crate) fn ident(name: &str) -> syn::Ident {
    match name.strip_prefix("r#") {
        Some(raw) => syn::Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => syn::Ident::new(name, proc_macro2::Span::call_site()),
    }
}
