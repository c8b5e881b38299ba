//! The Cap'n Proto struct layout algorithm, as `const fn`.
//!
//! Given a struct's members as a flat, pre-order list of [`LayoutNode`]s, this
//! assigns every field the offset the official Cap'n Proto compiler assigns
//! (`capnp compile`, `node-translator.c++`), including the packing of union
//! members into shared "data locations" and the placement of union
//! discriminants. Being `const`, `#[derive(Hollow)]` evaluates it at compile
//! time, so generated getters read at constant offsets; at run time the same
//! function lays out IR read from other sources.
//!
//! The algorithm, in short: fields are visited in ordinal order. A field of
//! the top-level scope takes the smallest free hole of its size in the data
//! section (holes are left by alignment), or grows the section by a word.
//! Each member of a union behaves as a group whose storage is carved from the
//! union's list of data locations (reusing space other members also use,
//! expanding a location in place when the space after it is free, or adding
//! a new location in the parent scope). A union's 16-bit discriminant is
//! allocated in the parent scope just before its second member gets its first
//! field.
//!
//! ```
//! use hollow_schema::layout::{layout, LayoutNode};
//! // struct { a @0 :Bool; b @1 :UInt64; c @2 :Text; d @3 :UInt16; }
//! let nodes = [
//!     LayoutNode::Data(0),
//!     LayoutNode::Data(6),
//!     LayoutNode::Pointer,
//!     LayoutNode::Data(4),
//! ];
//! let l = layout(&nodes).unwrap();
//! assert_eq!(l.offsets, [0, 1, 0, 1]); // bit 0, word 1, pointer 0, u16 #1
//! assert_eq!((l.size.data_words, l.size.pointers), (2, 1));
//! ```

use crate::ir::StructSize;

/// One member of a struct for layout purposes, in pre-order.
///
/// A [`Group`](LayoutNode::Group) or [`Union`](LayoutNode::Union) node is
/// followed by its `n` direct members (each of which may itself be a group or
/// union followed by its own members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayoutNode {
    /// A field that takes no space (`Void`).
    Void,
    /// A data field of `2^lg` bits (`0` = Bool … `6` = 64-bit).
    Data(u8),
    /// A pointer field (Text, Data, List, struct).
    Pointer,
    /// A group of `n` members, stored in the enclosing scope.
    Group(u16),
    /// A union of `n` members (at least two).
    Union(u16),
}

impl LayoutNode {
    /// Whether the node is a field (not a group or union).
    pub const fn is_leaf(&self) -> bool {
        matches!(
            self,
            LayoutNode::Void | LayoutNode::Data(_) | LayoutNode::Pointer
        )
    }
}

/// Why a layout could not be computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutError {
    /// The node list is not a well-formed pre-order tree.
    Malformed,
    /// A union with fewer than two members.
    UnionTooSmall,
    /// More unions in one struct than [`MAX_UNIONS`].
    TooManyUnions,
    /// More union members in one struct than [`MAX_UNION_MEMBERS`].
    TooManyUnionMembers,
    /// More data or pointer locations in one union than [`MAX_LOCATIONS`].
    TooManyLocations,
    /// The data section or pointer section exceeds 65535 words or pointers.
    TooLarge,
    /// A data field wider than 64 bits.
    BadDataSize,
    /// The ordinal list does not match the leaves (missing, duplicate or
    /// out-of-range ordinal).
    BadOrdinals,
    /// The schema hits Cap'n Proto issue 344 (unions nested in unions in a
    /// shape that old compilers laid out wrongly); the official compiler
    /// refuses it, so we do too.
    Issue344,
}

impl LayoutError {
    /// A human-readable description.
    pub const fn message(&self) -> &'static str {
        match self {
            LayoutError::Malformed => "malformed layout node list",
            LayoutError::UnionTooSmall => "a union must have at least two members",
            LayoutError::TooManyUnions => "too many unions in one struct (limit 64)",
            LayoutError::TooManyUnionMembers => "too many union members in one struct (limit 256)",
            LayoutError::TooManyLocations => {
                "too many distinct storage locations in one union (limit 32)"
            }
            LayoutError::TooLarge => "struct too large: over 65535 data words or pointers",
            LayoutError::BadDataSize => "data field wider than 64 bits",
            LayoutError::BadOrdinals => "field ordinals are not a permutation of 0..n",
            LayoutError::Issue344 => {
                "layout hits Cap'n Proto issue 344 (nested unions); the compiler refuses it"
            }
        }
    }
}

