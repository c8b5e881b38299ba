//! Typed index types for a record's keys: `MoviePrimaryKey`,
//! `MovieByTitle` (a unique key), `MovieByGenres` (a hash index), each an
//! `IndexDef`, plus the record's `Indexed` and `PrimaryKeyed` impls.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ctxt::Ctxt;
use crate::keys::{respan, KeyKind, ResolvedKey, ResolvedPath};

/// `actor.id` → `ActorId`, `runtime_min` → `RuntimeMin`.
fn camel(label: &str) -> String {
    label
        .split(['.', '_'])
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// The key a lookup takes: one part's ref type, or a tuple of them.
fn key_type(parts: &[TokenStream]) -> TokenStream {
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        quote!((#(#parts,)*))
    }
}

/// Expressions borrowing each part of a lookup key named `key`.
fn key_parts(n: usize) -> Vec<TokenStream> {
    if n == 1 {
        vec![quote!(key)]
    } else {
        (0..n)
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(&key.#i)
            })
            .collect()
    }
}

/// Describes a key read from a record `r`, from its paths.
fn describe(krate: &syn::Path, paths: &[ResolvedPath]) -> TokenStream {
    let parts = paths.iter().map(|p| {
        let (by_ref, label) = (&p.by_ref, &p.label);
        let from_ref = p.qualified(quote!(#krate::Value), quote!(from_ref));
        let describe = p.qualified(quote!(#krate::KeyPart), quote!(describe_key));
        quote! {
            ::std::format!(
                "{}={}",
                #label,
                match #from_ref(#by_ref) {
                    ::core::result::Result::Ok(v) => #describe(&v),
                    ::core::result::Result::Err(e) => ::std::format!("({e})"),
                }
            )
        }
    });
    quote! {
        let parts: ::std::vec::Vec<::std::string::String> = ::std::vec![#(#parts),*];
        parts.join(", ")
    }
}

/// The lookup side of an index type: `(Key type, encode_key body,
/// each_key body, key_matches item, key_at_matches item)`. A hash index
/// on one path (possibly a list) keys each element; other indexes key the
/// tuple of their paths.
fn lookup_code(
    krate: &syn::Path,
    name: &syn::Ident,
    k: &ResolvedKey,
    single_hash: bool,
) -> (
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
) {
    let by_ref: Vec<&TokenStream> = k.paths.iter().map(|p| &p.by_ref).collect();
    let given = key_parts(k.paths.len());
    let key_fn = |item: TokenStream| -> Vec<TokenStream> {
        k.paths
            .iter()
            .map(|p| p.qualified(quote!(#krate::KeyPart), item.clone()))
            .collect()
    };
    let (hash, eq) = (key_fn(quote!(hash_key_ref)), key_fn(quote!(eq_refs)));
    let (key_ty, encode, each) = if single_hash {
        // One path, possibly a list: each element is a key.
        let by_ref = by_ref[0];
        let p = &k.paths[0];
        let elem = p.qualified(p.hash_trait(krate), quote!(Elem));
        let each = p.qualified(p.hash_trait(krate), quote!(each_key_ref));
        (
            respan(quote!(<#elem as #krate::Value>::Ref<'k>), p.span),
            respan(
                quote!(<#elem as #krate::KeyPart>::hash_key_ref(key, h);),
                p.span,
            ),
            quote!(#each(&#by_ref, h, f);),
        )
    } else {
        let ref_tys: Vec<TokenStream> = k
            .paths
            .iter()
            .map(|p| p.qualified(quote!(#krate::Value), quote!(Ref<'k>)))
            .collect();
        (
            key_type(&ref_tys),
            quote!(#(#hash(#given, h);)*),
            quote! {
                h.clear();
                #(#hash(&#by_ref, h);)*
                f(h.bytes());
            },
        )
    };
    // A direct comparison of the key's fields, for lookups (hash indexes
    // keep the default, which compares encodings of every element).
    let matches = if single_hash {
        quote!()
    } else {
        let parts = eq
            .iter()
            .zip(&by_ref)
            .zip(&given)
            .map(|((eq, by_ref), given)| quote!(#eq(#given, &#by_ref)));
        quote! {
            #[inline]
            fn key_matches(
                r: &<#name as #krate::Value>::Ref<'_>,
                key: &Self::Key<'_>,
            ) -> bool {
                #(#parts)&&*
            }
        }
    };
    // Key `pos` of a record compared directly: for a hash index on one
    // path, element `pos` of a list (or the one value); otherwise a
    // record's only key.
    let key_at_body = if single_hash {
        let p = &k.paths[0];
        let key_at_eq = p.qualified(p.hash_trait(krate), quote!(key_at_eq));
        let by_ref = by_ref[0];
        quote!(#key_at_eq(&#by_ref, pos, key))
    } else {
        quote!(pos == 0 && <Self as #krate::IndexDef>::key_matches(r, key))
    };
    let key_at = quote! {
        #[inline]
        fn key_at_matches(
            r: &<#name as #krate::Value>::Ref<'_>,
            pos: u32,
            key: &Self::Key<'_>,
        ) -> bool {
            #key_at_body
        }
    };
    (key_ty, encode, each, matches, key_at)
}

struct Def {
    ident: syn::Ident,
    tokens: TokenStream,
}

/// One index type for key `k` of `kind`.
fn index_def(
    krate: &syn::Path,
    name: &syn::Ident,
    vis: &syn::Visibility,
    k: &ResolvedKey,
    kind: KeyKind,
) -> Def {
    let labels: Vec<&str> = k.paths.iter().map(|p| p.label.as_str()).collect();
    let ident = match kind {
        KeyKind::Primary => format_ident!("{}PrimaryKey", name),
        _ => format_ident!(
            "{}By{}",
            name,
            labels.iter().map(|l| camel(l)).collect::<String>()
        ),
    };
    let single_hash = kind == KeyKind::Hash && k.paths.len() == 1;
    let (kind_tokens, view_kind, what) = match kind {
        KeyKind::Primary => (
            quote!(#krate::IndexKind::PrimaryKey),
            quote!(#krate::OneRecordPerKey),
            "primary key",
        ),
        KeyKind::Unique => (
            quote!(#krate::IndexKind::Unique),
            quote!(#krate::OneRecordPerKey),
            "unique key",
        ),
        KeyKind::Hash => (
            quote!(#krate::IndexKind::Hash),
            quote!(#krate::ManyRecordsPerKey),
            "hash index",
        ),
    };
    let (key_ty, encode, each, matches, key_at) = lookup_code(krate, name, k, single_hash);
    let describe = if kind == KeyKind::Hash {
        // Only unique keys are described (in duplicate-key errors).
        let l = labels.join(", ");
        quote!(::std::string::String::from(#l))
    } else {
        describe(krate, &k.paths)
    };
    let index_name = ident.to_string();
    let key_ir = k.ir(krate);
    let doc = format!(
        "The {what} of [`{name}`] on `{}`: `state.index::<{ident}>()`.",
        labels.join(", ")
    );
    let tokens = quote! {
        #[doc = #doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug)]
        #vis struct #ident;

        #[automatically_derived]
        impl #krate::IndexDef for #ident {
            type Record = #name;
            const NAME: &'static str = #index_name;
            const KIND: #krate::IndexKind = #kind_tokens;
            type Key<'k> = #key_ty;
            type Kind = #view_kind;
            #[inline]
            fn encode_key(key: &Self::Key<'_>, h: &mut #krate::KeyHasher) {
                #encode
            }
            #[inline]
            fn each_key<F: ::core::ops::FnMut(&[u8])>(
                r: &<#name as #krate::Value>::Ref<'_>,
                h: &mut #krate::KeyHasher,
                f: &mut F,
            ) {
                #each
            }
            fn describe(r: &<#name as #krate::Value>::Ref<'_>) -> ::std::string::String {
                #describe
            }
            fn key() -> ::core::option::Option<#krate::__private::Key> {
                ::core::option::Option::Some(#key_ir)
            }
            #matches
            #key_at
        }
    };
    // A one-path key's index carries the path's span, as the key's other
    // uses do: a field that cannot be such a key is reported once, there.
    let tokens = match k.paths.as_slice() {
        [p] => respan(tokens, p.span),
        _ => tokens,
    };
    Def { ident, tokens }
}

/// The index types and impls of a record type.
pub(crate) fn expand(
    cx: &mut Ctxt,
    krate: &syn::Path,
    name: &syn::Ident,
    vis: &syn::Visibility,
    pk: Option<&ResolvedKey>,
    uniques: &[ResolvedKey],
    hashes: &[ResolvedKey],
) -> TokenStream {
    let mut defs: Vec<Def> = Vec::new();
    let mut out = TokenStream::new();
    let keyed = pk
        .map(|k| (k, KeyKind::Primary))
        .into_iter()
        .chain(uniques.iter().map(|k| (k, KeyKind::Unique)))
        .chain(hashes.iter().map(|k| (k, KeyKind::Hash)));
    for (k, kind) in keyed {
        let def = index_def(krate, name, vis, k, kind);
        if defs.iter().any(|d| d.ident == def.ident) {
            let span = k
                .paths
                .first()
                .map_or_else(proc_macro2::Span::call_site, |p| p.span);
            cx.syn_error(syn::Error::new(
                span,
                format!(
                    "two indexes of `{name}` would both be named `{}`; declare each key once",
                    def.ident
                ),
            ));
            continue;
        }
        defs.push(def);
    }
    let idents: Vec<&syn::Ident> = defs.iter().map(|d| &d.ident).collect();
    for d in &defs {
        out.extend(d.tokens.clone());
    }
    out.extend(quote! {
        #[automatically_derived]
        impl #krate::Indexed for #name {
            fn visit_indexes<V: #krate::IndexVisitor>(v: &mut V) {
                #(v.visit::<#idents>();)*
            }
        }
    });
    if let (Some(k), Some(d)) = (pk, defs.first()) {
        let ident = &d.ident;
        let hash = k
            .paths
            .iter()
            .map(|p| p.qualified(quote!(#krate::KeyPart), quote!(hash_key_ref)));
        let given = key_parts(k.paths.len());
        out.extend(quote! {
            #[automatically_derived]
            impl #krate::PrimaryKeyed for #name {
                type Index = #ident;
                #[inline]
                fn encode_primary_key(
                    key: &<Self as #krate::Record>::PrimaryKeyRef<'_>,
                    h: &mut #krate::KeyHasher,
                ) {
                    #(#hash(#given, h);)*
                }
                #[inline]
                fn primary_key_matches(
                    r: &<Self as #krate::Value>::Ref<'_>,
                    key: &<Self as #krate::Record>::PrimaryKeyRef<'_>,
                ) -> bool {
                    <#ident as #krate::IndexDef>::key_matches(r, key)
                }
            }
        });
    }
    out
}
