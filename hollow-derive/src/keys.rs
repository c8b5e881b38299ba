//! Keys (`primary_key`, `unique`, `hash_index`): checks, the IR, and the
//! typed primary-key extraction.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use crate::attr::{KeyAttr, KeyPath};
use crate::ctxt::Ctxt;
use crate::types;

/// A field as keys see it.
pub(crate) struct KeyField<'a> {
    pub(crate) ident: &'a syn::Ident,
    pub(crate) cname: String,
    pub(crate) ty: &'a syn::Type,
}

/// Which attribute a key came from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Primary,
    Unique,
    Hash,
}

impl KeyKind {
    fn what(self) -> &'static str {
        match self {
            KeyKind::Primary => "primary key",
            KeyKind::Unique => "unique key",
            KeyKind::Hash => "hash index",
        }
    }
}

/// One resolved key path.
pub(crate) struct ResolvedPath {
    /// The path's final type.
    pub(crate) ty: TokenStream,
    /// Expression (given `self`) borrowing the value from an owned record.
    pub(crate) owned: TokenStream,
    /// Expression (given `r`, the accessor) reading the value in place.
    pub(crate) by_ref: TokenStream,
    /// Expression building the path's Cap'n Proto segment names.
    pub(crate) ir: TokenStream,
}

fn strip_raw(s: &str) -> &str {
    s.strip_prefix("r#").unwrap_or(s)
}

fn resolve(
    cx: &mut Ctxt,
    krate: &syn::Path,
    type_name: &str,
    path: &KeyPath,
    fields: &[KeyField<'_>],
    kind: KeyKind,
) -> Option<ResolvedPath> {
    let first = &path.segments[0];
    let Some(f) = fields
        .iter()
        .find(|f| strip_raw(&f.ident.to_string()) == strip_raw(first))
    else {
        let names: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
        cx.syn_error(syn::Error::new(
            path.span,
            format!(
                "{} names no field `{first}` of `{type_name}` (fields: {})",
                kind.what(),
                names.join(", ")
            ),
        ));
        return None;
    };
    if path.segments.len() == 1 {
        if types::is_float(f.ty) {
            cx.syn_error(syn::Error::new(
                path.span,
                format!(
                    "{} field `{first}` is a float; floats cannot be keys (NaN and -0.0 break equality)",
                    kind.what()
                ),
            ));
            return None;
        }
        if kind != KeyKind::Hash && types::is_list(f.ty) {
            cx.syn_error(syn::Error::new(
                path.span,
                format!(
                    "{} field `{first}` is a list; lists cannot be {}s (a hash_index can index each element)",
                    kind.what(),
                    kind.what()
                ),
            ));
            return None;
        }
    }
    let ident = f.ident;
    let fty = f.ty;
    let cname = &f.cname;
    let mut ty = quote!(#fty);
    let mut owned = quote!(&self.#ident);
    let mut by_ref = quote!(r.#ident());
    let mut ir = vec![quote!(::std::string::String::from(#cname))];
    for seg in &path.segments[1..] {
        let seg = strip_raw(seg);
        let at = quote_spanned!(path.span=> #krate::FieldAt<{ #krate::field_id(#seg) }>);
        owned = quote!(<#ty as #at>::get(#owned));
        by_ref = quote!(<#ty as #at>::get_ref(&#by_ref));
        ir.push(quote!(::std::string::String::from(<#ty as #at>::NAME)));
        ty = quote!(<#ty as #at>::Type);
    }
    Some(ResolvedPath {
        ty,
        owned,
        by_ref,
        ir: quote!(#krate::__private::FieldPath { segments: ::std::vec![#(#ir),*] }),
    })
}

/// A resolved key attribute.
pub(crate) struct ResolvedKey {
    pub(crate) paths: Vec<ResolvedPath>,
    /// Compile-time checks that each path's type may be in such a key.
    pub(crate) asserts: TokenStream,
}

impl ResolvedKey {
    /// Expression building the IR `Key`.
    pub(crate) fn ir(&self, krate: &syn::Path) -> TokenStream {
        let paths = self.paths.iter().map(|p| &p.ir);
        quote!(#krate::__private::Key { paths: ::std::vec![#(#paths),*] })
    }
}

/// Resolves a key attribute against the struct's fields.
pub(crate) fn resolve_key(
    cx: &mut Ctxt,
    krate: &syn::Path,
    type_name: &str,
    attr: &KeyAttr,
    fields: &[KeyField<'_>],
    kind: KeyKind,
) -> Option<ResolvedKey> {
    let mut paths = Vec::new();
    let mut asserts = TokenStream::new();
    let mut ok = true;
    for p in &attr.paths {
        match resolve(cx, krate, type_name, p, fields, kind) {
            Some(r) => {
                let ty = &r.ty;
                asserts.extend(match kind {
                    KeyKind::Hash => quote_spanned!(p.span=> __hollow_hash_part::<#ty>();),
                    _ => quote_spanned!(p.span=> __hollow_key_part::<#ty>();),
                });
                paths.push(r);
            }
            None => ok = false,
        }
    }
    ok.then_some(ResolvedKey { paths, asserts })
}
