//! Cap'n Proto enums: fieldless Rust enums.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc_attrs, ident, Emit};
use crate::plan::EnumItem;

/// A fieldless enum; the first enumerant (wire value 0) is the default.
pub(crate) fn emit(e: &Emit, en: &EnumItem) -> TokenStream {
    let name = ident(&en.name);
    let doc = doc_attrs(en.doc.as_deref());
    let derive = e.derive();
    let hollow = e.crate_arg().map(|c| quote!(#[hollow(#c)]));
    // A key is `Ord` (`hollow_core::map::MapKey`): the enumerant order.
    let ord = en.ordered.then(|| quote!(PartialOrd, Ord,));
    let variants = en.variants.iter().enumerate().map(|(i, v)| {
        let vdoc = doc_attrs(v.doc.as_deref());
        let vname = ident(&v.ident);
        let rename = v.rename.as_ref().map(|r| quote!(#[hollow(rename = #r)]));
        let default = (i == 0).then(|| quote!(#[default]));
        quote! {
            #vdoc
            #default
            #rename
            #vname,
        }
    });
    quote! {
        #doc
        #[derive(#derive, Clone, Copy, Debug, Default, PartialEq, Eq, #ord Hash)]
        #hollow
        pub enum #name {
            #(#variants)*
        }
    }
}
