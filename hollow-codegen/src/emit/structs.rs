//! Record types, nested structs and groups.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, ident, types, Emit};
use crate::plan::{StructItem, StructKind};

/// A struct with `#[derive(Hollow)]` and its `#[hollow(...)]` attributes.
pub(crate) fn emit(e: &Emit, s: &StructItem) -> TokenStream {
    let name = ident(&s.name);
    let doc = doc_attrs(s.doc.as_deref());
    let derive = e.derive();
    let mut args: Vec<TokenStream> = Vec::new();
    match s.kind {
        StructKind::Record => {}
        StructKind::Nested => args.push(quote!(nested)),
        StructKind::Group => args.push(quote!(group)),
    }
    if s.map_key {
        args.push(quote!(map_key));
    }
    if let Some(pk) = &s.primary_key {
        let paths = key_paths(pk);
        args.push(quote!(primary_key(#paths)));
    }
    for k in &s.unique_keys {
        let paths = key_paths(k);
        args.push(quote!(unique(#paths)));
    }
    for k in &s.hash_indexes {
        let paths = key_paths(k);
        args.push(quote!(hash_index(#paths)));
    }
    args.extend(e.crate_arg());
    let hollow = if args.is_empty() {
        quote!()
    } else {
        quote!(#[hollow(#(#args),*)])
    };
    let fields = s.fields.iter().map(|f| {
        let fdoc = doc_attrs(f.doc.as_deref());
        let fname = ident(&f.ident);
        let ty = types::tokens(e, &f.ty);
        let rename = f.rename.as_ref().map(|r| quote!(rename = #r));
        let entry = f.entry.as_ref().map(|n| quote!(entry = #n));
        let fargs: Vec<TokenStream> = rename.into_iter().chain(entry).collect();
        let fhollow = (!fargs.is_empty()).then(|| quote!(#[hollow(#(#fargs),*)]));
        quote! {
            #fdoc
            #fhollow
            pub #fname: #ty,
        }
    });
    // A key is `Ord` and `Hash` (`hollow_core::map::MapKey`).
    let key_traits = s.map_key.then(|| quote!(, Eq, PartialOrd, Ord, Hash));
    quote! {
        #doc
        #[derive(#derive, Clone, Debug, Default, PartialEq #key_traits)]
        #hollow
        pub struct #name {
            #(#fields)*
        }
    }
}

/// `a, b.c` from key paths.
fn key_paths(paths: &[Vec<String>]) -> TokenStream {
    let paths = paths.iter().map(|segments| {
        let segs = segments.iter().map(|s| ident(s));
        quote!(#(#segs).*)
    });
    quote!(#(#paths),*)
}
