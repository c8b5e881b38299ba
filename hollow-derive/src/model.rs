//! The parsed model of a struct deriving Hollow: its fields, container
//! attributes and resolved keys, checked once, before any code is
//! generated from it (see `structs.rs`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{DeriveInput, FieldsNamed};

use crate::attr::{self, Container};
use crate::ctxt::Ctxt;
use crate::keys::{resolve_key, KeyField, KeyKind, ResolvedKey};
use crate::names::lower_camel;
use crate::types;

/// What a derived struct is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum StructKind {
    /// A record type (the default): keys, indexes, `Record`.
    Record,
    /// `#[hollow(nested)]`: a struct used only inside records.
    Nested,
    /// `#[hollow(group)]`: stored inline in the parent's sections.
    Group,
}

/// One field of the struct.
pub(crate) struct FieldModel<'a> {
    /// The Rust field name.
    pub(crate) ident: &'a syn::Ident,
    /// The Cap'n Proto field name.
    pub(crate) cname: String,
    /// The field's type as written.
    pub(crate) ty: &'a syn::Type,
    /// The field's doc comment, for the schema.
    pub(crate) doc: Option<String>,
    /// The field's `#[doc]` attributes, copied onto its getter.
    pub(crate) doc_attrs: Vec<&'a syn::Attribute>,
    /// The name of its entry struct if the field is a map:
    /// `<Owner><Field>Entry` or the field's `#[hollow(entry = "…")]`.
    pub(crate) entry: String,
}

impl FieldModel<'_> {
    /// The Rust field name without `r#`.
    pub(crate) fn rust_name(&self) -> String {
        let s = self.ident.to_string();
        s.strip_prefix("r#").unwrap_or(&s).to_string()
    }
}

/// A struct deriving Hollow, parsed and checked.
pub(crate) struct StructModel<'a> {
    /// The Rust type name.
    pub(crate) name: &'a syn::Ident,
    /// The accessor type's name (`MovieRef`).
    pub(crate) ref_name: syn::Ident,
    /// The visibility of the type, given to what is generated.
    pub(crate) vis: &'a syn::Visibility,
    /// The Cap'n Proto type name.
    pub(crate) type_name: String,
    /// The struct's doc comment, for the schema.
    pub(crate) doc: Option<String>,
    /// Record, nested struct or group.
    pub(crate) kind: StructKind,
    /// `#[hollow(map_key)]`, checked: the struct is a composite map key.
    pub(crate) map_key: bool,
    /// The fields, in declaration order.
    pub(crate) fields: Vec<FieldModel<'a>>,
    /// The primary key attribute as written (errors about it point here).
    pub(crate) pk_span: Option<Span>,
    /// The resolved primary key.
    pub(crate) pk: Option<ResolvedKey>,
    /// The resolved unique keys.
    pub(crate) uniques: Vec<ResolvedKey>,
    /// The resolved hash indexes.
    pub(crate) hashes: Vec<ResolvedKey>,
    /// The path of the support crate (`hollow_core` or `hollow_runtime`).
    pub(crate) krate: &'a syn::Path,
}

