//! `#[derive(Hollow)]` on an enum: a Cap'n Proto enum (every variant without
//! data) or a union (a variant holds one value or none).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{DataEnum, DeriveInput, Fields};

use crate::attr::{self, Container};
use crate::ctxt::Ctxt;
use crate::names::lower_camel;
use crate::types;

pub(crate) fn expand(
    cx: &mut Ctxt,
    input: &DeriveInput,
    data: &DataEnum,
    c: &Container,
    krate: &syn::Path,
) -> TokenStream {
    let name = &input.ident;
    for k in c.keys() {
        cx.syn_error(syn::Error::new(
            k.span,
            "enums cannot declare keys; put them on a struct",
        ));
    }
    if let Some(s) = c.group {
        cx.syn_error(syn::Error::new(s, "`group` applies to structs only"));
    }
    if let Some(s) = c.nested {
        cx.syn_error(syn::Error::new(s, "`nested` applies to structs only"));
    }
    if let Some(s) = c.map_key {
        cx.syn_error(syn::Error::new(
            s,
            "`map_key` applies to structs only (an enum without data is a map key as it is)",
        ));
    }
    if data.variants.is_empty() {
        cx.error_spanned_by(name, "an enum needs at least one variant");
        return quote!();
    }
    let mut seen = std::collections::HashMap::new();
    let mut names = Vec::new();
    for v in &data.variants {
        let m = attr::member(cx, &v.attrs);
        if let Some((_, span)) = &m.entry {
            cx.syn_error(syn::Error::new(
                *span,
                "`entry` names a map field's entry struct; it does not apply to a variant",
            ));
        }
        let cname = m
            .rename
            .unwrap_or_else(|| lower_camel(&v.ident.to_string()));
        if let Some(prev) = seen.insert(cname.clone(), &v.ident) {
            cx.error_spanned_by(
                &v.ident,
                format!(
                    "variants `{prev}` and `{}` both map to `{cname}`; rename one",
                    v.ident
                ),
            );
        }
        names.push(cname);
        match &v.fields {
            Fields::Unit => {}
            Fields::Unnamed(u) if u.unnamed.len() == 1 => types::check(cx, &u.unnamed[0].ty),
            Fields::Unnamed(u) => cx.error_spanned_by(
                u,
                format!(
                    "variant `{}` has {} fields; a union variant holds one value or none \
                     (wrap several values in a struct)",
                    v.ident,
                    u.unnamed.len()
                ),
            ),
            Fields::Named(n) => cx.error_spanned_by(
                n,
                format!(
                    "variant `{}` has named fields; a union variant holds one value or none: \
                     use `{}(T)` with a struct T",
                    v.ident, v.ident
                ),
            ),
        }
    }
    let type_name = c.rename.clone().unwrap_or_else(|| name.to_string());
    let is_union = data
        .variants
        .iter()
        .any(|v| !matches!(v.fields, Fields::Unit));
    if is_union {
        if data.variants.len() < 2 {
            cx.error_spanned_by(name, "a union needs at least two variants");
        }
        union(input, data, &names, &type_name, krate)
    } else {
        for (i, v) in data.variants.iter().enumerate() {
            if let Some((_, e)) = &v.discriminant {
                let ok = matches!(e, syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. })
                    if n.base10_parse::<usize>().ok() == Some(i));
                if !ok {
                    cx.error_spanned_by(
                        e,
                        format!(
                            "Cap'n Proto enumerants are numbered 0, 1, 2, … in order; \
                             this variant is number {i}"
                        ),
                    );
                }
            }
        }
        plain_enum(input, data, &names, &type_name, krate)
    }
}

