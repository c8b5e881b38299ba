//! What the derive can tell about a field type from its syntax: unsupported
//! types (reported with a span on the type) and the concrete getter type.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

use crate::ctxt::Ctxt;

/// The last path segment's name and its single generic type argument.
fn path_parts(ty: &Type) -> Option<(String, Option<&Type>)> {
    let Type::Path(p) = ty else { return None };
    if p.qself.is_some() {
        return None;
    }
    let seg = p.path.segments.last()?;
    let arg = match &seg.arguments {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match &a.args[0] {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        },
        _ => None,
    };
    Some((seg.ident.to_string(), arg))
}

const PRIMITIVES: &[&str] = &[
    "bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64",
];

/// Whether `ty` is written as a float.
pub(crate) fn is_float(ty: &Type) -> bool {
    matches!(path_parts(ty), Some((n, None)) if n == "f32" || n == "f64")
}

/// Whether `ty` is written as a list (`Vec<T>` other than `Vec<u8>`).
pub(crate) fn is_list(ty: &Type) -> bool {
    match path_parts(ty) {
        Some((n, Some(inner))) if n == "Vec" => {
            !matches!(path_parts(inner), Some((i, None)) if i == "u8")
        }
        _ => false,
    }
}

/// The last path segment's name and its two generic type arguments
/// (`BTreeMap<K, V>`).
fn two_args(ty: &Type) -> Option<(String, &Type, &Type)> {
    let Type::Path(p) = ty else { return None };
    let seg = p.path.segments.last()?;
    let PathArguments::AngleBracketed(a) = &seg.arguments else {
        return None;
    };
    match (a.args.len(), a.args.first(), a.args.last()) {
        (2, Some(GenericArgument::Type(k)), Some(GenericArgument::Type(v))) => {
            Some((seg.ident.to_string(), k, v))
        }
        _ => None,
    }
}

/// Whether `ty` is written as a map (`BTreeMap<K, V>`, `HashMap<K, V>`).
pub(crate) fn is_map(ty: &Type) -> bool {
    matches!(two_args(ty), Some((n, _, _)) if n == "BTreeMap" || n == "HashMap")
}

/// Reports types that can never be fields, with the reason.
pub(crate) fn check(cx: &mut Ctxt, ty: &Type) {
    match ty {
        Type::Reference(_) => cx.error_spanned_by(
            ty,
            "references cannot be Hollow fields; use an owned type (String, Vec<u8>, Vec<T>)",
        ),
        Type::Tuple(t) if !t.elems.is_empty() => cx.error_spanned_by(
            ty,
            "tuples cannot be Hollow fields; use a struct with #[derive(Hollow)]",
        ),
        Type::Array(_) | Type::Slice(_) => cx.error_spanned_by(
            ty,
            "arrays and slices cannot be Hollow fields; use Vec<T> (a Cap'n Proto List)",
        ),
        Type::Path(_) => {
            let Some((name, arg)) = path_parts(ty) else {
                return;
            };
            match name.as_str() {
                "usize" | "isize" => cx.error_spanned_by(
                    ty,
                    format!("`{name}` has no fixed width on the wire; use u64/i64 or u32/i32"),
                ),
                "i128" | "u128" => cx.error_spanned_by(
                    ty,
                    format!("`{name}` is not a Cap'n Proto type; the widest integers are 64-bit"),
                ),
                "char" => cx.error_spanned_by(ty, "`char` is not supported; use String or u32"),
                "Box" | "Rc" | "Arc" | "Cow" | "VecDeque" => cx.error_spanned_by(
                    ty,
                    format!(
                        "`{name}` cannot be a Hollow field; supported: bool, integers, f32/f64, \
                         String, Vec<u8>, Vec<T>, BTreeSet<T>, HashSet<T>, BTreeMap<K, V>, \
                         HashMap<K, V>, Option<T> of a pointer type, derived types"
                    ),
                ),
                "Option" => {
                    if let Some(inner) = arg {
                        if is_map(inner) {
                            cx.error_spanned_by(
                                ty,
                                "`Option` of a map is not supported; use the map (an empty \
                                 map is stored as a null pointer)",
                            );
                            return;
                        }
                        if let Some((i, None)) = path_parts(inner) {
                            if PRIMITIVES.contains(&i.as_str()) {
                                cx.error_spanned_by(
                                    ty,
                                    format!(
                                        "`Option<{i}>` is not supported: only pointer types \
                                         (String, Vec<u8>, Vec<T>, structs) can be optional"
                                    ),
                                );
                                return;
                            }
                        }
                        check(cx, inner);
                    }
                }
                "Vec" => {
                    if let Some(inner) = arg {
                        if is_map(inner) {
                            cx.error_spanned_by(
                                ty,
                                "maps cannot be list elements; make the element a struct with \
                                 #[derive(Hollow)] holding the map",
                            );
                            return;
                        }
                        if matches!(path_parts(inner), Some((i, _)) if i == "Option") {
                            cx.error_spanned_by(
                                ty,
                                "lists of Option are not supported (Cap'n Proto list elements \
                                 cannot be null)",
                            );
                            return;
                        }
                        check(cx, inner);
                    }
                }
                _ => {}
            }
        }
        _ => {}
    }
}

/// The getter's return type, spelled concretely where the syntax allows
/// (`u64`, `&'a str`, `List<'a, T>`), else as `<T as Value>::Ref<'a>`.
pub(crate) fn ref_type(krate: &syn::Path, ty: &Type) -> TokenStream {
    if let Some((name, k, v)) = two_args(ty) {
        if name == "BTreeMap" || name == "HashMap" {
            // Spanned at the field, as for `Vec<T>`.
            return crate::keys::respan(
                quote!(#krate::MapRef<'a, #k, #v>),
                syn::spanned::Spanned::span(ty),
            );
        }
    }
    if let Some((name, arg)) = path_parts(ty) {
        match (name.as_str(), arg) {
            (n, None) if PRIMITIVES.contains(&n) => return quote!(#ty),
            ("String", None) => return quote!(&'a str),
            ("Vec", Some(inner)) => {
                if matches!(path_parts(inner), Some((i, None)) if i == "u8") {
                    return quote!(&'a [u8]);
                }
                // Spanned at the field: an element type that cannot be one
                // is reported there.
                return crate::keys::respan(
                    quote!(#krate::List<'a, #inner>),
                    syn::spanned::Spanned::span(ty),
                );
            }
            ("BTreeSet" | "HashSet", Some(inner)) => {
                // Spanned at the field, as for `Vec<T>`.
                return crate::keys::respan(
                    quote!(#krate::SetRef<'a, #inner>),
                    syn::spanned::Spanned::span(ty),
                );
            }
            ("Option", Some(inner)) => {
                let r = ref_type(krate, inner);
                return quote!(::core::option::Option<#r>);
            }
            _ => {}
        }
    }
    as_value(krate, ty, quote!(Ref<'a>))
}

/// `<ty as Value>::item` (an associated item, or a call with its
/// arguments), spanned at `ty`: a field type that is not a `Value` is
/// reported at the field, once, however many generated items name it.
pub(crate) fn as_value(krate: &syn::Path, ty: &Type, item: TokenStream) -> TokenStream {
    crate::keys::respan(
        quote!(<#ty as #krate::Value>::#item),
        syn::spanned::Spanned::span(ty),
    )
}
