//! `#[hollow(...)]` attributes, parsed into typed structs.

use proc_macro2::Span;
use quote::ToTokens;
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Token};

use crate::ctxt::Ctxt;

/// One path of a key: `id`, `actor.id` or `"actor.id"`.
pub(crate) struct KeyPath {
    /// Rust field names, outermost first.
    pub(crate) segments: Vec<String>,
    /// Where each segment was written (errors about a segment point here;
    /// every segment of a string path points at the string).
    pub(crate) spans: Vec<Span>,
}

/// A key attribute: `primary_key(a, b)`, `unique(email)`, `hash_index(genres)`.
pub(crate) struct KeyAttr {
    pub(crate) paths: Vec<KeyPath>,
    /// The attribute's name (`primary_key`, …).
    pub(crate) span: Span,
}

/// Attributes on the struct or enum.
#[derive(Default)]
pub(crate) struct Container {
    pub(crate) primary_key: Option<KeyAttr>,
    pub(crate) unique: Vec<KeyAttr>,
    pub(crate) hash_index: Vec<KeyAttr>,
    pub(crate) rename: Option<String>,
    pub(crate) krate: Option<syn::Path>,
    /// `#[hollow(group)]`: stored in the parent's sections.
    pub(crate) group: Option<Span>,
    /// `#[hollow(nested)]`: a nested struct, not a record type.
    pub(crate) nested: Option<Span>,
    /// `#[hollow(map_key)]`: the struct is a composite map key.
    pub(crate) map_key: Option<Span>,
}

/// Attributes on a field or variant.
#[derive(Default)]
pub(crate) struct Member {
    pub(crate) rename: Option<String>,
    /// `entry = "Name"`: a map field's entry struct name, and where it was
    /// written.
    pub(crate) entry: Option<(String, Span)>,
}

impl Container {
    /// Every key attribute (`primary_key`, `unique`, `hash_index`).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &KeyAttr> {
        self.primary_key
            .iter()
            .chain(&self.unique)
            .chain(&self.hash_index)
    }
}

const CONTAINER_ATTRS: &str =
    "primary_key(...), unique(...), hash_index(...), rename = \"...\", crate = \"...\", group, nested, map_key";

fn parse_key_paths(input: ParseStream<'_>) -> syn::Result<Vec<KeyPath>> {
    let mut paths = Vec::new();
    while !input.is_empty() {
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            let value = lit.value();
            for part in value.split(',') {
                let segments: Vec<String> = part.split('.').map(|s| s.trim().to_string()).collect();
                if segments.iter().any(String::is_empty) {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        "empty field name in key path",
                    ));
                }
                paths.push(KeyPath {
                    spans: vec![lit.span(); segments.len()],
                    segments,
                });
            }
        } else {
            let first: Ident = input.call(Ident::parse_any_ident)?;
            let mut spans = vec![first.span()];
            let mut segments = vec![first.to_string()];
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                let next: Ident = input.call(Ident::parse_any_ident)?;
                spans.push(next.span());
                segments.push(next.to_string());
            }
            paths.push(KeyPath { segments, spans });
        }
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    if paths.is_empty() {
        return Err(input.error("a key needs at least one field"));
    }
    Ok(paths)
}

trait ParseAnyIdent {
    fn parse_any_ident(input: ParseStream<'_>) -> syn::Result<Ident>;
}

impl ParseAnyIdent for Ident {
    fn parse_any_ident(input: ParseStream<'_>) -> syn::Result<Ident> {
        use syn::ext::IdentExt;
        Ident::parse_any(input)
    }
}

fn key_attr(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<KeyAttr> {
    let content;
    syn::parenthesized!(content in meta.input);
    if content.is_empty() {
        return Err(meta.error(format!(
            "`{}(...)` needs at least one field",
            meta.path.to_token_stream()
        )));
    }
    let paths = parse_key_paths(&content)?;
    Ok(KeyAttr {
        paths,
        span: meta.path.span(),
    })
}

/// Parses the container's `#[hollow(...)]` attributes.
pub(crate) fn container(cx: &mut Ctxt, attrs: &[Attribute]) -> Container {
    let mut c = Container::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("hollow")) {
        let r = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("primary_key") {
                let k = key_attr(&meta)?;
                if c.primary_key.is_some() {
                    cx.error_spanned_by(p, "duplicate `primary_key` attribute");
                } else {
                    c.primary_key = Some(k);
                }
            } else if p.is_ident("unique") {
                c.unique.push(key_attr(&meta)?);
            } else if p.is_ident("hash_index") {
                c.hash_index.push(key_attr(&meta)?);
            } else if p.is_ident("rename") {
                let s: LitStr = meta.value()?.parse()?;
                if c.rename.is_some() {
                    cx.error_spanned_by(p, "duplicate `rename` attribute");
                } else {
                    c.rename = Some(s.value());
                }
            } else if p.is_ident("crate") {
                let s: LitStr = meta.value()?.parse()?;
                if c.krate.is_some() {
                    cx.error_spanned_by(p, "duplicate `crate` attribute");
                } else {
                    c.krate = Some(s.parse()?);
                }
            } else if p.is_ident("group") {
                if c.group.is_some() {
                    cx.error_spanned_by(p, "duplicate `group` attribute");
                }
                c.group = Some(p.span());
            } else if p.is_ident("nested") {
                if c.nested.is_some() {
                    cx.error_spanned_by(p, "duplicate `nested` attribute");
                }
                c.nested = Some(p.span());
            } else if p.is_ident("map_key") {
                if c.map_key.is_some() {
                    cx.error_spanned_by(p, "duplicate `map_key` attribute");
                }
                c.map_key = Some(p.span());
            } else {
                return Err(meta.error(format!(
                    "unknown hollow attribute `{}`; expected one of: {CONTAINER_ATTRS}",
                    p.to_token_stream()
                )));
            }
            Ok(())
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    c
}

/// Parses a field's or variant's `#[hollow(...)]` attributes.
pub(crate) fn member(cx: &mut Ctxt, attrs: &[Attribute]) -> Member {
    let mut m = Member::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("hollow")) {
        let r = attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("rename") {
                let s: LitStr = meta.value()?.parse()?;
                if m.rename.is_some() {
                    cx.error_spanned_by(p, "duplicate `rename` attribute");
                } else {
                    m.rename = Some(s.value());
                }
                Ok(())
            } else if p.is_ident("entry") {
                let s: LitStr = meta.value()?.parse()?;
                if m.entry.is_some() {
                    cx.error_spanned_by(p, "duplicate `entry` attribute");
                } else {
                    m.entry = Some((s.value(), s.span()));
                }
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown hollow attribute `{}` on a field; expected: rename = \"...\", \
                     entry = \"...\" (a map field's entry struct)",
                    p.to_token_stream()
                )))
            }
        });
        if let Err(e) = r {
            cx.syn_error(e);
        }
    }
    m
}

/// The doc comment of an item, lines joined, one leading space removed.
pub(crate) fn doc(attrs: &[Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
            {
                let v = s.value();
                lines.push(v.strip_prefix(' ').unwrap_or(&v).to_string());
            }
        }
    }
    if lines.is_empty() {
        None
    } else {
        Some(lines.join("\n").trim().to_string())
    }
}