fn doc_expr(attrs: &[syn::Attribute]) -> TokenStream {
    match attr::doc(attrs) {
        Some(d) => quote!(::core::option::Option::Some(::std::string::String::from(#d))),
        None => quote!(::core::option::Option::None),
    }
}

/// A Cap'n Proto enum: its conversions, `Value`, `Element`, and (an enum
/// can be a key) `KeyPart` and `HashKeyPart`.
fn plain_enum(
    input: &DeriveInput,
    data: &DataEnum,
    names: &[String],
    type_name: &str,
    krate: &syn::Path,
) -> TokenStream {
    let inherent = enum_inherent(input, data, names, type_name, krate);
    let value = enum_value_impls(&input.ident, type_name, krate);
    let key = enum_key_impls(&input.ident, names, krate);
    quote! {
        #inherent
        #value
        #key
    }
}

/// The enum's hidden conversions to and from its `u16` and its IR.
fn enum_inherent(
    input: &DeriveInput,
    data: &DataEnum,
    names: &[String],
    type_name: &str,
    krate: &syn::Path,
) -> TokenStream {
    let name = &input.ident;
    let variants: Vec<&syn::Ident> = data.variants.iter().map(|v| &v.ident).collect();
    let nums: Vec<u16> = (0..variants.len() as u16).collect();
    let docs: Vec<TokenStream> = data.variants.iter().map(|v| doc_expr(&v.attrs)).collect();
    let enum_doc = doc_expr(&input.attrs);
    quote! {
        #[automatically_derived]
        impl #name {
            #[doc(hidden)]
            #[inline]
            pub fn __hollow_from_u16(
                v: u16,
            ) -> ::core::result::Result<Self, #krate::NotInSchema> {
                match v {
                    #(#nums => ::core::result::Result::Ok(#name::#variants),)*
                    v => ::core::result::Result::Err(#krate::__private::not_in_schema(v)),
                }
            }
            #[doc(hidden)]
            #[inline]
            pub fn __hollow_to_u16(&self) -> u16 {
                match self {
                    #(#name::#variants => #nums,)*
                }
            }
            /// The wire value of an enum value as read (an unknown one's
            /// own), what its key order and key hash use.
            #[doc(hidden)]
            #[inline]
            pub fn __hollow_ref_to_u16(
                r: &::core::result::Result<Self, #krate::NotInSchema>,
            ) -> u16 {
                match r {
                    ::core::result::Result::Ok(v) => v.__hollow_to_u16(),
                    ::core::result::Result::Err(e) => e.0,
                }
            }
            #[doc(hidden)]
            pub fn __hollow_enum_type() -> #krate::__private::EnumType {
                #krate::__private::EnumType {
                    name: ::std::string::String::from(#type_name),
                    doc: #enum_doc,
                    enumerants: ::std::vec![#(#krate::__private::Enumerant {
                        name: ::std::string::String::from(#names),
                        doc: #docs,
                    }),*],
                }
            }
        }

    }
}

/// The enum's `Value` (a 16-bit slot) and `Element` (a list of 16-bit
/// values) impls.
/// `__private::Fields` of an enum or union: none, so a key path cannot
/// continue past it.
fn no_fields(name: &syn::Ident, krate: &syn::Path) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl #krate::__private::Fields for #name {
            const FIELDS: &'static [&'static str] = &[];
        }
    }
}

fn enum_value_impls(name: &syn::Ident, type_name: &str, krate: &syn::Path) -> TokenStream {
    let no_fields = no_fields(name, krate);
    quote! {
        #no_fields
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Value for #name {
            const NODES: &'static [#krate::__private::LayoutNode] =
                &[#krate::__private::LayoutNode::Data(4)];
            type Ref<'a> = ::core::result::Result<#name, #krate::NotInSchema>;
            #[inline]
            fn read<'a>(
                s: &#krate::__private::StructReader<'a>,
                offsets: &'static [u32],
            ) -> Self::Ref<'a> {
                #name::__hollow_from_u16(s.read_u16(offsets[0]))
            }
            #[inline]
            fn write(&self, b: &mut #krate::__private::StructBuilder<'_>, offsets: &[u32]) {
                b.set_u16(offsets[0], self.__hollow_to_u16());
            }
            fn from_ref(r: Self::Ref<'_>) -> ::core::result::Result<Self, #krate::NotInSchema> {
                r
            }
            fn field(name: &str, ordinal: &mut u16) -> #krate::__private::Field {
                let f = #krate::__private::Field::slot(
                    name,
                    *ordinal,
                    #krate::__private::Type::Enum(::std::string::String::from(#type_name)),
                );
                *ordinal += 1;
                f
            }
            fn collect_types(schema: &mut #krate::__private::Schema) {
                schema.insert(#krate::__private::TypeDef::Enum(#name::__hollow_enum_type()));
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Element for #name {
            #krate::__private::list_of_elements!();
            type Item<'a> = ::core::result::Result<#name, #krate::NotInSchema>;
            const SIZE: #krate::__private::ElementSize = #krate::__private::ElementSize::TwoBytes;
            #[inline]
            fn get<'a>(l: &#krate::__private::ListReader<'a>, i: u32) -> Self::Item<'a> {
                #name::__hollow_from_u16(l.u16_at(i))
            }
            fn write_list(items: &[Self], msg: &mut #krate::__private::MessageBuilder, ptr_word: usize) {
                let mut l = msg.init_list_at(
                    ptr_word,
                    #krate::__private::ElementSize::TwoBytes,
                    items.len() as u32,
                );
                for (i, item) in items.iter().enumerate() {
                    l.set_u16(i as u32, item.__hollow_to_u16());
                }
            }
            fn from_item(r: Self::Item<'_>) -> ::core::result::Result<Self, #krate::NotInSchema> {
                r
            }
            fn element_type() -> #krate::__private::Type {
                #krate::__private::Type::Enum(::std::string::String::from(#type_name))
            }
            fn collect_types(schema: &mut #krate::__private::Schema) {
                <Self as #krate::Value>::collect_types(schema)
            }
        }

    }
}