impl core::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for LayoutError {}

/// Most unions one struct may contain (nested ones included).
pub const MAX_UNIONS: usize = 64;
/// Most union members one struct may contain (over all its unions).
pub const MAX_UNION_MEMBERS: usize = 256;
/// Most distinct data (or pointer) locations one union may use.
pub const MAX_LOCATIONS: usize = 32;

/// A computed layout for a fixed-size node array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout<const N: usize> {
    /// Per node: a field's offset (in units of its size; pointer index for
    /// pointers; 0 for Void), a union's discriminant offset (in 16-bit units),
    /// 0 for a group.
    pub offsets: [u32; N],
    /// Section sizes.
    pub size: StructSize,
}

/// Lays out `nodes` with ordinals in pre-order (the `#[derive(Hollow)]` case).
///
/// # Errors
/// See [`LayoutError`].
pub const fn layout<const N: usize>(nodes: &[LayoutNode; N]) -> Result<Layout<N>, LayoutError> {
    let mut offsets = [0u32; N];
    match compute(nodes, None, &mut offsets) {
        Ok(size) => Ok(Layout { offsets, size }),
        Err(e) => Err(e),
    }
}

/// Lays out `nodes`, writing one offset per node into `out` (see
/// [`Layout::offsets`]).
///
/// `ordinals`, when given, has one entry per node (ignored for groups and
/// unions): fields are allocated in increasing ordinal order, as the compiler
/// does. Without it, fields are allocated in pre-order.
///
/// # Errors
/// See [`LayoutError`]. `out` must have `nodes.len()` entries
/// ([`LayoutError::Malformed`] otherwise).
pub const fn compute(
    nodes: &[LayoutNode],
    ordinals: Option<&[u16]>,
    out: &mut [u32],
) -> Result<StructSize, LayoutError> {
    if out.len() != nodes.len() {
        return Err(LayoutError::Malformed);
    }
    let mut st = State::new();
    // Pass 1: give every leaf its scope (stored in `out` for now) and every
    // union its state index.
    let mut i = 0;
    while i < nodes.len() {
        i = tri!(assign(nodes, out, i, Scope::Top, &mut st));
    }
    // Pass 2: allocate leaves in ordinal order.
    match ordinals {
        None => {
            let mut i = 0;
            while i < nodes.len() {
                if nodes[i].is_leaf() {
                    tri!(place(nodes, out, i, &mut st));
                }
                i += 1;
            }
        }
        Some(ords) => {
            if ords.len() != nodes.len() {
                return Err(LayoutError::BadOrdinals);
            }
            let mut leaves = 0usize;
            let mut i = 0;
            while i < nodes.len() {
                if nodes[i].is_leaf() {
                    leaves += 1;
                }
                i += 1;
            }
            let mut ord = 0usize;
            while ord < leaves {
                let mut found = usize::MAX;
                let mut i = 0;
                while i < nodes.len() {
                    if nodes[i].is_leaf() && ords[i] as usize == ord {
                        if found != usize::MAX {
                            return Err(LayoutError::BadOrdinals);
                        }
                        found = i;
                    }
                    i += 1;
                }
                if found == usize::MAX {
                    return Err(LayoutError::BadOrdinals);
                }
                tri!(place(nodes, out, found, &mut st));
                ord += 1;
            }
        }
    }
    // Pass 3: unions that never got a discriminant get one now, in pre-order,
    // and every union node receives its discriminant offset.
    let mut i = 0;
    while i < nodes.len() {
        if let LayoutNode::Union(_) = nodes[i] {
            let u = out[i] as usize;
            tri!(st.union_add_discriminant(u));
            out[i] = match st.unions[u].discriminant {
                Some(d) => d,
                None => return Err(LayoutError::Malformed),
            };
        } else if let LayoutNode::Group(_) = nodes[i] {
            out[i] = 0;
        }
        i += 1;
    }
    if st.data_words > u16::MAX as u32 || st.pointers > u16::MAX as u32 {
        return Err(LayoutError::TooLarge);
    }
    Ok(StructSize {
        data_words: st.data_words as u16,
        pointers: st.pointers as u16,
    })
}

