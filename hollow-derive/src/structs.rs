//! `#[derive(Hollow)]` on a struct: a record type, a nested struct
//! (`#[hollow(nested)]`) or a group (`#[hollow(group)]`).
//!
//! The input is parsed into a [`StructModel`] first (`model.rs`); each
//! function here generates one item from it. Groups and structs share the
//! accessor, `Debug` and `FieldAt` templates; they differ in where a field's
//! offsets come from and in their `Value` impl.

use proc_macro2::{Delimiter, Group, Span, TokenStream, TokenTree};
use quote::quote;
use syn::{DeriveInput, FieldsNamed};

use crate::attr::Container;
use crate::ctxt::Ctxt;
use crate::keys::respan;
use crate::model::{self, StructKind, StructModel};
use crate::types::as_value;

/// `tokens` in delimiters spanned at `span` (the tokens keep theirs).
fn delimited(delimiter: Delimiter, tokens: TokenStream, span: Span) -> TokenStream {
    let mut g = Group::new(delimiter, tokens);
    g.set_span(span);
    TokenTree::Group(g).into()
}

/// `Some(String::from(doc))` or `None`.
fn doc_expr(doc: Option<&String>) -> TokenStream {
    match doc {
        Some(d) => quote!(::core::option::Option::Some(::std::string::String::from(#d))),
        None => quote!(::core::option::Option::None),
    }
}

pub(crate) fn expand(
    cx: &mut Ctxt,
    input: &DeriveInput,
    fields: &FieldsNamed,
    c: &Container,
    krate: &syn::Path,
) -> TokenStream {
    let m = model::parse(cx, input, fields, c, krate);
    let ref_type = ref_type(&m);
    let debug = debug_impl(&m);
    let field_at = field_at_impls(&m);
    if m.is_group() {
        let consts = layout_consts(&m);
        let value = group_value_impl(&m);
        let name = m.name;
        return quote! {
            #[automatically_derived]
            impl #name {
                #consts
            }
            #ref_type
            #debug
            #value
            #field_at
        };
    }
    let consts = struct_consts(&m);
    let value = struct_value_impls(&m);
    let struct_impl = struct_impl(&m);
    let map_key = if m.map_key {
        map_key_impl(&m)
    } else {
        quote!()
    };
    let (record, indexes) = if m.kind == StructKind::Record {
        let pk = m.pk.as_ref();
        (
            record_impl(&m),
            crate::indexes::expand(cx, krate, m.name, m.vis, pk, &m.uniques, &m.hashes),
        )
    } else {
        (quote!(), quote!())
    };
    quote! {
        #consts
        #ref_type
        #debug
        #value
        #struct_impl
        #map_key
        #record
        #indexes
        #field_at
    }
}

/// The layout constants every struct and group has: its layout nodes and
/// where each field's start.
fn layout_consts(m: &StructModel<'_>) -> TokenStream {
    let (name, vis, krate) = (m.name, m.vis, m.krate);
    let n_fields = m.fields.len();
    let nodes = m
        .fields
        .iter()
        .map(|f| as_value(krate, f.ty, quote!(NODES)));
    let (prefix, base_start) = if m.is_group() {
        (
            quote!(&[#krate::__private::LayoutNode::Group(#n_fields as u16)],),
            quote!(0),
        )
    } else {
        (quote!(), quote!(usize::MAX))
    };
    let node_parts = quote!(&[#prefix #(#nodes),*]);
    quote! {
        #[doc(hidden)]
        #vis const __HOLLOW_N: usize = #krate::__private::total_len(#node_parts);
        #[doc(hidden)]
        #vis const __HOLLOW_NODES: [#krate::__private::LayoutNode; #name::__HOLLOW_N] =
            #krate::__private::concat::<{ #name::__HOLLOW_N }>(#node_parts);
        #[doc(hidden)]
        #vis const __HOLLOW_BASE: [usize; #n_fields] =
            #krate::__private::member_bases::<#n_fields>(&#name::__HOLLOW_NODES, #base_start);
    }
}

/// A struct's inherent constants: layout, offsets, the key path checks and
/// `CAPNP_SCHEMA`.
fn struct_consts(m: &StructModel<'_>) -> TokenStream {
    let (name, vis, krate) = (m.name, m.vis, m.krate);
    let consts = layout_consts(m);
    let mut path_consts = TokenStream::new();
    let mut const_names = std::collections::HashSet::new();
    for p in m.keys().flat_map(|k| &k.paths) {
        for (n, def) in &p.consts {
            if const_names.insert(n.clone()) {
                path_consts.extend(def.clone());
            }
        }
    }
    let schema_doc = format!(
        "The Cap'n Proto schema text equivalent to [`{name}`] and the types it uses: \
         the official compiler lays it out exactly as `{name}` is encoded."
    );
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
    }
}

/// The accessor type (`MovieRef<'a>`): its getters and `to_value()`; a
/// struct's also gives its reader, a group's carries its parent's offsets.
fn ref_type(m: &StructModel<'_>) -> TokenStream {
    let (name, vis, krate, ref_name) = (m.name, m.vis, m.krate, &m.ref_name);
    let getters = m.fields.iter().enumerate().map(|(i, f)| {
        let (ident, ty) = (f.ident, f.ty);
        let rt = crate::types::ref_type(krate, ty);
        let read = m.read_field(i, &quote!(self));
        let doc = if f.doc_attrs.is_empty() {
            let fallback = format!("The `{}` field.", f.cname);
            quote!(#[doc = #fallback])
        } else {
            let d = &f.doc_attrs;
            quote!(#(#d)*)
        };
        quote! {
            #doc
            #[inline]
            #vis fn #ident(&self) -> #rt {
                #read
            }
        }
    });
    let idents: Vec<&syn::Ident> = m.fields.iter().map(|f| f.ident).collect();
    let from_refs = m.fields.iter().enumerate().map(|(i, f)| {
        let read = m.read_field(i, &quote!(self));
        as_value(krate, f.ty, quote!(from_ref(#read)))
    });
    let ref_doc =
        format!("Zero-copy accessor for [`{name}`]: each getter reads its field in place.");
    let (offsets_field, reader_fn) = if m.is_group() {
        (quote!(offsets: &'static [u32],), quote!())
    } else {
        (
            quote!(),
            quote! {
                /// The underlying struct reader.
                #vis fn struct_reader(&self) -> #krate::__private::StructReader<'a> {
                    self.reader
                }
            },
        )
    };
    quote! {
        #[doc = #ref_doc]
        #[derive(::core::clone::Clone, ::core::marker::Copy)]
        #vis struct #ref_name<'a> {
            reader: #krate::__private::StructReader<'a>,
            #offsets_field
        }

        #[automatically_derived]
        impl<'a> #ref_name<'a> {
            #(#getters)*
            /// Copies the record out into an owned [`#name`].
            ///
            /// # Errors
            /// An enum value or union member unknown to this schema (written by
            /// a newer one).
            #vis fn to_value(&self) -> ::core::result::Result<#name, #krate::NotInSchema> {
                ::core::result::Result::Ok(#name {
                    #(#idents: #from_refs?,)*
                })
            }
            #reader_fn
        }
    }
}

/// `Debug` for the accessor: the fields as read, by Cap'n Proto name, for
/// field types whose accessor values are `Debug` (`DebugField`, which does
/// not ask them to be `Value`s: a field type that is not one is reported by
/// its getter alone).
fn debug_impl(m: &StructModel<'_>) -> TokenStream {
    let (krate, ref_name, type_name) = (m.krate, &m.ref_name, &m.type_name);
    let debug_field = quote!(#krate::__private::DebugField<'a>);
    let fields = m.fields.iter().enumerate().map(|(i, f)| {
        let (ty, cname, offs) = (f.ty, &f.cname, m.offsets_of(i, &quote!(self)));
        quote!(<#ty as #debug_field>::debug_field(&mut d, #cname, &self.reader, #offs);)
    });
    let tys = m.fields.iter().map(|f| f.ty);
    quote! {
        #[automatically_derived]
        impl<'a> ::core::fmt::Debug for #ref_name<'a>
        where
            #(#tys: #debug_field,)*
        {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                let mut d = f.debug_struct(#type_name);
                #(#fields)*
                d.finish()
            }
        }
    }
}

/// The IR of each field (`Field` values, numbered through `ordinal`).
fn field_irs(m: &StructModel<'_>) -> Vec<TokenStream> {
    let krate = m.krate;
    m.fields
        .iter()
        .map(|f| {
            let (cname, entry) = (&f.cname, &f.entry);
            let field = as_value(krate, f.ty, quote!(field_in(#cname, ordinal, #entry)));
            let doc = doc_expr(f.doc.as_ref());
            quote! {{
                let mut f = #field;
                f.doc = #doc;
                f
            }}
        })
        .collect()
}

/// `FieldAt` for each field (how nested key paths reach it) and `Fields`
/// (the names such a path is checked against).
fn field_at_impls(m: &StructModel<'_>) -> TokenStream {
    let (name, krate) = (m.name, m.krate);
    let field_at = m.fields.iter().enumerate().map(|(i, f)| {
        let (ty, ident, cname) = (f.ty, f.ident, &f.cname);
        let r = as_value(krate, ty, quote!(Ref<'a>));
        let read = m.read_field(i, &quote!(r));
        let rust = f.rust_name();
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
                fn get_ref<'a>(r: &<Self as #krate::Value>::Ref<'a>) -> #r {
                    #read
                }
            }
        }
    });
    let rust_names = m.fields.iter().map(|f| f.rust_name());
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::__private::Fields for #name {
            const FIELDS: &'static [&'static str] = &[#(#rust_names),*];
        }
        #(#field_at)*
    }
}

/// Adding each field's types to `schema` (a map field's entry struct
/// under its name).
fn collect_types(m: &StructModel<'_>) -> Vec<TokenStream> {
    m.fields
        .iter()
        .map(|f| {
            let entry = &f.entry;
            as_value(m.krate, f.ty, quote!(collect_types_in(schema, #entry)))
        })
        .collect()
}

/// A `#[hollow(map_key)]` struct's `MapKey` impl: field by field in
/// declaration (ordinal) order, each by its own key order.
fn map_key_impl(m: &StructModel<'_>) -> TokenStream {
    let (krate, name) = (m.krate, m.name);
    let key = quote!(#krate::MapKey);
    let refs = m.fields.iter().map(|f| {
        let (ty, ident) = (f.ty, f.ident);
        quote!(.then_with(|| <#ty as #key>::cmp_refs(&a.#ident(), &b.#ident())))
    });
    let to_ref = m.fields.iter().map(|f| {
        let (ty, ident) = (f.ty, f.ident);
        quote!(.then_with(|| <#ty as #key>::cmp_to_ref(&self.#ident, &r.#ident())))
    });
    let owned = m.fields.iter().map(|f| {
        let (ty, ident) = (f.ty, f.ident);
        quote!(.then_with(|| <#ty as #key>::cmp_owned(&self.#ident, &other.#ident)))
    });
    let equal = quote!(::core::cmp::Ordering::Equal);
    let flat = m.fields.iter().map(|f| {
        let ty = f.ty;
        let msg = format!(
            "field `{}` of #[hollow(map_key)] struct `{name}` is itself a composite key; \
             a composite key's fields may be bool, integers, String, Vec<u8> and derived enums",
            f.ident
        );
        respan(
            quote!(
                const _: () = ::core::assert!(!<#ty as #key>::COMPOSITE, #msg);
            ),
            syn::spanned::Spanned::span(ty),
        )
    });
    quote! {
        #(#flat)*
        #[automatically_derived]
        impl #key for #name {
            const COMPOSITE: bool = true;
            fn cmp_refs(
                a: &<Self as #krate::Value>::Ref<'_>,
                b: &<Self as #krate::Value>::Ref<'_>,
            ) -> ::core::cmp::Ordering {
                #equal #(#refs)*
            }
            fn cmp_to_ref(&self, r: &<Self as #krate::Value>::Ref<'_>) -> ::core::cmp::Ordering {
                #equal #(#to_ref)*
            }
            fn cmp_owned(&self, other: &Self) -> ::core::cmp::Ordering {
                #equal #(#owned)*
            }
        }
    }
}

/// A group's `Value` impl: read and written in the parent's sections, its
/// IR a `Group` field.
fn group_value_impl(m: &StructModel<'_>) -> TokenStream {
    let (name, krate, ref_name, type_name) = (m.name, m.krate, &m.ref_name, &m.type_name);
    let collect = collect_types(m);
    let write_members = m.fields.iter().enumerate().map(|(i, f)| {
        let ident = f.ident;
        let write = quote!(write(&self.#ident, b, &offsets[#name::__HOLLOW_BASE[#i]..]));
        let write = as_value(krate, f.ty, write);
        quote!(#write;)
    });
    let field_ir = field_irs(m);
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Value for #name {
            const NODES: &'static [#krate::__private::LayoutNode] = &#name::__HOLLOW_NODES;
            type Ref<'a> = #ref_name<'a>;
            #[inline]
            fn read<'a>(
                s: &#krate::__private::StructReader<'a>,
                offsets: &'static [u32],
            ) -> #ref_name<'a> {
                #ref_name { reader: *s, offsets }
            }
            fn write(&self, b: &mut #krate::__private::StructBuilder<'_>, offsets: &[u32]) {
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
                #(#collect;)*
            }
        }
    }
}

/// A struct's `Value`, `PointerValue` and `Element` impls: stored behind a
/// pointer, in lists as an inline composite.
fn struct_value_impls(m: &StructModel<'_>) -> TokenStream {
    let (krate, ref_name, type_name, name) = (m.krate, &m.ref_name, &m.type_name, m.name);
    let collect = collect_types(m);
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Value for #name {
            type Ref<'a> = #ref_name<'a>;
            #krate::__private::pointer_value_impl!();
            fn from_ref(r: #ref_name<'_>) -> ::core::result::Result<Self, #krate::NotInSchema> {
                r.to_value()
            }
            fn collect_types(schema: &mut #krate::__private::Schema) {
                if schema.insert(#krate::__private::TypeDef::Struct(
                    <Self as #krate::Struct>::struct_type(),
                )) {
                    #(#collect;)*
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
            fn read_ptr(p: #krate::__private::PointerReader<'_>) -> #ref_name<'_> {
                #krate::__private::read_struct::<Self>(p)
            }
            fn write_ptr(&self, msg: &mut #krate::__private::MessageBuilder, ptr_word: usize) {
                #krate::__private::write_struct(self, msg, ptr_word)
            }
            fn is_default(&self) -> bool {
                false
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Element for #name {
            #krate::__private::list_of_elements!();
            type Item<'a> = #ref_name<'a>;
            const SIZE: #krate::__private::ElementSize = #krate::__private::ElementSize::InlineComposite;
            #[inline]
            fn get<'a>(l: &#krate::__private::ListReader<'a>, i: u32) -> #ref_name<'a> {
                #krate::__private::struct_element::<Self>(l, i)
            }
            fn write_list(items: &[Self], msg: &mut #krate::__private::MessageBuilder, ptr_word: usize) {
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
    }
}

/// A struct's `Struct` impl: size, encoding, and its IR with keys.
fn struct_impl(m: &StructModel<'_>) -> TokenStream {
    let (krate, ref_name, type_name, name) = (m.krate, &m.ref_name, &m.type_name, m.name);
    let write_fields = m.fields.iter().enumerate().map(|(i, f)| {
        let ident = f.ident;
        let offsets = quote!(&#name::__HOLLOW_OFFSETS[#name::__HOLLOW_BASE[#i]..]);
        let write = as_value(krate, f.ty, quote!(write(&self.#ident, b, #offsets)));
        quote!(#write;)
    });
    let field_ir = field_irs(m);
    let struct_doc = doc_expr(m.doc.as_ref());
    let is_record = m.kind == StructKind::Record;
    let pk_ir = match &m.pk {
        Some(k) => {
            let ir = k.ir(krate);
            quote!(::core::option::Option::Some(#ir))
        }
        None => quote!(::core::option::Option::None),
    };
    let unique_ir = m.uniques.iter().map(|k| k.ir(krate));
    let hash_ir = m.hashes.iter().map(|k| k.ir(krate));
    quote! {
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Struct for #name {
            const TYPE_NAME: &'static str = #type_name;
            const SIZE: #krate::__private::StructSize = #name::__HOLLOW_LAYOUT.size;
            #[inline]
            fn wrap(r: #krate::__private::StructReader<'_>) -> #ref_name<'_> {
                #ref_name { reader: r }
            }
            #[allow(unused_variables)]
            fn write_fields(&self, b: &mut #krate::__private::StructBuilder<'_>) {
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
    }
}

/// Where errors about the primary key's types point: its one path, or the
/// attribute (a key type that is not well-formed is also reported on the
/// `Record` items).
fn pk_span(m: &StructModel<'_>) -> Span {
    match (&m.pk, m.pk_span) {
        (Some(k), _) if k.paths.len() == 1 => k.paths[0].span,
        (_, Some(span)) => span,
        _ => Span::call_site(),
    }
}

/// The primary key's associated types and extraction bodies:
/// `(PrimaryKey, PrimaryKeyRef<'a>, primary_key body, primary_key_ref body)`.
fn pk_types(m: &StructModel<'_>) -> (TokenStream, TokenStream, TokenStream, TokenStream) {
    let krate = m.krate;
    let sig_span = pk_span(m);
    let (ty, ref_ty, owned, by_ref) = match &m.pk {
        Some(k) if k.paths.len() == 1 => {
            let p = &k.paths[0];
            let (ty, by_ref) = (&p.ty, &p.by_ref);
            (
                quote!(#ty),
                p.ref_ty(krate),
                p.clone_key(krate),
                quote!(#by_ref),
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
            )
        }
        // Empty bodies (not `{ () }`, which trips clippy::unused_unit in
        // the user's crate).
        None => (quote!(()), quote!(()), quote!(), quote!()),
    };
    (
        ty,
        ref_ty,
        delimited(Delimiter::Brace, owned, sig_span),
        delimited(Delimiter::Brace, by_ref, sig_span),
    )
}

/// Hashing, comparing and describing the primary key, given an expression
/// borrowing each key part: the parts of an owned record (`&self.id`) or
/// of a key given on its own (`key`, `&key.0`). Returns `(hash, eq,
/// describe)` bodies.
fn pk_code(m: &StructModel<'_>, parts: &[TokenStream]) -> (TokenStream, TokenStream, TokenStream) {
    let krate = m.krate;
    let Some(k) = &m.pk else {
        return (
            quote!(0),
            quote!(false),
            quote!(::std::string::String::from("(no primary key)")),
        );
    };
    let by_ref: Vec<&TokenStream> = k.paths.iter().map(|p| &p.by_ref).collect();
    let labels: Vec<&String> = k.paths.iter().map(|p| &p.label).collect();
    let key_fn = |item: TokenStream| -> Vec<TokenStream> {
        k.paths
            .iter()
            .map(|p| p.qualified(quote!(#krate::KeyPart), item.clone()))
            .collect()
    };
    let (hash, eq, describe) = (
        key_fn(quote!(hash_key)),
        key_fn(quote!(eq_key_ref)),
        key_fn(quote!(describe_key)),
    );
    (
        quote! {
            let mut h = #krate::KeyHasher::new();
            #(#hash(#parts, &mut h);)*
            h.finish()
        },
        quote!(true #(&& #eq(#parts, &#by_ref))*),
        quote! {
            let parts: ::std::vec::Vec<::std::string::String> = ::std::vec![
                #(::std::format!("{}={}", #labels, #describe(#parts))),*
            ];
            parts.join(", ")
        },
    )
}

/// Expressions borrowing each primary key part: of an owned record, and of
/// a key given on its own.
fn pk_parts(m: &StructModel<'_>) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let Some(k) = &m.pk else {
        return (Vec::new(), Vec::new());
    };
    let owned = k.paths.iter().map(|p| p.owned.clone()).collect();
    let given = if k.paths.len() == 1 {
        vec![quote!(key)]
    } else {
        (0..k.paths.len())
            .map(|i| {
                let i = syn::Index::from(i);
                quote!(&key.#i)
            })
            .collect()
    };
    (owned, given)
}

/// A record's `Record` impl: its primary key, typed and hashed.
fn record_impl(m: &StructModel<'_>) -> TokenStream {
    let (krate, name) = (m.krate, m.name);
    let sig_span = pk_span(m);
    let has_pk = m.pk.is_some();
    let (pk_ty, pk_ref_ty, pk_body, pk_ref_body) = pk_types(m);
    let pk_sig = respan(quote!(fn primary_key(&self) -> Self::PrimaryKey), sig_span);
    let pk_ref_sig = respan(
        quote! {
            fn primary_key_ref<'a>(
                r: &<Self as #krate::Value>::Ref<'a>,
            ) -> Self::PrimaryKeyRef<'a>
        },
        sig_span,
    );
    let (owned_parts, given_parts) = pk_parts(m);
    let (pk_hash, pk_eq, pk_describe) = pk_code(m, &owned_parts);
    let (key_hash, key_is, key_describe) = pk_code(m, &given_parts);
    let pk_hash_ref = match &m.pk {
        Some(k) => {
            let hash = k
                .paths
                .iter()
                .map(|p| p.qualified(quote!(#krate::KeyPart), quote!(hash_key_ref)));
            let by_ref = k.paths.iter().map(|p| &p.by_ref);
            quote! {
                let mut h = #krate::KeyHasher::new();
                #(#hash(&#by_ref, &mut h);)*
                h.finish()
            }
        }
        None => quote!(0),
    };
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
}