/// The enum's `KeyPart` and `HashKeyPart` impls: keyed by its number; and
/// its `MapKey` impl, ordered by its number (whatever its `Ord` says), for
/// an enum that also implements `Clone`, `Ord` and `Hash` (the bounds are
/// higher-ranked so that the impl is simply absent without them).
fn enum_key_impls(name: &syn::Ident, names: &[String], krate: &syn::Path) -> TokenStream {
    quote! {
        #[automatically_derived]
        impl #krate::MapKey for #name
        where
            for<'__hollow> #name: ::core::clone::Clone
                + ::core::cmp::Ord
                + ::core::hash::Hash,
        {
            #[inline]
            fn cmp_refs(a: &Self::Ref<'_>, b: &Self::Ref<'_>) -> ::core::cmp::Ordering {
                #name::__hollow_ref_to_u16(a).cmp(&#name::__hollow_ref_to_u16(b))
            }
            #[inline]
            fn cmp_to_ref(&self, r: &Self::Ref<'_>) -> ::core::cmp::Ordering {
                self.__hollow_to_u16().cmp(&#name::__hollow_ref_to_u16(r))
            }
            #[inline]
            fn cmp_owned(&self, other: &Self) -> ::core::cmp::Ordering {
                self.__hollow_to_u16().cmp(&other.__hollow_to_u16())
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::KeyPart for #name {
            fn clone_key(&self) -> Self {
                match #name::__hollow_from_u16(self.__hollow_to_u16()) {
                    ::core::result::Result::Ok(v) => v,
                    ::core::result::Result::Err(_) => ::core::unreachable!(),
                }
            }
            fn hash_key(&self, h: &mut #krate::KeyHasher) {
                h.write_u64(self.__hollow_to_u16() as u64);
            }
            fn hash_key_ref(r: &Self::Ref<'_>, h: &mut #krate::KeyHasher) {
                h.write_u64(#name::__hollow_ref_to_u16(r) as u64);
            }
            fn eq_key_ref(&self, r: &Self::Ref<'_>) -> bool {
                match r {
                    ::core::result::Result::Ok(v) => v.__hollow_to_u16() == self.__hollow_to_u16(),
                    ::core::result::Result::Err(_) => false,
                }
            }
            #[inline]
            fn eq_refs(a: &Self::Ref<'_>, b: &Self::Ref<'_>) -> bool {
                #name::__hollow_ref_to_u16(a) == #name::__hollow_ref_to_u16(b)
            }
            fn describe_key(&self) -> ::std::string::String {
                let names: &[&str] = &[#(#names),*];
                ::std::string::String::from(names[self.__hollow_to_u16() as usize])
            }
        }

        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::HashKeyPart for #name {
            type Elem = Self;
            #[inline]
            fn each_key_ref<F: ::core::ops::FnMut(&[u8])>(
                r: &Self::Ref<'_>,
                h: &mut #krate::KeyHasher,
                f: &mut F,
            ) {
                #krate::__private::each_scalar_key::<Self, F>(r, h, f)
            }
        }
    }
}

/// A union's variants, as the generated items need them.
struct UnionModel<'a> {
    name: &'a syn::Ident,
    vis: &'a syn::Visibility,
    ref_name: syn::Ident,
    type_name: &'a str,
    krate: &'a syn::Path,
    data: &'a DataEnum,
    /// Cap'n Proto member names.
    names: &'a [String],
    variants: Vec<&'a syn::Ident>,
    /// Each variant's value type (`()` for a unit variant).
    vtys: Vec<syn::Type>,
    /// Whether each variant holds a value.
    has_value: Vec<bool>,
}

fn union(
    input: &DeriveInput,
    data: &DataEnum,
    names: &[String],
    type_name: &str,
    krate: &syn::Path,
) -> TokenStream {
    let unit: syn::Type = syn::parse_quote!(());
    let m = UnionModel {
        name: &input.ident,
        vis: &input.vis,
        ref_name: format_ident!("{}Ref", input.ident),
        type_name,
        krate,
        data,
        names,
        variants: data.variants.iter().map(|v| &v.ident).collect(),
        vtys: data
            .variants
            .iter()
            .map(|v| match &v.fields {
                Fields::Unnamed(u) if u.unnamed.len() == 1 => u.unnamed[0].ty.clone(),
                _ => unit.clone(),
            })
            .collect(),
        has_value: data
            .variants
            .iter()
            .map(|v| matches!(&v.fields, Fields::Unnamed(u) if u.unnamed.len() == 1))
            .collect(),
    };
    let consts = union_consts(&m);
    let ref_type = union_ref_type(&m);
    let value = union_value_impl(&m);
    quote! {
        #consts
        #ref_type
        #value
    }
}

/// The union's layout constants: its layout nodes and where each member's
/// start.
fn union_consts(m: &UnionModel<'_>) -> TokenStream {
    let (name, vis, krate, vtys) = (m.name, m.vis, m.krate, &m.vtys);
    let n = m.variants.len();
    quote! {
        #[automatically_derived]
        impl #name {
            #[doc(hidden)]
            #vis const __HOLLOW_N: usize = #krate::__private::total_len(
                &[&[#krate::__private::LayoutNode::Union(#n as u16)], #(<#vtys as #krate::Value>::NODES),*]
            );
            #[doc(hidden)]
            #vis const __HOLLOW_NODES: [#krate::__private::LayoutNode; #name::__HOLLOW_N] =
                #krate::__private::concat::<{ #name::__HOLLOW_N }>(
                    &[&[#krate::__private::LayoutNode::Union(#n as u16)], #(<#vtys as #krate::Value>::NODES),*]
                );
            #[doc(hidden)]
            #vis const __HOLLOW_BASE: [usize; #n] =
                #krate::__private::member_bases::<#n>(&#name::__HOLLOW_NODES, 0);
        }
    }
}

/// The accessor enum (`ReadingRef<'a>`) with its `Clone`, `Copy` and
/// `Debug` impls.
fn union_ref_type(m: &UnionModel<'_>) -> TokenStream {
    let (name, vis, krate, ref_name) = (m.name, m.vis, m.krate, &m.ref_name);
    let ref_variants = m.variants.iter().enumerate().map(|(i, v)| {
        let attrs = m.data.variants[i]
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"));
        if m.has_value[i] {
            let rt = types::ref_type(krate, &m.vtys[i]);
            quote!(#(#attrs)* #v(#rt))
        } else {
            quote!(#(#attrs)* #v)
        }
    });
    let debug_arms = m.variants.iter().enumerate().map(|(i, v)| {
        let vname = v.to_string();
        if m.has_value[i] {
            quote!(#ref_name::#v(x) => f.debug_tuple(#vname).field(x).finish(),)
        } else {
            quote!(#ref_name::#v => f.write_str(#vname),)
        }
    });
    let debug_bounds = m
        .vtys
        .iter()
        .map(|t| quote!(<#t as #krate::Value>::Ref<'a>: ::core::fmt::Debug));
    let copy_bounds: Vec<TokenStream> = m
        .vtys
        .iter()
        .map(|t| quote!(<#t as #krate::Value>::Ref<'a>: ::core::marker::Copy))
        .collect();
    let ref_doc = format!("A [`{name}`] read in place: the member that is set, with its value.");
    quote! {
        #[doc = #ref_doc]
        #vis enum #ref_name<'a> {
            #(#ref_variants,)*
            #[doc(hidden)]
            __Unreachable(::core::marker::PhantomData<&'a ()>, ::core::convert::Infallible),
        }

        #[automatically_derived]
        impl<'a> ::core::clone::Clone for #ref_name<'a> where #(#copy_bounds,)* {
            fn clone(&self) -> Self {
                *self
            }
        }

        #[automatically_derived]
        impl<'a> ::core::marker::Copy for #ref_name<'a> where #(#copy_bounds,)* {}

        #[automatically_derived]
        impl<'a> ::core::fmt::Debug for #ref_name<'a> where #(#debug_bounds,)* {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self {
                    #(#debug_arms)*
                    #ref_name::__Unreachable(_, never) => match *never {},
                }
            }
        }
    }
}

/// The match arms of the union's `Value` impl: `(read, write, from_ref)`.
fn union_arms(m: &UnionModel<'_>) -> (Vec<TokenStream>, Vec<TokenStream>, Vec<TokenStream>) {
    let (name, krate, ref_name) = (m.name, m.krate, &m.ref_name);
    let mut read = Vec::new();
    let mut write = Vec::new();
    let mut owned = Vec::new();
    for (i, v) in m.variants.iter().enumerate() {
        let (ty, num) = (&m.vtys[i], i as u16);
        if m.has_value[i] {
            read.push(quote!(#num => ::core::result::Result::Ok(#ref_name::#v(
                <#ty as #krate::Value>::read(s, &offsets[#name::__HOLLOW_BASE[#i]..])
            )),));
            write.push(quote!(#name::#v(x) => {
                b.set_u16(offsets[0], #num);
                <#ty as #krate::Value>::write(x, b, &offsets[#name::__HOLLOW_BASE[#i]..]);
            }));
            owned
                .push(quote!(#ref_name::#v(x) => #name::#v(<#ty as #krate::Value>::from_ref(x)?),));
        } else {
            read.push(quote!(#num => ::core::result::Result::Ok(#ref_name::#v),));
            write.push(quote!(#name::#v => b.set_u16(offsets[0], #num),));
            owned.push(quote!(#ref_name::#v => #name::#v,));
        }
    }
    (read, write, owned)
}

/// The union's `Value` impl: a discriminant and its members in the
/// parent's sections, its IR a `Union` field.
fn union_value_impl(m: &UnionModel<'_>) -> TokenStream {
    let (name, krate, ref_name, type_name, vtys) =
        (m.name, m.krate, &m.ref_name, m.type_name, &m.vtys);
    let (read_arms, write_arms, owned_arms) = union_arms(m);
    let field_ir = m.vtys.iter().enumerate().map(|(i, ty)| {
        let cname = &m.names[i];
        let doc = doc_expr(&m.data.variants[i].attrs);
        quote! {{
            let mut f = <#ty as #krate::Value>::field(#cname, ordinal);
            f.doc = #doc;
            f
        }}
    });
    let no_fields = no_fields(name, krate);
    quote! {
        #no_fields
        #[automatically_derived]
        #[diagnostic::do_not_recommend]
        impl #krate::Value for #name {
            const NODES: &'static [#krate::__private::LayoutNode] = &#name::__HOLLOW_NODES;
            type Ref<'a> = ::core::result::Result<#ref_name<'a>, #krate::NotInSchema>;
            #[inline]
            fn read<'a>(
                s: &#krate::__private::StructReader<'a>,
                offsets: &'static [u32],
            ) -> Self::Ref<'a> {
                match s.read_u16(offsets[0]) {
                    #(#read_arms)*
                    v => ::core::result::Result::Err(#krate::__private::not_in_schema(v)),
                }
            }
            fn write(&self, b: &mut #krate::__private::StructBuilder<'_>, offsets: &[u32]) {
                match self {
                    #(#write_arms)*
                }
            }
            fn from_ref(r: Self::Ref<'_>) -> ::core::result::Result<Self, #krate::NotInSchema> {
                ::core::result::Result::Ok(match r? {
                    #(#owned_arms)*
                    #ref_name::__Unreachable(_, never) => match never {},
                })
            }
            fn field(name: &str, ordinal: &mut u16) -> #krate::__private::Field {
                #krate::__private::Field {
                    name: ::std::string::String::from(name),
                    doc: ::core::option::Option::None,
                    kind: #krate::__private::FieldKind::Union(#krate::__private::Union {
                        type_name: ::core::option::Option::Some(
                            ::std::string::String::from(#type_name),
                        ),
                        discriminant_offset: 0,
                        variants: ::std::vec![#(#field_ir),*],
                    }),
                }
            }
            fn collect_types(schema: &mut #krate::__private::Schema) {
                #(<#vtys as #krate::Value>::collect_types(schema);)*
            }
        }
    }
}
