//! Named unions: Rust enums whose variants hold one value or none.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, ident, types, Emit};
use crate::plan::UnionItem;

/// The enum, and a `Default` impl giving the first member with its default
/// value (what a zeroed struct reads as in Cap'n Proto).
pub(crate) fn emit(e: &Emit, u: &UnionItem) -> TokenStream {
    let name = ident(&u.name);
    let doc = doc_attrs(u.doc.as_deref());
    let derive = e.derive();
    let hollow = e.crate_arg().map(|c| quote!(#[hollow(#c)]));
    let variants = u.variants.iter().map(|v| {
        let vdoc = doc_attrs(v.doc.as_deref());
        let vname = ident(&v.ident);
        let rename = v.rename.as_ref().map(|r| quote!(#[hollow(rename = #r)]));
        let value = v.ty.as_ref().map(|t| {
            let t = types::tokens(t);
            quote!((#t))
        });
        quote! {
            #vdoc
            #rename
            #vname #value,
        }
    });
    let default = u.variants.first().map(|v| {
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
        #[derive(#derive, Clone, Debug, PartialEq)]
        #hollow
        pub enum #name {
            #(#variants)*
        }

        #default
    }
}
