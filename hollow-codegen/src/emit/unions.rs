//! Named unions: Rust enums whose variants hold one value or none.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, ident, types, Emit};
use crate::plan::UnionItem;

/// The enum, defaulting to the first member with its default value (what a
/// zeroed struct reads as in Cap'n Proto): derived when that member is
/// `Void`, else a `Default` impl.
pub(crate) fn emit(e: &Emit, u: &UnionItem) -> TokenStream {
    let name = ident(&u.name);
    let doc = doc_attrs(u.doc.as_deref());
    let derive = e.derive();
    let hollow = e.crate_arg().map(|c| quote!(#[hollow(#c)]));
    let unit_first = u.variants.first().is_some_and(|v| v.ty.is_none());
    let variants = u.variants.iter().enumerate().map(|(i, v)| {
        let vdoc = doc_attrs(v.doc.as_deref());
        let vname = ident(&v.ident);
        let rename = v.rename.as_ref().map(|r| quote!(#[hollow(rename = #r)]));
        let value = v.ty.as_ref().map(|t| {
            let t = types::tokens(e, t);
            quote!((#t))
        });
        let default = (i == 0 && unit_first).then(|| quote!(#[default]));
        quote! {
            #vdoc
            #default
            #rename
            #vname #value,
        }
    });
    let derive_default = unit_first.then(|| quote!(Default,));
    let default = u.variants.first().filter(|_| !unit_first).map(|v| {
        let vname = ident(&v.ident);
        let value =
            v.ty.as_ref()
                .map(|_| quote!((::core::default::Default::default())));
        quote! {
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self::#vname #value
                }
            }
        }
    });
    quote! {
        #doc
        #[derive(#derive, Clone, Debug, #derive_default PartialEq)]
        #hollow
        pub enum #name {
            #(#variants)*
        }

        #default
    }
}
