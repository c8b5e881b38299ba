//! The resolved form the emitters work from: one [`ModulePlan`] per schema
//! file, holding Rust items with Rust names and types already decided.

/// The Rust items generated from one schema file.
#[derive(Debug)]
pub(crate) struct ModulePlan {
    /// The Rust module name (`movies`).
    pub(crate) name: String,
    /// The schema file, as the compiler names it (`movies.capnp`).
    pub(crate) file: String,
    /// Items in declaration order; a struct's group and union types follow it.
    pub(crate) items: Vec<Item>,
}

/// One generated Rust item.
#[derive(Debug)]
pub(crate) enum Item {
    /// A record type, nested struct or group.
    Struct(StructItem),
    /// A Cap'n Proto enum.
    Enum(EnumItem),
    /// A named union (a Rust enum whose variants hold one value or none).
    Union(UnionItem),
}

/// What a generated struct is to the derive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StructKind {
    /// `$Hollow.record`: a record type.
    Record,
    /// A struct used only inside records: `#[hollow(nested)]`.
    Nested,
    /// A group: `#[hollow(group)]`.
    Group,
}

/// A struct to generate.
#[derive(Debug)]
pub(crate) struct StructItem {
    pub(crate) name: String,
    pub(crate) doc: Option<String>,
    pub(crate) kind: StructKind,
    /// Fields in the order the derive numbers them (see `resolve`).
    pub(crate) fields: Vec<FieldItem>,
    /// Key paths as Rust field names, outermost first.
    pub(crate) primary_key: Option<Vec<Vec<String>>>,
    pub(crate) unique_keys: Vec<Vec<Vec<String>>>,
    pub(crate) hash_indexes: Vec<Vec<Vec<String>>>,
    /// Used as a map key or set element: `#[hollow(map_key)]`, with `Eq`,
    /// `Ord` and `Hash`.
    pub(crate) map_key: bool,
}

/// A field of a generated struct.
#[derive(Debug)]
pub(crate) struct FieldItem {
    pub(crate) ident: String,
    pub(crate) rename: Option<String>,
    pub(crate) doc: Option<String>,
    pub(crate) ty: RustType,
    /// A map field's entry struct, when it is not the derive's default
    /// name `<Owner><Field>Entry`: `#[hollow(entry = "…")]`.
    pub(crate) entry: Option<String>,
}

/// An enum to generate.
#[derive(Debug)]
pub(crate) struct EnumItem {
    pub(crate) name: String,
    pub(crate) doc: Option<String>,
    /// Used as a map key or set element (or in a key struct): with `Ord`.
    pub(crate) ordered: bool,
    pub(crate) variants: Vec<VariantItem>,
}

/// A union to generate.
#[derive(Debug)]
pub(crate) struct UnionItem {
    pub(crate) name: String,
    pub(crate) doc: Option<String>,
    /// In discriminant order.
    pub(crate) variants: Vec<VariantItem>,
}

/// An enumerant or union member.
#[derive(Debug)]
pub(crate) struct VariantItem {
    pub(crate) ident: String,
    pub(crate) rename: Option<String>,
    pub(crate) doc: Option<String>,
    /// The value a union member holds (`None`: a `Void` member, or an
    /// enumerant).
    pub(crate) ty: Option<RustType>,
}

/// A Rust field type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RustType {
    /// `bool`, `u64`, `f32`, …
    Primitive(&'static str),
    /// `String` (Text).
    String,
    /// `Vec<u8>` (Data).
    Bytes,
    /// `Vec<T>` (a List).
    List(Box<RustType>),
    /// A map (`$Hollow.map`): `BTreeMap<K, V>` or `HashMap<K, V>`.
    Map {
        key: Box<RustType>,
        value: Box<RustType>,
    },
    /// A set (`$Hollow.set`): `BTreeSet<T>` or `HashSet<T>`.
    Set(Box<RustType>),
    /// A generated type: in this module (`module` is `None`) or another.
    Named {
        module: Option<String>,
        name: String,
    },
}