/// Number of fields (leaves) in a node list.
pub const fn leaf_count(nodes: &[LayoutNode]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < nodes.len() {
        if nodes[i].is_leaf() {
            n += 1;
        }
        i += 1;
    }
    n
}

/// Total length of several node lists (for [`concat()`]).
pub const fn total_len(parts: &[&[LayoutNode]]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// Concatenates node lists into one array of length `N`
/// (`N` must be [`total_len`] of `parts`; a mismatch panics at compile time).
pub const fn concat<const N: usize>(parts: &[&[LayoutNode]]) -> [LayoutNode; N] {
    let mut out = [LayoutNode::Void; N];
    let mut k = 0;
    let mut i = 0;
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[k] = parts[i][j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N, "layout node count mismatch");
    out
}

/// Index of the `member`-th direct member of the group or union node at
/// `start` (or, with `start` = `usize::MAX`, of the top-level list): skips
/// earlier members' subtrees.
pub const fn member_index(nodes: &[LayoutNode], start: usize, member: usize) -> usize {
    let mut i = if start == usize::MAX { 0 } else { start + 1 };
    let mut m = 0;
    while m < member {
        i = subtree_end(nodes, i);
        m += 1;
    }
    i
}

/// Index just past the subtree rooted at `i`.
pub const fn subtree_end(nodes: &[LayoutNode], i: usize) -> usize {
    match nodes[i] {
        LayoutNode::Group(n) | LayoutNode::Union(n) => {
            let mut j = i + 1;
            let mut m = 0;
            while m < n {
                j = subtree_end(nodes, j);
                m += 1;
            }
            j
        }
        _ => i + 1,
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Err(e),
        }
    };
}
use tri;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Top,
    /// A union member's group, by index into `State::groups`.
    Group(usize),
}

impl Scope {
    const fn encode(self) -> u32 {
        match self {
            Scope::Top => 0,
            Scope::Group(g) => g as u32 + 1,
        }
    }
    const fn decode(v: u32) -> Scope {
        if v == 0 {
            Scope::Top
        } else {
            Scope::Group(v as usize - 1)
        }
    }
}

/// Up to one hole of each size from 1 to 32 bits; offsets in units of the
/// hole's size, 0 meaning "no hole".
#[derive(Clone, Copy)]
struct Holes([u32; 6]);

impl Holes {
    const fn try_allocate(&mut self, lg: u32) -> Option<u32> {
        if lg >= 6 {
            None
        } else if self.0[lg as usize] != 0 {
            let r = self.0[lg as usize];
            self.0[lg as usize] = 0;
            Some(r)
        } else {
            match self.try_allocate(lg + 1) {
                Some(next) => {
                    let r = next * 2;
                    self.0[lg as usize] = r + 1;
                    Some(r)
                }
                None => None,
            }
        }
    }

    const fn add_holes_at_end(&mut self, mut lg: u32, mut offset: u32, limit: u32) {
        while lg < limit {
            self.0[lg as usize] = offset;
            lg += 1;
            offset = offset.div_ceil(2);
        }
    }

    const fn try_expand(&mut self, old_lg: u32, old_offset: u32, factor: u32) -> bool {
        if factor == 0 {
            return true;
        }
        if old_lg >= 6 {
            return false;
        }
        if self.0[old_lg as usize] != old_offset + 1 {
            return false;
        }
        if self.try_expand(old_lg + 1, old_offset >> 1, factor - 1) {
            self.0[old_lg as usize] = 0;
            true
        } else {
            false
        }
    }

    const fn smallest_at_least(&self, size: u32) -> Option<u32> {
        let mut i = size;
        while i < 6 {
            if self.0[i as usize] != 0 {
                return Some(i);
            }
            i += 1;
        }
        None
    }
}

#[derive(Clone, Copy)]
struct Location {
    lg: u32,
    offset: u32,
}

#[derive(Clone, Copy)]
struct UnionState {
    parent: Scope,
    group_count: u32,
    discriminant: Option<u32>,
    data: [Location; MAX_LOCATIONS],
    data_len: usize,
    pointers: [u32; MAX_LOCATIONS],
    pointers_len: usize,
}

