//! `#[derive(Hollow)]` on a struct: a record type, a nested struct
//! (`#[hollow(nested)]`) or a group (`#[hollow(group)]`).

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::{DeriveInput, FieldsNamed};

use crate::attr::{self, Container};
use crate::ctxt::Ctxt;
use crate::keys::{resolve_key, respan, KeyField, KeyKind, ResolvedKey};
use crate::names::lower_camel;
use crate::types;

struct FieldGen<'a> {
    ident: &'a syn::Ident,
    cname: String,
    ty: &'a syn::Type,
    doc: Option<String>,
    attrs: &'a [syn::Attribute],
}

/// `tokens` in delimiters spanned at `span` (the tokens keep theirs).
fn delimited(delimiter: Delimiter, tokens: TokenStream, span: Span) -> TokenStream {
    let mut g = Group::new(delimiter, tokens);
    g.set_span(span);
    TokenTree::Group(g).into()
}

pub(crate) fn expand(
    cx: &mut Ctxt,
    input: &DeriveInput,
    fields: &FieldsNamed,
    c: &Container,
    krate: &syn::Path,
) -> TokenStream {
    let name = &input.ident;
    let type_name = c.rename.clone().unwrap_or_else(|| name.to_string());
    let fields: Vec<FieldGen<'_>> = fields
        .named
        .iter()
        .map(|f| {
            let m = attr::member(cx, &f.attrs);
            let ident = f.ident.as_ref().expect("named field");
            types::check(cx, &f.ty);
            FieldGen {
                ident,
                cname: m.rename.unwrap_or_else(|| lower_camel(&ident.to_string())),
                ty: &f.ty,
                doc: attr::doc(&f.attrs),
                attrs: &f.attrs,
            }
        })
        .collect();
    let mut seen = std::collections::HashMap::new();
    for f in &fields {
        if let Some(prev) = seen.insert(f.cname.clone(), f.ident) {
            cx.error_spanned_by(
                f.ident,
                format!(
                    "fields `{prev}` and `{}` both map to the Cap'n Proto name `{}`; rename one",
                    f.ident, f.cname
                ),
            );
        }
    }
    let is_group = c.group.is_some();
    if is_group {
        for k in c.keys() {
            cx.syn_error(syn::Error::new(
                k.span,
                "a #[hollow(group)] struct cannot declare keys or indexes; \
                 declare them on the record that has the group as a field",
            ));
        }
        if let Some(s) = c.nested {
            cx.syn_error(syn::Error::new(
                s,
                "`group` and `nested` cannot be combined",
            ));
        }
        if fields.is_empty() {
            cx.error_spanned_by(name, "a group needs at least one field");
        }
    }
    let key_fields: Vec<KeyField<'_>> = fields
        .iter()
        .map(|f| KeyField {
            ident: f.ident,
            cname: f.cname.clone(),
            ty: f.ty,
        })
        .collect();
    let pk = c.primary_key.as_ref().and_then(|k| {
        resolve_key(
            cx,
            krate,
            name,
            &type_name,
            k,
            &key_fields,
            KeyKind::Primary,
        )
    });
    let uniques: Vec<ResolvedKey> = c
        .unique
        .iter()
        .filter_map(|k| resolve_key(cx, krate, name, &type_name, k, &key_fields, KeyKind::Unique))
        .collect();
    let hashes: Vec<ResolvedKey> = c
        .hash_index
        .iter()
        .filter_map(|k| resolve_key(cx, krate, name, &type_name, k, &key_fields, KeyKind::Hash))
        .collect();

    let vis = &input.vis;
    let ref_name = format_ident!("{}Ref", name);
    let n_fields = fields.len();
    let tys: Vec<&syn::Type> = fields.iter().map(|f| f.ty).collect();
    let idents: Vec<&syn::Ident> = fields.iter().map(|f| f.ident).collect();
    let cnames: Vec<&String> = fields.iter().map(|f| &f.cname).collect();
    let idx: Vec<usize> = (0..n_fields).collect();
    let ref_tys: Vec<TokenStream> = tys.iter().map(|t| types::ref_type(krate, t)).collect();
    let docs: Vec<TokenStream> = fields
        .iter()
        .map(|f| match &f.doc {
            Some(d) => quote!(::core::option::Option::Some(::std::string::String::from(#d))),
            None => quote!(::core::option::Option::None),
        })
        .collect();
    let getter_docs: Vec<Vec<&syn::Attribute>> = fields
        .iter()
        .map(|f| {
            f.attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .collect()
        })
        .collect();

    let prefix = if is_group {
        quote!(&[#krate::__private::LayoutNode::Group(#n_fields as u16)],)
    } else {
        quote!()
    };
    let base_start = if is_group {
        quote!(0)
    } else {
        quote!(usize::MAX)
    };
    let node_parts = quote!(&[#prefix #(<#tys as #krate::Value>::NODES),*]);

    // Where field i's layout nodes start in the offset table.
    let offsets_of = |i: usize| -> TokenStream {
        if is_group {
            quote!(&self.offsets[#name::__HOLLOW_BASE[#i]..])
        } else {
            quote!(&#name::__HOLLOW_OFFSETS[#name::__HOLLOW_BASE[#i]..])
        }
    };
    let getters = idx.iter().map(|&i| {
        let ident = idents[i];
        let ty = tys[i];
        let rt = &ref_tys[i];
        let offs = offsets_of(i);
        let d = &getter_docs[i];
        let fallback_doc = format!("The `{}` field.", cnames[i]);
        let doc = if d.is_empty() {
            quote!(#[doc = #fallback_doc])
        } else {
            quote!(#(#d)*)
        };
        quote! {
            #doc
            #[inline]
            #vis fn #ident(&self) -> #rt {
                <#ty as #krate::Value>::read(&self.reader, #offs)
            }
        }
    });
    let debug_fields = idents
        .iter()
        .zip(&cnames)
        .map(|(ident, cname)| quote!(.field(#cname, &self.#ident())));
    let debug_bounds = tys
        .iter()
        .map(|t| quote!(<#t as #krate::Value>::Ref<'a>: ::core::fmt::Debug));
    let ref_doc =
        format!("Zero-copy accessor for [`{name}`]: each getter reads its field in place.");
    let to_value = quote! {
        /// Copies the record out into an owned [`#name`].
        ///
        /// # Errors
        /// An enum value or union member unknown to this schema (written by
        /// a newer one).
        #vis fn to_value(&self) -> ::core::result::Result<#name, #krate::NotInSchema> {
            ::core::result::Result::Ok(#name {
                #(#idents: <#tys as #krate::Value>::from_ref(self.#idents())?,)*
            })
        }
    };
    let field_ir = idx.iter().map(|&i| {
        let ty = tys[i];
        let cname = cnames[i];
        let doc = &docs[i];
        quote! {{
            let mut f = <#ty as #krate::Value>::field(#cname, ordinal);
            f.doc = #doc;
            f
        }}
    });
    let field_at = idx.iter().map(|&i| {
        let ty = tys[i];
        let ident = idents[i];
        let rust = ident.to_string();
        let rust = rust.strip_prefix("r#").unwrap_or(&rust).to_string();
        let cname = cnames[i];
        quote! {
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #krate::FieldAt<{ #krate::field_id(#rust) }> for #name {
                const NAME: &'static str = #cname;
                type Type = #ty;
                #[inline]
                fn get(&self) -> &#ty {
                    &self.#ident
                }
                #[inline]
                fn get_ref<'a>(r: &<Self as #krate::Value>::Ref<'a>) -> <#ty as #krate::Value>::Ref<'a> {
                    r.#ident()
                }
            }
        }
    });
    let rust_names = idents.iter().map(|i| {
        let s = i.to_string();
        s.strip_prefix("r#").unwrap_or(&s).to_string()
    });
    let field_at = quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::__private::Fields for #name {
            const FIELDS: &'static [&'static str] = &[#(#rust_names),*];
        }
        #(#field_at)*
    };
    let mut path_consts = TokenStream::new();
    let mut const_names = std::collections::HashSet::new();
    for p in pk
        .iter()
        .chain(&uniques)
        .chain(&hashes)
        .flat_map(|k| &k.paths)
    {
        for (n, def) in &p.consts {
            if const_names.insert(n.clone()) {
                path_consts.extend(def.clone());
            }
        }
    }
    let mut asserts = TokenStream::new();
    for k in pk.iter().chain(&uniques).chain(&hashes) {
        asserts.extend(k.asserts.clone());
    }

    let consts = quote! {
        #[doc(hidden)]
        #vis const __HOLLOW_N: usize = #krate::__private::total_len(#node_parts);
        #[doc(hidden)]
        #vis const __HOLLOW_NODES: [#krate::__private::LayoutNode; #name::__HOLLOW_N] =
            #krate::__private::concat::<{ #name::__HOLLOW_N }>(#node_parts);
        #[doc(hidden)]
        #vis const __HOLLOW_BASE: [usize; #n_fields] =
            #krate::__private::member_bases::<#n_fields>(&#name::__HOLLOW_NODES, #base_start);
    };

    if is_group {
        let write_members = idx.iter().map(|&i| {
            let ident = idents[i];
            let ty = tys[i];
            quote!(<#ty as #krate::Value>::write(&self.#ident, b, &offsets[#name::__HOLLOW_BASE[#i]..]);)
        });
        return quote! {
            #[automatically_derived]
            impl #name {
                #consts
            }

            #[doc = #ref_doc]
            #[derive(::core::clone::Clone, ::core::marker::Copy)]
            #vis struct #ref_name<'a> {
                reader: #krate::wire::StructReader<'a>,
                offsets: &'static [u32],
            }

            #[automatically_derived]
            impl<'a> #ref_name<'a> {
                #(#getters)*
                #to_value
            }

            #[automatically_derived]
            impl<'a> ::core::fmt::Debug for #ref_name<'a> where #(#debug_bounds,)* {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct(#type_name)#(#debug_fields)*.finish()
                }
            }

            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl #krate::Value for #name {
                const NODES: &'static [#krate::__private::LayoutNode] = &#name::__HOLLOW_NODES;
                type Ref<'a> = #ref_name<'a>;
                #[inline]
                fn read<'a>(
                    s: &#krate::wire::StructReader<'a>,
                    offsets: &'static [u32],
                ) -> #ref_name<'a> {
                    #ref_name { reader: *s, offsets }
                }
                fn write(&self, b: &mut #krate::wire::StructBuilder<'_>, offsets: &[u32]) {
                    #(#write_members)*
                }
                fn from_ref(
                    r: #ref_name<'_>,
                ) -> ::core::result::Result<Self, #krate::NotInSchema> {
                    r.to_value()
                }
                fn field(name: &str, ordinal: &mut u16) -> #krate::__private::Field {
                    #krate::__private::Field {
                        name: ::std::string::String::from(name),
                        doc: ::core::option::Option::None,
                        kind: #krate::__private::FieldKind::Group(#krate::__private::Group {
                            type_name: ::core::option::Option::Some(
                                ::std::string::String::from(#type_name),
                            ),
                            fields: ::std::vec![#(#field_ir),*],
                        }),
                    }
                }
                fn collect_types(schema: &mut #krate::__private::Schema) {
                    #(<#tys as #krate::Value>::collect_types(schema);)*
                }
            }

            #field_at
        };
    }

    let struct_doc = match attr::doc(&input.attrs) {
        Some(d) => quote!(::core::option::Option::Some(::std::string::String::from(#d))),
        None => quote!(::core::option::Option::None),
    };
    let is_record = c.nested.is_none();
    let pk_ir = match &pk {
        Some(k) => {
            let ir = k.ir(krate);
            quote!(::core::option::Option::Some(#ir))
        }
        None => quote!(::core::option::Option::None),
    };
    let unique_ir = uniques.iter().map(|k| k.ir(krate));
    let hash_ir = hashes.iter().map(|k| k.ir(krate));
    let write_fields = idx.iter().map(|&i| {
        let ident = idents[i];
        let ty = tys[i];
        quote!(<#ty as #krate::Value>::write(&self.#ident, b, &#name::__HOLLOW_OFFSETS[#name::__HOLLOW_BASE[#i]..]);)
    });
    let record_impl = if is_record {
        // A key type that is not well-formed (a path naming no field) is
        // also reported on these items: point those errors at the key.
        let sig_span = match (&pk, &c.primary_key) {
            (Some(k), _) if k.paths.len() == 1 => k.paths[0].span,
            (_, Some(attr)) => attr.span,
            _ => Span::call_site(),
        };
        let (pk_ty, pk_ref_ty, pk_owned, pk_ref, has_pk) = match &pk {
            Some(k) if k.paths.len() == 1 => {
                let p = &k.paths[0];
                let (ty, by_ref) = (&p.ty, &p.by_ref);
                (
                    quote!(#ty),
                    p.ref_ty(krate),
                    p.clone_key(krate),
                    quote!(#by_ref),
                    true,
                )
            }
            Some(k) => {
                let tys = k.paths.iter().map(|p| &p.ty);
                let ref_tys = k.paths.iter().map(|p| p.ref_ty(krate));
                let owned = k.paths.iter().map(|p| p.clone_key(krate));
                let by_ref = k.paths.iter().map(|p| &p.by_ref);
                (
                    delimited(Delimiter::Parenthesis, quote!(#(#tys,)*), sig_span),
                    delimited(Delimiter::Parenthesis, quote!(#(#ref_tys,)*), sig_span),
                    delimited(Delimiter::Parenthesis, quote!(#(#owned,)*), sig_span),
                    delimited(Delimiter::Parenthesis, quote!(#(#by_ref,)*), sig_span),
                    true,
                )
            }
            // Empty bodies (not `{ () }`, which trips clippy::unused_unit
            // in the user's crate).
            None => (quote!(()), quote!(()), quote!(), quote!(), false),
        };
        let pk_sig = respan(quote!(fn primary_key(&self) -> Self::PrimaryKey), sig_span);
        let pk_ref_sig = respan(
            quote! {
                fn primary_key_ref<'a>(
                    r: &<Self as #krate::Value>::Ref<'a>,
                ) -> Self::PrimaryKeyRef<'a>
            },
            sig_span,
        );
        // Hashing, comparing and describing a key, given an expression
        // borrowing each key part: the parts of an owned record
        // (`&self.id`) or of a key given on its own (`key`, `&key.0`).
        let key_code = |parts: &[TokenStream]| -> (TokenStream, TokenStream, TokenStream) {
            let Some(k) = &pk else {
                return (
                    quote!(0),
                    quote!(false),
                    quote!(::std::string::String::from("(no primary key)")),
                );
            };
            let tys: Vec<&TokenStream> = k.paths.iter().map(|p| &p.ty).collect();
            let by_ref: Vec<&TokenStream> = k.paths.iter().map(|p| &p.by_ref).collect();
            let labels: Vec<&String> = k.paths.iter().map(|p| &p.label).collect();
            (
                quote! {
                    let mut h = #krate::KeyHasher::new();
                    #(<#tys as #krate::KeyPart>::hash_key(#parts, &mut h);)*
                    h.finish()
                },
                quote!(true #(&& <#tys as #krate::KeyPart>::eq_key_ref(#parts, &#by_ref))*),
                quote! {
                    let parts: ::std::vec::Vec<::std::string::String> = ::std::vec![
                        #(::std::format!("{}={}", #labels, <#tys as #krate::KeyPart>::describe_key(#parts))),*
                    ];
                    parts.join(", ")
                },
            )
        };
        let (owned_parts, given_parts): (Vec<TokenStream>, Vec<TokenStream>) = match &pk {
            Some(k) => (
                k.paths.iter().map(|p| p.owned.clone()).collect(),
                if k.paths.len() == 1 {
                    vec![quote!(key)]
                } else {
                    (0..k.paths.len())
                        .map(|i| {
                            let i = syn::Index::from(i);
                            quote!(&key.#i)
                        })
                        .collect()
                },
            ),
            None => (Vec::new(), Vec::new()),
        };
        let (pk_hash, pk_eq, pk_describe) = key_code(&owned_parts);
        let (key_hash, key_is, key_describe) = key_code(&given_parts);
        let pk_hash_ref = match &pk {
            Some(k) => {
                let tys = k.paths.iter().map(|p| &p.ty);
                let by_ref = k.paths.iter().map(|p| &p.by_ref);
                quote! {
                    let mut h = #krate::KeyHasher::new();
                    #(<#tys as #krate::KeyPart>::hash_key_ref(&#by_ref, &mut h);)*
                    h.finish()
                }
            }
            None => quote!(0),
        };
        let pk_body = delimited(Delimiter::Brace, pk_owned, sig_span);
        let pk_ref_body = delimited(Delimiter::Brace, pk_ref, sig_span);
        quote! {
            #[automatically_derived]
            impl #krate::Record for #name {
                const HAS_PRIMARY_KEY: bool = #has_pk;
                type PrimaryKey = #pk_ty;
                type PrimaryKeyRef<'a> = #pk_ref_ty;
                #[inline]
                #pk_sig #pk_body
                #[inline]
                #[allow(unused_variables)]
                #pk_ref_sig #pk_ref_body
                fn primary_key_hash(&self) -> u64 {
                    #pk_hash
                }
                #[allow(unused_variables)]
                fn primary_key_hash_ref(r: &<Self as #krate::Value>::Ref<'_>) -> u64 {
                    #pk_hash_ref
                }
                #[allow(unused_variables)]
                fn primary_key_eq_ref(&self, r: &<Self as #krate::Value>::Ref<'_>) -> bool {
                    #pk_eq
                }
                fn describe_primary_key(&self) -> ::std::string::String {
                    #pk_describe
                }
                #[allow(unused_variables)]
                fn hash_primary_key(key: &Self::PrimaryKey) -> u64 {
                    #key_hash
                }
                #[allow(unused_variables)]
                fn has_primary_key(
                    key: &Self::PrimaryKey,
                    r: &<Self as #krate::Value>::Ref<'_>,
                ) -> bool {
                    #key_is
                }
                #[allow(unused_variables)]
                fn describe_key(key: &Self::PrimaryKey) -> ::std::string::String {
                    #key_describe
                }
            }
        }
    } else {
        quote!()
    };
    let index_impl = if is_record {
        crate::indexes::expand(cx, krate, name, vis, pk.as_ref(), &uniques, &hashes)
    } else {
        quote!()
    };
    let schema_doc = format!(
        "The Cap'n Proto schema text equivalent to [`{name}`] and the types it uses: \
         the official compiler lays it out exactly as `{name}` is encoded."
    );
    let assert_block = if asserts.is_empty() {
        quote!()
    } else {
        quote! {
            const _: () = {
                fn __hollow_key_part<T: #krate::KeyPart>() {}
                fn __hollow_hash_part<T: #krate::HashKeyPart>() {}
                #[allow(dead_code)]
                fn __hollow_check() {
                    #asserts
                }
            };
        }
    };

    quote! {
        #[automatically_derived]
        impl #name {
            #consts
            #path_consts
            #[doc(hidden)]
            #vis const __HOLLOW_LAYOUT: #krate::__private::Layout<{ #name::__HOLLOW_N }> =
                #krate::__private::expect_layout(#krate::__private::layout(&#name::__HOLLOW_NODES));
            #[doc(hidden)]
            #vis const __HOLLOW_OFFSETS: &'static [u32] = &#name::__HOLLOW_LAYOUT.offsets;
            #[doc = #schema_doc]
            #vis const CAPNP_SCHEMA: #krate::CapnpSchema<#name> = #krate::CapnpSchema::new();
        }

        #[doc = #ref_doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #ref_name<'a> {
            reader: #krate::wire::StructReader<'a>,
        }

        #[automatically_derived]
        impl<'a> #ref_name<'a> {
            #(#getters)*
            #to_value
            /// The underlying struct reader.
            #vis fn struct_reader(&self) -> #krate::wire::StructReader<'a> {
                self.reader
            }
        }

        #[automatically_derived]
        impl<'a> ::core::fmt::Debug for #ref_name<'a> where #(#debug_bounds,)* {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#type_name)#(#debug_fields)*.finish()
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Value for #name {
            type Ref<'a> = #ref_name<'a>;
            #krate::__pointer_value_impl!();
            fn from_ref(r: #ref_name<'_>) -> ::core::result::Result<Self, #krate::NotInSchema> {
                r.to_value()
            }
            fn collect_types(schema: &mut #krate::__private::Schema) {
                if schema.insert(#krate::__private::TypeDef::Struct(
                    <Self as #krate::Struct>::struct_type(),
                )) {
                    #(<#tys as #krate::Value>::collect_types(schema);)*
                }
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::PointerValue for #name {
            fn ty() -> #krate::__private::Type {
                #krate::__private::Type::Struct(::std::string::String::from(#type_name))
            }
            #[inline]
            fn read_ptr(p: #krate::wire::PointerReader<'_>) -> #ref_name<'_> {
                #krate::__private::read_struct::<Self>(p)
            }
            fn write_ptr(&self, msg: &mut #krate::wire::MessageBuilder, ptr_word: usize) {
                #krate::__private::write_struct(self, msg, ptr_word)
            }
            fn is_default(&self) -> bool {
                false
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Element for #name {
            #krate::__list_of_elements!();
            type Item<'a> = #ref_name<'a>;
            const SIZE: #krate::wire::ElementSize = #krate::wire::ElementSize::InlineComposite;
            #[inline]
            fn get<'a>(l: &#krate::wire::ListReader<'a>, i: u32) -> #ref_name<'a> {
                #krate::__private::struct_element::<Self>(l, i)
            }
            fn write_list(items: &[Self], msg: &mut #krate::wire::MessageBuilder, ptr_word: usize) {
                #krate::__private::write_struct_list(items, msg, ptr_word)
            }
            fn from_item(r: #ref_name<'_>) -> ::core::result::Result<Self, #krate::NotInSchema> {
                r.to_value()
            }
            fn element_type() -> #krate::__private::Type {
                #krate::__private::Type::Struct(::std::string::String::from(#type_name))
            }
            fn collect_types(schema: &mut #krate::__private::Schema) {
                <Self as #krate::Value>::collect_types(schema)
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Struct for #name {
            const TYPE_NAME: &'static str = #type_name;
            const SIZE: #krate::__private::StructSize = #name::__HOLLOW_LAYOUT.size;
            #[inline]
            fn wrap(r: #krate::wire::StructReader<'_>) -> #ref_name<'_> {
                #ref_name { reader: r }
            }
            #[allow(unused_variables)]
            fn write_fields(&self, b: &mut #krate::wire::StructBuilder<'_>) {
                #(#write_fields)*
            }
            fn struct_type() -> #krate::__private::StructType {
                let ordinal = &mut 0u16;
                let mut s = #krate::__private::StructType::new(#type_name);
                s.doc = #struct_doc;
                s.is_record = #is_record;
                s.fields = ::std::vec![#(#field_ir),*];
                s.primary_key = #pk_ir;
                s.unique_keys = ::std::vec![#(#unique_ir),*];
                s.hash_indexes = ::std::vec![#(#hash_ir),*];
                let _ = ordinal;
                s
            }
            fn schema() -> &'static #krate::__private::Schema {
                static SCHEMA: ::std::sync::OnceLock<#krate::__private::Schema> =
                    ::std::sync::OnceLock::new();
                SCHEMA.get_or_init(#krate::__private::build_schema::<Self>)
            }
            fn capnp_schema() -> &'static str {
                static TEXT: ::std::sync::OnceLock<::std::string::String> =
                    ::std::sync::OnceLock::new();
                TEXT.get_or_init(#krate::__private::capnp_text::<Self>)
            }
        }

        #record_impl

        #index_impl

        #field_at

        #assert_block
    }
}
