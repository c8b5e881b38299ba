//! Keys (`primary_key`, `unique`, `hash_index`): checks, the IR, and the
//! typed primary-key extraction.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};

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
    /// The path's last segment as written (errors about its type point here).
    pub(crate) span: Span,
    /// The path as written, dotted (`actor.id`), for messages.
    pub(crate) label: String,
    /// Named consts of the record (name, definition) checking each nested
    /// segment names a field.
    pub(crate) consts: Vec<(String, TokenStream)>,
    /// For a path into a map (`titles.key`, `titles.value`), which part of
    /// its entries it indexes: `MapKeys` or `MapValues`, the `Part` of the
    /// map's `HashKeyPart` impl; `ty` is then the map's type.
    pub(crate) map_part: Option<TokenStream>,
}

/// The name of the record's const holding the field id that key path
/// prefix `segments` (two or more) ends at, which compile errors about the
/// path name: `key_path_actor_id` for `actor.id`. Segments are joined by
/// `_`, or by `__` when one of them holds a `_` (`key_path_lead_actor__id`):
/// two different prefixes share a name only if a segment begins or ends
/// with `_` or holds `__`.
fn path_const_name(segments: &[&str]) -> String {
    let sep = if segments.iter().any(|s| s.contains('_')) {
        "__"
    } else {
        "_"
    };
    format!("key_path_{}", segments.join(sep))
}

fn strip_raw(s: &str) -> &str {
    s.strip_prefix("r#").unwrap_or(s)
}