/// How much of one of its union's data locations a member group uses.
#[derive(Clone, Copy)]
struct Usage {
    used: bool,
    lg_used: u32,
    holes: Holes,
}

#[derive(Clone, Copy)]
struct GroupState {
    union: usize,
    usage: [Usage; MAX_LOCATIONS],
    usage_len: usize,
    pointer_usage: usize,
    has_members: bool,
}

struct State {
    data_words: u32,
    pointers: u32,
    holes: Holes,
    unions: [UnionState; MAX_UNIONS],
    unions_len: usize,
    groups: [GroupState; MAX_UNION_MEMBERS],
    groups_len: usize,
}

const EMPTY_USAGE: Usage = Usage {
    used: false,
    lg_used: 0,
    holes: Holes([0; 6]),
};

impl State {
    const fn new() -> State {
        State {
            data_words: 0,
            pointers: 0,
            holes: Holes([0; 6]),
            unions: [UnionState {
                parent: Scope::Top,
                group_count: 0,
                discriminant: None,
                data: [Location { lg: 0, offset: 0 }; MAX_LOCATIONS],
                data_len: 0,
                pointers: [0; MAX_LOCATIONS],
                pointers_len: 0,
            }; MAX_UNIONS],
            unions_len: 0,
            groups: [GroupState {
                union: 0,
                usage: [EMPTY_USAGE; MAX_LOCATIONS],
                usage_len: 0,
                pointer_usage: 0,
                has_members: false,
            }; MAX_UNION_MEMBERS],
            groups_len: 0,
        }
    }

    const fn new_union(&mut self, parent: Scope) -> Result<usize, LayoutError> {
        if self.unions_len == MAX_UNIONS {
            return Err(LayoutError::TooManyUnions);
        }
        let u = self.unions_len;
        self.unions[u].parent = parent;
        self.unions_len += 1;
        Ok(u)
    }

    const fn new_group(&mut self, union: usize) -> Result<usize, LayoutError> {
        if self.groups_len == MAX_UNION_MEMBERS {
            return Err(LayoutError::TooManyUnionMembers);
        }
        let g = self.groups_len;
        self.groups[g].union = union;
        self.groups_len += 1;
        Ok(g)
    }

    // ---- scope operations (StructOrGroup) ----

    const fn add_void(&mut self, scope: Scope) -> Result<(), LayoutError> {
        match scope {
            Scope::Top => Ok(()),
            Scope::Group(g) => {
                tri!(self.group_add_member(g));
                let parent = self.unions[self.groups[g].union].parent;
                self.add_void(parent)
            }
        }
    }

    const fn add_data(&mut self, scope: Scope, lg: u32) -> Result<u32, LayoutError> {
        if lg > 6 {
            return Err(LayoutError::BadDataSize);
        }
        match scope {
            Scope::Top => match self.holes.try_allocate(lg) {
                Some(h) => Ok(h),
                None => {
                    let offset = self.data_words << (6 - lg);
                    self.data_words += 1;
                    self.holes.add_holes_at_end(lg, offset + 1, 6);
                    Ok(offset)
                }
            },
            Scope::Group(g) => self.group_add_data(g, lg),
        }
    }

    const fn add_pointer(&mut self, scope: Scope) -> Result<u32, LayoutError> {
        match scope {
            Scope::Top => {
                let p = self.pointers;
                self.pointers += 1;
                Ok(p)
            }
            Scope::Group(g) => {
                tri!(self.group_add_member(g));
                let u = self.groups[g].union;
                let used = self.groups[g].pointer_usage;
                self.groups[g].pointer_usage += 1;
                if used < self.unions[u].pointers_len {
                    Ok(self.unions[u].pointers[used])
                } else {
                    if self.unions[u].pointers_len == MAX_LOCATIONS {
                        return Err(LayoutError::TooManyLocations);
                    }
                    let parent = self.unions[u].parent;
                    let p = tri!(self.add_pointer(parent));
                    let n = self.unions[u].pointers_len;
                    self.unions[u].pointers[n] = p;
                    self.unions[u].pointers_len += 1;
                    Ok(p)
                }
            }
        }
    }