impl StructModel<'_> {
    /// Whether this is a group.
    pub(crate) fn is_group(&self) -> bool {
        self.kind == StructKind::Group
    }

    /// Every resolved key: the primary key, then unique keys, then hash
    /// indexes.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &ResolvedKey> {
        self.pk.iter().chain(&self.uniques).chain(&self.hashes)
    }

    /// Field `i` read in place from `accessor` (`self` or a variable holding
    /// the accessor), as `<T as Value>::read` spanned at the field's type:
    /// the getter's body, and what `to_value` and `FieldAt` read without
    /// going through the getter (whose signature is not well-formed when
    /// the type is not a `Value`, so every call would report it again).
    pub(crate) fn read_field(&self, i: usize, accessor: &TokenStream) -> TokenStream {
        let offs = self.offsets_of(i, accessor);
        types::as_value(
            self.krate,
            self.fields[i].ty,
            quote!(read(&#accessor.reader, #offs)),
        )
    }

    /// Where field `i`'s layout nodes start in the offset table, for the
    /// accessor `accessor` (`self` or a variable): a group reads its
    /// parent's table (which the accessor carries), a struct its own.
    pub(crate) fn offsets_of(&self, i: usize, accessor: &TokenStream) -> TokenStream {
        let name = self.name;
        if self.is_group() {
            quote!(&#accessor.offsets[#name::__HOLLOW_BASE[#i]..])
        } else {
            quote!(&#name::__HOLLOW_OFFSETS[#name::__HOLLOW_BASE[#i]..])
        }
    }
}

/// Parses and checks the fields of the struct whose Cap'n Proto name is
/// `owner`.
fn parse_fields<'a>(cx: &mut Ctxt, owner: &str, fields: &'a FieldsNamed) -> Vec<FieldModel<'a>> {
    let fields: Vec<FieldModel<'a>> = fields
        .named
        .iter()
        .map(|f| {
            let m = attr::member(cx, &f.attrs);
            let ident = f.ident.as_ref().expect("named field");
            types::check(cx, &f.ty);
            let cname = m.rename.unwrap_or_else(|| lower_camel(&ident.to_string()));
            if let Some((_, span)) = &m.entry {
                if !types::is_map(&f.ty) {
                    cx.syn_error(syn::Error::new(
                        *span,
                        "`entry` names a map field's entry struct; this field is not a \
                         BTreeMap or HashMap",
                    ));
                }
            }
            FieldModel {
                ident,
                entry: m
                    .entry
                    .map_or_else(|| hollow_schema::map_entry_name(owner, &cname), |(e, _)| e),
                cname,
                ty: &f.ty,
                doc: attr::doc(&f.attrs),
                doc_attrs: f
                    .attrs
                    .iter()
                    .filter(|a| a.path().is_ident("doc"))
                    .collect(),
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
    fields
}

/// Checks what a group may not have.
fn check_group(cx: &mut Ctxt, name: &syn::Ident, c: &Container, fields: &[FieldModel<'_>]) {
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

/// Checks a `#[hollow(map_key)]` struct: not a group, and every field a
/// key type (floats and collections are reported here, by name; other
/// non-key types by the `MapKey` bounds of the generated impl). Whether
/// it passed (the `MapKey` impl is generated only then, so that its
/// bounds do not report the same fields again).
fn check_map_key(
    cx: &mut Ctxt,
    name: &syn::Ident,
    c: &Container,
    fields: &[FieldModel<'_>],
) -> bool {
    let mut ok = true;
    if let Some(s) = c.group {
        ok = false;
        cx.syn_error(syn::Error::new(
            s,
            "a #[hollow(group)] struct cannot be a map key; use a nested struct",
        ));
    }
    if fields.is_empty() {
        ok = false;
        cx.error_spanned_by(name, "a #[hollow(map_key)] struct needs at least one field");
    }
    for f in fields {
        let why = if types::is_float(f.ty) {
            "is a float (NaN and -0.0 have no canonical order)"
        } else if types::is_list(f.ty) || types::is_map(f.ty) {
            "is a collection"
        } else {
            continue;
        };
        ok = false;
        cx.error_spanned_by(
            f.ty,
            format!(
                "field `{}` of #[hollow(map_key)] struct `{name}` {why}: a composite key's fields \
                 may be bool, integers, String, Vec<u8> and derived enums",
                f.ident
            ),
        );
    }
    ok
}

/// Parses a struct's input into its model, recording every error in `cx`.
pub(crate) fn parse<'a>(
    cx: &mut Ctxt,
    input: &'a DeriveInput,
    fields: &'a FieldsNamed,
    c: &Container,
    krate: &'a syn::Path,
) -> StructModel<'a> {
    let name = &input.ident;
    let type_name = c.rename.clone().unwrap_or_else(|| name.to_string());
    let fields = parse_fields(cx, &type_name, fields);
    let map_key = c.map_key.is_some() && check_map_key(cx, name, c, &fields);
    let kind = if c.group.is_some() {
        check_group(cx, name, c, &fields);
        StructKind::Group
    } else if c.nested.is_some() {
        StructKind::Nested
    } else {
        StructKind::Record
    };
    let key_fields: Vec<KeyField<'_>> = fields
        .iter()
        .map(|f| KeyField {
            ident: f.ident,
            cname: f.cname.clone(),
            ty: f.ty,
        })
        .collect();
    let mut resolve = |k, kind| resolve_key(cx, krate, name, &type_name, k, &key_fields, kind);
    let pk = c
        .primary_key
        .as_ref()
        .and_then(|k| resolve(k, KeyKind::Primary));
    let uniques: Vec<ResolvedKey> = c
        .unique
        .iter()
        .filter_map(|k| resolve(k, KeyKind::Unique))
        .collect();
    let hashes: Vec<ResolvedKey> = c
        .hash_index
        .iter()
        .filter_map(|k| resolve(k, KeyKind::Hash))
        .collect();
    StructModel {
        name,
        ref_name: format_ident!("{}Ref", name),
        vis: &input.vis,
        type_name,
        doc: attr::doc(&input.attrs),
        kind,
        map_key,
        fields,
        pk_span: c.primary_key.as_ref().map(|k| k.span),
        pk,
        uniques,
        hashes,
        krate,
    }
}