fn resolve(
    cx: &mut Ctxt,
    krate: &syn::Path,
    self_ty: &syn::Ident,
    type_name: &str,
    path: &KeyPath,
    fields: &[KeyField<'_>],
    kind: KeyKind,
) -> Option<ResolvedPath> {
    let first = &path.segments[0];
    let span0 = path.spans[0];
    let Some(f) = fields
        .iter()
        .find(|f| strip_raw(&f.ident.to_string()) == strip_raw(first))
    else {
        let names: Vec<String> = fields.iter().map(|f| f.ident.to_string()).collect();
        cx.syn_error(syn::Error::new(
            span0,
            format!(
                "{} names no field `{first}` of `{type_name}` (fields: {})",
                kind.what(),
                names.join(", ")
            ),
        ));
        return None;
    };
    if types::is_map(f.ty) {
        return resolve_map(cx, krate, path, f, kind);
    }
    if path.segments.len() == 1 {
        if types::is_float(f.ty) {
            cx.syn_error(syn::Error::new(
                span0,
                format!(
                    "{} field `{first}` is a float; floats cannot be keys (NaN and -0.0 break equality)",
                    kind.what()
                ),
            ));
            return None;
        }
        if kind != KeyKind::Hash && types::is_list(f.ty) {
            cx.syn_error(syn::Error::new(
                span0,
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
    // The key's types are spanned on the key path, so that a type that
    // cannot be a key, or a segment naming no field, is reported there.
    let mut ty = respan(quote!(#fty), span0);
    let mut owned = respan(quote!(&self.#ident), span0);
    let mut by_ref = respan(quote!(r.#ident()), span0);
    let mut ir = vec![quote!(::std::string::String::from(#cname))];
    let mut span = span0;
    let mut consts = Vec::new();
    for (i, (seg, &seg_span)) in path.segments[1..].iter().zip(&path.spans[1..]).enumerate() {
        span = seg_span;
        let seg = strip_raw(seg);
        let outer = respan(ty, span);
        // The field is looked up by name at compile time, once per path
        // prefix (a const of the record): a name the type lacks fails
        // there with a message naming both, and the uses of the const
        // report nothing more.
        let prefix: Vec<&str> = path.segments[..=i + 1]
            .iter()
            .map(|s| strip_raw(s))
            .collect();
        let const_name = format_ident!("{}", path_const_name(&prefix), span = span);
        let whole = path
            .segments
            .iter()
            .map(|s| strip_raw(s))
            .collect::<Vec<_>>()
            .join(".");
        let outer_path = prefix[..prefix.len() - 1].join(".");
        let missing = format!("key path `{whole}`: `{outer_path}` has no field `{seg}`");
        let no_fields = format!(
            "key path `{whole}`: `{outer_path}` has no fields (a key path continues only \
             through a struct or group with #[derive(Hollow)])"
        );
        let def = quote_spanned! {span=>
            #[doc(hidden)]
            #[allow(non_upper_case_globals)]
            const #const_name: u64 = {
                let fields = <#outer as #krate::__private::Fields>::FIELDS;
                if fields.is_empty() {
                    ::core::panic!(#no_fields);
                }
                if !#krate::__private::has_field(fields, #seg) {
                    ::core::panic!(#missing);
                }
                #krate::field_id(#seg)
            };
        };
        consts.push((const_name.to_string(), def));
        let id = quote_spanned!(span=> { #self_ty::#const_name });
        let at = quote_spanned!(span=> #krate::FieldAt<#id>);
        owned = respan(quote!(<#outer as #at>::get(#owned)), span);
        by_ref = respan(quote!(<#outer as #at>::get_ref(&#by_ref)), span);
        ir.push(quote_spanned!(span=> ::std::string::String::from(<#outer as #at>::NAME)));
        ty = quote_spanned!(span=> <#outer as #at>::Type);
    }
    Some(ResolvedPath {
        ty,
        owned,
        by_ref,
        ir: quote!(#krate::__private::FieldPath { segments: ::std::vec![#(#ir),*] }),
        span,
        consts,
        label: label(path),
        map_part: None,
    })
}

/// The path as written, dotted, without raw prefixes.
fn label(path: &KeyPath) -> String {
    path.segments
        .iter()
        .map(|s| strip_raw(s))
        .collect::<Vec<_>>()
        .join(".")
}

/// Resolves a path whose first field `f` is a map: `titles.key` (its keys)
/// or `titles.value` (its values), the names of its entry struct's fields,
/// and only in a hash index (a map holds many of either).
fn resolve_map(
    cx: &mut Ctxt,
    krate: &syn::Path,
    path: &KeyPath,
    f: &KeyField<'_>,
    kind: KeyKind,
) -> Option<ResolvedPath> {
    let whole = label(path);
    let first = strip_raw(&path.segments[0]);
    let fail = |cx: &mut Ctxt, span: Span, msg: String| {
        cx.syn_error(syn::Error::new(span, msg));
        None
    };
    if kind != KeyKind::Hash {
        return fail(
            cx,
            path.spans[0],
            format!(
                "{} field `{first}` is a map; a map cannot be in a {} (a hash_index can \
                 index its keys, `{first}.key`, or its values, `{first}.value`)",
                kind.what(),
                kind.what()
            ),
        );
    }
    let part = match path.segments.get(1).map(|s| strip_raw(s)) {
        None => {
            return fail(
                cx,
                path.spans[0],
                format!(
                    "hash index field `{first}` is a map; name what to index: its keys \
                     (`{first}.key`) or its values (`{first}.value`)"
                ),
            )
        }
        Some("key") => quote!(#krate::MapKeys),
        Some("value") => quote!(#krate::MapValues),
        Some(other) => {
            return fail(
                cx,
                path.spans[1],
                format!(
                    "key path `{whole}`: `{first}` is a map, whose entries have the fields \
                     `key` and `value`, not `{other}`"
                ),
            )
        }
    };
    if path.segments.len() > 2 {
        return fail(
            cx,
            path.spans[2],
            format!("key path `{whole}`: a path into a map ends at its entries' `key` or `value`"),
        );
    }
    let (ident, fty, cname) = (f.ident, f.ty, &f.cname);
    let span = path.spans[1];
    let entry_field = strip_raw(&path.segments[1]);
    Some(ResolvedPath {
        ty: respan(quote!(#fty), span),
        owned: respan(quote!(&self.#ident), span),
        by_ref: respan(quote!(r.#ident()), span),
        ir: quote!(#krate::__private::FieldPath {
            segments: ::std::vec![
                ::std::string::String::from(#cname),
                ::std::string::String::from(#entry_field),
            ]
        }),
        span,
        label: whole,
        consts: Vec::new(),
        map_part: Some(respan(part, span)),
    })
}

impl ResolvedPath {
    /// `<T as Trait>::item` for this path's type `T`, spanned on the key
    /// path: an error about the type (it cannot be such a key) points there,
    /// the same place from every use, and is reported once.
    pub(crate) fn qualified(&self, tr: TokenStream, item: TokenStream) -> TokenStream {
        let ty = &self.ty;
        respan(quote!(<#ty as #tr>::#item), self.span)
    }

    /// The hash-index trait of this path's type: `HashKeyPart`, or for a
    /// path into a map `HashKeyPart<MapKeys>` (or `MapValues`).
    pub(crate) fn hash_trait(&self, krate: &syn::Path) -> TokenStream {
        match &self.map_part {
            Some(part) => quote!(#krate::HashKeyPart<#part>),
            None => quote!(#krate::HashKeyPart),
        }
    }

    /// The key part as read from an accessor: `<T as Value>::Ref<'a>`.
    pub(crate) fn ref_ty(&self, krate: &syn::Path) -> TokenStream {
        let ty = &self.ty;
        respan(quote!(<#ty as #krate::Value>::Ref<'a>), self.span)
    }

    /// Expression (given `self`) copying the key part out of an owned record.
    pub(crate) fn clone_key(&self, krate: &syn::Path) -> TokenStream {
        let clone = respan(quote!(#krate::KeyPart::clone_key), self.span);
        let owned = &self.owned;
        quote_spanned!(self.span=> #clone(#owned))
    }
}

/// `tokens` with every span set to `span`.
pub(crate) fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Group(g) => {
                let mut out = Group::new(g.delimiter(), respan(g.stream(), span));
                out.set_span(span);
                TokenTree::Group(out)
            }
            mut tt => {
                tt.set_span(span);
                tt
            }
        })
        .collect()
}

/// A resolved key attribute.
pub(crate) struct ResolvedKey {
    pub(crate) paths: Vec<ResolvedPath>,
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
    self_ty: &syn::Ident,
    type_name: &str,
    attr: &KeyAttr,
    fields: &[KeyField<'_>],
    kind: KeyKind,
) -> Option<ResolvedKey> {
    let mut paths = Vec::new();
    let mut ok = true;
    for p in &attr.paths {
        match resolve(cx, krate, self_ty, type_name, p, fields, kind) {
            Some(r) if r.map_part.is_some() && attr.paths.len() > 1 => {
                cx.syn_error(syn::Error::new(
                    r.span,
                    format!(
                        "key path `{}` indexes each key or value of a map, so it must be \
                         its hash index's only path",
                        r.label
                    ),
                ));
                ok = false;
            }
            Some(r) => paths.push(r),
            None => ok = false,
        }
    }
    ok.then_some(ResolvedKey { paths })
}

#[cfg(test)]
mod tests {
    use super::path_const_name;

    #[test]
    fn path_const_names_read_as_the_path_and_stay_apart() {
        assert_eq!(path_const_name(&["actor", "id"]), "key_path_actor_id");
        assert_eq!(path_const_name(&["a", "b", "c"]), "key_path_a_b_c");
        assert_eq!(path_const_name(&["a_b", "c"]), "key_path_a_b__c");
        assert_eq!(path_const_name(&["a", "b_c"]), "key_path_a__b_c");
    }
}