    const fn try_expand_data(
        &mut self,
        scope: Scope,
        old_lg: u32,
        old_offset: u32,
        factor: u32,
    ) -> Result<bool, LayoutError> {
        match scope {
            Scope::Top => Ok(self.holes.try_expand(old_lg, old_offset, factor)),
            Scope::Group(g) => self.group_try_expand_data(g, old_lg, old_offset, factor),
        }
    }

    // ---- unions ----

    const fn union_add_discriminant(&mut self, u: usize) -> Result<bool, LayoutError> {
        if self.unions[u].discriminant.is_none() {
            let parent = self.unions[u].parent;
            let d = tri!(self.add_data(parent, 4));
            self.unions[u].discriminant = Some(d);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    const fn union_new_group_adding_first_member(&mut self, u: usize) -> Result<(), LayoutError> {
        self.unions[u].group_count += 1;
        if self.unions[u].group_count == 2 {
            tri!(self.union_add_discriminant(u));
        }
        Ok(())
    }

    const fn location_try_expand_to(
        &mut self,
        u: usize,
        loc: usize,
        new_lg: u32,
    ) -> Result<bool, LayoutError> {
        let l = self.unions[u].data[loc];
        if new_lg <= l.lg {
            return Ok(true);
        }
        let parent = self.unions[u].parent;
        if tri!(self.try_expand_data(parent, l.lg, l.offset, new_lg - l.lg)) {
            self.unions[u].data[loc].offset = l.offset >> (new_lg - l.lg);
            self.unions[u].data[loc].lg = new_lg;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    // ---- union member groups ----

    const fn group_add_member(&mut self, g: usize) -> Result<(), LayoutError> {
        if !self.groups[g].has_members {
            self.groups[g].has_members = true;
            let u = self.groups[g].union;
            tri!(self.union_new_group_adding_first_member(u));
        }
        Ok(())
    }

    const fn group_add_data(&mut self, g: usize, lg: u32) -> Result<u32, LayoutError> {
        tri!(self.group_add_member(g));
        let u = self.groups[g].union;
        let mut best_size = u32::MAX;
        let mut best: Option<usize> = None;
        let mut i = 0;
        while i < self.unions[u].data_len {
            if self.groups[g].usage_len == i {
                self.groups[g].usage[i] = EMPTY_USAGE;
                self.groups[g].usage_len += 1;
            }
            let loc = self.unions[u].data[i];
            if let Some(hole) = smallest_hole_at_least(&self.groups[g].usage[i], loc, lg) {
                if hole < best_size {
                    best_size = hole;
                    best = Some(i);
                }
            }
            i += 1;
        }
        if let Some(b) = best {
            let loc = self.unions[u].data[b];
            return Ok(allocate_from_hole(&mut self.groups[g].usage[b], loc, lg));
        }
        let mut i = 0;
        while i < self.unions[u].data_len {
            if let Some(r) = tri!(self.usage_try_allocate_by_expanding(g, i, lg)) {
                return Ok(r);
            }
            i += 1;
        }
        // A new location in the parent scope.
        if self.unions[u].data_len == MAX_LOCATIONS || self.groups[g].usage_len == MAX_LOCATIONS {
            return Err(LayoutError::TooManyLocations);
        }
        let parent = self.unions[u].parent;
        let offset = tri!(self.add_data(parent, lg));
        let n = self.unions[u].data_len;
        self.unions[u].data[n] = Location { lg, offset };
        self.unions[u].data_len += 1;
        let k = self.groups[g].usage_len;
        self.groups[g].usage[k] = Usage {
            used: true,
            lg_used: lg,
            holes: Holes([0; 6]),
        };
        self.groups[g].usage_len += 1;
        Ok(offset)
    }

    const fn usage_try_allocate_by_expanding(
        &mut self,
        g: usize,
        i: usize,
        lg: u32,
    ) -> Result<Option<u32>, LayoutError> {
        let u = self.groups[g].union;
        let usage = self.groups[g].usage[i];
        if !usage.used {
            if tri!(self.location_try_expand_to(u, i, lg)) {
                self.groups[g].usage[i].used = true;
                self.groups[g].usage[i].lg_used = lg;
                let loc = self.unions[u].data[i];
                Ok(Some(loc.offset << (loc.lg - lg)))
            } else {
                Ok(None)
            }
        } else {
            let new_size = if usage.lg_used > lg {
                usage.lg_used
            } else {
                lg
            } + 1;
            if tri!(self.usage_try_expand_usage(g, i, new_size, true)) {
                let hole = match self.groups[g].usage[i].holes.try_allocate(lg) {
                    Some(h) => h,
                    None => return Err(LayoutError::Malformed),
                };
                let loc = self.unions[u].data[i];
                Ok(Some((loc.offset << (loc.lg - lg)) + hole))
            } else {
                Ok(None)
            }
        }
    }

    const fn usage_try_expand_usage(
        &mut self,
        g: usize,
        i: usize,
        desired: u32,
        new_holes: bool,
    ) -> Result<bool, LayoutError> {
        let u = self.groups[g].union;
        if desired > self.unions[u].data[i].lg && !tri!(self.location_try_expand_to(u, i, desired))
        {
            return Ok(false);
        }
        if new_holes {
            let used = self.groups[g].usage[i].lg_used;
            self.groups[g].usage[i]
                .holes
                .add_holes_at_end(used, 1, desired);
        } else {
            return Err(LayoutError::Issue344);
        }
        self.groups[g].usage[i].lg_used = desired;
        Ok(true)
    }

    const fn group_try_expand_data(
        &mut self,
        g: usize,
        old_lg: u32,
        old_offset: u32,
        factor: u32,
    ) -> Result<bool, LayoutError> {
        let mut must_fail = false;
        if old_lg + factor > 6 || (old_offset & ((1 << factor) - 1)) != 0 {
            must_fail = true;
        }
        let u = self.groups[g].union;
        let mut i = 0;
        while i < self.groups[g].usage_len {
            let loc = self.unions[u].data[i];
            if loc.lg >= old_lg && old_offset >> (loc.lg - old_lg) == loc.offset {
                let local = old_offset - (loc.offset << (loc.lg - old_lg));
                let usage = self.groups[g].usage[i];
                let result = if local == 0 && usage.lg_used == old_lg {
                    tri!(self.usage_try_expand_usage(g, i, old_lg + factor, false))
                } else {
                    self.groups[g].usage[i]
                        .holes
                        .try_expand(old_lg, local, factor)
                };
                if must_fail && result {
                    return Err(LayoutError::Issue344);
                }
                return Ok(result);
            }
            i += 1;
        }
        Err(LayoutError::Malformed)
    }
}

const fn smallest_hole_at_least(usage: &Usage, loc: Location, lg: u32) -> Option<u32> {
    if !usage.used {
        if lg <= loc.lg {
            Some(loc.lg)
        } else {
            None
        }
    } else if lg >= usage.lg_used {
        if lg < loc.lg {
            Some(lg)
        } else {
            None
        }
    } else {
        match usage.holes.smallest_at_least(lg) {
            Some(h) => Some(h),
            None => {
                if usage.lg_used < loc.lg {
                    Some(usage.lg_used)
                } else {
                    None
                }
            }
        }
    }
}

const fn allocate_from_hole(usage: &mut Usage, loc: Location, lg: u32) -> u32 {
    let result;
    if !usage.used {
        result = 0;
        usage.used = true;
        usage.lg_used = lg;
    } else if lg >= usage.lg_used {
        usage.holes.add_holes_at_end(usage.lg_used, 1, lg);
        usage.lg_used = lg + 1;
        result = 1;
    } else {
        match usage.holes.try_allocate(lg) {
            Some(h) => result = h,
            None => {
                result = 1 << (usage.lg_used - lg);
                usage.holes.add_holes_at_end(lg, result + 1, usage.lg_used);
                usage.lg_used += 1;
            }
        }
    }
    (loc.offset << (loc.lg - lg)) + result
}

/// Pass 1: records each leaf's scope and each union's state index in `out`;
/// returns the index after the subtree at `i`.
const fn assign(
    nodes: &[LayoutNode],
    out: &mut [u32],
    i: usize,
    scope: Scope,
    st: &mut State,
) -> Result<usize, LayoutError> {
    if i >= nodes.len() {
        return Err(LayoutError::Malformed);
    }
    match nodes[i] {
        LayoutNode::Void | LayoutNode::Data(_) | LayoutNode::Pointer => {
            out[i] = scope.encode();
            Ok(i + 1)
        }
        LayoutNode::Group(n) => {
            if n == 0 {
                return Err(LayoutError::Malformed);
            }
            out[i] = 0;
            let mut j = i + 1;
            let mut m = 0;
            while m < n {
                j = tri!(assign(nodes, out, j, scope, st));
                m += 1;
            }
            Ok(j)
        }
        LayoutNode::Union(n) => {
            if n < 2 {
                return Err(LayoutError::UnionTooSmall);
            }
            let u = tri!(st.new_union(scope));
            out[i] = u as u32;
            let mut j = i + 1;
            let mut m = 0;
            while m < n {
                // Every union member is laid out as a group of its own: a
                // field as a one-member group, a group as itself, a union as
                // a one-member group holding the union.
                let g = tri!(st.new_group(u));
                j = tri!(assign(nodes, out, j, Scope::Group(g), st));
                m += 1;
            }
            Ok(j)
        }
    }
}

/// Pass 2 for one leaf: allocates it in its scope, replacing the scope code in
/// `out[i]` by the offset.
const fn place(
    nodes: &[LayoutNode],
    out: &mut [u32],
    i: usize,
    st: &mut State,
) -> Result<(), LayoutError> {
    let scope = Scope::decode(out[i]);
    out[i] = match nodes[i] {
        LayoutNode::Void => {
            tri!(st.add_void(scope));
            0
        }
        LayoutNode::Data(lg) => tri!(st.add_data(scope, lg as u32)),
        LayoutNode::Pointer => tri!(st.add_pointer(scope)),
        _ => return Err(LayoutError::Malformed),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::LayoutNode::*;
    use super::*;

    #[test]
    fn packs_small_fields_into_holes() {
        // struct { a @0 :Bool; b @1 :UInt64; c @2 :UInt8; d @3 :UInt32; }
        let l = layout(&[Data(0), Data(6), Data(3), Data(5)]).unwrap();
        // a: bit 0; b: word 1; c: byte 1 (the hole after the bit); d: u32 #1.
        assert_eq!(l.offsets, [0, 1, 1, 1]);
        assert_eq!(l.size.data_words, 2);
    }

    #[test]
    fn union_members_share_space_and_get_a_discriminant() {
        // struct { u :union { a @0 :UInt32; b @1 :UInt64; } c @2 :Text; }
        let l = layout(&[Union(2), Data(5), Data(6), Pointer]).unwrap();
        // a at u32 0; discriminant at u16 2 (when b arrives); b cannot expand
        // a's location (discriminant is behind it), so gets word 1.
        assert_eq!(l.offsets, [2, 0, 1, 0]);
        assert_eq!(l.size.data_words, 2);
        assert_eq!(l.size.pointers, 1);
    }

    #[test]
    fn ordinals_change_allocation_order() {
        let nodes = [Data(3), Data(6)];
        let mut out = [0; 2];
        let size = compute(&nodes, Some(&[1, 0]), &mut out).unwrap();
        assert_eq!(out, [8, 0]);
        assert_eq!(size.data_words, 2);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        assert_eq!(layout(&[Group(2), Data(0)]), Err(LayoutError::Malformed));
        assert_eq!(
            layout(&[Union(1), Data(0)]),
            Err(LayoutError::UnionTooSmall)
        );
        assert_eq!(layout(&[Data(7)]), Err(LayoutError::BadDataSize));
        let mut out = [0; 2];
        assert_eq!(
            compute(&[Data(0), Data(0)], Some(&[0, 0]), &mut out),
            Err(LayoutError::BadOrdinals)
        );
    }

    #[test]
    fn member_indexes_skip_subtrees() {
        let nodes = [Data(0), Group(2), Pointer, Union(2), Void, Data(3), Pointer];
        assert_eq!(member_index(&nodes, usize::MAX, 2), 6);
        assert_eq!(member_index(&nodes, 1, 1), 3);
        assert_eq!(member_index(&nodes, 3, 1), 5);
        assert_eq!(subtree_end(&nodes, 1), 6);
    }

    #[test]
    fn runs_at_compile_time() {
        const L: Layout<2> = match layout(&[Pointer, Data(4)]) {
            Ok(l) => l,
            Err(_) => panic!("bad"),
        };
        assert_eq!(L.offsets, [0, 0]);
    }
}
